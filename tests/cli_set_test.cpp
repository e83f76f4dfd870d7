// `--set KEY=VALUE`: the same prediction as the same edit in the file, and the same checks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "cli_run.hpp"

using namespace trainsim_test;

namespace {

const std::string kScenario = kSource + "/scenarios/gpt3-1.3b-32xa100.yaml";

// The scenario's text with each old text replaced (which must be there).
std::string edited(const std::vector<std::pair<std::string, std::string>>& edits) {
  std::string text = read_text(kScenario);
  for (const auto& [old_text, new_text] : edits) {
    const auto at = text.find(old_text);
    EXPECT_NE(at, std::string::npos) << old_text;
    if (at != std::string::npos) text.replace(at, old_text.size(), new_text);
  }
  return text;
}

nlohmann::json predict_json(const std::string& arguments) {
  const CommandResult r = run("predict " + arguments + " --json");
  EXPECT_EQ(r.code, 0) << r.output;
  // Warnings go to stderr before the object.
  const auto start = r.output.find("{\n");
  return start == std::string::npos ? nlohmann::json() : nlohmann::json::parse(r.output.substr(start));
}

}  // namespace

TEST(CliSet, ChangesThePredictionAsTheSameFileEditDoes) {
  const std::string file = testing::TempDir() + "/set-edited.yaml";
  write_text(file,
             edited({{"plan: {tp: 2, pp: 4, dp: 4, micro_batch: 2", "plan: {tp: 4, pp: 2, dp: 4, micro_batch: 1"}}));
  const nlohmann::json from_file = predict_json(file);
  const nlohmann::json from_set = predict_json(kScenario + " --set plan.tp=4 --set plan.pp=2 --set plan.micro_batch=1");
  const nlohmann::json original = predict_json(kScenario);
  ASSERT_TRUE(from_file.contains("step_time_s"));
  EXPECT_NE(original["step_time_s"], from_set["step_time_s"]);  // the override took effect
  for (const char* key : {"step_time_s", "tokens_per_s", "mfu", "memory_per_gpu_bytes", "breakdown_s", "gpus"}) {
    EXPECT_EQ(from_file[key], from_set[key]) << key;
  }
}

TEST(CliSet, ClusterGpusAndNestedMapsAndLists) {
  // dp follows from the GPUs when the file leaves it out, as in the file.
  const std::string file = testing::TempDir() + "/set-gpus.yaml";
  write_text(file, edited({{"gpus: 32}", "gpus: 64}"}, {"dp: 4", "dp: 8"}}));
  const nlohmann::json from_file = predict_json(file);
  const nlohmann::json from_set = predict_json(kScenario + " --set cluster.gpus=64 --set plan.dp=8");
  EXPECT_EQ(from_file["gpus"], 64);
  EXPECT_EQ(from_file["step_time_s"], from_set["step_time_s"]);
  // A list value, read as YAML.
  const nlohmann::json placed = predict_json(kScenario + " --set 'plan.placement=[tp, pp, cp, dp]'");
  EXPECT_TRUE(placed.contains("step_time_s"));
}

// Exit code 2 and each of `needles` in the message.
static void expect_input_error(const std::string& arguments, const std::vector<std::string>& needles) {
  const CommandResult r = run(arguments);
  EXPECT_EQ(r.code, 2) << arguments << "\n" << r.output;
  for (const auto& needle : needles) EXPECT_NE(r.output.find(needle), std::string::npos) << needle << "\n" << r.output;
}

TEST(CliSet, BadOverridesAreInputErrorsNamingSetAndTheKey) {
  const std::string predict = "predict " + kScenario;
  expect_input_error(predict + " --set plan.tpp=8", {"--set plan.tpp=8", "did you mean 'tp'"});
  expect_input_error(predict + " --set plan.tp=eight", {"--set plan.tp=eight", "'plan.tp'", "expected an integer"});
  expect_input_error(predict + " --set plan.tp", {"--set plan.tp", "KEY=VALUE"});
  expect_input_error(predict + " --set plan.tp=", {"--set plan.tp=", "expected a value"});
  // The plan checked against the cluster: tp 3 does not divide 32 GPUs.
  expect_input_error(predict + " --set plan.tp=3", {"--set plan.tp=3", "32 GPUs"});
  // A key under a value that is not a map.
  expect_input_error(predict + " --set plan.tp.x=1", {"--set plan.tp.x=1", "not a map"});
  // An unknown section.
  expect_input_error(predict + " --set plann.tp=8", {"--set plann.tp=8", "did you mean 'plan'"});
}

TEST(CliSet, SearchCompareAndValidateTakeIt) {
  const CommandResult search = run("search " + kScenario + " --set 'plan.tp=[1, 2]' --set plan.pp=auto --top 1 --json");
  EXPECT_EQ(search.code, 0) << search.output;
  const CommandResult compare = run("compare " + kScenario + " --set cluster.gpus=16 --set plan.dp=2");
  EXPECT_EQ(compare.code, 0) << compare.output;
  EXPECT_NE(compare.output.find("16"), std::string::npos) << compare.output;
  expect_input_error("compare " + kScenario + " --set plan.zero=7", {"--set plan.zero=7"});
  expect_input_error("validate " + kScenario + " --measured /nonexistent.json --set plan.recompute=banana",
                     {"--set plan.recompute=banana", "expected one of"});
}
