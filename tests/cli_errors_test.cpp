// Input errors that say what to do: a misspelt key at its own line with a did-you-mean, unknown
// preset names with the list, and a missing cluster.gpus named when the batch arithmetic fails.
#include <gtest/gtest.h>

#include <vector>

#include "cli_run.hpp"

using namespace trainsim_test;

namespace {

// predict on TEXT: exit 2 and each needle in the message.
void expect_error(const std::string& name, const std::string& text, const std::vector<std::string>& needles) {
  const std::string path = testing::TempDir() + "/" + name + ".yaml";
  write_text(path, text);
  const CommandResult r = run("predict " + path);
  EXPECT_EQ(r.code, 2) << r.output;
  for (const auto& needle : needles) EXPECT_NE(r.output.find(needle), std::string::npos) << needle << "\n" << r.output;
}

}  // namespace

TEST(CliErrors, MisspeltSectionsPointAtTheirLine) {
  expect_error("modle", "name: x\nmodle: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\n",
               {"modle.yaml:2:1: 'modle': unknown key (did you mean 'model'?)"});
  expect_error("topolgy", "model: {preset: gpt3-1.3b}\ncluster:\n  gpus: 8\n  topolgy: dgx-a100-superpod\nplan: {}\n",
               {"topolgy.yaml:4:3: 'cluster.topolgy'", "did you mean 'topology'"});
  expect_error("trainig",
               "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\nplan: {tp: 2}\n"
               "trainig: {tokens: 1T}\n",
               {"trainig.yaml:4:1: 'trainig'", "did you mean 'training'"});
  expect_error("tpp", "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\nplan:\n  tpp: 2\n",
               {"tpp.yaml:4:3: 'plan.tpp'", "did you mean 'tp'"});
  // A key's start names other keys (tp_algorithm, tp_comm_overlap), not the one meant: keys keep
  // the nearest, unlike preset names (CliPresets.AShortNameHintsAtThePresetsItBegins).
  expect_error("tp_", "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\nplan:\n  tp_: 2\n",
               {"'plan.tp_'", "did you mean 'tp'?"});
}

TEST(CliErrors, UnknownPresetsAreListed) {
  expect_error("model-preset", "model: {preset: banana}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\nplan: {}\n",
               {"'model.preset'", "presets:", "gpt3-1.3b", "llama3-8b"});
  expect_error("gpu-preset",
               "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpu: banana, gpus: 8}\nplan: {}\n",
               {"'cluster.gpu'", "h100-sxm-80gb"});
  expect_error("topology-preset", "model: {preset: gpt3-1.3b}\ncluster: {topology: banana, gpus: 8}\nplan: {}\n",
               {"'cluster.topology'", "dgx-h100-superpod"});
}

TEST(CliErrors, MissingClusterGpusIsNamedWhenTheBatchMathFails) {
  expect_error("no-gpus", "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod}\nplan: {tp: 3}\n",
               {"'plan.tp'", "cluster.gpus is not given", "1120 GPUs"});
  expect_error("no-gpus-batch",
               "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod}\n"
               "plan: {tp: 8, micro_batch: 1, global_batch: 64}\n",
               {"'plan.global_batch'", "cluster.gpus is not given"});
  // With cluster.gpus given the note is not added.
  const std::string path = testing::TempDir() + "/with-gpus.yaml";
  write_text(path, "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 16}\nplan: {tp: 3}\n");
  const CommandResult r = run("predict " + path);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output.find("cluster.gpus is not given"), std::string::npos) << r.output;
}

// Hybrid sharding needs a group size that divides dp, and ZeRO to group.
TEST(CliErrors, HybridShardingGroupsMustDivideDpAndNeedZero) {
  expect_error("dp-shard-divides",
               "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 32}\n"
               "plan: {dp: 32, zero: 3, dp_shard: 6, global_batch: 64}\n",
               {"'plan.dp_shard'", "must divide dp (32)"});
  expect_error("dp-shard-zero",
               "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 32}\n"
               "plan: {dp: 32, dp_shard: 8, global_batch: 64}\n",
               {"'plan.dp_shard'", "set zero: 1, 2 or 3"});
}
