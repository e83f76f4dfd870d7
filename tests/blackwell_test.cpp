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
  const int per_rack = sc.cluster.topology.gpus_per_node;
  ASSERT_EQ(per_rack, 72);
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

TEST(Blackwell, B200TrainsInMxfp8FasterThanBf16ButNotTwice) {
  Scenario sc = load_scenario("scenarios/llama3-8b-64xb200-mxfp8.yaml");
  const Prediction mxfp8 = predict(sc);
  sc.plan.precision = Precision::bf16;
  sc.plan.fp8_param_gather = false;
  const Prediction bf16 = predict(sc);
  const double gain = bf16.step.step_time / mxfp8.step.step_time;
  EXPECT_GT(gain, 1.1);
  EXPECT_LT(gain, 1.7);
  EXPECT_NEAR(sc.cluster.topology.gpu.power_limit_watts, 700, 1e-9);  // DGX B200's default set point
}
