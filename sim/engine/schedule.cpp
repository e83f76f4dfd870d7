#include "engine/schedule.hpp"

#include <algorithm>

namespace trainsim {

std::vector<PipelineTask> stage_schedule(Schedule schedule, int p, int stage, int m, int v, bool zero_bubble) {
  std::vector<PipelineTask> tasks;
  if (schedule == Schedule::gpipe) {
    for (int i = 0; i < m; ++i) tasks.push_back({true, i, 0});
    for (int i = 0; i < m; ++i) tasks.push_back({false, i, 0});
    return tasks;
  }
  // 1F1B's units are its micro-batches. Interleaved: micro-batches go through the v chunks in
  // groups of p; forward unit k works on chunk (k / p) % v of micro-batch (k / (p v)) p + k % p;
  // backward units visit chunks in reverse.
  const bool interleaved = schedule == Schedule::interleaved && v > 1;
  const int units = interleaved ? m * v : m;
  auto unit = [&](int k, bool forward) {
    if (!interleaved) return PipelineTask{forward, k, 0};
    const int group = k % (p * v);
    int chunk = group / p;
    if (!forward) chunk = v - 1 - chunk;
    return PipelineTask{forward, (k / (p * v)) * p + group % p, chunk};
  };
  const auto steady = steady_state(schedule, p, stage, m, v, zero_bubble);
  int next_forward = 0, next_backward = 0, next_weight = 0;
  // Zero bubble: the weight pass of backward unit k follows backward unit k + weight_lag.
  auto weight = [&] {
    PipelineTask task = unit(next_weight++, false);
    task.weight = true;
    tasks.push_back(task);
  };
  auto backward = [&] {
    tasks.push_back(unit(next_backward++, false));
    if (zero_bubble && next_backward > steady->weight_lag) weight();
  };
  for (int i = 0; i < steady->warmup; ++i) tasks.push_back(unit(next_forward++, true));
  while (next_forward < units) {
    tasks.push_back(unit(next_forward++, true));
    backward();
  }
  while (next_backward < units) backward();
  while (zero_bubble && next_weight < units) weight();
  return tasks;
}

std::optional<SteadyState> steady_state(Schedule schedule, int p, int stage, int m, int v, bool zero_bubble) {
  if (schedule == Schedule::gpipe) return std::nullopt;
  SteadyState steady;
  steady.zero_bubble = zero_bubble;
  steady.weight_lag = zero_bubble ? stage : 0;
  if (schedule == Schedule::one_f_one_b || v == 1) {
    steady.warmup = std::min(p - stage - 1, m);
    steady.pairs = m - steady.warmup;
    return steady;
  }
  // Interleaved 1F1B sends a micro-batch's activation one hop and waits for its gradient to come
  // back one hop per later stage; zero bubble's backwards carry no weight pass, and PyTorch warms
  // up with one forward per later stage instead of two (_get_warmup_ops, multiply_factor 1).
  const int units = m * v;
  const int hops = (p - stage - 1) * (zero_bubble ? 1 : 2);
  steady.warmup = std::min(units, hops + (v - 1) * p);
  steady.pairs = units - steady.warmup;
  steady.period_pairs = p * v;
  steady.period_micro_batches = p;
  return steady;
}

int periodic_micro_batches(Schedule schedule, int p, int m, int v, int periods, bool zero_bubble) {
  const auto full = steady_state(schedule, p, 0, m, v, zero_bubble);
  if (!full) return m;
  // Stage 0 has the longest warm-up, so the fewest steady pairs: it decides. Under zero bubble
  // the last stage's first p - 1 pairs defer their weight passes and are not yet periodic.
  const int settling = zero_bubble ? p - 1 : 0;
  for (int shorter = full->period_micro_batches; shorter < m; shorter += full->period_micro_batches) {
    const auto steady = steady_state(schedule, p, 0, shorter, v, zero_bubble);
    if ((steady->pairs - 2 - settling) / steady->period_pairs >= periods &&
        (m - shorter) % steady->period_micro_batches == 0) {
      return shorter;
    }
  }
  return m;
}

}  // namespace trainsim
