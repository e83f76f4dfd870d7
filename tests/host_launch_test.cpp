// The host's side of a step: how fast its CPU issues eager kernels, and what replaying parts of a
// layer from CUDA graphs (plan.cuda_graphs) leaves it to issue.
#include <gtest/gtest.h>

#include <string>

#include "compute/cost_model.hpp"
#include "kernels.hpp"
#include "report/prediction.hpp"
#include "scenario/scenario.hpp"
#include "scenario/writer.hpp"
#include "workload/work.hpp"

using namespace trainsim;
using trainsim_test::kernel_named;

namespace {

Workload work_of(const Scenario& sc) {
  return build_workload(sc.model, sc.plan, CostModel(sc.cluster.topology.gpu, sc.plan.precision), sc.data);
}

// DeepSeek-V3's layers as Megatron-Core runs them on 256 GB200s with a NCCL all-to-all
// dispatcher and no router fusion (NVIDIA's baseline, Megatron-LM docs/discussions/
// deepseek-v3-gb200-optimization, section 1).
const char* kDeepSeekOnGb200 = R"(
model: {preset: deepseek-v3, seq_len: 4096}
cluster: {topology: gb200-nvl72-superpod, gpus: 256, gpus_per_node: 64}
plan:
  pp: 8
  dp: 32
  ep: 32
  global_batch: 2048
  precision: mxfp8
  moe_router_fusion: false
)";

}  // namespace

// NVIDIA/TransformerEngine#2053 timed the CPU side of one torch.nn.Linear forward (bf16, 8192 x
// 2048) at 13.48 us on a DGX H100's Xeon Platinum 8480C: a kernel whose own work is shorter than
// that takes the host's time, the launch interval. Grace-hosted GPUs keep it (their Grace CPU took
// 37.08 us there, but Moe.RouterFusionSavesWhatNvidiaMeasured holds the interval to what NVIDIA's
// router fusion saved on GB200: docs/compute-model.md, "The host's pace").
TEST(HostLaunch, EagerKernelsTakeAtLeastTheHostsMeasuredLaunch) {
  for (const char* gpu : {"a100-80gb-sxm", "h100-sxm-80gb", "h200-sxm-141gb", "b200-sxm-180gb", "gb200-186gb"}) {
    EXPECT_NEAR(CostModel(gpu_preset(gpu), Precision::bf16).memory_time(4096), 13.48e-6, 0.05 * 13.48e-6) << gpu;
  }
  // Work longer than the interval is the GPU's.
  const GpuSpec gb200 = gpu_preset("gb200-186gb");
  EXPECT_DOUBLE_EQ(CostModel(gb200, Precision::bf16).memory_time(1e10),
                   1e10 / (gb200.memory_bandwidth * gb200.kernels.memory));
}

// Replayed from a graph, a captured part's kernels follow each other at the GPU's own pace: the
// host launches the graph once (its first kernel takes at least the launch interval), and the
// rest take at least the GPU's back-to-back interval. What is not captured is launched as before.
TEST(HostLaunch, CudaGraphsReplayTheirPartsAtTheGpusPace) {
  Scenario sc = load_scenario_text(kDeepSeekOnGb200, "dsv3.yaml");
  const Workload launched = work_of(sc);
  sc.plan.cuda_graphs = {"attn", "moe_router", "moe_preprocess"};
  const Workload replayed = work_of(sc);
  const GpuSpec& gpu = sc.cluster.topology.gpu;
  const double launch = gpu.kernel_overhead_s, pace = gpu.kernel_interval_s;
  ASSERT_GT(launch, 3 * pace);

  // The attention's first kernel starts the graph; a short one inside it runs at the GPU's pace.
  const Block& attention = replayed.layer.attention_forward;
  EXPECT_GE(attention.kernels.front().time, launch);
  EXPECT_NEAR(kernel_named(launched.layer.attention_forward, "kv norm").time, launch, 1e-12);
  EXPECT_LT(kernel_named(attention, "kv norm").time, launch / 2);
  EXPECT_GE(kernel_named(attention, "kv norm").time, pace);
  EXPECT_LT(kernel_named(replayed.layer.attention_backward, "kv norm backward").time, launch / 2);
  // The unfused router's 71 element-wise launches are no longer the host's.
  const Kernel router = kernel_named(replayed.layer.mlp_forward, "router scores and top-k");
  EXPECT_TRUE(kernel_named(launched.layer.mlp_forward, "router scores and top-k").host_bound);
  EXPECT_FALSE(router.host_bound);
  EXPECT_LT(router.time, kernel_named(launched.layer.mlp_forward, "router scores and top-k").time / 3);
  // The routed experts stay eager: the same prices, the expert GEMMs dispatched one by one.
  for (const char* name : {"expert up (+gate)", "expert activation", "expert down", "token unpermute"}) {
    EXPECT_DOUBLE_EQ(kernel_named(replayed.layer.mlp_forward, name).time,
                     kernel_named(launched.layer.mlp_forward, name).time)
        << name;
  }
  EXPECT_DOUBLE_EQ(replayed.extras.head_forward.time(), launched.extras.head_forward.time());

  // The whole MoE layer (token-dropping MoE) replays the expert GEMMs without the host's dispatch.
  sc.plan.cuda_graphs = {"attn", "moe"};
  const Workload whole = work_of(sc);
  EXPECT_FALSE(kernel_named(whole.layer.mlp_backward, "expert down wgrad").host_bound);
  EXPECT_LE(kernel_named(whole.layer.mlp_backward, "expert down wgrad").time,
            kernel_named(launched.layer.mlp_backward, "expert down wgrad").time);
  // full_iteration captures the step: the embedding and the head as well.
  sc.plan.cuda_graphs = {"full_iteration"};
  for (const Part part : {Part::attention, Part::router, Part::experts, Part::embedding, Part::head}) {
    EXPECT_TRUE(replayed_from_graph(sc.plan, part));
  }
  EXPECT_LT(work_of(sc).layer.mlp_backward.time(), whole.layer.mlp_backward.time() + 1e-12);
}

// A step whose kernels are long gains next to nothing from graphs; a host-bound one gains what its
// host no longer issues. Both predictions come down, neither goes up.
TEST(HostLaunch, CudaGraphsSpeedUpOnlyWhatTheHostHeldBack) {
  Scenario moe = load_scenario_text(kDeepSeekOnGb200, "dsv3.yaml");
  const Prediction eager_moe = predict_estimate(moe);
  moe.plan.cuda_graphs = {"attn", "moe_router", "moe_preprocess"};
  const Prediction graphed_moe = predict_estimate(moe);
  EXPECT_LT(graphed_moe.step.step_time, 0.97 * eager_moe.step.step_time);
  EXPECT_LT(graphed_moe.host_bound_share, eager_moe.host_bound_share);

  Scenario dense = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/llama3-8b-8xh100.yaml");
  const Prediction eager_dense = predict_estimate(dense);
  dense.plan.cuda_graphs = {"attn", "mlp"};
  const Prediction graphed_dense = predict_estimate(dense);
  EXPECT_LE(graphed_dense.step.step_time, eager_dense.step.step_time);
  EXPECT_GT(graphed_dense.step.step_time, 0.99 * eager_dense.step.step_time);
}

// The plan field reads Megatron-Core's scope names and writes them back.
TEST(HostLaunch, CudaGraphScopesRoundTrip) {
  Scenario sc = load_scenario_text(
      std::string(kDeepSeekOnGb200) + "  cuda_graphs: [attn, moe_router, moe_preprocess, attn]\n", "dsv3.yaml");
  EXPECT_EQ(sc.plan.cuda_graphs, (std::vector<std::string>{"attn", "moe_router", "moe_preprocess"}));
  const Scenario back = load_scenario_text(scenario_to_yaml(sc), "written.yaml");
  EXPECT_EQ(back.plan.cuda_graphs, sc.plan.cuda_graphs);
  // A plan kept across a change to a dense model keeps only the scopes that model has.
  Scenario dense = load_scenario_text("model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {}\n", "d.yaml");
  dense.plan.cuda_graphs = sc.plan.cuda_graphs;
  EXPECT_EQ(load_scenario_text(scenario_to_yaml(dense), "d2.yaml").plan.cuda_graphs, std::vector<std::string>{"attn"});
}

// What Megatron-Core refuses beside per-layer graphs is refused in any plan the search builds too
// (check_plan), not only in a file: full recomputation, activation offloading.
TEST(HostLaunch, PlansThatPairGraphsWithWhatMegatronRefusesAreErrors) {
  const Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/llama3-8b-8xh100.yaml");
  const auto graph_errors = [&](const PlanSpec& p) {
    int n = 0;
    for (const Finding& f : check_plan(sc.model, sc.cluster, p)) {
      n += f.severity == Finding::Severity::error && f.key == "plan.cuda_graphs";
    }
    return n;
  };
  PlanSpec p = sc.plan;
  p.cuda_graphs = {"attn", "mlp"};
  EXPECT_EQ(graph_errors(p), 0);
  p.recompute = Recompute::full;
  EXPECT_EQ(graph_errors(p), 1);
  p.cuda_graphs = {"full_iteration"};  // the whole step's graph holds the recomputation
  EXPECT_EQ(graph_errors(p), 0);
  p.recompute = Recompute::none;
  p.cuda_graphs = {"attn"};
  p.activation_offload_layers = 2;
  EXPECT_EQ(graph_errors(p), 1);
}
