// GPUs as data (cluster.gpu: preset, file or map) and mixtures of experts as trained in 2025:
// shared experts, dense layers, fine-grained experts, MoE parallel folding with expert data
// parallelism, MLA, sliding windows, and the Qwen3 and DeepSeek-V3 scenarios.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "compute/cost_model.hpp"
#include "engine/simulation.hpp"
#include "kernels.hpp"
#include "report/prediction.hpp"
#include "scenario/scenario.hpp"
#include "workload/memory.hpp"
#include "workload/work.hpp"

using namespace trainsim;

namespace {

const char* kLlamaOnH100 = R"(
model: {preset: llama3-8b}
cluster: {topology: dgx-h100-superpod, gpus: 8, gpu: h100-sxm-80gb}
plan: {tp: 8, micro_batch: 1, global_batch: 4, sequence_parallel: true}
)";

// The preset's own entry in sim/presets/gpus.yaml.
YAML::Node preset_entry(const std::string& name) {
  return YAML::LoadFile(std::string(TRAINSIM_SOURCE_DIR) + "/sim/presets/gpus.yaml")[name];
}

std::filesystem::path temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / "trainsim-moe-test";
  std::filesystem::create_directories(dir);
  return dir;
}

Workload work_of(const Scenario& sc) {
  return build_workload(sc.model, sc.plan, CostModel(sc.cluster.topology.gpu, sc.plan.precision), sc.data);
}

}  // namespace

TEST(GpuAsData, InlineMapWithThePresetsFieldsPredictsThePresetsStepTime) {
  const double preset = simulate_step(load_scenario_text(kLlamaOnH100, "preset.yaml")).step_time;
  YAML::Node document = YAML::Load(kLlamaOnH100);
  document["cluster"]["gpu"] = YAML::Clone(preset_entry("h100-sxm-80gb"));
  const Scenario inline_gpu = load_scenario_text(YAML::Dump(document), "inline.yaml");
  EXPECT_EQ(inline_gpu.cluster.topology.gpu.name, "custom-gpu");
  EXPECT_EQ(simulate_step(inline_gpu).step_time, preset);
}

// A GPU given by its datasheet alone is priced at its short-run clock all step: the scenario says
// so, naming the key that would fix it; a map that states kernels.sustained, or starts from a
// preset, is not warned.
TEST(GpuAsData, DatasheetOnlyGpuIsWarnedOfItsClock) {
  auto sustained_warnings = [](const std::string& gpu) {
    YAML::Node document = YAML::Load(kLlamaOnH100);
    document["cluster"]["gpu"] = YAML::Load(gpu);
    int n = 0;
    for (const auto& w : load_scenario_text(YAML::Dump(document), "gpu.yaml").warnings) {
      n += w.key == "cluster.gpu" && w.message.find("kernels.sustained") != std::string::npos;
    }
    return n;
  };
  const std::string datasheet =
      "{peak: {bf16: 989TFLOP/s}, memory: 80GiB, memory_bandwidth: 3.35TB/s, "
      "nvlink_bandwidth: 450GB/s";
  EXPECT_EQ(sustained_warnings(datasheet + "}"), 1);
  EXPECT_EQ(sustained_warnings(datasheet + ", kernels: {sustained: 0.85}}"), 0);
  EXPECT_EQ(sustained_warnings("{preset: h100-sxm-80gb, memory: 96GiB}"), 0);
  EXPECT_EQ(sustained_warnings("h100-sxm-80gb"), 0);
}

// The H800 is the H100's die with NVLink cut to 400 GB/s both ways: a step that all-reduces over
// NVLink (tp 8) takes longer on it, and its TP collectives take NVLink's ratio longer (450/200,
// less their latency), while one GPU alone runs the same step.
TEST(GpuAsData, H800IsAnH100WithLessNvlink) {
  const Scenario h100 = load_scenario_text(kLlamaOnH100, "h100.yaml");
  YAML::Node document = YAML::Load(kLlamaOnH100);
  document["cluster"]["gpu"] = "h800-sxm-80gb";
  const Scenario h800 = load_scenario_text(YAML::Dump(document), "h800.yaml");
  EXPECT_DOUBLE_EQ(h800.cluster.topology.gpu.peak_bf16, h100.cluster.topology.gpu.peak_bf16);
  EXPECT_DOUBLE_EQ(h800.cluster.topology.gpu.memory_bandwidth, h100.cluster.topology.gpu.memory_bandwidth);
  EXPECT_DOUBLE_EQ(h800.cluster.topology.gpu.nvlink_bandwidth, 200e9);
  const StepResult on_h100 = simulate_step(h100), on_h800 = simulate_step(h800);
  EXPECT_GT(on_h800.step_time, on_h100.step_time);
  const double tp_ratio = on_h800.breakdown.exposed_comm.at("tp") / on_h100.breakdown.exposed_comm.at("tp");
  EXPECT_GT(tp_ratio, 1.8);
  EXPECT_LT(tp_ratio, 450.0 / 200.0 * 1.01);

  Scenario one_h100 = h100, one_h800 = h800;
  for (Scenario* sc : {&one_h100, &one_h800}) {
    sc->cluster.gpus = 1;
    sc->plan.tp = 1;
    sc->plan.sequence_parallel = false;
    sc->plan.global_batch = 1;
  }
  EXPECT_DOUBLE_EQ(simulate_step(one_h800).step_time, simulate_step(one_h100).step_time);
}

TEST(GpuAsData, GpuFileRelativeToTheScenarioAndPresetOverrides) {
  const auto dir = temp_dir();
  {
    std::ofstream(dir / "my-h100.yaml") << YAML::Dump(preset_entry("h100-sxm-80gb"));
    std::ofstream(dir / "h100-96.yaml") << "preset: h100-sxm-80gb\nmemory: 96GiB\nname: h100-96\n";
  }
  const double preset = simulate_step(load_scenario_text(kLlamaOnH100, "preset.yaml")).step_time;
  YAML::Node document = YAML::Load(kLlamaOnH100);
  document["cluster"]["gpu"] = "my-h100.yaml";
  const Scenario from_file = load_scenario_text(YAML::Dump(document), "file.yaml", dir.string());
  EXPECT_EQ(from_file.cluster.topology.gpu.name, "my-h100");
  EXPECT_EQ(simulate_step(from_file).step_time, preset);

  document["cluster"]["gpu"] = "h100-96.yaml";
  const Scenario overridden = load_scenario_text(YAML::Dump(document), "file.yaml", dir.string());
  EXPECT_EQ(overridden.cluster.topology.gpu.name, "h100-96");
  EXPECT_DOUBLE_EQ(overridden.cluster.topology.gpu.memory_bytes, 96.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(overridden.cluster.topology.gpu.peak_bf16, gpu_preset("h100-sxm-80gb").peak_bf16);
}

TEST(GpuAsData, ErrorsNameFileLineAndKey) {
  try {
    load_scenario_text(
        "model: {preset: llama3-8b}\ncluster:\n  topology: single-h100\n  gpu: {preset: h100-sxm-80gb, "
        "peak: {bf16: fast}}\nplan: {}\n",
        "bad.yaml");
    FAIL() << "a bad peak must be an error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.where().file, "bad.yaml");
    EXPECT_EQ(e.where().line, 4);
    EXPECT_EQ(e.key(), "cluster.gpu.peak.bf16");
  }
  try {
    load_scenario_text("model: {preset: llama3-8b}\ncluster: {topology: single-h100, gpu: h100-sxm-80g}\nplan: {}\n",
                       "typo.yaml");
    FAIL() << "an unknown GPU must be an error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "cluster.gpu");
    EXPECT_NE(e.problem().find("did you mean h100-sxm-80gb"), std::string::npos) << e.problem();
    EXPECT_NE(e.problem().find("presets: "), std::string::npos) << e.problem();
  }
  const auto dir = temp_dir();
  std::ofstream(dir / "broken.yaml") << "preset: h100-sxm-80gb\nmemroy: 96GiB\n";
  try {
    load_scenario_text("model: {preset: llama3-8b}\ncluster: {topology: single-h100, gpu: broken.yaml}\nplan: {}\n",
                       "s.yaml", dir.string());
    FAIL() << "an unknown key in a GPU file must be an error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.where().file, (dir / "broken.yaml").string());
    EXPECT_EQ(e.where().line, 2);
    EXPECT_EQ(e.key(), "memroy");
  }
}

TEST(GpuAsData, TopologyNodeGroupsTakeInlineGpus) {
  const TopologySpec t = parse_topology_text(R"(
gpus_per_node: 8
nodes: 2
network: {kind: fat-tree, nic_bandwidth: 400Gb/s}
node_groups:
  - {nodes: 1, gpu: h100-sxm-80gb}
  - {nodes: 1, gpu: {preset: a100-80gb-sxm, name: a100-slow, peak: {bf16: 200TFLOP/s}}}
)",
                                             "mixed.yaml");
  EXPECT_EQ(t.node_groups[1].gpu.name, "a100-slow");
  EXPECT_DOUBLE_EQ(t.node_groups[1].gpu.peak_bf16, 200e12);
}

TEST(Moe, DeepSeekV3ParametersByHand) {
  const ModelSpec m = model_preset("deepseek-v3");
  // MLA per layer: q_a 7168x1536 + norm 1536 + q_b 1536 x 128*(128+64); kv_a 7168 x (512+64) +
  // norm 512 + kv_b 512 x 128*(128+128); o 128*128 x 7168.
  const double mla =
      7168.0 * 1536 + 1536 + 1536.0 * 128 * 192 + 7168.0 * 576 + 512 + 512.0 * 128 * 256 + 128.0 * 128 * 7168;
  EXPECT_DOUBLE_EQ(attention_parameters(m), mla);
  const double expert = 3.0 * 7168 * 2048;
  const double norms = 2 * 7168.0;
  EXPECT_DOUBLE_EQ(layer_parameters(m), mla + (256 + 1) * expert + 7168.0 * 256 + norms);
  EXPECT_DOUBLE_EQ(dense_layer_parameters(m), mla + 3.0 * 7168 * 18432 + norms);
  EXPECT_DOUBLE_EQ(layer_active_parameters(m), mla + (8 + 1) * expert + 7168.0 * 256 + norms);
  // 671B total, 37B active (arXiv:2412.19437; the 14B MTP module not counted).
  EXPECT_NEAR(total_parameters(m) / 671e9, 1.0, 0.005) << total_parameters(m);
  EXPECT_NEAR(active_parameters(m) / 37e9, 1.0, 0.02) << active_parameters(m);
  // The shared expert adds one expert per MoE layer; dense layers replace 3 MoE layers.
  ModelSpec no_shared = m;
  no_shared.shared_experts = 0;
  EXPECT_DOUBLE_EQ(total_parameters(m) - total_parameters(no_shared), 58 * expert);
  ModelSpec all_moe = m;
  all_moe.dense_layers = 0;
  EXPECT_DOUBLE_EQ(total_parameters(all_moe) - total_parameters(m),
                   3 * (layer_parameters(m) - dense_layer_parameters(m)));
}

TEST(Moe, Qwen3AndMixtral8x22bParameters) {
  const ModelSpec qwen = model_preset("qwen3-235b-a22b");
  EXPECT_EQ(qwen.head_dim(), 128);  // not hidden / heads (64)
  EXPECT_NEAR(total_parameters(qwen) / 235e9, 1.0, 0.01) << total_parameters(qwen);
  EXPECT_NEAR(active_parameters(qwen) / 22e9, 1.0, 0.02) << active_parameters(qwen);
  const ModelSpec mixtral = model_preset("mixtral-8x22b");
  EXPECT_NEAR(total_parameters(mixtral) / 141e9, 1.0, 0.01);  // Mistral AI: 141B total, 39B active
  EXPECT_NEAR(active_parameters(mixtral) / 39e9, 1.0, 0.02);
}

// Llama 4 as NeMo 2.3 configures it: Meta's model card gives Scout 109B total and Maverick 400B,
// both 17B active. Maverick's experts sit in every other layer (layers 2, 4, ... from 1).
TEST(Moe, Llama4ParametersAndInterleavedExpertLayers) {
  const ModelSpec scout = model_preset("llama4-scout");
  const ModelSpec maverick = model_preset("llama4-maverick");
  EXPECT_EQ(scout.moe_layers(), 48);
  EXPECT_EQ(maverick.moe_layers(), 24);
  EXPECT_FALSE(maverick.moe_layer(0));
  EXPECT_TRUE(maverick.moe_layer(1));
  EXPECT_FALSE(maverick.moe_layer(46));
  EXPECT_TRUE(maverick.moe_layer(47));
  EXPECT_NEAR(total_parameters(maverick) / 400e9, 1.0, 0.01) << total_parameters(maverick);
  EXPECT_NEAR(active_parameters(maverick) / 17e9, 1.0, 0.02) << active_parameters(maverick);
  EXPECT_NEAR(total_parameters(scout) / 109e9, 1.0, 0.02) << total_parameters(scout);
  EXPECT_NEAR(active_parameters(scout) / 17e9, 1.0, 0.02) << active_parameters(scout);
  // Leading dense layers and a frequency compose: past the first 3, every 2nd layer.
  ModelSpec both = maverick;
  both.dense_layers = 3;
  EXPECT_FALSE(both.moe_layer(1));
  EXPECT_TRUE(both.moe_layer(3));
  EXPECT_EQ(both.moe_layers(), 23);
  // Per stage: each of 4 stages holds 6 dense layers of its 12.
  const Scenario sc = load_scenario_text(
      "model: {preset: llama4-maverick}\ncluster: {topology: dgx-h100-superpod, gpus: 256}\n"
      "plan: {tp: 4, pp: 4, dp: 16, ep: 16, etp: 1, global_batch: 256, sequence_parallel: true}\n",
      "maverick.yaml");
  EXPECT_EQ(dense_layers_per_stage(sc.model, sc.plan), (std::vector<int>{6, 6, 6, 6}));
}

// A model with experts in every other layer does the work of half its layers dense and half MoE:
// its simulated FLOPs are the mean of the all-dense and all-MoE models' (embedding and head alike).
TEST(Moe, ExpertsInEveryOtherLayerSimulateHalfTheLayersAsMoe) {
  const auto flops = [](const std::string& moe) {
    const Scenario sc = load_scenario_text(
        "model: {arch: llama, layers: 8, hidden: 1024, heads: 8, kv_heads: 8, ffn_hidden: 4096, vocab: 32000, "
        "seq_len: 1024" +
            moe +
            "}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\n"
            "plan: {tp: 1, pp: 2, dp: 4, micro_batch: 1, global_batch: 16" +
            std::string(moe.empty() ? "" : ", ep: 4") + "}\n",
        "interleaved.yaml");
    return simulate_step(sc).hardware_flops_per_gpu;
  };
  const std::string experts = ", moe: {experts: 8, top_k: 2, expert_ffn_hidden: 2048";
  const double dense = flops(""), all_moe = flops(experts + "}"), alternate = flops(experts + ", layer_frequency: 2}");
  EXPECT_GT(all_moe, dense);
  EXPECT_NEAR(alternate / ((dense + all_moe) / 2), 1.0, 1e-9);
  // A frequency that leaves no layer with experts is an input error naming the key.
  try {
    load_scenario_text("model: {preset: llama4-maverick, layers: 1}\ncluster: {topology: single-h100}\nplan: {}\n",
                       "none.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.problem().find("layer_frequency"), std::string::npos) << e.problem();
  }
}

TEST(Moe, ModelFlopsFollowMegatronCoreForDeepSeekV3) {
  // Megatron-Core num_floating_point_operations (MLA branch), per token, seq 4096, without the
  // router: 6 x (dense and routed + shared MLP, MLA projections, logits) + causal attention.
  const ModelSpec m = model_preset("deepseek-v3");
  const double h = 7168, s = 4096, heads = 128;
  const double mlp = 3 * 3 * h * 18432 + 58 * 3 * h * 2048 * 9;
  const double q = 1536 * (h + heads * 192 + 1);
  const double kv = 512 * (h + heads * 256 + 1) + h * 64;
  const double attention = 61 * (q + kv + heads * 128 * h + s * heads * 192 / 2 + s * heads * 128 / 2);
  const double mcore = 6 * (mlp + attention + h * 129280);
  EXPECT_NEAR(model_flops_per_token(m) / mcore, 1.0, 0.01);
}

TEST(Moe, ParallelFoldingAcceptsEpBeyondDp) {
  const std::string base =
      "model: {preset: qwen3-235b-a22b}\ncluster: {topology: dgx-h100-superpod, gpus: 256}\n"
      "plan: {tp: 2, pp: 8, dp: 16, ep: 32, global_batch: 256, sequence_parallel: true";
  const Scenario sc = load_scenario_text(base + ", etp: 1}\n", "fold.yaml");
  EXPECT_EQ(sc.plan.expert_dp(), 1);
  try {
    load_scenario_text(base + "}\n", "fold.yaml");  // etp defaults to tp: 32 x 2 > 32 ranks
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "plan.ep");
    EXPECT_NE(e.problem().find("etp: 1"), std::string::npos) << e.problem();
  }
}

TEST(Moe, ExpertMemoryShardsOverExpertDataParallelism) {
  // Mixtral 8x7B, tp 2, pp 4, dp 8, ep 8, ZeRO-1: 8 layers per stage. Per GPU and layer:
  // attention (4096 x (4096 + 2*1024) + 4096^2), router 4096 x 8, norms 2 x 4096, over tp 2;
  // one expert (3 x 4096 x 14336) over etp.
  const double dense = (4096.0 * (4096 + 2 * 1024) + 4096.0 * 4096 + 4096.0 * 8 + 2 * 4096.0) / 2;
  const double expert = 3.0 * 4096 * 14336;
  const double embedding = 32000.0 * 4096 / 2;
  const auto optimizer = [&](int etp) {
    const Scenario sc = load_scenario_text(
        "model: {preset: mixtral-8x7b}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\nplan: {tp: 2, pp: 4, dp: 8, "
        "ep: 8, etp: " +
            std::to_string(etp) + ", global_batch: 256, sequence_parallel: true, zero: 1}\n",
        "mixtral.yaml");
    return memory_per_stage(sc, work_of(sc)).front().optimizer;
  };
  // etp 2 (tp, the default): 16 ranks hold 8 experts x 2 shards once, expert DP 1: not sharded.
  EXPECT_NEAR(optimizer(2), 12 * (8 * dense / 8 + embedding / 8 + 8 * expert / 2), 1e3);
  EXPECT_NEAR(optimizer(2) / double(1 << 30), 8.2, 0.05);  // not the 1.31 GiB of sharding over dp 8
  // etp 1: each GPU holds a whole expert, and two GPUs of a stage hold each: expert DP 2.
  EXPECT_NEAR(optimizer(1), 12 * (8 * dense / 8 + embedding / 8 + 8 * expert / 2), 1e3);
  const Scenario sc = load_scenario_text(
      "model: {preset: mixtral-8x7b}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\nplan: {tp: 2, pp: 4, dp: 8, "
      "ep: 8, etp: 1, global_batch: 256, sequence_parallel: true, zero: 1}\n",
      "mixtral.yaml");
  EXPECT_EQ(sc.plan.expert_dp(), 2);
  EXPECT_NEAR(memory_per_stage(sc, work_of(sc)).front().params, 2 * (8 * dense + embedding + 8 * expert), 1e3);
}

TEST(Moe, MlaParametersPerGpuKeepDownProjectionsWhole) {
  Scenario sc = load_scenario_text(
      "model: {preset: deepseek-v3}\ncluster: {topology: gb200-nvl72-superpod, gpus: 256}\n"
      "plan: {tp: 2, pp: 8, dp: 16, ep: 32, etp: 1, global_batch: 256, sequence_parallel: true}\n",
      "mla.yaml");
  const ModelSpec& m = sc.model;
  const double down = 7168.0 * (1536 + 512 + 64);
  const Workload w = work_of(sc);
  EXPECT_DOUBLE_EQ(w.layer.expert_parameters, 8 * 3.0 * 7168 * 2048);
  EXPECT_NEAR(w.layer.parameters,
              (layer_parameters(m) - routed_expert_parameters(m) - down) / 2 + down + w.layer.expert_parameters, 1);
  EXPECT_NEAR(w.dense_layer.parameters, (dense_layer_parameters(m) - down) / 2 + down, 1);
}

TEST(Attention, SlidingWindowReducesAttentionFlops) {
  ModelSpec m = model_preset("llama3-8b");
  m.seq_len = 4096;
  const double full = model_flops_per_token(m);
  m.sliding_window = 1024;
  // Causal with a window w of s: w - w^2 / 2s keys per query (896) instead of s/2 (2048).
  EXPECT_DOUBLE_EQ(attended_keys(m, 4096), 896);
  EXPECT_NEAR(full - model_flops_per_token(m), 6.0 * 32 * 32 * 256 * (2048 - 896), 1);
  const auto flash = [](const Scenario& sc) {
    for (const auto& k : work_of(sc).layer.attention_forward.kernels)
      if (k.name == "flash attention") return k.flops;
    return 0.0;
  };
  const std::string text = "cluster: {topology: single-h100}\nplan: {}\nmodel: {preset: llama3-8b, seq_len: 4096";
  const double windowed = flash(load_scenario_text(text + ", sliding_window: 1024}\n", "w.yaml"));
  EXPECT_NEAR(windowed / flash(load_scenario_text(text + "}\n", "w.yaml")), 896.0 / 2048, 1e-12);
}

TEST(Moe, ShippedQwen3AndDeepSeekScenariosPredict) {
  for (const char* name : {"qwen3-235b-256xh100", "deepseek-v3-256xgb200"}) {
    const Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/" + name + ".yaml");
    const StepResult r = simulate_step(sc);
    EXPECT_GT(r.step_time, 1.0) << name;
    EXPECT_LT(r.step_time, 60.0) << name;
    EXPECT_TRUE(peak_memory(sc, work_of(sc)).fits()) << name;
  }
}

// DeepEP and HybridEP send a token once to each node holding any of its experts and forward it
// there over NVLink. Qwen3's 128 experts over EP 32 on 4 nodes of 8: a token's top-8 hits a given
// remote node with probability 1 - C(96,8)/C(128,8) = 0.907 where all-to-all sends it 8 x 32/128
// = 2 copies, so the expert-parallel traffic over InfiniBand, and its exposed time, about halves.
// Megatron-Core's --recompute-modules: a MoE layer reruns what the plan lists, no more (the
// experts' activation and the norms are element-wise work, the attention core a kernel of its own).
TEST(Moe, RecomputeModulesRerunWhatTheyName) {
  Scenario sc = load_scenario_text(R"(
model: {preset: qwen3-235b-a22b}
cluster: {topology: dgx-h100-superpod, gpus: 256}
plan: {tp: 2, pp: 8, ep: 16, micro_batch: 1, global_batch: 512, recompute: selective,
       recompute_modules: [moe_act, layernorm]}
)",
                                   "modules.yaml");
  const auto rerun = [&](const Scenario& s) {
    const Workload w = build_workload(s.model, s.plan, CostModel(s.cluster.topology.gpu, s.plan.precision));
    std::vector<std::string> names;
    for (const auto& k : w.layer.recompute.kernels) names.push_back(k.name);
    return names;
  };
  EXPECT_EQ(rerun(sc), (std::vector<std::string>{"input norm", "post-attention norm", "expert activation"}));
  sc.plan.recompute_modules = {"core_attn"};
  EXPECT_EQ(rerun(sc), (std::vector<std::string>{"flash attention"}));
  EXPECT_THROW(load_scenario_text("model: {preset: gpt2}\ncluster: {topology: single-h200}\n"
                                  "plan: {recompute: full, recompute_modules: [mlp]}\n",
                                  "bad.yaml"),
               InputError);
  EXPECT_THROW(load_scenario_text("model: {preset: gpt2}\ncluster: {topology: single-h200}\n"
                                  "plan: {recompute: selective, recompute_modules: [attention]}\n",
                                  "bad.yaml"),
               InputError);
}

// DeepSeek-V3's multi-token prediction (depth 1): per token, 6 x (the 2h -> h projection, one
// more MoE layer's active weights, the output head) model FLOPs and that layer's attention; the
// last stage computes it, so the step grows.
TEST(Moe, MultiTokenPredictionAddsALayerAndAHeadOnTheLastStage) {
  ModelSpec m = model_preset("deepseek-v3");
  const double without = model_flops_per_sequence(m, m.seq_len);
  m.mtp_layers = 1;
  const double h = m.hidden;
  const double attention = 6.0 * m.heads * (m.qk_head_dim() + m.v_dim()) * attended_keys(m, m.seq_len);
  EXPECT_NEAR((model_flops_per_sequence(m, m.seq_len) - without) / m.seq_len,
              6.0 * (2 * h * h + layer_active_parameters(m) + double(m.vocab) * h) + attention, 1e3);
  Scenario sc = load_scenario_text(R"(
model: {preset: deepseek-v3}
cluster: {topology: gb200-nvl72-superpod, gpus: 256}
plan: {tp: 1, pp: 8, ep: 32, micro_batch: 1, global_batch: 256, recompute: full}
)",
                                   "mtp.yaml");
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const double head = build_workload(sc.model, sc.plan, cost).extras.head_forward.time();
  sc.model.mtp_layers = 1;
  const Workload with_mtp = build_workload(sc.model, sc.plan, cost);
  EXPECT_GT(with_mtp.extras.head_forward.time(),
            head + with_mtp.layer.attention_forward.time() + with_mtp.layer.mlp_forward.time());
}

TEST(Moe, DeepEpSendsATokenOncePerNode) {
  Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/qwen3-235b-256xh100.yaml");
  ASSERT_EQ(sc.plan.moe_dispatcher, MoeDispatcher::deepep);
  sc.plan.global_batch = 16 * 8;  // 8 micro-batches per replica: enough to compare, fast to run
  const StepResult deepep = simulate_step(sc);
  sc.plan.moe_dispatcher = MoeDispatcher::alltoall;
  const StepResult alltoall = simulate_step(sc);
  const double ratio = deepep.breakdown.exposed_comm.at("ep") / alltoall.breakdown.exposed_comm.at("ep");
  EXPECT_GT(ratio, 0.35);
  EXPECT_LT(ratio, 0.65);
  EXPECT_LT(deepep.step_time, alltoall.step_time);
}

// With tensor and expert parallelism (experts whole, etp 1), sequence parallelism splits the
// micro-batch's tokens over the TP ranks before they are routed; without it every TP rank routes
// and computes all of them, twice the expert work and dispatch at tp 2, and the plan check says so (Megatron-Core
// refuses the combination).
TEST(Moe, ExpertsOfATensorParallelGroupShareItsTokensOnlyWithSequenceParallelism) {
  Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/mixtral-8x7b-64-h100.yaml");
  ASSERT_EQ(sc.plan.tp, 2);
  ASSERT_TRUE(sc.plan.sequence_parallel);
  sc.plan.etp = 1;  // each expert whole on one GPU (MoE parallel folding)
  const auto warns = [](const Scenario& s) {
    for (const auto& f : check_plan(s.model, s.cluster, s.plan)) {
      if (f.key == "plan.sequence_parallel" && f.severity == Finding::Severity::warning) return true;
    }
    return false;
  };
  const auto expert_flops = [](const Workload& w) {
    double f = 0;
    for (const auto& k : w.layer.mlp_forward.kernels) {
      if (k.name.rfind("expert ", 0) == 0) f += k.flops;
    }
    return f;
  };
  EXPECT_FALSE(warns(sc));
  const Workload with_sp = work_of(sc);
  sc.plan.sequence_parallel = false;
  EXPECT_TRUE(warns(sc));
  const Workload without_sp = work_of(sc);
  EXPECT_NEAR(expert_flops(without_sp) / expert_flops(with_sp), 2.0, 1e-9);
  EXPECT_NEAR(without_sp.comm.ep_bytes / with_sp.comm.ep_bytes, 2.0, 1e-9);
}

// Megatron-Core's all-to-all dispatcher copies each token top_k times into destination order and
// sums the returning copies back, weighted; DeepEP does both inside its kernels. Both sort the
// received tokens by local expert and back. A permutation's backward moves the same bytes.
TEST(Moe, TokenPermutationsFollowTheDispatcher) {
  Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/qwen3-235b-256xh100.yaml");
  const auto bytes_of = [](const Block& b, const std::string& name) {
    for (const auto& k : b.kernels) {
      if (k.name == name) return k.bytes;
    }
    return 0.0;
  };
  ASSERT_EQ(sc.plan.moe_dispatcher, MoeDispatcher::deepep);
  const Workload deepep = work_of(sc);
  sc.plan.moe_dispatcher = MoeDispatcher::alltoall;
  const Workload alltoall = work_of(sc);
  const double e = 2, h = sc.model.hidden, k = sc.model.top_k;
  const double sent = double(sc.model.seq_len) * sc.plan.micro_batch / sc.plan.tp;  // sequence-parallel share
  EXPECT_DOUBLE_EQ(bytes_of(alltoall.layer.mlp_forward, "token permute"), sent * h * e * (1 + k));
  EXPECT_DOUBLE_EQ(bytes_of(alltoall.layer.mlp_forward, "token unpermute"), sent * h * e * (1 + k));
  EXPECT_EQ(bytes_of(deepep.layer.mlp_forward, "token permute"), 0.0);
  EXPECT_DOUBLE_EQ(bytes_of(deepep.layer.mlp_forward, "expert sort"), 2 * sent * k * h * e);
  EXPECT_DOUBLE_EQ(bytes_of(deepep.layer.mlp_backward, "expert sort backward"), 2 * sent * k * h * e);
  EXPECT_GT(alltoall.layer.mlp_forward.time(), deepep.layer.mlp_forward.time());
}

// NVIDIA's DeepSeek-V3 on 256 GB200s (Megatron-LM docs/discussions/deepseek-v3-gb200-optimization,
// section 3; public row 670's plan): router fusion took the router's forward from 72 kernels to
// 31 and the step from 529.55 to 540.00 TFLOP/s per GPU, 15.458 -> 15.159 s at 2048 x 4096
// tokens. Each kernel a launch, the model saves the same 0.30 s within 20%, though it prices
// the whole step about twice as fast (the host-bound baseline: docs/accuracy.md). A flex
// dispatcher's fused preprocessing leaves 17 kernels for router and preprocessing.
TEST(Moe, RouterFusionSavesWhatNvidiaMeasured) {
  Scenario sc = load_scenario_text(R"(
model: {preset: deepseek-v3, seq_len: 4096}
cluster: {topology: gb200-nvl72-superpod, gpus: 256, gpu: gb200-186gb, gpus_per_node: 64}
plan: {pp: 8, dp: 32, ep: 32, etp: 1, micro_batch: 1, global_batch: 2048, schedule: interleaved,
       virtual_stages: 4, zero: 1, recompute: selective, recompute_modules: [mlp, mla_up_proj],
       precision: mxfp8, fp8_param_gather: true, optimizer_state: bf16, placement: [tp, cp, dp, pp],
       moe_router_fusion: false}
)",
                                   "deepseek-v3-gb200.yaml");
  ASSERT_EQ(sc.plan.router_kernels(), 72);
  const double unfused = simulate_step(sc).step_time;
  sc.plan.moe_router_fusion = true;
  ASSERT_EQ(sc.plan.router_kernels(), 31);
  const double fused = simulate_step(sc).step_time;
  const double measured = 2048.0 * 4096 * 2.4981e11 / 256 * (1 / 529.55e12 - 1 / 540.00e12);
  EXPECT_NEAR(unfused - fused, measured, 0.2 * measured);
  sc.plan.moe_dispatcher = MoeDispatcher::hybridep;
  EXPECT_EQ(sc.plan.router_kernels(), 17);
}

// Transformer Engine's GroupedLinear runs a rank's experts as one cuBLAS GEMM each on 4 streams:
// 16 experts of 512 tokens are 4 rounds of 4 GEMMs sharing the SMs, where one grouped kernel
// packs all their tiles into the waves together; and each GEMM is dispatched on its own
// (kExpertGemmDispatch).
TEST(Moe, ExpertGemmsRunFourAtATimeOnTransformerEnginesStreams) {
  Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/qwen3-235b-256xh100.yaml");
  sc.plan.tp = 4;
  sc.plan.ep = 8;  // 16 local experts
  sc.plan.dp = 256 / (sc.plan.tp * sc.plan.pp * sc.plan.cp);
  ASSERT_EQ(sc.plan.expert_gemm, ExpertGemm::streams);
  const Workload streams = work_of(sc);
  sc.plan.expert_gemm = ExpertGemm::grouped;
  const Workload grouped = work_of(sc);
  const auto time_of = [](const Block& b, const std::string& name) {
    return trainsim_test::kernel_named(b, name).time;
  };
  const CostModel cost(sc.cluster.topology.gpu, sc.plan.precision);
  const double m = 4096.0 / 4 * 8 / 16, n = 2.0 * 1536, h = 4096;  // tokens per expert, gate + up
  EXPECT_DOUBLE_EQ(time_of(grouped.layer.mlp_forward, "expert up (+gate)"), cost.gemm_time({m, n, h, 16}));
  EXPECT_DOUBLE_EQ(time_of(streams.layer.mlp_forward, "expert up (+gate)"),
                   std::max(4 * cost.gemm_time({m, n, h, 4}), 16 * kExpertGemmDispatch));
  EXPECT_GT(time_of(streams.layer.mlp_forward, "expert up (+gate)"),
            time_of(grouped.layer.mlp_forward, "expert up (+gate)"));
  EXPECT_GT(streams.layer.mlp_backward.time(), grouped.layer.mlp_backward.time());
  // One local expert: nothing to share.
  sc.plan.ep = 128;
  sc.plan.expert_gemm = ExpertGemm::streams;
  const Workload one = work_of(sc);
  sc.plan.expert_gemm = ExpertGemm::grouped;
  EXPECT_DOUBLE_EQ(time_of(one.layer.mlp_forward, "expert up (+gate)"),
                   time_of(work_of(sc).layer.mlp_forward, "expert up (+gate)"));
}

// NVIDIA/TransformerEngine PR #3134 (SM100, NVFP4, operands pre-swizzled): eight experts' GEMMs
// of 128 tokens x 2048 x 2048 take 0.267 ms through the multi-stream path. A B200 rank holding
// eight experts of a model 2048 wide whose expert FFN is 2048 wide runs its "expert down" GEMMs
// in that time. (The PR's one CUTLASS grouped kernel, 0.069 ms, is not reproduced: the tile model
// prices that launch at the 13 us launch interval; docs/accuracy.md, session 33.)
TEST(Moe, ShortExpertGemmsCostTheMultiStreamDispatchMeasured) {
  Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/qwen3-235b-256xh100.yaml");
  sc.cluster.topology.gpu = gpu_preset("b200-sxm-180gb");
  sc.model.hidden = 2048;
  sc.model.heads = 16;
  sc.model.kv_heads = 4;
  sc.model.experts = 64;
  sc.model.top_k = 1;
  sc.model.imbalance = 1;
  sc.model.expert_ffn_hidden = 2048;
  sc.model.seq_len = 1024;
  sc.plan = PlanSpec{};
  sc.plan.ep = 8;  // eight local experts, 1024 tokens routed once: 128 each
  sc.plan.dp = 8;
  sc.plan.micro_batch = 1;
  sc.plan.global_batch = 8;
  sc.plan.precision = Precision::nvfp4;
  const Workload w = work_of(sc);
  EXPECT_NEAR(trainsim_test::kernel_named(w.layer.mlp_forward, "expert down").time, 0.267e-3, 0.05 * 0.267e-3);
  // Their backward dispatches its input- and weight-gradient GEMMs the same way.
  EXPECT_NEAR(trainsim_test::kernel_named(w.layer.mlp_backward, "expert down dgrad").time, 0.267e-3, 0.05 * 0.267e-3);
  EXPECT_NEAR(trainsim_test::kernel_named(w.layer.mlp_backward, "expert down wgrad").time, 0.267e-3, 0.05 * 0.267e-3);
}

// Qwen3-30B-A3B on eight B200s, one 4096-token sequence per micro-batch and 16 experts a rank:
// its expert GEMMs are short enough that one dispatch each (kExpertGemmDispatch) sets their time,
// and most of a layer's compute is host-bound. The prediction says it is likely optimistic (in
// Megatron-Bridge's 25.11 table this plan ran 37% slower than predicted, docs/accuracy.md); a
// grouped GEMM leaves the host less to set (the router's and the norms' short kernels), a dense
// model's long GEMMs next to nothing.
TEST(Moe, LaunchBoundPlansSayTheyAreLikelyOptimistic) {
  Scenario sc = load_scenario_text(R"(
model: {preset: qwen3-30b-a3b, seq_len: 4096}
cluster: {topology: dgx-b200-superpod, gpus: 8, gpu: b200-sxm-180gb}
plan: {dp: 8, ep: 8, micro_batch: 1, global_batch: 8, precision: mxfp8}
)",
                                   "qwen3-30b.yaml");
  const auto optimistic = [](const Prediction& p) {
    return std::any_of(p.warnings.begin(), p.warnings.end(),
                       [](const Finding& w) { return w.message.find("likely optimistic") != std::string::npos; });
  };
  const Workload w = work_of(sc);
  EXPECT_TRUE(trainsim_test::kernel_named(w.layer.mlp_forward, "expert up (+gate)").host_bound);
  EXPECT_TRUE(trainsim_test::kernel_named(w.layer.mlp_backward, "expert down wgrad").host_bound);
  EXPECT_FALSE(trainsim_test::kernel_named(w.layer.mlp_forward, "expert up (+gate) quantize").host_bound);
  const Prediction streams = predict_estimate(sc);
  EXPECT_GT(streams.host_bound_share, kHostBoundWarning);
  EXPECT_LT(streams.host_bound_share, 1.0);
  EXPECT_TRUE(optimistic(streams));
  sc.plan.expert_gemm = ExpertGemm::grouped;
  EXPECT_FALSE(trainsim_test::kernel_named(work_of(sc).layer.mlp_forward, "expert up (+gate)").host_bound);
  const Prediction grouped = predict_estimate(sc);
  EXPECT_GT(grouped.host_bound_share, 0);
  EXPECT_LT(grouped.host_bound_share, 0.5 * streams.host_bound_share);
  const Prediction dense = predict_estimate(load_scenario_text(kLlamaOnH100, "llama.yaml"));
  EXPECT_LT(dense.host_bound_share, kHostBoundWarning);
  EXPECT_FALSE(optimistic(dense));
}

// google/gemma-2-9b's config.json (excerpt): 8,324,201,984 parameters besides the 917,504,000 of
// the embedding, which the output head shares (Gemma 2 report, Table 1 note); every other layer
// attends to a 4096-token window, so at 8192 a query sees (3072 + 4096) / 2 keys on average.
TEST(Moe, HuggingFaceConfigOfGemma2) {
  const ModelSpec m = load_hf_config(std::string(TRAINSIM_SOURCE_DIR) + "/tests/data/hf/gemma2.json");
  EXPECT_TRUE(m.tied_embeddings());
  EXPECT_EQ(m.head_dim(), 256);
  EXPECT_NEAR(total_parameters(m) / (8'324'201'984.0 + 917'504'000.0), 1.0, 0.001);
  EXPECT_DOUBLE_EQ(attended_keys(m, 8192), (4096 - 4096.0 * 4096 / (2 * 8192) + 8192 / 2.0) / 2);
}

TEST(Moe, HuggingFaceConfigsOfPresetModelsMatchThePresets) {
  // Excerpts of deepseek-ai/DeepSeek-V3 and Qwen/Qwen3-235B-A22B config.json; Llama 4 Maverick's
  // fields (text_config) as NeMo's Llama4Experts128Config sets them.
  // DeepSeek-V2-Lite's (no query compression: q_lora_rank null), gpt-oss-120b's (layer_types
  // alternating a window and the whole sequence) and a Nemotron-4 340B conversion's
  // (NemotronForCausalLM: GPT-shaped, rotary, no biases, no dropout, untied) too.
  for (const auto& [file, preset] : {std::pair{"deepseek_v3", "deepseek-v3"},
                                     {"qwen3_moe", "qwen3-235b-a22b"},
                                     {"llama4", "llama4-maverick"},
                                     {"deepseek_v2_lite", "deepseek-v2-lite"},
                                     {"gpt_oss", "gpt-oss-120b"},
                                     {"nemotron", "nemotron4-340b"}}) {
    const ModelSpec hf = load_hf_config(std::string(TRAINSIM_SOURCE_DIR) + "/tests/data/hf/" + file + ".json");
    const ModelSpec expected = model_preset(preset);
    EXPECT_DOUBLE_EQ(total_parameters(hf), total_parameters(expected)) << file;
    EXPECT_DOUBLE_EQ(active_parameters(hf), active_parameters(expected)) << file;
    EXPECT_DOUBLE_EQ(attended_keys(hf, 4096), attended_keys(expected, 4096)) << file;
    EXPECT_EQ(hf.learned_positions(), expected.learned_positions()) << file;
    EXPECT_EQ(hf.dropout(), expected.dropout()) << file;
  }
  // A llama4 config without its language model's fields is an input error naming the key.
  const auto path = std::filesystem::temp_directory_path() / "llama4-no-text.json";
  std::ofstream(path) << R"({"model_type": "llama4", "vision_config": {}})";
  try {
    load_hf_config(path.string());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "text_config");
  }
  // More experts per token than experts: an error, as in a YAML model's moe map (it was priced).
  const auto routed = std::filesystem::temp_directory_path() / "mixtral-top4-of-2.json";
  std::ofstream(routed) << R"({"model_type": "mixtral", "num_hidden_layers": 2, "hidden_size": 256,
    "num_attention_heads": 4, "intermediate_size": 512, "vocab_size": 1000, "max_position_embeddings": 512,
    "num_local_experts": 2, "num_experts_per_tok": 4})";
  try {
    load_hf_config(routed.string());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "num_experts_per_tok");
  }
}

// Expert groups of later replicas can straddle leaf switches the first replica's do not: 12
// nodes, 3 under each leaf, expert groups of 2 nodes (ep 16), so the second group (nodes 2 and
// 3) and the fifth (8 and 9) cross leaves while the first stays under one. With 16:1 uplinks the
// step waits for those, and their all-to-alls take several times as long as on a non-blocking
// tree; expert groups of one node each (ep 8) cross no leaf, and the uplinks do not matter.
TEST(Moe, ExpertGroupsThatStraddleLeavesWaitOnOversubscribedUplinks) {
  const auto expert_exchange = [](int ep, double oversubscription) {
    Scenario sc = load_scenario_text(
        "model: {preset: qwen3-30b-a3b, seq_len: 2048}\n"
        "cluster: {topology: dgx-a100-superpod, gpus: 96}\n"
        "plan: {dp: 96, ep: " +
            std::to_string(ep) + ", micro_batch: 1, global_batch: 96, recompute: full}\n",
        "straddle.yaml");
    sc.cluster.topology.nodes_per_leaf = 3;
    sc.cluster.topology.oversubscription = oversubscription;
    return simulate_step(sc).breakdown.exposed_comm.at("ep");
  };
  EXPECT_GT(expert_exchange(16, 16), 3 * expert_exchange(16, 1));
  EXPECT_NEAR(expert_exchange(8, 16), expert_exchange(8, 1), 0.01 * expert_exchange(8, 1));
}

// Context-parallel rings of later data-parallel replicas can straddle leaf switches too: rings of
// 16 GPUs (2 nodes) on 12 nodes, 3 under each leaf; the second replica's (nodes 2 and 3) crosses
// leaves. With 16:1 uplinks its ring outlasts the attention it runs beside; on a non-blocking
// tree it hides behind it.
TEST(Attention, ContextParallelRingsThatStraddleLeavesWaitOnOversubscribedUplinks) {
  const auto ring_exposed = [](double oversubscription) {
    Scenario sc = load_scenario_text(
        "model: {preset: llama3-8b, seq_len: 16384}\n"
        "cluster: {topology: dgx-a100-superpod, gpus: 96}\n"
        "plan: {tp: 1, cp: 16, dp: 6, micro_batch: 1, global_batch: 6, recompute: full}\n",
        "cp-straddle.yaml");
    sc.cluster.topology.nodes_per_leaf = 3;
    sc.cluster.topology.oversubscription = oversubscription;
    const auto exposed = simulate_step(sc).breakdown.exposed_comm;
    const auto cp = exposed.find("cp");
    return cp == exposed.end() ? 0.0 : cp->second;
  };
  EXPECT_EQ(ring_exposed(1), 0);
  EXPECT_GT(ring_exposed(16), 0.05);
}
