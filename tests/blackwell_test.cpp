// Blackwell systems as scenarios: an NVL72 rack keeps a tensor-parallel group on NVLink; a B200
// job in MXFP8.
#include <gtest/gtest.h>

#include <set>

#include "report/prediction.hpp"
#include "scenario/scenario.hpp"

using namespace trainsim;

TEST(Blackwell, Nvl72RackKeepsTensorParallelGroupsOnNvlink) {
  Scenario sc = load_scenario("scenarios/llama3-70b-512xgb200.yaml");
  const PlanSpec& p = sc.plan;
  // 512 GPUs are scheduled in segments of 16 trays: 64 GPUs of each NVLink domain.
  const int per_rack = sc.cluster.topology.gpus_per_node;
  ASSERT_EQ(per_rack, 64);
  for (int dp = 0; dp < p.dp; ++dp) {
    for (int pp = 0; pp < p.pp; ++pp) {
      std::set<int> racks;
      for (int tp = 0; tp < p.tp; ++tp) racks.insert(gpu_of(p, tp, 0, pp, dp) / per_rack);
      EXPECT_EQ(racks.size(), 1u) << "tp group of dp " << dp << ", pp " << pp << " spans racks";
    }
  }
  const Prediction in_rack = predict(sc);
  EXPECT_GT(in_rack.step.step_time, 0);
  EXPECT_TRUE(in_rack.memory.fits());
  // The same plan on 2-GPU "racks": every TP group crosses the network, and TP costs more.
  sc.cluster.topology.gpus_per_node = 2;
  sc.cluster.topology.nodes = 256;
  const Prediction split = predict(sc);
  EXPECT_GT(split.step.breakdown.exposed_comm.at("tp"), 2 * in_rack.step.breakdown.exposed_comm.at("tp"));
}

// A job larger than one rack gets 64 GPUs of each (Slurm segments of 16 trays): an expert-parallel
// group of 32 then never straddles two racks, where filling racks whole puts ranks 64-95 across
// racks 0 and 1 and their all-to-alls on InfiniBand. A one-rack job keeps the rack's 72.
TEST(Blackwell, Nvl72JobsFillSegmentsOf16Trays) {
  const std::string text =
      "model: {preset: deepseek-v3, seq_len: 4096}\n"
      "cluster: {topology: gb200-nvl72-superpod, gpus: 256SEG}\n"
      "plan: {tp: 1, pp: 8, dp: 32, ep: 32, etp: 1, micro_batch: 1, global_batch: 256, "
      "zero: 1, recompute: full, precision: mxfp8}\n";
  auto with = [&](const std::string& segment) {
    std::string t = text;
    t.replace(t.find("SEG"), 3, segment);
    return load_scenario_text(t, "segment");
  };
  const Scenario segmented = with("");
  const Scenario whole = with(", segment: 0");
  EXPECT_EQ(segmented.cluster.topology.gpus_per_node, 64);
  EXPECT_EQ(whole.cluster.topology.gpus_per_node, 72);
  const Prediction in_segments = predict(segmented);
  const Prediction straddling = predict(whole);
  EXPECT_LT(in_segments.step.step_time, 0.95 * straddling.step.step_time);
  std::string one_rack = text;
  one_rack.replace(one_rack.find("256SEG"), 6, "64");
  one_rack.replace(one_rack.find("dp: 32, ep: 32"), 14, "dp: 8, ep: 8");
  EXPECT_EQ(load_scenario_text(one_rack, "one rack").cluster.topology.gpus_per_node, 72);
}

TEST(Blackwell, B200TrainsInMxfp8FasterThanBf16ButNotTwice) {
  Scenario sc = load_scenario("scenarios/llama3-8b-64xb200-mxfp8.yaml");
  const Prediction mxfp8 = predict(sc);
  sc.plan.precision = Precision::bf16;
  sc.plan.fp8_param_gather = false;
  const Prediction bf16 = predict(sc);
  const double gain = bf16.step.step_time / mxfp8.step.step_time;
  EXPECT_GT(gain, 1.1);
  EXPECT_LT(gain, 1.7);
  // DGX B200's GPUs run at their 1000 W board power unless the scenario caps them.
  EXPECT_DOUBLE_EQ(sc.cluster.topology.gpu.power_limit_watts, 0);
  sc.cluster.topology.gpu.power_limit_watts = 700;
  EXPECT_GT(predict(sc).step.step_time, 1.1 * bf16.step.step_time);
}

// DGX B300: the B300 preset behind 800 Gb/s per GPU. The same data-parallel job spends less time
// on exposed gradient traffic than on DGX B200's 400 Gb/s NICs, and its GPUs run at their board
// power (no lower default set point).
TEST(Blackwell, DgxB300DoublesTheNicOfDgxB200) {
  const std::string plan =
      "model: {preset: llama3-8b}\nplan: {dp: 64, zero: 1, micro_batch: 1, global_batch: 64}\ncluster: {gpus: 64, "
      "topology: ";
  const Scenario b300 = load_scenario_text(plan + "dgx-b300-superpod}\n", "b300.yaml");
  const Scenario b200 = load_scenario_text(plan + "dgx-b200-superpod}\n", "b200.yaml");
  EXPECT_EQ(b300.cluster.topology.gpu.name, "b300-sxm-288gb");
  EXPECT_DOUBLE_EQ(b300.cluster.topology.nic_bandwidth, 2 * b200.cluster.topology.nic_bandwidth);
  EXPECT_DOUBLE_EQ(b300.cluster.topology.gpu.power_limit_watts, 0);
  EXPECT_LT(predict(b300).step.breakdown.exposed_comm["dp"], predict(b200).step.breakdown.exposed_comm["dp"]);
}
