#pragma once
// The order in which one pipeline stage runs forward and backward passes of its micro-batches:
// GPipe (all forwards, then all backwards), 1F1B (PipeDream-Flush, Narayanan et al. 2021) and
// interleaved 1F1B (Narayanan et al. SC'21, Megatron-LM's schedule with virtual stages); either
// 1F1B with its backwards split into input- and weight-gradient passes, the latter deferred
// (zero bubble: Qi et al. 2024's ZB-H1, interleaved as PyTorch's ScheduleInterleavedZeroBubble).
#include <algorithm>
#include <cstddef>
#include <optional>
#include <vector>

#include "scenario/plan.hpp"

namespace trainsim {

struct PipelineTask {
  bool forward = true;
  int micro_batch = 0;
  int chunk = 0;  // virtual stage on this device: 0 .. virtual_stages-1
  // A zero-bubble schedule's deferred weight-gradient pass (forward false) of a backward that ran
  // before; its backward then computed input gradients only.
  bool weight = false;
};

std::vector<PipelineTask> stage_schedule(Schedule schedule, int stages, int stage, int micro_batches,
                                         int virtual_stages, bool zero_bubble = false);

// The steady state of one stage's schedule (1F1B and interleaved; GPipe has none): after
// `warmup` forward tasks come `pairs` forward/backward pairs, then the backward cool-down. The
// work of the pairs repeats every `period_pairs` pairs, which hold `period_micro_batches`
// micro-batches: one for 1F1B; pp for interleaved, whose chunks cycle in groups of pp
// micro-batches (the first and last chunks carry the embedding and the head, so a shorter
// period would not repeat).
// Zero bubble: a stage's first `weight_lag` pairs defer their weight passes, every later pair
// and cool-down backward is followed by the oldest deferred one, the last `weight_lag` end the
// step; a period then repeats from pair weight_lag on.
struct SteadyState {
  int warmup = 0;
  int pairs = 0;
  int period_pairs = 1;
  int period_micro_batches = 1;
  int weight_lag = 0;
  bool zero_bubble = false;
  // The index in the stage's task list at which steady pair `pair` starts (pair == pairs: the
  // cool-down's first task).
  std::size_t pair_task(int pair) const {
    const int weights = zero_bubble ? std::max(0, pair - weight_lag) : 0;
    return static_cast<std::size_t>(warmup + 2 * pair + weights);
  }
};
std::optional<SteadyState> steady_state(Schedule schedule, int stages, int stage, int micro_batches, int virtual_stages,
                                        bool zero_bubble = false);

// The fewest micro-batches whose run shows stage 0 (the longest warm-up, so the fewest steady
// pairs) at least `periods` whole steady periods between its first steady pair and its last one
// (which the measured periods leave out: engine/simulation.cpp period_boundaries), in whole
// periods less than micro_batches (the rest are priced by extending the steady state);
// micro_batches itself when no shorter run has that many.
int periodic_micro_batches(Schedule schedule, int stages, int micro_batches, int virtual_stages, int periods,
                           bool zero_bubble = false);

}  // namespace trainsim
