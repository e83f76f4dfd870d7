#pragma once
// `trainsim predict --kernels`: every kernel of one layer as the prediction priced it (llm.c's
// accounting: name, FLOPs, bytes, time), forward, backward and recomputed, on the first stage's
// GPU; then a MoE model's dense layer, the first stage's embedding and the last stage's head and
// loss. What a user compares with a profiler's trace of the same layer.
#include <string>

#include "compute/cost_model.hpp"
#include "scenario/scenario.hpp"

namespace trainsim {

std::string kernel_table(const Scenario& scenario, const CalibrationProfile& profile = {});

}  // namespace trainsim
