#include "scenario/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "scenario/parse.hpp"
#include "scenario/units.hpp"
#include "workload/memory.hpp"

namespace trainsim {

// ---- GPUs and models -------------------------------------------------------------------------

namespace {
// A power cap is a positive number of watts; 0 would read as "no cap" and hide a typo.
std::optional<double> power_limit(MapReader& r, const std::string& key) {
  const auto v = r.watts(key);
  if (v && *v <= 0) r.fail(key, "expected a power above 0 W, such as 500W, found " + units::format_number(*v) + " W");
  return v;
}

// A bandwidth a GPU or a network cannot do without: 0 would stall every transfer over it.
std::optional<double> link_bandwidth(MapReader& r, const std::string& key) {
  const auto v = r.bandwidth(key);
  if (v && *v <= 0) r.fail(key, "expected a bandwidth above 0, such as 400Gb/s or 450GB/s");
  return v;
}

// The clock-vs-power relation (GpuSpec::tensor_clock_factor) is linear in the cap, and its one
// measurement reaches down to 0.36 of board power (a GB300 at 500 of 1400 W): below about a
// third it is extrapolated; a cap at or above board power, or on a GPU that gives none, changes
// nothing. A cap at or below what the GPU draws idle is an error (`fail`, at the key that set
// it). `key` names where the cap was set.
std::vector<Finding> power_cap_warnings(const TopologySpec& t, const std::string& key,
                                        const std::function<void(const std::string&)>& fail) {
  std::vector<Finding> warnings;
  const auto watts = [](double w) { return units::format_number(w) + " W"; };
  // Every GPU with its own cap: a node group may cap a kind the topology's `gpu` names uncapped.
  std::vector<const GpuSpec*> gpus{&t.gpu};
  for (const auto& group : t.node_groups) gpus.push_back(&group.gpu);
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    const GpuSpec* g = gpus[i];
    const auto same = [&](const GpuSpec* other) {
      return other->name == g->name && other->power_limit_watts == g->power_limit_watts;
    };
    if (g->power_limit_watts <= 0 || std::any_of(gpus.begin(), gpus.begin() + i, same)) continue;
    const std::string cap = "a cap of " + watts(g->power_limit_watts);
    const double idle = GpuSpec::kIdlePowerShare * g->power_watts;
    if (g->power_watts > 0 && g->power_limit_watts <= idle) {
      fail("expected a power cap above what " + g->name + " draws idle (" + watts(idle) + ", " +
           units::format_percent(GpuSpec::kIdlePowerShare, 0) + " of its " + watts(g->power_watts) +
           " board power), found " + cap);
    }
    std::string problem;
    if (g->power_watts <= 0) {
      problem = cap + " changes nothing: " + g->name + " gives no board power (power) to scale from";
    } else if (g->power_limit_watts >= g->power_watts) {
      problem = cap + " is not below " + g->name + "'s board power (" + watts(g->power_watts) + "): it changes nothing";
    } else if (g->power_limit_watts < g->power_watts / 3) {
      problem = cap + " is below a third of " + g->name + "'s board power (" + watts(g->power_watts) +
                "): its tensor rate is extrapolated past the measured range (down to 0.36)";
    }
    if (!problem.empty()) warnings.push_back({Finding::Severity::warning, key, problem});
  }
  return warnings;
}

// A GPU described from its datasheet alone runs at its microbenchmark clock all step, where the
// presets of Hopper and later GPUs keep 0.85 of it under minutes of load (sim/presets/gpus.yaml).
std::vector<Finding> sustained_clock_warnings(const TopologySpec& t, const std::string& key) {
  std::vector<Finding> warnings;
  for (const GpuSpec* g : t.gpu_kinds()) {
    if (!g->sustained_unstated) continue;
    warnings.push_back({Finding::Severity::warning, key,
                        g->name + " gives no kernels.sustained: its tensor cores are priced at their short-run "
                                  "clock through the whole step (1.0, as the A100 presets), where the H100, H200 "
                                  "and Blackwell presets keep 0.85 of it under minutes of load at the power limit "
                                  "(their GEMMs 18% longer); give kernels.sustained (1.0 keeps it), or start from "
                                  "a preset (preset: NAME)"});
  }
  return warnings;
}

const std::vector<std::pair<const char*, Attention>> kAttentionFamilies = {{"flash1", Attention::flash1},
                                                                           {"flash2", Attention::flash2},
                                                                           {"flash3", Attention::flash3},
                                                                           {"flash4", Attention::flash4},
                                                                           {"cudnn", Attention::cudnn}};

// A GPU's kernel data (hardware.hpp KernelData): fractions of its datasheet numbers.
void read_kernel_data(MapReader& r, KernelData& k) {
  if (auto gemm = r.map("gemm")) {
    if (auto v = gemm->number("bf16", 0.01, 1)) k.gemm_bf16 = *v;
    if (auto v = gemm->number("fp8", 0.01, 1)) k.gemm_fp8 = *v;
    if (auto v = gemm->number("fp8_rowwise", 0.01, 1)) k.gemm_fp8_rowwise = *v;
    if (auto v = gemm->number("fp8_blockwise", 0.01, 1)) k.gemm_fp8_blockwise = *v;
    if (auto v = gemm->number("fp4", 0.01, 1)) k.gemm_fp4 = *v;
    gemm->finish();
  }
  if (auto v = r.number("memory", 0.01, 1)) k.memory = *v;
  if (auto v = r.number("quantize", 0.01, 1)) k.quantize = *v;
  if (auto v = r.boolean("fp8_needs_transpose")) k.fp8_needs_transpose = *v;
  if (auto v = r.number("sustained", 0.1, 1)) k.sustained = *v;
  if (auto v = r.number("sustained_fp8", 0.1, 1)) k.sustained_fp8 = *v;
  if (auto unfused = r.map("unfused")) {
    if (auto v = unfused->number("scale", 0.5, 3)) k.unfused.scale = *v;
    if (auto v = unfused->number("per_head_dim", 0, 20)) k.unfused.per_head_dim = *v;
    if (auto v = unfused->number("min_seq", 1, 1e6)) k.unfused.min_seq = *v;
    unfused->finish();
  }
  if (auto attention = r.map("attention")) {
    k.attention.clear();
    for (const auto& [name, family] : kAttentionFamilies) {
      auto entry = attention->map(name);
      if (!entry) continue;
      AttentionEfficiency a;
      if (auto v = entry->number("causal", 0.01, 1)) a.causal = *v;
      if (auto v = entry->number("noncausal", 0.01, 1)) a.noncausal = *v;
      if (auto v = entry->number("s_half_causal", 0, 1e6)) a.s_half_causal = *v;
      if (auto v = entry->number("s_half_noncausal", 0, 1e6)) a.s_half_noncausal = *v;
      if (auto v = entry->number("d_half", 0, 1e4)) a.d_half = *v;
      if (auto v = entry->number("hd64_ratio", 0.2, 5)) a.hd64_ratio = *v;
      if (a.causal <= 0 || a.noncausal <= 0) entry->fail("causal", "an attention family needs causal and noncausal");
      entry->finish();
      k.attention[family] = a;
    }
    attention->finish();
  }
  std::vector<std::string> names;
  for (const auto& [name, family] : kAttentionFamilies) names.emplace_back(name);
  if (auto v = r.choice("default_attention", names)) {
    for (const auto& [name, family] : kAttentionFamilies) {
      if (*v == name) k.default_attention = family;
    }
    if (!k.attention.count(k.default_attention)) {
      r.fail("default_attention", "the default attention family needs an entry under attention");
    }
  } else if (!k.attention.empty() && !k.attention.count(k.default_attention)) {
    r.fail("default_attention", "name the default attention family (one of those under attention)");
  }
}

}  // namespace

// NVLink SHARP runs on the NVLink ports: a GPU whose NVLink is given another bandwidth, and its
// NVLS not, reduces at the preset's NVLS bus bandwidth in proportion (H100: 480 GB/s over 450).
void scale_nvls_with_nvlink(GpuSpec& gpu, double nvlink_before) {
  if (nvlink_before > 0 && gpu.nvls_bandwidth > 0 && !gpu.nvls_stated)
    gpu.nvls_bandwidth *= gpu.nvlink_bandwidth / nvlink_before;
}

void read_gpu_fields(MapReader& r, GpuSpec& gpu) {
  if (auto v = r.string("source")) gpu.source = *v;
  if (auto v = r.bytes("memory")) gpu.memory_bytes = *v;
  if (auto v = link_bandwidth(r, "memory_bandwidth")) gpu.memory_bandwidth = *v;
  if (auto peak = r.map("peak")) {
    if (auto v = peak->rate("fp32")) gpu.peak_fp32 = *v;
    if (auto v = peak->rate("tf32")) gpu.peak_tf32 = *v;
    if (auto v = peak->rate("bf16")) gpu.peak_bf16 = *v;
    if (auto v = peak->rate("fp16")) gpu.peak_fp16 = *v;
    if (auto v = peak->rate("fp8")) gpu.peak_fp8 = *v;
    if (auto v = peak->rate("fp4")) gpu.peak_fp4 = *v;
    peak->finish();
  }
  if (auto v = r.boolean("mx_formats")) gpu.mx_formats = *v;
  const double nvlink_before = gpu.nvlink_bandwidth;
  if (auto v = link_bandwidth(r, "nvlink_bandwidth")) gpu.nvlink_bandwidth = *v;
  if (auto v = r.bandwidth("nvls_bandwidth")) {
    gpu.nvls_bandwidth = *v;
  } else {
    scale_nvls_with_nvlink(gpu, nvlink_before);
  }
  if (auto v = r.bandwidth("host_link_bandwidth")) gpu.host_link_bandwidth = *v;
  if (auto v = r.integer("sm_count", 1, 100000)) gpu.sm_count = static_cast<int>(*v);
  if (auto v = r.number("power", 0, 100000)) gpu.power_watts = *v;
  if (auto v = power_limit(r, "power_limit")) gpu.power_limit_watts = *v;
  if (auto v = r.duration("kernel_overhead")) gpu.kernel_overhead_s = *v;
  if (auto v = r.duration("kernel_interval")) gpu.kernel_interval_s = *v;
  if (auto kernels = r.map("kernels")) {
    read_kernel_data(*kernels, gpu.kernels);
    kernels->finish();
  }
  const char* missing = gpu.peak_bf16 <= 0          ? "peak"
                        : gpu.memory_bytes <= 0     ? "memory"
                        : gpu.memory_bandwidth <= 0 ? "memory_bandwidth"
                                                    : nullptr;
  if (missing) r.fail(missing, "a GPU needs at least peak.bf16, memory and memory_bandwidth, each above 0");
}

void read_model_fields(MapReader& r, ModelSpec& m) {
  if (auto v = r.choice("arch", {"gpt", "llama", "bert"})) {
    m.arch = *v == "gpt" ? Arch::gpt : *v == "llama" ? Arch::llama : Arch::bert;
  }
  if (auto v = r.integer("layers", 1, 4096)) m.layers = static_cast<int>(*v);
  if (auto v = r.dimension("hidden", 1, 1 << 20)) m.hidden = static_cast<int>(*v);
  if (auto v = r.integer("heads", 1, 65536)) m.heads = static_cast<int>(*v);
  if (auto v = r.integer("kv_heads", 1, 65536)) m.kv_heads = static_cast<int>(*v);
  if (auto v = r.dimension("ffn_hidden", 1, 1 << 22)) m.ffn_hidden = static_cast<int>(*v);
  if (auto v = r.dimension("vocab", 1, 16'000'000)) m.vocab = static_cast<int>(*v);
  if (auto v = r.dimension("seq_len", 1, 16'000'000)) m.seq_len = static_cast<int>(*v);
  if (auto v = r.string("source")) m.source = *v;
  if (auto v = r.dimension("head_dim", 1, 65536)) m.head_size = static_cast<int>(*v);
  if (auto v = r.dimension("sliding_window", 0, 16'000'000)) m.sliding_window = static_cast<int>(*v);  // 0: none
  if (auto v = r.integer("mtp_layers", 0, 16)) m.mtp_layers = static_cast<int>(*v);
  if (auto v = r.integer("sliding_window_pattern", 1, 1024)) m.sliding_window_pattern = static_cast<int>(*v);
  if (auto v = r.boolean("tied_embeddings")) m.tie_embeddings = *v ? 1 : 0;
  if (auto v = r.boolean("dropout")) m.dropout_on = *v ? 1 : 0;
  if (auto v = r.boolean("biases")) m.biases_on = *v ? 1 : 0;
  if (auto v = r.choice("positions", {"learned", "rotary", "alibi"})) {
    m.positions = *v == "rotary" ? Positions::rotary : *v == "alibi" ? Positions::alibi : Positions::learned;
  }
  if (auto v = r.boolean("parallel_blocks")) m.parallel_blocks = *v;
  if (auto v = r.choice("mlm_predictions", {"all", "masked"})) {
    if (m.arch != Arch::bert) r.fail("mlm_predictions", "mlm_predictions goes with arch: bert");
    m.mlm_masked_only = *v == "masked";  // default: masked
  }
  // Multi-head latent attention (DeepSeek-V2/V3); mha covers grouped-query attention (kv_heads).
  if (auto v = r.choice("attention", {"mha", "mla"})) m.mla = *v == "mla";
  for (const auto& [key, field] : {std::pair{"q_lora_rank", &m.q_lora_rank},
                                   {"kv_lora_rank", &m.kv_lora_rank},
                                   {"qk_rope_head_dim", &m.qk_rope_head_dim},
                                   {"qk_nope_head_dim", &m.qk_nope_head_dim},
                                   {"v_head_dim", &m.v_head_dim}}) {
    if (auto v = r.integer(key, 1, 1 << 20)) {
      if (!m.mla) r.fail(key, std::string(key) + " goes with attention: mla");
      *field = static_cast<int>(*v);
    }
  }
  if (m.mla) {
    for (const auto& [key, value] : {std::pair{"kv_lora_rank", m.kv_lora_rank},
                                     {"qk_rope_head_dim", m.qk_rope_head_dim},
                                     {"qk_nope_head_dim", m.qk_nope_head_dim},
                                     {"v_head_dim", m.v_head_dim}}) {
      if (value <= 0) r.fail("attention", std::string("attention: mla needs ") + key);
    }
  }
  if (auto moe = r.map("moe")) {
    // Fields on top of a preset's: `moe: {imbalance: 1.3}` changes only the imbalance.
    if (auto v = moe->integer("experts", 1, 65536)) m.experts = static_cast<int>(*v);
    if (auto v = moe->integer("top_k", 1, 65536)) m.top_k = static_cast<int>(*v);
    if (auto v = moe->integer("shared_experts", 0, 65536)) m.shared_experts = static_cast<int>(*v);
    if (auto v = moe->integer("expert_ffn_hidden", 1, 1 << 22)) m.expert_ffn_hidden = static_cast<int>(*v);
    if (auto v = moe->integer("dense_layers", 0, 4096)) m.dense_layers = static_cast<int>(*v);
    if (auto v = moe->integer("layer_frequency", 1, 4096)) m.moe_layer_frequency = static_cast<int>(*v);
    const auto imbalance = moe->number("imbalance", 1, 1000);
    const auto capacity = moe->number("capacity_factor", 1, 1000);
    if (imbalance && capacity) moe->fail("capacity_factor", "give imbalance or capacity_factor, not both");
    if (imbalance || capacity) m.imbalance = imbalance ? *imbalance : *capacity;
    if (m.experts == 0 || m.top_k == 0) moe->fail("experts", "moe needs both experts and top_k");
    if (m.top_k > m.experts) moe->fail("top_k", "top_k must not exceed experts");
    if (m.layers > 0 && m.dense_layers >= m.layers) {
      moe->fail("dense_layers", "dense_layers (" + std::to_string(m.dense_layers) + ") must be fewer than layers (" +
                                    std::to_string(m.layers) + ")");
    }
    moe->finish();
  }
}

std::optional<std::pair<std::string, std::string>> model_shape_problem(const ModelSpec& m) {
  if (m.heads > 0 && m.hidden % m.heads != 0 && m.head_size == 0 && !m.mla) {
    return std::pair{"heads", "hidden (" + std::to_string(m.hidden) + ") must be divisible by heads (" +
                                  std::to_string(m.heads) + "), or give head_dim"};
  }
  if (m.kv_heads > 0 && m.heads % m.kv_heads != 0) {
    return std::pair{"kv_heads", "heads (" + std::to_string(m.heads) + ") must be divisible by kv_heads (" +
                                     std::to_string(m.kv_heads) + ")"};
  }
  return std::nullopt;
}

void complete_model(ModelSpec& m, const MapReader& r) {
  for (const auto& [key, value] : {std::pair{"layers", m.layers},
                                   {"hidden", m.hidden},
                                   {"heads", m.heads},
                                   {"vocab", m.vocab},
                                   {"seq_len", m.seq_len}}) {
    if (value <= 0) r.fail(key, std::string("the model needs '") + key + "' (give a preset or the field)");
  }
  if (m.kv_heads == 0) m.kv_heads = m.heads;
  if (m.ffn_hidden == 0) {
    // SwiGLU keeps the MLP's parameters at 8h^2 with a 2/3 width, rounded up to 256 (Llama).
    m.ffn_hidden = m.swiglu() ? (8 * m.hidden / 3 + 255) / 256 * 256 : 4 * m.hidden;
  }
  if (const auto problem = model_shape_problem(m)) r.fail(problem->first, problem->second);
  if (m.moe() && m.moe_layers() == 0) {
    r.fail("moe", "no layer has experts: the " + std::to_string(m.layers) + " layers, past dense_layers " +
                      std::to_string(m.dense_layers) + ", hold none that layer_frequency " +
                      std::to_string(m.moe_layer_frequency) + " gives them");
  }
}

// ---- Hugging Face config.json ----------------------------------------------------------------

namespace {

int line_of_offset(const std::string& text, std::size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + std::min(offset, text.size()), '\n'));
}

}  // namespace

ModelSpec load_hf_config(const std::string& path) {
  return parse_hf_config(read_input_file(path, "the Hugging Face config.json"), path);
}

ModelSpec parse_hf_config(const std::string& text, const std::string& path) {
  if (text.size() > (4u << 20)) throw InputError({path, 0, 0}, "", "a config.json is limited to 4 MiB");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError({path, line_of_offset(text, e.byte), 0}, "", std::string("JSON syntax error: ") + e.what());
  } catch (const nlohmann::json::exception& e) {  // a number too large, say (found by fuzz_hf_config)
    throw InputError({path, 0, 0}, "", std::string("JSON error: ") + e.what());
  }
  if (!config.is_object()) throw InputError({path, 1, 0}, "", "expected a JSON object");
  if (config.contains("model_type") && !config["model_type"].is_string()) {
    throw InputError({path, 0, 0}, "model_type",
                     "expected a text such as \"llama\", found " + config["model_type"].dump());
  }
  std::string type = config.value("model_type", "");
  // Llama 4's multimodal config holds the language model's fields in text_config.
  if (type == "llama4") {
    if (!config.contains("text_config") || !config["text_config"].is_object())
      throw InputError({path, 0, 0}, "text_config", "a llama4 config needs its text_config object");
    nlohmann::json text = config["text_config"];
    config = std::move(text);
    type = "llama4_text";
  }
  auto integer = [&](std::initializer_list<const char*> names, bool required) -> int {
    for (const char* name : names) {
      if (config.contains(name) && !config[name].is_null()) {  // null: unset (GPT-J's n_inner)
        const auto& v = config[name];
        if (!v.is_number_integer() || v.get<std::int64_t>() <= 0 || v.get<std::int64_t>() > (1 << 24)) {
          throw InputError({path, 0, 0}, name, "expected a positive integer, found " + v.dump());
        }
        return v.get<int>();
      }
    }
    if (required) throw InputError({path, 0, 0}, *names.begin(), "missing from the config (model_type " + type + ")");
    return 0;
  };
  ModelSpec m;
  m.name = std::filesystem::path(path).parent_path().filename().string();
  if (m.name.empty()) m.name = type;
  m.source = "Hugging Face config.json: " + path;
  // The shape fields transformers' LlamaConfig, NemotronConfig and BertConfig name alike.
  const auto read_shape = [&] {
    m.layers = integer({"num_hidden_layers"}, true);
    m.hidden = integer({"hidden_size"}, true);
    m.heads = integer({"num_attention_heads"}, true);
    m.ffn_hidden = integer({"intermediate_size"}, true);
    m.vocab = integer({"vocab_size"}, true);
    m.seq_len = integer({"max_position_embeddings"}, true);
  };
  // A true/false field, `fallback` where the config leaves it out.
  const auto flag = [&](const char* name, bool fallback) {
    if (!config.contains(name)) return fallback;
    if (!config[name].is_boolean())
      throw InputError({path, 0, 0}, name, "expected true or false, found " + config[name].dump());
    return config[name].get<bool>();
  };
  // The shape as GPT2Config and GPTJConfig name it (n_inner null or absent: 4h).
  const auto read_gpt2_shape = [&] {
    m.layers = integer({"n_layer"}, true);
    m.hidden = integer({"n_embd"}, true);
    m.heads = integer({"n_head"}, true);
    m.ffn_hidden = integer({"n_inner"}, false);
    m.vocab = integer({"vocab_size"}, true);
    m.seq_len = integer({"n_positions", "n_ctx"}, true);
  };
  if (type == "gpt2") {
    m.arch = Arch::gpt;
    read_gpt2_shape();
  } else if (type == "llama" || type == "mistral" || type == "mixtral" || type == "qwen2" || type == "qwen3" ||
             type == "qwen3_moe" || type == "deepseek_v2" || type == "deepseek_v3" || type == "gemma2" ||
             type == "llama4_text" || type == "gpt_oss") {
    // Llama-shaped (SwiGLU, RMSNorm, RoPE, untied head), the large Qwen and DeepSeek models too.
    m.arch = Arch::llama;
    read_shape();
    m.kv_heads = integer({"num_key_value_heads"}, false);
    if (type == "llama4_text") {
      // Dense layers intermediate_size_mlp wide; MoE layers (every interleave_moe_layer_step-th)
      // of intermediate_size-wide routed experts and one shared expert as wide (Llama4TextMoe).
      m.expert_ffn_hidden = m.ffn_hidden;
      m.ffn_hidden = integer({"intermediate_size_mlp"}, true);
      m.experts = integer({"num_local_experts"}, true);
      m.top_k = integer({"num_experts_per_tok"}, true);
      m.shared_experts = 1;
      m.moe_layer_frequency = std::max(1, integer({"interleave_moe_layer_step"}, false));
      m.head_size = integer({"head_dim"}, false);
    }
    if (type == "mixtral") {
      m.experts = integer({"num_local_experts"}, true);
      m.top_k = integer({"num_experts_per_tok"}, true);
    }
    if (type == "qwen3" || type == "qwen3_moe" || type == "gemma2" || type == "gpt_oss")
      m.head_size = integer({"head_dim"}, false);
    // An output head that shares the input embedding (Gemma's default, small Qwen2 models).
    if (flag("tie_word_embeddings", type == "gemma2")) m.tie_embeddings = 1;
    if (type == "mistral" || type == "gemma2") {
      // Mistral's window on every layer (null: none); Gemma 2's on every other layer (its modelling
      // code alternates local and global layers).
      if (config.contains("sliding_window") && config["sliding_window"].is_number_integer())
        m.sliding_window = integer({"sliding_window"}, false);
      if (type == "gemma2" && m.sliding_window > 0) m.sliding_window_pattern = 2;
    }
    // A count that may be 0 or null (first_k_dense_replace, n_shared_experts, q_lora_rank).
    const auto count = [&](const char* name) {
      return config.contains(name) && config[name].is_number_integer() && config[name].get<std::int64_t>() > 0
                 ? integer({name}, false)
                 : 0;
    };
    if (type == "qwen3_moe") {
      m.experts = integer({"num_experts"}, true);
      m.top_k = integer({"num_experts_per_tok"}, true);
      m.expert_ffn_hidden = integer({"moe_intermediate_size"}, true);
    }
    if (type == "gpt_oss") {
      // Every layer a mixture of intermediate_size-wide experts; layer_types says which layers
      // attend within the sliding window (gpt-oss: every other one, from the first).
      m.expert_ffn_hidden = m.ffn_hidden;
      m.experts = integer({"num_local_experts"}, true);
      m.top_k = integer({"num_experts_per_tok"}, true);
      if (config.contains("sliding_window") && config["sliding_window"].is_number_integer())
        m.sliding_window = integer({"sliding_window"}, false);
      if (m.sliding_window > 0 && config.contains("layer_types") && config["layer_types"].is_array()) {
        const auto& kinds = config["layer_types"];
        const auto full =
            std::count_if(kinds.begin(), kinds.end(), [](const auto& k) { return k == "full_attention"; });
        if (full == static_cast<std::ptrdiff_t>(kinds.size())) m.sliding_window = 0;
        // The layers' mean is priced (docs/scenario-format.md): one in P attends to everything.
        if (full > 0 && full < static_cast<std::ptrdiff_t>(kinds.size()))
          m.sliding_window_pattern = static_cast<int>(std::lround(double(kinds.size()) / double(full)));
      }
    }
    if (type == "deepseek_v2" || type == "deepseek_v3") {
      m.mla = true;
      m.q_lora_rank = count("q_lora_rank");
      m.kv_lora_rank = integer({"kv_lora_rank"}, true);
      m.qk_rope_head_dim = integer({"qk_rope_head_dim"}, true);
      m.qk_nope_head_dim = integer({"qk_nope_head_dim"}, true);
      m.v_head_dim = integer({"v_head_dim"}, true);
      m.kv_heads = m.heads;
      m.experts = integer({"n_routed_experts"}, true);
      m.top_k = integer({"num_experts_per_tok"}, true);
      m.expert_ffn_hidden = integer({"moe_intermediate_size"}, true);
      m.shared_experts = count("n_shared_experts");
      m.dense_layers = count("first_k_dense_replace");
      m.mtp_layers = count("num_nextn_predict_layers");
    }
  } else if (type == "nemotron") {
    // Nemotron-4 and its Minitron descendants (transformers' NemotronConfig): GPT-shaped layers
    // (LayerNorm, an ungated squared-ReLU MLP) with rotary positions, and biases and dropout only
    // where the config says so; an untied head unless it says otherwise.
    m.arch = Arch::gpt;
    read_shape();
    m.kv_heads = integer({"num_key_value_heads"}, false);
    m.head_size = integer({"head_dim"}, false);
    if (config.contains("attention_dropout") && !config["attention_dropout"].is_number())
      throw InputError({path, 0, 0}, "attention_dropout",
                       "expected a number, found " + config["attention_dropout"].dump());
    m.positions = Positions::rotary;
    m.biases_on = flag("attention_bias", false) || flag("mlp_bias", false) ? 1 : 0;
    m.dropout_on = config.value("attention_dropout", 0.0) > 0 ? 1 : 0;
    m.tie_embeddings = flag("tie_word_embeddings", false) ? 1 : 0;
  } else if (type == "gpt_neox" || type == "gptj" || type == "falcon") {
    // GPT-shaped (LayerNorm, an ungated GELU MLP) with rotary positions and, but for GPT-NeoX's
    // use_parallel_residual false, attention and MLP side by side (transformers' GPTNeoXConfig,
    // GPTJConfig, FalconConfig; their modelling code). No dropout: the configs default to 0.
    m.arch = Arch::gpt;
    m.positions = Positions::rotary;
    m.dropout_on = 0;
    if (type == "gptj") {
      read_gpt2_shape();
      m.parallel_blocks = true;
    } else if (type == "gpt_neox") {
      read_shape();
      m.parallel_blocks = flag("use_parallel_residual", true);
      m.biases_on = flag("attention_bias", true) ? 1 : 0;
    } else {
      // Falcon: the first configs name the shape as RW did (n_layer, n_head, n_head_kv); a
      // missing max_position_embeddings is FalconConfig's 2048. Falcon-RW's alibi: true is ALiBi.
      m.layers = integer({"num_hidden_layers", "n_layer"}, true);
      m.hidden = integer({"hidden_size"}, true);
      m.heads = integer({"num_attention_heads", "n_head"}, true);
      m.vocab = integer({"vocab_size"}, true);
      m.seq_len = integer({"max_position_embeddings"}, false);
      if (m.seq_len == 0) m.seq_len = 2048;
      m.ffn_hidden = integer({"ffn_hidden_size"}, false);
      if (flag("new_decoder_architecture", false))
        m.kv_heads = integer({"num_kv_heads", "n_head_kv"}, false);  // absent: FalconConfig's heads
      else if (flag("multi_query", true))
        m.kv_heads = 1;
      m.parallel_blocks = flag("parallel_attn", true) || flag("new_decoder_architecture", false);
      if (flag("alibi", false)) m.positions = Positions::alibi;
      m.biases_on = flag("bias", false) ? 1 : 0;
    }
    // Untied but for Falcon (FalconConfig's tie_word_embeddings defaults to true).
    m.tie_embeddings = flag("tie_word_embeddings", type == "falcon") ? 1 : 0;
    if (m.ffn_hidden == 0) m.ffn_hidden = 4 * m.hidden;
  } else if (type == "bert") {
    m.arch = Arch::bert;
    read_shape();
  } else {
    throw InputError(
        {path, 0, 0}, "model_type",
        "expected gpt2, gpt_neox, gptj, falcon, llama, mistral, mixtral, qwen2, qwen3, qwen3_moe, deepseek_v2, "
        "deepseek_v3, gemma2, gpt_oss, nemotron or bert, found \"" +
            type + "\"");
  }
  if (m.kv_heads == 0) m.kv_heads = m.heads;
  if ((m.hidden % m.heads != 0 && m.head_size == 0 && !m.mla) || m.heads % m.kv_heads != 0) {
    throw InputError({path, 0, 0}, "num_attention_heads", "heads must divide hidden and be divisible by kv heads");
  }
  // The rule a YAML model's moe map has (read_model): a token routes to at most every expert.
  if (m.top_k > m.experts) {
    throw InputError(
        {path, 0, 0}, "num_experts_per_tok",
        "expected at most the experts (" + std::to_string(m.experts) + "), found " + std::to_string(m.top_k));
  }
  return m;
}

// ---- Topologies ------------------------------------------------------------------------------

TopologySpec parse_topology_text(const std::string& text, const std::string& name) {
  return parse_topology(load_yaml_text(text, name), name);
}

TopologySpec parse_topology(const YAML::Node& document, const std::string& file) {
  MapReader r(document, file, "");
  TopologySpec t;
  t.file = file;
  t.name = r.string("name").value_or(std::filesystem::path(file).stem().string());
  t.description = r.string("description").value_or("");
  t.source = r.string("source").value_or("");
  // A GPU preset, a GPU file (relative to this topology file) or an inline map (gpus.cpp).
  const std::filesystem::path base = std::filesystem::path(file).parent_path();
  auto preset = [&base](MapReader& reader, const std::string& key) {
    if (!reader.has(key)) return std::optional<GpuSpec>{};
    return std::optional<GpuSpec>(read_gpu(reader, key, base));
  };
  const auto gpu = preset(r, "gpu");
  // A node is one NVLink domain: 8 GPUs on a DGX/HGX baseboard, 72 in an NVL72 rack.
  const auto per_node = r.integer("gpus_per_node", 1, kMaxNvlinkDomain);
  if (!per_node) {
    r.fail_missing("gpus_per_node",
                   "a topology needs 'gpus_per_node': the GPUs of one node, its NVLink domain (1 for a GPU alone)");
  }
  t.gpus_per_node = static_cast<int>(*per_node);
  t.nodes = static_cast<int>(r.integer("nodes", 1, kMaxGpus).value_or(1));
  t.segment = static_cast<int>(r.integer("segment", 0, t.gpus_per_node).value_or(0));
  t.gpus_per_host = static_cast<int>(r.integer("gpus_per_host", 1, t.gpus_per_node).value_or(0));
  if (t.gpus_per_host > 0 && t.gpus_per_node % t.gpus_per_host != 0)
    r.fail("gpus_per_host",
           "a node's " + std::to_string(t.gpus_per_node) + " GPUs are whole hosts: expected a divisor");
  if (t.gpus_per_host > 0 && t.segment % t.gpus_per_host != 0)
    r.fail("segment", "a segment is whole hosts of " + std::to_string(t.gpus_per_host) + " GPUs");
  if (std::int64_t(t.nodes) * t.gpus_per_node > kMaxGpus) {
    r.fail("nodes", "at most " + std::to_string(kMaxGpus) + " GPUs per topology");
  }
  if (auto groups = r.map_list("node_groups")) {
    int covered = 0;
    for (auto& g : *groups) {
      NodeGroup group;
      group.nodes = static_cast<int>(g.integer("nodes", 1, kMaxGpus).value_or(0));
      if (group.nodes == 0) g.fail("nodes", "each node group needs 'nodes' (how many consecutive nodes)");
      const auto group_gpu = preset(g, "gpu");
      if (!group_gpu) g.fail("gpu", "each node group needs 'gpu' (a GPU preset, file or map)");
      group.gpu = *group_gpu;
      g.finish();
      covered += group.nodes;
      t.node_groups.push_back(group);
    }
    if (t.node_groups.empty()) r.fail("node_groups", "expected at least one group");
    if (covered != t.nodes) {
      r.fail("node_groups",
             "the groups cover " + std::to_string(covered) + " nodes, but the topology has " + std::to_string(t.nodes));
    }
  }
  if (gpu) {
    t.gpu = *gpu;
  } else if (!t.node_groups.empty()) {
    t.gpu = t.node_groups.front().gpu;
  } else {
    r.fail("gpu", "a topology needs 'gpu' (a GPU preset such as h100-sxm-80gb, a GPU file or a map) or 'node_groups'");
  }
  if (auto node = r.map("node")) {
    if (auto v = link_bandwidth(*node, "nvlink_bandwidth")) {
      const auto set_nvlink = [&](GpuSpec& gpu) {
        const double before = gpu.nvlink_bandwidth;
        gpu.nvlink_bandwidth = *v;
        scale_nvls_with_nvlink(gpu, before);
      };
      set_nvlink(t.gpu);
      for (auto& group : t.node_groups) set_nvlink(group.gpu);
    }
    if (auto v = node->duration("latency")) t.intra_latency = *v;
    node->finish();
  }
  auto net = r.map("network");
  if (!net && t.nodes > 1) {
    r.fail_missing("network", "a topology of " + std::to_string(t.nodes) +
                                  " nodes needs a 'network' (kind: fat-tree, rail-optimized, torus or dragonfly, "
                                  "nic_bandwidth, ...) to join them");
  }
  if (net) {
    const auto kind = net->choice("kind", {"none", "fat-tree", "rail-optimized", "torus", "dragonfly"});
    if (!kind) net->fail_missing("kind", "a network needs 'kind': none, fat-tree, rail-optimized, torus or dragonfly");
    if (kind == "fat-tree") t.fabric = FabricKind::fat_tree;
    if (kind == "rail-optimized") t.fabric = FabricKind::rail_optimized;
    if (kind == "torus") t.fabric = FabricKind::torus;
    if (kind == "dragonfly") t.fabric = FabricKind::dragonfly;
    if (auto v = link_bandwidth(*net, "nic_bandwidth")) t.nic_bandwidth = *v;
    if (auto v = net->duration("nic_latency")) t.nic_latency = *v;
    if (auto v = net->duration("switch_latency")) t.switch_latency = *v;
    if (auto v = net->number("oversubscription", 1, 64)) t.oversubscription = *v;
    if (auto v = net->boolean("sharp")) t.in_network_reduction = *v;
    if (auto v = net->integer("nodes_per_leaf", 1, 4096)) t.nodes_per_leaf = static_cast<int>(*v);
    if (auto torus = net->map("torus")) {
      if (auto dims = torus->integer_list("dims", 1, 4096)) t.torus_dims.assign(dims->begin(), dims->end());
      if (auto v = link_bandwidth(*torus, "link_bandwidth")) t.torus_link_bandwidth = *v;
      torus->finish();
    }
    if (auto df = net->map("dragonfly")) {
      t.dragonfly_groups = static_cast<int>(df->integer("groups", 1, 4096).value_or(0));
      t.dragonfly_routers_per_group = static_cast<int>(df->integer("routers_per_group", 1, 4096).value_or(0));
      t.dragonfly_nodes_per_router = static_cast<int>(df->integer("nodes_per_router", 1, 4096).value_or(0));
      if (auto v = link_bandwidth(*df, "global_bandwidth")) t.dragonfly_global_bandwidth = *v;
      df->finish();
    }
    net->finish();
    if (t.fabric != FabricKind::none && t.nic_bandwidth <= 0) {
      net->fail("nic_bandwidth", "a network needs nic_bandwidth (per GPU), such as 200Gb/s");
    }
    if (t.fabric == FabricKind::torus) {
      const std::int64_t product =
          std::accumulate(t.torus_dims.begin(), t.torus_dims.end(), std::int64_t{1}, std::multiplies<>());
      if (t.torus_dims.empty() || product != t.nodes) {
        net->fail("torus", "torus.dims must multiply to the number of nodes (" + std::to_string(t.nodes) + ")");
      }
      if (t.torus_link_bandwidth <= 0) net->fail("torus", "torus needs link_bandwidth");
    }
    if (t.fabric == FabricKind::dragonfly) {
      const std::int64_t capacity =
          std::int64_t(t.dragonfly_groups) * t.dragonfly_routers_per_group * t.dragonfly_nodes_per_router;
      if (capacity != t.nodes) {
        net->fail("dragonfly", "groups * routers_per_group * nodes_per_router must equal nodes (" +
                                   std::to_string(t.nodes) + "), found " + std::to_string(capacity));
      }
      if (t.dragonfly_global_bandwidth <= 0) net->fail("dragonfly", "dragonfly needs global_bandwidth");
    }
  }
  if (auto cost = r.map("cost")) {
    if (auto v = cost->number("gpu_hour", 0, 1e6)) t.price_per_gpu_hour = *v;
    cost->finish();
  }
  if (auto power = r.map("power")) {
    if (auto v = power->number("gpu", 0, 1e5)) t.gpu.power_watts = *v;
    if (auto v = power->number("nic", 0, 1e5)) t.nic_power_watts = *v;
    if (auto v = power->number("switch", 0, 1e6)) t.switch_power_watts = *v;
    if (auto v = power->number("host", 0, 1e6)) t.host_power_watts = *v;  // W per node
    if (auto v = power->number("pue", 1, 5)) t.pue = *v;
    // The power cap the system runs its GPUs at, below their board power (cluster.power_limit).
    if (auto v = power_limit(*power, "gpu_limit")) {
      t.gpu.power_limit_watts = *v;
      for (auto& group : t.node_groups) group.gpu.power_limit_watts = *v;
      // A cap the topology's own GPUs cannot run under is this file's error (its warnings come
      // with a scenario that uses it).
      power_cap_warnings(t, "power.gpu_limit", [&](const std::string& problem) { power->fail("gpu_limit", problem); });
    }
    power->finish();
  }
  if (auto storage = r.map("storage")) {
    if (auto v = storage->bandwidth("bandwidth")) {
      if (*v <= 0) storage->fail("bandwidth", "expected a bandwidth above 0, such as 10GB/s");
      t.storage_bandwidth = *v;
    }
    storage->finish();
  }
  r.finish();
  return t;
}

GpuSpec as_run_by_job(const Scenario& sc, GpuSpec gpu) {
  gpu.slowest_clock = slowest_clock_factor(sc.cluster.clock_spread, sc.plan.gpus());
  return gpu;
}

double mean_peak(const ClusterSpec& c, Precision precision) {
  const TopologySpec& t = c.topology;
  precision = mfu_precision(precision);  // MFU of low-precision runs is against the bf16 peak
  if (t.node_groups.empty() || c.gpus <= 0) return t.gpu.peak(precision);
  double sum = 0;
  for (int g = 0; g < c.gpus; ++g) sum += t.gpu_of_node(g / t.gpus_per_node).peak(precision);
  return sum / c.gpus;
}

// ---- Plan checks -----------------------------------------------------------------------------

// A global batch written in tokens instead of sequences: more micro-batches per replica than any
// published run (hundreds to a few thousand), or more tokens per step than any (Llama 3 405B:
// 16M; DeepSeek-V3: 63M) by far from a thousand micro-batches a replica or more (a token count
// spreads over the replicas as thousands of micro-batches; a huge cluster with one sequence a
// GPU, or a huge seq_len, does not).
namespace {
constexpr std::int64_t kPlausibleMicroBatches = 100'000;
constexpr std::int64_t kTokenCountMicroBatches = 1'000;
constexpr double kPlausibleTokensPerStep = 256.0 * 1024 * 1024;
bool looks_like_tokens(const ModelSpec& m, const PlanSpec& p) {
  if (p.micro_batch <= 0 || p.dp <= 0) return false;
  return p.micro_batches() > kPlausibleMicroBatches ||
         (p.micro_batches() >= kTokenCountMicroBatches && double(p.global_batch) * m.seq_len > kPlausibleTokensPerStep);
}
// The likely mistake, said after what the batch amounts to.
std::string sequences_not_tokens(const ModelSpec& m, std::int64_t global_batch) {
  const auto s = [](std::int64_t v) { return std::to_string(v); };
  return s(global_batch * m.seq_len) + " tokens per step: global_batch counts sequences, not tokens (" +
         s(global_batch) + " tokens would be about " + s(std::max<std::int64_t>(1, global_batch / m.seq_len)) +
         " sequences of " + s(m.seq_len) + ")";
}
}  // namespace

std::optional<std::string> global_batch_in_tokens(const ModelSpec& m, std::int64_t global_batch) {
  if (double(global_batch) * m.seq_len <= kPlausibleTokensPerStep) return std::nullopt;
  return "global_batch (" + std::to_string(global_batch) + ") is " + sequences_not_tokens(m, global_batch);
}

std::vector<Finding> check_plan(const ModelSpec& m, const ClusterSpec& c, const PlanSpec& p) {
  std::vector<Finding> errors;
  std::vector<Finding> warnings;
  auto error = [&](const std::string& key, const std::string& message) {
    errors.push_back({Finding::Severity::error, key, message});
  };
  auto warn = [&](const std::string& key, const std::string& message) {
    warnings.push_back({Finding::Severity::warning, key, message});
  };
  const auto s = [](auto v) { return std::to_string(v); };

  if (std::int64_t(p.tp) * p.pp * p.dp * p.cp != c.gpus) {
    // The dp that fills the job, where one does (the usual slip: pp or tp changed alone).
    const std::int64_t others = std::int64_t(p.tp) * p.pp * p.cp;
    const std::string fix = c.gpus % others == 0
                                ? " (dp " + s(c.gpus / others) + " fills them)"
                                : " (" + s(c.gpus) + " GPUs do not divide by tp*pp*cp = " + s(others) + ")";
    error("plan.dp", "tp*pp*dp*cp = " + s(p.tp) + "*" + s(p.pp) + "*" + s(p.dp) + "*" + s(p.cp) + " = " +
                         s(std::int64_t(p.tp) * p.pp * p.dp * p.cp) + ", but the job uses " + s(c.gpus) + " GPUs" +
                         fix);
  }
  // The fastest NIC a GPU has is 800 Gb/s (ConnectX-8, 2025): more per GPU is likely a node's
  // total written as the per-GPU figure.
  if (c.topology.nic_bandwidth > 1.6e12 / 8 && c.topology.fabric != FabricKind::none) {
    warn("cluster.nic_bandwidth", units::format_bandwidth(c.topology.nic_bandwidth) +
                                      " per GPU is more than any GPU's NIC (800 Gb/s, ConnectX-8): nic_bandwidth is "
                                      "per GPU, not a node's total");
  }
  if (c.gpus > c.topology.total_gpus()) {
    error("cluster.gpus", "the job uses " + s(c.gpus) + " GPUs but topology " + c.topology.name + " has " +
                              s(c.topology.total_gpus()) + " (" + c.topology.resize_refusal() + ")");
  }
  // CUDA graphs beside what Megatron-Core refuses them with (megatron-core 0.20,
  // TransformerConfig.__post_init__): the search varies these fields and must not pair them.
  const bool per_layer_graphs = !p.cuda_graphs.empty() && !p.graphs("full_iteration");
  if (per_layer_graphs && p.recompute == Recompute::full)
    error("plan.cuda_graphs", "full recomputation runs only with full_iteration graphs (Megatron-Core's rule)");
  if (per_layer_graphs && p.activation_offload_layers > 0)
    error("plan.cuda_graphs", "per-layer CUDA graphs do not run with activation offloading (Megatron-Core's rule)");
  if (p.graphs("moe_router") && p.recomputes_module("moe"))
    error("plan.cuda_graphs", "the moe recompute module does not run with moe_router graphs (Megatron-Core's rule)");
  const int job_nodes = (c.gpus + c.topology.gpus_per_node - 1) / c.topology.gpus_per_node;
  if (p.parameter_servers > job_nodes) {
    error("plan.parameter_servers",
          "expected at most the job's " + s(job_nodes) + " nodes, found " + s(p.parameter_servers));
  }
  if (m.heads % p.tp != 0) error("plan.tp", "heads (" + s(m.heads) + ") must be divisible by tp (" + s(p.tp) + ")");
  if (m.kv_heads % p.tp != 0 && p.tp % m.kv_heads != 0) {
    error("plan.tp", "kv_heads (" + s(m.kv_heads) + ") and tp (" + s(p.tp) + ") must divide one another");
  } else if (p.tp > m.kv_heads) {
    warn("plan.tp", "tp " + s(p.tp) + " is more than the model's " + s(m.kv_heads) +
                        " key/value heads: each is priced as copied on " + s(p.tp / m.kv_heads) +
                        " ranks; Megatron-Core refuses this (it splits num_query_groups over tp)");
  }
  if (m.ffn_hidden % p.tp != 0) {
    error("plan.tp", "ffn_hidden (" + s(m.ffn_hidden) + ") must be divisible by tp (" + s(p.tp) + ")");
  }
  if (p.tp > c.topology.gpus_per_node) {
    warn("plan.tp", "tp " + s(p.tp) + " spans nodes (" + s(c.topology.gpus_per_node) +
                        " GPUs per node): its all-reduces cross the network");
  } else if (p.tp > 1 && c.topology.gpus_per_node % p.tp != 0) {
    warn("plan.tp", "tp " + s(p.tp) + " does not divide the " + s(c.topology.gpus_per_node) +
                        " GPUs of a node: some tensor-parallel groups straddle two nodes, and the simulation "
                        "prices every group as the first, which does not");
  }
  // An algorithm the hardware lacks runs as NCCL would fall back: a ring.
  const auto kinds = c.topology.gpu_kinds();
  for (const auto& [key, algorithm] :
       {std::pair{"plan.dp_algorithm", p.dp_algorithm}, {"plan.tp_algorithm", p.tp_algorithm}}) {
    if (algorithm == CollectiveAlgorithm::sharp && !c.topology.in_network_reduction) {
      warn(key, "sharp: " + c.topology.name +
                    "'s switches do not reduce (network.sharp is not true): its collectives run as rings");
    }
    if (algorithm == CollectiveAlgorithm::nvls &&
        std::any_of(kinds.begin(), kinds.end(), [](const GpuSpec* g) { return g->nvls_bandwidth <= 0; })) {
      warn(key, "nvls: a GPU here has no NVLink SHARP (nvls_bandwidth): its collectives run as rings");
    }
  }
  const int chunks = p.pp * p.virtual_stages;
  const auto list = [&](const std::vector<int>& v) {
    std::string text;
    for (const int n : v) text += (text.empty() ? "" : ", ") + s(n);
    return text;
  };
  if (!p.layers_per_stage.empty()) {
    const int given = static_cast<int>(p.layers_per_stage.size());
    if (given != p.pp && given != chunks) {
      error("plan.layers_per_stage",
            "needs one entry per pipeline stage (" + s(p.pp) + ")" +
                (chunks != p.pp ? " or one per model chunk (pp*virtual_stages = " + s(chunks) + ", in model order)"
                                : std::string()) +
                ", found " + s(given));
    } else if (std::accumulate(p.layers_per_stage.begin(), p.layers_per_stage.end(), 0) != m.layers) {
      error("plan.layers_per_stage", "must add up to the model's layers (" + s(m.layers) + "), found " +
                                         s(std::accumulate(p.layers_per_stage.begin(), p.layers_per_stage.end(), 0)));
    } else if (given != chunks) {
      // One entry per stage, split over the stage's chunks: each chunk needs a layer.
      for (int stage = 0; stage < p.pp; ++stage) {
        if (p.layers_per_stage[stage] < p.virtual_stages) {
          error("plan.layers_per_stage", "stage " + s(stage) + " has " + s(p.layers_per_stage[stage]) +
                                             " layers, fewer than its virtual_stages (" + s(p.virtual_stages) + ")");
          break;
        }
      }
    }
  } else if (chunks > m.layers + 2 && p.virtual_stages > 1) {
    error("plan.virtual_stages", "pp*virtual_stages (" + s(chunks) + ") exceeds the layers (" + s(m.layers) +
                                     ") and the embedding and loss: every other model chunk needs a layer");
  } else if (chunks > m.layers && p.virtual_stages > 1) {
    // Megatron-Core's --account-for-embedding-in-pipeline-split and --account-for-loss-in-
    // pipeline-split: the embedding and the loss count as a layer each, and may fill a chunk.
    warn("plan.virtual_stages", "pp*virtual_stages (" + s(chunks) + ") exceeds the layers (" + s(m.layers) +
                                    "): the first chunk holds only the embedding" +
                                    (chunks == m.layers + 2 ? " and the last only the LM head and loss" : "") +
                                    " (Megatron-Core's --account-for-embedding/loss-in-pipeline-split)");
  } else if (m.layers % chunks != 0 && p.pp <= m.layers && !(p.pp > 1 && c.topology.mixed(c.gpus))) {
    // (On a cluster that mixes GPU kinds the layers follow stage speed, which the report shows.)
    if (p.virtual_stages > 1) {
      warn("plan.virtual_stages", "layers (" + s(m.layers) + ") do not divide by pp*virtual_stages (" + s(chunks) +
                                      "): uneven split " + list(stage_layers(m.layers, p)) + " per stage, chunks of " +
                                      s(m.layers / chunks) + " or " + s(m.layers / chunks + 1) +
                                      " layers (the first and last chunks short; or give layers_per_stage)");
    } else {
      warn("plan.pp", "layers (" + s(m.layers) + ") do not divide by pp (" + s(p.pp) + "): uneven split " +
                          list(stage_layers(m.layers, p)) + " (middle stages first; or give layers_per_stage)");
    }
  }
  if (p.pp > m.layers) error("plan.pp", "pp (" + s(p.pp) + ") exceeds the layers (" + s(m.layers) + ")");
  if (const std::int64_t unit = std::int64_t(p.micro_batch) * p.dp; unit > 0 && p.global_batch % unit != 0) {
    // The nearest batches that divide (a published batch often does not, for the plan's dp).
    const std::int64_t below = p.global_batch / unit * unit, above = below + unit;
    error("plan.global_batch", "global_batch (" + s(p.global_batch) + ") must be divisible by micro_batch*dp (" +
                                   s(unit) + "): " + (below > 0 ? s(below) + " or " : std::string()) + s(above) +
                                   " would be");
  }
  const std::int64_t m_batches = p.micro_batches();
  if (p.schedule == Schedule::interleaved) {
    if (p.virtual_stages < 2) error("plan.virtual_stages", "the interleaved schedule needs virtual_stages >= 2");
    if (p.pp < 2) error("plan.schedule", "the interleaved schedule needs pp >= 2");
    if (p.pp > 1 && m_batches % p.pp != 0) {
      error("plan.global_batch", "the interleaved schedule needs the micro-batches per step (" + s(m_batches) +
                                     ") divisible by pp (" + s(p.pp) + ")");
    }
  } else if (p.virtual_stages > 1) {
    error("plan.virtual_stages", "virtual_stages > 1 needs schedule: interleaved");
  }
  if (p.zero_bubble && p.pp == 1) {
    warn("plan.zero_bubble", "pp 1: no pipeline, no idle time to defer weight passes into; the plan runs without it");
  }
  if (p.zero_bubble && p.schedule == Schedule::gpipe) {
    error("plan.zero_bubble",
          "zero_bubble defers 1F1B's weight-gradient passes: it needs schedule 1f1b or interleaved");
  }
  if (p.tp_comm_overlap && p.tp > 1 && p.tp_overlap == TpOverlap::userbuffers && !p.sequence_parallel) {
    warn("plan.tp_comm_overlap",
         "Transformer Engine's userbuffers overlap needs sequence_parallel (Megatron-LM refuses --tp-comm-overlap "
         "without it): priced without overlap; set sequence_parallel: true, or tp_comm_overlap: async for "
         "PyTorch's async TP");
  }
  if (looks_like_tokens(m, p)) {
    warn("plan.global_batch", "global_batch (" + s(p.global_batch) + ") gives " + s(m_batches) +
                                  " micro-batches per replica and " + sequences_not_tokens(m, p.global_batch));
  }
  if (p.pp > 1 && m_batches < p.pp) {
    warn("plan.global_batch",
         "only " + s(m_batches) + " micro-batches for " + s(p.pp) + " pipeline stages: most of the step is bubble");
  }
  if (p.cp > 1 && m.seq_len % (2 * p.cp) != 0) {
    error("plan.cp", "seq_len (" + s(m.seq_len) + ") must be divisible by 2*cp (" + s(2 * p.cp) +
                         ") for load-balanced ring attention");
  }
  if (p.ep > 1) {
    if (!m.moe())
      error("plan.ep", "ep > 1 needs a mixture-of-experts model (model.moe)");
    else if (m.experts % p.ep != 0) {
      error("plan.ep", "experts (" + s(m.experts) + ") must be divisible by ep (" + s(p.ep) + ")");
    }
    // MoE parallel folding: the stage's tp*cp*dp ranks hold etp x ep x edp expert shards.
    const std::int64_t ranks = std::int64_t(p.tp) * p.cp * p.dp;
    if (ranks % (std::int64_t(p.ep) * p.expert_tp()) != 0) {
      error("plan.ep",
            "ep*etp (" + s(p.ep) + "*" + s(p.expert_tp()) + ") must divide tp*cp*dp (" + s(ranks) +
                "): experts are spread over a stage's ranks" +
                (p.etp == 0 && p.tp > 1 ? std::string(" (etp defaults to tp, as in Megatron-Core; try etp: 1)")
                                        : std::string()));
    }
  }
  if (p.etp > 0 && !m.moe()) error("plan.etp", "etp needs a mixture-of-experts model (model.moe)");
  if (m.moe() && m.expert_ffn() % p.expert_tp() != 0) {
    error("plan.etp", "the expert FFN (" + s(m.expert_ffn()) + ") must be divisible by etp (" + s(p.expert_tp()) + ")");
  }
  if (p.sequence_parallel && p.tp == 1) warn("plan.sequence_parallel", "has no effect with tp = 1");
  if (!p.sequence_parallel && p.tp > 1 && p.ep > 1 && m.moe()) {
    warn("plan.sequence_parallel",
         "is off with tp " + s(p.tp) + " and ep " + s(p.ep) +
             ": each tensor-parallel rank dispatches every token of the micro-batch (Megatron-Core refuses "
             "this; its MoE layers need sequence_parallel: true)");
  }
  if (p.dp_shard > 0 && p.dp % p.dp_shard != 0)
    error("plan.dp_shard", "dp_shard (" + s(p.dp_shard) + ") must divide dp (" + s(p.dp) + ")");
  else if (p.dp_shard > 0 && p.dp_shard < p.dp && p.zero == 0)
    error("plan.dp_shard", "dp_shard groups ZeRO's shards; set zero: 1, 2 or 3 with it (zero is 0)");
  if (p.dp_shard > 0 && p.dp_shard < p.dp && m.moe())
    warn("plan.dp_shard", "applies to the dense parameters; routed experts shard over expert data parallelism");
  if (p.zero > 0 && p.dp * p.cp == 1)
    warn("plan.zero", "ZeRO shards over data-parallel ranks; with dp = 1 it has no effect");
  if (p.zero < 3 && (p.zero3_unit != Zero3Unit::layer || p.zero3_list_collectives))
    warn("plan.zero3_unit", "zero3_unit and zero3_list_collectives shape ZeRO-3's collectives; with zero " + s(p.zero) +
                                " they have no effect");
  if (p.recompute_fraction < 1 && p.recompute != Recompute::full)
    warn("plan.recompute_fraction", std::string("is the share of layers fully recomputed; with recompute ") +
                                        recompute_name(p.recompute) + " it has no effect");
  const GpuSpec& gpu = c.topology.gpu;
  if (p.activation_offload_layers > 0) {
    // Megatron-Core's TransformerConfig checks, which the offload context relies on.
    if (p.activation_offload_layers >= m.layers)
      error("plan.activation_offload_layers",
            "must be below the layers (" + s(m.layers) + "): the last layer's activations stay on the GPU");
    if (p.pp > 1)
      error("plan.activation_offload_layers",
            "needs pp 1 (Megatron-Core: \"no support for Pipeline parallelism with CPU offloading\")");
    if (p.recompute != Recompute::none)
      error("plan.activation_offload_layers",
            std::string("needs recompute: none (Megatron-Core: CPU offloading does not work with activation "
                        "recomputation); recompute is ") +
                recompute_name(p.recompute));
    // The GPU kinds of the nodes the job runs on.
    for (const GpuSpec* kind : c.topology.gpu_kinds(c.gpus)) {
      if (kind->host_link_bandwidth <= 0)
        error("plan.activation_offload_layers", kind->name + " has no host_link_bandwidth to copy over");
    }
  }
  // Every GPU kind the job runs on (a mixed cluster's node groups too) must price the precision.
  for (const GpuSpec* kind : c.topology.gpu_kinds(c.gpus)) {
    const std::string& name = kind->name;
    if ((p.precision == Precision::mxfp8 || p.precision == Precision::nvfp4) && !kind->mx_formats) {
      error("plan.precision", std::string(precision_name(p.precision)) +
                                  " needs block-scaled (MX) tensor cores, which " + name +
                                  " does not have (Blackwell and later do)");
    } else if (p.precision == Precision::fp8 && (kind->peak_fp8 <= 0 || kind->kernels.gemm_fp8 <= 0)) {
      error("plan.precision", "fp8 is not supported by " + name + " (no FP8 peak or FP8 GEMM data)");
    } else if (p.precision == Precision::mxfp8 && (kind->peak_fp8 <= 0 || kind->kernels.gemm_fp8 <= 0)) {
      error("plan.precision", "mxfp8 needs an FP8 peak and FP8 GEMM data for " + name);
    } else if (p.precision == Precision::nvfp4 && (kind->peak_fp4 <= 0 || kind->kernels.gemm_fp4 <= 0)) {
      error("plan.precision", "nvfp4 needs an FP4 peak and FP4 GEMM data for " + name);
    } else if (kind->peak(p.precision) <= 0) {
      error("plan.precision", std::string(precision_name(p.precision)) + " is not supported by " + name + " (no " +
                                  precision_name(p.precision) + " peak in its data)");
    }
  }
  if (p.attention != Attention::flash && p.attention != Attention::unfused && !gpu.kernels.attention.empty() &&
      !gpu.kernels.attention.count(p.attention)) {
    std::string known;
    for (const auto& [family, data] : gpu.kernels.attention)
      known += std::string(known.empty() ? "" : ", ") + attention_name(family);
    error("plan.attention", std::string("no ") + attention_name(p.attention) + " kernels for " + gpu.name +
                                " (its data has " + known + "; flash picks its default, " +
                                attention_name(gpu.kernels.default_attention) + ")");
  }
  errors.insert(errors.end(), warnings.begin(), warnings.end());
  return errors;
}

// ---- Scenarios -------------------------------------------------------------------------------

namespace {

void read_plan(MapReader& r, const ClusterSpec& cluster, PlanSpec& p, std::map<std::string, SourceLocation>& where) {
  const std::int64_t max_gpus = kMaxGpus;
  auto note = [&](const char* key) {
    if (r.has(key)) where[std::string("plan.") + key] = r.location_of(key);
  };
  for (const char* key :
       {"tp", "pp", "dp", "cp", "ep", "etp", "micro_batch", "global_batch", "schedule", "virtual_stages",
        "sequence_parallel", "zero", "recompute", "precision", "layers_per_stage", "placement"}) {
    note(key);
  }
  p.tp = static_cast<int>(r.integer("tp", 1, max_gpus).value_or(1));
  p.pp = static_cast<int>(r.integer("pp", 1, 4096).value_or(1));
  p.cp = static_cast<int>(r.integer("cp", 1, max_gpus).value_or(1));
  p.ep = static_cast<int>(r.integer("ep", 1, max_gpus).value_or(1));
  p.etp = static_cast<int>(r.integer("etp", 1, max_gpus).value_or(0));
  // `dp: auto` says what leaving dp out says.
  const bool dp_auto = r.has("dp") && r.string("dp") == "auto";
  const auto dp = dp_auto ? std::nullopt : r.integer("dp", 1, max_gpus);
  const std::int64_t others = std::int64_t(p.tp) * p.pp * p.cp;
  if (dp) {
    p.dp = static_cast<int>(*dp);
  } else {
    // dp defaults to what the other axes leave of the job's GPUs.
    if (cluster.gpus % others != 0) {
      r.fail("tp", "tp*pp*cp = " + std::to_string(others) + " does not divide the job's " +
                       std::to_string(cluster.gpus) + " GPUs; set dp or change the plan");
    }
    p.dp = static_cast<int>(cluster.gpus / others);
  }
  p.micro_batch = static_cast<int>(r.integer("micro_batch", 1, 1 << 20).value_or(1));
  p.global_batch = r.integer("global_batch", 1, kMaxGlobalBatch).value_or(std::int64_t(p.micro_batch) * p.dp);
  if (auto v = r.choice("schedule", {"gpipe", "1f1b", "interleaved"})) {
    p.schedule = *v == "gpipe" ? Schedule::gpipe : *v == "1f1b" ? Schedule::one_f_one_b : Schedule::interleaved;
  }
  p.virtual_stages = static_cast<int>(r.integer("virtual_stages", 1, 1024).value_or(1));
  if (p.schedule != Schedule::interleaved && !r.has("schedule") && p.virtual_stages > 1) {
    p.schedule = Schedule::interleaved;  // virtual stages imply the interleaved schedule
  }
  p.zero_bubble = r.boolean("zero_bubble").value_or(false);
  p.sequence_parallel = r.boolean("sequence_parallel").value_or(false);
  p.zero = static_cast<int>(r.integer("zero", 0, 3).value_or(0));
  if (auto v = r.integer("dp_shard", 0, max_gpus)) p.dp_shard = static_cast<int>(*v);
  if (auto v = r.choice("recompute", {"none", "selective", "op", "save_qkv_proj", "full"})) {
    for (const Recompute q : {Recompute::none, Recompute::selective, Recompute::op, Recompute::qkv, Recompute::full}) {
      if (*v == recompute_name(q)) p.recompute = q;
    }
  }
  if (auto v = r.choice("precision", {"fp32", "tf32", "bf16", "fp16", "fp8", "mxfp8", "nvfp4"})) {
    for (const Precision q : {Precision::fp32, Precision::tf32, Precision::bf16, Precision::fp16, Precision::fp8,
                              Precision::mxfp8, Precision::nvfp4}) {
      if (*v == precision_name(q)) p.precision = q;
    }
  }
  if (auto v = r.choice("fp8_recipe", {"tensorwise", "delayed", "rowwise", "blockwise"})) {
    if (p.precision != Precision::fp8) r.fail("fp8_recipe", "fp8_recipe goes with precision: fp8");
    for (const Fp8Recipe q : {Fp8Recipe::tensorwise, Fp8Recipe::delayed, Fp8Recipe::rowwise, Fp8Recipe::blockwise}) {
      if (*v == fp8_recipe_name(q)) p.fp8_recipe = q;
    }
  }
  if (auto v = r.boolean("fp8_param_gather")) {
    if (*v && !low_precision(p.precision))
      r.fail("fp8_param_gather", "fp8_param_gather goes with a low precision (fp8, mxfp8, nvfp4)");
    p.fp8_param_gather = *v;
  }
  if (auto v = r.boolean("fp8_weight_cache")) {
    if (*v && !low_precision(p.precision))
      r.fail("fp8_weight_cache", "fp8_weight_cache goes with a low precision (fp8, mxfp8, nvfp4)");
    p.fp8_weight_cache = *v;
  }
  if (auto v = r.boolean("fp8_saved_inputs")) {
    if (*v && !low_precision(p.precision))
      r.fail("fp8_saved_inputs", "fp8_saved_inputs goes with a low precision (fp8, mxfp8, nvfp4)");
    p.fp8_saved_inputs = *v;
  }
  if (auto v = r.choice("kernels", {"fused", "eager"})) p.kernels = *v == "eager" ? Kernels::eager : Kernels::fused;
  if (auto v = r.choice("attention", {"flash", "flash1", "flash2", "flash3", "flash4", "cudnn", "unfused"})) {
    for (const Attention a : {Attention::flash, Attention::flash1, Attention::flash2, Attention::flash3,
                              Attention::flash4, Attention::cudnn, Attention::unfused}) {
      if (*v == attention_name(a)) p.attention = a;
    }
  }
  if (auto v = r.boolean("sharded_master_weights")) p.sharded_master_weights = *v;
  if (auto v = r.boolean("zero3_keeps_embeddings")) p.zero3_keeps_embeddings = *v;
  if (auto v = r.choice("optimizer_state", {"fp32", "bf16"})) p.optimizer_moment_bytes = *v == "fp32" ? 4 : 2;
  if (auto v = r.choice("master_weights", {"fp32", "16-bit", "remainders", "none"})) {
    if (*v != "fp32" && (p.precision == Precision::fp32 || p.precision == Precision::tf32))
      r.fail("master_weights",
             "master_weights goes with 16-bit or lower precision (fp32 training updates its weights)");
    if (*v != "fp32" && p.sharded_master_weights)
      r.fail("master_weights", "sharded_master_weights keeps fp32 master weights; master_weights: fp32");
    p.master_weights = *v == "16-bit"       ? MasterWeights::half
                       : *v == "remainders" ? MasterWeights::remainders
                       : *v == "none"       ? MasterWeights::none
                                            : MasterWeights::fp32;
  }
  if (auto v = r.choice("grad_reduce_precision", {"fp32", "bf16", "fp16"}))
    p.gradient_reduce_bytes = *v == "fp32" ? 4 : 2;
  if (auto v = r.integer_list("layers_per_stage", 1, 4096)) p.layers_per_stage.assign(v->begin(), v->end());
  r.accept("placement");          // a list, read by read_placement()
  r.accept("recompute_modules");  // a list, read after the plan
  r.accept("cuda_graphs");        // a list, read after the plan
  auto algorithm = [&](const char* key) -> CollectiveAlgorithm {
    const auto v = r.choice(key, {"auto", "ring", "tree", "halving-doubling", "hierarchical", "nvls", "sharp"});
    if (!v || *v == "auto") return CollectiveAlgorithm::automatic;
    if (*v == "ring") return CollectiveAlgorithm::ring;
    if (*v == "nvls") return CollectiveAlgorithm::nvls;
    if (*v == "sharp") return CollectiveAlgorithm::sharp;
    if (*v == "tree") return CollectiveAlgorithm::tree;
    if (*v == "halving-doubling") return CollectiveAlgorithm::halving_doubling;
    return CollectiveAlgorithm::hierarchical;
  };
  p.dp_algorithm = algorithm("dp_algorithm");
  p.tp_algorithm = algorithm("tp_algorithm");
  if (auto v = r.choice("moe_dispatcher", {"alltoall", "deepep", "hybridep"})) {
    for (const MoeDispatcher d : {MoeDispatcher::alltoall, MoeDispatcher::deepep, MoeDispatcher::hybridep}) {
      if (*v == dispatcher_name(d)) p.moe_dispatcher = d;
    }
  }
  if (auto v = r.boolean("moe_router_fusion")) p.moe_router_fusion = *v;
  if (auto v = r.choice("expert_gemm", {"streams", "grouped"})) {
    p.expert_gemm = *v == "grouped" ? ExpertGemm::grouped : ExpertGemm::streams;
  }
  if (auto v = r.bytes("bucket_size", "MB")) {
    if (*v <= 0) r.fail("bucket_size", "expected a bucket above 0, such as 40MB");
    p.bucket_bytes = *v;
  }
  if (auto v = r.boolean("overlap_grad_reduce")) p.overlap_grad_reduce = *v;
  if (auto v = r.boolean("overlap_param_gather")) p.overlap_param_gather = *v;
  // true (Megatron-LM's flag: Transformer Engine's userbuffers), userbuffers, async (torch's async TP).
  if (auto v = r.choice("tp_comm_overlap", {"false", "true", "no", "yes", "off", "on", "userbuffers", "async"})) {
    p.tp_comm_overlap = *v != "false" && *v != "no" && *v != "off";
    p.tp_overlap = *v == "async" ? TpOverlap::async : TpOverlap::userbuffers;
  }
  if (auto v = r.integer("collective_sms", 0, 1024)) {
    // SMs a collective holds are a share of each GPU's (PlanSpec::collective_sms): all of them
    // would leave the compute beside it none. (The default, 24, is capped by the GPU's share.)
    for (const GpuSpec* g : cluster.topology.gpu_kinds()) {
      if (*v > 0 && *v >= g->sm_count) {
        r.fail("collective_sms", "expected fewer than " + g->name + "'s " + std::to_string(g->sm_count) +
                                     " SMs, found " + std::to_string(*v));
      }
    }
    p.collective_sms = static_cast<int>(*v);
  }
  if (auto v = r.choice("loss", {"fp32", "cast", "decomposed", "fused"})) {
    for (const Loss l : {Loss::fp32, Loss::cast, Loss::decomposed, Loss::fused}) {
      if (*v == loss_name(l)) p.loss = l;
    }
  }
  if (auto v = r.choice("zero3_unit", {"layer", "parameter"})) {
    p.zero3_unit = *v == "parameter" ? Zero3Unit::parameter : Zero3Unit::layer;
  }
  if (auto v = r.boolean("zero3_list_collectives")) p.zero3_list_collectives = *v;
  if (auto v = r.number("recompute_fraction", 0, 1)) p.recompute_fraction = *v;
  if (auto v = r.integer("activation_offload_layers", 0, 4096)) p.activation_offload_layers = static_cast<int>(*v);
  if (auto v = r.choice("reshard_after_forward", {"default", "always", "never"})) {
    for (const Reshard q : {Reshard::by_default, Reshard::always, Reshard::never}) {
      if (*v == reshard_name(q)) p.reshard_after_forward = q;
    }
  }
  if (auto v = r.choice("gradient_compression", {"none", "bf16", "fp16", "int8", "topk"})) {
    // Relative to the gradient's reduce precision (fp32 unless told otherwise for compression).
    if (*v == "bf16" || *v == "fp16") p.gradient_compression = 2;
    if (*v == "int8") p.gradient_compression = 4;
    if (*v == "topk") {
      // Top-k sends k of the values and their 32-bit indices: 2k of the dense fp32 bytes.
      const double k = r.number("topk_fraction", 1e-6, 0.5).value_or(0.01);
      p.gradient_compression = 1 / (2 * k);
    }
    if (*v != "none") p.gradient_reduce_bytes = 4;
  }
  r.accept("topk_fraction");
  if (auto v = r.integer("sync_every", 1, 1000000)) p.sync_every = static_cast<int>(*v);
  if (auto v = r.integer("parameter_servers", 0, kMaxGpus)) p.parameter_servers = static_cast<int>(*v);
  if (auto v = r.integer("staleness", 0, 1000000)) p.staleness = static_cast<int>(*v);
  // Last: the framework fills in what the plan leaves out (scenario/framework.hpp).
  for (const auto& key : framework_fields()) {
    if (r.has(key)) p.stated_framework_fields.push_back(key);
  }
  if (auto v = r.choice("framework", framework_names())) {
    p.framework = parse_framework(*v);
    apply_framework(p, *p.framework, cluster.topology.gpu);
  }
}

}  // namespace

std::vector<Axis> read_placement(const YAML::Node& node, const std::string& file) {
  const auto fail = [&](const YAML::Node& at) {
    throw InputError(location_of(at, file), "plan.placement",
                     "expected a list of the four axes tp, cp, pp, dp, innermost first, found " + describe(at));
  };
  if (!node.IsSequence() || node.size() != 4) fail(node);
  std::vector<Axis> axes;
  for (const auto& item : node) {
    if (!item.IsScalar()) fail(item);
    const std::string& name = item.Scalar();
    const Axis axis = name == "tp"   ? Axis::tp
                      : name == "cp" ? Axis::cp
                      : name == "pp" ? Axis::pp
                      : name == "dp" ? Axis::dp
                                     : (fail(item), Axis::dp);
    if (std::find(axes.begin(), axes.end(), axis) != axes.end()) fail(item);
    axes.push_back(axis);
  }
  return axes;
}

namespace {

// The data section: the dataset's sequence lengths and how the loader pads them (scenario/data.hpp).
DataSpec read_data(MapReader& r, const ModelSpec& m, const std::filesystem::path& base) {
  DataSpec d;
  if (auto lengths = r.string("lengths")) {
    const bool file = !has_dataset_preset(*lengths);
    d.lengths = file && std::filesystem::path(*lengths).is_relative()
                    ? std::filesystem::absolute(base / *lengths).string()
                    : *lengths;
    if (file && !path_exists(d.lengths)) {
      std::string problem = "no dataset preset named \"" + *lengths + "\" and no file " + d.lengths;
      if (const auto hint = name_hint(*lengths, dataset_preset_names()); !hint.empty()) {
        problem += " (did you mean " + hint + "?)";
      }
      r.fail("lengths", problem);
    }
    d.length_counts = load_length_histogram(d.lengths);  // its errors point into the histogram
    if (d.length_counts.size() > std::size_t(m.seq_len)) {
      r.fail("lengths", "the dataset has sequences of up to " + std::to_string(d.length_counts.size()) +
                            " tokens, more than model.seq_len (" + std::to_string(m.seq_len) + ")");
    }
  }
  if (auto v = r.choice("batching", {"padded", "longest", "binned", "packed"})) {
    for (const Batching b : {Batching::padded, Batching::longest, Batching::binned, Batching::packed}) {
      if (*v == batching_name(b)) d.batching = b;
    }
    if (d.full_rows()) r.fail("batching", "batching needs the dataset's sequence lengths (data.lengths)");
  }
  if (auto v = r.integer("bin_size", 1, m.seq_len)) {
    if (d.batching != Batching::binned) r.fail("bin_size", "bin_size goes with batching: binned");
    d.bin_size = static_cast<int>(*v);
  }
  if (d.batching == Batching::binned && d.bin_size == 0) {
    r.fail("batching", "binned batching needs a bin_size (tokens per length bin, e.g. 64)");
  }
  return d;
}

// The keys other sections hold, for the error at a key written under the wrong one ("seq_len"
// under plan belongs under model). Keys two sections share (attention) are left out.
std::map<std::string, std::string> keys_elsewhere(const std::string& section) {
  static const std::map<std::string, std::vector<std::string>> kSections = {
      {"model",
       {"preset", "hf_config", "arch", "layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab", "seq_len",
        "head_dim", "sliding_window", "tied_embeddings", "dropout", "biases", "positions", "parallel_blocks",
        "mtp_layers", "moe"}},
      {"cluster",
       {"topology", "gpus", "gpu", "gpus_per_node", "nic_bandwidth", "network", "oversubscription",
        "price_per_gpu_hour", "power_limit", "gpu_clock_spread", "memory_reserve", "slow_nodes", "slow_factor",
        "segment", "nodes"}},
      {"plan",
       {"framework", "tp", "pp", "dp", "cp", "ep", "etp", "micro_batch", "global_batch", "schedule", "virtual_stages",
        "sequence_parallel", "zero", "dp_shard", "recompute", "precision", "fp8_recipe", "kernels", "placement"}},
      {"data", {"lengths", "batching", "bin_size"}},
      {"training", {"tokens", "failures", "checkpoint_interval"}},
  };
  std::map<std::string, std::string> elsewhere;
  for (const auto& [name, keys] : kSections) {
    if (name == section) continue;
    for (const auto& key : keys) elsewhere.emplace(key, name);
  }
  for (const auto& key : kSections.count(section) ? kSections.at(section) : std::vector<std::string>{})
    elsewhere.erase(key);
  return elsewhere;
}

Scenario parse_scenario(const YAML::Node& document, const std::string& file, const std::filesystem::path& base,
                        bool check = true) {
  MapReader r(document, file, "");
  Scenario sc;
  sc.file = file;
  sc.name = r.string("name").value_or(std::filesystem::path(file).stem().string());

  // Model: preset, then hf_config, then fields on top.
  auto model = r.map("model");
  if (!model) r.fail_missing("model", "a scenario needs a 'model' (preset, hf_config, or the fields)");
  if (auto preset = model->string("preset")) {
    if (!model_preset_node(*preset)) {
      std::string problem = "no model preset named \"" + *preset + "\"";
      if (const auto hint = name_hint(*preset, model_preset_names()); !hint.empty()) {
        problem += " (did you mean " + hint + "?)";
      } else {
        problem += "; presets:";
        for (const auto& name : model_preset_names()) problem += " " + name;
        problem += "; or give hf_config or the fields (layers, hidden, heads, vocab, seq_len)";
      }
      model->fail("preset", problem);
    }
    sc.model = model_preset(*preset);
  }
  if (auto hf = model->string("hf_config")) {
    if (model->has("preset")) model->fail("hf_config", "give either preset or hf_config, not both");
    const auto path = std::filesystem::path(*hf).is_absolute() ? std::filesystem::path(*hf) : base / *hf;
    // A missing file is this key's fault; an error inside the file keeps the file's location.
    if (!std::filesystem::is_regular_file(path))
      model->fail("hf_config", "no Hugging Face config.json at \"" + *hf + "\"");
    sc.model = load_hf_config(path.string());
  }
  const int preset_ffn = sc.model.ffn_hidden;
  const int preset_kv = sc.model.kv_heads;
  const int preset_hidden = sc.model.hidden;
  const int preset_heads = sc.model.heads;
  read_model_fields(*model, sc.model);
  // A changed width invalidates derived defaults the preset filled in.
  if (sc.model.hidden != preset_hidden && !model->has("ffn_hidden") && preset_ffn != 0) sc.model.ffn_hidden = 0;
  if (sc.model.heads != preset_heads && !model->has("kv_heads") && preset_kv == preset_heads) sc.model.kv_heads = 0;
  if (sc.model.name.empty()) sc.model.name = "custom";
  model->finish(keys_elsewhere("model"));
  complete_model(sc.model, *model);

  // Cluster: a topology, then overrides.
  auto cluster = r.map("cluster");
  if (!cluster) r.fail_missing("cluster", "a scenario needs a 'cluster' (topology and gpus)");
  const auto topology = cluster->string("topology");
  if (!topology) {
    // Name each preset with the GPU it is built on: a user who wrote only `gpu:` sees which to pick.
    std::string presets;
    for (const auto& name : topology_preset_names()) {
      const TopologySpec preset = load_topology(name);
      presets += (presets.empty() ? "" : ", ") + name + " (" + preset.gpu_names() + ")";
    }
    cluster->fail_missing("topology", "the cluster needs a 'topology', a file path or a preset: " + presets);
  }
  try {
    const bool is_path = topology->find('/') != std::string::npos || topology->find(".y") != std::string::npos;
    const auto target =
        is_path && std::filesystem::path(*topology).is_relative() ? (base / *topology).string() : *topology;
    sc.cluster.topology = load_topology(target);
  } catch (const InputError& e) {
    if (!e.where().file.empty()) throw;  // an error inside the topology file keeps its own location
    cluster->fail("topology", e.problem());
  }
  TopologySpec& t = sc.cluster.topology;
  // The topology's power.gpu_limit, or a cap on one of its node groups' GPUs.
  const bool topology_caps =
      t.gpu.power_limit_watts > 0 || std::any_of(t.node_groups.begin(), t.node_groups.end(),
                                                 [](const NodeGroup& g) { return g.gpu.power_limit_watts > 0; });
  std::string cap_key = topology_caps ? "cluster.topology" : "";
  if (cluster->has("gpu")) {
    // A preset, a GPU file (relative to this scenario) or an inline map (gpus.cpp).
    // The system's power cap (a topology's power.gpu_limit) stays unless the GPU sets its own.
    const double system_limit = t.gpu.power_limit_watts;
    t.gpu = read_gpu(*cluster, "gpu", base);
    if (t.gpu.power_limit_watts <= 0) {
      t.gpu.power_limit_watts = system_limit;
    } else {
      cap_key = "cluster.gpu";
    }
    t.node_groups.clear();  // one kind of GPU for the whole cluster
  }
  if (auto v = cluster->integer("gpus_per_node", 1, kMaxNvlinkDomain)) {
    if (!t.node_groups.empty()) {
      cluster->fail("gpus_per_node", "topology " + t.name + " has node_groups; change gpus_per_node in the topology");
    }
    const std::int64_t total = t.total_gpus();
    t.gpus_per_node = static_cast<int>(*v);
    t.nodes = static_cast<int>((total + *v - 1) / *v);
  }
  if (auto v = cluster->integer("segment", 0, t.gpus_per_node)) {
    if (t.gpus_per_host > 0 && *v % t.gpus_per_host != 0)
      cluster->fail("segment", "a segment is whole hosts: a multiple of topology " + t.name + "'s " +
                                   std::to_string(t.gpus_per_host) + " GPUs per host");
    t.segment = static_cast<int>(*v);
  }
  if (auto v = power_limit(*cluster, "power_limit")) {
    t.gpu.power_limit_watts = *v;
    for (auto& group : t.node_groups) group.gpu.power_limit_watts = *v;
    cap_key = "cluster.power_limit";
  }
  if (!cap_key.empty()) {
    const std::string set_at = cap_key.substr(cap_key.find('.') + 1);  // power_limit, gpu or topology
    const auto fail = [&](const std::string& problem) { cluster->fail(set_at, problem); };
    for (auto& w : power_cap_warnings(t, cap_key, fail)) sc.warnings.push_back(std::move(w));
  }
  for (auto& w : sustained_clock_warnings(t, cluster->has("gpu") ? "cluster.gpu" : "cluster.topology")) {
    sc.warnings.push_back(std::move(w));
  }
  if (auto v = link_bandwidth(*cluster, "nic_bandwidth")) t.nic_bandwidth = *v;
  if (auto v = cluster->choice("network", {"fat-tree", "rail-optimized"})) {
    t.fabric = *v == "fat-tree" ? FabricKind::fat_tree : FabricKind::rail_optimized;
  }
  if (auto v = cluster->number("oversubscription", 1, 64)) t.oversubscription = *v;
  if (t.fabric != FabricKind::none && t.nic_bandwidth <= 0) {
    cluster->fail("network", "a network needs nic_bandwidth (per GPU), such as cluster.nic_bandwidth: 400Gb/s");
  }
  if (auto v = cluster->number("price_per_gpu_hour", 0, 1e6)) t.price_per_gpu_hour = *v;
  // A fat tree or rail-optimized fabric is a design that grows: more nodes under more leaves (and
  // spines), as the topology's own nodes_per_leaf and oversubscription say. cluster.nodes sets
  // the size; a job larger than the preset grows it, with a warning. Tori and dragonflies are
  // sized by their dimensions and groups, and clusters of node groups by their groups.
  const bool growable = t.resizable();
  if (auto v = cluster->integer("nodes", 1, kMaxGpus / t.gpus_per_node)) {
    if (!growable) cluster->fail("nodes", t.resize_refusal());
    t.nodes = static_cast<int>(*v);
  }
  sc.cluster.gpus = static_cast<int>(cluster->integer("gpus", 1, kMaxGpus).value_or(t.total_gpus()));
  // A job of more than one segment fills `segment` GPUs of each node (place_in_segments): that
  // many count toward it, and the fabric grows by as many nodes as that takes.
  const bool in_segments = t.segment > 0 && t.segment < t.gpus_per_node && sc.cluster.gpus > t.segment;
  const int job_gpus_per_node = in_segments ? t.segment : t.gpus_per_node;
  if (sc.cluster.gpus > std::int64_t(job_gpus_per_node) * t.nodes && growable) {
    const int before = t.nodes;
    t.nodes = (sc.cluster.gpus + job_gpus_per_node - 1) / job_gpus_per_node;
    sc.warnings.push_back(
        {Finding::Severity::warning, "cluster.gpus",
         "topology " + t.name + " grown from " + std::to_string(before) + " to " + std::to_string(t.nodes) +
             " nodes of " + std::to_string(t.gpus_per_node) + " GPUs" +
             (in_segments ? " (" + std::to_string(job_gpus_per_node) + " of each for the job: its segment)" : "") +
             " for " + std::to_string(sc.cluster.gpus) + " GPUs (its design: " + std::to_string(t.nodes_per_leaf) +
             " nodes per leaf, oversubscription " + units::format_number(t.oversubscription) +
             "; cluster.nodes sets the size)"});
  }
  // Checked again after the overrides: gpus_per_node can split a network-less node in several.
  if (const int job_nodes = (sc.cluster.gpus + t.gpus_per_node - 1) / t.gpus_per_node;
      job_nodes > 1 && t.fabric == FabricKind::none && cluster->has("gpus_per_node")) {
    cluster->fail("gpus_per_node", "topology " + t.name + " has no network, and at " + std::to_string(t.gpus_per_node) +
                                       " GPUs per node the job's " + std::to_string(sc.cluster.gpus) + " GPUs make " +
                                       std::to_string(job_nodes) +
                                       " nodes: give cluster.network and cluster.nic_bandwidth, or a topology "
                                       "with a network (such as dgx-h100-superpod)");
  }
  if (auto v = cluster->integer_list("slow_nodes", 0, kMaxGpus)) sc.cluster.slow_nodes.assign(v->begin(), v->end());
  if (auto v = cluster->number("slow_factor", 1, 1000)) sc.cluster.slow_factor = *v;
  if (auto v = cluster->share("gpu_clock_spread", 0.2)) {
    sc.cluster.clock_spread = *v;
    // A bare 0.1 read as a fraction is 10%, several times what whole clusters were measured at.
    if (*v > 0.05) {
      sc.warnings.push_back({Finding::Severity::warning, "cluster.gpu_clock_spread",
                             "a spread of " + units::format_percent(*v) +
                                 " of the GPUs' clocks, where whole clusters were measured at 1-1.3% "
                                 "(docs/compute-model.md); a bare number is a fraction: write 0.1% for a tenth "
                                 "of a percent"});
    }
  }
  // The reserve, given or the default, must leave something of the smallest GPU.
  double smallest = t.gpu.memory_bytes;
  for (const auto& group : t.node_groups) smallest = std::min(smallest, group.gpu.memory_bytes);
  if (auto v = cluster->bytes("memory_reserve")) {
    if (*v >= smallest) {
      cluster->fail("memory_reserve", "the reserve (" + units::format_bytes(*v) + ") leaves nothing of the GPU's " +
                                          units::format_bytes(smallest));
    }
    sc.cluster.memory_reserve = *v;
  } else {
    // The default reserve (workload/memory.hpp): CUDA context, NCCL buffers, allocator losses.
    if (smallest > 0 && kReserveFixedBytes + kReserveFraction * smallest >= smallest) {
      cluster->fail(cluster->has("gpu") ? "gpu" : "topology",
                    "the GPU's memory (" + units::format_bytes(smallest) +
                        ") is no more than what the CUDA context, NCCL and the allocator keep (" +
                        units::format_bytes(kReserveFixedBytes + kReserveFraction * smallest) +
                        "): check its unit (GiB?), or set cluster.memory_reserve");
    }
  }
  // A job on several GPUs of a node moves data between them over NVLink: a GPU given as a map
  // without it (nvlink_bandwidth 0) would stall every intra-node transfer.
  if (std::min(sc.cluster.gpus, t.gpus_per_node) > 1) {
    const bool no_nvlink =
        t.gpu.nvlink_bandwidth <= 0 || std::any_of(t.node_groups.begin(), t.node_groups.end(),
                                                   [](const NodeGroup& g) { return g.gpu.nvlink_bandwidth <= 0; });
    if (no_nvlink) {
      cluster->fail(cluster->has("gpu") ? "gpu" : "topology",
                    "a job on several GPUs of a node (" + std::to_string(t.gpus_per_node) +
                        " a node here) needs the GPU's nvlink_bandwidth (per GPU, each way), such as 450GB/s");
    }
  }
  if (cluster->has("gpus")) sc.locations["cluster.gpus"] = cluster->location_of("gpus");
  cluster->finish(keys_elsewhere("cluster"));
  place_in_segments(sc.cluster);
  // Stragglers are nodes of the job, as placed (a segment makes its nodes smaller).
  const int job_nodes = (sc.cluster.gpus + t.gpus_per_node - 1) / t.gpus_per_node;
  for (const int node : sc.cluster.slow_nodes) {
    if (node >= job_nodes) {
      cluster->fail("slow_nodes", "node " + std::to_string(node) + " is outside the job's " +
                                      std::to_string(job_nodes) + " nodes (numbered from 0)");
    }
  }
  sc.locations["cluster"] = r.location_of("cluster");

  auto plan = r.map("plan");
  if (!plan) r.fail_missing("plan", "a scenario needs a 'plan' (tp, pp, dp, micro_batch, global_batch, ...)");
  // When the batch arithmetic fails on a job that takes all of the topology because cluster.gpus
  // is not given, that is the likely cause: say so.
  const auto gpus_note = [&](const InputError& e) {
    const bool about_gpus =
        e.problem().find("GPUs") != std::string::npos || e.problem().find("dp") != std::string::npos;
    if (cluster->has("gpus") || !about_gpus || e.key().rfind("plan.", 0) != 0) return e;
    return InputError(e.where(), e.key(),
                      e.problem() + " (cluster.gpus is not given, so the job uses all " +
                          std::to_string(sc.cluster.gpus) + " GPUs of " + sc.cluster.topology.name +
                          ": set cluster.gpus)");
  };
  try {
    read_plan(*plan, sc.cluster, sc.plan, sc.locations);
  } catch (const InputError& e) {
    throw gpus_note(e);
  }
  if (plan->has("placement")) sc.plan.placement = read_placement(document["plan"]["placement"], file);
  if (plan->has("recompute_modules")) {
    const YAML::Node node = document["plan"]["recompute_modules"];
    const auto fail = [&](const YAML::Node& at) {
      std::string names;
      for (const auto& name : kRecomputeModules) names += (names.empty() ? "" : ", ") + name;
      throw InputError(location_of(at, file), "plan.recompute_modules",
                       "expected a list of Megatron-Core recompute modules (" + names + "), found " + describe(at));
    };
    if (!node.IsSequence() || node.size() == 0) fail(node);
    sc.plan.recompute_modules.clear();
    for (const auto& item : node) {
      if (!item.IsScalar() ||
          std::find(kRecomputeModules.begin(), kRecomputeModules.end(), item.Scalar()) == kRecomputeModules.end())
        fail(item);
      sc.plan.recompute_modules.push_back(item.Scalar());
    }
    if (sc.plan.recompute == Recompute::op) {
      // The per-op policy's own choice, plus the attention kernel where its backend is not saved.
      if (sc.plan.recompute_modules != std::vector<std::string>{"core_attn"}) {
        throw InputError(location_of(node, file), "plan.recompute_modules",
                         "with recompute: op, recompute_modules can only be [core_attn] (the attention kernel reruns)");
      }
      sc.plan.op_reruns_attention = true;
    } else if (sc.plan.recompute != Recompute::selective) {
      throw InputError(location_of(node, file), "plan.recompute_modules",
                       "recompute_modules goes with recompute: selective or op");
    }
  }
  if (plan->has("cuda_graphs")) {
    const YAML::Node node = document["plan"]["cuda_graphs"];
    const auto fail = [&](const YAML::Node& at, const std::string& problem) {
      throw InputError(location_of(at, file), "plan.cuda_graphs", problem);
    };
    std::string names;
    for (const auto& name : kCudaGraphScopes) names += (names.empty() ? "" : ", ") + name;
    if (!node.IsSequence())
      fail(node, "expected a list of Megatron-Core CUDA graph scopes (" + names + "), found " + describe(node));
    for (const auto& item : node) {
      if (!item.IsScalar() ||
          std::find(kCudaGraphScopes.begin(), kCudaGraphScopes.end(), item.Scalar()) == kCudaGraphScopes.end())
        fail(item, "expected a list of Megatron-Core CUDA graph scopes (" + names + "), found " + describe(item));
      const std::string scope = item.Scalar();
      if (moe_graph_scope(scope) && !sc.model.moe())
        fail(item, scope + " captures a mixture-of-experts layer, and this model has none (model.moe)");
      if (!sc.plan.graphs(scope)) sc.plan.cuda_graphs.push_back(scope);
    }
    // What Megatron-Core refuses (megatron-core 0.20, TransformerConfig.__post_init__).
    const auto& p = sc.plan;
    if (p.graphs("full_iteration") && p.cuda_graphs.size() > 1)
      fail(node, "full_iteration captures the whole step: list it alone");
    if (p.graphs("moe") && p.graphs("moe_router")) fail(node, "moe already holds the router: list moe or moe_router");
    if (p.graphs("moe_preprocess") && !p.graphs("moe_router"))
      fail(node, "moe_preprocess is captured with the router: add moe_router (Megatron-Core's rule)");
    if (p.graphs("mlp") && !sc.model.has_dense_layers())
      fail(node, "mlp captures a dense layer's MLP, and every layer of this model is a mixture of experts");
    sc.locations["plan.cuda_graphs"] = location_of(node, file);  // for check_plan's findings
  }
  // Fields that only a mixture-of-experts model's experts, or multi-head latent attention, read:
  // on another model they would be ignored, so they are refused (Megatron-Core refuses
  // mla_up_proj without multi_latent_attention too).
  for (const char* key : {"moe_dispatcher", "moe_router_fusion", "expert_gemm"}) {
    if (plan->has(key) && !sc.model.moe()) {
      throw InputError(location_of(document["plan"][key], file), std::string("plan.") + key,
                       "applies to a mixture-of-experts model's experts, and this model has none (model.moe)");
    }
  }
  if (plan->has("recompute_modules")) {
    for (const auto& item : document["plan"]["recompute_modules"]) {
      const std::string name = item.Scalar();
      if (has_recompute_module(sc.model, name)) continue;
      const std::string what = name == "mla_up_proj"      ? "multi-head latent attention's up-projections"
                               : name == "shared_experts" ? "a mixture-of-experts layer's shared experts"
                                                          : "a mixture-of-experts layer's experts";
      throw InputError(location_of(item, file), "plan.recompute_modules",
                       name + " recomputes " + what + ", and this model has none");
    }
  }
  plan->finish(keys_elsewhere("plan"));
  sc.locations["plan"] = r.location_of("plan");

  if (auto data = r.map("data")) {
    sc.data = read_data(*data, sc.model, base);
    data->finish(keys_elsewhere("data"));
  }

  if (auto training = r.map("training")) {
    sc.training.tokens = training->count("tokens", 1, 1e18);
    // A mean time between failures or a checkpoint interval of 0 would divide by zero (Daly's
    // formula); 0 is not "none" here: leave the key out for that.
    const auto positive = [](MapReader& reader, const std::string& key) {
      const auto v = reader.duration(key);
      if (v && *v <= 0) reader.fail(key, "expected a duration above 0, such as 30min (leave the key out for none)");
      return v;
    };
    if (auto failures = training->map("failures")) {
      sc.training.mtbf_per_node_s = positive(*failures, "mtbf_per_node");
      sc.training.gpu_failures_per_day = failures->number("gpu_failures_per_day", 0, 1e3);
      if (sc.training.mtbf_per_node_s && sc.training.gpu_failures_per_day.value_or(0) > 0) {
        failures->fail("gpu_failures_per_day", "give the failure rate once: mtbf_per_node or gpu_failures_per_day");
      }
      if (auto v = failures->duration("restart_time")) sc.training.restart_s = *v;
      failures->finish();
    }
    if (auto v = positive(*training, "checkpoint_interval")) sc.training.checkpoint_interval_s = *v;
    training->finish(keys_elsewhere("training"));
  }
  r.finish();
  if (!check) return sc;

  for (const auto& finding : check_plan(sc.model, sc.cluster, sc.plan)) {
    if (finding.severity == Finding::Severity::warning) {
      sc.warnings.push_back(finding);
      continue;
    }
    const auto it = sc.locations.find(finding.key);
    const SourceLocation where = it != sc.locations.end() ? it->second
                                 : sc.locations.count(finding.key.substr(0, finding.key.find('.')))
                                     ? sc.locations.at(finding.key.substr(0, finding.key.find('.')))
                                     : SourceLocation{file, 0, 0};
    throw gpus_note(InputError(where, finding.key, finding.message));
  }
  return sc;
}

}  // namespace

Scenario load_scenario(const std::string& path) {
  return parse_scenario(load_yaml_file(path), path, std::filesystem::path(path).parent_path());
}

// A job that spans NVLink domains fills `segment` GPUs of each: each node is modelled as that.
void place_in_segments(ClusterSpec& cluster) {
  TopologySpec& t = cluster.topology;
  if (t.segment > 0 && t.segment < t.gpus_per_node && cluster.gpus > t.segment && t.node_groups.empty()) {
    t.gpus_per_node = t.segment;
    t.segment = 0;
  }
}

Scenario load_scenario_document(const YAML::Node& document, const std::string& file) {
  return parse_scenario(document, file, std::filesystem::path(file).parent_path());
}

Scenario load_scenario_unchecked(const YAML::Node& document, const std::string& file) {
  return parse_scenario(document, file, std::filesystem::path(file).parent_path(), false);
}

Scenario load_scenario_text(const std::string& text, const std::string& name, const std::string& base_dir) {
  return parse_scenario(load_yaml_text(text, name), name, base_dir);
}

}  // namespace trainsim
