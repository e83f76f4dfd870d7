// Zero-bubble pipelining (PlanSpec::zero_bubble): backwards split into input- and
// weight-gradient passes, the weight passes deferred to fill the pipeline's idle time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "engine/schedule.hpp"
#include "engine/simulation.hpp"
#include "scenario/errors.hpp"
#include "scenario/scenario.hpp"
#include "search/estimate.hpp"
#include "workload/memory.hpp"
#include "workload/work.hpp"

using namespace trainsim;

namespace {

// Llama 3.1 70B (80 layers) on 8 stages of one tensor-parallel node each, one replica.
Scenario llama70b_pipeline(const std::string& more_plan) {
  return load_scenario_text(
      "model: {preset: llama3.1-70b}\n"
      "cluster: {topology: dgx-h100-superpod, gpus: 64}\n"
      "plan: {tp: 8, pp: 8, dp: 1, micro_batch: 1, sequence_parallel: true, recompute: selective, " +
          more_plan + "}\n",
      "zero-bubble.yaml");
}

double relative(double a, double b) { return std::abs(a / b - 1); }

Workload work_of(const Scenario& sc) {
  return build_workload(sc.model, sc.plan, CostModel(sc.cluster.topology.gpu, sc.plan.precision), sc.data);
}

}  // namespace

// PyTorch's ScheduleInterleavedZeroBubble order (torch.distributed.pipelining, _get_1f1b_rank_ops
// with enable_zero_bubble): every unit once forward, once backward, once weight pass; stage r
// warms up with (v-1) p + p-1-r forwards and runs the weight pass of backward unit k right after
// backward unit k + r, the last r at the end.
TEST(ZeroBubble, ScheduleDefersEachWeightPassByTheStageIndex) {
  const int p = 4, m = 8;
  for (const int v : {1, 3}) {
    const Schedule schedule = v == 1 ? Schedule::one_f_one_b : Schedule::interleaved;
    for (int stage = 0; stage < p; ++stage) {
      const auto tasks = stage_schedule(schedule, p, stage, m, v, true);
      ASSERT_EQ(tasks.size(), std::size_t(3 * m * v));
      std::map<std::tuple<int, int, int, int>, int> seen;  // kind, micro-batch, chunk
      for (const auto& t : tasks) ++seen[{t.forward, t.weight, t.micro_batch, t.chunk}];
      EXPECT_EQ(seen.size(), tasks.size());
      int warmup = 0;
      while (tasks[warmup].forward) ++warmup;
      EXPECT_EQ(warmup, std::min(m * v, (v - 1) * p + p - 1 - stage + 1)) << "stage " << stage << " v " << v;
      // The k-th weight pass is the k-th backward's, and follows backward k + stage.
      std::vector<std::size_t> backward_at, weight_at;
      std::vector<std::pair<int, int>> backward_unit, weight_unit;
      for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (tasks[i].forward) continue;
        (tasks[i].weight ? weight_at : backward_at).push_back(i);
        (tasks[i].weight ? weight_unit : backward_unit).emplace_back(tasks[i].micro_batch, tasks[i].chunk);
      }
      EXPECT_EQ(weight_unit, backward_unit);
      for (std::size_t k = 0; k + stage < backward_at.size(); ++k) {
        EXPECT_EQ(weight_at[k], backward_at[k + stage] + 1) << "stage " << stage << " v " << v << " unit " << k;
      }
      // The steady state's pairs start where SteadyState says (the periodic extension's boundaries).
      const auto steady = steady_state(schedule, p, stage, m, v, true);
      ASSERT_TRUE(steady);
      EXPECT_EQ(steady->weight_lag, stage);
      for (int pair = 0; pair < steady->pairs; ++pair) {
        const std::size_t at = steady->pair_task(pair);
        EXPECT_TRUE(tasks[at].forward);
        EXPECT_FALSE(tasks[at + 1].forward || tasks[at + 1].weight);
      }
    }
  }
  // Without zero bubble the orders are as they were: no weight passes.
  for (const auto& t : stage_schedule(Schedule::interleaved, p, 0, m, 3)) EXPECT_FALSE(t.weight);
}

// A backward's two halves are the whole of it: the weight matrices' wgrad GEMMs (not attention's
// score and value GEMMs, which have no weights), and the rest.
TEST(ZeroBubble, BackwardSplitsIntoItsWeightGradientsAndTheRest) {
  const Scenario sc = llama70b_pipeline("global_batch: 8, attention: unfused");
  const Workload w = work_of(sc);
  for (const Block* block : {&w.layer.attention_backward, &w.layer.mlp_backward}) {
    const Block input = block->input_gradients(), weight = block->weight_gradients();
    EXPECT_NEAR(input.time() + weight.time(), block->time(), 1e-12 * block->time());
    EXPECT_NEAR(input.flops() + weight.flops(), block->flops(), 1e-6 * block->flops());
    EXPECT_EQ(input.kernels.size() + weight.kernels.size(), block->kernels.size());
    ASSERT_FALSE(weight.kernels.empty());
    for (const auto& k : weight.kernels) {
      EXPECT_TRUE(k.name.ends_with(" wgrad")) << k.name;
      EXPECT_EQ(k.name.find("attention"), std::string::npos) << k.name;
    }
    // Each weight gradient's input gradient stays.
    for (const auto& k : weight.kernels) {
      const std::string dgrad = k.name.substr(0, k.name.size() - 5) + "dgrad";
      EXPECT_TRUE(std::any_of(input.kernels.begin(), input.kernels.end(), [&](const Kernel& i) {
        return i.name == dgrad;
      })) << dgrad;
    }
  }
  // Unfused attention's score GEMM's second-operand gradient is an input gradient.
  const Block input = w.layer.attention_backward.input_gradients();
  EXPECT_TRUE(std::any_of(input.kernels.begin(), input.kernels.end(),
                          [](const Kernel& k) { return k.name == "attention scores wgrad"; }));
}

// Qi et al. 2024 (ZB-H1): the same work, the bubble of (p-1) (F + B - W) instead of 1F1B's
// (p-1) (F + B + W), B the input gradients only; the first stage holds as many micro-batches'
// activations as under 1F1B.
TEST(ZeroBubble, OneFOneBKeepsItsWorkAndShrinksItsBubble) {
  const Scenario plain = llama70b_pipeline("global_batch: 16");
  const Scenario zero = llama70b_pipeline("global_batch: 16, zero_bubble: true");
  SimulationOptions whole;
  whole.periodic = false;
  const StepResult a = simulate_step(plain, whole), b = simulate_step(zero, whole);
  EXPECT_NEAR(b.breakdown.compute, a.breakdown.compute, 1e-6 * a.breakdown.compute);
  EXPECT_NEAR(b.hardware_flops_per_gpu, a.hardware_flops_per_gpu, 1e-6 * a.hardware_flops_per_gpu);
  EXPECT_LT(b.breakdown.bubble, 0.8 * a.breakdown.bubble);
  EXPECT_LT(b.step_time, a.step_time);
  // The paper's saving for equal stages, 2 (p-1) W (a stage's 10 layers' weight passes W); the
  // head's stage is slower, and the deferred passes fill some of the waits for it too.
  const Workload w = work_of(plain);
  const double weight =
      10 * (w.layer.attention_backward.weight_gradients().time() + w.layer.mlp_backward.weight_gradients().time());
  EXPECT_GT(a.step_time - b.step_time, 1.5 * 7 * weight);
  EXPECT_LT(a.step_time - b.step_time, 2 * 7 * weight * 1.05);
  // Memory: the first stage holds p micro-batches either way; later stages hold their deferred
  // weight passes' inputs too (bounded by whole units: every stage as the first).
  const auto mem_plain = memory_per_stage(plain, w), mem_zero = memory_per_stage(zero, work_of(zero));
  EXPECT_DOUBLE_EQ(mem_zero.front().in_flight_microbatches, mem_plain.front().in_flight_microbatches);
  EXPECT_DOUBLE_EQ(mem_zero.back().in_flight_microbatches, 8);
  EXPECT_DOUBLE_EQ(mem_plain.back().in_flight_microbatches, 1);
}

// A deferred weight pass keeps its unit's autograd graph until it runs: under full recomputation
// the layers the backward rebuilt, whole, not the checkpoints (found by a review: counted as
// checkpoints, stage 6 of 8 held 0.15 GB more instead of about 2.4 GB).
TEST(ZeroBubble, DeferredWeightPassesHoldTheRebuiltLayers) {
  Scenario full = llama70b_pipeline("global_batch: 16"),
           zero = llama70b_pipeline("global_batch: 16, zero_bubble: true"), none = full;
  full.plan.recompute = zero.plan.recompute = Recompute::full;
  none.plan.recompute = Recompute::none;
  const auto a = memory_per_stage(full, work_of(full)), b = memory_per_stage(zero, work_of(zero)),
             c = memory_per_stage(none, work_of(none));
  // Stage 6: two units in flight either way, and under zero bubble six more waiting for their
  // weight passes, each holding what recompute: none keeps of a unit (c[6]: two units).
  EXPECT_DOUBLE_EQ(b[6].in_flight_microbatches, 8);
  EXPECT_NEAR(b[6].activations - a[6].activations, 3 * c[6].activations, 1e-6 * c[6].activations);
}

// With one stage there is no pipeline to defer into: the plan runs as written, and says so.
TEST(ZeroBubble, OneStageRunsWithoutIt) {
  const auto one = [](const std::string& more) {
    return load_scenario_text(
        "model: {preset: llama3.1-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
        "plan: {dp: 8, zero: 3, micro_batch: 1, global_batch: 32" +
            more + "}\n",
        "one.yaml");
  };
  const Scenario with = one(", zero_bubble: true"), without = one("");
  EXPECT_TRUE(std::any_of(with.warnings.begin(), with.warnings.end(),
                          [](const Finding& f) { return f.key == "plan.zero_bubble"; }));
  EXPECT_DOUBLE_EQ(simulate_step(with).step_time, simulate_step(without).step_time);
}

// Interleaved: one forward of warm-up per later stage instead of two, so the first stage holds
// fewer chunks' activations than interleaved 1F1B, p micro-batches' worth in all.
TEST(ZeroBubble, InterleavedWarmsUpWithOneForwardPerLaterStage) {
  const Scenario plain = llama70b_pipeline("global_batch: 32, virtual_stages: 2");
  const Scenario zero = llama70b_pipeline("global_batch: 32, virtual_stages: 2, zero_bubble: true");
  const auto a = memory_per_stage(plain, work_of(plain)), b = memory_per_stage(zero, work_of(zero));
  EXPECT_DOUBLE_EQ(b.front().in_flight_microbatches, 8);
  EXPECT_GT(a.front().in_flight_microbatches, 8);
  const StepResult fast = simulate_step(zero);
  EXPECT_GT(fast.step_time, 0);
  EXPECT_LT(fast.breakdown.bubble, simulate_step(plain).breakdown.bubble);
}

// A long step is extended from its steady state as 1F1B's is, to what simulating every
// micro-batch gives: the stages before the slowest (the head's) drain the lead their deferred
// weight passes give them before the periods repeat.
TEST(ZeroBubble, LongStepsExtendToTheWholeSimulation) {
  for (const std::string more : {"global_batch: 96", "global_batch: 128, virtual_stages: 2"}) {
    const Scenario sc = llama70b_pipeline(more + ", zero_bubble: true");
    const StepResult extended = simulate_step(sc);
    SimulationOptions whole;
    whole.periodic = false;
    const StepResult full = simulate_step(sc, whole);
    EXPECT_TRUE(extended.extended) << more;
    EXPECT_LT(extended.simulated_micro_batches, sc.plan.micro_batches()) << more;
    EXPECT_LT(relative(extended.step_time, full.step_time), 1e-4) << more;
    EXPECT_LT(relative(extended.breakdown.compute, full.breakdown.compute), 1e-4) << more;
  }
}

// The search's closed form replays the same order with fixed pass times.
TEST(ZeroBubble, EstimateFollowsTheSimulation) {
  const Scenario plain = llama70b_pipeline("global_batch: 32");
  const Scenario zero = llama70b_pipeline("global_batch: 32, zero_bubble: true");
  const Estimate a = estimate_step(plain), b = estimate_step(zero);
  EXPECT_LT(b.step_time, a.step_time);
  EXPECT_LT(b.bubble, a.bubble);
  EXPECT_LT(relative(b.step_time, simulate_step(zero).step_time), 0.05);
}

// GPipe runs every forward before any backward: nothing to defer into.
TEST(ZeroBubble, GpipeIsRefused) {
  try {
    llama70b_pipeline("global_batch: 16, schedule: gpipe, zero_bubble: true");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("plan.zero_bubble"), std::string::npos) << e.what();
  }
}
