#include "scenario/model.hpp"

#include <algorithm>

namespace trainsim {

const char* arch_name(Arch arch) {
  switch (arch) {
    case Arch::gpt:
      return "gpt";
    case Arch::llama:
      return "llama";
    case Arch::bert:
      return "bert";
  }
  return "?";
}

const char* positions_name(Positions positions) {
  switch (positions) {
    case Positions::by_arch:
      return "";
    case Positions::learned:
      return "learned";
    case Positions::rotary:
      return "rotary";
    case Positions::alibi:
      return "alibi";
  }
  return "?";
}

double mlp_parameters(const ModelSpec& m, double width) {
  const double h = m.hidden;
  if (m.swiglu()) return 3 * h * width;  // gate, up, down; no biases in Llama
  return 2 * h * width + (m.biases() ? width + h : 0);
}

double mlp_parameters(const ModelSpec& m) { return mlp_parameters(m, m.moe() ? m.expert_ffn() : m.ffn_hidden); }

double attention_parameters(const ModelSpec& m) {
  const double h = m.hidden;
  const double heads = m.heads;
  if (m.mla) {
    // DeepSeek-V3's modeling_deepseek.py: q_a_proj, q_a_layernorm, q_b_proj (or one q_proj);
    // kv_a_proj_with_mqa (the compressed KV and the shared rope key), kv_a_layernorm, kv_b_proj
    // (per-head nope keys and values); o_proj. No biases.
    const double qk = m.qk_head_dim();
    const double q =
        m.q_lora_rank > 0 ? h * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * heads * qk : h * heads * qk;
    const double kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank +
                      double(m.kv_lora_rank) * heads * (m.qk_nope_head_dim + m.v_head_dim);
    return q + kv + heads * m.v_head_dim * h;
  }
  const double q = heads * m.head_dim();  // = hidden unless the head dim is given (Qwen3)
  const double kv = m.kv_hidden();
  const double weights = h * (q + 2 * kv) + q * h;  // QKV projection, output projection
  return weights + (m.biases() ? q + 2 * kv + h : 0);
}

namespace {
double norm_parameters(const ModelSpec& m) { return double(m.norm_tensors()) * m.hidden; }
double router_parameters(const ModelSpec& m) { return m.moe() ? double(m.hidden) * m.experts : 0; }
}  // namespace

double dense_layer_parameters(const ModelSpec& m) {
  return attention_parameters(m) + mlp_parameters(m, m.ffn_hidden) + 2 * norm_parameters(m);
}

double routed_expert_parameters(const ModelSpec& m) { return m.moe() ? m.experts * mlp_parameters(m) : 0; }

double layer_parameters(const ModelSpec& m) {
  if (!m.moe()) return dense_layer_parameters(m);
  return attention_parameters(m) + (m.experts + m.shared_experts) * mlp_parameters(m) + router_parameters(m) +
         2 * norm_parameters(m);
}

double layer_active_parameters(const ModelSpec& m) {
  if (!m.moe()) return dense_layer_parameters(m);
  return attention_parameters(m) + (m.top_k + m.shared_experts) * mlp_parameters(m) + router_parameters(m) +
         2 * norm_parameters(m);
}

double embedding_parameters(const ModelSpec& m) {
  double p = double(m.vocab) * m.hidden;
  if (m.learned_positions()) p += double(m.seq_len) * m.hidden;
  if (!m.tied_embeddings()) p += double(m.vocab) * m.hidden;
  return p + norm_parameters(m);
}

double total_parameters(const ModelSpec& m) {
  return (m.layers - m.moe_layers()) * dense_layer_parameters(m) + m.moe_layers() * layer_parameters(m) +
         embedding_parameters(m);
}

bool has_recompute_module(const ModelSpec& m, const std::string& module) {
  if (module == "moe_act" || module == "moe") return m.moe();
  if (module == "shared_experts") return m.moe() && m.shared_experts > 0;
  if (module == "mla_up_proj") return m.mla;
  return true;
}

double active_parameters(const ModelSpec& m) {
  return (m.layers - m.moe_layers()) * dense_layer_parameters(m) + m.moe_layers() * layer_active_parameters(m) +
         embedding_parameters(m);
}

namespace {

// A per-layer count of keys over the model's layers: where a sliding window holds on all but every
// p-th layer, the mean of the windowed layers' and the global layers' counts.
template <class Keys>
double over_the_layers(const ModelSpec& m, double span, const Keys& keys) {
  if (m.sliding_window <= 0 || m.sliding_window_pattern <= 1) return keys(m, span);
  ModelSpec windowed = m, global = m;
  windowed.sliding_window_pattern = 1;
  global.sliding_window = 0;
  const double p = m.sliding_window_pattern;
  return (p - 1) / p * keys(windowed, span) + keys(global, span) / p;
}

}  // namespace

double attended_keys(const ModelSpec& m, double span) {
  return over_the_layers(m, span, [](const ModelSpec& layer, double s) {
    const double w = layer.sliding_window;
    if (!layer.causal()) return w > 0 ? std::min(s, w) : s;
    if (w <= 0 || w >= s) return s / 2;
    // Query i attends to min(i + 1, w) keys: s*w - w^2/2 in all, over s queries.
    return w - w * w / (2 * s);
  });
}

double unmasked_keys(const ModelSpec& m, double span) {
  return over_the_layers(m, span, [](const ModelSpec& layer, double s) {
    return layer.sliding_window > 0 ? std::min(s, double(layer.sliding_window)) : s;
  });
}

namespace {

// Model FLOPs of a sequence of `length` tokens whose queries each attend to `keys` keys.
double model_flops(const ModelSpec& m, double length, double keys) {
  // The input embedding is a lookup, not a matmul: count the output head once in its place,
  // whether or not it is tied. Learned positions are a lookup too, and not negligible: GPT's at
  // 8192 tokens are 1.3% of a 1.3B model, which put model FLOPs above the kernels' count. Norms
  // are negligible and left in. The head runs on the tokens that predict: a masked language
  // model's masked ones only (head_token_share).
  const double head = double(m.vocab) * m.hidden;
  const double positions = m.learned_positions() ? double(m.seq_len) * m.hidden : 0.0;
  const double matmul_parameters =
      active_parameters(m) - positions - (m.tied_embeddings() ? 0.0 : head) - (1.0 - m.head_token_share()) * head;
  // Scores (d_qk) and values (d_v): 2 FLOPs per multiply-add, x3 for forward and backward.
  // Each multi-token prediction module: its projection, one (MoE) layer and the output head again.
  const double mtp_parameters =
      m.mtp_layers * (2.0 * m.hidden * m.hidden + layer_active_parameters(m) + double(m.vocab) * m.hidden);
  const double attention = 6.0 * (m.layers + m.mtp_layers) * m.heads * double(m.qk_head_dim() + m.v_dim()) * keys;
  return (6.0 * (matmul_parameters + mtp_parameters) + attention) * length;
}

}  // namespace

double model_flops_per_sequence(const ModelSpec& m, double length, double span) {
  return model_flops(m, length, attended_keys(m, span));
}

double model_flops_per_sequence_unmasked(const ModelSpec& m, double length, double span) {
  return model_flops(m, length, unmasked_keys(m, span));
}

double model_flops_per_token(const ModelSpec& m) { return model_flops_per_sequence(m, m.seq_len) / m.seq_len; }

double megatron_eq3_flops(const ModelSpec& m, double batch_sequences, bool full_recompute) {
  const double s = m.seq_len;
  const double l = m.layers;
  const double h = m.hidden;
  const double v = m.vocab;
  const double factor = full_recompute ? 96.0 : 72.0;
  return factor * batch_sequences * s * l * h * h * (1 + s / (6 * h) + v / (16 * l * h));
}

}  // namespace trainsim
