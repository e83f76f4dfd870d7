#include "search/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "engine/schedule.hpp"
#include "network/collectives.hpp"
#include "topology/graph.hpp"
#include "workload/stages.hpp"
#include "workload/work.hpp"

namespace trainsim {
namespace {

// A torus, a dragonfly or an oversubscribed tree can give a collective's flows less than their
// NICs: the rings of a node's GPUs all head for the same next node and share the links between
// (a 4x4x4 torus of 100 GB/s links, eight 50 GB/s NICs a node: a quarter of a NIC, less at its
// wraps), and an all-to-all's or a tree's flows cross the fabric's narrow links together. Such
// shares come from the cluster graph (topology/graph.hpp).
bool fabric_may_bind(const TopologySpec& t) {
  return t.fabric == FabricKind::torus || t.fabric == FabricKind::dragonfly || t.oversubscription > 1;
}

// The share `find` gives on the scenario's fabric for `collective` (a key naming all it depends
// on), found once. Shares and cluster graphs are kept for the process: a search asks for the same
// few thousands of times, from several threads, and one fabric's graph serves every collective.
double kept_share(const Scenario& sc, const std::string& collective,
                  const std::function<double(const ClusterGraph&)>& find) {
  const auto& t = sc.cluster.topology;
  const int nodes = (sc.cluster.gpus + t.gpus_per_node - 1) / t.gpus_per_node;
  std::ostringstream key;
  key.precision(17);
  key << t.name << ' ' << int(t.fabric) << ' ' << nodes << ' ' << t.gpus_per_node << ' ' << t.nic_bandwidth << ' '
      << t.oversubscription << ' ' << t.nodes_per_leaf << ' ' << t.torus_link_bandwidth << ' ' << t.dragonfly_groups
      << ' ' << t.dragonfly_routers_per_group << ' ' << t.dragonfly_nodes_per_router << ' '
      << t.dragonfly_global_bandwidth;
  for (const int d : t.torus_dims) key << 'x' << d;
  const std::string fabric = key.str();
  key << ' ' << collective;
  static std::mutex mutex;
  static std::map<std::string, double> shares;
  static std::map<std::string, ClusterGraph> graphs;
  const std::lock_guard lock(mutex);
  if (const auto it = shares.find(key.str()); it != shares.end()) return it->second;
  auto graph = graphs.find(fabric);
  if (graph == graphs.end()) graph = graphs.emplace(fabric, build_cluster_graph(t, nodes)).first;
  return shares[key.str()] = find(graph->second);
}

int stride_of(const PlanSpec& p, Axis axis) {
  int stride = 1;
  for (const Axis a : p.placement) {
    if (a == axis) return stride;
    stride *= a == Axis::tp ? p.tp : a == Axis::cp ? p.cp : a == Axis::pp ? p.pp : p.dp;
  }
  return stride;
}

// The first stage's GPUs on node 0 (their places in the node), and the nodes before
// `node_stride` that hold first-stage GPUs: what runs a stage's collective of one kind at once.
// Other stages' GPUs on those nodes (pipeline stages placed inside a node) run theirs at other
// times.
struct StageRanks {
  std::vector<int> places, first_nodes;
};
StageRanks stage_ranks(const PlanSpec& p, int per_node, int node_stride) {
  const int pp_stride = stride_of(p, Axis::pp);
  const auto first_stage = [&](int gpu) { return (gpu / pp_stride) % p.pp == 0; };
  StageRanks r;
  for (int place = 0; place < per_node; ++place) {
    if (first_stage(place)) r.places.push_back(place);
  }
  for (int node = 0; node < node_stride; ++node) {
    bool holds = false;
    for (int place = 0; place < per_node && !holds; ++place) holds = first_stage(node * per_node + place);
    if (holds) r.first_nodes.push_back(node);
  }
  return r;
}

std::string describe(const StageRanks& r) {
  std::ostringstream out;
  for (const int place : r.places) out << " p" << place;
  for (const int node : r.first_nodes) out << " n" << node;
  return out.str();
}

// What a flow of a ring over the group's nodes gets (ring_flow_bandwidth), its NIC at most, the
// stage's rings of the kind all running at once (stage_ranks): nodes between the ring's members
// that hold first-stage GPUs (the other ranks of a tensor- or context-parallel group wider than a
// node) run rings of their own beside it.
double ring_share(const Scenario& sc, int stride, int size) {
  const auto& t = sc.cluster.topology;
  if (!fabric_may_bind(t)) return t.nic_bandwidth;
  const int per_node = t.gpus_per_node;
  const int local = stride >= per_node ? 1 : std::max(1, std::min(size, per_node / stride));
  const int node_stride = stride >= per_node ? stride / per_node : 1;
  // The simulation runs a long ring on its first nodes (simulated_ring_nodes); so does this.
  const int members = std::min(size / local, simulated_ring_nodes(nodes_alike(t)));
  const StageRanks ranks = stage_ranks(sc.plan, per_node, node_stride);
  std::ostringstream what;
  what << "ring " << node_stride << ' ' << members << describe(ranks);
  return kept_share(sc, what.str(), [&](const ClusterGraph& graph) {
    return ring_flow_bandwidth(graph, ranks.first_nodes, node_stride, members, ranks.places);
  });
}

// An all-reduce over n ranks `stride` apart, one a node, on a fabric where links bind, where the
// simulator's automatic choice (network/collectives.cpp choose_algorithm, per gradient bucket)
// runs NCCL's double binary tree: its two trees over the ranks in order and mirrored, every
// parent-child pair exchanging half the bytes each way at once, all the stage's groups together.
// Far-apart ranks of a large group then cross a torus's or dragonfly's narrow links many at a
// time. Returns its time, or a negative number where the simulator runs a ring.
double tree_all_reduce(const Scenario& sc, double bytes, int n, int stride) {
  const auto& t = sc.cluster.topology;
  const auto& p = sc.plan;
  if (!fabric_may_bind(t) || stride < t.gpus_per_node || n <= 2) return -1;
  const double bucket = p.overlap_grad_reduce ? std::min(bytes, p.bucket_bytes) : bytes;
  const double latency = t.nic_latency + 3 * t.switch_latency;
  if (!tree_beats_ring(bucket, n, t.nic_bandwidth, latency)) return -1;
  const int depth = static_cast<int>(std::ceil(std::log2(double(n))));
  const int per_node = t.gpus_per_node, node_stride = stride / per_node;
  const StageRanks ranks = stage_ranks(p, per_node, node_stride);
  std::ostringstream what;
  what << "tree " << node_stride << ' ' << n << describe(ranks);
  const double share = kept_share(sc, what.str(), [&](const ClusterGraph& graph) {
    std::vector<std::pair<int, int>> flows;
    for (const int first : ranks.first_nodes) {
      for (const int place : ranks.places) {
        const auto rank = [&](int mirror, int i) {
          return (first + (mirror ? n - 1 - i : i) * node_stride) * per_node + place;
        };
        if (first + (n - 1) * node_stride >= graph.nodes) continue;
        for (int mirror = 0; mirror < 2; ++mirror) {
          for (int child = 1; child < n; ++child) {
            flows.emplace_back(rank(mirror, child), rank(mirror, (child - 1) / 2));
            flows.emplace_back(rank(mirror, (child - 1) / 2), rank(mirror, child));
          }
        }
      }
    }
    return slowest_flow_share(graph, flows);
  });
  if (!std::isfinite(share)) return -1;
  return bytes / 2 / share + std::ceil(bytes / bucket) * (2 * depth - 1) * latency;
}

// What the slowest flow between nodes of a stage's expert all-to-alls gets, every expert group of
// the stage exchanging at once, as the simulator runs them (its `expert_groups`, and
// network/collectives.cpp's all_to_all and deduplicated_all_to_all: rank i of a group sends one
// flow to each other node, to its member i modulo their count); infinity where nothing binds but
// the NICs' own flow counts.
double expert_exchange_share(const Scenario& sc) {
  const auto& t = sc.cluster.topology;
  if (!fabric_may_bind(t)) return std::numeric_limits<double>::infinity();
  const auto& p = sc.plan;
  std::ostringstream what;
  what << "a2a " << p.tp << ' ' << p.cp << ' ' << p.dp << ' ' << p.pp << ' ' << p.ep << ' ' << p.expert_tp() << ' '
       << placement_name(p.placement);
  return kept_share(sc, what.str(), [&](const ClusterGraph& graph) {
    const int etp = p.expert_tp(), per_node = t.gpus_per_node;
    const int per_leaf = per_node * std::max(1, t.nodes_per_leaf);
    // Every replica's groups, unless they hold more flows than the simulator runs at once: then
    // the one spread over the most leaves, then nodes, alone (its place_replicas).
    std::vector<std::vector<std::vector<int>>> replicas(p.expert_dp());
    std::size_t counted = 0;
    std::pair<std::size_t, std::size_t> widest{0, 0};
    int chosen = 0;
    for (int r = 0; r < p.expert_dp(); ++r) {
      std::pair<std::size_t, std::size_t> span{0, 0};
      for (int a = 0; a < etp; ++a) {
        std::vector<int> group;
        std::set<int> leaves, nodes;
        for (int k = 0; k < p.ep; ++k) {
          group.push_back(folded_gpu(p, 0, a + etp * k + etp * p.ep * r));
          leaves.insert(group.back() / per_leaf), nodes.insert(group.back() / per_node);
        }
        counted += group.size() * nodes.size();
        span = {span.first + leaves.size(), span.second + nodes.size()};
        replicas[r].push_back(std::move(group));
      }
      if (span > widest) widest = span, chosen = r;
    }
    if (counted > kReplicatedFlowBudget) replicas = {replicas[chosen]};
    std::vector<std::pair<int, int>> flows;
    for (const auto& groups : replicas) {
      for (const auto& group : groups) {
        std::map<int, std::vector<int>> by_node;
        for (const int gpu : group) by_node[gpu / per_node].push_back(gpu);
        for (std::size_t i = 0; i < group.size(); ++i) {
          for (const auto& [node, members] : by_node) {
            if (node != group[i] / per_node) flows.emplace_back(group[i], members[i % members.size()]);
          }
        }
      }
    }
    return slowest_flow_share(graph, flows);
  });
}

// Bandwidth and latency between the members of a group whose ranks are `stride` apart.
std::pair<double, double> link_for(const Scenario& sc, int stride, int size) {
  const auto& t = sc.cluster.topology;
  if (std::int64_t(stride) * size <= t.gpus_per_node)
    return {nccl_nvlink_bandwidth(t.gpu.nvlink_bandwidth), t.intra_latency};
  return {ring_share(sc, stride, size), t.nic_latency + 3 * t.switch_latency};
}

double all_reduce(double bytes, int n, std::pair<double, double> link) {
  return ring_all_reduce_estimate(bytes, n, link.first, link.second);
}

// An all-reduce over n ranks `stride` apart, as the simulator's automatic choice runs it: one
// ring when the group stays in a node or has one rank per node, else hierarchical (reduce-scatter
// in the node, all-reduce across nodes on 1/local of the bytes, all-gather in the node).
double group_all_reduce(const Scenario& sc, double bytes, int n, int stride) {
  const auto& t = sc.cluster.topology;
  const int local = stride >= t.gpus_per_node ? 1 : std::min(n, t.gpus_per_node / stride);
  if (local >= n && n >= 5 && t.gpu.nvls_bandwidth > 0)  // NVLink SHARP inside the domain
    return nvls_all_reduce_time(2.0 * (n - 1) / n * bytes / t.gpu.nvls_bandwidth);
  if (local >= n || (local <= 1 && !t.in_network_reduction)) {
    const double tree = local < n ? tree_all_reduce(sc, bytes, n, stride) : -1;
    return tree >= 0 ? tree : all_reduce(bytes, n, link_for(sc, stride, n));
  }
  // Reduce-scatter and all-gather inside the node (none with one rank per node), then across.
  const double in_node = 2.0 * (local - 1) / local * bytes / nccl_nvlink_bandwidth(t.gpu.nvlink_bandwidth) +
                         2 * (local - 1) * t.intra_latency;
  const std::pair<double, double> nic = {ring_share(sc, stride, n), t.nic_latency + 3 * t.switch_latency};
  if (t.in_network_reduction)  // SHARP: the switches reduce, each NIC carries its share once
    return in_node + bytes / local / nic.first + 2 * nic.second;
  return in_node + all_reduce(bytes / local, n / local, nic);
}

// An all-gather or reduce-scatter over n ranks `stride` apart, as the simulator runs it: one ring
// per rank a node holds (NCCL's channels), each leaving the node through its own NIC and carrying
// its share of (n-1)/n of the bytes, with n-1 steps of latency.
double group_gather(const Scenario& sc, double bytes, int n, int stride) {
  const auto& t = sc.cluster.topology;
  const auto link = link_for(sc, stride, n);
  const int local = stride >= t.gpus_per_node ? 1 : std::min(n, t.gpus_per_node / stride);
  const int channels = local > 1 && local < n ? local : 1;
  return double(n - 1) / n * bytes / (channels * link.first) + (n - 1) * link.second;
}

// Replays a pipeline schedule with fixed task times: each stage runs its tasks in the simulator's
// own order (engine/schedule.hpp); a forward waits for the previous virtual stage's forward of
// the micro-batch, a backward for the next virtual stage's backward, and then for the `hop` of
// its transfer, which starts when both are ready.
// Returns when each stage finishes and how long it was busy.
struct Replay {
  std::vector<double> finish, busy;
};

// Compute of time `compute` beside collectives of time `comm` runs on 1 - share of the SMs while
// they last (PlanSpec::collective_sms): compute + share x comm, or comm once they outlast it.
double time_beside(double compute, double comm, double share) {
  return comm * (1 - share) >= compute ? comm : compute + share * comm;
}

// A kept FSDP stage gathers each chunk's weights in its first forward, one layer ahead: the first
// chunk's first layer when it starts (`gather`), each later chunk's first layer from the last layer
// of the previous chunk's first forward on (`gather - layer` after that forward ends), and every
// further layer exposes what its gather takes beyond the layer before. Each chunk's gradients are
// reduce-scattered layer by layer (`reduce` a layer) during its last backward, as each layer's
// backward is done, one chunk after another; the stage finishes when the last reduce-scatter is.
struct KeptStageGathers {
  double gather = 0, layer = 0, reduce = 0;
  double share = 0;                  // of the SMs the collectives hold (PlanSpec::collective_sms)
  std::vector<double> chunk_layers;  // by virtual stage; empty: no kept stage
};

// Chunk times by stage and chunk: forward, backward, and (zero bubble) the weight passes the
// backward leaves out.
struct ChunkTimes {
  std::vector<std::vector<double>> forward, backward, weight;
};

Replay replay_pipeline(const PlanSpec& p, int micro_batches, const ChunkTimes& times, double hop,
                       const KeptStageGathers& gathers = {}) {
  const int pp = p.pp, v = p.virtual_stages, chunks = pp * v;
  const auto& forward = times.forward;
  const auto& backward = times.backward;
  std::vector<std::vector<PipelineTask>> tasks(pp);
  for (int s = 0; s < pp; ++s) tasks[s] = stage_schedule(p.schedule, pp, s, micro_batches, v, p.splits_backward());
  // Finish times by virtual stage and micro-batch; < 0: not yet run.
  std::vector<double> forward_done(std::size_t(chunks) * micro_batches, -1), backward_done = forward_done;
  auto at = [&](int virtual_stage, int mb) { return std::size_t(virtual_stage) * micro_batches + mb; };
  Replay r{std::vector<double>(pp, 0.0), std::vector<double>(pp, 0.0)};
  std::vector<std::size_t> next(pp, 0);
  std::vector<std::vector<double>> first_forward_end(pp, std::vector<double>(v, 0.0));
  for (bool progress = true; progress;) {
    progress = false;
    for (int s = 0; s < pp; ++s) {
      for (; next[s] < tasks[s].size(); ++next[s]) {
        const PipelineTask& t = tasks[s][next[s]];
        const int vs = t.chunk * pp + s;
        // A transfer starts once it is sent and the stage asks for it (the simulation's rendezvous,
        // engine/simulation.cpp receive()), and takes `hop`.
        double sent = -1;
        if (t.forward && vs > 0) {
          sent = forward_done[at(vs - 1, t.micro_batch)];
          if (sent < 0) break;
        } else if (!t.forward && !t.weight && vs < chunks - 1) {
          sent = backward_done[at(vs + 1, t.micro_batch)];
          if (sent < 0) break;
        }
        double took = t.forward ? forward[s][t.chunk] : t.weight ? times.weight[s][t.chunk] : backward[s][t.chunk];
        double start = sent < 0 ? r.finish[s] : std::max(r.finish[s], sent) + hop;
        const bool gathering = t.forward && t.micro_batch == 0 && !gathers.chunk_layers.empty();
        if (gathering) {
          start = t.chunk == 0 ? start + gathers.gather
                               : std::max(start, first_forward_end[s][t.chunk - 1] + gathers.gather - gathers.layer);
          // Each further layer runs beside the next one's gather, on the SMs it leaves.
          const double beside = time_beside(gathers.layer, gathers.gather, gathers.share);
          took += std::max(0.0, gathers.chunk_layers[vs] - 1) * (beside - gathers.layer);
        }
        if (!t.forward && !t.weight && t.micro_batch == micro_batches - 1 && !gathers.chunk_layers.empty()) {
          // The last backward's layers run beside the reduce-scatters of the layers before them.
          // Only the compute slows: a reduce that outlasts its layer is the queue's, below.
          const double layers = std::max(1.0, gathers.chunk_layers[vs]), per = took / layers, sh = gathers.share;
          took += layers * std::min(sh * gathers.reduce, per * sh / (1 - sh));
        }
        r.finish[s] = start + took;
        if (gathering) first_forward_end[s][t.chunk] = r.finish[s];
        r.busy[s] += took;
        if (!t.weight) (t.forward ? forward_done : backward_done)[at(vs, t.micro_batch)] = r.finish[s];
        progress = true;
      }
    }
  }
  if (!gathers.chunk_layers.empty()) {
    for (int s = 0; s < pp; ++s) {
      std::vector<std::pair<double, int>> done;  // each chunk's last backward on this stage
      for (int c = 0; c < v; ++c) done.emplace_back(backward_done[at(c * pp + s, micro_batches - 1)], c);
      std::sort(done.begin(), done.end());
      double queue = 0;
      for (const auto& [end, c] : done) {
        const double layers = std::max(1.0, gathers.chunk_layers[c * pp + s]);
        // The first layer's bucket leaves when its backward is done; the last one's after the end.
        queue = std::max(queue, end - backward[s][c] + backward[s][c] / layers) + layers * gathers.reduce;
        queue = std::max(queue, end + gathers.reduce);
      }
      r.finish[s] = std::max(r.finish[s], queue);
    }
  }
  return r;
}

// A long replay from three shorter ones: with fixed task times a 1F1B or interleaved schedule is
// periodic past its warm-up (a period of pp micro-batches interleaved, one otherwise) and GPipe's
// finish is affine in its micro-batches (docs/speed.md, session 22), so each stage's finish and
// busy time grow by the same amount per period. Replayed at `base`, base + period and base + 2
// periods; when the two steps agree the rest is extended by them, else (not yet periodic) the
// whole schedule is replayed. Tokens given as sequences make millions of micro-batches, which
// replayed one by one took seconds a plan.
constexpr int kReplayedMicroBatches = 256;
Replay replay_extended(const PlanSpec& p, int micro_batches, const ChunkTimes& times, double hop,
                       const KeptStageGathers& gathers) {
  const int period = p.schedule == Schedule::interleaved ? p.pp : 1;
  const int base = (std::max(kReplayedMicroBatches, 4 * p.pp * p.virtual_stages) + period - 1) / period * period;
  if (micro_batches <= base + 3 * period) return replay_pipeline(p, micro_batches, times, hop, gathers);
  const Replay a = replay_pipeline(p, base, times, hop, gathers);
  const Replay b = replay_pipeline(p, base + period, times, hop, gathers);
  const Replay c = replay_pipeline(p, base + 2 * period, times, hop, gathers);
  const double periods = double(micro_batches - base - 2 * period) / period;
  Replay r = c;
  for (std::size_t s = 0; s < r.finish.size(); ++s) {
    const double step = c.finish[s] - b.finish[s], busy = c.busy[s] - b.busy[s];
    if (std::abs(step - (b.finish[s] - a.finish[s])) > 1e-9 * c.finish[s] ||
        std::abs(busy - (b.busy[s] - a.busy[s])) > 1e-9 * c.busy[s]) {
      return replay_pipeline(p, micro_batches, times, hop, gathers);
    }
    r.finish[s] += periods * step;
    r.busy[s] += periods * busy;
  }
  return r;
}

}  // namespace

Estimate estimate_step(const Scenario& sc, bool data_parallel) {
  const PlanSpec& p = sc.plan;
  // On a cluster that mixes GPU kinds each stage is priced on its own (slowest) GPU and the layers
  // follow the split the simulator uses; the slowest stage's work stands for the rest.
  const bool mixed = sc.cluster.topology.mixed(sc.cluster.gpus);
  const StageSetup setup = mixed ? setup_stages(sc) : StageSetup{};
  const double offloaded = offloaded_share(sc);
  const auto slowest = mixed ? std::max_element(setup.work.begin(), setup.work.end(),
                                                [&](const Workload& a, const Workload& b) {
                                                  return layer_time(a, p, offloaded) < layer_time(b, p, offloaded);
                                                })
                             : setup.work.end();
  const CostModel cost(as_run_by_job(sc, sc.cluster.topology.gpu), p.precision, {}, p.fp8_recipe);
  const Workload w = mixed ? *slowest : build_workload(sc.model, p, cost, sc.data);
  Estimate e;
  if (mixed && setup.balanced) {
    // Memory on the split the stages run (as `predict` sizes it), not the plan's even one.
    Scenario split = sc;
    split.plan.layers_per_stage = setup.layers;
    e.memory = peak_memory(split, w);
  } else {
    e.memory = peak_memory(sc, w);
  }
  e.host_bound_share = host_bound_share(w.layer, cost.kernel_overhead());
  const auto layers = mixed ? setup.layers : layers_per_stage(sc.model, p);
  const auto per_chunk = mixed ? setup.chunk_layers : chunk_layers(sc.model.layers, p);
  const int stage_layers = *std::max_element(layers.begin(), layers.end());
  const int micro_batches = static_cast<int>(p.micro_batches());
  const double m = micro_batches;
  // A MoE model's layers without experts (ModelSpec::moe_layer: DeepSeek-V3's first three, every
  // other layer of Llama 4 Maverick) run the dense MLP and no all-to-alls: the per-layer figures
  // below are the means over the model's layers.
  const double moe_share = sc.model.moe() ? double(sc.model.moe_layers()) / sc.model.layers : 1.0;
  LayerWork L = w.layer;
  if (moe_share < 1.0) {
    const LayerWork& d = w.dense_layer;
    // Both blocks' kernels, each weighted by its layers' share.
    const auto blend = [&](Block& b, const Block& dense) {
      for (auto& k : b.kernels) k.flops *= moe_share, k.bytes *= moe_share, k.time *= moe_share;
      for (Kernel k : dense.kernels) {
        k.flops *= 1.0 - moe_share, k.bytes *= 1.0 - moe_share, k.time *= 1.0 - moe_share;
        b.kernels.push_back(k);
      }
    };
    blend(L.mlp_forward, d.mlp_forward);
    blend(L.mlp_backward, d.mlp_backward);
    blend(L.recompute, d.recompute);
    L.parameters = moe_share * L.parameters + (1.0 - moe_share) * d.parameters;
  }
  // The share of layers that rerun their forward (under full recomputation, the layers
  // recompute_fraction picks): the per-layer figures below are averages over the model's layers;
  // a pipeline chunk's own count corrects its backward below.
  const double rerun = p.recompute == Recompute::full
                           ? double(p.recomputed_layers(0, sc.model.layers)) / sc.model.layers
                       : p.recompute == Recompute::qkv ? 1
                                                       : 0;
  const double recompute_time = p.recompute == Recompute::full ? rerun * L.recompute.time() : L.recompute.time();
  const double recompute_flops = p.recompute == Recompute::full ? rerun * L.recompute.flops() : L.recompute.flops();
  const double layer_flops = L.attention_forward.flops() + L.mlp_forward.flops() + L.attention_backward.flops() +
                             L.mlp_backward.flops() + recompute_flops;
  const double extras_flops = w.extras.embedding_forward.flops() + w.extras.embedding_backward.flops() +
                              w.extras.head_forward.flops() + w.extras.head_backward.flops();
  e.hardware_flops = m * (sc.model.layers * layer_flops + extras_flops) / p.pp;
  const double layer_compute = L.attention_forward.time() + L.mlp_forward.time() + L.attention_backward.time() +
                               L.mlp_backward.time() + recompute_time;
  // Tensor parallel: 4 all-reduce volumes per layer (6 with full recomputation; 3 and 4 with parallel blocks).
  double layer_comm = 0;
  double rerun_comm = 0;     // a recomputed layer's forward collectives, once more
  double regather_comm = 0;  // per-op recomputation's all-gathers, in backward
  if (p.tp > 1) {
    const double one = p.sequence_parallel
                           ? all_reduce(w.comm.tp_bytes, p.tp, link_for(sc, stride_of(p, Axis::tp), p.tp))
                           : group_all_reduce(sc, w.comm.tp_bytes, p.tp, stride_of(p, Axis::tp));
    // A forward's reduce-scatter and all-gather, half an all-reduce each; the all-gather of
    // quantized values (Communication::tp_gather_bytes) where the recipe gathers them.
    const double gather = p.sequence_parallel
                              ? all_reduce(w.comm.tp_gather_bytes, p.tp, link_for(sc, stride_of(p, Axis::tp), p.tp)) / 2
                              : one / 2;
    const double one_forward = one / 2 + gather;
    const auto exposed = [&](const Block& b, double t, bool forward) {
      return p.tp_overlap_exposed(t, b.linear_gemm_time(), forward, one / 2 / std::max(1e-30, one_forward));
    };
    // Parallel blocks (ModelSpec::parallel_blocks) reduce the branches' sum once a forward: the
    // attention branch keeps only its input's all-gather (sequence parallelism) and, in the
    // backward, its input gradient's reduction (a reduce-scatter, or an all-reduce without).
    const bool parallel = sc.model.parallel_blocks;
    const double attention_forward = !parallel ? exposed(L.attention_forward, one_forward, true)
                                     : p.sequence_parallel
                                         ? p.tp_overlap_exposed(gather, L.attention_forward.linear_gemm_time(), true)
                                         : 0.0;
    const double attention_backward =
        exposed(L.attention_backward, parallel && p.sequence_parallel ? one / 2 : one, false);
    layer_comm += attention_backward + exposed(L.mlp_backward, one, false);
    rerun_comm = attention_forward + exposed(L.mlp_forward, one_forward, true);
    layer_comm += (1 + rerun) * rerun_comm;
    // Two all-gathers in backward (PlanSpec::recompute_regathers_inputs).
    if (p.recompute_regathers_inputs()) {
      regather_comm = 2 * p.tp_overlap_exposed(gather, L.recompute.linear_gemm_time(), false);
    }
  }
  double moe_exchange = 0;  // a MoE layer's four all-to-alls
  if (p.ep > 1 && sc.model.moe()) {
    // As the simulator runs an all-to-all (network/collectives.cpp): a rank's copies for its node
    // mates over NVLink, those for other nodes over its NIC, both at once. The group's GPUs are
    // the first group's, folded as the simulator folds them (Megatron-Core's expert ranks).
    const auto& t = sc.cluster.topology;
    const int n = p.ep;
    std::map<int, int> per_node;
    for (int k = 0; k < n; ++k) per_node[folded_gpu(p, 0, p.expert_tp() * k) / t.gpus_per_node]++;
    const int nodes = static_cast<int>(per_node.size());
    const int local = per_node.begin()->second;
    const double bytes = w.comm.ep_bytes;  // one rank's copies to the other n - 1
    double in_node = bytes * (local - 1) / (n - 1);
    double across = bytes * (n - local) / (n - 1);
    if (p.moe_dispatcher != MoeDispatcher::alltoall && nodes > 1 && sc.model.experts > sc.model.top_k) {
      // DeepEP and HybridEP send a token once to each other node any of its top_k experts is on;
      // the receiver forwards the node's other copies over NVLink (deduplicated_all_to_all).
      const auto& m = sc.model;
      const double once = bytes * n / ((n - 1) * double(m.top_k)) *
                          node_hit_probability(m.experts, m.top_k, double(m.experts) * local / n);
      across = (nodes - 1) * once;
      if (local > 1) in_node += (nodes - 1) * std::max(0.0, bytes * local / (n - 1) - once);
    }
    const double nvlink = nccl_nvlink_bandwidth(t.gpu.nvlink_bandwidth);
    // Each flow between nodes carries the same bytes: where the fabric binds, the slowest share
    // of its flows sets the time (a torus's or dragonfly's narrow links), else each NIC's count.
    // A rank's copies for one other node go as one flow: all the node's members' (NCCL's), or one
    // per token that node's experts need (DeepEP, HybridEP), as `across` counts them.
    const double per_flow = across / std::max(1, nodes - 1);
    const double across_time = nodes > 1 ? std::max(across / t.nic_bandwidth, per_flow / expert_exchange_share(sc)) : 0;
    const double exchange = nodes > 1 ? std::max(across_time, in_node / nvlink) + t.nic_latency + 3 * t.switch_latency
                                      : in_node / nvlink + t.intra_latency;
    moe_exchange = 4 * exchange;
  }
  if (p.cp > 1) {
    const auto link = link_for(sc, stride_of(p, Axis::cp), p.cp);
    const double ring = 3 * w.comm.cp_steps * (w.comm.cp_bytes_per_step / link.first + link.second);
    layer_comm += std::max(0.0, ring - (L.attention_forward.time() + L.attention_backward.time()));
  }
  // The blocking communication of a layer splits between its forward and backward as the
  // collectives do (a third in forward with full recomputation, else half); the expert
  // all-to-alls half and half (a recomputed forward reruns none, as the simulator's).
  const double forward_comm = layer_comm / (2.0 + rerun) + moe_share * moe_exchange / 2;
  const double backward_comm = layer_comm - layer_comm / (2.0 + rerun) + moe_share * moe_exchange / 2 + regather_comm;
  const double forward_compute = L.attention_forward.time() + L.mlp_forward.time();
  const double backward_compute = L.attention_backward.time() + L.mlp_backward.time() + recompute_time;
  // Zero bubble: the part of a layer's backward its deferred weight pass runs (the mean layer's).
  const double weight_compute =
      p.splits_backward() ? L.attention_backward.weight_gradients().time() + L.mlp_backward.weight_gradients().time()
                          : 0.0;
  // Offloaded layers' copies beyond the compute they hide under, each kind of layer's own (a dense
  // model's dense_layer is empty: no stall), spread over the model's layers.
  const double stall_forward =
      moe_share * offload_stall_forward(w.layer) + (1.0 - moe_share) * offload_stall_forward(w.dense_layer);
  const double stall_backward =
      moe_share * offload_stall_backward(w.layer) + (1.0 - moe_share) * offload_stall_backward(w.dense_layer);
  // What a MoE layer takes beyond a dense one (its experts and all-to-alls): a pipeline chunk
  // holds its own mix of the two, not the model's (DeepSeek-V3's first stage has its 3 dense layers).
  const double moe_extra_forward = moe_share < 1 ? w.layer.mlp_forward.time() - w.dense_layer.mlp_forward.time() : 0.0;
  const double moe_extra_recompute = moe_share < 1 ? w.layer.recompute.time() - w.dense_layer.recompute.time() : 0.0;
  const double moe_extra_backward = moe_share < 1
                                        ? w.layer.mlp_backward.time() - w.dense_layer.mlp_backward.time() +
                                              (p.recompute == Recompute::full ? rerun : 1.0) * moe_extra_recompute
                                        : 0.0;
  const double forward_layer = forward_compute + forward_comm + offloaded * stall_forward;
  const double backward_layer = backward_compute + backward_comm + offloaded * stall_backward;
  const double embedding_forward = w.extras.embedding_forward.time();
  const double embedding_backward = w.extras.embedding_backward.time();
  const double head_forward = w.extras.head_forward.time();
  const double head_backward = w.extras.head_backward.time();

  // Data parallel. ZeRO 0-2 reduce the gradients once, overlapped with the backward pass of the
  // last micro-batch; ZeRO-3 gathers every layer's weights and reduce-scatters its gradients
  // every micro-batch, which lengthens the layers it cannot hide behind.
  const int ranks = p.dp * p.cp;
  // ZeRO's collectives span a shard group (all ranks but with hybrid sharding, dp_shard).
  const int shard = p.zero >= 1 ? p.zero_shard() : ranks;
  // ZeRO-3: exposed per layer, and at the start of each forward and backward pass (its first
  // layer's gather, which nothing before prefetched).
  double forward_exposed = 0, backward_exposed = 0, forward_start = 0, backward_start = 0;
  double data_parallel_tail = 0;
  // A kept FSDP stage's gathers, exposed in each chunk's first forward; they hold back every
  // stage behind, so the replay carries them.
  KeptStageGathers kept;
  // Routed experts' weights and gradients go over the expert-data-parallel ranks (a stage's ranks
  // regrouped etp x ep x edp, innermost first), the rest over the data-parallel ones; the
  // simulator runs the two one after the other.
  const int edp = sc.model.moe() ? p.expert_dp() : 1;
  const double layer_experts = sc.model.moe() ? moe_share * w.layer.expert_parameters : 0.0;
  const double layer_dense = L.parameters - layer_experts;
  const int edp_stride =
      edp > 1 ? std::max(1, std::abs(folded_gpu(p, 0, p.expert_tp() * p.ep) - folded_gpu(p, 0, 0))) : 1;
  const auto expert_gather = [&](double bytes) { return edp > 1 ? group_gather(sc, bytes, edp, edp_stride) : 0.0; };
  // (No data-parallel collective at all without data or context parallelism, as in the
  // simulator, though Megatron-Core would still reduce the experts' gradients over edp ranks.)
  if (ranks > 1 && data_parallel) {
    const double experts = stage_layers * layer_experts;
    const double params =
        stage_layers * layer_dense + std::max(w.extras.embedding_parameters, w.extras.head_parameters);
    const double grad_element = p.gradient_reduce_bytes > 0 ? p.gradient_reduce_bytes : 2;
    const double grad_bytes = params * grad_element / p.gradient_compression;
    const double expert_grad_bytes = experts * grad_element / p.gradient_compression;
    // The group spans dp x cp ranks; an axis of size 1 does not spread it.
    const int stride = p.cp > 1 ? std::min(stride_of(p, Axis::dp), stride_of(p, Axis::cp)) : stride_of(p, Axis::dp);
    const auto dp_all_reduce = [&](double bytes) { return group_all_reduce(sc, bytes, shard, stride); };
    const auto dp_gather = [&](double bytes) { return group_gather(sc, bytes, shard, stride); };
    // Hybrid sharding then all-reduces each rank's reduced shard with its replicas'.
    const auto across_replicas = [&](double bytes) {
      return p.zero >= 1 && p.shard_replicas() > 1
                 ? group_all_reduce(sc, bytes / shard, p.shard_replicas(), stride_of(p, Axis::dp) * p.shard_dp())
                 : 0.0;
    };
    const double reduce = (p.zero >= 1 ? dp_gather(grad_bytes) : dp_all_reduce(grad_bytes)) +
                          across_replicas(grad_bytes) +
                          (p.zero >= 1 ? expert_gather(expert_grad_bytes)
                                       : (edp > 1 ? group_all_reduce(sc, expert_grad_bytes, edp, edp_stride) : 0.0));
    const double share = sc.cluster.topology.gpu.sm_share(p.collective_sms);  // NCCL's SMs
    if (p.zero >= 3) {
      // Per layer: the next layer's gather hides behind this layer's forward; in backward a
      // gather and the gradient reduce-scatter share the links. The first layer of each pass is
      // not prefetched. (A looser bound, all DP traffic of a micro-batch against all its
      // compute, ranked the GPT-3 175B space worse: Spearman 0.877 against 0.895.)
      // One collective per parameter tensor in turn (zero3_unit: parameter), each with a copy
      // launch per rank through the list API (zero3_list_collectives).
      const int tensors = zero3_collectives(sc.model, p, L);
      const double copies =
          p.zero3_list_collectives ? tensors * shard * sc.cluster.topology.gpu.queued_kernel_interval() : 0;
      const auto zero3 = [&](double bytes) { return tensors * dp_gather(bytes / tensors) + copies; };
      // The simulator gathers a MoE layer's weights for every layer, over the data-parallel ranks,
      // experts included (engine/simulation.cpp zero3_gather), and reduces the experts' gradients
      // over theirs.
      const double layer_gather = zero3(w.layer.parameters * 2);
      const double layer_reduce = zero3(layer_dense * grad_element) + across_replicas(layer_dense * grad_element) +
                                  expert_gather(layer_experts * grad_element);
      if (p.fsdp_keeps_stage()) {
        // Gathered once a step (each chunk's first forward, layer by layer) and reduced once per
        // chunk after its last backward: both replayed with the pipeline below.
        kept.gather = layer_gather;
        kept.layer = forward_layer;
        kept.share = share;
        // Per layer, as the simulator reduces a kept stage (split per tensor where the plan says).
        kept.reduce = std::max(reduce / std::max(1, stage_layers), layer_reduce);
      } else {
        // A recomputed forward under per-module hooks gathers once more; without prefetch
        // (overlap_param_gather: false) every gather waits in full.
        const double backward_gathers = p.fsdp_keeps_for_backward()         ? 0
                                        : p.zero3_refetches_for_recompute() ? 1 + rerun
                                                                            : 1;
        if (p.overlap_param_gather) {
          forward_exposed = time_beside(forward_layer, layer_gather, share) - forward_layer;
          backward_exposed =
              time_beside(backward_layer, backward_gathers * layer_gather + layer_reduce, share) - backward_layer;
        } else {
          forward_exposed = layer_gather;
          backward_exposed =
              backward_gathers * layer_gather + time_beside(backward_layer, layer_reduce, share) - backward_layer;
        }
        // Without prefetch every gather is already counted in full per layer.
        forward_start = p.overlap_param_gather ? layer_gather : 0;
        backward_start = p.overlap_param_gather && backward_gathers > 0 ? layer_gather : 0;
        data_parallel_tail = layer_reduce;  // the last layer's reduce drains after backward
      }
    } else {
      const double backward = stage_layers * (L.attention_backward.time() + L.mlp_backward.time());
      // The distributed optimizer's gather of the updated weights: whole after the optimizer
      // step, or with overlap_param_gather beside each chunk's first forward (the simulator's
      // gathers_in_first_forward): aligned (interleaved) from the step's start, so only the first
      // layer's waits; otherwise a layer ahead of the stage's first forward, whose excess over
      // that forward delays every later stage's too.
      double gather = 0;
      if (p.zero >= 1 && !p.overlap_param_gather) {
        gather = dp_gather(params * 2) + expert_gather(experts * 2);
      } else if (p.zero >= 1) {
        const double layer_gather = dp_gather(layer_dense * 2) + expert_gather(layer_experts * 2);
        const double first =
            dp_gather((layer_dense + w.extras.embedding_parameters) * 2) + expert_gather(layer_experts * 2);
        gather = p.schedule == Schedule::interleaved
                     ? first
                     : first + p.pp * stage_layers * std::max(0.0, layer_gather - forward_layer);
      }
      // Without overlap_grad_reduce it all waits for the backward to end (Megatron-LM's local DDP).
      const double exposed_reduce = p.overlap_grad_reduce ? time_beside(backward, reduce, share) - backward : reduce;
      data_parallel_tail = exposed_reduce + gather;
    }
  }

  // A stage with a rank on a slow node computes slower (cluster.slow_nodes); its communication
  // does not.
  const std::vector<double> slowdown = stage_slowdowns(sc);
  const double slowest_node = *std::max_element(slowdown.begin(), slowdown.end());
  double pipeline = 0;
  if (p.pp == 1) {
    const double slower = slowdown.front() - 1;
    pipeline = m * (stage_layers * (forward_layer + backward_layer + forward_exposed + backward_exposed +
                                    slower * (forward_compute + backward_compute)) +
                    forward_start + backward_start +
                    (1 + slower) * (embedding_forward + embedding_backward + head_forward + head_backward));
    e.bubble = 0;
  } else {
    // Each chunk's forward and backward on each stage; the embedding rides on the first virtual
    // stage, the head on the last.
    const int v = p.virtual_stages, chunks = p.pp * v;
    ChunkTimes times{std::vector<std::vector<double>>(p.pp, std::vector<double>(v)), {}, {}};
    times.backward = times.weight = times.forward;
    auto& forward = times.forward;
    auto& backward = times.backward;
    std::vector<double> computing(p.pp, 0.0);                      // of a micro-batch's tasks: the kernels' part
    const std::vector<int> first_layer = first_layers(per_chunk);  // for the layers each recomputes
    for (int s = 0; s < p.pp; ++s) {
      // A stage on a faster GPU computes faster, one on a slow node slower; its communication is
      // the same.
      const double speed = (mixed ? layer_time(setup.work[s], p) / layer_time(w, p) : 1.0) * slowdown[s];
      for (int c = 0; c < v; ++c) {
        const int vs = c * p.pp + s;
        const double chunk_size = per_chunk[vs];
        forward[s][c] = chunk_size * (speed * forward_compute + forward_comm + forward_exposed) +
                        (c == 0 ? forward_start : 0) +
                        speed * ((vs == 0 ? embedding_forward : 0) + (vs == chunks - 1 ? head_forward : 0));
        backward[s][c] = chunk_size * (speed * backward_compute + backward_comm + backward_exposed) +
                         (c == v - 1 ? backward_start : 0) +
                         speed * ((vs == 0 ? embedding_backward : 0) + (vs == chunks - 1 ? head_backward : 0));
        computing[s] += speed * (chunk_size * (forward_compute + backward_compute) +
                                 (vs == 0 ? embedding_forward + embedding_backward : 0) +
                                 (vs == chunks - 1 ? head_forward + head_backward : 0));
        if (moe_share < 1) {
          int moe_layers = 0;
          for (int i = first_layer[vs]; i < first_layer[vs] + per_chunk[vs]; ++i) moe_layers += sc.model.moe_layer(i);
          const double extra = moe_layers - moe_share * chunk_size;
          // (Half of a MoE layer's all-to-alls in its forward, half in its backward.)
          forward[s][c] += extra * (speed * moe_extra_forward + moe_exchange / 2);
          backward[s][c] += extra * (speed * moe_extra_backward + moe_exchange / 2);
          computing[s] += extra * speed * (moe_extra_forward + moe_extra_backward);
        }
        // A share of the layers recomputed: this chunk's own count, not the model's average.
        if (p.recompute == Recompute::full) {
          const double own = p.recomputed_layers(first_layer[vs], per_chunk[vs]) - rerun * chunk_size;
          backward[s][c] += own * (speed * L.recompute.time() + rerun_comm);
          computing[s] += own * speed * L.recompute.time();
        }
        times.weight[s][c] = chunk_size * speed * weight_compute;
        backward[s][c] -= times.weight[s][c];
      }
    }
    const auto link = link_for(sc, stride_of(p, Axis::pp), 2);
    if (kept.gather > 0) kept.chunk_layers.assign(per_chunk.begin(), per_chunk.end());
    const Replay r = replay_extended(p, micro_batches, times, w.comm.pp_bytes / link.first + link.second, kept);
    const auto last = std::max_element(r.finish.begin(), r.finish.end());
    pipeline = *last;
    const auto critical = static_cast<std::size_t>(last - r.finish.begin());
    e.bubble = pipeline - r.busy[critical];
    e.critical_stage = static_cast<int>(critical);
    // The stage that finishes last: its own chunks' kernels (its mix of MoE and dense layers, its
    // recomputed layers, the embedding or head it holds), on its own GPU and node, so that with
    // its bubble and communication it adds up to the pipeline's time.
    e.compute = std::min(m * computing[critical], r.busy[critical]);
  }
  if (p.pp == 1)
    e.compute = m * slowest_node *
                (stage_layers * layer_compute + embedding_forward + embedding_backward + head_forward + head_backward);
  e.communication = std::max(0.0, pipeline - e.bubble - e.compute) + data_parallel_tail;
  e.data_parallel = data_parallel_tail;
  const double dense_params = stage_layers * layer_dense + w.extras.embedding_parameters;
  const double expert_params = stage_layers * layer_experts;
  e.optimizer =
      optimizer_time(w, p, p.zero >= 1 ? dense_params / shard + expert_params / edp : dense_params + expert_params);
  e.step_time = pipeline + data_parallel_tail + e.optimizer;
  if (e.communication > e.compute)
    e.bound_by = "communication";
  else if (e.bubble > e.compute)
    e.bound_by = "pipeline bubble";
  return e;
}

}  // namespace trainsim
