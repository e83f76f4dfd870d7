#pragma once
// The order in which one pipeline stage runs forward and backward passes of its micro-batches:
// GPipe (all forwards, then all backwards), 1F1B (PipeDream-Flush, Narayanan et al. 2021) and
// interleaved 1F1B (Narayanan et al. SC'21, Megatron-LM's schedule with virtual stages).
#include <vector>

#include "scenario/plan.hpp"

namespace trainsim {

struct PipelineTask {
  bool forward = true;
  int micro_batch = 0;
  int chunk = 0;  // virtual stage on this device: 0 .. virtual_stages-1
};

std::vector<PipelineTask> stage_schedule(Schedule schedule, int stages, int stage, int micro_batches,
                                         int virtual_stages);

}  // namespace trainsim
