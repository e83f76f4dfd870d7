#include "search/estimate.hpp"

#include <algorithm>
#include <cmath>

#include "network/collectives.hpp"
#include "workload/work.hpp"

namespace trainsim {
namespace {

// Bandwidth and latency between the members of a group whose ranks are `stride` apart.
std::pair<double, double> link_for(const Scenario& sc, int stride, int size) {
  const auto& t = sc.cluster.topology;
  if (std::int64_t(stride) * size <= t.gpus_per_node) return {t.gpu.nvlink_bandwidth, t.intra_latency};
  return {t.nic_bandwidth, t.nic_latency + 3 * t.switch_latency};
}

int stride_of(const PlanSpec& p, Axis axis) {
  int stride = 1;
  for (const Axis a : p.placement) {
    if (a == axis) return stride;
    stride *= a == Axis::tp ? p.tp : a == Axis::cp ? p.cp : a == Axis::pp ? p.pp : p.dp;
  }
  return stride;
}

double all_reduce(double bytes, int n, std::pair<double, double> link) {
  return ring_all_reduce_estimate(bytes, n, link.first, link.second);
}

}  // namespace

Estimate estimate_step(const Scenario& sc) {
  const PlanSpec& p = sc.plan;
  const CostModel cost(sc.cluster.topology.gpu, p.precision);
  const Workload w = build_workload(sc.model, p, cost);
  Estimate e;
  e.memory = peak_memory(sc, w);
  const auto layers = layers_per_stage(sc.model, p);
  const int stage_layers = *std::max_element(layers.begin(), layers.end());
  const double m = double(p.micro_batches());
  const auto& L = w.layer;
  const double layer_compute = L.attention_forward.time() + L.mlp_forward.time() + L.attention_backward.time() +
                               L.mlp_backward.time() + L.recompute.time();
  // Tensor parallel: 4 all-reduce volumes per layer (6 with full recomputation).
  double layer_comm = 0;
  if (p.tp > 1) {
    const int count = p.recompute == Recompute::full ? 6 : 4;
    layer_comm += count * all_reduce(w.comm.tp_bytes, p.tp, link_for(sc, stride_of(p, Axis::tp), p.tp));
  }
  if (p.ep > 1 && sc.model.moe()) {
    const auto link = link_for(sc, stride_of(p, Axis::dp), p.ep);
    layer_comm += 4 * (w.comm.ep_bytes / link.first + (p.ep - 1) * link.second);
  }
  if (p.cp > 1) {
    const auto link = link_for(sc, stride_of(p, Axis::cp), p.cp);
    const double ring = 3 * w.comm.cp_steps * (w.comm.cp_bytes_per_step / link.first + link.second);
    layer_comm += std::max(0.0, ring - (L.attention_forward.time() + L.attention_backward.time()));
  }
  const double extras = w.extras.embedding_forward.time() + w.extras.embedding_backward.time() +
                        w.extras.head_forward.time() + w.extras.head_backward.time();
  const double per_microbatch = stage_layers * (layer_compute + layer_comm) + (p.pp == 1 ? extras : extras / 2);
  double pp_comm = 0;
  if (p.pp > 1) {
    const auto link = link_for(sc, stride_of(p, Axis::pp), 2);
    pp_comm = 2 * p.virtual_stages * (w.comm.pp_bytes / link.first + link.second);
  }
  e.compute = m * stage_layers * layer_compute;
  e.communication = m * (stage_layers * layer_comm + pp_comm);
  // Bubble: (p-1)/v micro-batch times (Narayanan et al. SC'21).
  e.bubble = (p.pp - 1) * (per_microbatch + pp_comm) / p.virtual_stages;
  // Data parallel: gradients reduced once (ZeRO 0-2) or every micro-batch (ZeRO-3), overlapped
  // with the backward pass of the last micro-batch (or of every micro-batch).
  const int shard = p.dp * p.cp;
  if (shard > 1) {
    const double params = stage_layers * L.parameters + std::max(w.extras.embedding_parameters, w.extras.head_parameters);
    const double grad_bytes = params * (p.gradient_reduce_bytes > 0 ? p.gradient_reduce_bytes : 2);
    const auto link = link_for(sc, stride_of(p, Axis::dp), shard);
    const double reduce = p.zero >= 1 ? all_reduce(grad_bytes, shard, link) / 2 : all_reduce(grad_bytes, shard, link);
    const double gather = p.zero >= 1 ? all_reduce(params * 2, shard, link) / 2 : 0;
    const double backward = stage_layers * (L.attention_backward.time() + L.mlp_backward.time());
    if (p.zero >= 3) {
      const double per_mb = reduce + 2 * gather;  // reduce-scatter and two gathers per micro-batch
      e.communication += m * std::max(0.0, per_mb - per_microbatch);
    } else {
      e.communication += std::max(0.0, reduce - backward) + gather;
    }
  }
  double params = stage_layers * L.parameters + w.extras.embedding_parameters;
  e.optimizer = params / (p.zero >= 1 ? shard : 1) * 36.0 / (sc.cluster.topology.gpu.memory_bandwidth * 0.886);
  e.step_time = e.compute + e.communication + e.bubble + e.optimizer + m * (p.pp == 1 ? extras : extras / 2);
  if (e.communication > e.compute) e.bound_by = "communication";
  else if (e.bubble > e.compute) e.bound_by = "pipeline bubble";
  return e;
}

}  // namespace trainsim
