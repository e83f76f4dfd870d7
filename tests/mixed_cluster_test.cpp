// Clusters that mix GPU kinds (topology node_groups), and the network's energy.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "report/prediction.hpp"
#include "scenario/errors.hpp"
#include "scenario/scenario.hpp"
#include "search/search.hpp"
#include "topology/graph.hpp"
#include "workload/stages.hpp"

using namespace trainsim;

namespace {

// GPT-3 13B on 16 H100 nodes and 16 A100 nodes, two stages: H100 nodes first, A100 nodes second.
Scenario mixed_scenario(const std::string& extra_plan = "") {
  return load_scenario_text(R"(
model: {preset: gpt3-13b}
cluster: {topology: mixed-h100-a100, gpus: 256}
plan: {tp: 8, pp: 2, dp: 16, micro_batch: 1, global_batch: 128, sequence_parallel: true, zero: 1,
       placement: [tp, cp, dp, pp])" +
                                extra_plan + "}\n",
                            "mixed.yaml");
}

}  // namespace

TEST(MixedCluster, NodeGroupsGiveEachNodeItsGpu) {
  const TopologySpec t = load_topology("mixed-h100-a100");
  EXPECT_EQ(t.gpu_of_node(0).name, "h100-sxm-80gb");
  EXPECT_EQ(t.gpu_of_node(15).name, "h100-sxm-80gb");
  EXPECT_EQ(t.gpu_of_node(16).name, "a100-80gb-sxm");
  EXPECT_FALSE(t.mixed(128));  // the first 16 nodes only
  EXPECT_TRUE(t.mixed(136));
  // NVLink follows the node's GPU: 450 GB/s on H100 nodes, 300 GB/s on A100 nodes.
  const ClusterGraph g = build_cluster_graph(t);
  double h100_port = 0, a100_port = 0;
  for (auto [e, end] = boost::out_edges(g.gpus[0], g.graph); e != end; ++e) {
    if (g.graph[*e].kind == LinkKind::nvlink) h100_port = g.graph[*e].bandwidth;
  }
  for (auto [e, end] = boost::out_edges(g.gpus[16 * 8], g.graph); e != end; ++e) {
    if (g.graph[*e].kind == LinkKind::nvlink) a100_port = g.graph[*e].bandwidth;
  }
  EXPECT_DOUBLE_EQ(h100_port, t.gpu_of_node(0).nvlink_bandwidth);
  EXPECT_DOUBLE_EQ(a100_port, t.gpu_of_node(16).nvlink_bandwidth);
  EXPECT_GT(h100_port, a100_port);
}

TEST(MixedCluster, GroupsThatDoNotCoverTheNodesAreRefused) {
  const std::string text = R"(name: bad
gpus_per_node: 8
nodes: 4
node_groups:
  - {nodes: 1, gpu: h100-sxm-80gb}
  - {nodes: 2, gpu: a100-80gb-sxm}
)";
  try {
    parse_topology_text(text, "bad.yaml");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "node_groups");
    EXPECT_NE(std::string(e.what()).find("cover 3 nodes"), std::string::npos) << e.what();
  }
  try {
    parse_topology_text("name: bad\nnodes: 1\ngpus_per_node: 8\nnode_groups:\n  - {nodes: 1, gpu: h1000}\n",
                        "bad.yaml");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "node_groups[0].gpu");
    EXPECT_EQ(e.where().line, 5);
  }
}

// A node group may cap a GPU kind that the topology's `gpu` names uncapped: the cap is checked
// against what that GPU draws idle all the same, as a cap set in the scenario is.
TEST(MixedCluster, NodeGroupCapBelowIdleIsRefused) {
  const std::string dir = ::testing::TempDir() + "node-group-cap";
  std::filesystem::create_directories(dir);
  const auto write_topology = [&](const std::string& cap) {
    std::ofstream(dir + "/topology.yaml", std::ios::trunc)
        << "name: capped-groups\ngpu: h100-sxm-80gb\n"
           "gpus_per_node: 8\nnodes: 2\nnode_groups:\n"
           "  - {nodes: 1, gpu: {preset: h100-sxm-80gb, power_limit: "
        << cap
        << "}}\n  - {nodes: 1, gpu: a100-80gb-sxm}\n"
           "network: {kind: fat-tree, nic_bandwidth: 200Gb/s}\n";
  };
  write_topology("100W");
  const std::string scenario = R"(model: {preset: gpt3-1.3b}
cluster: {topology: topology.yaml, gpus: 16}
plan: {tp: 1, pp: 1, dp: 16, micro_batch: 1, global_batch: 16}
)";
  std::ofstream(dir + "/scenario.yaml") << scenario;
  try {
    load_scenario(dir + "/scenario.yaml");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "cluster.topology");
    EXPECT_EQ(e.where().line, 2);
    EXPECT_NE(std::string(e.what()).find("draws idle (140.0 W"), std::string::npos) << e.what();
  }
  // A cap the GPU can run at is taken, with the node's own GPU.
  write_topology("500W");
  const Scenario sc = load_scenario(dir + "/scenario.yaml");
  EXPECT_DOUBLE_EQ(sc.cluster.topology.gpu_of_node(0).power_limit_watts, 500);
}

TEST(MixedCluster, BalancedSplitFollowsSpeed) {
  // Stage 0 three times as fast per layer as stage 1, no extra work: 30 + 10 layers.
  EXPECT_EQ(balanced_split(40, {1.0, 3.0}, {0, 0}), (std::vector<int>{30, 10}));
  // Equal speeds with an LM head on the last stage: the last stage holds fewer layers.
  EXPECT_EQ(balanced_split(10, {1.0, 1.0}, {0, 2.0}), (std::vector<int>{6, 4}));
  // Interleaved chunks of 2 layers; an odd count cannot be split into them.
  EXPECT_EQ(balanced_split(12, {1.0, 2.0}, {0, 0}, 2), (std::vector<int>{8, 4}));
  EXPECT_TRUE(balanced_split(11, {1.0, 2.0}, {0, 0}, 2).empty());
  // Every stage keeps at least one unit.
  EXPECT_EQ(balanced_split(3, {1.0, 100.0, 100.0}, {0, 0, 0}), (std::vector<int>{1, 1, 1}));
}

// Layers that do not divide by pp are split by stage speed on a mixed cluster: the even-split
// warning would name a split the stages do not run (found by a fuzzing pass).
TEST(MixedCluster, NoEvenSplitIsAnnouncedWhereSpeedSplitsTheLayers) {
  for (const int pp : {3, 6}) {  // gpt3-13b's 40 layers divide by neither; 240 GPUs span both groups
    const Scenario sc = load_scenario_text(
        "model: {preset: gpt3-13b}\ncluster: {topology: mixed-h100-a100, gpus: 240}"
        "\nplan: {tp: 8, pp: " +
            std::to_string(pp) + ", dp: " + std::to_string(30 / pp) + ", global_batch: 40}\n",
        "mixed.yaml");
    ASSERT_TRUE(sc.cluster.topology.mixed(sc.cluster.gpus));
    for (const auto& w : sc.warnings) EXPECT_EQ(w.message.find("uneven split"), std::string::npos) << w.message;
  }
}

// A faster GPU group never makes the step slower: the speed split weighs each stage's NVLink
// exchanges too (A100's 300 GB/s against H100's 450), which a split by compute alone loaded with
// as many layers as the faster compute allowed (found by a fuzzing pass: 279 ms at 1500 TFLOP/s,
// 291 ms at 3000).
TEST(MixedCluster, AFasterGroupNeverSlowsTheStep) {
  double before = 1e300;
  for (const char* peak : {"312TFLOP/s", "1500TFLOP/s", "3000TFLOP/s"}) {
    const std::string topology =
        std::string(
            "{name: mix5, gpus_per_node: 8, nodes: 5, node_groups: [{nodes: 3, gpu: h100-sxm-80gb}, {nodes: 2, ") +
        "gpu: {preset: a100-80gb-sxm, name: fast-a100, peak: {bf16: " + peak +
        "}}}], node: {latency: 1us}, network: {kind: fat-tree, nic_bandwidth: 200Gb/s, nic_latency: 2us, "
        "switch_latency: 130ns, nodes_per_leaf: 4, oversubscription: 1}}";
    const std::string file = testing::TempDir() + "/mix5.yaml";
    std::ofstream(file) << topology << "\n";
    const Scenario sc = load_scenario_text("model: {preset: gpt3-1.3b}\ncluster: {topology: " + file +
                                               ", gpus: 40}\nplan: {tp: 8, pp: 5, dp: 1, micro_batch: 1, "
                                               "global_batch: 64, placement: [tp, cp, dp, pp]}\n",
                                           "mix5-job.yaml");
    const double step = predict(sc).step.step_time;
    EXPECT_LT(step, before * 1.002) << peak;
    before = step;
  }
}

TEST(MixedCluster, StagesGoAtTheirSlowestGpuAndTheSplitBalancesThem) {
  const Scenario sc = mixed_scenario();
  const StageSetup setup = setup_stages(sc);
  ASSERT_EQ(setup.gpu.size(), 2u);
  EXPECT_EQ(setup.gpu[0].name, "h100-sxm-80gb");
  EXPECT_EQ(setup.gpu[1].name, "a100-80gb-sxm");
  EXPECT_TRUE(setup.balanced);
  EXPECT_GT(setup.layers[0], setup.layers[1]);
  EXPECT_EQ(setup.layers[0] + setup.layers[1], sc.model.layers);

  // The balanced split beats the even one, and its stages finish closer together.
  const Prediction balanced = predict(sc);
  const Prediction even = predict(mixed_scenario(", layers_per_stage: [20, 20]"));
  EXPECT_EQ(balanced.stage_layers, setup.layers);
  EXPECT_EQ(even.stage_layers, (std::vector<int>{20, 20}));
  EXPECT_LT(balanced.step.step_time, 0.85 * even.step.step_time);
  // With the even split the H100 stage waits for the A100 stage: that wait is bubble.
  EXPECT_GT(even.step.breakdown.bubble, 3 * balanced.step.breakdown.bubble);

  // Placing every replica's stage 0 half on A100 nodes makes both stages A100-paced.
  Scenario interleaved_nodes = mixed_scenario();
  interleaved_nodes.plan.placement = {Axis::tp, Axis::cp, Axis::pp, Axis::dp};
  const StageSetup slow = setup_stages(interleaved_nodes);
  EXPECT_EQ(slow.gpu[0].name, "a100-80gb-sxm");
  EXPECT_EQ(slow.gpu[1].name, "a100-80gb-sxm");
  EXPECT_FALSE(slow.balanced);

  // MFU is over the mean peak of the job's GPUs.
  const double mean = (load_topology("mixed-h100-a100").gpu_of_node(0).peak(Precision::bf16) +
                       load_topology("mixed-h100-a100").gpu_of_node(16).peak(Precision::bf16)) /
                      2;
  EXPECT_NEAR(balanced.mfu, balanced.model_tflops_per_gpu * 1e12 / mean, 1e-9);
}

// Interleaved, with layers that do not divide by virtual_stages: the speed split goes layer by
// layer, and each stage's layers are spread over its chunks.
TEST(MixedCluster, InterleavedSpeedSplitWhenLayersDoNotDivideByVirtualStages) {
  Scenario sc = mixed_scenario(", schedule: interleaved, virtual_stages: 2");
  sc.model.layers = 41;
  const StageSetup setup = setup_stages(sc);
  ASSERT_TRUE(setup.balanced);
  EXPECT_GT(setup.layers[0], setup.layers[1]);  // the H100 stage takes more
  EXPECT_EQ(setup.layers[0] + setup.layers[1], 41);
  ASSERT_EQ(setup.chunk_layers.size(), 4u);
  for (int s = 0; s < 2; ++s) {
    EXPECT_EQ(setup.chunk_layers[s] + setup.chunk_layers[s + 2], setup.layers[s]) << "stage " << s;
    EXPECT_LE(std::abs(setup.chunk_layers[s] - setup.chunk_layers[s + 2]), 1) << "stage " << s;
  }
  const Prediction p = predict(sc);
  EXPECT_EQ(p.stage_layers, setup.layers);
  EXPECT_GT(p.step.step_time, 0);
}

TEST(Energy, NetworkEnergyComesFromTheLinkPlugin) {
  // 64 A100 nodes of dgx-a100-superpod: 512 NICs at 20 W, 4 leaves and the spine layer at 500 W.
  Scenario sc = load_scenario_text(R"(
model: {preset: gpt3-1.3b}
cluster: {topology: dgx-a100-superpod, gpus: 512}
plan: {tp: 1, pp: 1, dp: 512, micro_batch: 1, global_batch: 512}
)",
                                   "dp.yaml");
  const Prediction busy = predict(sc);
  const double watts = 512 * 20.0 + 5 * 500.0;
  const double t = busy.step.step_time;
  // Idle, links draw 90% of their power; busy, all of it.
  EXPECT_GE(busy.step.network_energy_j, 0.9 * watts * t * 0.999);
  EXPECT_LE(busy.step.network_energy_j, watts * t * 1.001);
  // Facility energy: GPUs, network and hosts, times the PUE.
  EXPECT_NEAR(busy.energy_per_step_j,
              (busy.step.gpu_energy_j + busy.step.network_energy_j + busy.host_energy_per_step_j) * busy.pue,
              1e-6 * busy.energy_per_step_j);

  // The same job with gradients synchronised every 8 steps loads the network less per second.
  Scenario quiet = sc;
  quiet.plan.sync_every = 8;
  const Prediction local = predict(quiet);
  EXPECT_LT(local.step.network_energy_j / local.step.step_time, busy.step.network_energy_j / t);

  // No power given, no network energy.
  sc.cluster.topology.nic_power_watts = 0;
  sc.cluster.topology.switch_power_watts = 0;
  EXPECT_EQ(predict(sc).step.network_energy_j, 0.0);
}

// A capped GPU draws at most its cap (what the cap lowers its clock for): its average power over
// a step stays under it, and the report says the GPUs are capped. A collective's kernels holding
// a share of the SMs (collective_sms) draw that share of the busy power while the GPU waits, not
// all of it. A GPU given without its power draws none, and the report says so.
TEST(Energy, GpusDrawWhatTheirCapAndLoadAllow) {
  const std::string text = R"(
model: {preset: llama3-8b, seq_len: 4096}
cluster: {topology: dgx-b200-superpod, gpus: 16}
plan: {tp: 1, pp: 1, dp: 16, micro_batch: 1, global_batch: 64, zero: 1}
)";
  Scenario sc = load_scenario_text(text, "cap.yaml");
  const double board = sc.cluster.topology.gpu.power_watts;
  const auto average_watts = [](const Prediction& p, int gpus) {
    return p.step.gpu_energy_j / p.step.step_time / gpus;
  };
  for (const double cap : {700.0, 400.0}) {
    Scenario capped = sc;
    capped.cluster.topology.gpu.power_limit_watts = cap;
    const Prediction p = predict(capped);
    EXPECT_LE(average_watts(p, 16), cap * 1.0001) << cap;
    EXPECT_GT(average_watts(p, 16), 0.5 * cap) << cap;
    EXPECT_NE(p.energy_counts.find("capped at"), std::string::npos) << p.energy_counts;
  }
  EXPECT_GT(average_watts(predict(sc), 16), 700.0);  // uncapped: up to the board's 1000 W

  // A slow network: the gradients' reduce is exposed, and the GPUs wait with the collective's SMs held.
  Scenario slow = sc;
  slow.cluster.topology.nic_bandwidth = 25e9 / 8;
  const Prediction held = predict(slow);
  slow.plan.collective_sms = 0;
  const Prediction free = predict(slow);
  ASSERT_NEAR(held.step.step_time, free.step.step_time, 1e-6 * free.step.step_time);
  const double exposed = held.step.breakdown.exposed_total();
  ASSERT_GT(exposed, 0.2 * held.step.step_time);
  const double share = sc.cluster.topology.gpu.sm_share(PlanSpec{}.collective_sms);
  EXPECT_GT(held.step.gpu_energy_j, free.step.gpu_energy_j);
  EXPECT_LT(held.step.gpu_energy_j - free.step.gpu_energy_j, 16 * 1.2 * share * 0.8 * board * exposed);

  Scenario unpowered = sc;
  unpowered.cluster.topology.gpu.power_watts = 0;
  EXPECT_NE(predict(unpowered).energy_counts.find("no GPUs"), std::string::npos);
}

// The energy line names each GPU kind's cap in a mixed cluster (it read the first kind's only), and
// a kind that gives no power; kinds are told apart by power and cap as well as by name.
TEST(Energy, MixedClustersNameEachKindsCap) {
  Scenario sc = mixed_scenario();
  auto& groups = sc.cluster.topology.node_groups;
  ASSERT_EQ(groups.size(), 2u);
  groups[1].gpu.power_limit_watts = 300;  // the A100s only
  const std::string capped = predict(sc).energy_counts;
  EXPECT_NE(capped.find(groups[1].gpu.name + " capped at 300 W"), std::string::npos) << capped;
  EXPECT_EQ(capped.find(groups[0].gpu.name + " capped"), std::string::npos) << capped;
  groups[0].gpu.power_watts = 0;
  const std::string half = predict(sc).energy_counts;
  EXPECT_NE(half.find(groups[0].gpu.name + " gives no power"), std::string::npos) << half;
  EXPECT_EQ(half.rfind("GPUs (", 0), 0u) << half;
  // Two kinds of one name, one capped (a preset and the same preset with a power_limit).
  groups[0].gpu = groups[1].gpu;
  groups[0].gpu.power_limit_watts = 0;
  const std::string same_name = predict(sc).energy_counts;
  EXPECT_NE(same_name.find("capped at 300 W"), std::string::npos) << same_name;
}

// Energy counts the hosts (CPUs, memory, fans: power.host per node) and the facility (power.pue),
// and says so.
TEST(Energy, HostsAndPueAreCountedAndOverridable) {
  const std::string text = R"(
model: {preset: gpt3-1.3b}
cluster: {topology: dgx-a100-superpod, gpus: 16}
plan: {tp: 1, pp: 1, dp: 16, micro_batch: 1, global_batch: 16}
training: {tokens: 1e9}
)";
  Scenario sc = load_scenario_text(text, "energy.yaml");
  ASSERT_FALSE(sc.cluster.topology.pue.has_value());
  const Prediction base = predict(sc);
  EXPECT_EQ(base.pue, kDefaultPue);
  // Two DGX A100 nodes at the datasheet's system power less the GPUs', for the whole step.
  EXPECT_NEAR(base.host_energy_per_step_j,
              2 * default_host_power_watts(sc.cluster.topology.gpu, 8) * base.step.step_time,
              1e-9 * base.host_energy_per_step_j);
  EXPECT_GT(base.host_energy_per_step_j, 0);
  EXPECT_NE(base.energy_counts.find("hosts"), std::string::npos);
  EXPECT_NE(base.energy_counts.find("PUE"), std::string::npos);

  // Twice the PUE, twice the energy; the step does not change.
  sc.cluster.topology.pue = 2 * kDefaultPue;
  const Prediction doubled = predict(sc);
  EXPECT_DOUBLE_EQ(doubled.step.step_time, base.step.step_time);
  EXPECT_NEAR(doubled.energy_per_step_j, 2 * base.energy_per_step_j, 1e-9 * base.energy_per_step_j);
  EXPECT_NEAR(*doubled.energy_to_train_j, 2 * *base.energy_to_train_j, 1e-9 * *base.energy_to_train_j);

  // power.host and power.pue in a topology file override the defaults.
  const TopologySpec t = parse_topology_text(R"(
name: t
gpu: a100-80gb-sxm
gpus_per_node: 8
nodes: 2
node: {latency: 1us}
network: {kind: fat-tree, nic_bandwidth: 200Gb/s, nodes_per_leaf: 2}
power: {gpu: 400, host: 1500, pue: 1.5}
)",
                                             "t.yaml");
  ASSERT_TRUE(t.host_power_watts && t.pue);
  EXPECT_EQ(*t.host_power_watts, 1500);
  EXPECT_EQ(*t.pue, 1.5);
  sc.cluster.topology = t;
  const Prediction custom = predict(sc);
  EXPECT_NEAR(custom.host_energy_per_step_j, 2 * 1500 * custom.step.step_time, 1e-9 * custom.host_energy_per_step_j);
  EXPECT_EQ(custom.pue, 1.5);
}

TEST(MixedCluster, SearchFindsThePlacementThatGroupsStagesByGpu) {
  const PlanSpace space = load_plan_space(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/search-mixed-gpt3-13b.yaml");
  ASSERT_EQ(space.choices.at("placement").size(), 2u);
  // With one pipeline stage the two placements are the same plan: it is counted once.
  int single_stage = 0;
  for (const auto& p : enumerate_plans(space)) single_stage += p.pp == 1;
  EXPECT_EQ(single_stage, int(space.choices.at("micro_batch").size()));

  SearchOptions options;
  options.top_k = 4;
  const SearchResult result = search_plans(space, options);
  ASSERT_FALSE(result.plans.empty());
  const PlanCandidate& best = result.plans.front();
  ASSERT_TRUE(best.simulated);
  EXPECT_GT(best.plan.pp, 1);
  EXPECT_EQ(placement_name(best.plan.placement), "tp-cp-dp-pp");
  // The estimate prices each stage on its own GPU: close to the simulation.
  EXPECT_NEAR(best.estimate.step_time / best.simulated->step_time, 1.0, 0.1);
}

// The estimate's breakdown counts the compute of the stage that finishes last, on its own GPU
// and with its own layers (the H100 stage holds more of them). It took the most layers at the
// slowest GPU's pace before: 2.83 s of compute in a 1.76 s step.
TEST(MixedCluster, EstimateCountsTheCriticalStagesOwnCompute) {
  const Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/mixed-gpt3-13b.yaml");
  const Estimate e = estimate_step(sc);
  EXPECT_LT(e.compute + e.bubble, e.step_time);
  EXPECT_NEAR(e.compute / simulate_step(sc).breakdown.compute, 1.0, 0.05);
}

// Expert groups of eight inside each node: on the A100 nodes their all-to-alls run over NVLink 3
// (300 GB/s), on the H100 nodes over NVLink 4 (450 GB/s). Every replica runs at once and the
// step waits for the slowest, so on the mixed cluster the A100 groups set the exposed time,
// about 1.5x the all-H100 cluster's; a replica mirrored from the H100 nodes hid that.
TEST(MixedCluster, ExpertGroupsOnTheSlowerNodesSetTheirTime) {
  const auto exposed_ep = [](const std::string& topology, const std::string& oversubscription) {
    const Scenario sc = load_scenario_text(
        "model: {preset: mixtral-8x7b, seq_len: 4096}\n"
        "cluster: {topology: " +
            topology + ", gpus: 256, oversubscription: " + oversubscription +
            "}\n"
            "plan: {ep: 8, dp: 256, micro_batch: 1, global_batch: 256, zero: 1, "
            "recompute: full}\n",
        "mixed-ep.yaml");
    return predict(sc).step.breakdown.exposed_comm.at("ep");
  };
  const double h100 = exposed_ep("dgx-h100-superpod", "1");
  for (const char* oversubscription : {"1", "2"}) {
    EXPECT_GT(exposed_ep("mixed-h100-a100", oversubscription), 1.3 * h100) << oversubscription;
  }
}

// The search sizes a plan's memory on the split its stages run, as `predict` does: on the mixed
// cluster the H100 stage takes most of the layers, and with them most of the activations. Sized
// on the plan's even split, a plan needing 88.6 GiB on the H100 stage was ranked at 61.2 GiB.
TEST(MixedCluster, EstimateSizesMemoryOnTheSpeedSplit) {
  for (const char* plan : {"", ", recompute: full", ", recompute: selective"}) {
    Scenario sc = mixed_scenario(plan);
    sc.plan.micro_batch = 4;
    const Prediction p = predict(sc);
    ASSERT_NE(p.stage_layers.front(), p.stage_layers.back()) << plan;  // the split is not even
    EXPECT_DOUBLE_EQ(estimate_step(sc).memory.peak, p.memory.peak) << plan;
  }
}
