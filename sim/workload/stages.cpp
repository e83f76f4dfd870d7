#include "workload/stages.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace trainsim {

double offloaded_share(const Scenario& sc) {
  return std::min(1.0, double(sc.plan.activation_offload_layers) / std::max(1, sc.model.layers));
}

double layer_time(const Workload& w, const PlanSpec& p, double offloaded_share) {
  const LayerWork& L = w.layer;
  double t = L.attention_forward.time() + L.mlp_forward.time() + L.attention_backward.time() + L.mlp_backward.time();
  if (p.recompute == Recompute::full) t += p.recompute_fraction * (L.attention_forward.time() + L.mlp_forward.time());
  if (p.recompute == Recompute::selective || p.recompute == Recompute::op || p.recompute == Recompute::qkv)
    t += L.recompute.time();
  return t + offloaded_share * (offload_stall_forward(L) + offload_stall_backward(L));
}

namespace {
// What a layer's tensor-parallel exchanges take on a GPU's NVLink when nothing hides them: four a
// layer (two forward, two backward; a fully recomputed forward two more), each an all-reduce or
// an all-gather with a reduce-scatter, 2(t-1)/t of the activation over a ring. Stages of another
// GPU kind may have a slower NVLink (A100: 300 GB/s against H100's 450), which a split by compute
// alone would load with as many layers (found by a fuzzing pass: a faster A100 group slowed the
// step). Not the simulation's price, only what the split weighs.
double tp_exchange_time(const Workload& w, const PlanSpec& p, const GpuSpec& gpu) {
  if (p.tp < 2 || p.tp_comm_overlap || gpu.nvlink_bandwidth <= 0) return 0;
  const double exchanges = 4 + (p.recompute == Recompute::full ? 2 * p.recompute_fraction : 0);
  return exchanges * 2.0 * (p.tp - 1) / p.tp * w.comm.tp_bytes / gpu.nvlink_bandwidth;
}
}  // namespace

std::vector<int> balanced_split(int layers, const std::vector<double>& layer_s, const std::vector<double>& extra_s,
                                int unit) {
  const int stages = static_cast<int>(layer_s.size());
  if (stages == 0 || unit < 1 || layers % unit != 0 || layers / unit < stages) return {};
  // Greedy on chunks of `unit` layers: each goes where the stage's time grows to the least.
  // With per-stage costs linear in the layers held, this reaches the least possible maximum.
  std::vector<int> split(stages, unit);
  for (int left = layers / unit - stages; left > 0; --left) {
    int best = 0;
    double best_time = 0;
    for (int s = 0; s < stages; ++s) {
      const double time = (split[s] + unit) * layer_s[s] + extra_s[s];
      if (s == 0 || time < best_time) {
        best = s;
        best_time = time;
      }
    }
    split[best] += unit;
  }
  return split;
}

namespace {
// Every GPU kind among a stage's ranks (tp x cp x dp of them), by name.
std::map<std::string, const GpuSpec*> kinds_in_stage(const Scenario& sc, int stage) {
  const PlanSpec& p = sc.plan;
  const TopologySpec& topology = sc.cluster.topology;
  std::map<std::string, const GpuSpec*> kinds;
  for (int d = 0; d < p.dp; ++d) {
    for (int c = 0; c < p.cp; ++c) {
      for (int t = 0; t < p.tp; ++t) {
        const GpuSpec& gpu = topology.gpu_of_node(gpu_of(p, t, c, stage, d) / topology.gpus_per_node);
        kinds.emplace(gpu.name, &gpu);
      }
    }
  }
  return kinds;
}
}  // namespace

std::vector<double> stage_memory_capacity(const Scenario& sc) {
  std::vector<double> capacity(sc.plan.pp, sc.cluster.topology.gpu.memory_bytes);
  if (!sc.cluster.topology.mixed(sc.cluster.gpus)) return capacity;
  for (int s = 0; s < sc.plan.pp; ++s) {
    capacity[s] = 1e300;
    for (const auto& [name, gpu] : kinds_in_stage(sc, s)) capacity[s] = std::min(capacity[s], gpu->memory_bytes);
  }
  return capacity;
}

StageSetup setup_stages(const Scenario& sc, const CalibrationProfile& profile) {
  const PlanSpec& p = sc.plan;
  const TopologySpec& topology = sc.cluster.topology;
  StageSetup setup;
  std::map<std::string, Workload> priced;  // by GPU name
  auto work_on = [&](const GpuSpec& gpu) -> const Workload& {
    auto it = priced.find(gpu.name);
    if (it == priced.end()) {
      it = priced
               .emplace(gpu.name,
                        build_workload(sc.model, p,
                                       CostModel(as_run_by_job(sc, gpu), p.precision, profile, p.fp8_recipe), sc.data))
               .first;
    }
    return it->second;
  };
  const bool mixed = topology.mixed(sc.cluster.gpus);
  for (int s = 0; s < p.pp; ++s) {
    const GpuSpec* slowest = &topology.gpu;
    double memory = topology.gpu.memory_bytes;
    if (mixed) {
      double slowest_time = -1;
      memory = 1e300;
      for (const auto& [name, gpu] : kinds_in_stage(sc, s)) {
        const double time = layer_time(work_on(*gpu), p, offloaded_share(sc));
        if (time > slowest_time) {
          slowest_time = time;
          slowest = gpu;
        }
        memory = std::min(memory, gpu->memory_bytes);
      }
    }
    setup.gpu.push_back(*slowest);
    setup.memory.push_back(memory);
    setup.work.push_back(work_on(*slowest));
  }
  setup.chunk_layers = chunk_layers(sc.model.layers, p);
  setup.layers = stage_layers(sc.model.layers, p);
  const bool uneven_speed = std::any_of(setup.gpu.begin(), setup.gpu.end(),
                                        [&](const GpuSpec& g) { return g.name != setup.gpu.front().name; });
  if (p.layers_per_stage.empty() && uneven_speed) {
    std::vector<double> per_layer, extra;
    for (int s = 0; s < p.pp; ++s) {
      const Workload& w = setup.work[s];
      per_layer.push_back(layer_time(w, p) + tp_exchange_time(w, p, setup.gpu[s]));
      double e = 0;
      if (s == 0) e += w.extras.embedding_forward.time() + w.extras.embedding_backward.time();
      if (s == p.pp - 1) e += w.extras.head_forward.time() + w.extras.head_backward.time();
      extra.push_back(e);
    }
    // Whole layers per chunk where they divide (every chunk of a stage alike); otherwise single
    // layers, kept only if every chunk still gets one.
    const int v = p.schedule == Schedule::interleaved ? p.virtual_stages : 1;
    auto split = balanced_split(sc.model.layers, per_layer, extra, v);
    if (split.empty() && v > 1) {
      split = balanced_split(sc.model.layers, per_layer, extra, 1);
      if (std::any_of(split.begin(), split.end(), [&](int n) { return n < v; })) split.clear();
    }
    if (!split.empty()) {
      setup.chunk_layers = split_stages_into_chunks(split, p);
      setup.layers = std::move(split);
      setup.balanced = true;
    }
  }
  return setup;
}

std::vector<double> stage_slowdowns(const Scenario& sc) {
  const PlanSpec& p = sc.plan;
  std::vector<double> slowdown(p.pp, 1.0);
  const std::set<int> slow(sc.cluster.slow_nodes.begin(), sc.cluster.slow_nodes.end());
  if (slow.empty()) return slowdown;
  const int per_node = std::max(1, sc.cluster.topology.gpus_per_node);
  for (int s = 0; s < p.pp; ++s) {
    for (int d = 0; d < p.dp && slowdown[s] == 1.0; ++d) {
      for (int t = 0; t < p.tp && slowdown[s] == 1.0; ++t) {
        for (int c = 0; c < p.cp; ++c) {
          if (slow.count(gpu_of(p, t, c, s, d) / per_node)) slowdown[s] = sc.cluster.slow_factor;
        }
      }
    }
  }
  return slowdown;
}

}  // namespace trainsim
