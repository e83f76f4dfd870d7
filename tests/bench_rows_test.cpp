// bench_accuracy reads a published run the way its authors wrote it: the same run spelled
// another way ("a100_80gb", "AMP_BFLOAT16", "fully sharded", "yes", a framework in lower case)
// becomes the same scenario, and a GPU it has no preset for is named, not priced as another.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cli_run.hpp"

using namespace trainsim_test;

namespace {

// Row id -> predicted step time, from bench_accuracy's per-row lines.
std::map<std::string, std::string> predictions(const std::string& output) {
  std::map<std::string, std::string> predicted;
  const std::regex line(R"(^(\d+)\s.*measured.*predicted\s+([0-9.]+) s)");
  std::istringstream lines(output);
  for (std::string text; std::getline(lines, text);) {
    if (std::smatch m; std::regex_search(text, m, line)) predicted[m[1]] = m[2];
  }
  return predicted;
}

}  // namespace

// tests/data/row_spellings.csv: rows 1, 3, 5 as public_runs.csv spells them (rows 344 and 601
// there, and 344 with full recomputation); 2, 4 and 6 the same runs in other words; 7 on a GPU
// without a preset; 8 row 3's run under another gated-MLP family's name; 9 row 1's on an A800,
// the A100 with less NVLink, priced as the A100.
TEST(BenchRows, SpellingsOfOneRunPredictTheSame) {
  const CommandResult r =
      run_command(std::string(TRAINSIM_BENCH_ACCURACY) + " " + kSource + "/tests/data/row_spellings.csv");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto predicted = predictions(r.output);
  ASSERT_EQ(predicted.size(), 8U) << r.output;
  EXPECT_EQ(predicted.at("2"), predicted.at("1"));  // GPU, precision, ZeRO, framework spelled apart
  EXPECT_EQ(predicted.at("4"), predicted.at("3"));  // "500w", "BFloat16", "torchtitan"
  EXPECT_EQ(predicted.at("6"), predicted.at("5"));  // recomputation "yes" is full
  EXPECT_EQ(predicted.at("8"), predicted.at("3"));  // a Granite is a Llama-shaped model
  EXPECT_EQ(predicted.at("9"), predicted.at("1"));
  EXPECT_NE(predicted.at("5"), predicted.at("1"));
  EXPECT_NE(r.output.find("row 7: skipped, no GPU preset for 'MI300X'"), std::string::npos) << r.output;
}

// llm-foundry's MPT trains without dropout and computes its loss in flash-attn's fused
// cross-entropy kernel (MptConfig's pdrops 0.0, ComposerMPTCausalLM's loss_fn default): the bench
// writes both into an MPT row's scenario. tests/data/mpt_h100_row.csv is a run of MosaicML's H100
// table (MPT-760m, 24 x 2048 tokens a micro-batch, no activation checkpointing on 80 GB H100s),
// which ran: written that way it fits, where dropout masks and an fp32 copy of the logits made it
// 82 GiB, over the 74 GiB usable.
TEST(BenchRows, MptRowsTrainWithoutDropoutAndWithTheFusedLoss) {
  const std::string dir = testing::TempDir() + "/mpt-rows";
  const CommandResult bench = run_command("rm -rf " + dir + " && mkdir -p " + dir + " && " + TRAINSIM_BENCH_ACCURACY +
                                          " " + kSource + "/tests/data/mpt_h100_row.csv --write " + dir);
  ASSERT_EQ(bench.code, 0) << bench.output;
  const std::string scenario = read_text(dir + "/row-1.yaml");
  EXPECT_NE(scenario.find("dropout: false"), std::string::npos) << scenario;
  EXPECT_NE(scenario.find("loss: fused"), std::string::npos) << scenario;
  const CommandResult predicted = run("predict --json " + dir + "/row-1.yaml");
  ASSERT_EQ(predicted.code, 0) << predicted.output;
  EXPECT_TRUE(nlohmann::json::parse(predicted.output)["fits_in_memory"].get<bool>()) << predicted.output;
}
