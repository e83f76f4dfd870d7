#include <gtest/gtest.h>

#include "scenario/errors.hpp"
#include "scenario/scenario.hpp"
#include "topology/graph.hpp"

using namespace trainsim;

TEST(Topology, EveryPresetLoadsAndIsConnected) {
  for (const auto& name : topology_preset_names()) {
    const TopologySpec spec = load_topology(name);
    const ClusterGraph graph = build_cluster_graph(spec, std::min(spec.nodes, 64));
    EXPECT_TRUE(unreachable_gpus(graph).empty()) << name;
  }
  EXPECT_GE(topology_preset_names().size(), 8u);
}

TEST(Topology, FatTreeBisectionIsHalfTheGpusTimesNic) {
  const TopologySpec spec = load_topology("dgx-a100-superpod");
  const GraphSummary s = summarize(build_cluster_graph(spec, 32));
  EXPECT_EQ(s.gpus, 256);
  EXPECT_NEAR(s.bisection_bandwidth, 128 * 25e9, 1e6);  // non-blocking: 128 GPUs x 200 Gb/s
  EXPECT_EQ(s.diameter_hops, 4);                        // GPU - leaf - spine - leaf - GPU
}

TEST(Topology, OversubscriptionHalvesBisection) {
  TopologySpec spec = load_topology("roce-a100-cluster");
  const double full = summarize(build_cluster_graph(spec)).bisection_bandwidth;
  EXPECT_NEAR(full, 32 * 8 * 25e9 / 2, 1e6);  // 2:1 preset
  spec.oversubscription = 1;
  EXPECT_NEAR(summarize(build_cluster_graph(spec)).bisection_bandwidth, 2 * full, 1e6);
}

TEST(Topology, TorusBisectionCountsWrapLinks) {
  const TopologySpec spec = load_topology("torus-3d-h100");
  const GraphSummary s = summarize(build_cluster_graph(spec));
  // Cutting a 4x4x4 torus in half severs 2 x 16 links of 100 GB/s.
  EXPECT_NEAR(s.bisection_bandwidth, 32 * 100e9, 1e6);
  EXPECT_EQ(s.diameter_hops, 2 + 6);  // NIC hops plus 2+2+2 torus hops
}

// A ring over the nodes, every GPU of a node sending to its place in the next node: on a
// non-blocking tree each flow has its NIC; on the torus (100 GB/s links, eight 50 GB/s NICs a
// node) the eight flows of a node share the link to the next node, and the hops that wrap a
// dimension take two links, one of which another wrapping hop also crosses.
TEST(Topology, RingFlowsShareTheLinksBetweenNodes) {
  const std::vector<int> one{0}, two{0, 1}, eight{0, 1, 2, 3, 4, 5, 6, 7};
  const TopologySpec tree = load_topology("dgx-h100-superpod");
  EXPECT_DOUBLE_EQ(ring_flow_bandwidth(build_cluster_graph(tree, 8), {0}, 1, 8, eight), tree.nic_bandwidth);

  const TopologySpec torus = load_topology("torus-3d-h100");
  const ClusterGraph graph = build_cluster_graph(torus);
  EXPECT_DOUBLE_EQ(ring_flow_bandwidth(graph, {0}, 1, 2, one), torus.nic_bandwidth);  // one flow: its NIC
  EXPECT_DOUBLE_EQ(ring_flow_bandwidth(graph, {0}, 1, 2, eight), 100e9 / 8);          // a link each way
  EXPECT_DOUBLE_EQ(ring_flow_bandwidth(graph, {0}, 1, 4, eight), 100e9 / 8);  // one row of x, wrap link included
  // Nodes 0-3 and 4-7, two rows of x: the hop 3 -> 4 takes the wrap 3 -> 0, then 0 -> 4, and the
  // hop 7 -> 0 takes 7 -> 3 (y), then the same wrap 3 -> 0.
  EXPECT_DOUBLE_EQ(ring_flow_bandwidth(graph, {0}, 1, 8, eight), 100e9 / 16);
  // Nodes 0 and 2, two links along x: 0 -> 2 goes 0 -> 1 -> 2, and with nodes 1 and 3 running a
  // ring beside it (a context-parallel pair of nodes, say) 3 -> 1 goes 3 -> 0 -> 1, so the link
  // 0 -> 1 carries two flows of each.
  EXPECT_DOUBLE_EQ(ring_flow_bandwidth(graph, {0}, 2, 2, two), torus.nic_bandwidth);
  EXPECT_DOUBLE_EQ(ring_flow_bandwidth(graph, {0, 1}, 2, 2, two), 100e9 / 4);
}

TEST(Topology, SingleNodeHasNoNetwork) {
  const GraphSummary s = summarize(build_cluster_graph(load_topology("cpu-loopback")));
  EXPECT_EQ(s.gpus, 8);
  EXPECT_EQ(s.nodes, 1);
  EXPECT_EQ(s.diameter_hops, 2);
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth, 0);
}

TEST(Topology, NodesWithoutANetworkAreNamedUnreachable) {
  TopologySpec spec = load_topology("dgx-a100-superpod");
  spec.fabric = FabricKind::none;
  const auto missing = unreachable_gpus(build_cluster_graph(spec, 2));
  ASSERT_EQ(missing.size(), 8u);
  EXPECT_EQ(missing.front(), 8);
  EXPECT_EQ(missing.back(), 15);
}

// A topology file says how many GPUs a node holds and, for several nodes, the network's kind:
// left out, the node held one GPU and an unnamed network joined nothing (an error about
// unreachable GPUs, with no line).
TEST(Topology, NodeSizeAndNetworkKindAreRequired) {
  const auto error_of = [](const std::string& text) {
    try {
      parse_topology_text(text, "t.yaml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("name: t\ngpu: h100-sxm-80gb\nnodes: 4\nnetwork: {kind: fat-tree, nic_bandwidth: 400Gb/s}\n")
                .find("'gpus_per_node'"),
            std::string::npos);
  const std::string no_kind =
      error_of("name: t\ngpu: h100-sxm-80gb\ngpus_per_node: 8\nnodes: 4\nnetwork:\n  nic_bandwidth: 400Gb/s\n");
  EXPECT_NE(no_kind.find("t.yaml:6:3: 'network.kind'"), std::string::npos) << no_kind;
  EXPECT_NE(error_of("name: t\ngpu: h100-sxm-80gb\ngpus_per_node: 8\nnodes: 4\n").find("needs a 'network'"),
            std::string::npos);
  EXPECT_EQ(error_of("name: t\ngpu: h100-sxm-80gb\ngpus_per_node: 8\nnodes: 1\n"), "no error");
}

TEST(Topology, DotExportNamesEveryVertex) {
  const std::string dot = to_dot(build_cluster_graph(load_topology("dgx-a100-superpod"), 2));
  EXPECT_NE(dot.find("gpu15"), std::string::npos);
  EXPECT_NE(dot.find("kind=nic"), std::string::npos);
}

// A job larger than a fat-tree preset grows the fabric on its design (more nodes under more
// leaves), with a warning; cluster.nodes sizes it; a torus is sized by its dimensions and refuses.
TEST(Topology, FatTreePresetsGrowToTheJob) {
  const Scenario sc = load_scenario("scenarios/gpt3-175b-3072xa100.yaml");
  EXPECT_EQ(sc.cluster.topology.nodes, 384);
  ASSERT_FALSE(sc.warnings.empty());
  EXPECT_NE(sc.warnings.front().message.find("grown from 140 to 384 nodes"), std::string::npos)
      << sc.warnings.front().message;
  const ClusterGraph g = build_cluster_graph(sc.cluster.topology);
  EXPECT_EQ(summarize(g).gpus, 3072);

  const std::string base = "model: {preset: gpt3-1.3b}\nplan: {tp: 8, dp: 2, micro_batch: 1, global_batch: 2}\n";
  const Scenario sized =
      load_scenario_text(base + "cluster: {topology: dgx-a100-superpod, gpus: 16, nodes: 500}\n", "n");
  EXPECT_EQ(sized.cluster.topology.nodes, 500);
  EXPECT_TRUE(sized.warnings.empty());
  try {
    load_scenario_text(base + "cluster: {topology: torus-3d-h100, gpus: 16, nodes: 500}\n", "torus");
    ADD_FAILURE() << "a torus took cluster.nodes";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "cluster.nodes");
    EXPECT_NE(std::string(e.what()).find("dimensions"), std::string::npos) << e.what();
  }
}
