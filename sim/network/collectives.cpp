#include "network/collectives.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace sg4 = simgrid::s4u;

namespace trainsim {

const char* collective_name(CollectiveKind k) {
  switch (k) {
    case CollectiveKind::all_reduce:
      return "all-reduce";
    case CollectiveKind::all_gather:
      return "all-gather";
    case CollectiveKind::reduce_scatter:
      return "reduce-scatter";
    case CollectiveKind::all_to_all:
      return "all-to-all";
  }
  return "?";
}

double ring_all_reduce_estimate(double bytes, int n, double bandwidth, double latency) {
  if (n <= 1) return 0;
  return 2.0 * (n - 1) / n * bytes / bandwidth + 2.0 * (n - 1) * latency;
}

double nvls_all_reduce_time(double transfer) { return std::min(29e-6 + transfer / 0.625, 80e-6 + transfer); }

namespace {

struct Flow {
  int from, to;
  double bytes;
};

// SimGrid 3.32 keeps every host-to-host comm (Comm::sendto_async) in one engine-wide list and
// scans it whenever one completes: n concurrent flows cost n^2/2 steps. Past actor_flow_threshold,
// flows run as mailbox comms between one short-lived actor per sending GPU and one per receiving
// GPU, whose lists hold only their own flows. The comms start at the same date on the same routes
// with the same sizes, so the simulated times are the same (test
// Collectives.LargeFlowSetsRunByActorsTakeTheSameTime).
// Making an actor costs tens of microseconds, so smaller sets stay host-to-host.
std::size_t actor_flow_threshold = 4096;

void run_direct(const Platform& platform, const std::vector<Flow>& flows) {
  std::vector<sg4::CommPtr> comms;
  comms.reserve(flows.size());
  for (const Flow& f : flows) {
    comms.push_back(sg4::Comm::sendto_async(platform.gpu(f.from), platform.gpu(f.to),
                                            static_cast<std::uint64_t>(std::ceil(f.bytes))));
  }
  for (auto& comm : comms) comm->wait();
}

// These actors only post and wait on comms: a small stack (SimGrid's default is 8 MiB, whose
// mapping and unmapping dominated).
constexpr unsigned kFlowActorStack = 64 * 1024;

void run_by_actors(const Platform& platform, const std::vector<Flow>& flows) {
  std::map<int, int> received_by;  // flows arriving, by receiving GPU
  std::map<int, sg4::Mailbox*> inbox;
  std::map<int, std::vector<std::pair<int, std::uint64_t>>> sends;
  for (const Flow& f : flows) {
    sends[f.from].emplace_back(f.to, static_cast<std::uint64_t>(std::ceil(f.bytes)));
    if (received_by[f.to]++ == 0) inbox[f.to] = platform.borrow_mailbox();
  }
  std::vector<sg4::ActorPtr> actors;
  for (const auto& [gpu, count] : received_by) {
    actors.push_back(sg4::Actor::init("flows-in", platform.gpu(gpu))
                         ->set_stacksize(kFlowActorStack)
                         ->start([box = inbox[gpu], count = count] {
                           std::vector<void*> payloads(count);
                           std::vector<sg4::CommPtr> comms;
                           for (auto& payload : payloads) comms.push_back(box->get_async(&payload));
                           for (auto& comm : comms) comm->wait();
                         }));
  }
  for (const auto& [gpu, list] : sends) {
    std::vector<std::pair<sg4::Mailbox*, std::uint64_t>> to;
    for (const auto& [dst, bytes] : list) to.emplace_back(inbox[dst], bytes);
    actors.push_back(
        sg4::Actor::init("flows-out", platform.gpu(gpu))->set_stacksize(kFlowActorStack)->start([to = std::move(to)] {
          static int payload = 0;  // SimGrid refuses a null payload; nothing reads it
          std::vector<sg4::CommPtr> comms;
          for (const auto& [box, bytes] : to) comms.push_back(box->put_async(&payload, bytes));
          for (auto& comm : comms) comm->wait();
        }));
  }
  for (const auto& actor : actors) actor->join();
  for (const auto& [gpu, box] : inbox) platform.return_mailbox(box);
}

// Starts every flow at once, waits for all; returns the largest route latency among them. The
// `mirrors` unsimulated copies of each flow add their links' dynamic energy.
double run_flows(const Platform& platform, const std::vector<Flow>& flows, int mirrors = 0) {
  std::vector<Flow> started;
  started.reserve(flows.size());
  double worst_latency = 0;
  std::map<std::pair<int, int>, double> latency_cache;
  for (const Flow& f : flows) {
    if (f.from == f.to || f.bytes <= 0) continue;
    started.push_back(f);
    const auto key = std::make_pair(f.from, f.to);
    auto it = latency_cache.find(key);
    if (it == latency_cache.end()) it = latency_cache.emplace(key, platform.latency(f.from, f.to)).first;
    worst_latency = std::max(worst_latency, it->second);
    if (mirrors > 0) platform.add_mirrored_flow(f.from, f.to, mirrors * std::ceil(f.bytes));
  }
  if (started.size() > actor_flow_threshold) {
    run_by_actors(platform, started);
  } else {
    run_direct(platform, started);
  }
  return worst_latency;
}

// Per-edge volume factor and number of latency-bound steps of each ring collective.
std::pair<double, int> ring_shape(CollectiveKind kind, int n) {
  switch (kind) {
    case CollectiveKind::all_reduce:
      return {2.0 * (n - 1) / n, 2 * (n - 1)};
    case CollectiveKind::all_gather:
    case CollectiveKind::reduce_scatter:
      return {double(n - 1) / n, n - 1};
    case CollectiveKind::all_to_all:
      return {0, 0};
  }
  return {0, 0};
}

// A ring collective's time as NCCL's own cost model prices it (src/graph/tuning.cc, NCCL 2.x):
// for each protocol a base latency, a latency per ring step (per hop type), and the bytes at the
// fraction of the wire that carries data, NCCL running the cheapest protocol. LL moves 8-byte
// lines of 4 data bytes and 4 flag bytes (half the wire), LL128 128-byte lines of 120 data bytes,
// Simple whole buffers after a flag wait (the highest per-step latency). Latencies in us:
// base Ring LL 3.6, LL128 3.6, Simple 8.4; per step NVLink LL 0.4, LL128 2.5, Simple 5.7,
// network LL 0.9, LL128 2.5, Simple 6.6. A step never takes less than its route's latency.
double nccl_ring_time(int steps, double route_latency, double transfer, bool crosses_nodes) {
  struct Protocol {
    double base_us, nvlink_step_us, net_step_us, wire_fraction;
  };
  static constexpr Protocol kProtocols[] = {{3.6, 0.4, 0.9, 0.5}, {3.6, 2.5, 2.5, 120.0 / 128.0}, {8.4, 5.7, 6.6, 1.0}};
  double best = 1e300;
  for (const Protocol& p : kProtocols) {
    const double step = std::max(route_latency, 1e-6 * (crosses_nodes ? p.net_step_us : p.nvlink_step_us));
    best = std::min(best, 1e-6 * p.base_us + std::max(steps, 1) * step + transfer / p.wire_fraction);
  }
  return std::max(best, transfer + route_latency);
}

// A group's GPUs by the node that holds them, each node's in group order.
std::map<int, std::vector<int>> members_by_node(const std::vector<int>& g, int gpus_per_node) {
  std::map<int, std::vector<int>> by_node;
  for (const int gpu : g) by_node[gpu / gpus_per_node].push_back(gpu);
  return by_node;
}

// The member of a node that rank i of a group sends its merged flow to: spread by i so that each
// member receives about as many, never the sender itself.
int receiver_for(const std::vector<int>& members, int i, int sender) {
  int to = members[std::size_t(i) % members.size()];
  if (to == sender) to = members[(std::size_t(i) + 1) % members.size()];
  return to;
}

// A group with several ranks in each of several nodes is run, as NCCL does, as `local` rings
// (channels), each leaving every node through a different GPU and so a different NIC, each
// carrying 1/local of the bytes. Otherwise: one ring in the group's order.
std::vector<std::vector<int>> ring_channels(const std::vector<int>& g, int gpus_per_node) {
  const auto by_node = members_by_node(g, gpus_per_node);
  std::size_t local = by_node.begin()->second.size();
  for (const auto& [node, members] : by_node) local = std::min(local, members.size());
  if (by_node.size() < 2 || local < 2) return {g};
  std::vector<std::vector<int>> channels;
  for (std::size_t c = 0; c < local; ++c) {
    std::vector<int> order;
    for (const auto& [node, members] : by_node) {
      for (std::size_t k = 0; k < members.size(); ++k) order.push_back(members[(k + c + 1) % members.size()]);
    }
    channels.push_back(order);
  }
  return channels;
}

// The members of a ring in its first `max_nodes` nodes.
std::vector<int> representative_segment(const std::vector<int>& g, int gpus_per_node, int max_nodes) {
  std::vector<int> nodes, kept;
  for (const int gpu : g) {
    const int node = gpu / gpus_per_node;
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) {
      if (int(nodes.size()) == max_nodes) continue;
      nodes.push_back(node);
    }
    kept.push_back(gpu);
  }
  return kept;
}

void ring(const Platform& platform, CollectiveKind kind, double bytes, const std::vector<std::vector<int>>& groups,
          int gpus_per_node, int mirrors) {
  std::vector<Flow> flows;
  int steps = 0;
  for (const auto& whole : groups) {
    const int n = static_cast<int>(whole.size());
    if (n < 2) continue;
    const auto [factor, group_steps] = ring_shape(kind, n);
    steps = std::max(steps, group_steps);
    const std::vector<int> g =
        representative_segment(whole, gpus_per_node, simulated_ring_nodes(platform.nodes_alike()));
    const int members = static_cast<int>(g.size());
    // Every channel but one passes each node-internal hop (a GPU to the next of its node): those
    // run as one flow with their bytes, as a single-node ring's hops do. Concurrent collectives
    // on a GPU's NVLink port then share it one flow each, whatever their channel counts.
    const auto channels = ring_channels(g, gpus_per_node);
    std::map<std::pair<int, int>, std::size_t> hop_flow;
    for (const auto& order : channels) {
      for (int i = 0; i < members; ++i) {
        const Flow hop{order[i], order[(i + 1) % members], factor * bytes / channels.size()};
        const auto [it, added] = hop_flow.try_emplace({hop.from, hop.to}, flows.size());
        if (added) {
          flows.push_back(hop);
        } else {
          flows[it->second].bytes += hop.bytes;
        }
      }
    }
  }
  const double start = sg4::Engine::get_clock();
  const double latency = run_flows(platform, flows, mirrors);
  const double transfer = std::max(0.0, sg4::Engine::get_clock() - start - latency);
  bool crosses_nodes = false;
  for (const auto& g : groups) {
    for (const int gpu : g) crosses_nodes = crosses_nodes || gpu / gpus_per_node != g.front() / gpus_per_node;
  }
  // The flows paid one route latency and the bandwidth; NCCL's ring pays per step and per protocol.
  sg4::this_actor::sleep_for(nccl_ring_time(steps, latency, transfer, crosses_nodes) - (transfer + latency));
}

void tree(const Platform& platform, double bytes, const std::vector<std::vector<int>>& groups, int mirrors) {
  // Two binary trees over the ranks (the second mirrored), each carrying half the data.
  std::vector<Flow> flows;
  int depth = 0;
  for (const auto& g : groups) {
    const int n = static_cast<int>(g.size());
    if (n < 2) continue;
    depth = std::max(depth, static_cast<int>(std::ceil(std::log2(n))));
    for (int mirror = 0; mirror < 2; ++mirror) {
      auto rank = [&](int i) { return mirror ? g[n - 1 - i] : g[i]; };
      for (int child = 1; child < n; ++child) {
        const int parent = (child - 1) / 2;
        flows.push_back({rank(child), rank(parent), bytes / 2});  // reduce, up
        flows.push_back({rank(parent), rank(child), bytes / 2});  // broadcast, down
      }
    }
  }
  const double latency = run_flows(platform, flows, mirrors);
  if (depth > 0) sg4::this_actor::sleep_for((2 * depth - 1) * latency);
}

bool power_of_two(std::size_t n) { return n > 0 && (n & (n - 1)) == 0; }

void halving_doubling(const Platform& platform, double bytes, const std::vector<std::vector<int>>& groups,
                      int mirrors) {
  const std::size_t n = groups.front().size();
  const int rounds = static_cast<int>(std::log2(double(n)));
  // Reduce-scatter by recursive halving, then all-gather by recursive doubling.
  for (int phase = 0; phase < 2; ++phase) {
    for (int r = 0; r < rounds; ++r) {
      const int step = phase == 0 ? r : rounds - 1 - r;
      const std::size_t distance = std::size_t(1) << step;
      const double chunk = bytes / double(std::size_t(1) << (phase == 0 ? r + 1 : rounds - r));
      std::vector<Flow> flows;
      for (const auto& g : groups) {
        for (std::size_t i = 0; i < g.size(); ++i) flows.push_back({g[i], g[i ^ distance], chunk});
      }
      run_flows(platform, flows, mirrors);
    }
  }
}

// Every rank sends bytes/(n-1) to each other rank. Its messages to one node are merged into one
// flow, to a member of that node chosen by the sender's index so that each member receives about
// as many: a GPU's NIC (or NVLink port) carries the same bytes either way, and an expert-parallel
// group of 32 over 4 nodes is 128 flows instead of 992 (tens of thousands of all-to-alls per step
// were more than SimGrid's sharing solver could finish in minutes).
void all_to_all(const Platform& platform, double bytes, const std::vector<std::vector<int>>& groups, int gpus_per_node,
                int mirrors) {
  std::vector<Flow> flows;
  for (const auto& g : groups) {
    const int n = static_cast<int>(g.size());
    const auto by_node = members_by_node(g, gpus_per_node);
    for (int i = 0; i < n; ++i) {
      for (const auto& [node, members] : by_node) {
        const bool own = node == g[i] / gpus_per_node;
        const int receivers = static_cast<int>(members.size()) - (own ? 1 : 0);
        if (receivers <= 0) continue;
        flows.push_back({g[i], receiver_for(members, i, g[i]), bytes / (n - 1) * receivers});
      }
    }
  }
  run_flows(platform, flows, mirrors);
}

// A dispatcher that sends each token once to each node holding any of its experts and forwards it
// over NVLink inside (DeepEP's internode kernels, Megatron-Core's HybridEP). Across nodes a rank
// sends its tokens times the chance a node is hit, not top_k copies spread over the ranks; the
// receiving GPU forwards the other copies to its node mates. Its own node's copies go direct.
void deduplicated_all_to_all(const Platform& platform, double bytes, const std::vector<std::vector<int>>& groups,
                             int gpus_per_node, int top_k, int experts, int mirrors) {
  std::vector<Flow> flows;
  for (const auto& g : groups) {
    const int n = static_cast<int>(g.size());
    // `bytes` is what one rank sends with one copy per expert: tokens x top_k x (n-1)/n copies.
    const double one_copy = bytes * n / ((n - 1) * double(top_k));
    const auto by_node = members_by_node(g, gpus_per_node);
    for (int i = 0; i < n; ++i) {
      for (const auto& [node, members] : by_node) {
        const int m = static_cast<int>(members.size());
        const double copies = bytes / (n - 1) * m;  // one per expert on that node
        if (node == g[i] / gpus_per_node) {
          if (m > 1) flows.push_back({g[i], receiver_for(members, i, g[i]), bytes / (n - 1) * (m - 1)});
          continue;
        }
        const int to = members[std::size_t(i) % members.size()];
        const double once = one_copy * node_hit_probability(experts, top_k, double(experts) * m / n);
        flows.push_back({g[i], to, once});
        if (m > 1 && copies > once)
          flows.push_back({to, members[(std::size_t(i) + 1) % members.size()], copies - once});
      }
    }
  }
  run_flows(platform, flows, mirrors);
}

// An all-reduce the switches reduce (SHARP): every member sends its buffer once into the switch
// tree and receives the result once; run as a ring whose edges carry the buffer once (so each
// NIC sends and receives S, not the ring's 2(n-1)/n S), with two steps of latency, up and down.
void in_network(const Platform& platform, double bytes, const std::vector<std::vector<int>>& groups, int mirrors) {
  std::vector<Flow> flows;
  for (const auto& g : groups) {
    const int n = static_cast<int>(g.size());
    for (int i = 0; n > 1 && i < n; ++i) flows.push_back({g[i], g[(i + 1) % n], bytes});
  }
  const double start = sg4::Engine::get_clock();
  const double latency = run_flows(platform, flows, mirrors);
  const double transfer = std::max(0.0, sg4::Engine::get_clock() - start - latency);
  sg4::this_actor::sleep_for(nccl_ring_time(2, latency, transfer, true) - (transfer + latency));
}

void hierarchical(const Platform& platform, double bytes, const std::vector<std::vector<int>>& groups,
                  int gpus_per_node, int mirrors, bool reduce_in_network = false) {
  // Split each group by node: local rings inside nodes, then rings of same-local-rank GPUs.
  std::vector<std::vector<int>> local, across;
  for (const auto& g : groups) {
    const auto by_node = members_by_node(g, gpus_per_node);
    std::size_t width = by_node.begin()->second.size();
    for (const auto& [node, members] : by_node) {
      local.push_back(members);
      width = std::min(width, members.size());
    }
    for (std::size_t k = 0; k < width; ++k) {
      std::vector<int> ring_k;
      for (const auto& [node, members] : by_node) ring_k.push_back(members[k]);
      across.push_back(ring_k);
    }
  }
  const double shard = bytes / double(local.front().size());
  if (local.front().size() > 1) ring(platform, CollectiveKind::reduce_scatter, bytes, local, gpus_per_node, mirrors);
  if (reduce_in_network)
    in_network(platform, shard, across, mirrors);
  else
    ring(platform, CollectiveKind::all_reduce, shard, across, gpus_per_node, mirrors);
  if (local.front().size() > 1) ring(platform, CollectiveKind::all_gather, bytes, local, gpus_per_node, mirrors);
}

// NVLink SHARP all-reduce: each GPU sends its buffer into the NVSwitches, which reduce it, and
// receives the result once (NCCL's NVLS algorithm). Run as the ring's flows with the volume that
// makes NCCL's bus bandwidth the GPU's published NVLS figure on an idle domain; concurrent
// groups on the same NVLink ports still share them; then priced as NCCL's channels run it
// (nvls_all_reduce_time).
void nvls(const Platform& platform, double bytes, const std::vector<std::vector<int>>& groups, int mirrors) {
  std::vector<Flow> flows;
  for (const auto& g : groups) {
    const int n = static_cast<int>(g.size());
    if (n < 2) continue;
    for (int i = 0; i < n; ++i) {
      const int from = g[i], to = g[(i + 1) % n];
      const double wire = platform.bandwidth(from, to);  // NCCL's effective NVLink rate
      flows.push_back({from, to, 2.0 * (n - 1) / n * bytes * wire / platform.nvls_bandwidth(from)});
    }
  }
  const double start = sg4::Engine::get_clock();
  const double latency = run_flows(platform, flows, mirrors);
  const double transfer = std::max(0.0, sg4::Engine::get_clock() - start - latency);
  sg4::this_actor::sleep_for(std::max(0.0, nvls_all_reduce_time(transfer) - (transfer + latency)));
}

// NCCL runs NVLS for an all-reduce whose ranks share one NVLink domain with reducing switches,
// from 5 ranks on (H200 measurements: "NVLS only above 4 GPUs", KERNEL-FACTS.md section 4).
bool within_one_node(const std::vector<int>& g, int gpus_per_node) {
  return std::all_of(g.begin(), g.end(), [&](int gpu) { return gpu / gpus_per_node == g.front() / gpus_per_node; });
}

bool nvls_applies(const Platform& platform, const std::vector<int>& g, int gpus_per_node) {
  return g.size() >= 5 && within_one_node(g, gpus_per_node) &&
         std::all_of(g.begin(), g.end(), [&](int gpu) { return platform.nvls_bandwidth(gpu) > 0; });
}

// SHARP applies to an all-reduce between nodes of a fabric whose switches reduce.
bool sharp_applies(const Platform& platform, const std::vector<int>& g, int gpus_per_node) {
  return platform.in_network_reduction() && !within_one_node(g, gpus_per_node);
}

bool spans_nodes_with_several_local_ranks(const std::vector<int>& g, int gpus_per_node) {
  std::map<int, int> per_node;
  for (const int gpu : g) ++per_node[gpu / gpus_per_node];
  return per_node.size() > 1 && per_node.begin()->second > 1;
}

}  // namespace

int simulated_ring_nodes(bool nodes_alike) { return nodes_alike ? 16 : 64; }

void set_actor_flow_threshold(std::size_t flows) { actor_flow_threshold = flows; }

double node_hit_probability(int experts, int top_k, double held) {
  double miss = 1;
  for (int j = 0; j < top_k; ++j) miss *= std::max(0.0, (experts - held - j) / double(experts - j));
  return 1 - miss;
}

CollectiveAlgorithm choose_algorithm(const Platform& platform, const Collective& c, int gpus_per_node) {
  if (c.kind != CollectiveKind::all_reduce) return CollectiveAlgorithm::ring;
  const auto& g = c.groups.front();
  if (c.algorithm == CollectiveAlgorithm::nvls && !nvls_applies(platform, g, gpus_per_node))
    return CollectiveAlgorithm::ring;
  if (c.algorithm == CollectiveAlgorithm::sharp && !sharp_applies(platform, g, gpus_per_node))
    return CollectiveAlgorithm::ring;
  if (c.algorithm != CollectiveAlgorithm::automatic) return c.algorithm;
  if (nvls_applies(platform, g, gpus_per_node)) return CollectiveAlgorithm::nvls;
  if (sharp_applies(platform, g, gpus_per_node)) return CollectiveAlgorithm::sharp;
  const int n = static_cast<int>(g.size());
  if (n <= 2) return CollectiveAlgorithm::ring;
  if (spans_nodes_with_several_local_ranks(g, gpus_per_node)) return CollectiveAlgorithm::hierarchical;
  double bandwidth = 1e30, latency = 0;
  for (int i = 0; i < n; ++i) {
    bandwidth = std::min(bandwidth, platform.bandwidth(g[i], g[(i + 1) % n]));
    latency = std::max(latency, platform.latency(g[i], g[(i + 1) % n]));
  }
  return tree_beats_ring(c.bytes, n, bandwidth, latency) ? CollectiveAlgorithm::tree : CollectiveAlgorithm::ring;
}

bool tree_beats_ring(double bytes, int n, double bandwidth, double latency) {
  // NCCL's tuner rates the tree's bandwidth below the ring's; 0.8 is this model's derating.
  const double tree_time = 2.0 * bytes / (0.8 * bandwidth) + 2 * std::ceil(std::log2(n)) * latency;
  return tree_time < ring_all_reduce_estimate(bytes, n, bandwidth, latency);
}

double run_collective(const Platform& platform, const Collective& c, int gpus_per_node) {
  const double start = sg4::Engine::get_clock();
  if (c.groups.empty() || c.groups.front().size() < 2 || c.bytes <= 0) return 0;
  if (c.kind == CollectiveKind::all_to_all && c.top_k > 0 && c.experts > c.top_k) {
    deduplicated_all_to_all(platform, c.bytes, c.groups, gpus_per_node, c.top_k, c.experts, c.mirrors);
  } else if (c.kind == CollectiveKind::all_to_all) {
    all_to_all(platform, c.bytes, c.groups, gpus_per_node, c.mirrors);
  } else {
    CollectiveAlgorithm algorithm = choose_algorithm(platform, c, gpus_per_node);
    if (algorithm == CollectiveAlgorithm::halving_doubling && !power_of_two(c.groups.front().size())) {
      algorithm = CollectiveAlgorithm::ring;  // Rabenseifner needs a power of two here
    }
    if (algorithm == CollectiveAlgorithm::hierarchical &&
        !spans_nodes_with_several_local_ranks(c.groups.front(), gpus_per_node)) {
      algorithm = CollectiveAlgorithm::ring;
    }
    switch (algorithm) {
      case CollectiveAlgorithm::tree:
        tree(platform, c.bytes, c.groups, c.mirrors);
        break;
      case CollectiveAlgorithm::halving_doubling:
        halving_doubling(platform, c.bytes, c.groups, c.mirrors);
        break;
      case CollectiveAlgorithm::hierarchical:
        hierarchical(platform, c.bytes, c.groups, gpus_per_node, c.mirrors);
        break;
      case CollectiveAlgorithm::nvls:
        nvls(platform, c.bytes, c.groups, c.mirrors);
        break;
      case CollectiveAlgorithm::sharp:
        hierarchical(platform, c.bytes, c.groups, gpus_per_node, c.mirrors, true);
        break;
      default:
        ring(platform, c.kind, c.bytes, c.groups, gpus_per_node, c.mirrors);
        break;
    }
  }
  return sg4::Engine::get_clock() - start;
}

}  // namespace trainsim
