#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <simgrid/s4u.hpp>

#include "engine/isolated.hpp"
#include "engine/schedule.hpp"
#include "engine/simulation.hpp"
#include "kernels.hpp"
#include "network/collectives.hpp"
#include "network/platform.hpp"
#include "report/prediction.hpp"
#include "scenario/scenario.hpp"
#include "scenario/writer.hpp"
#include "search/estimate.hpp"
#include "topology/graph.hpp"
#include "workload/memory.hpp"
#include "workload/sequences.hpp"
#include "workload/work.hpp"

using namespace trainsim;
using trainsim_test::kernel_named;

namespace {

// nccl-tests' bus bandwidth of an all-reduce of `bytes` over the 8 GPUs of one node.
double node_all_reduce_bus_bandwidth(const char* topology_name, CollectiveAlgorithm algorithm, double bytes) {
  Collective c;
  c.kind = CollectiveKind::all_reduce;
  c.algorithm = algorithm;
  c.bytes = bytes;
  c.groups = {{0, 1, 2, 3, 4, 5, 6, 7}};
  return 2.0 * 7 / 8 * bytes / simulate_collective(load_topology(topology_name), 8, c);
}

// A compute-only pipeline: one node with very fast links, small vocabulary, many equal layers.
Scenario pipeline_scenario(const std::string& schedule, int virtual_stages, int micro_batches) {
  std::string text = R"(
model: {arch: gpt, layers: 32, hidden: 2048, heads: 16, vocab: 128, seq_len: 2048}
cluster: {topology: dgx-h100-superpod, gpus: 4}
plan: {pp: 4, micro_batch: 1, schedule: )" +
                     schedule + ", virtual_stages: " + std::to_string(virtual_stages) +
                     ", global_batch: " + std::to_string(micro_batches) + "}\n";
  Scenario sc = load_scenario_text(text, "pipeline.yaml");
  sc.cluster.topology.gpu.nvlink_bandwidth = 1e18;  // make pipeline transfers free
  sc.cluster.topology.intra_latency = 0;
  return sc;
}

}  // namespace

TEST(Collectives, RingAllReduceMatchesAlphaBetaClosedForm) {
  const TopologySpec topology = load_topology("dgx-a100-superpod");
  Collective c;
  c.kind = CollectiveKind::all_reduce;
  c.algorithm = CollectiveAlgorithm::ring;
  c.bytes = 1e9;
  std::vector<int> ring;
  for (int node = 0; node < 8; ++node) ring.push_back(node * 8);  // GPU 0 of 8 nodes, under one leaf
  c.groups = {ring};
  const double simulated = simulate_collective(topology, 8, c);
  const double alpha = topology.nic_latency + topology.switch_latency;
  const double expected = ring_all_reduce_estimate(c.bytes, 8, topology.nic_bandwidth, alpha);
  EXPECT_NEAR(simulated / expected, 1.0, 0.01) << simulated << " vs " << expected;
}

// Eight rings over 32 nodes of the 4x4x4 torus (GPU t of every node: the tp ranks' data-parallel
// rings): each flow gets its share of the busiest link on its way, and at 32 nodes the hops that
// wrap a dimension share more than in a ring of the first 16, which the simulation once ran for
// any ring of more than 16 nodes (network/collectives.cpp, simulated_ring_nodes).
TEST(Collectives, LongRingsOnATorusLoadTheLinksTheirWrapsShare) {
  const TopologySpec torus = load_topology("torus-3d-h100");
  const ClusterGraph graph = build_cluster_graph(torus, 32);
  const std::vector<int> places{0, 1, 2, 3, 4, 5, 6, 7};
  const double whole = ring_flow_bandwidth(graph, {0}, 1, 32, places);
  const double first_16 = ring_flow_bandwidth(graph, {0}, 1, 16, places);
  EXPECT_LT(whole, first_16);
  Collective c;
  c.kind = CollectiveKind::all_gather;
  c.algorithm = CollectiveAlgorithm::ring;
  c.bytes = 1e9;
  for (int place = 0; place < 8; ++place) {
    std::vector<int> ring;
    for (int node = 0; node < 32; ++node) ring.push_back(node * 8 + place);
    c.groups.push_back(ring);
  }
  EXPECT_NEAR(simulate_collective(torus, 32, c) / (31.0 / 32 * c.bytes / whole), 1.0, 0.05);
}

TEST(Collectives, TwoAllReducesSharingLinksTakeTwiceAsLong) {
  const TopologySpec topology = load_topology("dgx-a100-superpod");
  Collective c;
  c.kind = CollectiveKind::all_reduce;
  c.algorithm = CollectiveAlgorithm::ring;
  c.bytes = 1e9;
  const std::vector<int> ring = {0, 8, 16, 24};
  c.groups = {ring};
  const double alone = simulate_collective(topology, 4, c);
  c.groups = {ring, ring};  // a second all-reduce over the same NICs at the same time
  const double shared = simulate_collective(topology, 4, c);
  EXPECT_NEAR(shared / alone, 2.0, 0.05);
  // Over disjoint NICs (GPU 1 of each node) there is no slowdown.
  c.groups = {ring, {1, 9, 17, 25}};
  EXPECT_NEAR(simulate_collective(topology, 4, c) / alone, 1.0, 0.01);
}

// nccl-tests' bus bandwidth of an 8 GiB all-reduce on one 8-GPU node: NVLS at the published
// ~480 GB/s on H100 (NVIDIA/nccl-tests#212) and 838 GB/s on B200, ring at NCCL's effective
// NVLink rate (370 and 740 GB/s); automatic picks NVLS, and A100 (no NVLS) stays on the ring.
TEST(Collectives, NvlsAllReduceReachesItsPublishedBusBandwidth) {
  const auto bus_bandwidth = [](const char* topology_name, CollectiveAlgorithm algorithm) {
    return node_all_reduce_bus_bandwidth(topology_name, algorithm, 8.0 * (1 << 30));
  };
  EXPECT_NEAR(bus_bandwidth("dgx-h100-superpod", CollectiveAlgorithm::automatic) / 480e9, 1.0, 0.05);
  EXPECT_NEAR(bus_bandwidth("dgx-h100-superpod", CollectiveAlgorithm::ring) / 370e9, 1.0, 0.05);
  EXPECT_NEAR(bus_bandwidth("dgx-b200-superpod", CollectiveAlgorithm::nvls) / 838e9, 1.0, 0.05);
  EXPECT_NEAR(bus_bandwidth("dgx-a100-superpod", CollectiveAlgorithm::automatic) /
                  bus_bandwidth("dgx-a100-superpod", CollectiveAlgorithm::ring),
              1.0, 0.01);
}

// An NVLS all-reduce's time by size, as nccl-tests measured it on 8 x H200 (Azure ND H200 v5,
// NCCL 2.20.5, in-place bus bandwidth, KERNEL-FACTS section 4): every point from 1 MiB to 8 GiB
// within 5%. With one small latency and the full bus bandwidth the 16 MiB all-reduce came out about
// 65% faster than measured. The H100's sweep (Azure ND H100 v5, NCCL 2.18.5) at 16 MiB, 128 MiB and
// 8 GiB within 5% as well.
TEST(Collectives, NvlsAllReduceFollowsTheMeasuredSizeSweep) {
  const auto bus_bandwidth = [](const char* topology_name, double bytes) {
    return node_all_reduce_bus_bandwidth(topology_name, CollectiveAlgorithm::automatic, bytes) / 1e9;
  };
  const double h200[] = {52.96,  88.78,  138.44, 181.94, 240.41, 300.91, 368.11,
                         412.45, 432.24, 442.72, 467.58, 472.57, 477.41, 479.98};
  for (int i = 0; i < 14; ++i) {
    const double bytes = std::ldexp(1.0, 20 + i);
    EXPECT_NEAR(bus_bandwidth("dgx-h200-superpod", bytes), h200[i], 0.05 * h200[i]) << bytes << " bytes";
  }
  EXPECT_NEAR(bus_bandwidth("dgx-h100-superpod", 16.0 * (1 << 20)), 234.5, 0.05 * 234.5);
  EXPECT_NEAR(bus_bandwidth("dgx-h100-superpod", 128.0 * (1 << 20)), 400.6, 0.05 * 400.6);
  EXPECT_NEAR(bus_bandwidth("dgx-h100-superpod", 8.0e9), 478.87, 0.05 * 478.87);
}

// InfiniBand SHARP (`network: {sharp: true}`): the switches reduce, so each NIC sends and
// receives the buffer once instead of the ring's 2(n-1)/n times: 1.75x on 8 nodes, large buffers.
TEST(Collectives, InNetworkReductionHalvesWhatEachNicCarries) {
  TopologySpec topology = load_topology("dgx-a100-superpod");
  Collective c;
  c.kind = CollectiveKind::all_reduce;
  c.bytes = 4e9;
  c.groups = {{0, 8, 16, 24, 32, 40, 48, 56}};
  c.algorithm = CollectiveAlgorithm::ring;
  const double ring_time = simulate_collective(topology, 8, c);
  topology.in_network_reduction = true;
  c.algorithm = CollectiveAlgorithm::automatic;
  EXPECT_NEAR(ring_time / simulate_collective(topology, 8, c), 1.75, 0.05);
  // Without SHARP, automatic stays on the ring.
  topology.in_network_reduction = false;
  EXPECT_NEAR(simulate_collective(topology, 8, c) / ring_time, 1.0, 0.01);
}

TEST(Collectives, AlgorithmsMoveTheSameResult) {
  const TopologySpec topology = load_topology("dgx-a100-superpod");
  Collective c;
  c.kind = CollectiveKind::all_reduce;
  c.bytes = 256e6;
  c.groups = {{0, 8, 16, 24, 32, 40, 48, 56}};
  double ring_time = 0;
  for (const auto algorithm :
       {CollectiveAlgorithm::ring, CollectiveAlgorithm::tree, CollectiveAlgorithm::halving_doubling}) {
    c.algorithm = algorithm;
    const double t = simulate_collective(topology, 8, c);
    if (algorithm == CollectiveAlgorithm::ring) ring_time = t;
    // Bandwidth-optimal algorithms all move about 2 S per rank: within 25% of each other.
    EXPECT_NEAR(t / ring_time, 1.0, 0.25) << algorithm_name(algorithm);
  }
  // Small messages on many ranks: the tree's log(n) latency beats the ring's n.
  c.bytes = 1e3;
  c.algorithm = CollectiveAlgorithm::ring;
  const double small_ring = simulate_collective(topology, 8, c);
  c.algorithm = CollectiveAlgorithm::tree;
  EXPECT_LT(simulate_collective(topology, 8, c), small_ring);
}

namespace {

// The data-parallel rings of tp 2 on four GB200 NVL72 racks filled 64 at a time: even GPUs in
// one ring, odd ones in the other, 32 of each ring in each rack.
Collective rack_spanning_rings(double bytes) {
  Collective c;
  c.kind = CollectiveKind::all_reduce;
  c.algorithm = CollectiveAlgorithm::ring;
  c.bytes = bytes;
  c.groups.resize(2);
  for (int rack = 0; rack < 4; ++rack) {
    for (int k = 0; k < 64; ++k) c.groups[k % 2].push_back(rack * 72 + k);
  }
  return c;
}

}  // namespace

// NCCL runs a ring with 32 ranks in each node as 32 channels, each leaving a node through a
// different GPU's NIC. Each GPU sends 31/32 of the ring's volume over NVLink (every channel but
// its own passes through it) and 1/32 out of its NIC. Those 31 passes run as one flow, so the
// ring takes its NVLink share at NCCL's effective rate (the extra for twice the bytes, LL128's
// 120 of 128 bytes on the wire being NCCL's pick at this size).
TEST(Collectives, RacksOfRanksSendMostOfARingOverNvlink) {
  const TopologySpec topology = load_topology("gb200-nvl72-superpod");
  const double bytes = 1e9;
  const double once = simulate_collective(topology, 4, rack_spanning_rings(bytes));
  const double twice = simulate_collective(topology, 4, rack_spanning_rings(2 * bytes));
  const double volume = 2.0 * 127 / 128 * bytes;
  const double nvlink = volume * 31 / 32 / nccl_nvlink_bandwidth(topology.gpu.nvlink_bandwidth);
  const double nic = volume / 32 / topology.nic_bandwidth;
  ASSERT_GT(nvlink, nic);
  EXPECT_NEAR((twice - once) / (nvlink / (120.0 / 128)), 1.0, 0.01) << twice - once << " s";
}

// A collective beside a rack-spanning ring on one GPU's NVLink port gets half of it: the ring's
// 31 channel passes through that port are one flow, as the collective's hop is (NCCL runs both on
// several channels; neither gets a share per channel). A 2-GPU all-reduce on GPUs 0 and 1 beside
// the even GPUs' ring takes about twice its time alone (it took 32 times as long before).
TEST(Collectives, ConcurrentCollectivesShareAnNvlinkPortOneFlowEach) {
  const TopologySpec topology = load_topology("gb200-nvl72-superpod");
  Collective ring = rack_spanning_rings(20e9);
  ring.groups.resize(1);  // the even GPUs only: GPU 1's ports are free
  Collective pair;
  pair.kind = CollectiveKind::all_reduce;
  pair.algorithm = CollectiveAlgorithm::ring;
  pair.bytes = 1e8;
  pair.groups = {{0, 1}};
  const double alone = simulate_collective(topology, 4, pair);
  const auto both = simulate_concurrent_collectives(topology, 4, {ring, pair});
  ASSERT_GT(both[0], 10 * both[1]);  // the ring runs throughout the pair's all-reduce
  EXPECT_NEAR(both[1] / alone, 2.0, 0.2) << both[1] << " s beside the ring, " << alone << " s alone";
}

// Past a few thousand flows, flows run between per-GPU actors instead of host to host
// (network/collectives.cpp: SimGrid's engine-wide scan); the times are the same to the bit.
TEST(Collectives, LargeFlowSetsRunByActorsTakeTheSameTime) {
  const TopologySpec topology = load_topology("gb200-nvl72-superpod");
  Collective all_to_all;
  all_to_all.kind = CollectiveKind::all_to_all;
  all_to_all.bytes = 64e6;
  all_to_all.groups = {{}};
  for (int gpu = 0; gpu < 128; ++gpu) all_to_all.groups[0].push_back(gpu / 64 * 72 + gpu % 64);
  for (const Collective& c : {rack_spanning_rings(1e9), all_to_all}) {
    const double host_to_host = simulate_collective(topology, 4, c);
    struct AllByActors {
      AllByActors() { set_actor_flow_threshold(0); }
      ~AllByActors() { set_actor_flow_threshold(4096); }
    };
    const double by_actors = [&] {
      const AllByActors all_by_actors;
      return simulate_collective(topology, 4, c);
    }();
    EXPECT_EQ(host_to_host, by_actors) << collective_name(c.kind);
    EXPECT_GT(by_actors, 0);
  }
}

TEST(Pipeline, OneFOneBBubbleIsPMinusOneOverMPlusPMinusOne) {
  for (const int m : {4, 8, 16}) {
    const Scenario sc = pipeline_scenario("1f1b", 1, m);
    const StepResult r = simulate_step(sc);
    const double busy_span = r.step_time - r.breakdown.optimizer;
    const double expected = 3.0 / (m + 3.0);
    EXPECT_NEAR(r.breakdown.bubble / busy_span, expected, 0.02) << "m = " << m;
  }
}

TEST(Pipeline, GPipeHasTheSameBubbleAndInterleavingShrinksIt) {
  const double one_f_one_b = simulate_step(pipeline_scenario("1f1b", 1, 8)).step_time;
  const double gpipe = simulate_step(pipeline_scenario("gpipe", 1, 8)).step_time;
  EXPECT_NEAR(gpipe / one_f_one_b, 1.0, 0.01);
  const StepResult interleaved = simulate_step(pipeline_scenario("interleaved", 2, 8));
  EXPECT_LT(interleaved.step_time, one_f_one_b);
  // (p-1)/(v m) of the ideal time: 3/16 against 3/8.
  const double ideal = interleaved.step_time - interleaved.breakdown.optimizer - interleaved.breakdown.bubble;
  EXPECT_NEAR(interleaved.breakdown.bubble / ideal, 3.0 / 16, 0.03);
}

TEST(Pipeline, SchedulesRunEveryMicroBatchOnceEachWay) {
  for (const auto& [schedule, v] :
       {std::pair{Schedule::gpipe, 1}, {Schedule::one_f_one_b, 1}, {Schedule::interleaved, 3}}) {
    for (int stage = 0; stage < 4; ++stage) {
      const auto tasks = stage_schedule(schedule, 4, stage, 8, v);
      ASSERT_EQ(tasks.size(), std::size_t(2 * 8 * v));
      std::map<std::tuple<bool, int, int>, int> seen;
      for (const auto& t : tasks) ++seen[{t.forward, t.micro_batch, t.chunk}];
      EXPECT_EQ(seen.size(), tasks.size());
    }
  }
  // 1F1B: the first stage warms up with p-1 forwards.
  const auto first = stage_schedule(Schedule::one_f_one_b, 4, 0, 8, 1);
  EXPECT_TRUE(first[0].forward && first[1].forward && first[2].forward && first[3].forward);
  EXPECT_FALSE(first[4].forward);
}

namespace {

// Llama 3.1 405B (126 layers) with tp 8 and one replica over pp stages of v chunks each: 126
// divides by neither 64 nor 128 chunks. One micro-batch per stage keeps the simulation short.
Scenario llama405b_interleaved(int pp, int v, const std::string& more_plan = "") {
  const std::string text =
      "model: {preset: llama3-405b}\n"
      "cluster: {topology: dgx-h100-superpod, gpus: " +
      std::to_string(8 * pp) + "}\nplan: {tp: 8, pp: " + std::to_string(pp) + ", virtual_stages: " + std::to_string(v) +
      ", micro_batch: 1, global_batch: " + std::to_string(pp) + ", sequence_parallel: true, recompute: full" +
      more_plan + "}\n";
  return load_scenario_text(text, "llama405b.yaml");
}

// Seconds each stage's representative GPU spent computing, from a recorded trace.
std::vector<double> stage_compute(const Scenario& sc, const StepResult& r) {
  std::vector<double> busy(sc.plan.pp, 0.0);
  for (int s = 0; s < sc.plan.pp; ++s) {
    const int gpu = gpu_of(sc.plan, 0, 0, s, 0);
    for (const auto& e : r.trace) {
      if (e.gpu == gpu && e.stream == "compute") busy[s] += e.end - e.start;
    }
  }
  return busy;
}

double max_over_min(const std::vector<double>& v) {
  const auto [least, most] = std::minmax_element(v.begin(), v.end());
  return *most / *least;
}

}  // namespace

TEST(Pipeline, UnevenInterleavedLlama405bIsAcceptedAndPredicted) {
  for (const auto& [pp, v] : {std::pair{8, 8}, {16, 4}}) {
    const Scenario sc = llama405b_interleaved(pp, v);  // throws if the plan were refused
    const Prediction p = predict(sc);
    EXPECT_TRUE(std::isfinite(p.step.step_time)) << pp << " x " << v;
    EXPECT_GT(p.step.step_time, p.step.breakdown.compute) << pp << " x " << v;
    EXPECT_EQ(p.stage_layers, stage_layers(126, sc.plan)) << pp << " x " << v;
    EXPECT_EQ(std::accumulate(p.stage_layers.begin(), p.stage_layers.end(), 0), 126);
  }
}

// The automatic split keeps the stages' compute within the one layer the chunks allow (the end
// stages' layer short is about what their embedding or LM head costs); a split that piles layers
// on the first stage does not.
TEST(Pipeline, UnevenInterleavedSplitBalancesStageCompute) {
  SimulationOptions options;
  options.record_trace = true;
  const Scenario balanced = llama405b_interleaved(8, 8);
  const auto busy = stage_compute(balanced, simulate_step(balanced, options));
  EXPECT_LT(max_over_min(busy), 1.08) << "16 layers against 15 at most, and a little more";
  const Scenario lopsided = llama405b_interleaved(8, 8, ", layers_per_stage: [24, 15, 15, 15, 15, 15, 15, 12]");
  const auto lopsided_busy = stage_compute(lopsided, simulate_step(lopsided, options));
  EXPECT_GT(max_over_min(lopsided_busy), max_over_min(busy) + 0.5);
}

// Two more chunks than layers: the embedding and the loss fill the first and last chunk
// (Megatron-Core's --account-for-embedding/loss-in-pipeline-split, the MoE Model Zoo's Qwen3
// plan pp 32 x 3); a third is refused.
TEST(Pipeline, EmbeddingAndLossMayFillAChunkEach) {
  const std::string text = R"(
model: {arch: llama, layers: 10, hidden: 1024, heads: 8, vocab: 32000, seq_len: 1024}
cluster: {topology: dgx-h100-superpod, gpus: 4}
plan: {pp: 4, schedule: interleaved, virtual_stages: 3, micro_batch: 1, global_batch: 8}
)";
  const Scenario sc = load_scenario_text(text, "chunks.yaml");
  const auto chunks = chunk_layers(sc.model.layers, sc.plan);
  EXPECT_EQ(chunks.front(), 0);
  EXPECT_EQ(chunks.back(), 0);
  EXPECT_EQ(std::accumulate(chunks.begin(), chunks.end(), 0), 10);
  EXPECT_TRUE(std::isfinite(predict(sc).step.step_time));
  std::string fewer = text;
  fewer.replace(fewer.find("layers: 10"), 10, "layers: 9");
  EXPECT_THROW(load_scenario_text(fewer, "chunks.yaml"), InputError);
}

// An explicit per-chunk split: each chunk runs exactly its layers. On stage s the forward of
// micro-batch 0 runs chunk s, later chunk s + pp; each run is a streak of "attention mb0" kernels.
TEST(Pipeline, ExplicitChunkLayersAreHonoured) {
  const std::vector<int> chunks = {2, 5, 4, 4, 6, 3, 4, 4};
  Scenario sc = load_scenario_text(R"(
model: {arch: gpt, layers: 32, hidden: 2048, heads: 16, vocab: 128, seq_len: 2048}
cluster: {topology: dgx-h100-superpod, gpus: 4}
plan: {pp: 4, micro_batch: 1, schedule: interleaved, virtual_stages: 2, global_batch: 8,
       layers_per_stage: [2, 5, 4, 4, 6, 3, 4, 4]}
)",
                                   "chunks.yaml");
  EXPECT_EQ(chunk_layers(sc.model.layers, sc.plan), chunks);
  SimulationOptions options;
  options.record_trace = true;
  const StepResult r = simulate_step(sc, options);
  for (int s = 0; s < sc.plan.pp; ++s) {
    std::vector<TraceEvent> events;
    for (const auto& e : r.trace) {
      if (e.gpu == gpu_of(sc.plan, 0, 0, s, 0) && e.stream == "compute") events.push_back(e);
    }
    std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    std::vector<int> streaks;  // lengths of the runs of micro-batch 0's forward attention
    std::string previous;
    for (const auto& e : events) {
      if (e.name.rfind("attention mb", 0) != 0) continue;  // other kernels do not break a run
      if (e.name == "attention mb0") {
        if (previous == e.name)
          ++streaks.back();
        else
          streaks.push_back(1);
      }
      previous = e.name;
    }
    EXPECT_EQ(streaks, (std::vector<int>{chunks[s], chunks[s + sc.plan.pp]})) << "stage " << s;
  }
}

TEST(Workload, FlopsMatchMegatronEq3) {
  // Eq. 3 counts full (non-causal) attention and a 4h MLP: a BERT-shaped model without
  // recomputation or with full recomputation must match it to within the element-wise work.
  for (const bool full : {false, true}) {
    const Scenario sc = load_scenario_text(std::string(R"(
model: {arch: bert, layers: 24, hidden: 4096, heads: 32, vocab: 51200, seq_len: 2048}
cluster: {topology: dgx-a100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 2, global_batch: 2, recompute: )") +
                                               (full ? "full" : "none") + "}\n",
                                           "eq3.yaml");
    const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
    const Workload w = build_workload(sc.model, sc.plan, cost);
    const auto& L = w.layer;
    const double per_gpu =
        sc.model.layers * (L.attention_forward.flops() + L.mlp_forward.flops() + L.attention_backward.flops() +
                           L.mlp_backward.flops() + L.recompute.flops());
    const double total = per_gpu * sc.plan.tp;
    // The transformer layers' part of Eq. 3 (without its V/(16lh) head term: the layers only).
    // Ours adds norms and element-wise work and counts the flash
    // backward at 2.5x its forward: allow 2%.
    const double s = sc.model.seq_len, h = sc.model.hidden, l = sc.model.layers;
    const double eq3 = (full ? 96.0 : 72.0) * 2 * s * l * h * h * (1 + s / (6 * h));
    EXPECT_NEAR(megatron_eq3_flops(sc.model, 2, full) / eq3 - 1, sc.model.vocab / (16 * l * h) / (1 + s / (6 * h)),
                1e-9);
    EXPECT_NEAR(total / eq3, 1.0, 0.02) << (full ? "full" : "none");
  }
}

TEST(Workload, BertHeadRunsOnTheMaskedPositionsUnlessToldEvery) {
  // The masked-LM head's GEMM and loss see 15% of the tokens by default (Google's BERT, NVIDIA's
  // PyTorch BERT since 2022) and every token with mlm_predictions: all (Hugging Face's).
  const std::string base = "cluster: {topology: dgx-a100-superpod, gpus: 1}\nplan: {micro_batch: 8, global_batch: 8}\n";
  const auto head = [&](const std::string& model) {
    const Scenario sc =
        load_scenario_text("model: {preset: bert-large, seq_len: 128" + model + "}\n" + base, "bert.yaml");
    const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
    const Workload w = build_workload(sc.model, sc.plan, cost);
    double gemm = 0, loss_bytes = 0;
    for (const auto& k : w.extras.head_forward.kernels) {
      if (k.name == "lm head") gemm = k.flops;
      if (k.name == "cross-entropy") loss_bytes = k.bytes;
    }
    EXPECT_EQ(scenario_to_yaml(load_scenario_text(scenario_to_yaml(sc), "again.yaml")), scenario_to_yaml(sc));
    return std::pair{gemm, loss_bytes};
  };
  const auto masked = head("");
  const auto every = head(", mlm_predictions: all");
  EXPECT_NEAR(masked.first, 2 * 0.15 * 8 * 128 * 30592.0 * 1024, 1e-6 * masked.first);  // vocab padded to 128s
  EXPECT_NEAR(every.first / masked.first, 1 / 0.15, 1e-9);
  EXPECT_NEAR(every.second / masked.second, 1 / 0.15, 1e-9);
  EXPECT_EQ(head(", mlm_predictions: masked"), masked);
}

TEST(Workload, FlashAttentionOneReachesItsPublishedRateAtLongSequences) {
  ModelSpec m;
  m.arch = Arch::gpt;
  m.layers = 1;
  m.hidden = 2048;
  m.heads = 16;  // head dim 128
  m.kv_heads = 16;
  m.ffn_hidden = 8192;
  m.vocab = 1024;
  m.seq_len = 32768;
  PlanSpec p;
  const CostModel cost(gpu_preset("a100-80gb-sxm"), Precision::bf16);
  auto attention = [&](Attention kind) {
    p.attention = kind;
    for (const auto& k : build_workload(m, p, cost).layer.attention_forward.kernels) {
      if (k.name == "flash attention") return k;
    }
    return Kernel{};
  };
  const Kernel fa2 = attention(Attention::flash);
  const Kernel fa1 = attention(Attention::flash1);
  EXPECT_EQ(fa1.flops, fa2.flops);
  // The flash-attention repo's A100 figure: FlashAttention-1, head dim 128, causal, 83 TFLOP/s at
  // 16K tokens (0.27 of 312), still rising slowly; a long-running GPU sustains a little less.
  EXPECT_NEAR(fa1.flops / fa1.time * CostModel::attention_forward_scale() / cost.peak(), 0.27, 0.02);
  EXPECT_GT(fa1.time, fa2.time);
}

TEST(Workload, EagerKernelsStreamAtTheProfilesElementwiseEfficiency) {
  ModelSpec m = model_preset("gpt3-1.3b");
  PlanSpec p;
  p.micro_batch = 8;
  p.precision = Precision::bf16;
  CalibrationProfile profile;
  profile.elementwise_efficiency = 0.5;
  const CostModel cost(gpu_preset("h200-sxm-141gb"), Precision::bf16, profile);
  const Workload fused = build_workload(m, p, cost);
  p.kernels = Kernels::eager;
  const Workload eager = build_workload(m, p, cost);
  const auto& a = fused.layer.mlp_backward.kernels;
  const auto& b = eager.layer.mlp_backward.kernels;
  ASSERT_EQ(a.size(), b.size());
  int memory_bound = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // Element-wise kernels take twice as long at half a copy's bandwidth; GEMMs are unchanged.
    EXPECT_NEAR(b[i].time / a[i].time, a[i].bytes > 0 ? 2.0 : 1.0, 1e-9) << a[i].name;
    memory_bound += a[i].bytes > 0;
  }
  EXPECT_GE(memory_bound, 2);
  EXPECT_GT(eager.layer.mlp_backward.time(), fused.layer.mlp_backward.time());
}

// Half of the sequences have 10 tokens and half 100 (tests/data/lengths/two-lengths.yaml).
DataSpec two_lengths(Batching batching, int bin_size = 0) {
  DataSpec d;
  d.lengths = std::string(TRAINSIM_SOURCE_DIR) + "/tests/data/lengths/two-lengths.yaml";
  d.length_counts = load_length_histogram(d.lengths);
  d.batching = batching;
  d.bin_size = bin_size;
  return d;
}

TEST(Sequences, MicroBatchesArePaddedAsTheLoaderPadsThem) {
  // padded: every sequence to seq_len; full rows: seq_len.
  auto padded = padded_lengths(two_lengths(Batching::padded), 100, 2);
  ASSERT_EQ(padded.size(), 1u);
  EXPECT_DOUBLE_EQ(padded[0].tokens, 100);
  EXPECT_DOUBLE_EQ(padded_lengths(DataSpec{}, 100, 2)[0].tokens, 100);
  // longest of 2: both short with probability 1/4, so 1/4 * 10 + 3/4 * 100.
  auto longest = padded_lengths(two_lengths(Batching::longest), 100, 2);
  ASSERT_EQ(longest.size(), 1u);
  EXPECT_DOUBLE_EQ(longest[0].tokens, 77.5);
  EXPECT_DOUBLE_EQ(padded_lengths(two_lengths(Batching::longest), 100, 1)[0].tokens, 55);
  // binned by 64 tokens: the short ones and the long ones apart, half the micro-batches each.
  auto binned = padded_lengths(two_lengths(Batching::binned, 64), 100, 2);
  ASSERT_EQ(binned.size(), 2u);
  EXPECT_DOUBLE_EQ(binned[0].tokens, 10);
  EXPECT_DOUBLE_EQ(binned[0].share, 0.5);
  EXPECT_DOUBLE_EQ(binned[1].tokens, 100);
  EXPECT_DOUBLE_EQ(binned[1].share, 0.5);
  EXPECT_DOUBLE_EQ(mean_sequence_tokens(two_lengths(Batching::binned, 64), 100), 55);
  // packed: rows of 100 tokens full of data; a token of a 10-token sequence sees 10 keys, one of
  // a 100-token sequence 100, and 100 of every 110 tokens are in the long ones.
  const DataSpec packed = two_lengths(Batching::packed);
  EXPECT_DOUBLE_EQ(padded_lengths(packed, 100, 2)[0].tokens, 100);
  EXPECT_DOUBLE_EQ(mean_sequence_tokens(packed, 100), 100);
  EXPECT_DOUBLE_EQ(mean_length(packed, 100), 55);
  EXPECT_NEAR(attention_span(packed, 100), (10.0 * 10 + 100.0 * 100) / 110, 1e-12);
  EXPECT_DOUBLE_EQ(attention_span(two_lengths(Batching::binned, 64), 100), 100);
}

TEST(Sequences, WikipediaAtLength512IsHalfPadding) {
  // Krell et al. 2021 (arXiv:2107.02027): "at sequence length 512 padding tokens represent in
  // excess of 50% of the Wikipedia dataset used for pretraining BERT".
  DataSpec d;
  d.length_counts = load_length_histogram("wikipedia-bert-512");
  const double padding = 1 - mean_sequence_tokens(d, 512) / 512;
  EXPECT_GT(padding, 0.50);
  EXPECT_LT(padding, 0.51);
}

TEST(Workload, BinnedDataAveragesTheWorkOfEachPaddedLength) {
  ModelSpec m = model_preset("bert-large");
  m.seq_len = 100;
  PlanSpec p;
  p.tp = 2;
  p.micro_batch = 2;
  p.attention = Attention::unfused;
  const CostModel cost(gpu_preset("a100-80gb-sxm"), Precision::fp16);
  const Workload mixed = build_workload(m, p, cost, two_lengths(Batching::binned, 64));
  ModelSpec short_rows = m;
  short_rows.seq_len = 10;
  const Workload full = build_workload(m, p, cost);
  const Workload shorter = build_workload(short_rows, p, cost);
  for (auto block : {&LayerWork::attention_forward, &LayerWork::mlp_backward}) {
    EXPECT_NEAR((mixed.layer.*block).time(), 0.5 * (full.layer.*block).time() + 0.5 * (shorter.layer.*block).time(),
                1e-12);
    EXPECT_LT((mixed.layer.*block).time(), (full.layer.*block).time());
  }
  EXPECT_DOUBLE_EQ(mixed.comm.tp_bytes, 0.5 * full.comm.tp_bytes + 0.5 * shorter.comm.tp_bytes);
  // What memory and the optimizer see is the full-length model: any micro-batch may be the longest.
  EXPECT_DOUBLE_EQ(mixed.layer.parameters, full.layer.parameters);
  EXPECT_DOUBLE_EQ(mixed.extras.embedding_parameters, full.extras.embedding_parameters);
  EXPECT_DOUBLE_EQ(mixed.tokens_per_microbatch, full.tokens_per_microbatch);
}

TEST(Prediction, PaddingIsWorkTheGpusDoButNotTokensTrained) {
  const std::string base = R"(
model: {preset: bert-large}
cluster: {topology: dgx-a100-superpod, gpus: 8}
plan: {dp: 8, micro_batch: 32, global_batch: 1024, precision: fp16, attention: unfused}
)";
  const Prediction full = predict(load_scenario_text(base, "full.yaml"));
  const Prediction padded =
      predict(load_scenario_text(base + "data: {lengths: wikipedia-bert-512, batching: padded}\n", "padded.yaml"));
  const Prediction binned = predict(load_scenario_text(
      base + "data: {lengths: wikipedia-bert-512, batching: binned, bin_size: 64}\n", "binned.yaml"));
  // Padded to 512, the GPUs do the full-rows work but train on half the tokens.
  EXPECT_DOUBLE_EQ(padded.step.step_time, full.step.step_time);
  EXPECT_NEAR(padded.tokens_per_s / full.tokens_per_s, 255.83 / 512, 1e-3);
  EXPECT_DOUBLE_EQ(padded.hardware_tflops_per_gpu, full.hardware_tflops_per_gpu);
  EXPECT_LT(padded.model_tflops_per_gpu, 0.55 * full.model_tflops_per_gpu);
  EXPECT_LT(padded.mfu, 0.55 * full.mfu);
  // Binned, micro-batches average 278 tokens a sequence: the step shrinks with them.
  EXPECT_NEAR(binned.padded_tokens_per_sequence, 278, 1);
  EXPECT_LT(binned.step.step_time, 0.6 * full.step.step_time);
  EXPECT_GT(binned.step.step_time, 0.45 * full.step.step_time);
  EXPECT_DOUBLE_EQ(binned.tokens_per_step, padded.tokens_per_step);
  // Memory is the longest micro-batch's.
  EXPECT_DOUBLE_EQ(binned.memory.peak, full.memory.peak);

  // Packed rows are full of data: the unfused kernels compute every score of a row (masked, not
  // skipped) and take the full rows' time; flash attention skips the other sequences' keys.
  const std::string packed = "data: {lengths: wikipedia-bert-512, batching: packed}\n";
  const Prediction packed_unfused = predict(load_scenario_text(base + packed, "packed.yaml"));
  EXPECT_DOUBLE_EQ(packed_unfused.step.step_time, full.step.step_time);
  EXPECT_DOUBLE_EQ(packed_unfused.tokens_per_step, full.tokens_per_step);
  std::string flash = base;
  flash.replace(flash.find("attention: unfused"), 18, "attention: flash");
  const Prediction full_flash = predict(load_scenario_text(flash, "flash.yaml"));
  const Prediction packed_flash = predict(load_scenario_text(flash + packed, "packed-flash.yaml"));
  EXPECT_LT(packed_flash.step.step_time, full_flash.step.step_time);
  EXPECT_LT(packed_flash.model_tflops_per_gpu * packed_flash.step.step_time,
            full_flash.model_tflops_per_gpu * full_flash.step.step_time);
}

namespace {
// Tensor parallel 4 with sequence parallelism and Megatron's selective recomputation.
PlanSpec tp4_selective() {
  PlanSpec p;
  p.tp = 4;
  p.sequence_parallel = true;
  p.recompute = Recompute::selective;
  return p;
}
}  // namespace

TEST(Memory, ActivationsFollowKorthikanti) {
  ModelSpec m = model_preset("gpt3-175b");
  PlanSpec p;
  p.tp = 8;
  p.micro_batch = 1;
  p.precision = Precision::fp16;
  const double s = m.seq_len, b = 1, h = m.hidden, a = m.heads, t = 8;
  // Tensor parallel only: sbh (10 + 24/t + 5as/(ht)).
  EXPECT_NEAR(activation_bytes_per_layer(m, p, false), s * b * h * (10 + 24 / t + 5 * a * s / (h * t)), 1);
  // With sequence parallelism: sbh/t (34 + 5as/h).
  p.sequence_parallel = true;
  EXPECT_NEAR(activation_bytes_per_layer(m, p, false), s * b * h / t * (34 + 5 * a * s / h), 1);
  // Selective recomputation drops the attention-score term.
  p.recompute = Recompute::selective;
  EXPECT_NEAR(activation_bytes_per_layer(m, p, false), s * b * h / t * 34, 1);
  // Full recomputation keeps only the layer input.
  p.recompute = Recompute::full;
  EXPECT_NEAR(activation_bytes_per_layer(m, p, false), 2 * s * b * h / t, 1);
  // A Llama layer (Llama 3 8B: 8 key/value heads of 32, SwiGLU 14336 wide, no dropout), SP and
  // flash attention: norms' inputs, QKV and MLP inputs 8 sbh; queries 2, keys and values
  // 4 x 1024/4096, projection input 2; gate and up outputs 4 x 3.5, SwiGLU output 2 x 3.5.
  const ModelSpec llama = model_preset("llama3-8b");
  PlanSpec q = tp4_selective();
  const double sbh = double(llama.seq_len) * llama.hidden;
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, true), sbh / 4 * (8 + 2 + 1 + 2 + 6 * 3.5), 1);
  // Unfused attention without recomputation keeps the softmax's output only, 2as/h sbh/t: no
  // dropout mask or output.
  q.recompute = Recompute::none;
  const double a_s_h = double(llama.heads) * llama.seq_len / llama.hidden;
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, false), sbh / 4 * (8 + 2 + 1 + 2 + 6 * 3.5 + 2 * a_s_h), 1);
}

// A low-precision linear layer keeps its quantized input for the weight gradient under Transformer
// Engine (1 byte a value), its 16-bit input under torchao; behind fused attention the projection
// keeps its FP8 input beside the attention output.
TEST(Memory, TransformerEngineKeepsLowPrecisionInputs) {
  const ModelSpec llama = model_preset("llama3-8b");
  PlanSpec q = tp4_selective();
  const double sbh = double(llama.seq_len) * llama.hidden;
  const double bf16 = sbh / 4 * (8 + 2 + 1 + 2 + 6 * 3.5);
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, true), bf16, 1);
  q.precision = Precision::fp8;
  q.fp8_saved_inputs = true;
  // QKV and MLP inputs 1 byte (6 of 8 sbh), second MLP GEMM's input 1 byte (5 of 6 x 3.5); the
  // attention core reruns (selective: core_attn), so the projection keeps only its FP8 input (1).
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, true), sbh / 4 * (6 + 2 + 1 + 1 + 5 * 3.5), 1);
  q.precision = Precision::mxfp8;
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, true), sbh / 4 * (6 + 2 + 1 + 1 + 5 * 3.5), 1);
  // Nothing recomputed: the fused kernel keeps its output beside the projection's FP8 input (2 + 1).
  q.recompute = Recompute::none;
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, true), sbh / 4 * (6 + 2 + 1 + 3 + 5 * 3.5), 1);
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, false) - activation_bytes_per_layer(llama, q, true),
              sbh / 4 * (-2 + 2.0 * llama.heads * llama.seq_len / llama.hidden), 1);  // unfused: 1, + scores
  q.recompute = Recompute::selective;
  q.fp8_saved_inputs = false;  // torchao: the 16-bit inputs, cast again in backward
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, true), bf16, 1);
  // Unset: Transformer Engine's under zero 0-2, torchao's under FSDP (as fp8_weight_cache).
  q.fp8_saved_inputs.reset();
  EXPECT_LT(activation_bytes_per_layer(llama, q, true), bf16);
  q.zero = 3;
  EXPECT_NEAR(activation_bytes_per_layer(llama, q, true), bf16, 1);
  // A MoE layer's router keeps the 16-bit MLP input: of the replicated terms only the QKV input
  // shrinks. Mixtral 8x7B (top 2 of 14336-wide experts, hidden 4096), tp 1, nothing recomputed:
  // -1 (QKV input) + 1 (projection) - 2 x 14336 / 4096 (the second GEMMs' inputs) = -7 sbh.
  const ModelSpec mixtral = model_preset("mixtral-8x7b");
  PlanSpec r;
  const double mixtral_bf16 = activation_bytes_per_layer(mixtral, r, true);
  r.precision = Precision::fp8;
  r.fp8_saved_inputs = true;
  EXPECT_NEAR(mixtral_bf16 - activation_bytes_per_layer(mixtral, r, true), 7.0 * mixtral.seq_len * mixtral.hidden, 1);
}

// Megatron-Core's recompute modules keep nothing of what they rerun: `layernorm` frees the two
// norms' 16-bit outputs (4 sbh), `moe_act` the routed experts' activation output (2 bytes for
// each of top_k expert widths a token), `mlp` a dense layer's whole MLP inner activations.
TEST(Memory, RecomputedModulesDropWhatTheyRerun) {
  const ModelSpec oss = model_preset("gpt-oss-120b");
  PlanSpec p;
  p.recompute = Recompute::selective;
  p.recompute_modules = {};
  const double sbh = double(oss.seq_len) * oss.hidden;
  const double kept = activation_bytes_per_layer(oss, p, true);
  p.recompute_modules = {"layernorm"};
  EXPECT_NEAR(kept - activation_bytes_per_layer(oss, p, true), 4 * sbh, 1);
  p.recompute_modules = {"layernorm", "moe_act"};
  const double routed = oss.top_k * oss.imbalance * double(oss.expert_ffn()) / oss.hidden;
  EXPECT_NEAR(kept - activation_bytes_per_layer(oss, p, true), (4 + 2 * routed) * sbh, 1);
  const ModelSpec llama = model_preset("llama3-8b");
  p.recompute_modules = {};
  const double dense = activation_bytes_per_layer(llama, p, true);
  p.recompute_modules = {"mlp"};
  EXPECT_NEAR(dense - activation_bytes_per_layer(llama, p, true),
              6.0 * llama.ffn_hidden / llama.hidden * llama.seq_len * llama.hidden, 1);
  // DeepSeek-V3's multi-head latent attention builds queries and keys of 192 and values of 128 per
  // head, 128 heads: mla_up_proj drops all three.
  const ModelSpec ds = model_preset("deepseek-v3");
  p.recompute_modules = {};
  const double mla = activation_bytes_per_layer(ds, p, true);
  p.recompute_modules = {"mla_up_proj"};
  const double qkv_bytes = 2.0 * ds.heads * (2 * 192 + 128) * double(ds.seq_len);
  EXPECT_NEAR(mla - activation_bytes_per_layer(ds, p, true), qkv_bytes, 1);
}

// Queries, keys, values and the attention's output are kept at their own widths: doubling the
// head dim of Llama 3 8B (32 query heads, 8 key/value heads) adds h for the queries and for the
// output, h/4 for the keys and for the values, 2 bytes each.
TEST(Memory, AttentionTensorsTakeTheirHeadWidths) {
  ModelSpec wide = model_preset("llama3-8b");
  PlanSpec p;
  const double base = activation_bytes_per_layer(wide, p, true);
  wide.head_size = 2 * wide.hidden / wide.heads;
  const double sbh = double(wide.seq_len) * wide.hidden;
  EXPECT_NEAR(activation_bytes_per_layer(wide, p, true) - base, 2 * (1 + 0.25 + 0.25 + 1) * sbh, 1);
  // Per-op checkpointing keeps q, v and the attention's output of those: h + h/4 + h more.
  p.recompute = Recompute::op;
  wide.head_size = 0;
  const double op = activation_bytes_per_layer(wide, p, true);
  wide.head_size = 2 * wide.hidden / wide.heads;
  EXPECT_NEAR(activation_bytes_per_layer(wide, p, true) - op, 2 * (1 + 0.25 + 1) * sbh, 1);
}

TEST(Memory, MixedPrecisionAdamIsSixteenBytesPerParameterAndZeroShardsIt) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {dp: 8, micro_batch: 1, global_batch: 8}
)",
                                   "m.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload w = build_workload(sc.model, sc.plan, cost);
  const auto plain = peak_memory(sc, w);
  const double n = total_parameters(sc.model);
  EXPECT_NEAR((plain.params + plain.grads + plain.optimizer) / n, 16.0, 0.05);
  sc.plan.zero = 1;
  const auto zero1 = peak_memory(sc, w);
  EXPECT_NEAR((zero1.params + zero1.grads + zero1.optimizer) / n, 4 + 12.0 / 8, 0.05);
  sc.plan.zero = 3;
  const auto zero3 = peak_memory(sc, w);
  EXPECT_NEAR((zero3.params + zero3.grads + zero3.optimizer) / n, 16.0 / 8, 0.05);
}

// Hybrid sharding shards the states over its group of dp_shard ranks only: 32 GPUs in groups of
// 8 hold what 8-way full sharding holds.
TEST(Memory, HybridShardingShardsOverItsGroupOnly) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b}
cluster: {topology: dgx-h100-superpod, gpus: 32}
plan: {dp: 32, zero: 3, dp_shard: 8, micro_batch: 1, global_batch: 32}
)",
                                   "hsdp.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload w = build_workload(sc.model, sc.plan, cost);
  const auto hybrid = peak_memory(sc, w);
  EXPECT_NEAR((hybrid.params + hybrid.grads + hybrid.optimizer) / total_parameters(sc.model), 16.0 / 8, 0.05);
  sc.plan.dp_shard = 0;  // all 32
  const auto full = peak_memory(sc, w);
  EXPECT_NEAR((full.params + full.grads + full.optimizer) / total_parameters(sc.model), 16.0 / 32, 0.05);
}

// PyTorch FSDP's fp32 shards are the master weights: with fp32 gradients, 16 bytes a parameter
// over the group (fp32 shard, fp32 gradient, Adam's two moments), where a 16-bit shard kept
// beside an fp32 copy (DeepSpeed's ZeRO-3) makes 18.
TEST(Memory, FsdpShardsAreTheMasterWeights) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {dp: 8, zero: 3, micro_batch: 1, global_batch: 8, grad_reduce_precision: fp32, sharded_master_weights: true}
)",
                                   "fsdp2.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload w = build_workload(sc.model, sc.plan, cost);
  const auto states = [&] {
    const auto m = peak_memory(sc, w);
    return (m.params + m.grads + m.optimizer) / total_parameters(sc.model);
  };
  EXPECT_NEAR(states(), 16.0 / 8, 0.01);
  sc.plan.sharded_master_weights = false;
  EXPECT_NEAR(states(), 18.0 / 8, 0.01);
}

// The optimizer's state as the framework keeps it, over ZeRO-1's 8 ranks: Megatron's distributed
// optimizer 12 bytes a parameter (fp32 master weights and moments); NeMo 1.x's Apex
// DistributedFusedAdam with fp32 state 10 (the bf16 weights' 16 low bits instead of an fp32
// copy), as a 16-bit copy does; with `optim.dtype: bf16` 4 (bf16 moments, no master copy). The optimizer step reads and
// writes that state, so it shortens with it.
TEST(Memory, OptimizerStateFollowsMasterWeightsAndMomentPrecision) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {dp: 8, zero: 1, micro_batch: 1, global_batch: 8}
)",
                                   "adam.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload w = build_workload(sc.model, sc.plan, cost);
  const double n = total_parameters(sc.model);
  const auto optimizer = [&] { return peak_memory(sc, w).optimizer / n; };
  EXPECT_NEAR(optimizer(), 12.0 / 8, 0.01);
  const double full_step = optimizer_time(w, sc.plan, n);
  sc.plan.master_weights = MasterWeights::remainders;
  EXPECT_NEAR(optimizer(), 10.0 / 8, 0.01);
  sc.plan.master_weights = MasterWeights::half;
  EXPECT_NEAR(optimizer(), 10.0 / 8, 0.01);
  sc.plan.master_weights = MasterWeights::none;
  sc.plan.optimizer_moment_bytes = 2;
  EXPECT_NEAR(optimizer(), 4.0 / 8, 0.01);
  EXPECT_NEAR(optimizer_time(w, sc.plan, n) / full_step, (12.0 + 2 * 4) / (12.0 + 2 * 12), 1e-9);
  // fp32 training has no separate master copy: Adam's two fp32 moments.
  sc.plan.precision = Precision::fp32;
  sc.plan.optimizer_moment_bytes = 4;
  sc.plan.master_weights = MasterWeights::fp32;
  EXPECT_NEAR(optimizer(), 8.0 / 8, 0.01);
}

// Transformer Engine's low-precision weights under Megatron-Core (zero 1): the weight cache keeps
// an FP8 copy of each linear weight per layout beside the bf16 weights (two on an H100, whose FP8
// GEMMs need a transposed copy; one on a B200 with tensor-wise scaling); FP8 primary weights
// (fp8_param_gather) are those copies alone.
TEST(Memory, LowPrecisionWeightsAreTheCopiesTransformerEngineKeeps) {
  const auto params = [](const std::string& cluster, const std::string& plan) {
    const Scenario sc = load_scenario_text(
        "model: {preset: llama3-8b}\ncluster: {" + cluster + "}\nplan: {dp: 8, zero: 1, " + plan + "}\n", "fp8.yaml");
    const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision, {}, sc.plan.fp8_recipe);
    const Workload w = build_workload(sc.model, sc.plan, cost);
    return std::pair{peak_memory(sc, w).params, sc.model.layers * w.layer.parameters};
  };
  const std::string h100 = "topology: dgx-h100-superpod, gpus: 8";
  const auto [bf16, layers] = params(h100, "precision: bf16");
  EXPECT_NEAR(params(h100, "precision: fp8").first - bf16, 2.0 * layers, 1e3);
  EXPECT_NEAR(params(h100, "precision: fp8, fp8_param_gather: true").first, bf16, 1e3);
  EXPECT_NEAR(params(h100, "precision: fp8, fp8_weight_cache: false").first, bf16, 1e3);
  const std::string b200 = "topology: dgx-b200-superpod, gpus: 8";
  const double b200_bf16 = params(b200, "precision: bf16").first;
  EXPECT_NEAR(params(b200, "precision: fp8, fp8_param_gather: true").first - b200_bf16, -1.0 * layers, 1e3);
}

TEST(Memory, OptimizerStateKeysAreReadAndChecked) {
  const std::string base = R"(
model: {preset: llama2-7b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
)";
  const Scenario nemo =
      load_scenario_text(base + "plan: {dp: 8, optimizer_state: bf16, master_weights: none}\n", "a.yaml");
  EXPECT_EQ(nemo.plan.optimizer_moment_bytes, 2);
  EXPECT_EQ(nemo.plan.master_weights, MasterWeights::none);
  EXPECT_DOUBLE_EQ(nemo.plan.optimizer_state_bytes(), 4.0);
  const auto message = [&](const std::string& plan) {
    try {
      load_scenario_text(base + plan, "bad.yaml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("plan: {dp: 8, precision: fp32, master_weights: none}\n").find("16-bit or lower precision"),
            std::string::npos);
  EXPECT_NE(message("plan: {dp: 8, zero: 3, sharded_master_weights: true, master_weights: remainders}\n")
                .find("sharded_master_weights"),
            std::string::npos);
  EXPECT_NE(message("plan: {dp: 8, optimizer_state: fp8}\n").find("expected one of fp32, bf16"), std::string::npos);
}

// At the loss's backward, the peak, ZeRO-3 has the LM head's weights gathered (its backward is
// next) beside the last layer's; where it keeps the embedding gathered through the step (FSDP2
// before PyTorch 2.8 with torchtitan's root holding both), the embedding's too.
TEST(Memory, ZeroThreeCountsTheGatheredHeadAndKeptEmbedding) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {dp: 8, zero: 3, micro_batch: 1, global_batch: 8}
)",
                                   "fsdp-root.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload w = build_workload(sc.model, sc.plan, cost);
  const double layer = w.layer.parameters * 2, head = w.extras.head_parameters * 2;
  ASSERT_GT(head, layer);  // 128256 x 4096 against a layer's 218 M
  const double buffers = peak_memory(sc, w).buffers;
  const double bucket = 2 * sc.plan.bucket_bytes;
  EXPECT_NEAR(buffers, bucket + layer + head, 1);
  sc.plan.zero3_keeps_embeddings = true;
  EXPECT_NEAR(peak_memory(sc, w).buffers, bucket + layer + head + w.extras.embedding_parameters * 2, 1);
}

// torchtitan's per-op policy on a Llama 3 8B layer: the input, the attention output, and of the
// matmuls q, k, v, output, gate, up, down the outputs of q (4096 wide), v (1024), gate (14336)
// and down (4096): 7.75 hidden-widths of 2 bytes a token.
TEST(Memory, PerOpCheckpointingKeepsEverySecondMatmul) {
  const ModelSpec m = model_preset("llama3-8b");
  PlanSpec p;
  p.recompute = Recompute::op;
  p.micro_batch = 2;
  const double sbh = double(m.seq_len) * p.micro_batch * m.hidden;
  EXPECT_NEAR(activation_bytes_per_layer(m, p), 2 * sbh * (1 + 1 + (4096 + 1024 + 14336 + 4096) / 4096.0), 1);
}

// torchtitan before #2095 saved only the FlashAttention and memory-efficient SDPA outputs; with
// cuDNN attention (its choice on Blackwell) the per-op policy reran the attention kernel:
// `recompute: op` with `recompute_modules: [core_attn]`. The layer keeps 6.75 widths, not 7.75,
// and its recomputation holds the attention's forward.
TEST(Memory, PerOpCheckpointingCanRerunTheAttentionKernel) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-b200-superpod, gpus: 8}
plan: {dp: 8, micro_batch: 2, global_batch: 16, zero: 3, recompute: op, recompute_modules: [core_attn]}
)",
                                         "op-attention.yaml");
  ASSERT_TRUE(sc.plan.op_reruns_attention);
  PlanSpec keeps = sc.plan;
  keeps.op_reruns_attention = false;
  const ModelSpec& m = sc.model;
  const double sbh = double(m.seq_len) * 2 * m.hidden;
  EXPECT_NEAR(activation_bytes_per_layer(m, sc.plan), 2 * sbh * (1 + (4096 + 1024 + 14336 + 4096) / 4096.0), 1);
  EXPECT_NEAR(activation_bytes_per_layer(m, keeps) - activation_bytes_per_layer(m, sc.plan), 2 * sbh, 1);
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload reruns = build_workload(m, sc.plan, cost);
  const Workload kept = build_workload(m, keeps, cost);
  double attention = 0;
  for (const auto& k : reruns.layer.attention_forward.kernels)
    if (k.name == "flash attention") attention = k.time;
  EXPECT_GT(attention, 0);
  EXPECT_NEAR(reruns.layer.recompute.time() - kept.layer.recompute.time(), attention, 1e-12);
  // Written back as read; with another module, or with recompute: full, an input error.
  EXPECT_NE(scenario_to_yaml(sc).find("recompute_modules: [core_attn]"), std::string::npos);
  EXPECT_THROW(load_scenario_text("model: {preset: llama3-8b}\ncluster: {topology: dgx-b200-superpod, gpus: 8}\n"
                                  "plan: {dp: 8, recompute: op, recompute_modules: [layernorm]}\n",
                                  "bad.yaml"),
               InputError);
}

// MaxText's save_qkv_proj: the layer's input and its Q, K, V projections are kept (Llama 3 70B:
// 8192 + 2 x 1024 wide); in backward the layer reruns all but those projections.
TEST(Memory, SaveQkvProjKeepsTheProjectionsAndRerunsTheRest) {
  const ModelSpec m = model_preset("llama3-70b");
  PlanSpec p;
  p.recompute = Recompute::qkv;
  p.micro_batch = 2;
  const double sbh = double(m.seq_len) * p.micro_batch * m.hidden;
  EXPECT_NEAR(activation_bytes_per_layer(m, p), 2 * sbh * (1 + (8192 + 2 * 1024) / 8192.0), 1);
  const CostModel cost(gpu_preset("h100-sxm-80gb"), p.precision);
  const Workload w = build_workload(m, p, cost);
  double qkv = 0;
  for (const auto& k : w.layer.attention_forward.kernels) {
    if (k.name == "qkv projection") qkv += k.time;
  }
  EXPECT_GT(qkv, 0);
  EXPECT_NEAR(w.layer.recompute.time(), w.layer.attention_forward.time() + w.layer.mlp_forward.time() - qkv, 1e-12);
}

// The logits at the loss: fp32 operations hold the fp32 log-probabilities and gradient and the
// 16-bit gradient (10 bytes a logit); a fused loss the 16-bit logits and gradient (4 bytes).
TEST(Memory, FusedLossHoldsSixteenBitLogitsOnly) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {dp: 8, micro_batch: 2, global_batch: 16}
)",
                                         "loss.yaml");
  Scenario fused = sc;
  fused.plan.loss = Loss::fused;
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload unfused_work = build_workload(sc.model, sc.plan, cost);
  const Workload fused_work = build_workload(fused.model, fused.plan, cost);
  const double logits = 2.0 * 8192 * unfused_work.padded_vocab;
  EXPECT_NEAR(peak_memory(sc, unfused_work).activations - peak_memory(fused, fused_work).activations, logits * (10 - 4),
              1e3);
  // It also moves fewer bytes: 4 a logit instead of 20.
  const auto loss_time = [](const Workload& w) { return w.extras.head_forward.time() + w.extras.head_backward.time(); };
  EXPECT_LT(loss_time(fused_work), loss_time(unfused_work));
}

// F.cross_entropy(logits.float()): the log-softmax's backward writes the fp32 copy's gradient
// while the fp32 log-probabilities and their gradient are live, 12 bytes a logit; the copy and
// the cast back stream 2 + 4 bytes a logit each, forward and backward.
// On an fp32 copy of the logits the loss holds three fp32 tensors (four decomposed), and the
// 16-bit logits' freed block, too small for any of them, stays with the process.
TEST(Memory, LossOnAnFp32CopyHoldsThreeOrFourFp32LogitsAndTheBlockTheyLeft) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {dp: 8, micro_batch: 2, global_batch: 16, loss: cast}
)",
                                         "loss.yaml");
  ASSERT_EQ(sc.plan.loss, Loss::cast);
  Scenario plain = sc;
  plain.plan.loss = Loss::fp32;
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload cast_work = build_workload(sc.model, sc.plan, cost);
  const Workload plain_work = build_workload(plain.model, plain.plan, cost);
  const double logits = 2.0 * 8192 * cast_work.padded_vocab;
  EXPECT_NEAR(peak_memory(sc, cast_work).activations - peak_memory(plain, plain_work).activations,
              logits * (12 + 2 - 10), 1e3);
  const auto bytes = [](const Block& b) {
    double sum = 0;
    for (const auto& k : b.kernels) sum += k.bytes;
    return sum;
  };
  EXPECT_NEAR(bytes(cast_work.extras.head_forward) - bytes(plain_work.extras.head_forward), logits * 6, 1e3);
  EXPECT_NEAR(bytes(cast_work.extras.head_backward) - bytes(plain_work.extras.head_backward), logits * 6, 1e3);
  // Decomposed into element-wise operations (torch.distributed's loss_parallel): the backward's
  // (one_hot + exp(logp)) * grad holds four fp32 tensors, and the passes move 20 and 24 more
  // bytes a logit than the fused log-softmax kernels.
  Scenario decomposed = sc;
  decomposed.plan.loss = Loss::decomposed;
  const Workload decomposed_work = build_workload(decomposed.model, decomposed.plan, cost);
  EXPECT_NEAR(peak_memory(decomposed, decomposed_work).activations - peak_memory(plain, plain_work).activations,
              logits * (16 + 2 - 10), 1e3);
  EXPECT_NEAR(bytes(decomposed_work.extras.head_forward) - bytes(cast_work.extras.head_forward), logits * 20, 1e3);
  EXPECT_NEAR(bytes(decomposed_work.extras.head_backward) - bytes(cast_work.extras.head_backward), logits * 24, 1e3);
  // In fp32 training `.float()` returns the logits themselves: no copy, no block left behind.
  Scenario fp32_cast = sc, fp32_plain = plain;
  fp32_cast.plan.precision = fp32_plain.plan.precision = Precision::fp32;
  const CostModel fp32_cost(sc.cluster.topology.gpu, Precision::fp32);
  const Workload fp32_cast_work = build_workload(fp32_cast.model, fp32_cast.plan, fp32_cost);
  const Workload fp32_plain_work = build_workload(fp32_plain.model, fp32_plain.plan, fp32_cost);
  EXPECT_NEAR(peak_memory(fp32_cast, fp32_cast_work).activations, peak_memory(fp32_plain, fp32_plain_work).activations,
              1e3);
}

// torchtitan's Llama 3.1 8B at 32,768 tokens a GPU (full recomputation, FP8, FSDP over 8 H100
// 96GB at 500 W, the fp32-copy loss: ../shared/validation row 604, torchtitan's
// benchmarks/llama3_h100_202412_torchtitan.md, Table 2 "FSDP 8, CP 1") logged 83.9 GiB reserved
// at its peak. The logits, 4.2 billion
// of them, are most of it: three fp32 tensors and the 16-bit logits' block beside them.
TEST(Memory, TorchtitansLongSequenceRunMatchesItsLoggedPeak) {
  const Scenario sc = load_scenario_text(R"(
model: {arch: llama, layers: 32, hidden: 4096, heads: 32, kv_heads: 8, ffn_hidden: 14336, vocab: 128256,
        seq_len: 32768}
cluster: {topology: dgx-h100-superpod, gpus: 8, gpu: h100-sxm-96gb, power_limit: 500W}
plan: {dp: 8, micro_batch: 1, global_batch: 8, zero: 3, recompute: full, precision: fp8, fp8_recipe: tensorwise,
       fp8_weight_cache: false, fp8_saved_inputs: false, attention: flash2, loss: cast,
       sharded_master_weights: true, zero3_keeps_embeddings: true, grad_reduce_precision: fp32}
)",
                                         "torchtitan-8b-32k.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const MemoryBreakdown m = peak_memory(sc, build_workload(sc.model, sc.plan, cost));
  const double gib = 1024.0 * 1024 * 1024;
  EXPECT_NEAR(m.peak / gib, 83.9, 0.03 * 83.9);
}

// FSDP under pipeline parallelism as PyTorch's pipeline stages run it (torchtitan's default
// reshard policy): a stage gathers its weights once and keeps them, and accumulates whole
// gradients in the reduce precision until the last micro-batch; "always" reshards after every use.
TEST(Memory, FsdpWithPipelineStagesKeepsTheStageWhole) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b}
cluster: {topology: dgx-h100-superpod, gpus: 16}
plan: {pp: 2, dp: 8, zero: 3, micro_batch: 1, global_batch: 32, grad_reduce_precision: fp32}
)",
                                   "fsdp-pp.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload w = build_workload(sc.model, sc.plan, cost);
  const double stage0 = 16 * w.layer.parameters + w.extras.embedding_parameters;
  const auto kept = memory_per_stage(sc, w).front();
  EXPECT_NEAR(kept.params, 2 * stage0, 1e3);
  EXPECT_NEAR(kept.grads, 4 * stage0, 1e3);
  sc.plan.reshard_after_forward = Reshard::always;
  const auto resharded = memory_per_stage(sc, w).front();
  EXPECT_NEAR(resharded.params, 2 * stage0 / 8, 1e3);
  EXPECT_NEAR(resharded.grads, 4 * stage0 / 8, 1e3);
  EXPECT_NEAR(resharded.optimizer, kept.optimizer, 1);
}

// A stage holds the micro-batches its schedule runs forward before its first backward. An
// interleaved step of as many micro-batches as stages runs every forward of the first stage
// before its first backward: it holds each micro-batch through all of the stage's chunks, as
// GPipe would, and never more (Korthikanti et al.'s pp (1 + (pp-1)/(pp v)) is for longer steps).
TEST(Memory, MicroBatchesInFlightFollowTheSchedulesWarmUp) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b}
cluster: {topology: dgx-h100-superpod, gpus: 32}
plan: {tp: 4, pp: 8, schedule: interleaved, virtual_stages: 2, micro_batch: 1, global_batch: 8}
)",
                                   "interleaved-few.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload w = build_workload(sc.model, sc.plan, cost);
  const auto interleaved = memory_per_stage(sc, w).front();
  EXPECT_DOUBLE_EQ(interleaved.in_flight_microbatches, 8);
  sc.plan.schedule = Schedule::gpipe;
  sc.plan.virtual_stages = 1;
  EXPECT_NEAR(memory_per_stage(sc, w).front().activations, interleaved.activations, 1);
  // With 64 micro-batches the warm-up bounds it: 8 (1 + 7/16) at the first stage. A later stage
  // runs 2 (pp - stage - 1) + (v - 1) pp chunk forwards before its first backward (Megatron-Core's
  // get_num_warmup_microbatches), the last stage 8 of its first chunk: with the one the backward
  // follows, 9 half-stages.
  sc.plan.schedule = Schedule::interleaved;
  sc.plan.virtual_stages = 2;
  sc.plan.global_batch = 64;
  const auto stages = memory_per_stage(sc, w);
  EXPECT_DOUBLE_EQ(stages.front().in_flight_microbatches, 8 * (1 + 7.0 / 16));
  EXPECT_DOUBLE_EQ(stages[4].in_flight_microbatches, (2 * 3 + 8 + 1) / 2.0);
  EXPECT_DOUBLE_EQ(stages.back().in_flight_microbatches, 9 / 2.0);
  // Of those, one went through the model's last chunk, where multi-token prediction runs.
  sc.model.mtp_layers = 1;
  EXPECT_NEAR(memory_per_stage(sc, w).back().activations - stages.back().activations,
              activation_bytes_per_layer(sc.model, sc.plan, true), 1);
  sc.model.mtp_layers = 0;
  // 1F1B: pp - stage.
  sc.plan.schedule = Schedule::one_f_one_b;
  sc.plan.virtual_stages = 1;
  EXPECT_DOUBLE_EQ(memory_per_stage(sc, w)[5].in_flight_microbatches, 3);
}

// Recomputing a share of the layers (fms-fsdp's selective_checkpointing, Megatron's block
// method) costs that share of full recomputation's extra forward, and keeps the other layers'
// activations whole: step time and activations lie between none and full, in proportion.
TEST(Simulator, RecomputingAShareOfTheLayersCostsThatShare) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b, seq_len: 2048}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {dp: 8, zero: 3, micro_batch: 1, global_batch: 16, recompute: full, recompute_fraction: 0.25}
)",
                                   "quarter.yaml");
  const auto run = [](Scenario s, Recompute r, double fraction) {
    s.plan.recompute = r;
    s.plan.recompute_fraction = fraction;
    const CostModel cost(s.cluster.topology.gpu, s.plan.precision);
    const double activations = memory_per_stage(s, build_workload(s.model, s.plan, cost)).front().activations;
    return std::pair{simulate_step(s).step_time, activations};
  };
  const auto none = run(sc, Recompute::none, 1), full = run(sc, Recompute::full, 1);
  const auto quarter = run(sc, Recompute::full, 0.25);
  ASSERT_GT(full.first, none.first);
  ASSERT_LT(full.second, none.second);
  // 8 of the 32 layers rerun their forward: a quarter of the extra time (its gathers aside).
  EXPECT_NEAR((quarter.first - none.first) / (full.first - none.first), 0.25, 0.05);
  // 24 layers keep everything where full recomputation keeps only their input.
  PlanSpec kept = sc.plan;
  kept.recompute = Recompute::none;
  const double per_kept = activation_bytes_per_layer(sc.model, kept, true);
  const double per_input = activation_bytes_per_layer(sc.model, sc.plan, true);
  EXPECT_NEAR(quarter.second - full.second, 24 * (per_kept - per_input), 1e-6 * quarter.second);
  EXPECT_DOUBLE_EQ(run(sc, Recompute::full, 0).first, none.first);
}

// The same plan's step: kept, each layer's gradients are reduce-scattered once (after the last
// micro-batch); resharded, once per micro-batch.
TEST(Simulator, FsdpWithPipelineStagesReducesGradientsOnce) {
  Scenario sc = load_scenario_text(R"(
model: {arch: llama, layers: 8, hidden: 2048, heads: 16, vocab: 32000, seq_len: 2048}
cluster: {topology: dgx-h100-superpod, gpus: 16}
plan: {pp: 2, dp: 8, zero: 3, micro_batch: 1, global_batch: 32}
)",
                                   "fsdp-pp-step.yaml");
  SimulationOptions options;
  options.record_trace = true;
  options.periodic = false;
  const auto reduces = [&](const Scenario& s) {
    int n = 0;
    for (const auto& e : simulate_step(s, options).trace) {
      if (e.gpu == 0 && e.stream == "dp" && e.name == "gradient reduce-scatter") ++n;
    }
    return n;
  };
  const int kept = reduces(sc);
  EXPECT_GE(kept, 4);
  EXPECT_LE(kept, 5);  // stage 0's four layers, and its embedding's
  sc.plan.reshard_after_forward = Reshard::always;
  EXPECT_GE(reduces(sc), 4 * kept);  // four micro-batches
}

// Without overlap_grad_reduce (Megatron-LM's local DDP of 2021) no model chunk's gradients leave
// before the stage's last backward: an interleaved stage's later chunks finish their backwards
// early, and with overlap their buckets run beside the other chunks' cool-down.
TEST(Simulator, GradientsWithoutOverlapLeaveAfterTheWholeBackward) {
  Scenario sc = load_scenario_text(R"(
model: {arch: gpt, layers: 8, hidden: 2048, heads: 16, vocab: 32000, seq_len: 2048}
cluster: {topology: dgx-a100-superpod, gpus: 32}
plan: {tp: 8, pp: 2, dp: 2, micro_batch: 1, global_batch: 16, schedule: interleaved, virtual_stages: 2, zero: 0}
)",
                                   "no-overlap.yaml");
  SimulationOptions options;
  options.record_trace = true;
  options.periodic = false;
  // Stage 0's last compute end, and its first gradient reduction's start.
  const auto times = [&](bool overlap) {
    sc.plan.overlap_grad_reduce = overlap;
    const StepResult r = simulate_step(sc, options);
    double last_compute = 0, first_reduce = 1e30;
    for (const auto& e : r.trace) {
      if (e.gpu != 0) continue;
      if (e.stream == "compute") last_compute = std::max(last_compute, e.end);
      if (e.stream == "dp" && e.name.find("gradient") != std::string::npos)
        first_reduce = std::min(first_reduce, e.start);
    }
    return std::pair{last_compute, first_reduce};
  };
  const auto [compute_end, reduce_start] = times(false);
  EXPECT_GE(reduce_start, compute_end - 1e-9);
  const auto [overlapped_end, overlapped_start] = times(true);
  EXPECT_LT(overlapped_start, overlapped_end);
  // The search's closed form waits for the whole reduction too.
  const auto estimate = [&](bool overlap) {
    sc.plan.overlap_grad_reduce = overlap;
    return predict_estimate(sc).step.step_time;
  };
  EXPECT_GT(estimate(false), estimate(true));
}

// Megatron-Core's distributed optimizer gathers the weights it updated. With overlap_param_gather
// the next step's first forward waits for them layer by layer, a layer's gather running beside
// the previous layer's forward; without it the whole gather follows the optimizer step.
TEST(Simulator, DistributedOptimizerGathersBesideTheFirstForward) {
  Scenario sc = load_scenario_text(R"(
model: {arch: gpt, layers: 8, hidden: 4096, heads: 32, vocab: 32000, seq_len: 2048}
cluster: {topology: dgx-h100-superpod, gpus: 16}
plan: {tp: 1, pp: 1, dp: 16, micro_batch: 1, global_batch: 32, zero: 1}
)",
                                   "param-gather.yaml");
  SimulationOptions options;
  options.record_trace = true;
  options.periodic = false;
  struct Run {
    double step, last_compute_end, gather_first_start, gather_last_end, gather_waited;
  };
  const auto run = [&](bool overlap) {
    sc.plan.overlap_param_gather = overlap;
    const StepResult r = simulate_step(sc, options);
    Run out{r.step_time, 0, 1e30, 0, 0};
    for (const auto& e : r.trace) {
      if (e.gpu != 0) continue;
      if (e.stream == "compute") out.last_compute_end = std::max(out.last_compute_end, e.end);
      if (e.stream == "dp" && e.name == "parameter all-gather") {
        out.gather_first_start = std::min(out.gather_first_start, e.start);
        out.gather_last_end = std::max(out.gather_last_end, e.end);
        out.gather_waited += e.end - e.start;
      }
    }
    return out;
  };
  const Run after = run(false), beside = run(true);
  // Without overlap: one gather, after every kernel of the step.
  EXPECT_GE(after.gather_first_start, after.last_compute_end - 1e-9);
  EXPECT_GT(after.gather_waited, 0);
  // With it: waits inside the first forward, fewer seconds than the whole gather, and the step
  // shorter by at most that gather.
  EXPECT_GT(beside.gather_waited, 0);
  EXPECT_LT(beside.gather_last_end, beside.last_compute_end);
  EXPECT_LT(beside.gather_waited, after.gather_waited);
  EXPECT_LT(beside.step, after.step);
  EXPECT_LE(after.step - beside.step, after.gather_waited + 1e-9);
  // The search's closed form hides it too.
  const auto estimate = [&](bool overlap) {
    sc.plan.overlap_param_gather = overlap;
    return predict_estimate(sc).step.step_time;
  };
  EXPECT_GT(estimate(false), estimate(true));
}

// Async TP / --tp-comm-overlap: each block's collectives hide behind its linear GEMMs but one
// step of tp (the first gather or last reduce-scatter chunk) stays exposed.
TEST(Simulator, OverlappedTensorParallelHidesAllButOneStep) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 1, global_batch: 16, sequence_parallel: true}
)",
                                   "async-tp.yaml");
  const double plain = simulate_step(sc).breakdown.exposed_comm.at("tp");
  sc.plan.tp_comm_overlap = true;
  sc.plan.tp_overlap = TpOverlap::async;
  const StepResult overlapped = simulate_step(sc);
  const double hidden = overlapped.breakdown.exposed_comm.at("tp");
  EXPECT_LT(hidden, 0.5 * plain);
  EXPECT_GT(hidden, plain / 8 * 0.95);
  EXPECT_NEAR(predict_estimate(sc).step.step_time, overlapped.step_time, 0.1 * overlapped.step_time);
  // Userbuffers: at least the forward's last reduce-scatter split (of 4, half the forward's
  // bytes) stays exposed; the backward's bulk and ring-exchange collectives only where their
  // GEMMs are shorter.
  sc.plan.tp_overlap = TpOverlap::userbuffers;
  const StepResult userbuffers = simulate_step(sc);
  const double ub = userbuffers.breakdown.exposed_comm.at("tp");
  EXPECT_LT(ub, hidden);
  EXPECT_GT(ub, plain / 2 / 8 * 0.95);  // the forward's share of `plain`, an eighth of it
  EXPECT_NEAR(predict_estimate(sc).step.step_time, userbuffers.step_time, 0.1 * userbuffers.step_time);
}

// The forward's floor under userbuffers is the last of the reduce-scatter's 4 splits: an eighth
// of the forward's collectives when both move 16-bit values, a sixth when the all-gather moves
// FP8 (the reduce-scatter then two thirds of the bytes).
TEST(Simulator, UserbufferForwardExposesTheLastReduceScatterSplit) {
  PlanSpec p;
  p.tp = 8;
  p.sequence_parallel = true;
  p.tp_comm_overlap = true;
  p.tp_overlap = TpOverlap::userbuffers;
  EXPECT_DOUBLE_EQ(p.tp_overlap_exposed(1.0, 10.0, true), 1.0 / 8);
  EXPECT_DOUBLE_EQ(p.tp_overlap_exposed(1.0, 10.0, true, 2.0 / 3), 1.0 / 6);
  EXPECT_DOUBLE_EQ(p.tp_overlap_exposed(1.0, 10.0, false), 0.0);
  EXPECT_DOUBLE_EQ(p.tp_overlap_exposed(1.0, 0.25, true), 0.75);  // GEMMs too short to cover it
  p.sequence_parallel = false;                                    // userbuffers needs it: nothing overlaps
  EXPECT_DOUBLE_EQ(p.tp_overlap_exposed(1.0, 10.0, true), 1.0);
}

TEST(Simulator, ComputeBesideDataParallelCollectivesRunsOnTheSmsTheyLeave) {
  // FSDP over two DGX A100 nodes: each layer's forward runs beside the next layer's gather and
  // each backward beside gathers and reduce-scatters. With 27 of the A100's 108 SMs held by NCCL
  // (a quarter), compute runs at 3/4 of its rate while they last: longer than alone, never more
  // than 4/3 of it. Without data-parallel traffic nothing changes.
  const auto fsdp = [](int gpus, int sms) {
    return load_scenario_text("model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: " +
                                  std::to_string(gpus) + "}\nplan: {dp: " + std::to_string(gpus) +
                                  ", zero: 3, micro_batch: 4, global_batch: " + std::to_string(8 * gpus) +
                                  ", collective_sms: " + std::to_string(sms) + "}\n",
                              "fsdp.yaml");
  };
  const auto run = [&](int gpus, int sms) { return simulate_step(fsdp(gpus, sms)); };
  const StepResult alone = run(16, 0), beside = run(16, 27);
  EXPECT_GT(beside.breakdown.compute, 1.03 * alone.breakdown.compute);
  EXPECT_LE(beside.breakdown.compute, alone.breakdown.compute * 4 / 3 * (1 + 1e-9));
  EXPECT_GT(beside.step_time, alone.step_time);
  EXPECT_DOUBLE_EQ(run(1, 27).step_time, run(1, 0).step_time);
  // The estimate prices the same sharing.
  const auto estimate = [&](int sms) { return estimate_step(fsdp(16, sms)).step_time; };
  EXPECT_GT(estimate(27), estimate(0));
  EXPECT_NEAR(estimate(27) / beside.step_time, 1.0, 0.05);
}

// torchtitan's per-op recomputation keeps reduce-scatter outputs but not all-gather outputs, so
// the backward gathers the attention and MLP inputs again: ten collectives a layer instead of
// eight (two all-gathers and two reduce-scatters each way), in the simulator and the estimate.
TEST(Simulator, PerOpRecomputationGathersTheSequenceParallelInputsAgain) {
  Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 1, global_batch: 16, sequence_parallel: true, recompute: selective}
)",
                                   "op-recompute.yaml");
  const double kept = simulate_step(sc).breakdown.exposed_comm.at("tp");
  sc.plan.recompute = Recompute::op;
  const StepResult op = simulate_step(sc);
  EXPECT_NEAR(op.breakdown.exposed_comm.at("tp") / kept, 10.0 / 8.0, 0.02);
  EXPECT_NEAR(predict_estimate(sc).step.step_time, op.step_time, 0.1 * op.step_time);
  sc.plan.sequence_parallel = false;  // all-reduces only: nothing gathered, nothing to gather again
  const double plain_op = simulate_step(sc).breakdown.exposed_comm.at("tp");
  sc.plan.recompute = Recompute::selective;
  const double plain_kept = simulate_step(sc).breakdown.exposed_comm.at("tp");
  EXPECT_NEAR(plain_op, plain_kept, 1e-9 * plain_kept);
}

TEST(Prediction, DoesNotFitStillPredicts) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: llama2-70b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 1, global_batch: 1}
)",
                                         "big.yaml");
  const Prediction p = predict(sc);
  EXPECT_FALSE(p.memory.fits());
  EXPECT_GT(p.step.step_time, 0);
  EXPECT_FALSE(prediction_json(p)["fits_in_memory"].get<bool>());
}

TEST(Prediction, SameInputGivesByteIdenticalOutput) {
  const Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/llama2-70b-512-h100.yaml");
  SimulationOptions options;
  options.record_trace = true;
  const Prediction a = predict(sc, options);
  const Prediction b = predict(sc, options);
  EXPECT_EQ(prediction_json(a).dump(), prediction_json(b).dump());
  EXPECT_EQ(chrome_trace(a), chrome_trace(b));
}

TEST(Prediction, JsonHasTheContractKeys) {
  const Prediction p =
      predict(load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt3-1.3b-single-h200.yaml"));
  const auto j = prediction_json(p);
  for (const char* key :
       {"scenario", "gpus", "step_time_s", "tokens_per_s", "mfu", "model_tflops_per_gpu", "hardware_tflops_per_gpu",
        "breakdown_s", "memory_per_gpu_bytes", "fits_in_memory", "time_to_train_s"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"compute", "exposed_comm", "bubble", "optimizer"})
    EXPECT_TRUE(j["breakdown_s"].contains(key));
  for (const char* key : {"params", "grads", "optimizer", "activations", "peak"}) {
    EXPECT_TRUE(j["memory_per_gpu_bytes"].contains(key));
  }
  EXPECT_GT(j["mfu"].get<double>(), 0.2);
  EXPECT_LT(j["mfu"].get<double>(), 0.9);
  // The breakdown of the critical stage adds up to the step.
  const auto& b = j["breakdown_s"];
  EXPECT_NEAR(b["compute"].get<double>() + b["exposed_comm"].get<double>() + b["bubble"].get<double>() +
                  b["optimizer"].get<double>(),
              j["step_time_s"].get<double>(), 1e-6);
}

TEST(Prediction, DataParallelCommunicationShowsOnSlowNetworks) {
  Scenario sc = load_scenario_text(R"(
model: {preset: gpt3-1.3b}
cluster: {topology: dgx-a100-superpod, gpus: 64}
plan: {tp: 8, micro_batch: 1, global_batch: 8}
)",
                                   "dp.yaml");
  const double fast = predict(sc).step.step_time;
  sc.cluster.topology.nic_bandwidth /= 100;
  const Prediction slow = predict(sc);
  EXPECT_GT(slow.step.step_time, fast);
  EXPECT_GT(slow.step.breakdown.exposed_comm.at("dp"), 0);
}

TEST(Platform, ExportedXmlLoadsInSimGridWithTheSameRoutes) {
  const TopologySpec topology = load_topology("dgx-a100-superpod");
  const ClusterGraph graph = build_cluster_graph(topology, 24);
  const std::string path = testing::TempDir() + "/platform.xml";
  {
    std::ofstream out(path);
    out << platform_xml(graph);
  }
  const auto result = run_isolated([&] {
    int argc = 2;
    char arg0[] = "test";
    char arg1[] = "--log=root.thres:critical";
    char* argv[] = {arg0, arg1, nullptr};
    simgrid::s4u::Engine engine(&argc, argv);
    engine.load_platform(path);
    nlohmann::json out = {{"hosts", engine.get_host_count()}};
    // Routes resolve once the simulation runs: ask from inside an actor.
    simgrid::s4u::Actor::create("probe", engine.host_by_name("gpu0"), [&] {
      for (const char* to : {"gpu7", "gpu191"}) {
        std::vector<simgrid::s4u::Link*> links;
        double latency = 0;
        engine.host_by_name("gpu0")->route_to(engine.host_by_name(to), links, &latency);
        out[to] = {{"links", links.size()}, {"latency", latency}};
      }
    });
    engine.run();
    return out;
  });
  EXPECT_EQ(result["hosts"].get<int>(), 192);
  // GPU 0 to GPU 7 through the NVSwitch: two NVLink ports.
  EXPECT_EQ(result["gpu7"]["links"].get<int>(), 2);
  EXPECT_NEAR(result["gpu7"]["latency"].get<double>(), topology.intra_latency, 1e-12);
  // GPU 0 (node 0, leaf 0) to GPU 191 (node 23, leaf 1): NIC, join, uplink, uplink, join, NIC.
  EXPECT_EQ(result["gpu191"]["links"].get<int>(), 6);
  EXPECT_NEAR(result["gpu191"]["latency"].get<double>(), topology.nic_latency + 3 * topology.switch_latency, 1e-12);
}

// SimGrid's link load plugin: every link that carried data reports a utilisation in (0, 1]; the
// NICs carry the data-parallel traffic, NVLink the tensor-parallel traffic.
TEST(Simulator, LinkUtilisationIsRecordedWhenAsked) {
  const Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt3-1.3b-32xa100.yaml");
  SimulationOptions options;
  options.record_link_load = true;
  const StepResult with = simulate_step(sc, options);
  ASSERT_FALSE(with.link_utilisation.empty());
  bool nic = false, nvlink = false;
  for (const auto& [name, u] : with.link_utilisation) {
    EXPECT_GT(u, 0) << name;
    EXPECT_LE(u, 1.0 + 1e-6) << name;
    nic = nic || name.find("-nic") != std::string::npos;
    nvlink = nvlink || name.find("-nvlink") != std::string::npos;
  }
  EXPECT_TRUE(nic);
  EXPECT_TRUE(nvlink || sc.plan.tp == 1);
  EXPECT_TRUE(simulate_step(sc).link_utilisation.empty());  // off by default: the search does not pay for it
}

// DeepSpeed's ZeRO-3 of 2021 (zero3_unit: parameter, zero3_list_collectives): one all-gather per
// weight tensor (GPT's layer: QKV, output, up and down projections), each also launching a copy per
// rank; a recomputed forward gathers the weights a third time.
TEST(Simulator, PerParameterZero3GathersEachTensorAndRefetchesForRecompute) {
  Scenario sc = load_scenario_text(R"(
model: {arch: gpt, layers: 4, hidden: 1024, heads: 16, vocab: 32000, seq_len: 1024}
cluster: {topology: dgx-a100-superpod, gpus: 16}
plan: {dp: 16, zero: 3, micro_batch: 1, global_batch: 16, overlap_param_gather: false, zero3_unit: parameter}
)",
                                   "zero3-per-parameter.yaml");
  SimulationOptions options;
  options.record_trace = true;
  options.periodic = false;
  struct Gathers {
    int count = 0;
    double seconds = 0;
  };
  const auto gathers = [&](const Scenario& s) {
    Gathers g;
    for (const auto& e : simulate_step(s, options).trace) {
      if (e.gpu != 0 || e.stream != "dp" || e.name != "gather layer") continue;
      ++g.count;
      g.seconds += e.end - e.start;
    }
    return g;
  };
  const Gathers plain = gathers(sc);
  EXPECT_EQ(plain.count, 8);  // forward and backward of four layers
  sc.plan.zero3_list_collectives = true;
  const Gathers listed = gathers(sc);
  EXPECT_EQ(listed.count, 8);
  // GPT's layer has 12 parameter tensors: QKV, projection, up and down weights, their biases,
  // and the two LayerNorms' scales and shifts; each gather copies one slice per rank.
  const double copies = 8 * 12 * 16 * gpu_preset("a100-80gb-sxm").kernel_interval_s;
  EXPECT_NEAR(listed.seconds - plain.seconds, copies, 0.1 * copies);
  sc.plan.recompute = Recompute::full;
  EXPECT_EQ(gathers(sc).count, 12);
  // The search's closed form prices the same collectives.
  const double full = simulate_step(sc).step_time;
  EXPECT_NEAR(predict_estimate(sc).step.step_time, full, 0.10 * full);
  sc.plan.zero3_unit = Zero3Unit::layer;  // FSDP's unit: the recompute runs on the backward's gather
  EXPECT_EQ(gathers(sc).count, 8);
  // Per parameter, Llama's layer is 6 tensors (fused QKV, output, fused gate+up, down, two RMSNorm
  // scales), DeepSeek-V3's MoE layer 14 (MLA's five projections and two latent norms, the router,
  // shared and routed experts' two weights each, the layer's two norms).
  Scenario llama = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/llama3-8b-8xh100.yaml");
  llama.plan.zero3_unit = Zero3Unit::parameter;
  const CostModel cost(llama.cluster.topology.gpu, llama.plan.precision);
  EXPECT_EQ(zero3_collectives(llama.model, llama.plan, build_workload(llama.model, llama.plan, cost).layer), 6);
  llama.model = model_preset("deepseek-v3");
  EXPECT_EQ(zero3_collectives(llama.model, llama.plan, build_workload(llama.model, llama.plan, cost).layer), 14);
}

// Hybrid sharding: each layer's weights are gathered inside a node (dp_shard 8) and its reduced
// gradient shard is all-reduced across the 4 replicas. dp_shard = dp is plain sharding; where a
// GPU's NIC is slow (100 Gb/s) gathering over NVLink is faster than over all 32 ranks, in the
// simulation and the closed form alike.
TEST(Simulator, HybridShardingGathersInItsGroupAndAllReducesAcrossReplicas) {
  const Scenario full = load_scenario_text(R"(
model: {preset: llama2-7b, seq_len: 1024}
cluster: {topology: dgx-h100-superpod, gpus: 32, nic_bandwidth: 100Gb/s}
plan: {dp: 32, zero: 3, micro_batch: 1, global_batch: 32}
)",
                                           "fsdp.yaml");
  Scenario whole = full, hybrid = full;
  whole.plan.dp_shard = 32;
  hybrid.plan.dp_shard = 8;
  SimulationOptions options;
  options.record_trace = true;
  const StepResult plain = simulate_step(full, options);
  EXPECT_DOUBLE_EQ(simulate_step(whole, options).step_time, plain.step_time);
  const StepResult hsdp = simulate_step(hybrid, options);
  EXPECT_LT(hsdp.step_time, 0.85 * plain.step_time);
  EXPECT_LT(estimate_step(hybrid).step_time, 0.85 * estimate_step(full).step_time);
  const auto count = [](const StepResult& r, const std::string& name) {
    return std::count_if(r.trace.begin(), r.trace.end(), [&](const TraceEvent& e) { return e.name == name; });
  };
  // One per layer's reduce-scatter, and one for the embedding and head gradients.
  EXPECT_EQ(count(hsdp, "gradient all-reduce across shard replicas"), full.model.layers + 1);
  EXPECT_EQ(count(plain, "gradient all-reduce across shard replicas"), 0);
}

// With tp_comm_overlap the linear layers beside the TP collectives run as tp GEMMs of a tp-th of
// the tokens each (async TP's micro-pipeline): each chunk pays its own last wave. Their input
// gradients are split alike, their weight gradients are not; the attention core is untouched.
TEST(Workload, OverlappedTensorParallelGemmsRunInTpChunks) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 12, global_batch: 12, sequence_parallel: true, tp_comm_overlap: async}
)",
                                         "async-tp.yaml");
  Scenario plain = sc;
  plain.plan.tp_comm_overlap = false;
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload chunked = build_workload(sc.model, sc.plan, cost);
  const Workload whole = build_workload(plain.model, plain.plan, cost);
  const auto find = kernel_named;
  const double tokens = 12.0 * 8192;
  const double qkv_width = (4096 + 2 * 1024) / 8.0;
  const double chunk = cost.gemm_time({tokens / 8, qkv_width, 4096, 1}, GemmKind::linear);
  const Kernel qkv = find(chunked.layer.attention_forward, "qkv projection");
  EXPECT_NEAR(qkv.time, 8 * chunk, 1e-12);
  EXPECT_DOUBLE_EQ(qkv.whole_time, find(whole.layer.attention_forward, "qkv projection").time);
  EXPECT_GT(qkv.time, qkv.whole_time);  // 96 x 3 tiles a chunk: 3 waves of 132 SMs for 2.2 waves of work
  EXPECT_DOUBLE_EQ(find(chunked.layer.attention_backward, "qkv projection dgrad").time, qkv.time);
  EXPECT_DOUBLE_EQ(find(chunked.layer.attention_backward, "qkv projection wgrad").time, qkv.whole_time);
  // The other three beside a collective: split too, priced as whole without the overlap.
  const std::vector<std::pair<const Block*, const Block*>> blocks = {
      {&chunked.layer.attention_forward, &whole.layer.attention_forward},
      {&chunked.layer.mlp_forward, &whole.layer.mlp_forward}};
  int split = 0;
  for (const auto& [a, b] : blocks) {
    for (const Kernel& k : a->kernels) {
      if (k.whole_time <= 0) continue;
      ++split;
      EXPECT_DOUBLE_EQ(k.whole_time, find(*b, k.name).time) << k.name;
      EXPECT_GE(k.time, k.whole_time) << k.name;
    }
  }
  EXPECT_EQ(split, 4);  // qkv, output, gate + up, down
  EXPECT_DOUBLE_EQ(find(chunked.layer.attention_forward, "flash attention").time,
                   find(whole.layer.attention_forward, "flash attention").time);
}

// Transformer Engine's userbuffers (Megatron-LM's --tp-comm-overlap, tp_comm_overlap: true): the
// GEMM after a gather runs in tp chunks, the one before a reduce-scatter in 4, up to 3 chunks at
// once on their own streams; the latter's input gradient in tp chunks; the other backward GEMMs
// whole, beside bulk collectives whose kernels hold 16 SMs, as the pipelined forward's do.
TEST(Workload, UserbufferGemmsRunInChunksThreeAtATime) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 1, global_batch: 1, sequence_parallel: true, tp_comm_overlap: true}
)",
                                         "userbuffers.yaml");
  ASSERT_EQ(sc.plan.tp_overlap, TpOverlap::userbuffers);
  Scenario async = sc;
  async.plan.tp_overlap = TpOverlap::async;
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const Workload ub = build_workload(sc.model, sc.plan, cost);
  const Workload chunked = build_workload(async.model, async.plan, cost);
  const auto find = kernel_named;
  const double m = 8192, qkv = (4096 + 2 * 1024) / 8.0;
  const int margin = sc.cluster.topology.gpu.sm_count - 16;
  const auto t = [&](double rows, double n, double k, int sms = 0) {
    return cost.gemm_time({rows, n, k, 1, sms}, GemmKind::linear);
  };
  const Kernel q = find(ub.layer.attention_forward, "qkv projection");
  // 8 chunks on 3 streams: rounds of 3, 3 and 2.
  EXPECT_NEAR(q.time, std::max(t(m, qkv, 4096), 2 * t(3 * m / 8, qkv, 4096) + t(2 * m / 8, qkv, 4096)), 1e-12);
  EXPECT_LT(q.time, find(chunked.layer.attention_forward, "qkv projection").time);  // 88 tiles a chunk alone
  EXPECT_NEAR(find(ub.layer.attention_backward, "qkv projection dgrad").time, t(m, qkv, 4096, margin), 1e-12);
  EXPECT_NEAR(find(ub.layer.attention_backward, "qkv projection wgrad").time, t(m, qkv, 4096, margin), 1e-12);
  const Kernel o = find(ub.layer.attention_forward, "output projection");
  EXPECT_NEAR(o.time, std::max(t(m, 4096, 512), t(3 * m / 4, 4096, 512, margin) + t(m / 4, 4096, 512, margin)), 1e-12);
  EXPECT_NEAR(find(ub.layer.attention_backward, "output projection dgrad").time,
              std::max(t(m, 4096, 512), 2 * t(3 * m / 8, 4096, 512) + t(2 * m / 8, 4096, 512)), 1e-12);
  EXPECT_NEAR(find(ub.layer.attention_backward, "output projection wgrad").time, t(m, 4096, 512), 1e-12);
  // Fewer SMs, more waves where the tiles filled them: 33 x 4 tiles of 128 x 256, one wave on
  // 132 SMs, two on 116.
  EXPECT_NEAR(t(33 * 128, 4 * 256, 4096, margin), 2 * t(33 * 128, 4 * 256, 4096), 1e-12);
}

// Unfused attention streams its s x s scores through memory: the fused scale-mask-softmax reads
// and writes them, and dropout, where the model trains with it, reads and writes them and a byte
// mask; the backward is priced at twice that. Llama-family models launch no dropout at all.
TEST(Workload, UnfusedAttentionRunsDropoutOnlyWhereTheModelTrainsWithIt) {
  for (const char* preset : {"gpt3-1.3b", "llama2-7b"}) {
    const Scenario sc = load_scenario_text(std::string("model: {preset: ") + preset + R"(}
cluster: {topology: dgx-a100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 1, global_batch: 1, attention: unfused}
)",
                                           "unfused.yaml");
    const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
    const Workload w = build_workload(sc.model, sc.plan, cost);
    const double scores = double(sc.model.heads) / 8 * sc.model.seq_len * sc.model.seq_len;
    const bool dropout = sc.model.dropout();
    EXPECT_EQ(dropout, std::string(preset) == "gpt3-1.3b");
    const std::string name = dropout ? "softmax + dropout" : "softmax";
    EXPECT_DOUBLE_EQ(kernel_named(w.layer.attention_forward, name).bytes, scores * (dropout ? 9 : 4)) << preset;
    EXPECT_DOUBLE_EQ(kernel_named(w.layer.attention_backward, name + " backward").bytes, scores * (dropout ? 18 : 8))
        << preset;
  }
}

// A GPT-shaped model told it has rotary positions, no biases and no dropout (Nemotron-4) loses
// the learned position table and the biases from its parameters, gains the rotary kernel, keeps
// no dropout masks, and writes the three fields back; one told ALiBi has neither table nor kernel.
TEST(Workload, GptShapedModelsCanTrainAsNemotronDoes) {
  const std::string base = R"(
cluster: {topology: dgx-a100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 1, global_batch: 1, recompute: none}
model: {arch: gpt, layers: 4, hidden: 4096, heads: 32, kv_heads: 8, ffn_hidden: 16384, vocab: 256000, seq_len: 4096)";
  const Scenario gpt = load_scenario_text(base + "}\n", "gpt.yaml");
  const Scenario nemotron =
      load_scenario_text(base + ", positions: rotary, biases: false, dropout: false}\n", "nemotron.yaml");
  const ModelSpec& m = nemotron.model;
  EXPECT_FALSE(m.learned_positions());
  EXPECT_FALSE(m.biases());
  EXPECT_FALSE(m.dropout());
  EXPECT_TRUE(gpt.model.learned_positions() && gpt.model.biases() && gpt.model.dropout());
  const double h = m.hidden, f = m.ffn_hidden, kv = m.kv_hidden();
  const double biases_per_layer = (h + 2 * kv) + h + f + h;  // qkv, projection, up, down
  EXPECT_DOUBLE_EQ(total_parameters(gpt.model) - total_parameters(m), m.seq_len * h + m.layers * biases_per_layer);
  const CostModel cost(nemotron.cluster.topology.gpu, nemotron.plan.precision);
  const Workload with_rope = build_workload(m, nemotron.plan, cost);
  EXPECT_GT(kernel_named(with_rope.layer.attention_forward, "rotary embedding").bytes, 0);
  const Workload without = build_workload(gpt.model, gpt.plan, cost);
  const auto& learned = without.layer.attention_forward.kernels;
  EXPECT_TRUE(
      std::none_of(learned.begin(), learned.end(), [](const Kernel& k) { return k.name == "rotary embedding"; }));
  // Korthikanti et al.'s replicated activations: 10 sbh with dropout's masks, 8 without.
  const double sbh = double(m.seq_len) * m.hidden;
  EXPECT_NEAR(
      activation_bytes_per_layer(gpt.model, gpt.plan, true) - activation_bytes_per_layer(m, nemotron.plan, true),
      2 * sbh / (nemotron.plan.sequence_parallel ? 8 : 1), 1.0);
  const Scenario again = load_scenario_text(scenario_to_yaml(nemotron), "again.yaml");
  EXPECT_EQ(again.model.positions, Positions::rotary);
  EXPECT_EQ(again.model.biases_on, 0);
  EXPECT_EQ(again.model.dropout_on, 0);
  // ALiBi (BLOOM): no position table and no rotary kernel; the attention kernel adds the bias.
  const Scenario alibi = load_scenario_text(base + ", positions: alibi}\n", "alibi.yaml");
  EXPECT_FALSE(alibi.model.learned_positions());
  EXPECT_FALSE(alibi.model.rotary_positions());
  EXPECT_DOUBLE_EQ(total_parameters(gpt.model) - total_parameters(alibi.model), m.seq_len * h);
  const auto& biased = build_workload(alibi.model, alibi.plan, cost).layer.attention_forward.kernels;
  EXPECT_TRUE(std::none_of(biased.begin(), biased.end(), [](const Kernel& k) { return k.name == "rotary embedding"; }));
  EXPECT_EQ(load_scenario_text(scenario_to_yaml(alibi), "again.yaml").model.positions, Positions::alibi);
}

// ZeRO-3 with nothing to shard over (dp = cp = 1) gathers nothing: no gather buffers, the same
// memory as ZeRO 0 (they were counted: 178 MiB on Llama 3 8B at tp 8).
TEST(Memory, Zero3WithOneDataParallelRankHoldsNoGatherBuffers) {
  const std::string text = R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-a100-superpod, gpus: 8, gpu: a100-80gb-sxm}
plan: {tp: 8, micro_batch: 1, global_batch: 4, zero: )";
  const Scenario zero0 = load_scenario_text(text + "0}\n", "z0.yaml");
  const Scenario zero3 = load_scenario_text(text + "3}\n", "z3.yaml");
  const CostModel cost(zero3.cluster.topology.gpu, zero3.plan.precision);
  const MemoryBreakdown with = peak_memory(zero3, build_workload(zero3.model, zero3.plan, cost));
  const MemoryBreakdown without = peak_memory(zero0, build_workload(zero0.model, zero0.plan, cost));
  EXPECT_DOUBLE_EQ(with.buffers, 0.0);
  EXPECT_DOUBLE_EQ(with.peak, without.peak);
  // With two replicas the gathered layer and the prefetched one are held beside the gradient
  // buckets; not where each replica is its own shard group (dp_shard 1: nothing gathered).
  Scenario two = zero3;
  two.plan.dp = 2;
  two.cluster.gpus = 16;
  Scenario buckets_only = two;
  buckets_only.plan.zero = 1;
  const double buckets = peak_memory(buckets_only, build_workload(two.model, buckets_only.plan, cost)).buffers;
  EXPECT_GT(peak_memory(two, build_workload(two.model, two.plan, cost)).buffers, buckets);
  two.plan.dp_shard = 1;
  EXPECT_DOUBLE_EQ(peak_memory(two, build_workload(two.model, two.plan, cost)).buffers, buckets);
}

// Parallel attention and MLP blocks (GPT-NeoX, Falcon, PaLM) reduce their two branches' summed
// outputs once a forward, where the sequential block reduces each; as GPT-NeoX builds them each
// branch still gathers its own input (sequence parallelism) and reduces its own input gradient.
// Of the sequential layer's tensor-parallel exchanges (2 a forward, recomputed forward included,
// and 2 a backward) that leaves 1 a forward and 2 a backward without sequence parallelism, 1.5
// and 1.5 with it: the simulation's exposed tensor-parallel time and the estimate's step follow,
// the kernels stay the same, the layer keeps one norm input fewer, and the field is written back.
TEST(Workload, ParallelBlocksReduceTheirBranchesOnce) {
  for (const bool sp : {false, true}) {
    for (const char* recompute : {"none", "full"}) {
      const std::string text = std::string(R"(
cluster: {topology: dgx-a100-superpod, gpus: 16}
plan: {tp: 8, dp: 2, micro_batch: 1, global_batch: 4, sequence_parallel: )") +
                               (sp ? "true" : "false") + ", recompute: " + recompute + R"(}
model: {arch: gpt, layers: 8, hidden: 8192, heads: 64, kv_heads: 8, vocab: 65024, seq_len: 2048, positions: rotary,
        dropout: false, biases: false)";
      const Scenario sequential = load_scenario_text(text + "}\n", "sequential.yaml");
      const Scenario parallel = load_scenario_text(text + ", parallel_blocks: true}\n", "parallel.yaml");
      ASSERT_TRUE(parallel.model.parallel_blocks);
      ASSERT_FALSE(sequential.model.parallel_blocks);
      EXPECT_DOUBLE_EQ(total_parameters(parallel.model), total_parameters(sequential.model));
      const double forwards = std::string(recompute) == "full" ? 2 : 1;
      const double expected = ((sp ? 1.5 : 1.0) * forwards + (sp ? 1.5 : 2.0)) / (2 * forwards + 2);
      const StepResult one = simulate_step(parallel), two = simulate_step(sequential);
      const double tp_one = one.breakdown.exposed_comm.at("tp"), tp_two = two.breakdown.exposed_comm.at("tp");
      EXPECT_NEAR(tp_one / tp_two, expected, 0.03) << sp << " " << recompute;
      // (The kernels are the same; the gradient reduce beside them, which takes SMs, moves a little.)
      EXPECT_NEAR(one.breakdown.compute, two.breakdown.compute, 1e-2 * two.breakdown.compute);
      // The step gains what the exchanges took, less what the data-parallel reduce, now less
      // hidden behind a shorter backward, gives back.
      EXPECT_GT(two.step_time - one.step_time, 0.5 * (tp_two - tp_one)) << sp << " " << recompute;
      EXPECT_LT(two.step_time - one.step_time, 1.01 * (tp_two - tp_one)) << sp << " " << recompute;
      const Estimate quick_one = estimate_step(parallel), quick_two = estimate_step(sequential);
      EXPECT_NEAR(quick_two.step_time - quick_one.step_time, tp_two - tp_one, 0.25 * (tp_two - tp_one))
          << sp << " " << recompute;
      EXPECT_NEAR(quick_one.step_time / one.step_time, 1.0, 0.1);
    }
  }
  // One 16-bit norm input (the layer's input feeds both branches' norms), sequence-parallel.
  const Scenario parallel = load_scenario_text(R"(
cluster: {topology: dgx-a100-superpod, gpus: 16}
plan: {tp: 8, dp: 2, micro_batch: 1, global_batch: 4, sequence_parallel: true, recompute: none}
model: {arch: gpt, layers: 8, hidden: 8192, heads: 64, kv_heads: 8, vocab: 65024, seq_len: 2048, dropout: false,
        parallel_blocks: true}
)",
                                               "parallel.yaml");
  Scenario sequential = parallel;
  sequential.model.parallel_blocks = false;
  const double sbh = double(parallel.model.seq_len) * parallel.model.hidden;
  EXPECT_NEAR(activation_bytes_per_layer(sequential.model, sequential.plan, true) -
                  activation_bytes_per_layer(parallel.model, parallel.plan, true),
              2 * sbh / 8, 1.0);
  EXPECT_TRUE(load_scenario_text(scenario_to_yaml(parallel), "again.yaml").model.parallel_blocks);
}

// A shape a calibration profile measured on the whole GPU loses, beside a collective holding
// SMs, what its waves lose on the SMs left.
TEST(Workload, MeasuredGemmShapesKeepTheirRateOnlyWithEverySm) {
  const GpuSpec gpu = gpu_preset("h100-sxm-80gb");
  CalibrationProfile profile;
  profile.gemm_measured["4224x1024x4096"] = 600e12;
  const CostModel measured(gpu, Precision::bf16, profile);
  const CostModel modelled(gpu, Precision::bf16);
  const GemmShape whole{4224, 1024, 4096, 1};
  GemmShape held = whole;
  held.sms = gpu.sm_count - 16;  // 33 x 4 tiles: one wave on 132 SMs, two on 116
  const double flops = 2.0 * 4224 * 1024 * 4096;
  EXPECT_NEAR(measured.gemm_time(whole), flops / 600e12, 1e-12);
  EXPECT_NEAR(measured.gemm_time(held), 2 * flops / 600e12, 1e-12);
  EXPECT_NEAR(modelled.gemm_time(held), 2 * modelled.gemm_time(whole), 1e-12);
}

// Transformer Engine (gather_along_first_dim with the input's quantizer) and torchtitan's float8
// tensorwise TP (PrepareFloat8ModuleInput) quantize a column-parallel layer's sequence-parallel
// shard and all-gather FP8; torchao's row-wise recipe gathers bf16 and quantizes the whole.
TEST(Workload, PerTensorFp8GathersQuantizedSequenceParallelInputs) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {tp: 8, micro_batch: 2, global_batch: 2, sequence_parallel: true, precision: fp8, fp8_recipe: tensorwise}
)",
                                         "fp8-sp.yaml");
  Scenario rowwise = sc;
  rowwise.plan.fp8_recipe = Fp8Recipe::rowwise;
  ASSERT_TRUE(sc.plan.quantized_tp_gather());
  ASSERT_FALSE(rowwise.plan.quantized_tp_gather());
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision, {}, sc.plan.fp8_recipe);
  const Workload w = build_workload(sc.model, sc.plan, cost);
  const CostModel row_cost(sc.cluster.topology.gpu, sc.plan.precision, {}, Fp8Recipe::rowwise);
  const Workload r = build_workload(rowwise.model, rowwise.plan, row_cost);
  const double tokens = 2.0 * 8192, h = 4096;
  EXPECT_DOUBLE_EQ(w.comm.tp_bytes, tokens * h * 2);
  EXPECT_DOUBLE_EQ(w.comm.tp_gather_bytes, tokens * h);  // one byte a value
  EXPECT_DOUBLE_EQ(r.comm.tp_gather_bytes, r.comm.tp_bytes);
  const auto bytes = [](const Block& b, const std::string& name) {
    for (const Kernel& k : b.kernels)
      if (k.name == name) return k.bytes;
    ADD_FAILURE() << name;
    return 0.0;
  };
  // On the H100 (FP8 GEMMs take one layout): a current-scaling cast of 1/8 of the input (amax and
  // cast read 2 + 2 bytes, write 1), then the transposed copy of the gathered FP8 tensor (1 + 1).
  const double qkv_weights = h * (4096 + 2 * 1024) / 8.0;
  EXPECT_DOUBLE_EQ(bytes(w.layer.attention_forward, "qkv projection quantize"),
                   tokens * h * (5.0 / 8 + 2) + qkv_weights * 6);
  EXPECT_DOUBLE_EQ(cost.quantize_bytes(tokens * h), tokens * h * 6);  // whole: 2 + 2 amax + 2 layouts
  // The row-parallel layers' inputs are local: quantized whole, as before.
  EXPECT_DOUBLE_EQ(bytes(w.layer.attention_forward, "output projection quantize"),
                   cost.quantize_bytes(tokens * 4096 / 8.0) + cost.quantize_bytes(4096 / 8.0 * h));
  // torchao's row-wise recipe runs its gradient GEMMs with unit scales and rescales their outputs
  // (input and weight gradients) in a pass of its own: 2 bytes read and 2 written a value.
  const auto has = [](const Block& blk, const std::string& name) {
    return std::any_of(blk.kernels.begin(), blk.kernels.end(), [&](const Kernel& k) { return k.name == name; });
  };
  EXPECT_FALSE(has(w.layer.attention_backward, "qkv projection quantize gradient rescale"));
  EXPECT_DOUBLE_EQ(bytes(r.layer.attention_backward, "qkv projection quantize gradient rescale"),
                   4 * (tokens * h + qkv_weights));
  // In the simulated step the forward's two all-gathers a layer move half the bytes: of a layer's
  // eight tp collectives, those two cost half.
  const double tensorwise_tp = simulate_step(sc).breakdown.exposed_comm.at("tp");
  const double rowwise_tp = simulate_step(rowwise).breakdown.exposed_comm.at("tp");
  EXPECT_LT(tensorwise_tp, rowwise_tp);
  EXPECT_GT(tensorwise_tp, 0.8 * rowwise_tp);
}
