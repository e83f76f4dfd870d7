// bench/accuracy: predicts every row of ../shared/validation/public_runs.csv that has a measured
// (or derived) iteration time and prints the error per row, per source, overall, and whether the
// error trends with micro-batch size, per source and per GPU x precision group, and predicted vs
// measured peak memory where a row publishes it. Each row becomes the scenario a user would write
// from the row's own columns: its GPU, system, power limit, precision and recipe, and what its
// framework does, as plan fields (attention kernels, fused or eager element-wise kernels). Usage: bench_accuracy
// [public_runs.csv] [--from ROW] [--limit N] [--write DIR]
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>

#include "report/prediction.hpp"
#include "scenario/scenario.hpp"
#include "scenario/writer.hpp"
#include "workload/sequences.hpp"

using namespace trainsim;

namespace {

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  char c;
  while (in.get(c)) {
    if (quoted) {
      if (c == '"') {
        if (in.peek() == '"') {
          field += '"';
          in.get();
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
    } else if (c == '\n') {
      row.push_back(field);
      field.clear();
      rows.push_back(row);
      row.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(field);
    rows.push_back(row);
  }
  return rows;
}

int leading_int(const std::string& s, int fallback) {
  try {
    std::size_t used = 0;
    const int v = std::stoi(s, &used);
    return used > 0 ? v : fallback;
  } catch (...) {
    return fallback;
  }
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

struct RowResult {
  std::string id, source, model, group;
  int gpus = 0, micro_batch = 0;
  double measured = 0, predicted = 0;
  double measured_memory = 0, predicted_memory = 0;  // bytes; 0 where the row publishes none
  double host_bound_share = 0;                       // Prediction::host_bound_share
  double error() const { return (predicted - measured) / measured; }
};

bool has(const std::string& text, const char* word) { return text.find(word) != std::string::npos; }

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string uppercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// The same, in any case: a framework is "TorchTitan" or "torchtitan", "Composer" or "composer".
bool has_ci(const std::string& text, const char* word) {
  return lowercase(text).find(lowercase(word)) != std::string::npos;
}

// Whether the row ran under torch.compile: its framework or notes say so, not "compile=off".
bool compiled_row(const std::string& framework, const std::string& notes) {
  return (has_ci(framework, "compile") || has(notes, "compile")) && !has(notes, "compile=off");
}

// NVIDIA's NeMo in any case, not the Nemotron models a NeMo row may name.
bool names_nemo(const std::string& framework) {
  const std::string t = lowercase(framework);
  for (std::size_t at = t.find("nemo"); at != std::string::npos; at = t.find("nemo", at + 1)) {
    if (t.compare(at + 4, 4, "tron") != 0) return true;
  }
  return false;
}

// A number followed (after optional spaces) by a unit, e.g. "500W" in "default 500W power limit".
std::optional<double> number_before(const std::string& text, const std::string& unit) {
  for (std::size_t at = text.find(unit); at != std::string::npos; at = text.find(unit, at + 1)) {
    std::size_t end = at;
    while (end > 0 && text[end - 1] == ' ') --end;
    std::size_t begin = end;
    while (begin > 0 && (std::isdigit(static_cast<unsigned char>(text[begin - 1])) || text[begin - 1] == '.')) --begin;
    if (begin < end) return std::stod(text.substr(begin, end - begin));
  }
  return std::nullopt;
}

// The NIC rate per GPU a row's network column gives, where it gives one: a figure "per GPU", or
// one figure said neither per GPU nor as a count of links ("8x400 Gb/s", which the topology
// preset prices). `port` is the preset's NIC, its generation's one port per GPU (DGX A100: 200
// Gb/s HDR, DGX H100 and B200: 400 Gb/s ConnectX-7, B300: 800 Gb/s ConnectX-8; topologies/*.yaml).
// A figure above it was no GPU's own port but the node's NICs together: "800 Gbps" beside 96
// H100s (fms-fsdp's README), MosaicML's "1600 Gbps node-node" (eight 200 Gb/s NICs).
std::optional<double> nic_of_row(const std::string& inter, double port, int gpus_per_node) {
  if (const auto gbps = number_before(inter, "Gb/s per GPU")) return *gbps * 1e9 / 8;
  if (has(inter, "Gbps per GPU") || has(inter, "1 per GPU")) return std::nullopt;
  for (std::size_t i = 1; i + 1 < inter.size(); ++i) {
    if ((inter[i] == 'x' || inter[i] == 'X') && std::isdigit(static_cast<unsigned char>(inter[i - 1])) &&
        (std::isdigit(static_cast<unsigned char>(inter[i + 1])) || inter[i + 1] == ' '))
      return std::nullopt;
  }
  auto gbps = number_before(inter, "Gbps");
  if (!gbps) gbps = number_before(inter, "Gb/s");
  if (!gbps) return std::nullopt;
  const double stated = *gbps * 1e9 / 8;
  return stated > 1.01 * port ? stated / gpus_per_node : stated;
}

// The GPU preset a row's hardware description names, in any case ("H100 80GB", "h100_80gb").
std::string gpu_of_row(const std::string& text) {
  const std::string gpu = uppercase(text);
  if (has(gpu, "GB300")) return "gb300-288gb";
  if (has(gpu, "GB200")) return "gb200-186gb";
  if (has(gpu, "B300")) return "b300-sxm-288gb";
  if (has(gpu, "B200")) return "b200-sxm-180gb";
  if (has(gpu, "H200")) return "h200-sxm-141gb";
  if (has(gpu, "H800")) return "h800-sxm-80gb";
  if (has(gpu, "H100")) return has(gpu, "HBM2E") || has(gpu, "96GB") ? "h100-sxm-96gb" : "h100-sxm-80gb";
  // A800: the A100 with NVLink cut to 400 GB/s both ways, priced here as the A100 (the H800's
  // NVLink cut has a preset of its own).
  if (!has(gpu, "A100") && !has(gpu, "A800")) throw std::runtime_error("no GPU preset for '" + gpu + "'");
  return has(gpu, "40GB") ? "a100-40gb-sxm" : "a100-80gb-sxm";
}

// The topology preset of the row's system, by its GPU and network.
std::string topology_of_row(const std::string& gpu_preset, const std::string& inter) {
  if (gpu_preset.rfind("gb300", 0) == 0) return "gb300-nvl72-superpod";
  if (gpu_preset.rfind("gb200", 0) == 0) return "gb200-nvl72-superpod";
  if (gpu_preset.rfind("b", 0) == 0) return "dgx-b200-superpod";
  if (gpu_preset.rfind("h200", 0) == 0) return "dgx-h200-superpod";
  if (gpu_preset.rfind("h100", 0) == 0 || gpu_preset.rfind("h800", 0) == 0) return "dgx-h100-superpod";
  return has(inter, "RoCE") ? "roce-a100-cluster" : "dgx-a100-superpod";
}

// The attention kernels the row's framework ran, where its description says (a plan field a user
// sets, docs/scenario-format.md); otherwise the GPU's default family. torchtitan's SDPA lists
// FlashAttention first (FlashAttention-2 on Hopper) and cuDNN first only on sm100 since May 2025
// (torchtitan#1196, models/attention.py at 820504e, e7c0cae and 6fc499f: "Add CuDNN on B200 w/
// highest priority"; #1000 only let context parallelism fall back to cuDNN after FlashAttention
// and the memory-efficient kernel). Megatron-LM and NeMo (Transformer Engine) and MaxText
// (cudnn_flash_te) run cuDNN, where Transformer Engine has a fused kernel for the shape: before
// TE 2.5 (NVIDIA/TransformerEngine#1797, merged 2025-06-13) its cuDNN attention refused head dims
// above 128 on sm100 (common/fused_attn/fused_attn.cpp, v2.2-v2.4: "!(sm_arch_ >= 100 &&
// (head_dim_qk > 128 || head_dim_v > 128))"). TE then takes FlashAttention-2 (head dims up to 256
// on sm100, dot_product_attention/utils.py, v2.2), which runs no MLA (head_dim_qk != head_dim_v):
// the NeMo 25.04 container (April 2025) ran Nemotron-4's 192-wide heads on Blackwell in
// FlashAttention-2 and DeepSeek-V3's MLA in TE's UnfusedDotProductAttention.
Attention attention_of_row(const std::string& framework, bool blackwell, const ModelSpec& model) {
  if (has_ci(framework, "NeMo 25.04") && blackwell && std::max(model.qk_head_dim(), model.v_dim()) > 128) {
    return model.qk_head_dim() != model.v_dim() ? Attention::unfused : Attention::flash2;
  }
  // Megatron-LM of 2021 and NVIDIA's APEX BERT (2019-21) predate flash attention.
  if (has(framework, "Megatron-LM (") || has_ci(framework, "APEX")) return Attention::unfused;
  if (has_ci(framework, "llm-foundry")) return Attention::flash1;  // its A100 tables: Triton flash attention (2023)
  if (has_ci(framework, "flash v2") || has_ci(framework, "Fast-LLM")) return Attention::flash2;
  if (has_ci(framework, "TorchTitan") && !blackwell) return Attention::flash2;
  return Attention::flash;
}

Scenario scenario_of_row(const std::function<std::string(const char*)>& get) {
  const std::string model_text = get("model");
  const std::string framework = get("framework");
  const std::string notes = get("notes") + " " + get("source_locator");
  Scenario sc;
  sc.name = "row " + get("row_id");
  ModelSpec& m = sc.model;
  m.name = model_text;
  // Gated-MLP decoders (three MLP matrices, RMSNorm, no biases) by family name, in any case:
  // Llama and its descendants (Code Llama, Mistral, Mixtral, Qwen, DeepSeek, Yi, InternLM,
  // Baichuan, OLMo, Granite, Phi-3) and Gemma (GeGLU, the same matrices); the rest are GPT-style
  // (MPT, BLOOM, OPT, Falcon, GPT-NeoX, Nemotron-4's squared ReLU).
  const auto gated = [&] {
    for (const char* family : {"llama", "mistral", "mixtral", "qwen", "deepseek", "yi-", "yi ", "internlm", "baichuan",
                               "olmo", "granite", "phi-3", "gemma"}) {
      if (has_ci(model_text, family)) return true;
    }
    return false;
  };
  m.arch = has(model_text, "BERT") ? Arch::bert : gated() ? Arch::llama : Arch::gpt;
  // Nemotron-4 is GPT-shaped but has rotary positions, no biases and no dropout (Parmar et al.
  // 2024, arXiv:2402.16819, section 2; NeMo's Nemotron4 configs), as its presets say.
  if (has(model_text, "Nemotron-4")) {
    m.positions = Positions::rotary;
    m.biases_on = 0;
    m.dropout_on = 0;
    m.tie_embeddings = 0;
  }
  // MPT trains without dropout: llm-foundry's MptConfig sets attn_pdrop, resid_pdrop and emb_pdrop
  // to 0.0 and its pretraining yamls leave them (llmfoundry/models/mpt/configuration_mpt.py and
  // scripts/train/yamls/pretrain/mpt-*.yaml at b2a43a1, the commit of its A100 and H100 tables).
  if (has(model_text, "MPT")) m.dropout_on = 0;
  m.layers = leading_int(get("layers"), 0);
  m.hidden = leading_int(get("hidden"), 0);
  m.heads = leading_int(get("heads"), 1);
  m.kv_heads = leading_int(get("kv_heads"), m.heads);
  m.ffn_hidden = leading_int(get("ffn_hidden"), 4 * m.hidden);
  m.seq_len = leading_int(get("seq_len"), 2048);
  // A BERT row without a vocabulary: BERT-large uncased WordPiece (the bert-large preset).
  m.vocab = leading_int(get("vocab"), m.arch == Arch::bert ? model_preset("bert-large").vocab : 50257);
  // The 2025 MoE models are their presets (shared experts, expert FFN, dense layers, MLA, head
  // dim: more than the row's columns say), at the row's sequence length.
  const char* moe_preset = has(model_text, "Qwen3-235B")      ? "qwen3-235b-a22b"
                           : has(model_text, "Mixtral 8x22B") ? "mixtral-8x22b"
                           : has(model_text, "DeepSeek-V3")   ? "deepseek-v3"
                                                              : nullptr;
  if (moe_preset != nullptr) {
    m = model_preset(moe_preset);
    m.name = model_text;
    m.seq_len = leading_int(get("seq_len"), m.seq_len);
  } else if (has(model_text, "MoE")) {
    if (const auto experts = number_before(model_text, " expert")) m.experts = static_cast<int>(*experts);
    if (const auto at = model_text.find("top-"); at != std::string::npos) {
      m.top_k = leading_int(model_text.substr(at + 4), 0);
    }
  }

  const std::string gpu_type = get("gpu_type");
  const std::string gpu = gpu_of_row(gpu_type);
  sc.cluster.topology = load_topology(topology_of_row(gpu, get("inter_node_interconnect")));
  TopologySpec& t = sc.cluster.topology;
  const double limit = t.gpu.power_limit_watts;  // the system's own cap, where its topology sets one
  t.gpu = gpu_preset(gpu);
  t.gpu.power_limit_watts = limit;
  if (has_ci(gpu_type, "power limit")) {
    // The stated cap; a B200 row "power limited" without its value gets the one cap published for
    // benchmarking power-limited B200s, 750 W (Meta's benchmark scripts, facebookexperimental/triton
    // PR #2023; ../shared/KERNEL-FACTS.md 2e).
    if (const auto watts = number_before(uppercase(gpu_type), "W"))
      t.gpu.power_limit_watts = *watts;
    else if (gpu == "b200-sxm-180gb")
      t.gpu.power_limit_watts = 750;
  }
  if (t.gpus_per_node <= 8) t.gpus_per_node = std::max(1, leading_int(get("gpus_per_node"), 8));
  if (const auto nic = nic_of_row(get("inter_node_interconnect"), t.nic_bandwidth, t.gpus_per_node))
    t.nic_bandwidth = *nic;
  sc.cluster.gpus = leading_int(get("num_gpus"), 8);
  t.nodes = std::max(t.nodes, (sc.cluster.gpus + t.gpus_per_node - 1) / t.gpus_per_node);
  place_in_segments(sc.cluster);

  PlanSpec& p = sc.plan;
  p.tp = leading_int(get("tp"), 1);
  p.pp = leading_int(get("pp"), 1);
  p.cp = leading_int(get("cp"), 1);
  p.ep = leading_int(get("ep"), 1);
  p.dp = sc.cluster.gpus / (p.tp * p.pp * p.cp);
  // Megatron-Core MoE runs set the expert tensor-parallel size (ETP) apart from tp; the MoE Model
  // Zoo's configurations use 1 ("EDP = 1, ETP = 1"), which its notes state where given.
  if (m.moe() && (has_ci(framework, "Megatron") || names_nemo(framework))) p.etp = 1;
  // Megatron-LM lays ranks out tp, cp, (ep,) dp, then pp outermost (initialize_model_parallel;
  // Megatron-Core's order "tp-cp-ep-dp-pp"), so its data- and expert-parallel groups are the
  // nearest ranks after tensor parallelism.
  if (has_ci(framework, "Megatron") || names_nemo(framework)) {
    p.placement = {Axis::tp, Axis::cp, Axis::dp, Axis::pp};
  }
  p.micro_batch = leading_int(get("micro_batch"), 1);
  p.global_batch = leading_int(get("global_batch_seqs"), p.micro_batch * p.dp);
  p.virtual_stages = std::max(1, leading_int(get("vp_interleave"), 1));
  // A micro-batch that does not divide the batch (NVIDIA BERT's "126", a typo for 128 by the
  // row's notes): the batch over data parallelism and the stated accumulation steps.
  if (const int accum = leading_int(get("grad_accum"), 0); accum > 0 &&
                                                           p.global_batch % (std::int64_t(p.micro_batch) * p.dp) != 0 &&
                                                           p.global_batch % (std::int64_t(accum) * p.dp) == 0) {
    p.micro_batch = static_cast<int>(p.global_batch / (std::int64_t(accum) * p.dp));
  }
  // torchtitan's pipeline defaults where a row leaves them out: as many micro-batches as stages
  // (pipeline_parallel_microbatches unset), two stages a rank for its looped schedules.
  if (has_ci(framework, "TorchTitan") && p.pp > 1) {
    if (get("micro_batch") == "unknown") p.micro_batch = std::max<int>(1, p.global_batch / (p.dp * p.pp));
    if (get("vp_interleave") == "unknown" && has(notes, "Interleaved")) p.virtual_stages = 2;
  }
  p.schedule = p.virtual_stages > 1 ? Schedule::interleaved : Schedule::one_f_one_b;
  // A yes in the row's words: "yes (torchtitan TP plan)", "true", "on".
  const auto said_yes = [](const std::string& text) {
    const std::string t = lowercase(text);
    return starts_with(t, "yes") || starts_with(t, "true") || t == "on" || starts_with(t, "on ") || t == "y";
  };
  p.sequence_parallel = said_yes(get("sequence_parallel"));
  // Where the row leaves it unknown: NeMo's recipes turn sequence parallelism on with tensor
  // parallelism (their trainer()s default sequence_parallelism=True, e.g. recipes/llama31_405b.py),
  // and Megatron-Core refuses expert with tensor parallelism without it (TransformerConfig:
  // "When using expert parallelism and tensor parallelism, sequence parallelism must be used").
  if (get("sequence_parallel") == "unknown" && p.tp > 1 &&
      (names_nemo(framework) || (has_ci(framework, "Megatron") && m.moe() && p.ep > 1))) {
    p.sequence_parallel = true;
  }
  const std::string zero = get("zero_fsdp");
  const bool megatron = has_ci(framework, "Megatron") || names_nemo(framework);
  // The ZeRO stage, however the row spells it: FSDP / FULL_SHARD / HSDP / "ZeRO-3" / "ZeRO stage
  // 3" / "fully sharded" are stage 3, FSDP's NO_SHARD is data parallelism.
  const std::string z = lowercase(zero);
  const auto stage = [&](const char* n) {
    const std::string d(n);
    return has(z, ("zero-" + d).c_str()) || has(z, ("zero" + d).c_str()) || has(z, ("zero " + d).c_str()) ||
           has(z, ("stage " + d).c_str()) || has(z, ("zero_stage " + d).c_str());
  };
  const bool no_fsdp = has(z, "fsdp=0") || has(z, "no fsdp") || has(z, "no_shard");
  p.zero =
      (has(z, "fsdp") && !no_fsdp) || has(z, "full_shard") || has(z, "hsdp") || has(z, "fully sharded") || stage("3")
          ? 3
      : stage("2")                                                ? 2
      : stage("1") || has(z, "distributed optimizer") || megatron ? 1
                                                                  : 0;
  if (no_fsdp) p.zero = megatron ? 1 : 0;
  // "none": the row says no ZeRO stage at all. Megatron-LM of 2021 had no distributed optimizer
  // (it came in 2022); its default `--DDP-impl local` (megatron/arguments.py at de7dc40f, the
  // sc21 scripts' commit) all-reduces the gradient buffer once forward_backward_func has
  // returned (megatron/training.py, train_step: "All-reduce if needed"), in the parameters'
  // dtype unless --accumulate-allreduce-grads-in-fp32 (not in examples/sc21/CONFIG.sh): not
  // beside the backward. `--DDP-impl torch` (PyTorch DDP) overlaps it.
  if (starts_with(z, "none")) {
    p.zero = 0;
    if (has(framework, "Megatron-LM (") && !has(z, "ddp-impl torch")) p.overlap_grad_reduce = false;
  }
  // PyTorch FSDP's SHARD_GRAD_OP shards gradients, optimizer state and, between steps, the
  // parameters; it gathers a unit's weights before its forward and keeps them through the
  // backward (torch.distributed.fsdp.ShardingStrategy docs): ZeRO-3 that never reshards after
  // forward.
  if (has(zero, "SHARD_GRAD_OP")) {
    p.zero = 3;
    p.reshard_after_forward = Reshard::never;
  }
  // FSDP1's HYBRID_SHARD (HSDP) shards within a node and replicates across nodes.
  if ((has(zero, "HSDP") || has(zero, "HYBRID_SHARD")) && p.dp % sc.cluster.topology.gpus_per_node == 0)
    p.dp_shard = sc.cluster.topology.gpus_per_node;
  // DeepSpeed's ZeRO-3 of 2021 (before v0.6, January 2022): one all-gather per parameter from
  // per-module hooks, each after a device synchronize (no prefetch in effect), through
  // torch.distributed's list collectives (DeepSpeed PRs #1188, #1453; issue #1069).
  if (p.zero == 3 && has(zero, "DeepSpeed") && (has(get("source"), "2021") || has(get("source"), "SC'21"))) {
    p.zero3_unit = Zero3Unit::parameter;
    p.zero3_list_collectives = true;
    p.overlap_param_gather = false;
  }
  const std::string recompute = get("activation_recompute");
  const bool megatron_row = has_ci(framework, "Megatron") || names_nemo(framework);
  // torchtitan's "selective" is its per-op policy (selective_ac_option "op", the toml default).
  // "yes" / "true" without a kind is the whole layer, as "full (activation checkpointing)".
  const std::string rc = lowercase(recompute);
  p.recompute = starts_with(rc, "full") || said_yes(recompute)                    ? Recompute::full
                : has(rc, "save_qkv_proj")                                        ? Recompute::qkv
                : starts_with(rc, "selective") && has_ci(framework, "TorchTitan") ? Recompute::op
                : starts_with(rc, "selective")                                    ? Recompute::selective
                                                                                  : Recompute::none;
  // Block-level checkpointing of a share of the layers (fms-fsdp's selective_checkpointing p):
  // full recomputation of that share, the rest keeping their activations. Where the row leaves
  // p out but publishes hardware and model FLOP utilisation, p follows from the two: a
  // recomputed layer reruns its forward, a third of its training FLOPs, so HFU / MFU = 1 + p / 3.
  if (has(rc, "block-level")) {
    p.recompute = Recompute::full;
    const auto utilisation = [&](const char* column) {
      const std::string v = get(column);
      return !v.empty() && std::isdigit(static_cast<unsigned char>(v[0])) ? std::stod(v) : 0.0;
    };
    const double hfu = utilisation("hfu_pct"), mfu = utilisation("mfu_pct");
    if (hfu > 0 && mfu > 0) p.recompute_fraction = std::clamp(3 * (hfu / mfu - 1), 0.0, 1.0);
  }
  // Megatron-Core's --recompute-modules where the row lists them ("selective (moe_act +
  // layernorm)", "recompute_modules=mla_up_proj"); else its default, the attention core.
  if (p.recompute == Recompute::selective && megatron_row) {
    std::vector<std::string> modules;
    const auto listed = [&](const char* word) {
      for (std::size_t at = rc.find(word); at != std::string::npos; at = rc.find(word, at + 1)) {
        const std::size_t end = at + std::strlen(word);
        if (end == rc.size() || !(std::isalnum(static_cast<unsigned char>(rc[end])) || rc[end] == '_')) return true;
      }
      return false;
    };
    for (const char* module : {"core_attn", "layernorm", "moe_act", "moe", "mlp", "shared_experts", "mla_up_proj"}) {
      if (listed(module)) modules.emplace_back(module);
    }
    if (listed("up_proj") && !listed("mla_up_proj")) modules.emplace_back("mla_up_proj");  // "MLA up_proj"
    if (!modules.empty()) p.recompute_modules = modules;
  }
  const std::string precision = get("precision");
  // In any spelling: "TF32", "MXFP8", "NVFP4", "fp8" / "float8" / "e4m3", "bf16" / "bfloat16",
  // then any other 16-bit ("FP16 AMP", "float16", "mixed precision (16-bit)").
  const std::string pr = lowercase(precision);
  p.precision = has(pr, "tf32")                                          ? Precision::tf32
                : has(pr, "mxfp8") || has(pr, "mx fp8")                  ? Precision::mxfp8
                : has(pr, "nvfp4")                                       ? Precision::nvfp4
                : has(pr, "fp8") || has(pr, "float8") || has(pr, "e4m3") ? Precision::fp8
                : has(pr, "bf16") || has(pr, "bfloat16")                 ? Precision::bf16
                : has(pr, "16")                                          ? Precision::fp16
                                                                         : Precision::bf16;
  // Transformer Engine under these frameworks (FP8 and MXFP8 linears alike).
  const bool transformer_engine = megatron || has_ci(framework, "llm-foundry") || has_ci(framework, "Composer") ||
                                  has_ci(framework, "Transformer Engine") || has_ci(precision, "Transformer Engine");
  if (p.precision == Precision::fp8) {
    // MaxText's `quantization: fp8` is Flax's nn.Fp8DotGeneralOp (MaxText layers/quantizations.py,
    // Fp8Quantization.dot_general_cls), which scales by amax histories of 1024 steps
    // (input_, kernel_ and output_grad_amax_history): delayed scaling.
    const bool flax_fp8 = has_ci(framework, "MaxText");
    // Transformer Engine scales by amax histories unless told otherwise: fp8_autocast's recipe
    // defaults to DelayedScaling, as do Megatron-LM's --fp8-recipe and Composer's amp_fp8 (which
    // calls fp8_autocast with TE's default recipe). A row that names no recipe gets it there.
    const bool recipe_named = has_ci(precision, "tensorwise") || has_ci(precision, "current");
    const bool delayed = has_ci(precision, "delayed") || flax_fp8 || (transformer_engine && !recipe_named);
    p.fp8_recipe = has_ci(precision, "rowwise")  ? Fp8Recipe::rowwise
                   : has_ci(precision, "blockw") ? Fp8Recipe::blockwise
                   : delayed                     ? Fp8Recipe::delayed
                                                 : Fp8Recipe::tensorwise;
  }
  p.fp8_param_gather =
      low_precision(p.precision) && (has_ci(precision, "all-gather") || has(notes, "float8 all-gather") ||
                                     has(zero, "float8 all-gather") || has(notes, "fp8 primary weights"));
  // Adam's moments in bf16 where the row says so (Megatron-Core's precision-aware optimizer,
  // --exp-avg-dtype/--exp-avg-sq-dtype bf16).
  if (has_ci(notes, "BF16 optimizer states")) p.optimizer_moment_bytes = 2;
  // Transformer Engine under Megatron-Core casts the weights on a step's first micro-batch and
  // reuses the copies (is_first_microbatch); torchao casts them in every forward.
  if (low_precision(p.precision)) p.fp8_weight_cache = megatron;
  // What the linear layers keep for backward: Transformer Engine's FP8 copy, torchao's 16-bit input.
  if (low_precision(p.precision)) p.fp8_saved_inputs = transformer_engine;
  const bool blackwell = sc.cluster.topology.gpu.mx_formats;  // sm100's block-scaled tensor cores
  p.attention = attention_of_row(framework, blackwell, m);
  // torchtitan's per-op policy kept the FlashAttention and memory-efficient SDPA outputs only until
  // December 2025 (pytorch/torchtitan#2095, later than every row): the cuDNN attention it runs on
  // Blackwell reran in backward.
  p.op_reruns_attention = has_ci(framework, "TorchTitan") && p.recompute == Recompute::op && blackwell;
  // torchtitan's async TP (the row's "AsyncTP", "async TP = yes" or its async-TP column).
  const std::string lower = lowercase(notes);
  p.tp_comm_overlap = (has(lower, "asynctp") || has(lower, "async tp")) && !has(lower, "async tp = no") &&
                      !has(lower, "async tp=no") && !has(lower, "vanilla tp");
  p.tp_overlap = TpOverlap::async;
  // NeMo 25.04's performance scripts for Llama 3.1 405B and Nemotron-4 take the recipes'
  // performance callbacks, MegatronCommOverlapCallback(tp_comm_overlap=True), with a userbuffers
  // configuration for the GPU, unless MXFP8 (scripts/performance/llm/pretrain_llama31_405b.py,
  // pretrain_nemotron4_15b.py and pretrain_nemotron4_340b.py; recipes/llama31_405b.py,
  // nemotron4_15b.py, nemotron4_340b.py at 457a949c). Its DeepSeek-V3 script turns it off.
  const bool nemo_2504_overlap = has_ci(framework, "NeMo 25.04") && (has_ci(framework, "pretrain_llama31_405b") ||
                                                                     has_ci(framework, "pretrain_nemotron4_"));
  if (nemo_2504_overlap && p.tp > 1 && p.precision != Precision::mxfp8) {
    p.tp_comm_overlap = true;
    p.tp_overlap = TpOverlap::userbuffers;
  }
  // Megatron-Core's token dispatcher, where the row names it (--moe-token-dispatcher-type flex
  // with the DeepEP or HybridEP backend); otherwise its alltoall default.
  if (has(notes, "HybridEP"))
    p.moe_dispatcher = MoeDispatcher::hybridep;
  else if (has(notes, "DeepEP"))
    p.moe_dispatcher = MoeDispatcher::deepep;
  // Megatron-Core's router fusion (--moe-router-fusion, from Megatron-Core 0.14): not in the
  // NeMo 25.04 container's Megatron-Core (0.12); NVIDIA's DeepSeek-V3 GB200 account turns it on
  // after its baseline (section 3's table, step "Router fusion").
  if (has_ci(framework, "NeMo 25.04") || has(notes, "row \"Baseline\"")) p.moe_router_fusion = false;
  // Megatron-Core's partial CUDA graphs (--cuda-graph-impl transformer_engine), where the row
  // names them: the scopes it lists, else those of NVIDIA's MoE accounts (attention, router and
  // dispatcher preprocessing; Megatron-LM docs/discussions/deepseek-v3-gb200-optimization, 2.3).
  if (has_ci(notes, "partial CUDA graphs")) {
    p.cuda_graphs = {"attn", "moe_router", "moe_preprocess"};
    if (const auto open = notes.find("partial CUDA graphs ("); open != std::string::npos) {
      // The scopes listed, comma-separated, up to the closing parenthesis.
      const auto first = open + std::string("partial CUDA graphs (").size();
      std::istringstream listed(notes.substr(first, notes.find(')', first) - first));
      p.cuda_graphs.clear();
      for (std::string scope; std::getline(listed >> std::ws, scope, ',');) p.cuda_graphs.push_back(scope);
    }
  } else if (has(notes, "CUDA graphs on") && !m.moe()) {
    // NeMo's enable_cuda_graph: Megatron-Core captures each transformer layer whole.
    p.cuda_graphs = {"attn", "mlp"};
  }
  // Element-wise work runs in fused kernels (Megatron-LM, NVIDIA BERT, torch.compile, XLA) or one
  // PyTorch operation per kernel (llm-foundry's MPT blocks, torchtitan without torch.compile).
  const bool compiled = compiled_row(framework, notes);
  if (has_ci(framework, "llm-foundry") || (has_ci(framework, "TorchTitan") && !compiled)) p.kernels = Kernels::eager;
  // torchtitan compiles its loss with the model since build_loss_fn (pytorch/torchtitan#1033,
  // April 2025): the rows on torch 2.8 and later (or its nightly of 2025-06) ran it fused.
  // Before that, and without torch.compile, its train loop ran F.cross_entropy on an fp32 copy of
  // the logits (train.py's loss_fn: `pred.flatten(0, 1).float()`, e.g. at 9dec370).
  if (has_ci(framework, "TorchTitan") && compiled &&
      (has(framework, "torch 2.8") || has(framework, "torch 2.9") || has(framework, "nightly 2025-06"))) {
    p.loss = Loss::fused;
  } else if (has_ci(framework, "TorchTitan")) {
    // With tensor parallelism it runs that loss through torch.distributed's loss_parallel
    // (enable_loss_parallel unless disable_loss_parallel), which writes the log-softmax as
    // element-wise operations over the vocabulary-sharded logits.
    p.loss = p.tp > 1 ? Loss::decomposed : Loss::cast;
  }
  // llm-foundry's MPT computes its loss with flash-attn's fused cross-entropy kernel (xentropy_cuda_lib,
  // in the `gpu` extras) unless told otherwise: ComposerMPTCausalLM's loss_fn defaults to
  // 'fused_crossentropy' (llmfoundry/models/mpt/modeling_mpt.py at b2a43a1).
  if (has_ci(framework, "llm-foundry")) p.loss = Loss::fused;
  // Composer FSDP's DEFAULT mixed precision (S17) and torchtitan's FSDP2 (mixed_precision_reduce
  // float32 by default) reduce gradients in fp32.
  if (has_ci(precision, "DEFAULT") || has_ci(framework, "TorchTitan")) p.gradient_reduce_bytes = 4;
  // PyTorch FSDP (torchtitan's FSDP2, fms-fsdp's and Composer's FSDP1) keeps fp32 shards as the
  // master weights; DeepSpeed's ZeRO-3 a 16-bit partition beside them.
  p.sharded_master_weights = p.zero >= 3 && (has_ci(framework, "TorchTitan") || has_ci(framework, "FSDP") ||
                                             has(zero, "FSDP") || has(zero, "FULL_SHARD") || has(zero, "HSDP"));
  // torchtitan's root module held the embedding and the LM head, and PyTorch before 2.8 kept a
  // root's parameters gathered after forward (pytorch/pytorch#154704, June 2025): the rows on
  // 2024 and early-2025 PyTorch.
  p.zero3_keeps_embeddings = p.zero >= 3 && has_ci(framework, "TorchTitan") &&
                             (has(framework, "2024") || has(framework, "torch 2.7") || has(framework, "NGC 25.05"));
  // Multi-token prediction, where a row leaves it out but publishes both its step time and its
  // framework's FLOP rate: the depth (none or one module) whose model FLOPs per sequence match
  // TFLOP/s x GPUs x step time / sequences. NVIDIA's DeepSeek-V3 recipes (NeMo 25.04, S31) publish
  // 2.600e11 FLOPs a token, one module's worth over the 2.498e11 without (NeMo 2.3's DeepSeek-V3
  // pretrain_recipe defaults to use_mtp=True, nemo/collections/llm/recipes/deepseek_v3.py); rows
  // whose step time was derived from a FLOP rate with no module counted (S30) find none.
  if (m.mla) {
    const double tflops = std::atof(get("tflops_per_gpu").c_str());
    const double seconds = std::atof(get("iteration_time_s").c_str());
    if (tflops > 0 && seconds > 0 && p.global_batch > 0) {
      const double published = tflops * 1e12 * sc.cluster.gpus * seconds / double(p.global_batch);
      ModelSpec with_mtp = m;
      with_mtp.mtp_layers = 1;
      const double without = mean_model_flops_per_sequence(m, sc.data);
      const double with = mean_model_flops_per_sequence(with_mtp, sc.data);
      if (std::abs(published - with) < std::abs(published - without)) m.mtp_layers = 1;
    }
  }
  // NeMo 25.04's DeepSeek-V3 performance script (scripts/performance/llm/pretrain_deepseek_v3.py
  // at v2.3.1) gives the middle pipeline stages 64/pp layers, the first one fewer (it holds the
  // embedding) and the last two fewer (the multi-token prediction module and the LM head).
  if (has_ci(framework, "NeMo 25.04") && m.mla && p.pp > 1 && 64 % p.pp == 0 && p.virtual_stages == 1) {
    std::vector<int> layout(static_cast<std::size_t>(p.pp), 64 / p.pp);
    layout.front() -= 1;
    layout.back() -= 2;
    if (std::accumulate(layout.begin(), layout.end(), 0) == m.layers) p.layers_per_stage = layout;
  }
  // NVIDIA's BERT (S16) loads Wikipedia with LDDL and bins phase 2 (seq 512) by length, 64
  // tokens a bin; phase 1 (seq 128) is padded to 128 (the README's changelog, January 2022:
  // "Binned pretraining for phase2 with LDDL using a bin size of 64"; its launch script:
  // BIN_SIZE "none" for phase 1, 64 for phase 2). Phase 2's sequences are Wikipedia's at
  // length 512, half of whose tokens would be padding (the wikipedia-bert-512 preset).
  // Its DDP has one bucket (bucket_cap_mb set to the GPU's memory in bytes, run_pretraining.py
  // of DeepLearningExamples a9e2c1d5, the commit of this table): the gradient all-reduce starts
  // when the last micro-batch's backward is done, not beside it.
  if (has_ci(framework, "APEX") && m.arch == Arch::bert) {
    p.overlap_grad_reduce = false;
    if (m.seq_len == 512) {
      sc.data.lengths = "wikipedia-bert-512";
      sc.data.length_counts = load_length_histogram(sc.data.lengths);
      sc.data.batching = Batching::binned;
      sc.data.bin_size = 64;
    }
  }
  return sc;
}

// "peak memory 82.4 GiB", "memory 47.96 GiB", "peak memory 33.71 GB": bytes, or 0.
// TorchTitan logs its peak as "memory: N GiB", the allocator's max reserved bytes over 2^30
// (torchtitan components/metrics.py, max_reserved_gib); torchao's float8 and MX tables carry
// that number through parse_torchtitan_logs.py, which reads and prints it as GiB, under a
// column headed "GB". A TorchTitan run's figure is therefore GiB whatever its label says.
double published_memory(const std::string& text, const std::string& framework) {
  if (!has(text, "memory")) return 0;
  const std::string after = text.substr(text.find("memory"));
  const double gib = 1024.0 * 1024 * 1024;
  if (const auto v = number_before(after, "GiB")) return *v * gib;
  if (const auto v = number_before(after, "GB")) return *v * (has_ci(framework, "TorchTitan") ? gib : 1e9);
  return 0;
}

// What a scenario that names only the model, cluster, parallel plan, batch, recomputation and
// precision gets: every field that states what the row's framework runs (kernels, loss, ZeRO-3
// and FP8 details, overlap, MoE dispatcher and expert GEMMs, recompute modules) at its default
// (docs/accuracy.md, session 25: "What a scenario leaves out").
void leave_framework_to_defaults(PlanSpec& p) {
  const PlanSpec d;
  p.attention = d.attention;
  p.kernels = d.kernels;
  p.loss = d.loss;
  p.gradient_reduce_bytes = d.gradient_reduce_bytes;
  p.sharded_master_weights = d.sharded_master_weights;
  p.optimizer_moment_bytes = d.optimizer_moment_bytes;
  p.master_weights = d.master_weights;
  p.zero3_keeps_embeddings = d.zero3_keeps_embeddings;
  p.zero3_unit = d.zero3_unit;
  p.zero3_list_collectives = d.zero3_list_collectives;
  p.overlap_param_gather = d.overlap_param_gather;
  p.overlap_grad_reduce = d.overlap_grad_reduce;
  p.fp8_weight_cache = d.fp8_weight_cache;
  p.fp8_saved_inputs = d.fp8_saved_inputs;
  p.fp8_param_gather = d.fp8_param_gather;
  p.tp_comm_overlap = d.tp_comm_overlap;
  p.tp_overlap = d.tp_overlap;
  p.moe_dispatcher = d.moe_dispatcher;
  p.moe_router_fusion = d.moe_router_fusion;
  p.expert_gemm = d.expert_gemm;
  p.recompute_modules = d.recompute_modules;
  p.op_reruns_attention = d.op_reruns_attention;
  p.cuda_graphs = d.cuda_graphs;
}

// The framework a user would name for the row (plan.framework), where one of the named ones ran
// it: what `--framework-named` predicts with, every other framework field at its default.
std::optional<Framework> framework_of_row(const std::string& framework, const PlanSpec& p) {
  if (has(framework, "Megatron-LM (")) return p.zero >= 3 ? Framework::deepspeed_2021 : Framework::megatron_2021;
  if (names_nemo(framework)) return Framework::nemo;
  if (has_ci(framework, "Megatron")) return Framework::megatron;
  if (has_ci(framework, "TorchTitan")) return Framework::torchtitan_2025;
  if (has_ci(framework, "llm-foundry")) return Framework::llm_foundry_2023;
  return std::nullopt;
}

}  // namespace

constexpr const char* kUsage =
    "usage: bench_accuracy [public_runs.csv] [--from ROW_ID] [--limit N] [--write DIR] [--framework-defaults]\n"
    "                      [--framework-named]\n"
    "  predicts every published run of the CSV (default ../shared/validation/public_runs.csv)\n"
    "  and prints per-row, per-source and per GPU x precision errors; --framework-defaults\n"
    "  leaves every field that states the row's framework at its default, as a user who\n"
    "  names only model, cluster, parallel plan, batch, recomputation and precision gets;\n"
    "  --framework-named keeps what a user sets for the run itself (tensor-parallel overlap,\n"
    "  MoE dispatcher, recompute modules, CUDA graphs, torch.compile) and names the row's framework\n"
    "  (plan.framework) where it is one trainsim knows\n";

int main(int argc, char** argv) {
  std::string path = std::string(TRAINSIM_SOURCE_DIR) + "/../shared/validation/public_runs.csv";
  int limit = 1 << 30, from = 0;
  std::string write_dir;  // --write DIR: each row's scenario as DIR/row-N.yaml, to rerun with trainsim
  bool framework_defaults = false;
  bool framework_named = false;  // --framework-defaults, then plan.framework as a user would name it
  const auto usage_error = [](const std::string& what) {
    std::cerr << "bench_accuracy: " << what << "\n" << kUsage;
    return 2;
  };
  const auto count = [](const std::string& flag, const char* text) -> std::optional<int> {
    try {
      std::size_t used = 0;
      const int n = std::stoi(text, &used);
      if (used == std::strlen(text) && n >= 0) return n;
    } catch (const std::exception&) {
    }
    std::cerr << "bench_accuracy: " << flag << " " << text << ": expected a whole number >= 0\n";
    return std::nullopt;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    }
    const bool valued = arg == "--limit" || arg == "--from" || arg == "--write";
    if (valued && i + 1 >= argc) return usage_error(arg + ": expected a value after it");
    if (arg == "--limit" || arg == "--from") {
      const auto n = count(arg, argv[++i]);
      if (!n) return 2;
      (arg == "--limit" ? limit : from) = *n;
    } else if (arg == "--write") {
      write_dir = argv[++i];
    } else if (arg == "--framework-defaults") {
      framework_defaults = true;
    } else if (arg == "--framework-named") {
      framework_named = true;
    } else if (arg.rfind("--", 0) == 0) {
      return usage_error("unknown option " + arg);
    } else {
      path = arg;
    }
  }
  std::vector<std::vector<std::string>> rows;
  try {
    rows = read_csv(path);
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }
  std::map<std::string, std::size_t> col;
  if (!rows.empty()) {
    for (std::size_t i = 0; i < rows.front().size(); ++i) col[rows.front()[i]] = i;
  }
  for (const char* needed : {"row_id", "iteration_time_basis", "iteration_time_s"}) {
    if (!col.contains(needed)) return usage_error(path + ": no column " + needed + " in its header line");
  }

  std::vector<RowResult> results;
  int skipped = 0;
  for (std::size_t i = 1; i < rows.size() && int(results.size()) < limit; ++i) {
    const auto& r = rows[i];
    if (r.size() != rows.front().size() || leading_int(r.at(col.at("row_id")), 0) < from) continue;
    const auto get = [&](const char* name) { return r.at(col.at(name)); };
    if (get("iteration_time_basis") == "n/a" || get("iteration_time_s") == "unknown") {
      ++skipped;
      continue;
    }
    const std::string name = "row " + get("row_id");
    Scenario sc;
    try {
      sc = scenario_of_row(get);
      const PlanSpec stated = sc.plan;
      if (framework_defaults || framework_named) leave_framework_to_defaults(sc.plan);
      if (framework_named) {
        // What a user sets for the run itself whatever software runs it: the tensor-parallel
        // overlap, the MoE dispatcher, the recomputed modules, CUDA graphs and torch.compile
        // (fused kernels).
        auto& p = sc.plan;
        p.tp_comm_overlap = stated.tp_comm_overlap;
        p.tp_overlap = stated.tp_overlap;
        p.moe_dispatcher = stated.moe_dispatcher;
        p.recompute_modules = stated.recompute_modules;
        p.cuda_graphs = stated.cuda_graphs;
        const bool compiled = compiled_row(get("framework"), get("notes"));
        if (compiled) p.kernels = stated.kernels;
        if (const auto f = framework_of_row(get("framework"), p)) {
          p.framework = f;
          apply_framework(p, *f, sc.cluster.topology.gpu,
                          [&](std::string_view key) { return compiled && key == "kernels"; });
        }
      }
    } catch (const std::exception& e) {
      std::cerr << name << ": skipped, " << e.what() << "\n";
      ++skipped;
      continue;
    }
    bool bad = false;
    for (const auto& f : check_plan(sc.model, sc.cluster, sc.plan)) {
      if (f.severity == Finding::Severity::error) {
        std::cerr << sc.name << ": skipped, " << f.key << ": " << f.message << "\n";
        bad = true;
        break;
      }
    }
    if (bad) {
      ++skipped;
      continue;
    }
    if (!write_dir.empty()) {
      std::ofstream(write_dir + "/row-" + get("row_id") + ".yaml") << scenario_to_yaml(sc);
    }
    RowResult row;
    row.id = get("row_id");
    row.source = get("source_id");
    row.model = sc.model.name;
    row.group = public_error_group(sc.cluster.topology.gpu.name, sc.plan.precision);
    row.gpus = sc.cluster.gpus;
    row.micro_batch = sc.plan.micro_batch;
    row.measured = std::stod(get("iteration_time_s"));
    row.measured_memory = published_memory(get("other_measured"), get("framework"));
    try {
      const Prediction prediction = predict(sc);
      row.predicted = prediction.step.step_time;
      row.predicted_memory = prediction.memory.peak;
      row.host_bound_share = prediction.host_bound_share;
    } catch (const std::exception& e) {
      std::cerr << sc.name << ": " << e.what() << "\n";
      ++skipped;
      continue;
    }
    std::printf("%-5s %-4s %-22.22s %5d gpus mb %2d  measured %8.3f s  predicted %8.3f s  error %+6.1f%%",
                row.id.c_str(), row.source.c_str(), row.model.c_str(), row.gpus, row.micro_batch, row.measured,
                row.predicted, 100 * row.error());
    if (row.measured_memory > 0) {
      std::printf("  memory %.1f GiB vs %.1f GiB measured", row.predicted_memory / (1 << 30),
                  row.measured_memory / (1 << 30));
    }
    std::printf("\n");
    std::fflush(stdout);
    results.push_back(row);
  }

  auto mape = [](const std::vector<RowResult>& rs) {
    double sum = 0;
    for (const auto& r : rs) sum += std::fabs(r.error());
    return rs.empty() ? 0.0 : 100 * sum / rs.size();
  };
  std::map<std::string, std::vector<RowResult>> by_source;
  for (const auto& r : results) by_source[r.source].push_back(r);
  std::printf("\nrows predicted %zu, skipped %d\n", results.size(), skipped);
  std::printf("MAPE overall %.1f%%\n", mape(results));
  for (const auto& [source, rs] : by_source) {
    double bias = 0;
    for (const auto& r : rs) bias += r.error();
    std::printf("  %-4s %3zu rows  MAPE %5.1f%%  mean signed error %+5.1f%%\n", source.c_str(), rs.size(), mape(rs),
                100 * bias / rs.size());
  }
  std::map<std::string, std::vector<RowResult>> by_group;
  for (const auto& r : results) by_group[r.group].push_back(r);
  std::printf("by GPU and precision:\n");
  for (const auto& [group, rs] : by_group) {
    double bias = 0;
    for (const auto& r : rs) bias += r.error();
    std::printf("  %-14s %3zu rows  MAPE %5.1f%%  mean signed error %+5.1f%%\n", group.c_str(), rs.size(), mape(rs),
                100 * bias / rs.size());
  }
  std::vector<double> memory_errors;
  for (const auto& r : results) {
    if (r.measured_memory > 0) memory_errors.push_back((r.predicted_memory - r.measured_memory) / r.measured_memory);
  }
  if (!memory_errors.empty()) {
    double abs_sum = 0, sum = 0;
    for (const double e : memory_errors) {
      abs_sum += std::fabs(e);
      sum += e;
    }
    std::printf("peak memory: %zu rows, MAPE %.1f%%, mean signed error %+.1f%%\n", memory_errors.size(),
                100 * abs_sum / memory_errors.size(), 100 * sum / memory_errors.size());
  }
  if (!results.empty()) {
    const auto worst = *std::max_element(results.begin(), results.end(), [](const auto& a, const auto& b) {
      return std::fabs(a.error()) < std::fabs(b.error());
    });
    std::printf("worst row %s (%s, %s, %d GPUs): %+.1f%%\n", worst.id.c_str(), worst.source.c_str(),
                worst.model.c_str(), worst.gpus, 100 * worst.error());
    // Rows whose predictions warn that they are likely optimistic (kHostBoundWarning) against the rest.
    std::vector<RowResult> launch_bound, rest;
    for (const auto& r : results) (r.host_bound_share >= kHostBoundWarning ? launch_bound : rest).push_back(r);
    std::printf("launch-bound share:");
    for (const auto& [label, rs] : {std::pair{"below", &rest}, std::pair{"at or above", &launch_bound}}) {
      double bias = 0;
      for (const auto& r : *rs) bias += r.error();
      std::printf("  %s %.0f%%: %zu rows, MAPE %.1f%%, mean signed error %+.1f%%", label, 100 * kHostBoundWarning,
                  rs->size(), mape(*rs), rs->empty() ? 0.0 : 100 * bias / rs->size());
    }
    std::printf("\n");
    // Trend: signed error by micro-batch size.
    std::map<int, std::vector<RowResult>> by_micro_batch;
    for (const auto& r : results) by_micro_batch[r.micro_batch].push_back(r);
    std::printf("signed error by micro-batch:");
    for (const auto& [mb, rs] : by_micro_batch) {
      double bias = 0;
      for (const auto& r : rs) bias += r.error();
      std::printf("  mb %d: %+.1f%% (%zu)", mb, 100 * bias / rs.size(), rs.size());
    }
    std::printf("\n");
  }
  return 0;
}
