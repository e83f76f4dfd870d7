#pragma once
// The model: a transformer's shape, and the closed forms that follow from it alone
// (parameter counts, model FLOPs). Per-op work for the simulator lives in workload/.
#include <cstdint>
#include <string>

namespace trainsim {

enum class Arch { gpt, llama, bert };

struct ModelSpec {
  std::string name;
  Arch arch = Arch::gpt;
  int layers = 0;
  int hidden = 0;
  int heads = 0;
  int kv_heads = 0;    // = heads unless grouped-query attention
  int ffn_hidden = 0;  // 4*hidden for gpt/bert; SwiGLU width for llama
  int vocab = 0;
  int seq_len = 0;
  int experts = 0;  // 0: dense MLP; otherwise mixture of experts
  int top_k = 0;
  std::string source;

  int head_dim() const { return hidden / heads; }
  bool swiglu() const { return arch == Arch::llama; }
  bool causal() const { return arch != Arch::bert; }
  bool biases() const { return arch != Arch::llama; }
  bool learned_positions() const { return arch != Arch::llama; }
  bool tied_embeddings() const { return arch != Arch::llama; }
  bool moe() const { return experts > 0; }
  int kv_hidden() const { return kv_heads * head_dim(); }
};

const char* arch_name(Arch arch);

// Parameters of one MLP (one expert of a mixture).
double mlp_parameters(const ModelSpec& m);
// Parameters of one transformer layer (attention, MLP or all experts with router, norms).
double layer_parameters(const ModelSpec& m);
// Parameters of one layer that one token uses (MoE: top_k experts).
double layer_active_parameters(const ModelSpec& m);
// Input embedding (+ learned positions) and, when untied, the output head; final norm.
double embedding_parameters(const ModelSpec& m);
double total_parameters(const ModelSpec& m);
double active_parameters(const ModelSpec& m);

// Model FLOPs per token of training, no recomputation (the MFU numerator):
// 6 * active parameters + attention scores and values, 12 * layers * hidden * seq_len * (1/2 if causal).
// Same convention as ../shared/calibration ("6*params*tokens + 6*l*h*s^2*B" for causal GPT).
double model_flops_per_token(const ModelSpec& m);
// The same for one sequence of `length` tokens whose queries each attend to `span` keys (the
// length itself, or less in a row of packed sequences); attention grows with length x span.
double model_flops_per_sequence(const ModelSpec& m, double length, double span);
inline double model_flops_per_sequence(const ModelSpec& m, double length) {
  return model_flops_per_sequence(m, length, length);
}

// Narayanan et al., SC'21, Eq. 3: FLOPs of one iteration of batch B with full recomputation,
// 96*B*s*l*h^2*(1 + s/(6h) + V/(16*l*h)); 72 instead of 96 without recomputation.
// (GPT with 4h MLP and no GQA: the shape the paper assumes.)
double megatron_eq3_flops(const ModelSpec& m, double batch_sequences, bool full_recompute);

}  // namespace trainsim
