#pragma once
// Memory per GPU on the most loaded pipeline stage: weights, gradients and optimizer state by
// precision and ZeRO stage (Rajbhandari et al. 2020), activations by recomputation, sequence /
// context parallelism and the micro-batches a stage holds under its schedule (Korthikanti et al.
// 2022), and communication buffers.
#include <vector>

#include "scenario/scenario.hpp"
#include "workload/work.hpp"

namespace trainsim {

struct MemoryBreakdown {
  double params = 0, grads = 0, optimizer = 0, activations = 0, buffers = 0;
  double peak = 0;
  double capacity = 0;
  int stage = 0;                      // the stage these numbers are for (the largest peak)
  double in_flight_microbatches = 0;  // micro-batches of activations held at the peak
  bool fits() const { return peak <= capacity; }
};

// Activation bytes of one layer for one micro-batch on one GPU.
double activation_bytes_per_layer(const ModelSpec& model, const PlanSpec& plan, bool flash_attention = true);

// Per stage; the worst stage first in `worst_stage` of the result.
std::vector<MemoryBreakdown> memory_per_stage(const Scenario& scenario, const Workload& work);
MemoryBreakdown peak_memory(const Scenario& scenario, const Workload& work);

}  // namespace trainsim
