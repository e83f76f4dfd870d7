// The trainsim binary as a user runs it: exit codes and messages.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.hpp"

using trainsim_test::CommandResult;
using trainsim_test::kSource;
using trainsim_test::run;

TEST(Cli, HelpAndVersion) {
  EXPECT_EQ(run("--help").code, 0);
  const CommandResult version = run("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.output.find("trainsim"), std::string::npos);
  EXPECT_EQ(run("predict --help").code, 0);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("frobnicate").code, 2);
  EXPECT_EQ(run("predict").code, 2);
}

TEST(Cli, BadScenarioExitsTwoWithFileLineAndKey) {
  const CommandResult r = run("predict " + kSource + "/tests/data/bad/scenario.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("scenario.yaml:5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("'plan.micro_batch'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("expected an integer"), std::string::npos) << r.output;
}

TEST(Cli, MissingFileExitsTwo) {
  const CommandResult r = run("predict /nonexistent/scenario.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("cannot open"), std::string::npos);
}

TEST(Cli, TopologyShowAndExport) {
  const CommandResult show = run("topology show dgx-a100-superpod --json");
  EXPECT_EQ(show.code, 0);
  EXPECT_NE(show.output.find("\"gpus\": 1120"), std::string::npos) << show.output;
  EXPECT_EQ(run("topology show no-such-topology").code, 2);
  // The design sized to a job: 3,072 GPUs are 384 nodes under 20-node leaves (20 leaves).
  const CommandResult grown = run("topology show dgx-a100-superpod --gpus 3072 --json");
  EXPECT_EQ(grown.code, 0);
  EXPECT_NE(grown.output.find("\"gpus\": 3072"), std::string::npos) << grown.output;
  EXPECT_NE(grown.output.find("\"resized_from_nodes\": 140"), std::string::npos) << grown.output;
  EXPECT_EQ(run("topology show torus-3d-h100 --gpus 9999").code, 2);
  const CommandResult dot = run("topology export torus-3d-h100 --format dot");
  EXPECT_EQ(dot.code, 0);
  EXPECT_EQ(dot.output.rfind("graph", 0), 0u);
}

TEST(Cli, PredictWritesJsonAndATrace) {
  const std::string trace = testing::TempDir() + "/trace.json";
  const CommandResult r = run("predict " + kSource + "/scenarios/llama2-70b-512-h100.yaml --json --trace " + trace);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\"step_time_s\""), std::string::npos);
  std::FILE* f = std::fopen(trace.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string text(1 << 16, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  EXPECT_EQ(text.rfind("{\"displayTimeUnit\"", 0), 0u) << text.substr(0, 80);
  EXPECT_NE(text.find("\"traceEvents\""), std::string::npos);
}

// --kernels lists one layer's kernels after the report, each priced, and says how many.
TEST(Cli, PredictListsOneLayersKernels) {
  const CommandResult r = run("predict " + kSource + "/scenarios/llama3-8b-8xh100.yaml --kernels");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::size_t table = r.output.find("kernels of one micro-batch on h100");
  ASSERT_NE(table, std::string::npos) << r.output;
  const std::size_t header = r.output.find("  layer: ", table);
  ASSERT_NE(header, std::string::npos);
  const int said = std::stoi(r.output.substr(header + 9));
  // The layer's table runs to the next title (two spaces in, not four).
  int rows = 0;
  for (std::size_t at = r.output.find('\n', header); at != std::string::npos; at = r.output.find('\n', at + 1)) {
    const std::string line = r.output.substr(at + 1, 14);
    if (line.rfind("    ", 0) != 0) break;
    if (line.rfind("    forward", 0) == 0 || line.rfind("    backward", 0) == 0 || line.rfind("    recompute", 0) == 0)
      ++rows;
  }
  EXPECT_EQ(rows, said);
  EXPECT_GT(rows, 20);
  EXPECT_NE(r.output.find("attention/qkv projection"), std::string::npos);
  EXPECT_NE(r.output.find("mlp backward/down projection wgrad"), std::string::npos);
  // Then the stages' work besides their layers: the embedding, the head and its loss.
  EXPECT_NE(r.output.find("first stage, besides its layers"), std::string::npos);
  EXPECT_NE(r.output.find("lm head + loss/lm head"), std::string::npos);
  // A table, so not beside --json.
  EXPECT_EQ(run("predict " + kSource + "/scenarios/llama3-8b-8xh100.yaml --kernels --json").code, 2);
}

TEST(Cli, DemoScenarioPredicts) {
  const CommandResult r = run("predict " + kSource + "/scenarios/default.yaml");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("step time"), std::string::npos);
  EXPECT_NE(r.output.find("time to train"), std::string::npos);
}

TEST(Cli, CompareWritesTableCsvAndSvg) {
  const std::string csv = testing::TempDir() + "/compare.csv";
  const std::string svg = testing::TempDir() + "/compare.svg";
  const CommandResult r = run("compare " + kSource + "/scenarios/compare-llama2-70b-a100.yaml " + kSource +
                              "/scenarios/compare-llama2-70b-h100.yaml --top 2 --csv " + csv + " --svg " + svg);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("dgx-h100-superpod"), std::string::npos);
  std::ifstream csv_in(csv), svg_in(svg);
  std::string header, first, second;
  std::getline(csv_in, header);
  std::getline(csv_in, first);
  std::getline(csv_in, second);
  EXPECT_EQ(header.rfind("scenario,topology,gpu,gpus,plan,step_time_s", 0), 0u);
  EXPECT_NE(first.find("dgx-a100-superpod"), std::string::npos);
  EXPECT_NE(second.find("dgx-h100-superpod"), std::string::npos);
  const std::string chart((std::istreambuf_iterator<char>(svg_in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(chart.rfind("<svg", 0), 0u);
  EXPECT_NE(chart.find("days"), std::string::npos);
}

// compare --json gives each cluster's plan and prediction; --fidelity estimate answers from the
// closed form (nothing simulated), near the simulated answer for these dense plans.
TEST(Cli, CompareJsonAndEstimateFidelity) {
  const std::string files =
      kSource + "/scenarios/compare-llama2-70b-a100.yaml " + kSource + "/scenarios/compare-llama2-70b-h100.yaml";
  auto compare_json = [&](const std::string& fidelity) {
    const CommandResult r = run("compare " + files + " --top 2 --json --fidelity " + fidelity);
    EXPECT_EQ(r.code, 0) << r.output;
    const auto start = r.output.find("{\n");
    return start == std::string::npos ? nlohmann::json() : nlohmann::json::parse(r.output.substr(start));
  };
  const nlohmann::json full = compare_json("full"), estimate = compare_json("estimate");
  ASSERT_EQ(full["clusters"].size(), 2u);
  ASSERT_EQ(estimate["clusters"].size(), 2u);
  EXPECT_EQ(estimate["fidelity"], "estimate");
  for (int i = 0; i < 2; ++i) {
    const auto& simulated = full["clusters"][i]["prediction"];
    const auto& estimated = estimate["clusters"][i]["prediction"];
    EXPECT_EQ(simulated["fidelity"], "full");
    EXPECT_EQ(estimated["fidelity"], "estimate");
    EXPECT_EQ(full["clusters"][i]["topology"], estimate["clusters"][i]["topology"]);
    EXPECT_NEAR(estimated["step_time_s"].get<double>() / simulated["step_time_s"].get<double>(), 1.0, 0.1);
    // The best plan as fields a script can read, as search --json gives them.
    const auto& fields = full["clusters"][i]["plan_fields"];
    ASSERT_TRUE(fields.is_object());
    EXPECT_EQ(fields["tp"].get<int>() * fields["pp"].get<int>() * fields["dp"].get<int>() * fields["cp"].get<int>(),
              full["clusters"][i]["gpus"].get<int>());
  }
  EXPECT_TRUE(estimate["not_compared"].empty());
}

// compare --time-limit cuts each cluster's search and keeps its best plan so far, and says so.
TEST(Cli, CompareTimeLimitKeepsTheBestPlanSoFar) {
  const CommandResult r =
      run("compare " + kSource + "/scenarios/search-gpt3-175b.yaml --top 20 --time-limit 1s --json");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("search cut by --time-limit"), std::string::npos) << r.output;
  const auto start = r.output.find("{\n");
  ASSERT_NE(start, std::string::npos) << r.output;
  const nlohmann::json out = nlohmann::json::parse(r.output.substr(start));
  ASSERT_EQ(out["clusters"].size(), 1u);
  EXPECT_TRUE(out["clusters"][0]["search_cut_by_time_limit"].get<bool>());
  EXPECT_GT(out["clusters"][0]["prediction"]["step_time_s"].get<double>(), 0);
}

TEST(Cli, SearchPrintsRankedPlansAndCsv) {
  const std::string csv = testing::TempDir() + "/search.csv";
  const CommandResult r = run("search " + kSource + "/scenarios/search-llama2-7b.yaml --top 3 --pareto --csv " + csv);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("rank"), std::string::npos);
  EXPECT_NE(r.output.find("  *"), std::string::npos);  // a Pareto-front mark
  std::ifstream in(csv);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_GT(lines, 100u);
}

// Guards on long searches: a time limit keeps the best plans found so far; a memory limit refuses
// a plan space too large for it before any work starts.
TEST(Cli, SearchGuards) {
  // A time limit is a budget, not a failure: exit 0, and the output says the search was cut.
  const CommandResult limited = run("search " + kSource + "/scenarios/search-gpt3-175b.yaml --top 20 --time-limit 1s");
  EXPECT_EQ(limited.code, 0) << limited.output;
  EXPECT_NE(limited.output.find("cut by the time limit: best so far"), std::string::npos) << limited.output;
  EXPECT_NE(limited.output.find("cut by --time-limit"), std::string::npos) << limited.output;
  const CommandResult refused = run("search " + kSource + "/scenarios/search-gpt3-175b.yaml --max-memory 1MiB");
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("13824 combinations"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("--max-memory"), std::string::npos) << refused.output;
}

// Nothing in a scenario names a file to write: an output path smuggled into one is an unknown key.
TEST(Cli, ScenarioCannotNameFilesToWrite) {
  const std::string path = testing::TempDir() + "/escape.yaml";
  std::ofstream(path) << "name: x\nmodel: {preset: gpt3-1.3b}\ncluster: {topology: single-h200, gpus: 1}\n"
                         "plan: {micro_batch: 1, global_batch: 8}\ntrace: /etc/passwd\n";
  const CommandResult r = run("predict " + path);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("trace"), std::string::npos) << r.output;
}

// MFU is against the 16-bit peak whatever the GEMMs run in (how FP8 runs are published), so an
// FP8 or FP4 plan can pass 100%; the line says which peak where the plan is low-precision.
TEST(Cli, LowPrecisionMfuNamesItsPeak) {
  const std::string scenario = kSource + "/scenarios/llama3-8b-8xh100.yaml";
  const CommandResult bf16 = run("predict " + scenario);
  ASSERT_EQ(bf16.code, 0) << bf16.output;
  EXPECT_EQ(bf16.output.find("of the bf16 peak"), std::string::npos) << bf16.output;
  const CommandResult fp8 = run("predict " + scenario + " --set plan.precision=fp8");
  ASSERT_EQ(fp8.code, 0) << fp8.output;
  EXPECT_NE(fp8.output.find("of the bf16 peak"), std::string::npos) << fp8.output;
}
