// Input errors that say what to do: a misspelt key at its own line with a did-you-mean, unknown
// preset names with the list, and a missing cluster.gpus named when the batch arithmetic fails.
#include <gtest/gtest.h>

#include <vector>

#include "cli_run.hpp"

using namespace trainsim_test;

namespace {

// predict on TEXT, written as NAME.yaml.
CommandResult predict_text(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name + ".yaml";
  write_text(path, text);
  return run("predict " + path);
}

// predict on TEXT: exit 2 and each needle in the message.
void expect_error(const std::string& name, const std::string& text, const std::vector<std::string>& needles) {
  const CommandResult r = predict_text(name, text);
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

// compare reads a scenario that searches as search does, and a misspelt key in it is named at its
// line (it said 1:1: the document was cloned, and yaml-cpp's clones have no marks).
TEST(CliErrors, CompareNamesTheLineOfAMisspeltKeyInAPlanSpace) {
  const std::string path = testing::TempDir() + "/compare-typo.yaml";
  write_text(path,
             "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 64, oversubscripton: 2}\n"
             "plan: {tp: auto, pp: 1, global_batch: 64}\n");
  const CommandResult r = run("compare " + path);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("compare-typo.yaml:2:50: 'cluster.oversubscripton'"), std::string::npos) << r.output;
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

// Mistakes a new user makes on the command line, each an exit 2 that says what to write instead
// (found by a helper's new-user review, session 37).
TEST(CliErrors, CommandLineMistakesSayWhatToWrite) {
  const std::string scenario = kSource + "/scenarios/llama3-8b-8xh100.yaml";
  const auto expect = [](const std::string& command, const std::vector<std::string>& needles) {
    const CommandResult r = run(command);
    EXPECT_EQ(r.code, 2) << command << "\n" << r.output;
    for (const auto& needle : needles)
      EXPECT_NE(r.output.find(needle), std::string::npos) << needle << "\n" << r.output;
  };
  // A field without its section.
  expect("predict " + scenario + " --set tp=8", {"'tp'", "plan.tp"});
  // A scenario that searches, given to export.
  const std::string space = testing::TempDir() + "/space.yaml";
  write_text(space,
             "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 16}\nplan: {tp: [1, 2]}\n");
  expect("export " + space + " --to megatron", {"'plan.tp'", "this scenario searches", "trainsim search"});
  // A launch line without the vocabulary, read without a base scenario.
  expect(
      "export --from megatron \"--num-layers 32 --hidden-size 4096 --num-attention-heads 32 --seq-length 4096 "
      "--micro-batch-size 1 --global-batch-size 64\" --topology dgx-h100-superpod --gpus 8",
      {"--from megatron", "'model.vocab'", "add --vocab-size"});
  // A JSON file that is not a calibration profile.
  const std::string config = testing::TempDir() + "/config.json";
  write_text(config, "{\"hidden_size\": 4096, \"num_hidden_layers\": 32}\n");
  expect("predict " + scenario + " --profile " + config, {"not a calibration profile"});
  // More GPUs than a topology without a network holds.
  expect("predict " + scenario + " --set cluster.topology=single-h100", {"'cluster.gpus'", "no network between nodes"});
}

// search says what predict says about a batch in tokens, and why a space has no valid plan.
TEST(CliErrors, SearchWarnsOfABatchInTokensAndSaysWhyNoPlanIsValid) {
  const std::string tokens = testing::TempDir() + "/search-tokens.yaml";
  write_text(tokens,
             "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\n"
             "plan: {tp: [1, 2], pp: 1, zero: [1], recompute: [none], global_batch: 4194304}\n");
  const CommandResult warned = run("search " + tokens + " --top 1 --fidelity estimate");
  EXPECT_NE(warned.output.find("global_batch counts sequences, not tokens"), std::string::npos) << warned.output;
  const std::string invalid = testing::TempDir() + "/search-invalid.yaml";
  write_text(invalid,
             "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\nplan: {tp: [3]}\n");
  const CommandResult none = run("search " + invalid);
  EXPECT_NE(none.output.find("no valid plan on 64 GPUs (1 of 1 plans:"), std::string::npos) << none.output;
}

// What a new user got wrong, each answered with what to write (session 45's new-user pass): a key
// under the wrong section, a framework or precision written as people say it, a plan whose axes do
// not fill the job, a node's NIC total written per GPU.
TEST(CliErrors, NewUsersSlipsAreAnsweredWithTheFix) {
  const std::string cluster = "cluster: {topology: dgx-h100-superpod, gpus: 16}\n";
  const auto plan = [&](const std::string& extra) {
    return "model: {preset: llama3-8b}\n" + cluster + "plan: {tp: 8, dp: 2, global_batch: 64" + extra + "}\n";
  };
  expect_error("seq-len-in-plan", plan(", seq_len: 8192"), {"'plan.seq_len'", "seq_len belongs under model:"});
  expect_error("gpus-in-model", "model: {preset: llama3-8b, gpus: 8}\n" + cluster + "plan: {tp: 8}\n",
               {"'model.gpus'", "gpus belongs under cluster:"});
  expect_error("deepspeed", plan(", framework: deepspeed"), {"'plan.framework'", "did you mean deepspeed-2021?"});
  expect_error("bf16-mixed", plan(", precision: bf16-mixed"), {"'plan.precision'", "did you mean bf16?"});
  expect_error("pp-alone", plan(", pp: 2"), {"'plan.dp'", "but the job uses 16 GPUs (dp 1 fills them)"});
  // OPT-175B's published batch of 1,024 sequences on 992 GPUs at tp 8 (dp 124).
  expect_error("batch-does-not-divide",
               "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 992}\n"
               "plan: {tp: 8, global_batch: 1024}\n",
               {"'plan.global_batch'", "micro_batch*dp (124): 992 or 1116 would be"});

  const CommandResult r = predict_text("node-total",
                                       "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 16, "
                                       "nic_bandwidth: 3.2Tbps}\nplan: {tp: 8, dp: 2, global_batch: 64}\n");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("'cluster.nic_bandwidth': 400 GB/s per GPU is more than any GPU's NIC"), std::string::npos)
      << r.output;
}
