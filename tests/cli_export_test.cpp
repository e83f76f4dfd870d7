// trainsim export: a plan written as a framework's configuration and read back predicts the same
// job; the names written are the frameworks'; bad input is an input error.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.hpp"
#include "scenario/scenario.hpp"

using namespace trainsim_test;

namespace {

// predict --json without the fields that name the file.
nlohmann::json prediction(const std::string& scenario) {
  const CommandResult r = run("predict " + scenario + " --json");
  EXPECT_EQ(r.code, 0) << r.output;
  const auto start = r.output.find("{\n");
  if (start == std::string::npos) return {};
  nlohmann::json j = nlohmann::json::parse(r.output.substr(start));
  j.erase("scenario");
  j.erase("warnings");
  return j;
}

// SCENARIO --to FRAMEWORK, then --from FRAMEWORK with SCENARIO as the base: the same prediction.
void expect_round_trip(const std::string& name, const std::string& framework, const std::string& path = "") {
  const std::string scenario = path.empty() ? kSource + "/scenarios/" + name + ".yaml" : path;
  const std::string exported = testing::TempDir() + "/" + name + "." + framework;
  const std::string back = testing::TempDir() + "/" + name + "-from-" + framework + ".yaml";
  const CommandResult to = run("export " + scenario + " --to " + framework + " -o " + exported);
  ASSERT_EQ(to.code, 0) << to.output;
  const std::string source = framework == "megatron" ? "\"$(cat " + exported + ")\"" : exported;
  const CommandResult from = run("export --from " + framework + " " + source + " --base " + scenario + " -o " + back);
  ASSERT_EQ(from.code, 0) << from.output;
  const nlohmann::json original = prediction(scenario), read_back = prediction(back);
  ASSERT_TRUE(original.contains("step_time_s"));
  EXPECT_EQ(original, read_back) << name << " via " << framework << "\n" << read_text(back);
}

// A shipped scenario with `field` written right after `marker` (where its plan opens), saved as
// NAME.yaml in the test directory; its path.
std::string shipped_with(const std::string& scenario, const std::string& marker, const std::string& field,
                         const std::string& name) {
  std::string text = read_text(kSource + "/scenarios/" + scenario + ".yaml");
  const auto at = text.find(marker);
  EXPECT_NE(at, std::string::npos) << scenario;
  if (at != std::string::npos) text.insert(at + marker.size(), field);
  const std::string path = testing::TempDir() + "/" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

// What `export SCENARIO --to FRAMEWORK` prints (its exit code checked).
std::string exported_as(const std::string& scenario, const std::string& framework) {
  const CommandResult r = run("export " + scenario + " --to " + framework);
  EXPECT_EQ(r.code, 0) << r.output;
  return r.output;
}

// `export --from megatron` of a small model (8 layers, hidden 1024, 8 heads, 1024 tokens, bf16)
// on 8 H100s with `flags` added, writing the scenario to `out`.
CommandResult from_megatron(const std::string& flags, const std::string& out) {
  return run(
      "export --from megatron \"--num-layers 8 --hidden-size 1024 --num-attention-heads 8 --seq-length 1024 "
      "--vocab-size 32000 --micro-batch-size 1 --global-batch-size 8 --bf16 " +
      flags + "\" --topology dgx-h100-superpod --gpus 8 -o " + out);
}

}  // namespace

TEST(CliExport, MegatronRoundTripsThePlan) {
  expect_round_trip("default", "megatron");                      // interleaved, fp16, full recompute
  expect_round_trip("gpt3-1.3b-32xa100", "megatron");            // ZeRO-1, selective, sequence parallel
  expect_round_trip("mixtral-8x7b-64-h100", "megatron");         // experts: ep, etp
  expect_round_trip("llama3.1-405b-pp16-vp4-h100", "megatron");  // GQA, uneven chunks
  expect_round_trip("llama4-maverick-128xgb200", "megatron");    // experts in every other layer
}

// Megatron-Core lays ranks out tp, cp, (ep,) dp, pp, innermost first; --use-tp-pp-dp-mapping puts
// dp outermost. A plan with dp outermost is exported with the flag, and read back without a base
// scenario each launch line gives its own rank order (a MoE plan's expert groups depend on it).
// Layers that do not divide into the stages go as the layout of the split trainsim priced.
TEST(CliExport, MegatronRankOrderAndUnevenStagesAreWrittenAndRead) {
  // The flag on a line of its own (notes are comments).
  const auto has_flag = [](const std::string& out) {
    return out.find("\n--use-tp-pp-dp-mapping") != std::string::npos;
  };
  const std::string dense = kSource + "/scenarios/llama2-70b-512-h100.yaml";
  const CommandResult framework_order = run("export " + dense + " --to megatron");
  ASSERT_EQ(framework_order.code, 0) << framework_order.output;
  EXPECT_FALSE(has_flag(framework_order.output)) << framework_order.output;
  const CommandResult dp_outermost =
      run("export " + dense + " --to megatron --set \"plan.placement=[tp, cp, pp, dp]\"");
  ASSERT_EQ(dp_outermost.code, 0) << dp_outermost.output;
  EXPECT_TRUE(has_flag(dp_outermost.output)) << dp_outermost.output;
  // Megatron-LM refuses the flag with expert (or context) parallelism: a note instead.
  const std::string experts = kSource + "/scenarios/mixtral-8x7b-64-h100.yaml";
  const CommandResult refused = run("export " + experts + " --to megatron --set \"plan.placement=[tp, cp, pp, dp]\"");
  ASSERT_EQ(refused.code, 0) << refused.output;
  EXPECT_FALSE(has_flag(refused.output)) << refused.output;
  EXPECT_NE(refused.output.find("refuses context and expert parallelism"), std::string::npos) << refused.output;
  const CommandResult other = run("export " + dense + " --to megatron --set \"plan.placement=[dp, tp, cp, pp]\"");
  EXPECT_NE(other.output.find("has no Megatron-LM rank order"), std::string::npos) << other.output;
  EXPECT_FALSE(has_flag(other.output)) << other.output;

  const std::string args =
      "--tensor-model-parallel-size 2 --pipeline-model-parallel-size 2 --num-layers 24 --hidden-size 2048 "
      "--num-attention-heads 16 --seq-length 2048 --vocab-size 50257 --micro-batch-size 1 --global-batch-size 64 "
      "--bf16";
  const std::string cluster = " --topology dgx-h100-superpod --gpus 32 -o ";
  const std::string plain = testing::TempDir() + "/rank-order.yaml",
                    mapped = testing::TempDir() + "/rank-order-mapped.yaml";
  ASSERT_EQ(run("export --from megatron \"" + args + "\"" + cluster + plain).code, 0);
  ASSERT_EQ(run("export --from megatron \"" + args + " --use-tp-pp-dp-mapping\"" + cluster + mapped).code, 0);
  EXPECT_NE(read_text(plain).find("placement: [tp, cp, dp, pp]"), std::string::npos) << read_text(plain);
  EXPECT_NE(read_text(mapped).find("placement: [tp, cp, pp, dp]"), std::string::npos) << read_text(mapped);
  const CommandResult with_cp =
      run("export --from megatron \"" + args + " --context-parallel-size 2 --use-tp-pp-dp-mapping\"" + cluster +
          testing::TempDir() + "/rank-order-cp.yaml");
  EXPECT_EQ(with_cp.code, 2) << with_cp.output;
  EXPECT_NE(with_cp.output.find("'--use-tp-pp-dp-mapping'"), std::string::npos) << with_cp.output;

  const CommandResult uneven = run("export " + kSource + "/scenarios/deepseek-v3-256xgb200.yaml --to megatron " +
                                   "--set plan.schedule=1f1b --set plan.virtual_stages=1");
  ASSERT_EQ(uneven.code, 0) << uneven.output;
  EXPECT_NE(uneven.output.find("--pipeline-model-parallel-layout \"Et*7|t*8|t*8|t*8|t*8|t*8|t*7|t*7L\""),
            std::string::npos)
      << uneven.output;
}

// A mixture of experts with multi-head latent attention goes to NeMo with Megatron-Core's expert
// and MLA fields (it was written as a dense model), from DeepSeek's recipe; to torchtitan with
// the experts' MXFP8 grouped GEMM converter, and a note where its expert parallelism cannot take
// ranks from a replicated data-parallel dimension.
TEST(CliExport, ExpertsAndLatentAttentionReachNemoAndTorchtitan) {
  const std::string scenario = kSource + "/scenarios/deepseek-v3-256xgb200.yaml";
  const CommandResult nemo = run("export " + scenario + " --to nemo");
  ASSERT_EQ(nemo.code, 0) << nemo.output;
  for (const char* line :
       {"llm.deepseek_v3.pretrain_recipe", "recipe.model.config.num_moe_experts = 256",
        "recipe.model.config.moe_router_topk = 8", "recipe.model.config.moe_ffn_hidden_size = 2048",
        "recipe.model.config.moe_shared_expert_intermediate_size = 2048",
        "recipe.model.config.moe_layer_freq = ([0]*3+[1]*58)", "recipe.model.config.kv_lora_rank = 512",
        "recipe.trainer.strategy.expert_tensor_parallel_size = 1"}) {
    EXPECT_NE(nemo.output.find(line), std::string::npos) << line << "\n" << nemo.output;
  }
  EXPECT_EQ(nemo.output.find("num_query_groups"), std::string::npos) << nemo.output;

  const CommandResult titan = run("export " + scenario + " --to torchtitan");
  ASSERT_EQ(titan.code, 0) << titan.output;
  EXPECT_NE(titan.output.find("\"quantize.grouped_mm.mx\""), std::string::npos) << titan.output;
  EXPECT_NE(titan.output.find("[quantize.grouped_mm.mx]\nfqns = [\"experts\"]"), std::string::npos) << titan.output;
  EXPECT_NE(titan.output.find("does not launch there"), std::string::npos) << titan.output;
  const CommandResult fsdp = run("export " + scenario + " --to torchtitan --set plan.zero=3");
  ASSERT_EQ(fsdp.code, 0) << fsdp.output;
  EXPECT_EQ(fsdp.output.find("does not launch there"), std::string::npos) << fsdp.output;
}

// Megatron-LM's --moe-layer-freq: leading dense layers and every p-th layer are read from its
// list expressions; a pattern neither describes is said so; a malformed one is an input error.
TEST(CliExport, MegatronMoeLayerPatternsAreRead) {
  const std::string model =
      "--num-layers 8 --hidden-size 1024 --num-attention-heads 8 --seq-length 1024 --vocab-size 32000 --swiglu "
      "--num-experts 8 --moe-router-topk 2 --micro-batch-size 1 --global-batch-size 8 --bf16 --moe-layer-freq ";
  const auto from = [&](const std::string& pattern) {
    const std::string out = testing::TempDir() + "/pattern.yaml";
    const CommandResult r =
        run("export --from megatron \"" + model + pattern + "\" --topology dgx-h100-superpod --gpus 8 -o " + out);
    return std::pair{r, r.code == 0 ? read_text(out) : std::string()};
  };
  EXPECT_NE(from("'([0,1]*4)'").second.find("layer_frequency: 2"), std::string::npos);
  const auto leading = from("'([0]*2+[1]*6)'").second;
  EXPECT_NE(leading.find("dense_layers: 2"), std::string::npos) << leading;
  EXPECT_EQ(leading.find("layer_frequency"), std::string::npos) << leading;
  const auto both = from("'[0,0,0,1,0,1,0,1]'").second;
  EXPECT_NE(both.find("dense_layers: 3"), std::string::npos) << both;  // the layers before the first MoE layer
  EXPECT_NE(both.find("layer_frequency: 2"), std::string::npos) << both;
  // Megatron's count form puts the experts in the first layer of each p: the same count, said so.
  const auto [odd, odd_text] = from("2");
  EXPECT_EQ(odd.code, 0) << odd.output;
  EXPECT_NE(odd_text.find("layer_frequency: 2"), std::string::npos) << odd_text;
  EXPECT_NE(odd.output.find("one MoE layer in every 2"), std::string::npos) << odd.output;
  const auto [other, other_text] = from("'[0,1,1,0,0,1,1,0]'");
  EXPECT_EQ(other.code, 0) << other.output;
  EXPECT_NE(other.output.find("read as all MoE"), std::string::npos) << other.output;
  EXPECT_EQ(from("'([0,1]*3)'").first.code, 2);              // 6 layers listed, 8 in the model
  EXPECT_EQ(from("'(([0,1]*60000)*60000)'").first.code, 2);  // billions of layers: refused, not built
  EXPECT_EQ(from("'" + std::string(5000, '(') + "'").first.code, 2);
  const auto [bad, bad_text] = from("'([0,2]*4)'");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--moe-layer-freq"), std::string::npos) << bad.output;
}

// plan.expert_gemm: Megatron-Core's --moe-grouped-gemm is Transformer Engine's GroupedLinear
// (streams); with --moe-use-legacy-grouped-gemm, one grouped kernel; without either it loops over
// its experts, which is said. torchtitan's experts are one grouped GEMM. plan.moe_router_fusion
// is --moe-router-fusion.
TEST(CliExport, ExpertGemmsAreWrittenAndReadAsTheFrameworksRunThem) {
  const std::string grouped =
      shipped_with("qwen3-235b-256xh100", "plan:\n", "  expert_gemm: grouped\n", "qwen3-grouped");
  // The grouped_gemm package's kernel left Megatron-Core (GroupedMLP, #3410, March 2026): the
  // export says so and writes TE's GroupedLinear, which reads back as streams over a grouped base.
  const std::string megatron = exported_as(grouped, "megatron");
  EXPECT_NE(megatron.find("#3410"), std::string::npos) << megatron;
  EXPECT_EQ(megatron.find("\n--moe-use-legacy-grouped-gemm"), std::string::npos) << megatron;
  const std::string args = testing::TempDir() + "/qwen3-grouped.args", back = testing::TempDir() + "/qwen3-back.yaml";
  ASSERT_EQ(run("export " + grouped + " --to megatron -o " + args).code, 0);
  ASSERT_EQ(run("export --from megatron \"$(cat " + args + ")\" --base " + grouped + " -o " + back).code, 0);
  EXPECT_NE(read_text(back).find("expert_gemm: streams"), std::string::npos) << read_text(back);
  // An older launch line with the legacy flag still reads as the one kernel.
  const std::string legacy = testing::TempDir() + "/legacy.yaml";
  ASSERT_EQ(from_megatron(
                "--swiglu --num-experts 8 --moe-router-topk 2 --moe-grouped-gemm --moe-use-legacy-grouped-gemm", legacy)
                .code,
            0);
  EXPECT_NE(read_text(legacy).find("expert_gemm: grouped"), std::string::npos) << read_text(legacy);
  const std::string out = testing::TempDir() + "/sequential.yaml";
  const CommandResult sequential = from_megatron("--swiglu --num-experts 8 --moe-router-topk 2", out);
  ASSERT_EQ(sequential.code, 0) << sequential.output;
  EXPECT_NE(sequential.output.find("SequentialMLP"), std::string::npos) << sequential.output;
  // Router fusion (plan.moe_router_fusion, on by default) is --moe-router-fusion, which
  // Megatron-Core leaves off unless given.
  EXPECT_NE(read_text(testing::TempDir() + "/qwen3-grouped.megatron").find("--moe-router-fusion"), std::string::npos);
  EXPECT_NE(read_text(out).find("moe_router_fusion: false"), std::string::npos) << read_text(out);
  const std::string streams = kSource + "/scenarios/qwen3-235b-256xh100.yaml";
  const std::string toml = testing::TempDir() + "/qwen3.toml";
  const CommandResult to_titan = run("export " + streams + " --to torchtitan -o " + toml);
  ASSERT_EQ(to_titan.code, 0) << to_titan.output;
  EXPECT_NE(to_titan.output.find("one grouped GEMM"), std::string::npos) << to_titan.output;
  const std::string titan = testing::TempDir() + "/titan-moe.yaml";
  const CommandResult from_titan = run("export --from torchtitan " + toml + " --base " + streams + " -o " + titan);
  ASSERT_EQ(from_titan.code, 0) << from_titan.output;
  EXPECT_NE(read_text(titan).find("expert_gemm: grouped"), std::string::npos) << read_text(titan);
}

// plan.cuda_graphs: Megatron-Core's --cuda-graph-impl and --cuda-graph-scope (NeMo's
// cuda_graph_impl and cuda_graph_scope), read back as written; torchtitan has no such setting.
TEST(CliExport, CudaGraphScopesAreWrittenAndReadBack) {
  const std::string graphed = shipped_with("qwen3-235b-256xh100", "plan:\n",
                                           "  cuda_graphs: [attn, moe_router, moe_preprocess]\n", "qwen3-graphs");
  expect_round_trip("qwen3-graphs", "megatron", graphed);
  const std::string args = read_text(testing::TempDir() + "/qwen3-graphs.megatron");
  EXPECT_NE(args.find("--cuda-graph-impl transformer_engine"), std::string::npos) << args;
  EXPECT_NE(args.find("--cuda-graph-modules attn moe_router moe_preprocess"), std::string::npos) << args;
  const std::string back = read_text(testing::TempDir() + "/qwen3-graphs-from-megatron.yaml");
  EXPECT_NE(back.find("cuda_graphs"), std::string::npos) << back;
  EXPECT_NE(back.find("moe_preprocess"), std::string::npos) << back;
  const std::string nemo = exported_as(graphed, "nemo");
  EXPECT_NE(nemo.find("cuda_graph_scope = [\"attn\", \"moe_router\", \"moe_preprocess\"]"), std::string::npos) << nemo;
  const std::string titan = exported_as(graphed, "torchtitan");
  EXPECT_NE(titan.find("no CUDA graph setting"), std::string::npos) << titan;
  // Megatron-LM's own spellings: no implementation means no graphs, whatever the modules; an
  // implementation without modules captures each layer whole; full_iteration is the step.
  const auto imported = [&](const std::string& flags) {
    const std::string out = testing::TempDir() + "/graphs-imported.yaml";
    const CommandResult r = from_megatron(flags, out);
    EXPECT_EQ(r.code, 0) << r.output;
    return trainsim::load_scenario(out).plan.cuda_graphs;
  };
  EXPECT_TRUE(imported("--cuda-graph-modules attn mlp").empty());
  EXPECT_EQ(imported("--cuda-graph-impl transformer_engine"), (std::vector<std::string>{"attn", "mlp"}));
  EXPECT_EQ(imported("--enable-cuda-graph --cuda-graph-scope full"), (std::vector<std::string>{"attn", "mlp"}));
  EXPECT_EQ(imported("--cuda-graph-impl local --cuda-graph-scope attn"), std::vector<std::string>{"attn"});
  EXPECT_EQ(imported("--cuda-graph-impl full_iteration"), std::vector<std::string>{"full_iteration"});
}

// The experts' flags without --num-experts change nothing the reader writes: it says so (they
// were dropped without a word, neither read nor listed as unread).
TEST(CliExport, ExpertFlagsWithoutExpertsAreNamed) {
  const std::string out = testing::TempDir() + "/topk-alone.yaml";
  const CommandResult r = from_megatron("--moe-router-topk 4", out);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("--moe-router-topk: not read without --num-experts"), std::string::npos) << r.output;
  EXPECT_FALSE(trainsim::load_scenario(out).model.moe());
}

// The frameworks export writes build sequential blocks only: a parallel-block model (Falcon) is
// written as its sequential twin, and each export says so.
TEST(CliExport, ParallelBlocksAreNamedWhereNoFrameworkBuildsThem) {
  const std::string scenario = testing::TempDir() + "/falcon-40b.yaml";
  std::ofstream(scenario) << "model: {preset: falcon-40b}\ncluster: {topology: dgx-a100-superpod, gpus: 64}\n"
                             "plan: {tp: 8, pp: 4, dp: 2, micro_batch: 1, global_batch: 64}\n";
  for (const char* framework : {"megatron", "nemo", "torchtitan"}) {
    const CommandResult r = run("export " + scenario + " --to " + framework);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("parallel_blocks: "), std::string::npos) << framework << "\n" << r.output;
  }
}

// The layer's make-up reaches the frameworks whose defaults are another model's: Megatron-LM's are
// GPT's (LayerNorm, GeLU, learned positions, biases, tied embeddings, dropout 0.1), NeMo's recipes
// Llama's. Nemotron-4 is GPT-shaped with rotary positions, no biases, untied embeddings and no
// dropout; each of those is written, and read back from Megatron-LM's flags.
TEST(CliExport, ModelsKeepTheirLayerThroughMegatronAndNemo) {
  const auto scenario = [](const std::string& preset) {
    const std::string path = testing::TempDir() + "/shape-" + preset + ".yaml";
    std::ofstream(path) << "model: {preset: " << preset << "}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\n"
                        << "plan: {tp: 8, pp: 1, dp: 8, micro_batch: 1, global_batch: 64, sequence_parallel: true}\n";
    return path;
  };
  const auto has = [](const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
  };
  const std::string nemotron = exported_as(scenario("nemotron4-15b"), "megatron");
  for (const char* flag :
       {"--position-embedding-type rope", "--disable-bias-linear", "--untie-embeddings-and-output-weights",
        "--attention-dropout 0.0", "--hidden-dropout 0.0"}) {
    EXPECT_TRUE(has(nemotron, flag)) << flag << "\n" << nemotron;
  }
  EXPECT_FALSE(has(nemotron, "--swiglu") || has(nemotron, "RMSNorm")) << nemotron;
  const std::string gpt3 = exported_as(scenario("gpt3-175b"), "megatron");
  for (const char* flag : {"--position-embedding-type", "--disable-bias-linear", "--untie", "dropout", "--swiglu"})
    EXPECT_FALSE(has(gpt3, flag)) << flag << "\n" << gpt3;
  const std::string llama = exported_as(scenario("llama3-8b"), "megatron");
  for (const char* flag :
       {"--swiglu", "--normalization RMSNorm", "--position-embedding-type rope", "--hidden-dropout 0.0"})
    EXPECT_TRUE(has(llama, flag)) << flag << "\n" << llama;
  // Read back, each model predicts as the scenario it came from.
  for (const char* preset : {"nemotron4-15b", "gpt3-175b", "llama3-8b"}) {
    const std::string args = testing::TempDir() + "/shape-" + preset + ".args";
    ASSERT_EQ(run("export " + scenario(preset) + " --to megatron -o " + args).code, 0);
    const std::string back = testing::TempDir() + "/shape-" + preset + "-back.yaml";
    const CommandResult from =
        run("export --from megatron \"$(cat " + args + ")\" --topology dgx-h100-superpod --gpus 64 -o " + back);
    ASSERT_EQ(from.code, 0) << from.output;
    EXPECT_EQ(prediction(scenario(preset))["step_time_s"], prediction(back)["step_time_s"]) << preset << "\n"
                                                                                            << read_text(back);
  }
  // Megatron-LM's dropout applies unless the flags turn it off: a Llama launch line without them trains with it.
  const std::string no_flags = testing::TempDir() + "/swiglu-dropout.yaml";
  ASSERT_EQ(from_megatron("--swiglu --position-embedding-type rope --disable-bias-linear", no_flags).code, 0);
  EXPECT_TRUE(has(read_text(no_flags), "dropout: true")) << read_text(no_flags);
  // NeMo's recipes are Llama-shaped: GPT-3 says every way it is not; Llama 3 needs none of it.
  const std::string nemo_gpt3 = exported_as(scenario("gpt3-175b"), "nemo");
  for (const char* line : {"normalization = \"LayerNorm\"", "gated_linear_unit = False", "activation_func = F.gelu",
                           "position_embedding_type = \"learned_absolute\"", "add_bias_linear = True",
                           "share_embeddings_and_output_weights = True", "hidden_dropout = 0.1"}) {
    EXPECT_TRUE(has(nemo_gpt3, line)) << line << "\n" << nemo_gpt3;
  }
  const std::string nemo_llama = exported_as(scenario("llama3-8b"), "nemo");
  for (const char* line : {"normalization", "gated_linear_unit", "position_embedding_type", "add_bias_linear",
                           "share_embeddings", "dropout ="})
    EXPECT_FALSE(has(nemo_llama, line)) << line << "\n" << nemo_llama;
}

// A whole launch line reads as its script's arguments: the launcher's own flags and values
// (torchrun's, written with a space or '=') come before the Python file.
TEST(CliExport, MegatronLaunchLinesReadFromTheScript) {
  const std::string out = testing::TempDir() + "/launch.yaml";
  for (const char* launcher : {"torchrun --nproc-per-node 8 --nnodes 1 --master_port 6000 pretrain_gpt.py",
                               "python -m torch.distributed.run --nproc_per_node=8 /opt/megatron/pretrain_gpt.py"}) {
    const CommandResult line = run(std::string("export --from megatron \"") + launcher +
                                   " --num-layers 8 --hidden-size 1024 --num-attention-heads 8 --seq-length 1024 "
                                   "--vocab-size 32000 --micro-batch-size 1 --global-batch-size 8 --bf16 "
                                   "--tensor-model-parallel-size 2\" --topology dgx-h100-superpod --gpus 8 -o " +
                                   out);
    ASSERT_EQ(line.code, 0) << launcher << "\n" << line.output;
    EXPECT_NE(read_text(out).find("tp: 2"), std::string::npos) << read_text(out);
  }
}

// gpt-oss windows every other layer: Megatron-LM and NeMo say which (window_attn_skip_freq), and
// Megatron-LM's forms read back: the count, a layer list, and the window without parentheses.
TEST(CliExport, SlidingWindowPatternsReachTheFrameworks) {
  const std::string scenario = testing::TempDir() + "/gpt-oss.yaml";
  std::ofstream(scenario) << "model: {preset: gpt-oss-120b}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\n"
                             "plan: {tp: 1, dp: 64, ep: 8, micro_batch: 1, global_batch: 64}\n";
  expect_round_trip("gpt-oss", "megatron", scenario);
  EXPECT_NE(read_text(testing::TempDir() + "/gpt-oss.megatron").find("--window-attn-skip-freq 2"), std::string::npos);
  EXPECT_NE(exported_as(scenario, "nemo").find("window_attn_skip_freq = 2"), std::string::npos);
  const std::string out = testing::TempDir() + "/windows.yaml";
  ASSERT_EQ(from_megatron("--window-size 1024,0 --window-attn-skip-freq ([1,1,0]*2+[1,1])", out).code, 0);
  EXPECT_NE(read_text(out).find("sliding_window: 1024"), std::string::npos) << read_text(out);
  EXPECT_NE(read_text(out).find("sliding_window_pattern: 3"), std::string::npos) << read_text(out);
  ASSERT_EQ(from_megatron("--window-size '(512,0)' --window-attn-skip-freq 4", out).code, 0);
  EXPECT_NE(read_text(out).find("sliding_window_pattern: 4"), std::string::npos) << read_text(out);
}

// A split Megatron-LM would not make by itself travels as --pipeline-model-parallel-layout, and
// each of Megatron-LM's ways to give one reads back as its stages hold them
// (get_num_layers_to_build); a launch line without one splits evenly whatever the base did.
TEST(CliExport, UnevenSplitsTravelAsMegatronLayouts) {
  const std::string scenario = testing::TempDir() + "/llama-uneven.yaml";
  std::ofstream(scenario) << "model: {preset: llama3-70b}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\n"
                             "plan: {tp: 8, pp: 4, dp: 2, micro_batch: 1, global_batch: 64, "
                             "layers_per_stage: [18, 22, 22, 18]}\n";
  expect_round_trip("llama-uneven", "megatron", scenario);
  const std::string args = read_text(testing::TempDir() + "/llama-uneven.megatron");
  EXPECT_NE(args.find("--pipeline-model-parallel-layout \"Et*18|t*22|t*22|t*18L\""), std::string::npos) << args;
  expect_round_trip("deepseek-v3-256xgb200", "megatron");  // 61 layers in 32 chunks, the first and last short
  // NeMo's DeepSeek-V3 recipe splits 3 / 2 and builds one MTP module: the plan's replace them
  // (Megatron-Core refuses a layout beside first/last-stage counts).
  const std::string nemo = exported_as(kSource + "/scenarios/deepseek-v3-256xgb200.yaml", "nemo");
  for (const char* line : {"num_layers_in_first_pipeline_stage = None", "num_layers_in_last_pipeline_stage = None",
                           "mtp_num_layers = None", "pipeline_model_parallel_layout = \"Et|t*2|"})
    EXPECT_NE(nemo.find(line), std::string::npos) << line << "\n" << nemo;
  const auto split = [](const std::string& flags) {
    const std::string out = testing::TempDir() + "/split.yaml";
    const CommandResult r =
        run("export --from megatron \"--num-layers 80 --hidden-size 1024 --num-attention-heads 8 --seq-length 1024 "
            "--vocab-size 32000 --micro-batch-size 1 --global-batch-size 8 --bf16 " +
            flags + "\" --topology dgx-h100-superpod --gpus 8 -o " + out);
    EXPECT_EQ(r.code, 0) << flags << "\n" << r.output;
    return prediction(out)["pipeline"]["layers_per_stage"].dump();
  };
  EXPECT_EQ(split("--pipeline-model-parallel-size 4 --decoder-first-pipeline-num-layers 18 "
                  "--decoder-last-pipeline-num-layers 18"),
            "[18,22,22,18]");
  EXPECT_EQ(split("--pipeline-model-parallel-size 4 --decoder-last-pipeline-num-layers 17"), "[21,21,21,17]");
  EXPECT_EQ(split("--pipeline-model-parallel-size 2 --account-for-embedding-in-pipeline-split "
                  "--account-for-loss-in-pipeline-split"),
            "[40,40]");
  // With chunks of a given size, the embedding and loss count too: 30 layers + 2 on 4 stages are 4
  // chunks of 2 a stage, the model's first and last chunks a layer short.
  EXPECT_EQ(split("--num-layers 30 --pipeline-model-parallel-size 4 --num-layers-per-virtual-pipeline-stage 2 "
                  "--account-for-embedding-in-pipeline-split --account-for-loss-in-pipeline-split"),
            "[7,8,8,7]");
  EXPECT_EQ(split("--pipeline-model-parallel-size 2 --pipeline-model-parallel-layout 'Et*9|t*10|(t*15)*2|t*31L'"),
            "[39,41]");
  const std::string back = testing::TempDir() + "/llama-even.yaml";
  ASSERT_EQ(run("export --from megatron \"--tensor-model-parallel-size 8 --pipeline-model-parallel-size 4 "
                "--micro-batch-size 1 --global-batch-size 64 --bf16\" --base " +
                scenario + " -o " + back)
                .code,
            0);
  EXPECT_EQ(prediction(back)["pipeline"]["layers_per_stage"].dump(), "[20,20,20,20]");
}

// What a framework's configuration decides is read from it, not kept from the base scenario: a
// bf16 launch line over an MXFP8 base gathers no FP8 parameters and has no FP8 recipe; the
// distributed optimizer's instances (hybrid sharding, plan.dp_shard) read back as dp over them.
TEST(CliExport, TheConfigurationDecidesWhatItSetsOverABase) {
  const std::string fp8_base = kSource + "/scenarios/llama3-8b-64xb200-mxfp8.yaml";
  const std::string bf16 = testing::TempDir() + "/bf16-over-mxfp8.yaml";
  const CommandResult plain = run(
      "export --from megatron \"--tensor-model-parallel-size 1 --micro-batch-size 1 --global-batch-size 64 --bf16\" "
      "--base " +
      fp8_base + " -o " + bf16);
  ASSERT_EQ(plain.code, 0) << plain.output;
  EXPECT_NE(read_text(bf16).find("fp8_param_gather: false"), std::string::npos) << read_text(bf16);
  const std::string scenario = testing::TempDir() + "/llama-instances.yaml";
  std::ofstream(scenario) << "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\n"
                             "plan: {tp: 2, micro_batch: 1, global_batch: 128, sequence_parallel: true, zero: 1, "
                             "dp_shard: 8}\n";
  expect_round_trip("llama-instances", "megatron", scenario);
  const std::string args = testing::TempDir() + "/llama-instances.megatron";
  EXPECT_NE(read_text(args).find("--num-distributed-optimizer-instances 4"), std::string::npos) << read_text(args);
  const std::string back = testing::TempDir() + "/llama-instances-back.yaml";
  ASSERT_EQ(
      run("export --from megatron \"$(cat " + args + ")\" --topology dgx-h100-superpod --gpus 64 -o " + back).code, 0);
  const nlohmann::json peak = prediction(scenario)["memory_per_gpu_bytes"]["peak"];
  ASSERT_TRUE(peak.is_number());
  EXPECT_EQ(prediction(back)["memory_per_gpu_bytes"]["peak"], peak);
  const CommandResult odd = run("export --from megatron \"$(cat " + args +
                                ") --num-distributed-optimizer-instances 3\" --topology dgx-h100-superpod --gpus 64");
  EXPECT_EQ(odd.code, 2) << odd.output;
  EXPECT_NE(odd.output.find("'--num-distributed-optimizer-instances'"), std::string::npos) << odd.output;
}

// Where the written flags run something else than the plan priced, the file says so: TF32 (off in
// PyTorch, never turned on by Megatron-LM or torchtitan), FlashAttention-3 (Megatron-LM's flag
// names the backend, not the version), PyTorch's async TP (Megatron-LM's overlap is userbuffers).
TEST(CliExport, WhatAFrameworkRunsDifferentlyIsSaid) {
  const std::string tf32 = testing::TempDir() + "/tf32.yaml";
  std::ofstream(tf32) << "model: {preset: gpt3-350m}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\n"
                         "plan: {micro_batch: 4, global_batch: 64, precision: tf32}\n";
  EXPECT_NE(exported_as(tf32, "megatron").find("# note: precision tf32"), std::string::npos);
  EXPECT_NE(exported_as(tf32, "torchtitan").find("precision tf32"), std::string::npos);
  const std::string hopper = testing::TempDir() + "/flash3-async.yaml";
  std::ofstream(hopper) << "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
                           "plan: {tp: 2, micro_batch: 1, global_batch: 8, sequence_parallel: true, attention: flash3, "
                           "tp_comm_overlap: async}\n";
  const std::string args = exported_as(hopper, "megatron");
  EXPECT_NE(args.find("# note: attention flash3"), std::string::npos) << args;
  EXPECT_NE(args.find("# note: tp_comm_overlap async"), std::string::npos) << args;
  // Written otherwise, a plan can stop fitting: Llama 3 405B at 16K tokens with per-op
  // checkpointing fits an H100, with Megatron-LM's selective recomputation it does not.
  const CommandResult op =
      run("export " + kSource + "/scenarios/llama3-405b-16k-h100.yaml --to megatron --set plan.recompute=op");
  EXPECT_NE(op.output.find("written with recompute selective does not fit"), std::string::npos) << op.output;
  const CommandResult fits =
      run("export " + kSource + "/scenarios/llama3-405b-16k-h100.yaml --to megatron --set plan.recompute=full");
  EXPECT_EQ(fits.output.find("does not fit"), std::string::npos) << fits.output;
}

// A GB200 NVL72 rack is one NVLink domain of 18 hosts (compute trays) of 4 GPUs: launch lines are
// per host, whatever the node the simulator prices (topology gpus_per_host).
TEST(CliExport, LaunchLinesArePerHost) {
  const std::string racks = kSource + "/scenarios/llama3-70b-512xgb200.yaml";
  EXPECT_NE(exported_as(racks, "megatron").find("--nproc-per-node 4 on 128 hosts"), std::string::npos);
  const std::string nemo = exported_as(racks, "nemo");
  EXPECT_NE(nemo.find("recipe.trainer.num_nodes = 128\nrecipe.trainer.devices = 4"), std::string::npos) << nemo;
  EXPECT_NE(exported_as(kSource + "/scenarios/default.yaml", "megatron").find("--nproc-per-node 8 on 128 hosts"),
            std::string::npos);
  // A segment of a rack is whole trays.
  const CommandResult trays = run("predict " + racks + " --set cluster.segment=18");
  EXPECT_EQ(trays.code, 2) << trays.output;
  EXPECT_NE(trays.output.find("'cluster.segment'"), std::string::npos) << trays.output;
}

// A launch line's model replaces a base's whole layer, whatever the base (or its preset) had: a
// GPT line over a Llama base is GPT; a line without a window has none, without dropout flags has
// Megatron-LM's; --window-attn-skip-freq 1 windows no layer. Arguments alone are read whole, a
// value ending in .py included; a launch line skips its launcher's flags.
TEST(CliExport, ALaunchLinesModelReplacesTheBases) {
  const std::string base = testing::TempDir() + "/windowed-base.yaml";
  std::ofstream(base) << "model: {preset: llama3-8b, sliding_window: 1024, sliding_window_pattern: 6, dropout: true}\n"
                         "cluster: {topology: dgx-h100-superpod, gpus: 8}\nplan: {micro_batch: 1, global_batch: 8}\n";
  const std::string shape =
      "--num-layers 8 --hidden-size 1024 --num-attention-heads 8 --seq-length 1024 --vocab-size 32000 "
      "--micro-batch-size 1 --global-batch-size 8 --bf16";
  const auto read = [&](const std::string& flags) {
    const std::string out = testing::TempDir() + "/line-over-base.yaml";
    const CommandResult r = run("export --from megatron \"" + shape + " " + flags + "\" --base " + base + " -o " + out);
    EXPECT_EQ(r.code, 0) << flags << "\n" << r.output;
    return trainsim::load_scenario(out).model;
  };
  const trainsim::ModelSpec gpt = read("");
  EXPECT_EQ(gpt.arch, trainsim::Arch::gpt);
  EXPECT_EQ(gpt.sliding_window, 0);
  EXPECT_TRUE(gpt.dropout() && gpt.biases() && gpt.learned_positions() && gpt.tied_embeddings());
  EXPECT_EQ(gpt.kv_heads, 8);
  const trainsim::ModelSpec llama = read("--swiglu --window-size 512,0 --attention-dropout 0.0 --hidden-dropout 0.0");
  EXPECT_EQ(llama.arch, trainsim::Arch::llama);
  EXPECT_EQ(llama.sliding_window, 512);
  EXPECT_EQ(llama.sliding_window_pattern, 1);
  EXPECT_FALSE(llama.dropout());
  EXPECT_EQ(read("--window-size 512,0 --window-attn-skip-freq 1").sliding_window, 0);
  const std::string out = testing::TempDir() + "/tensorboard.yaml";
  ASSERT_EQ(from_megatron("--tensor-model-parallel-size 2 --tensorboard-dir runs/v1.py", out).code, 0);
  EXPECT_EQ(trainsim::load_scenario(out).plan.tp, 2);
  ASSERT_EQ(run("export --from megatron \"torchrun --rdzv-conf=join.py --nproc-per-node 8 pretrain_gpt.py " + shape +
                " --tensor-model-parallel-size 2\" --topology dgx-h100-superpod --gpus 8 -o " + out)
                .code,
            0);
  EXPECT_EQ(trainsim::load_scenario(out).plan.tp, 2);
}

TEST(CliExport, TorchtitanRoundTripsThePlan) {
  expect_round_trip("llama3-8b-8xh100", "torchtitan");  // FSDP, per-op checkpointing
}

// A share of the layers recomputed: Megatron-LM's block method (a quarter: 8 of 32 layers per
// chunk), torchtitan's every k-th layer (every 4th). The loss is fused, which both frameworks name.
TEST(CliExport, ASharedRecomputationRoundTrips) {
  const std::string scenario = testing::TempDir() + "/quarter.yaml";
  {
    std::ofstream out(scenario);
    out << "model: {preset: llama2-7b, seq_len: 2048}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
           "plan: {dp: 8, zero: 3, global_batch: 16, recompute: full, recompute_fraction: 0.25, loss: fused,\n"
           "       attention: flash2, sharded_master_weights: true}\n";
  }
  const CommandResult megatron = run("export " + scenario + " --to megatron");
  ASSERT_EQ(megatron.code, 0) << megatron.output;
  for (const char* flag : {"--recompute-method block ", "--recompute-num-layers 8 "})
    EXPECT_NE(megatron.output.find(flag), std::string::npos) << megatron.output;
  const CommandResult torchtitan = run("export " + scenario + " --to torchtitan");
  EXPECT_NE(torchtitan.output.find("selective_ac_option = \"4\""), std::string::npos) << torchtitan.output;
  expect_round_trip("quarter", "megatron", scenario);
  expect_round_trip("quarter", "torchtitan", scenario);
}

TEST(CliExport, WritesTheFrameworksNames) {
  const std::string scenario = kSource + "/scenarios/default.yaml";
  const CommandResult megatron = run("export " + scenario + " --to megatron");
  ASSERT_EQ(megatron.code, 0) << megatron.output;
  for (const char* flag :
       {"--tensor-model-parallel-size 8 ", "--pipeline-model-parallel-size 16 ",
        "--num-layers-per-virtual-pipeline-stage 2 ", "--micro-batch-size 1 ", "--global-batch-size 1536 ",
        "--recompute-granularity full ", "--fp16 ", "--num-layers 96 ", "--hidden-size 12288 ",
        "--num-attention-heads 96 ", "--seq-length 2048 ", "megatron-core 0.20.0"}) {
    EXPECT_NE(megatron.output.find(flag), std::string::npos) << flag << "\n" << megatron.output;
  }
  const CommandResult titan = run("export " + kSource + "/scenarios/llama3-8b-8xh100.yaml --to torchtitan");
  ASSERT_EQ(titan.code, 0) << titan.output;
  for (const char* key : {"[parallelism]", "data_parallel_shard_degree = 8", "tensor_parallel_degree = 1", "[training]",
                          "local_batch_size = 2", "global_batch_size = 16", "seq_len = 8192", "[activation_checkpoint]",
                          "mode = \"selective\"", "selective_ac_option = \"op\"", "torchtitan 0.2.1"}) {
    EXPECT_NE(titan.output.find(key), std::string::npos) << key << "\n" << titan.output;
  }
  const CommandResult nemo = run("export " + scenario + " --to nemo");
  ASSERT_EQ(nemo.code, 0) << nemo.output;
  for (const char* key :
       {"recipe.trainer.strategy.tensor_model_parallel_size = 8",
        "recipe.trainer.strategy.virtual_pipeline_model_parallel_size = 3", "recipe.data.global_batch_size = 1536",
        "recipe.model.config.recompute_granularity = \"full\""}) {
    EXPECT_NE(nemo.output.find(key), std::string::npos) << key << "\n" << nemo.output;
  }
}

TEST(CliExport, FromMegatronWithATopologyWritesARunnableScenario) {
  const std::string args =
      "--tensor-model-parallel-size 2 --num-layers 24 --hidden-size 2048 --num-attention-heads 16 --seq-length 2048 "
      "--vocab-size 50257 --micro-batch-size 2 --global-batch-size 128 --bf16";
  const std::string cluster = " --topology dgx-a100-superpod --gpus 16 -o ";
  const std::string out = testing::TempDir() + "/from-args.yaml";
  const CommandResult from =
      run("export --from megatron \"torchrun pretrain_gpt.py " + args + " --lr 3e-4\"" + cluster + out);
  ASSERT_EQ(from.code, 0) << from.output;
  EXPECT_NE(from.output.find("--lr"), std::string::npos) << from.output;  // said to be not read
  const nlohmann::json p = prediction(out);
  EXPECT_EQ(p["gpus"], 16);
  const CommandResult table = run("predict " + out);
  EXPECT_NE(table.output.find("tp 2, pp 1, dp 8"), std::string::npos) << table.output;
  // --from=megatron reads the same.
  const std::string again = testing::TempDir() + "/from-args-again.yaml";
  const CommandResult equals = run("export --from=megatron \"" + args + "\"" + cluster + again);
  ASSERT_EQ(equals.code, 0) << equals.output;
  EXPECT_EQ(read_text(again), read_text(out));
}

// The attention kernels go out as Megatron-Core's --attention-backend and come back as the family
// Transformer Engine runs for it: unfused round-trips, fused is cuDNN, auto leaves the GPU's default,
// and a backend Megatron does not have is an input error.
TEST(CliExport, MegatronAttentionBackendIsWrittenAndRead) {
  const std::string unfused = shipped_with("gpt3-1.3b-32xa100", "plan: {", "attention: unfused, ", "gpt-unfused");
  expect_round_trip("gpt-unfused", "megatron", unfused);
  EXPECT_NE(read_text(testing::TempDir() + "/gpt-unfused.megatron").find("--attention-backend unfused"),
            std::string::npos);
  // NeMo's recipe sets the same field of Megatron-Core's TransformerConfig; the default family none.
  const CommandResult nemo = run("export " + unfused + " --to nemo");
  ASSERT_EQ(nemo.code, 0) << nemo.output;
  EXPECT_NE(nemo.output.find("recipe.model.config.attention_backend = AttnBackend.unfused"), std::string::npos)
      << nemo.output;
  const CommandResult nemo_default = run("export " + kSource + "/scenarios/gpt3-1.3b-32xa100.yaml --to nemo");
  ASSERT_EQ(nemo_default.code, 0) << nemo_default.output;
  EXPECT_EQ(nemo_default.output.find("attention_backend"), std::string::npos) << nemo_default.output;
  const std::string shape =
      "--num-layers 4 --hidden-size 1024 --num-attention-heads 8 --seq-length 2048 --vocab-size 32000 "
      "--micro-batch-size 1 --global-batch-size 8 --bf16";
  const auto attention_read = [&](const std::string& backend) {
    const std::string out = testing::TempDir() + "/attention-" + backend + ".yaml";
    const CommandResult r = run("export --from megatron \"" + shape + " --attention-backend " + backend +
                                "\" --topology dgx-h100-superpod --gpus 8 -o " + out);
    EXPECT_EQ(r.code, 0) << r.output;
    const std::string written = read_text(out);
    const auto at = written.find("attention: ", written.find("plan:"));  // the plan's, not the model's (mha)
    return at == std::string::npos ? std::string("(none)") : written.substr(at + 11, written.find('\n', at) - at - 11);
  };
  EXPECT_EQ(attention_read("fused"), "cudnn");
  EXPECT_EQ(attention_read("local"), "unfused");
  EXPECT_EQ(attention_read("flash"), "flash2");
  EXPECT_EQ(attention_read("auto"), "(none)");
  // The flag before --attention-backend existed: flash-attn through Megatron's legacy layers.
  const std::string legacy = testing::TempDir() + "/attention-legacy.yaml";
  ASSERT_EQ(run("export --from megatron \"" + shape + " --use-flash-attn\" --topology dgx-a100-superpod --gpus 8 -o " +
                legacy)
                .code,
            0);
  EXPECT_NE(read_text(legacy).find("attention: flash2"), std::string::npos) << read_text(legacy);
  const CommandResult bad = run("export --from megatron \"" + shape +
                                " --attention-backend xformers\" --topology dgx-h100-superpod --gpus 8");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--attention-backend"), std::string::npos) << bad.output;
}

TEST(CliExport, BadInputIsAnInputError) {
  const CommandResult bad_value =
      run("export --from megatron \"--tensor-model-parallel-size x --num-layers 4\" --topology dgx-a100-superpod");
  EXPECT_EQ(bad_value.code, 2) << bad_value.output;
  EXPECT_NE(bad_value.output.find("'--tensor-model-parallel-size'"), std::string::npos) << bad_value.output;
  const CommandResult no_cluster = run("export --from megatron \"--tensor-model-parallel-size 2 --num-layers 4\"");
  EXPECT_EQ(no_cluster.code, 2) << no_cluster.output;
  EXPECT_NE(no_cluster.output.find("--base"), std::string::npos) << no_cluster.output;
  const CommandResult impossible =
      run("export --from megatron \"--tensor-model-parallel-size 3 --num-layers 4 "
          "--hidden-size 64 --num-attention-heads 4 --seq-length 128 --vocab-size 100\" "
          "--topology dgx-a100-superpod --gpus 16");
  EXPECT_EQ(impossible.code, 2) << impossible.output;
  EXPECT_NE(impossible.output.find("'plan.tp'"), std::string::npos) << impossible.output;
  EXPECT_EQ(run("export " + kSource + "/scenarios/default.yaml --to deepspeed").code, 2);
  // What Megatron-LM itself refuses: both 16-bit formats; full recomputation without its method.
  const std::string out = testing::TempDir() + "/refused.yaml";
  for (const auto& [flags, key] : {std::pair{"--fp16", "'--fp16'"},
                                   {"--recompute-granularity full", "'--recompute-granularity'"},
                                   {"--pipeline-model-parallel-size 2 --pipeline-model-parallel-layout 'Et*4|t*3L'",
                                    "'--pipeline-model-parallel-layout'"}}) {
    const CommandResult refused = from_megatron(flags, out);
    EXPECT_EQ(refused.code, 2) << flags << "\n" << refused.output;
    EXPECT_NE(refused.output.find(key), std::string::npos) << refused.output;
  }
  const std::string toml = testing::TempDir() + "/bad.toml";
  write_text(toml, "[parallelism]\ntensor_parallel_degree = two\n");
  const CommandResult bad_toml =
      run("export --from torchtitan " + toml + " --base " + kSource + "/scenarios/llama3-8b-8xh100.yaml");
  EXPECT_EQ(bad_toml.code, 2) << bad_toml.output;
  EXPECT_NE(bad_toml.output.find("parallelism.tensor_parallel_degree"), std::string::npos) << bad_toml.output;
}

// Hybrid sharding (HSDP) is torchtitan's replicate x shard degrees: it goes out as both and comes
// back as dp_shard, predicting the same job.
TEST(CliExport, HybridShardingRoundTripsThroughTorchtitan) {
  const std::string scenario = testing::TempDir() + "/hsdp.yaml";
  {
    std::ofstream out(scenario);
    out << "model: {preset: llama2-7b, seq_len: 2048}\ncluster: {topology: dgx-h100-superpod, gpus: 32}\n"
           "plan: {dp: 32, dp_shard: 8, zero: 3, global_batch: 64, loss: fused, attention: flash2,\n"
           "       sharded_master_weights: true}\n";
  }
  const CommandResult torchtitan = run("export " + scenario + " --to torchtitan");
  ASSERT_EQ(torchtitan.code, 0) << torchtitan.output;
  for (const char* key : {"data_parallel_replicate_degree = 4", "data_parallel_shard_degree = 8"})
    EXPECT_NE(torchtitan.output.find(key), std::string::npos) << torchtitan.output;
  expect_round_trip("hsdp", "torchtitan", scenario);
  // An automatic shard degree (-1) beside replicas shards over what the GPUs leave: 32 / 4 = 8.
  const std::string toml = testing::TempDir() + "/hsdp-auto.toml";
  std::ofstream(toml) << "[parallelism]\ndata_parallel_replicate_degree = 4\ndata_parallel_shard_degree = -1\n"
                         "[training]\nlocal_batch_size = 2\nglobal_batch_size = 64\nseq_len = 2048\n";
  const std::string back = testing::TempDir() + "/hsdp-auto.yaml";
  const CommandResult read = run("export --from torchtitan " + toml + " --base " + scenario + " -o " + back);
  ASSERT_EQ(read.code, 0) << read.output;
  EXPECT_NE(read_text(back).find("dp_shard: 8"), std::string::npos) << read_text(back);
}

// torchtitan's torch.compile components and loss parallelism: an uncompiled model runs eager
// kernels, an uncompiled loss runs on an fp32 copy of the logits (cast), through loss_parallel's
// element-wise log-softmax with tensor parallelism (decomposed) unless disable_loss_parallel.
TEST(CliExport, TorchtitanCompileAndLossParallelAreRead) {
  const auto import = [](const std::string& name, const std::string& extra) {
    const std::string toml = testing::TempDir() + "/" + name + ".toml";
    write_text(toml, "[parallelism]\ndata_parallel_shard_degree = 4\ntensor_parallel_degree = 2\n" + extra);
    const CommandResult r =
        run("export --from torchtitan " + toml + " --base " + kSource + "/scenarios/llama3-8b-8xh100.yaml");
    EXPECT_EQ(r.code, 0) << r.output;
    return r.output;
  };
  const std::string eager = import("eager", "");
  EXPECT_NE(eager.find("kernels: eager"), std::string::npos) << eager;
  EXPECT_NE(eager.find("loss: decomposed"), std::string::npos) << eager;
  const std::string no_lp = import("no-loss-parallel",
                                   "disable_loss_parallel = true\n[compile]\nenable = true\n"
                                   "components = [\"model\"]\n");
  EXPECT_EQ(no_lp.find("kernels: eager"), std::string::npos) << no_lp;
  EXPECT_NE(no_lp.find("loss: cast"), std::string::npos) << no_lp;
  const std::string compiled = import("compiled", "[compile]\nenable = true\n");
  EXPECT_NE(compiled.find("loss: fused"), std::string::npos) << compiled;
  // Its SDPA: FlashAttention-2 on Hopper, cuDNN first on Blackwell (torchtitan#1196).
  EXPECT_NE(compiled.find("attention: flash2"), std::string::npos) << compiled;
  const std::string toml = testing::TempDir() + "/b200.toml";
  write_text(toml, "[parallelism]\ndata_parallel_shard_degree = 64\n");
  const CommandResult b200 =
      run("export --from torchtitan " + toml + " --base " + kSource + "/scenarios/llama3-8b-64xb200-mxfp8.yaml");
  EXPECT_EQ(b200.code, 0) << b200.output;
  EXPECT_NE(b200.output.find("attention: cudnn"), std::string::npos) << b200.output;
  // torchao's float8 casts the weights in every forward, even without FSDP.
  const std::string float8 = testing::TempDir() + "/float8.toml";
  write_text(float8,
             "[model]\nconverters = [\"quantize.linear.float8\"]\n[parallelism]\ndata_parallel_replicate_degree = 8\n"
             "data_parallel_shard_degree = 1\n");
  const CommandResult ddp =
      run("export --from torchtitan " + float8 + " --base " + kSource + "/scenarios/llama3-8b-8xh100.yaml");
  EXPECT_EQ(ddp.code, 0) << ddp.output;
  EXPECT_NE(ddp.output.find("fp8_weight_cache: false"), std::string::npos) << ddp.output;
  // And the export writes them: the scenario's compiled model with an uncompiled loss.
  const CommandResult out = run("export " + kSource + "/scenarios/llama3-8b-8xh100.yaml --to torchtitan");
  EXPECT_NE(out.output.find("[compile]\nenable = true\ncomponents = [\"model\"]"), std::string::npos) << out.output;
}

// Activation offloading: Megatron-Core's --cpu-offloading-num-layers both ways, NeMo's config
// fields, and torchtitan saying it has none.
TEST(CliExport, ActivationOffloadingIsWrittenAndRead) {
  const std::string scenario = testing::TempDir() + "/llama-offload.yaml";
  std::ofstream(scenario) << "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
                             "plan: {dp: 8, micro_batch: 1, global_batch: 16, zero: 1, activation_offload_layers: 6}\n";
  expect_round_trip("llama-offload", "megatron", scenario);
  EXPECT_NE(read_text(testing::TempDir() + "/llama-offload.megatron").find("--cpu-offloading-num-layers 6"),
            std::string::npos);
  // The count alone turns it on: Megatron-LM has no --cpu-offloading switch (arguments.py).
  EXPECT_EQ(read_text(testing::TempDir() + "/llama-offload.megatron").find("--cpu-offloading "), std::string::npos);
  const CommandResult nemo = run("export " + scenario + " --to nemo");
  ASSERT_EQ(nemo.code, 0) << nemo.output;
  EXPECT_NE(nemo.output.find("recipe.model.config.cpu_offloading_num_layers = 6"), std::string::npos) << nemo.output;
  const CommandResult titan = run("export " + scenario + " --to torchtitan");
  ASSERT_EQ(titan.code, 0) << titan.output;
  EXPECT_NE(titan.output.find("activation_offload_layers not written"), std::string::npos) << titan.output;
  // A launch line without the flag offloads nothing, whatever the base scenario did.
  const std::string back = testing::TempDir() + "/llama-no-offload.yaml";
  const CommandResult plain =
      run("export --from megatron \"--micro-batch-size 1 --global-batch-size 16 --bf16\" --base " + scenario + " -o " +
          back);
  ASSERT_EQ(plain.code, 0) << plain.output;
  EXPECT_NE(read_text(back).find("activation_offload_layers: 0"), std::string::npos) << read_text(back);
}

// A 16-bit launch line read onto a low-precision base scenario: the base's Transformer Engine
// fields do not outlive its precision (they would be input errors on bf16).
TEST(CliExport, A16BitLaunchLineClearsTheBasesLowPrecisionFields) {
  const std::string base = testing::TempDir() + "/llama-fp8-base.yaml";
  std::ofstream(base) << "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
                         "plan: {dp: 8, micro_batch: 1, global_batch: 16, precision: fp8, fp8_weight_cache: true, "
                         "fp8_saved_inputs: true}\n";
  const std::string out = testing::TempDir() + "/llama-bf16-from-megatron.yaml";
  const CommandResult r = run("export --from megatron \"--micro-batch-size 1 --global-batch-size 16 --bf16\" --base " +
                              base + " -o " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(run("predict " + out).code, 0) << read_text(out);
  EXPECT_NE(read_text(out).find("precision: bf16"), std::string::npos) << read_text(out);
}

// Adam's moments in bf16 are Megatron-LM's precision-aware optimizer flags, written and read back;
// a launch line without them keeps fp32 moments and fp32 main params whatever the base said.
TEST(CliExport, OptimizerStatePrecisionIsWrittenAndRead) {
  const std::string scenario = testing::TempDir() + "/llama-bf16-moments.yaml";
  std::ofstream(scenario) << "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
                             "plan: {dp: 8, micro_batch: 1, global_batch: 16, zero: 1, optimizer_state: bf16}\n";
  expect_round_trip("llama-bf16-moments", "megatron", scenario);
  const std::string args = read_text(testing::TempDir() + "/llama-bf16-moments.megatron");
  EXPECT_NE(args.find("--use-precision-aware-optimizer"), std::string::npos) << args;
  EXPECT_NE(args.find("--exp-avg-sq-dtype bf16"), std::string::npos) << args;
  const CommandResult nemo = run("export " + scenario + " --to nemo");
  ASSERT_EQ(nemo.code, 0) << nemo.output;
  EXPECT_NE(nemo.output.find("recipe.optim.config.exp_avg_dtype = torch.bfloat16"), std::string::npos) << nemo.output;
  const std::string half = testing::TempDir() + "/llama-16bit-main-params.yaml";
  std::ofstream(half) << "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
                         "plan: {dp: 8, micro_batch: 1, global_batch: 16, zero: 1, master_weights: 16-bit}\n";
  expect_round_trip("llama-16bit-main-params", "megatron", half);
  EXPECT_NE(read_text(testing::TempDir() + "/llama-16bit-main-params.megatron").find("--main-params-dtype fp16"),
            std::string::npos);
  const std::string nemo1 = testing::TempDir() + "/llama-nemo1-adam.yaml";
  std::ofstream(nemo1) << "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
                          "plan: {dp: 8, micro_batch: 1, global_batch: 16, zero: 1, optimizer_state: bf16, "
                          "master_weights: none}\n";
  const std::string back = testing::TempDir() + "/llama-fp32-moments.yaml";
  const CommandResult plain = run(
      "export --from megatron \"--micro-batch-size 1 --global-batch-size 16 --fp16\" --base " + nemo1 + " -o " + back);
  ASSERT_EQ(plain.code, 0) << plain.output;
  const std::string text = read_text(back);
  EXPECT_NE(text.find("optimizer_state: fp32"), std::string::npos) << text;
  EXPECT_NE(text.find("master_weights: fp32"), std::string::npos) << text;
  EXPECT_NE(run("export " + nemo1 + " --to megatron").output.find("master_weights none is not exported"),
            std::string::npos);
  // Megatron-LM refuses the precision-aware optimizer without its distributed optimizer: said, not written.
  const std::string replicated = testing::TempDir() + "/llama-bf16-moments-zero0.yaml";
  std::ofstream(replicated) << "model: {preset: llama3-8b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
                               "plan: {dp: 8, micro_batch: 1, global_batch: 16, zero: 0, optimizer_state: bf16}\n";
  const std::string zero0 = exported_as(replicated, "megatron");
  EXPECT_EQ(zero0.find("\n--use-precision-aware-optimizer"), std::string::npos) << zero0;
  EXPECT_NE(zero0.find("need Megatron-LM's distributed optimizer"), std::string::npos) << zero0;
}

// A plan naming today's torchtitan runs the GPU's default attention (PyTorch 2.11's SDPA): the
// export says so only when the plan runs something else; torchtitan-2025's is FlashAttention-2.
TEST(CliExport, TorchtitanAttentionFollowsTheFrameworkTheScenarioNames) {
  const std::string scenario = kSource + "/scenarios/llama3-8b-8xh100.yaml";
  const CommandResult today =
      run("export " + scenario + " --to torchtitan --set plan.framework=torchtitan --set plan.attention=flash");
  ASSERT_EQ(today.code, 0) << today.output;
  EXPECT_EQ(today.output.find("is not what torchtitan runs"), std::string::npos) << today.output;
  const CommandResult stated = run("export " + scenario + " --to torchtitan --set plan.framework=torchtitan");
  ASSERT_EQ(stated.code, 0) << stated.output;
  EXPECT_NE(stated.output.find("attention flash2 is not what torchtitan runs on h100-sxm-96gb: PyTorch 2.11's SDPA"),
            std::string::npos)
      << stated.output;
  const CommandResult older = run("export " + scenario + " --to torchtitan --set plan.framework=torchtitan-2025");
  ASSERT_EQ(older.code, 0) << older.output;
  EXPECT_EQ(older.output.find("is not what torchtitan runs"), std::string::npos) << older.output;
}

// Each FP8 recipe goes out as NeMo's own precision config for it (mixed_precision.py): current
// scaling for the default tensorwise, delayed scaling, sub-channel (blockwise) scaling, MXFP8.
TEST(CliExport, NemoWritesThePrecisionConfigOfEachFp8Recipe) {
  const std::string scenario = kSource + "/scenarios/llama3-8b-8xh100.yaml";
  for (const auto& [set, config] : std::vector<std::pair<std::string, std::string>>{
           {"--set plan.precision=fp8", "bf16_with_fp8_current_scaling_mixed()"},
           {"--set plan.precision=fp8 --set plan.fp8_recipe=delayed", "bf16_with_fp8_mixed()"},
           {"--set plan.precision=fp8 --set plan.fp8_recipe=blockwise", "bf16_with_fp8_subchannel_scaling_mixed()"},
           {"--set plan.precision=bf16", "bf16_mixed()"}}) {
    const CommandResult nemo = run("export " + scenario + " --to nemo " + set);
    ASSERT_EQ(nemo.code, 0) << nemo.output;
    EXPECT_NE(nemo.output.find("recipe.trainer.plugins = " + config), std::string::npos) << set << "\n" << nemo.output;
  }
  const CommandResult mx = run("export " + kSource + "/scenarios/llama3-8b-64xb200-mxfp8.yaml --to nemo");
  ASSERT_EQ(mx.code, 0) << mx.output;
  EXPECT_NE(mx.output.find("recipe.trainer.plugins = bf16_with_mxfp8_mixed()"), std::string::npos) << mx.output;
}

// Zero bubble goes to torchtitan as PyTorch's ScheduleInterleavedZeroBubble with its layers per
// stage and no lighter first and last stages (torchtitan counts ceil((layers + 1 + 1) / per)
// stages by default), and comes back with the same schedule and virtual stages. torchtitan runs it
// with two stages a rank or more: ZB-H1 (one) goes out as 1F1B with a note. The V-shaped schedules
// read as it with a note; Megatron-LM, which has none, gets a note, and its lines clear it.
TEST(CliExport, ZeroBubbleTravelsToTorchtitanAndBack) {
  const std::string base = testing::TempDir() + "/zb.yaml";
  std::ofstream(base) << "name: zb\nmodel: {preset: llama3.1-70b}\ncluster: {topology: dgx-h100-superpod, gpus: 256}\n"
                         "plan: {tp: 8, pp: 8, dp: 4, micro_batch: 1, global_batch: 128, zero: 3, recompute: full, "
                         "sequence_parallel: true, zero_bubble: true, schedule: interleaved, virtual_stages: 2}\n";
  const std::string toml = testing::TempDir() + "/zb2.toml";
  const CommandResult to = run("export " + base + " --to torchtitan -o " + toml);
  ASSERT_EQ(to.code, 0) << to.output;
  const std::string text = read_text(toml);
  EXPECT_NE(text.find("pipeline_parallel_schedule = \"InterleavedZeroBubble\""), std::string::npos) << text;
  EXPECT_NE(text.find("pipeline_parallel_layers_per_stage = 5\npipeline_parallel_first_stage_less_layers = 0\n"
                      "pipeline_parallel_last_stage_less_layers = 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# note: zero_bubble: PyTorch's pipelining does not split backwards under torch.compile"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("\"model\""), std::string::npos) << text;  // [compile] leaves the model out
  const std::string back = testing::TempDir() + "/zb2-back.yaml";
  const CommandResult from = run("export --from torchtitan " + toml + " --base " + base + " -o " + back);
  ASSERT_EQ(from.code, 0) << from.output;
  const trainsim::Scenario sc = trainsim::load_scenario(back);
  EXPECT_TRUE(sc.plan.zero_bubble);
  EXPECT_EQ(sc.plan.virtual_stages, 2);
  EXPECT_EQ(sc.plan.schedule, trainsim::Schedule::interleaved);

  // One stage a rank: 1F1B, said; read back without zero bubble.
  const std::string toml1 = testing::TempDir() + "/zb1.toml";
  const CommandResult one =
      run("export " + base + " --set plan.virtual_stages=1 --set plan.schedule=1f1b --to torchtitan -o " + toml1);
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_NE(one.output.find("zero_bubble with one stage a rank (ZB-H1)"), std::string::npos) << one.output;
  EXPECT_NE(read_text(toml1).find("pipeline_parallel_schedule = \"1F1B\""), std::string::npos);
  const CommandResult from1 = run("export --from torchtitan " + toml1 + " --base " + base + " -o " + toml1 + ".yaml");
  ASSERT_EQ(from1.code, 0) << from1.output;
  EXPECT_FALSE(trainsim::load_scenario(toml1 + ".yaml").plan.zero_bubble);

  // torchtitan's own count refuses a layers_per_stage that leaves a rank one stage of a
  // multi-stage schedule (80 layers, 10 a stage, 1 + 1 less: 9 stages on 8 ranks).
  const std::string bad = testing::TempDir() + "/zb-bad.toml";
  std::ofstream(bad) << "[parallelism]\npipeline_parallel_degree = 8\ntensor_parallel_degree = 8\n"
                        "data_parallel_shard_degree = 4\npipeline_parallel_schedule = \"InterleavedZeroBubble\"\n"
                        "pipeline_parallel_layers_per_stage = 10\n";
  const CommandResult refused = run("export --from torchtitan " + bad + " --base " + base + " -o " + bad + ".yaml");
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("pipeline_parallel_layers_per_stage"), std::string::npos) << refused.output;

  const std::string zbv = testing::TempDir() + "/zbv.toml";
  std::ofstream(zbv) << "[parallelism]\npipeline_parallel_degree = 8\ntensor_parallel_degree = 8\n"
                        "data_parallel_shard_degree = 4\npipeline_parallel_schedule = \"ZBVZeroBubble\"\n";
  const CommandResult v = run("export --from torchtitan " + zbv + " --base " + base + " -o " + zbv + ".yaml");
  ASSERT_EQ(v.code, 0) << v.output;
  EXPECT_NE(v.output.find("V-shaped placement"), std::string::npos) << v.output;
  const trainsim::Scenario vshape = trainsim::load_scenario(zbv + ".yaml");
  EXPECT_TRUE(vshape.plan.zero_bubble);
  EXPECT_EQ(vshape.plan.virtual_stages, 2);
  const CommandResult megatron = run("export " + base + " --to megatron");
  ASSERT_EQ(megatron.code, 0) << megatron.output;
  EXPECT_NE(megatron.output.find("Megatron-LM has no zero-bubble schedule"), std::string::npos) << megatron.output;
}
