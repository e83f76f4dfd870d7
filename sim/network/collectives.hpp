#pragma once
// Collectives decomposed into point-to-point flows on the SimGrid platform, by algorithm, as
// NCCL runs them (one channel, pipelined):
//   ring:             n flows, one per ring edge, each carrying the ring's whole per-edge volume
//                     (2(n-1)/n S for all-reduce, (n-1)/n S for all-gather / reduce-scatter),
//                     plus the latency of the 2(n-1) (or n-1) steps; a ring with several ranks in
//                     each of several nodes runs as NCCL's channels, one leaving each node through
//                     each of its ranks' NICs, the channels' passes through a hop inside a node
//                     as one flow;
//   tree:             NCCL's double binary tree, S/2 up and down each tree's edges, 2 log2(n) steps;
//   halving-doubling: Rabenseifner's all-reduce, log2(n) rounds of pairwise exchanges each way;
//   hierarchical:     reduce-scatter inside each node, all-reduce across nodes, all-gather inside;
//   nvls:             NVLink SHARP inside one NVLink domain: each GPU's buffer into the switches
//                     and the reduced result back, at the GPU's published NVLS bus bandwidth
//                     (`automatic` picks it for an all-reduce of 5 or more GPUs of one domain);
//   all-to-all:       every pair exchanges directly.
// Every group passed is run at once, so concurrent identical groups (the other TP ranks' DP
// rings, say) share links and contention shows. Must be called from inside a SimGrid actor.
#include <cstddef>
#include <vector>

#include "network/platform.hpp"
#include "scenario/plan.hpp"

namespace trainsim {

enum class CollectiveKind { all_reduce, all_gather, reduce_scatter, all_to_all };
const char* collective_name(CollectiveKind k);

struct Collective {
  CollectiveKind kind = CollectiveKind::all_reduce;
  // bytes: all-reduce, the buffer; all-gather, the gathered output; reduce-scatter, the input;
  // all-to-all, what one rank sends in all.
  double bytes = 0;
  std::vector<std::vector<int>> groups;  // GPU indices; groups run concurrently
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::automatic;
  // All-to-all of MoE tokens sent once per node (MoeDispatcher deepep, hybridep): each token's
  // top_k experts out of `experts`, spread evenly over the group. 0: one copy per expert.
  int top_k = 0, experts = 0;
  // Copies of the groups that run at the same time on other GPUs, over links the simulated ones
  // never wait on (rails_never_contend): not simulated, their flows' network energy is added to
  // the platform's (Platform::mirrored_energy_j).
  int mirrors = 0;
};

// How many of a ring's nodes the simulation runs (the first ones; each edge with the whole
// ring's volume and step count): on a tree, whose nodes all meet the network alike
// (Platform::nodes_alike), a segment of 16 loads links as the whole ring does and keeps a
// 2240-GPU ZeRO-3 gather at about a thousand flows instead of eighteen thousand, which SimGrid's
// sharing solver could not finish in minutes. On a torus or dragonfly the hops that wrap a
// dimension or cross groups share links the others do not: 64 nodes, two planes of a 4x4x4 torus
// (whose 32- and 64-node rings load their busiest link alike) or two dragonfly groups of 32.
int simulated_ring_nodes(bool nodes_alike);

// Concurrent replicas of a collective that together hold more flows than this run as one, the
// others mirroring it (engine/simulation.cpp, place_replicas): SimGrid's cost grows with the
// square of concurrent flows.
inline constexpr std::size_t kReplicatedFlowBudget = 8192;

// Whether NCCL's double binary tree beats the ring for an all-reduce of `bytes` over n ranks
// whose narrowest link is `bandwidth` and whose route latency is `latency`, by the alpha-beta
// model choose_algorithm applies (the tree's bandwidth derated as NCCL's tuner rates it).
bool tree_beats_ring(double bytes, int n, double bandwidth, double latency);

// The algorithm `automatic` resolves to: the lowest alpha-beta estimate, as NCCL's tuner picks.
CollectiveAlgorithm choose_algorithm(const Platform& platform, const Collective& c, int gpus_per_node);

// The chance that a token's top_k experts, drawn without repeats from `experts`, include at least
// one of the `held` experts of a node (uniform routing): what DeepEP and HybridEP send a node.
double node_hit_probability(int experts, int top_k, double held);

// Sets of more than `flows` flows (4096 unless set) run as mailbox comms between one actor per
// GPU, not as host-to-host comms, whose engine-wide list SimGrid 3.32 scans at every completion.
// Either way gives the same times; tests lower it to check that.
void set_actor_flow_threshold(std::size_t flows);
// Runs the collective to completion (blocking the calling actor); returns its duration.
double run_collective(const Platform& platform, const Collective& c, int gpus_per_node);

// The time of an NVLS all-reduce whose bytes take `transfer` at the GPU's NVLS bus bandwidth on
// an idle domain. NCCL runs small buffers on fewer channels (less latency, less bandwidth) and
// large ones on all of them: fitted on Azure's 8 x H200 sweep (NCCL 2.20.5, 1 MiB to 8 GiB, each
// point within 4.2%; checked on its 8 x H100 one, NCCL 2.18.5, within 3% from 16 MiB up):
// 29 us at 0.625 of the bus bandwidth, or 80 us at all of it, whichever is faster. NCCL's own
// cost model puts NVLS at 23 us (src/graph/tuning.cc), short of what either sweep shows.
double nvls_all_reduce_time(double transfer);

// The alpha-beta closed form of a ring all-reduce on one group: 2(n-1)/n S/B + 2(n-1) alpha.
double ring_all_reduce_estimate(double bytes, int n, double bandwidth, double latency);

}  // namespace trainsim
