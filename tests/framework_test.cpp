// `plan.framework` fills in what the named framework runs, wherever the plan is silent.
#include "scenario/framework.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "cli_run.hpp"
#include "scenario/scenario.hpp"
#include "scenario/writer.hpp"
#include "search/search.hpp"

using namespace trainsim;

namespace {

Scenario with(const std::string& gpu, const std::string& plan) {
  return load_scenario_text(
      "name: f\nmodel: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 16, gpu: " + gpu +
          "}\nplan: {" + plan + "}\n",
      "framework_test");
}

}  // namespace

TEST(Framework, EachNameSetsWhatItsFrameworkRuns) {
  const PlanSpec none = with("h100-sxm-80gb", "dp: 16, zero: 3, precision: bf16").plan;
  EXPECT_FALSE(none.framework);
  EXPECT_EQ(none.kernels, Kernels::fused);
  EXPECT_EQ(none.gradient_reduce_bytes, 0);

  const PlanSpec titan = with("h100-sxm-80gb", "dp: 16, zero: 3, precision: fp8, framework: torchtitan-2025").plan;
  ASSERT_TRUE(titan.framework);
  EXPECT_EQ(*titan.framework, Framework::torchtitan_2025);
  EXPECT_EQ(titan.attention, Attention::flash2);  // SDPA before PyTorch 2.11 on Hopper
  EXPECT_EQ(titan.kernels, Kernels::eager);
  EXPECT_EQ(titan.loss, Loss::cast);
  EXPECT_EQ(titan.gradient_reduce_bytes, 4);
  EXPECT_TRUE(titan.sharded_master_weights);
  EXPECT_EQ(titan.fp8_weight_cache, std::optional<bool>(false));
  EXPECT_EQ(titan.fp8_saved_inputs, std::optional<bool>(false));
  // On Blackwell SDPA ran cuDNN: the GPU's default family; with tp the loss is loss_parallel's.
  const PlanSpec titan_b200 = with("b200-sxm-180gb", "tp: 2, dp: 8, zero: 3, framework: torchtitan-2025").plan;
  EXPECT_EQ(titan_b200.attention, Attention::flash);
  EXPECT_EQ(titan_b200.loss, Loss::decomposed);
  EXPECT_EQ(with("h100-sxm-80gb", "dp: 16, zero: 3, framework: torchtitan").plan.attention, Attention::flash);

  const PlanSpec old = with("h100-sxm-80gb", "dp: 16, framework: megatron-2021").plan;
  EXPECT_EQ(old.attention, Attention::unfused);
  EXPECT_FALSE(old.overlap_grad_reduce);
  EXPECT_EQ(with("h100-sxm-80gb", "dp: 16, zero: 1, framework: megatron").plan.gradient_reduce_bytes, 4);
  EXPECT_EQ(with("h100-sxm-80gb", "dp: 16, precision: fp16, framework: megatron").plan.gradient_reduce_bytes, 0);

  const PlanSpec nemo = with("h100-sxm-80gb", "dp: 16, zero: 1, precision: fp8, framework: nemo").plan;
  EXPECT_EQ(nemo.loss, Loss::fused);
  EXPECT_TRUE(nemo.fp8_param_gather);
  EXPECT_FALSE(with("h100-sxm-80gb", "dp: 16, zero: 1, framework: nemo").plan.fp8_param_gather);

  EXPECT_EQ(with("h100-sxm-80gb", "dp: 16, framework: llm-foundry-2023").plan.attention, Attention::flash1);
  const PlanSpec foundry = with("h100-sxm-80gb", "dp: 16, zero: 3, framework: llm-foundry").plan;
  EXPECT_EQ(foundry.attention, Attention::flash2);
  EXPECT_EQ(foundry.kernels, Kernels::eager);
  EXPECT_EQ(foundry.loss, Loss::fused);
  EXPECT_TRUE(foundry.sharded_master_weights);

  const PlanSpec deepspeed = with("h100-sxm-80gb", "dp: 16, zero: 3, framework: deepspeed-2021").plan;
  EXPECT_EQ(deepspeed.zero3_unit, Zero3Unit::parameter);
  EXPECT_TRUE(deepspeed.zero3_list_collectives);
  EXPECT_FALSE(deepspeed.overlap_param_gather);
  EXPECT_EQ(deepspeed.attention, Attention::unfused);  // before flash attention (2022)
  EXPECT_TRUE(with("h100-sxm-80gb", "dp: 16, zero: 1, framework: deepspeed-2021").plan.overlap_param_gather);
}

TEST(Framework, WhatThePlanStatesWins) {
  const PlanSpec p = with("h100-sxm-80gb",
                          "dp: 16, zero: 3, framework: torchtitan-2025, attention: cudnn, kernels: fused, loss: fused, "
                          "grad_reduce_precision: bf16, sharded_master_weights: false")
                         .plan;
  EXPECT_EQ(p.attention, Attention::cudnn);
  EXPECT_EQ(p.kernels, Kernels::fused);
  EXPECT_EQ(p.loss, Loss::fused);
  EXPECT_EQ(p.gradient_reduce_bytes, 2);
  EXPECT_FALSE(p.sharded_master_weights);
}

TEST(Framework, AWrittenScenarioReadsBackTheSame) {
  const Scenario sc = with("h100-sxm-80gb", "dp: 16, zero: 3, precision: fp8, framework: torchtitan-2025");
  const std::string yaml = scenario_to_yaml(sc);
  EXPECT_NE(yaml.find("framework: torchtitan-2025"), std::string::npos) << yaml;
  const PlanSpec back = load_scenario_text(yaml, "written").plan;
  EXPECT_EQ(back.framework, sc.plan.framework);
  EXPECT_EQ(back.attention, sc.plan.attention);
  EXPECT_EQ(back.kernels, sc.plan.kernels);
  EXPECT_EQ(back.loss, sc.plan.loss);
  EXPECT_EQ(back.gradient_reduce_bytes, sc.plan.gradient_reduce_bytes);
  EXPECT_EQ(back.sharded_master_weights, sc.plan.sharded_master_weights);
  EXPECT_EQ(back.fp8_weight_cache, sc.plan.fp8_weight_cache);
}

TEST(Framework, PredictNamesItAndAnUnknownNameIsAnError) {
  using namespace trainsim_test;
  const std::string scenario = kSource + "/scenarios/gpt3-1.3b-32xa100.yaml";
  const CommandResult named = run("predict " + scenario + " --set plan.framework=llm-foundry-2023");
  ASSERT_EQ(named.code, 0) << named.output;
  EXPECT_NE(
      named.output.find("as llm-foundry-2023 runs them: attention flash1, eager element-wise kernels, fused loss"),
      std::string::npos)
      << named.output;
  const CommandResult wrong = run("predict " + scenario + " --set plan.framework=torchtitn");
  EXPECT_EQ(wrong.code, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("plan.framework"), std::string::npos) << wrong.output;
  EXPECT_NE(wrong.output.find("did you mean torchtitan?"), std::string::npos) << wrong.output;
  EXPECT_NE(wrong.output.find("deepspeed-2021"), std::string::npos) << wrong.output;
}

TEST(Framework, ASearchsCandidatesRunWhatTheFrameworkRunsForThem) {
  const YAML::Node doc = YAML::Load(
      "name: s\nmodel: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 16}\n"
      "plan: {tp: [1, 2], zero: [1, 3], micro_batch: 1, global_batch: 16, framework: torchtitan-2025, "
      "kernels: fused}\n");
  const auto plans = enumerate_plans(load_plan_space(doc, "framework_test"));
  int seen = 0;
  for (const PlanSpec& p : plans) {
    ASSERT_TRUE(p.framework);
    EXPECT_EQ(p.loss, p.tp > 1 ? Loss::decomposed : Loss::cast) << "tp " << p.tp;
    if (p.zero >= 3) {
      EXPECT_TRUE(p.sharded_master_weights);
    }
    EXPECT_EQ(p.kernels, Kernels::fused);  // stated: kept
    EXPECT_EQ(p.attention, Attention::flash2);
    ++seen;
  }
  EXPECT_EQ(seen, 4);
}

TEST(Framework, ItNeverMakesAPlanTheScenarioCouldNotState) {
  // FlashAttention-1 never ran on Blackwell: there the GPU's default family stays.
  EXPECT_EQ(with("b200-sxm-180gb", "dp: 16, framework: llm-foundry-2023").plan.attention, Attention::flash);
  // FSDP's fp32 shards are the master weights only where the master weights are fp32.
  EXPECT_FALSE(with("h100-sxm-80gb", "dp: 16, zero: 3, master_weights: 16-bit, framework: torchtitan")
                   .plan.sharded_master_weights);
  // gradient_compression: none reduces as usual, so the framework's fp32 reduce holds.
  EXPECT_EQ(
      with("h100-sxm-80gb", "dp: 16, gradient_compression: none, framework: torchtitan").plan.gradient_reduce_bytes, 4);
  // The FP8 weight gather needs sharded weights (the distributed optimizer or FSDP).
  EXPECT_FALSE(with("h100-sxm-80gb", "dp: 16, zero: 0, precision: fp8, framework: nemo").plan.fp8_param_gather);
}

TEST(Framework, StatedDefaultsSurviveAWriteAndTheFrameworkStillFollowsTp) {
  // kernels: fused is the default, stated against torchtitan's eager (torch.compile on).
  const Scenario sc = with(
      "h100-sxm-80gb", "tp: 2, dp: 8, global_batch: 16, zero: 3, kernels: fused, loss: fp32, framework: torchtitan");
  ASSERT_EQ(sc.plan.kernels, Kernels::fused);
  const std::string yaml = scenario_to_yaml(sc);
  EXPECT_NE(yaml.find("kernels: fused"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("sharded_master_weights"), std::string::npos) << "the framework's, not stated:\n" << yaml;
  const Scenario back = load_scenario_text(yaml, "written");
  EXPECT_EQ(back.plan.kernels, Kernels::fused);
  EXPECT_EQ(back.plan.loss, Loss::fp32);
  EXPECT_TRUE(back.plan.sharded_master_weights);
  // Read back at tp 1, the framework's loss follows tp (cast, not loss_parallel's), the stated one stays.
  std::string at_tp1 = yaml;
  at_tp1.replace(at_tp1.find("tp: 2"), 5, "tp: 1");
  at_tp1.replace(at_tp1.find("dp: 8"), 5, "dp: 16");
  at_tp1.replace(at_tp1.find("loss: fp32"), 10, "dp_shard: 0");  // drop the stated loss
  const PlanSpec tp1 = load_scenario_text(at_tp1, "tp1").plan;
  EXPECT_EQ(tp1.loss, Loss::cast);
  EXPECT_EQ(tp1.kernels, Kernels::fused);
}
