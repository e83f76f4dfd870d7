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

// One field of a measurement next to its prediction, in the units people read it in. `part` marks
// a share of the step (compute, exposed communication, bubble, optimizer).
struct ComparedField {
  std::string label;                // "step time", "compute", "peak memory per GPU"
  std::string predicted, measured;  // "1.23 s", "41.2%", "75.3 GiB"
  double predicted_value = 0, measured_value = 0;
  double error = 0;  // (predicted - measured) / measured; 0 when nothing was measured
  bool part = false;
};
// The fields both the prediction (`trainsim predict --json`) and the run hold, in reading order.
std::vector<ComparedField> compare_with_measurement(const nlohmann::json& predicted, const nlohmann::json& run);
// One line on the step time: "prediction within 5%: 3.2% faster than measured".
std::string measurement_verdict(double predicted_step_s, double measured_step_s);

}  // namespace trainsim
