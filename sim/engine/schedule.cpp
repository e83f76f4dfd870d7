#include "engine/schedule.hpp"

#include <algorithm>

namespace trainsim {

std::vector<PipelineTask> stage_schedule(Schedule schedule, int p, int stage, int m, int v) {
  std::vector<PipelineTask> tasks;
  if (schedule == Schedule::gpipe) {
    for (int i = 0; i < m; ++i) tasks.push_back({true, i, 0});
    for (int i = 0; i < m; ++i) tasks.push_back({false, i, 0});
    return tasks;
  }
  if (schedule == Schedule::one_f_one_b || v == 1) {
    const int warmup = steady_state(schedule, p, stage, m, v)->warmup;
    int next_forward = 0, next_backward = 0;
    for (int i = 0; i < warmup; ++i) tasks.push_back({true, next_forward++, 0});
    while (next_forward < m) {
      tasks.push_back({true, next_forward++, 0});
      tasks.push_back({false, next_backward++, 0});
    }
    while (next_backward < m) tasks.push_back({false, next_backward++, 0});
    return tasks;
  }
  // Interleaved: micro-batches go through the v chunks in groups of p; forward unit k works on
  // chunk (k / p) % v of micro-batch (k / (p v)) p + k % p; backward units visit chunks in reverse.
  const int units = m * v;
  auto unit = [&](int k, bool forward) {
    const int group = k % (p * v);
    int chunk = group / p;
    if (!forward) chunk = v - 1 - chunk;
    return PipelineTask{forward, (k / (p * v)) * p + group % p, chunk};
  };
  const int warmup = steady_state(schedule, p, stage, m, v)->warmup;
  int next_forward = 0, next_backward = 0;
  for (int i = 0; i < warmup; ++i) tasks.push_back(unit(next_forward++, true));
  while (next_forward < units) {
    tasks.push_back(unit(next_forward++, true));
    tasks.push_back(unit(next_backward++, false));
  }
  while (next_backward < units) tasks.push_back(unit(next_backward++, false));
  return tasks;
}

std::optional<SteadyState> steady_state(Schedule schedule, int p, int stage, int m, int v) {
  if (schedule == Schedule::gpipe) return std::nullopt;
  if (schedule == Schedule::one_f_one_b || v == 1) {
    const int warmup = std::min(p - stage - 1, m);
    return SteadyState{warmup, m - warmup, 1, 1};
  }
  const int units = m * v;
  const int warmup = std::min(units, (p - stage - 1) * 2 + (v - 1) * p);
  return SteadyState{warmup, units - warmup, p * v, p};
}

int periodic_micro_batches(Schedule schedule, int p, int m, int v, int periods) {
  const auto full = steady_state(schedule, p, 0, m, v);
  if (!full) return m;
  // Stage 0 has the longest warm-up, so the fewest steady pairs: it decides.
  for (int shorter = full->period_micro_batches; shorter < m; shorter += full->period_micro_batches) {
    const auto steady = steady_state(schedule, p, 0, shorter, v);
    if ((steady->pairs - 2) / steady->period_pairs >= periods && (m - shorter) % steady->period_micro_batches == 0) {
      return shorter;
    }
  }
  return m;
}

}  // namespace trainsim
