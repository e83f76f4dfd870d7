#pragma once
// Which GPU sets each pipeline stage's pace, and how many layers each stage holds.
//
// On a cluster of one GPU kind every stage runs on that GPU and holds the plan's split
// (scenario/plan.hpp's chunk_layers and stage_layers). A cluster may mix kinds (topology
// node_groups): a stage then goes at the pace of the slowest GPU among all its ranks (every
// replica of the stage must finish before the step does), and, unless the plan fixes
// layers_per_stage, layers go to stages in proportion to their speed: the split that makes the
// slowest stage's forward and backward of one micro-batch as short as it can be.
#include <vector>

#include "compute/cost_model.hpp"
#include "scenario/scenario.hpp"
#include "workload/work.hpp"

namespace trainsim {

struct StageSetup {
  std::vector<GpuSpec> gpu;       // per stage: the GPU whose speed the stage has
  std::vector<double> memory;     // per stage: the smallest GPU memory among its ranks, bytes
  std::vector<Workload> work;     // per stage, priced on that GPU
  std::vector<int> layers;        // per stage
  std::vector<int> chunk_layers;  // per model chunk (pp * virtual_stages), chunk c on stage c % pp
  bool balanced = false;          // layers were split by stage speed
};

StageSetup setup_stages(const Scenario& scenario, const CalibrationProfile& profile = {});

// Per stage: the smallest GPU memory among the stage's ranks (all the same on one GPU kind).
std::vector<double> stage_memory_capacity(const Scenario& scenario);

// Time of one micro-batch's forward and backward through one layer (recomputation included), and
// `offloaded_share` of an offloaded layer's exposed copies (PlanSpec::activation_offload_layers
// over the model's layers): on a cluster of mixed GPUs, a faster GPU with a slower host link may
// be the slowest.
double layer_time(const Workload& work, const PlanSpec& plan, double offloaded_share = 0);
// That share for a scenario.
double offloaded_share(const Scenario& scenario);

// Splits `layers` over stages whose per-layer times are `layer_s` and whose fixed extra work
// (embedding, head) is `extra_s`, so that max(n_s * layer_s + extra_s) is least; each stage gets
// a positive multiple of `unit` layers (the interleaved schedule's chunks). Empty if impossible.
std::vector<int> balanced_split(int layers, const std::vector<double>& layer_s, const std::vector<double>& extra_s,
                                int unit = 1);

// Per stage, the factor its compute is slowed by: cluster.slow_factor where any rank of the stage,
// in any replica, sits on one of cluster.slow_nodes (the step waits for every replica), else 1.
std::vector<double> stage_slowdowns(const Scenario& scenario);

}  // namespace trainsim
