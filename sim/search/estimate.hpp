#pragma once
// A fast estimate of a plan's step time, tens of microseconds per plan, used to rank thousands of
// plans before the best are simulated. It prices the same kernels as the simulator
// (workload/work.hpp), prices communication with alpha-beta formulas instead of flows, and
// replays the pipeline schedule with those times instead of simulating it.
#include "scenario/scenario.hpp"
#include "workload/memory.hpp"

namespace trainsim {

struct Estimate {
  double step_time = 0;
  double compute = 0, communication = 0, bubble = 0, optimizer = 0;
  // Of `communication`: the data-parallel collectives' tail after the backward (what local SGD,
  // plan.sync_every, saves on the steps that do not synchronise).
  double data_parallel = 0;
  int critical_stage = 0;  // the pipeline stage that finishes last
  MemoryBreakdown memory;
  const char* bound_by = "compute";
  double host_bound_share = 0;  // a layer's, as Prediction::host_bound_share
  // FLOPs one GPU's kernels run in a step, recomputation included, averaged over the stages (as
  // StepResult::hardware_flops_per_gpu).
  double hardware_flops = 0;
};

// `data_parallel` false: the step without its data-parallel collectives (ZeRO-3's gathers
// included), as a local-SGD step that does not synchronise runs it (plan.sync_every).
Estimate estimate_step(const Scenario& scenario, bool data_parallel = true);

}  // namespace trainsim
