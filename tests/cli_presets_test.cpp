// presets --show: a preset's figures and its text with the sources; topology show per node group.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_run.hpp"

using namespace trainsim_test;

TEST(CliPresets, ShowGivesEveryNumberWithItsSource) {
  const CommandResult gpu = run("presets --show h100-sxm-80gb");
  ASSERT_EQ(gpu.code, 0) << gpu.output;
  EXPECT_NE(gpu.output.find("a gpu preset (sim/presets/gpus.yaml)"), std::string::npos) << gpu.output;
  EXPECT_NE(gpu.output.find("989 TFLOP/s"), std::string::npos) << gpu.output;     // the bf16 peak, in people's units
  EXPECT_NE(gpu.output.find("source:"), std::string::npos) << gpu.output;         // the entry as written
  EXPECT_NE(gpu.output.find("# KF"), std::string::npos) << gpu.output;            // with the comments citing sources
  EXPECT_EQ(gpu.output.find("a100-80gb-sxm:"), std::string::npos) << gpu.output;  // and nothing of the next entry

  const CommandResult model = run("presets --show llama3-8b");
  ASSERT_EQ(model.code, 0) << model.output;
  EXPECT_NE(model.output.find("parameters"), std::string::npos) << model.output;
  EXPECT_NE(model.output.find("8.03B"), std::string::npos) << model.output;
  // A one-line entry ends at its line: the comment under it introduces the next entry.
  const CommandResult one_line = run("presets --show llama4-maverick");
  ASSERT_EQ(one_line.code, 0) << one_line.output;
  EXPECT_EQ(one_line.output.find("Nemotron-4"), std::string::npos) << one_line.output;  // the next one's
  const CommandResult commented = run("presets --show llama4-scout");
  EXPECT_NE(commented.output.find("# Llama 4 (Meta"), std::string::npos) << commented.output;  // its own

  const CommandResult topology = run("presets --show dgx-h100-superpod");
  ASSERT_EQ(topology.code, 0) << topology.output;
  EXPECT_NE(topology.output.find("a topology preset"), std::string::npos) << topology.output;
}

TEST(CliPresets, ShowJson) {
  const CommandResult r = run("presets --show a100-80gb-sxm --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["kind"], "gpu");
  EXPECT_EQ(j["fields"]["memory"], "80GiB");
  EXPECT_EQ(j["fields"]["sm_count"], 108);
  EXPECT_EQ(j["fields"]["kernels"]["gemm"]["bf16"], 0.84);
  EXPECT_NE(j["text"].get<std::string>().find("datasheet"), std::string::npos);
}

TEST(CliPresets, ShowUnknownNameIsAnInputError) {
  const CommandResult r = run("presets --show h100-sxm-80g");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean h100-sxm-80gb"), std::string::npos) << r.output;
}

// "H100" or "gpt-oss" is what people call the presets that begin with it: the hint names them all
// (up to four), in any case; a start shared by many names lists none of them.
TEST(CliPresets, AShortNameHintsAtThePresetsItBegins) {
  const CommandResult gpu = run("presets --show H100");
  EXPECT_EQ(gpu.code, 2) << gpu.output;
  EXPECT_NE(gpu.output.find("did you mean h100-sxm-80gb or h100-sxm-96gb?"), std::string::npos) << gpu.output;
  const CommandResult model = run("presets --show gpt-oss");
  EXPECT_NE(model.output.find("did you mean gpt-oss-120b or gpt-oss-20b?"), std::string::npos) << model.output;
  const CommandResult many = run("presets --show llama");
  EXPECT_EQ(many.code, 2) << many.output;
  EXPECT_EQ(many.output.find("did you mean"), std::string::npos) << many.output;
}

TEST(CliPresets, TopologyShowListsNodeGroups) {
  const CommandResult r = run("topology show mixed-h100-a100");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("128 x h100-sxm-80gb"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("128 x a100-80gb-sxm"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("NVLink 450 GB/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("NVLink 300 GB/s"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("256 x h100"), std::string::npos) << r.output;
  const CommandResult json = run("topology show mixed-h100-a100 --json");
  ASSERT_EQ(json.code, 0) << json.output;
  const auto j = nlohmann::json::parse(json.output);
  ASSERT_EQ(j["node_groups"].size(), 2u);
  EXPECT_EQ(j["node_groups"][1]["gpu"], "a100-80gb-sxm");
}
