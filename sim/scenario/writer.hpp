#pragma once
// Writes a scenario back as YAML that load_scenario() reads to the same Scenario (the GUI's Save).
#include <string>

#include "scenario/scenario.hpp"

namespace trainsim {

std::string scenario_to_yaml(const Scenario& scenario);

}  // namespace trainsim
