#include "scenario/model.hpp"

namespace trainsim {

const char* arch_name(Arch arch) {
  switch (arch) {
    case Arch::gpt: return "gpt";
    case Arch::llama: return "llama";
    case Arch::bert: return "bert";
  }
  return "?";
}

double mlp_parameters(const ModelSpec& m) {
  const double h = m.hidden;
  const double f = m.ffn_hidden;
  if (m.swiglu()) return 3 * h * f;  // gate, up, down; no biases in Llama
  return 2 * h * f + (m.biases() ? f + h : 0);
}

namespace {
double attention_parameters(const ModelSpec& m) {
  const double h = m.hidden;
  const double kv = m.kv_hidden();
  const double weights = h * (h + 2 * kv) + h * h;  // QKV projection, output projection
  return weights + (m.biases() ? h + 2 * kv + h : 0);
}
double norm_parameters(const ModelSpec& m) { return m.arch == Arch::llama ? m.hidden : 2.0 * m.hidden; }
}  // namespace

double layer_parameters(const ModelSpec& m) {
  const double experts = m.moe() ? m.experts : 1;
  const double router = m.moe() ? double(m.hidden) * m.experts : 0;
  return attention_parameters(m) + experts * mlp_parameters(m) + router + 2 * norm_parameters(m);
}

double layer_active_parameters(const ModelSpec& m) {
  const double experts = m.moe() ? m.top_k : 1;
  const double router = m.moe() ? double(m.hidden) * m.experts : 0;
  return attention_parameters(m) + experts * mlp_parameters(m) + router + 2 * norm_parameters(m);
}

double embedding_parameters(const ModelSpec& m) {
  double p = double(m.vocab) * m.hidden;
  if (m.learned_positions()) p += double(m.seq_len) * m.hidden;
  if (!m.tied_embeddings()) p += double(m.vocab) * m.hidden;
  return p + norm_parameters(m);
}

double total_parameters(const ModelSpec& m) { return m.layers * layer_parameters(m) + embedding_parameters(m); }

double active_parameters(const ModelSpec& m) {
  return m.layers * layer_active_parameters(m) + embedding_parameters(m);
}

double model_flops_per_sequence(const ModelSpec& m, double length, double span) {
  // The input embedding is a lookup, not a matmul: count the output head once in its place,
  // whether or not it is tied; positions and norms are negligible and left in.
  const double matmul_parameters = active_parameters(m) - (m.tied_embeddings() ? 0.0 : double(m.vocab) * m.hidden);
  const double attention = 12.0 * m.layers * m.hidden * span * (m.causal() ? 0.5 : 1.0);
  return (6.0 * matmul_parameters + attention) * length;
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
