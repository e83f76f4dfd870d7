// Activation offloading (plan.activation_offload_layers, Megatron-Core's --cpu-offloading-num-layers):
// what the GPU still holds, what the host holds, and when the copies cost time.
#include <gtest/gtest.h>

#include "cli_run.hpp"
#include "engine/simulation.hpp"
#include "scenario/scenario.hpp"
#include "search/estimate.hpp"
#include "workload/memory.hpp"
#include "workload/work.hpp"

using namespace trainsim;

namespace {

// Llama 3 8B on one DGX H100 node, data parallel, 4 micro-batches per GPU, nothing recomputed.
Scenario llama_on_eight(int offloaded) {
  return load_scenario_text(R"(
model: {preset: llama3-8b, seq_len: 8192}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan: {dp: 8, micro_batch: 1, global_batch: 32, zero: 1, activation_offload_layers: )" +
                                std::to_string(offloaded) + "}\n",
                            "offload.yaml");
}

double offload_seconds(const StepResult& r) {
  const auto it = r.breakdown.exposed_comm.find("offload");
  return it == r.breakdown.exposed_comm.end() ? 0.0 : it->second;
}

}  // namespace

TEST(Offload, TheHostHoldsTheOffloadedLayers) {
  const Scenario plain = llama_on_eight(0);
  const CostModel cost(plain.cluster.topology.gpu, plain.plan.precision);
  const double per_layer = activation_bytes_per_layer(plain.model, plain.plan);
  const MemoryBreakdown before = peak_memory(plain, build_workload(plain.model, plain.plan, cost));
  const auto with = [&](int layers) {
    const Scenario sc = llama_on_eight(layers);
    return peak_memory(sc, build_workload(sc.model, sc.plan, cost));
  };
  EXPECT_EQ(before.offloaded, 0);
  // 12 of 32 layers: the peak is the forward's end, the 20 kept layers.
  const MemoryBreakdown twelve = with(12);
  EXPECT_NEAR(twelve.offloaded, 12 * per_layer, 1);
  EXPECT_NEAR(before.activations - twelve.activations, 12 * per_layer, 1);
  EXPECT_NEAR(before.peak - twelve.peak, 12 * per_layer, 1);
  EXPECT_EQ(before.params + before.grads + before.optimizer, twelve.params + twelve.grads + twelve.optimizer);
  // 31 of 32: a backward step holds two layers, the one running and the one fetched back.
  const MemoryBreakdown all_but_one = with(31);
  EXPECT_NEAR(all_but_one.offloaded, 31 * per_layer, 1);
  EXPECT_NEAR(before.activations - all_but_one.activations, 30 * per_layer, 1);
}

TEST(Offload, CopiesCostOnlyWhatOutlastsTheNextLayer) {
  const int layers = 16;
  const Scenario plain = llama_on_eight(0);
  Scenario offloaded = llama_on_eight(layers);
  const GpuSpec& gpu = offloaded.cluster.topology.gpu;
  const CostModel cost(as_run_by_job(offloaded, gpu), offloaded.plan.precision);  // at the job's slowest clock
  const Workload w = build_workload(offloaded.model, offloaded.plan, cost);
  // The stall a copy leaves: its bytes over the host link, less the next layer's compute.
  const double copy = activation_bytes_per_layer(offloaded.model, offloaded.plan) / gpu.host_link_bandwidth;
  const double forward = w.layer.attention_forward.time() + w.layer.mlp_forward.time();
  const double backward = w.layer.attention_backward.time() + w.layer.mlp_backward.time();
  const double stall = std::max(0.0, copy - forward) + std::max(0.0, copy - backward);
  // PCIe Gen5 at 52 GB/s: a layer's 8192 tokens of activations take longer than its forward.
  ASSERT_GT(copy, forward);
  EXPECT_NEAR(offload_stall_forward(w.layer) + offload_stall_backward(w.layer), stall, 1e-12);

  const StepResult base = simulate_step(plain);
  const StepResult slow = simulate_step(offloaded);
  const double expected = 4.0 * layers * stall;  // 4 micro-batches
  EXPECT_NEAR(offload_seconds(slow), expected, 1e-6 * expected);
  EXPECT_NEAR(slow.step_time - base.step_time, expected, 0.01 * expected);
  EXPECT_EQ(offload_seconds(base), 0);
  // The estimate adds the same stall.
  EXPECT_NEAR(estimate_step(offloaded).step_time - estimate_step(plain).step_time, expected, 0.02 * expected);

  // On a node that computes twice as slowly the next layer hides more of each copy.
  Scenario straggler = offloaded;
  straggler.cluster.slow_nodes = {0};
  straggler.cluster.slow_factor = 2;
  const double slow_stall = std::max(0.0, copy - 2 * forward) + std::max(0.0, copy - 2 * backward);
  ASSERT_LT(slow_stall, stall);
  EXPECT_NEAR(offload_seconds(simulate_step(straggler)), 4.0 * layers * slow_stall, 1e-6 * expected);

  // A host link fast enough to hide every copy costs nothing.
  offloaded.cluster.topology.gpu.host_link_bandwidth = 1e15;
  const StepResult hidden = simulate_step(offloaded);
  EXPECT_EQ(offload_seconds(hidden), 0);
  EXPECT_NEAR(hidden.step_time, base.step_time, 1e-9 * base.step_time);
}

TEST(Offload, MegatronCoreRulesAreInputErrors) {
  using trainsim_test::run;
  using trainsim_test::write_text;
  const std::string head = "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n";
  const auto expect_error = [&](const std::string& name, const std::string& plan, const std::string& needle) {
    const std::string path = testing::TempDir() + "/" + name + ".yaml";
    write_text(path, head + plan);
    const trainsim_test::CommandResult r = run("predict " + path);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("'plan.activation_offload_layers'"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << "\n" << r.output;
  };
  expect_error("all-layers", "plan: {dp: 8, global_batch: 8, activation_offload_layers: 32}\n",
               "below the layers (32)");
  expect_error("pipelined", "plan: {pp: 2, dp: 4, global_batch: 8, activation_offload_layers: 4}\n", "needs pp 1");
  expect_error("recomputed", "plan: {dp: 8, global_batch: 8, recompute: selective, activation_offload_layers: 4}\n",
               "recompute is selective");
}
