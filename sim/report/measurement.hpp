#pragma once
// A measurement written by `trainsim-exec --out run.json`: the keys of `trainsim predict --json`
// plus the model and plan the run used. Parsed strictly: anything that is not such a measurement
// is an InputError naming the file and key.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scenario/scenario.hpp"

namespace trainsim {

// Parses run.json text; checks the types of every key it will read.
nlohmann::json parse_measurement(const std::string& text, const std::string& path);
// Applies the model shape and plan the run used (it may have scaled the scenario down) so that the
// prediction describes the same job; the plan must still be valid.
void apply_measurement(Scenario& sc, const nlohmann::json& run, const std::string& path);
// How the measured run differs from the scenario ("model.layers: scenario 24, measured 4"), in
// the model shape, the plan and the device; empty when it ran the scenario's job.
std::vector<std::string> measurement_mismatches(const Scenario& sc, const nlohmann::json& run);

}  // namespace trainsim
