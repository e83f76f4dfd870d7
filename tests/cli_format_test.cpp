// The CLI's tables read as a person writes numbers: no scientific notation, no raw JSON keys,
// separators in large numbers, money and token counts in their usual forms.
#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_run.hpp"

using namespace trainsim_test;

namespace {

void expect_human(const std::string& table) {
  static const std::regex exponent("[0-9]e[+-]?[0-9]");
  EXPECT_FALSE(std::regex_search(table, exponent)) << table;
  for (const char* raw : {"breakdown_s", "exposed_comm", "memory_per_gpu_bytes", "step_time_s", "tokens_per_s",
                          "model_tflops_per_gpu", "$0.00M"}) {
    EXPECT_EQ(table.find(raw), std::string::npos) << raw << " in\n" << table;
  }
  // Dollars above a thousand are "$1.26M" or "$12,345", never "$1262286".
  static const std::regex long_dollars("\\$[0-9]{4,}");
  EXPECT_FALSE(std::regex_search(table, long_dollars)) << table;
}

}  // namespace

TEST(CliFormat, PredictTableIsHuman) {
  const CommandResult r = run("predict " + kSource + "/scenarios/default.yaml");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_human(r.output);
  EXPECT_NE(r.output.find("1,024 x a100"), std::string::npos) << r.output;
  // The parameter count, so a model written from fields can be checked against its paper.
  EXPECT_NE(r.output.find("gpt3-175b (175B parameters) on"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("for 300B tokens"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("micro-batch 1, 192 accumulation steps"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pipeline bubble"), std::string::npos) << r.output;
  // The label column is one width and values are right-aligned: lines with a label and a value
  // alone end in the same column.
  const auto line_of = [&](const std::string& label) {
    const auto start = r.output.find("\n  " + label) + 1;
    return r.output.substr(start, r.output.find('\n', start) - start);
  };
  // tokens/s carries a note (per GPU) after its value, which ends in the same column.
  const std::string tokens = line_of("tokens/s");
  ASSERT_GT(tokens.size(), line_of("step time").size()) << r.output;
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(tokens[line_of("step time").size() - 1]))) << r.output;
  EXPECT_EQ(tokens[line_of("step time").size()], ' ') << r.output;
  EXPECT_NE(tokens.find(" per GPU"), std::string::npos) << r.output;
  EXPECT_EQ(line_of("energy to train").size(), line_of("step time").size()) << r.output;
}

// The kernels a prediction priced are stated, defaults named as such, so a user sees the
// framework choices they left out (the A100's default attention is FlashAttention-2, the H200's
// cuDNN's; the scenario's own choice replaces the default and loses the note).
TEST(CliFormat, PredictNamesTheKernelsItAssumed) {
  const std::string scenario = kSource + "/scenarios/gpt3-1.3b-single-h200.yaml";
  const CommandResult table = run("predict " + scenario);
  ASSERT_EQ(table.code, 0) << table.output;
  EXPECT_NE(table.output.find("attention cudnn (h200-sxm-141gb's default; plan.attention), eager element-wise kernels, "
                              "fp32 loss"),
            std::string::npos)
      << table.output;
  const CommandResult chosen =
      run("predict " + scenario + " --set plan.attention=flash2 --set plan.kernels=fused --set plan.loss=fused");
  ASSERT_EQ(chosen.code, 0) << chosen.output;
  EXPECT_NE(chosen.output.find("attention flash2, fused element-wise kernels, fused loss"), std::string::npos)
      << chosen.output;
  const CommandResult fp8 =
      run("predict " + scenario + " --json --set plan.precision=fp8 --set plan.fp8_recipe=delayed");
  ASSERT_EQ(fp8.code, 0) << fp8.output;
  const auto k = nlohmann::json::parse(fp8.output).at("kernels");
  EXPECT_EQ(k.at("attention"), "cudnn");
  EXPECT_TRUE(k.at("attention_is_default").get<bool>());
  EXPECT_EQ(k.at("fp8_recipe"), "delayed");
  const CommandResult a100 = run("predict " + kSource + "/scenarios/default.yaml --json");
  ASSERT_EQ(a100.code, 0) << a100.output;
  const auto d = nlohmann::json::parse(a100.output).at("kernels");
  EXPECT_EQ(d.at("attention"), "flash2");
  EXPECT_TRUE(d.at("fp8_recipe").is_null());
  EXPECT_TRUE(d.at("moe_router_kernels").is_null());
  // A MoE model's router: its forward's launches, Megatron-Core's with and without router fusion.
  const std::string moe = kSource + "/scenarios/mixtral-8x7b-64-h100.yaml";
  const CommandResult fused = run("predict " + moe);
  ASSERT_EQ(fused.code, 0) << fused.output;
  EXPECT_NE(fused.output.find("router in 31 kernels (plan.moe_router_fusion)"), std::string::npos) << fused.output;
  const CommandResult unfused = run("predict " + moe + " --json --set plan.moe_router_fusion=false");
  ASSERT_EQ(unfused.code, 0) << unfused.output;
  // (72 launches make the plan launch-bound: its warning precedes the JSON on stderr.)
  EXPECT_EQ(
      nlohmann::json::parse(unfused.output.substr(unfused.output.find('{'))).at("kernels").at("moe_router_kernels"),
      72);
}

TEST(CliFormat, NoPipelineNoBubbleLine) {
  const CommandResult r = run("predict " + kSource + "/scenarios/gpt3-1.3b-single-h200.yaml");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_human(r.output);
  EXPECT_EQ(r.output.find("pipeline bubble"), std::string::npos) << r.output;
}

TEST(CliFormat, AbsurdTimeToTrainIsInYears) {
  const CommandResult r =
      run("predict " + kSource + "/scenarios/gpt3-1.3b-single-h200.yaml --set training.tokens=1e18");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_human(r.output);
  EXPECT_NE(r.output.find(" years"), std::string::npos) << r.output;
}

TEST(CliFormat, CompareTableIsHumanAndKeepsWholePlans) {
  const CommandResult r = run_command("COLUMNS=400 " + std::string(TRAINSIM_BINARY) + " compare " + kSource +
                                      "/scenarios/compare-llama2-70b-a100.yaml " + kSource +
                                      "/scenarios/compare-llama2-70b-h100.yaml --top 2");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_human(r.output);
  EXPECT_NE(r.output.find("recompute selective"), std::string::npos) << r.output;  // the plan's end, not cut
  // Columns line up: the header's "MFU" ends where each row's percentage ends.
  const auto header_end = r.output.find('\n');
  const auto mfu = r.output.find("MFU") + 3;
  const auto row = r.output.substr(header_end + 1, r.output.find('\n', header_end + 1) - header_end - 1);
  ASSERT_GT(row.size(), mfu);
  EXPECT_EQ(row[mfu - 1], '%') << r.output;
  // A narrow terminal: the plans move below the table, still whole.
  const CommandResult narrow = run_command("COLUMNS=80 " + std::string(TRAINSIM_BINARY) + " compare " + kSource +
                                           "/scenarios/compare-llama2-70b-a100.yaml --top 2");
  ASSERT_EQ(narrow.code, 0) << narrow.output;
  EXPECT_NE(narrow.output.find("best plans"), std::string::npos) << narrow.output;
  EXPECT_NE(narrow.output.find("recompute selective"), std::string::npos) << narrow.output;
}

TEST(CliFormat, ValidateTableHasHumanLabels) {
  const CommandResult r = run("validate " + kSource + "/scenarios/gpt3-1.3b-single-h200.yaml --measured " + kSource +
                              "/data/measurements/h200-2026-11-28-gpt-1.3b.json --profile " + kSource +
                              "/data/profiles/h200-2026-11-28.json");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_human(r.output);
  for (const char* label : {"step time", "exposed communication", "peak memory per GPU", "tokens/s"}) {
    EXPECT_NE(r.output.find(label), std::string::npos) << label << "\n" << r.output;
  }
}

TEST(CliFormat, SearchTableHasNoExponentOrLongDollars) {
  const CommandResult r = run("search " + kSource + "/scenarios/search-llama2-7b.yaml --top 3");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_human(r.output);
}

// Plans whose layers are launch-bound are marked in the search's table, with the mark explained;
// a dense plan's table has neither (Prediction::host_bound_share, docs/accuracy.md).
TEST(CliFormat, SearchMarksLaunchBoundPlans) {
  const std::string path = testing::TempDir() + "/launch-bound-search.yaml";
  std::ofstream(path) << "name: qwen3-30b on 8 B200\n"
                         "model: {preset: qwen3-30b-a3b, seq_len: 4096}\n"
                         "cluster: {topology: dgx-b200-superpod, gpus: 8, gpu: b200-sxm-180gb}\n"
                         "plan: {tp: 1, ep: 8, micro_batch: [1, 4], global_batch: 64, precision: mxfp8}\n";
  const CommandResult moe = run("search " + path);
  ASSERT_EQ(moe.code, 0) << moe.output;
  EXPECT_NE(moe.output.find(" s! "), std::string::npos) << moe.output;
  EXPECT_NE(moe.output.find("! likely optimistic"), std::string::npos) << moe.output;
  const CommandResult json = run("search " + path + " --json");
  ASSERT_EQ(json.code, 0) << json.output;
  const auto plans = nlohmann::json::parse(json.output.substr(json.output.find('{'))).at("plans");
  ASSERT_FALSE(plans.empty());
  EXPECT_GT(plans.front().at("host_bound_share").get<double>(), 0.05);
  const CommandResult dense = run("search " + kSource + "/scenarios/search-llama2-7b.yaml --top 3");
  ASSERT_EQ(dense.code, 0) << dense.output;
  EXPECT_EQ(dense.output.find("likely optimistic"), std::string::npos) << dense.output;
}

// `compare` marks a launch-bound prediction's step the same way, and says what the mark means.
TEST(CliFormat, CompareMarksLaunchBoundPredictions) {
  const CommandResult r =
      run("compare " + kSource + "/scenarios/mixed-gpt3-13b.yaml " + kSource + "/scenarios/gpt3-1.3b-32xa100.yaml");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(" s! "), std::string::npos) << r.output;   // mixed-gpt3-13b: 9.6% launch-bound
  EXPECT_EQ(r.output.find(" ms! "), std::string::npos) << r.output;  // gpt3-1.3b-32xa100: 0.7%
  EXPECT_NE(r.output.find("! likely optimistic"), std::string::npos) << r.output;
}

namespace {
// Llama 3 8B on `gpus` H100s with `plan`, predicted as a table and as JSON (both must succeed).
std::pair<std::string, nlohmann::json> predict_llama3_8b(const std::string& name, int gpus, const std::string& plan) {
  const std::string path = testing::TempDir() + "/" + name + ".yaml";
  write_text(path, "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: " + std::to_string(gpus) +
                       "}\nplan: " + plan + "\n");
  const CommandResult table = run("predict " + path);
  const CommandResult json = run("predict " + path + " --json");
  EXPECT_EQ(table.code, 0) << table.output;
  EXPECT_EQ(json.code, 0) << json.output;
  // (The JSON from its first brace: warnings, as on stderr, come first.)
  const auto brace = json.output.find('{');
  return {table.output, json.code == 0 && brace != std::string::npos ? nlohmann::json::parse(json.output.substr(brace))
                                                                     : nlohmann::json()};
}
}  // namespace

// Hybrid sharding is named with its shard group, in the plan line and the JSON's data-parallel mode.
TEST(CliFormat, HybridShardingNamesItsShardGroup) {
  const auto [table, j] =
      predict_llama3_8b("hybrid", 16, "{dp: 16, dp_shard: 8, zero: 3, micro_batch: 1, global_batch: 64}");
  EXPECT_NE(table.find("dp 16 (ZeRO shards over 8 dp ranks, 2 replicas)"), std::string::npos) << table;
  EXPECT_EQ(j["data_parallel"]["mode"], "hybrid-zero-3");
  EXPECT_EQ(j["data_parallel"]["shard_group"], 8);
}

// The stage that finishes last is not always the one the others wait for: with Llama 3 8B over
// 8 stages the last holds the 128K-vocabulary head and its loss, and the first stage's time is
// mostly bubble. The table names the busiest stage and its parts; the JSON gives every stage's.
TEST(CliFormat, TheBusiestStageIsNamedWhereItIsNotTheLastToFinish) {
  const auto [table, j] = predict_llama3_8b("busiest", 8, "{tp: 1, pp: 8, micro_batch: 1, global_batch: 16}");
  EXPECT_NE(table.find("where the time goes (stage 0, the last to finish)"), std::string::npos) << table;
  EXPECT_TRUE(std::regex_search(table, std::regex("busiest stage +7 +compute"))) << table;
  const auto stages = j["stages"];
  ASSERT_EQ(stages.size(), 8u);
  EXPECT_LT(stages[7]["bubble_s"].get<double>(), 0.5 * stages[0]["bubble_s"].get<double>());
  EXPECT_GT(stages[7]["compute_s"].get<double>(), stages[0]["compute_s"].get<double>());
  // The first stage made the heaviest (11 layers of 32): it finishes last and is the busiest, and
  // the later stages' smaller bubbles (they finish sooner) name no other.
  const auto [heavy_first, unused] = predict_llama3_8b(
      "heavy-first", 8,
      "{tp: 1, pp: 8, micro_batch: 1, global_batch: 16, layers_per_stage: [11, 3, 3, 3, 3, 3, 3, 3]}");
  EXPECT_NE(heavy_first.find("(stage 0, the last to finish)"), std::string::npos) << heavy_first;
  EXPECT_EQ(heavy_first.find("busiest stage"), std::string::npos) << heavy_first;
}
