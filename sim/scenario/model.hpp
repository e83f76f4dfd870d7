#pragma once
// The model: a transformer's shape, and the closed forms that follow from it alone
// (parameter counts, model FLOPs). Per-op work for the simulator lives in workload/.
#include <cstdint>
#include <string>

namespace trainsim {

enum class Arch { gpt, llama, bert };

// How a model knows token order: a learned table of seq_len x hidden added to the embedding (GPT-2,
// GPT-3, BERT), rotary embeddings of queries and keys (RoFormer; Llama and most since), or ALiBi's
// per-head linear bias on the attention scores (Press et al. 2022; BLOOM, the released MPT models,
// Falcon-RW; llm-foundry's benchmark yamls leave MptConfig's learned table on): no table, no
// kernel of its own (the attention kernel adds the bias: Megatron-DeepSpeed through baddbmm's
// input, FlashAttention-2 and llm-foundry's Triton kernel from the heads' slopes).
enum class Positions { by_arch, learned, rotary, alibi };

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
  int experts = 0;  // 0: dense MLP; otherwise mixture of experts (routed experts)
  int top_k = 0;
  // Mixtures of experts as trained in 2024-25 (DeepSeek-V3, Qwen3-MoE; Megatron-Core's options):
  int shared_experts = 0;     // experts every token goes through (a dense MLP of shared x expert_ffn)
  int expert_ffn_hidden = 0;  // 0: ffn_hidden; fine-grained experts are narrower (DeepSeek-V3: 2048)
  int dense_layers = 0;       // the first k layers have a dense MLP of ffn_hidden (DeepSeek-V3: 3)
  // Experts in every p-th layer only (layers p, 2p, ... counting from 1), a dense MLP of ffn_hidden
  // in the others: Llama 4 Maverick alternates, p = 2 (Hugging Face's interleave_moe_layer_step,
  // Megatron-Core's --moe-layer-freq "([0,1]*24)", NeMo's Llama4Experts128Config).
  int moe_layer_frequency = 1;
  // The most loaded expert-parallel rank's routed tokens / the mean (or a capacity factor, the
  // most any rank may take): its expert GEMMs and dispatch all-to-all scale by it. 1: balanced
  // (Megatron's --moe-router-force-load-balancing, the aux-loss-free balancing of DeepSeek-V3).
  double imbalance = 1.0;
  int head_size = 0;  // 0: hidden / heads; Qwen3 has 64 heads of 128 with hidden 4096
  // Multi-head latent attention (DeepSeek-V2/V3, arXiv:2405.04434): queries and keys/values go
  // through low-rank down projections (q_lora_rank 0: a full query projection); each head's query
  // and key are qk_nope + qk_rope wide, its value v_head_dim.
  bool mla = false;
  int q_lora_rank = 0, kv_lora_rank = 0, qk_rope_head_dim = 0, qk_nope_head_dim = 0, v_head_dim = 0;
  int sliding_window = 0;  // tokens a query attends back to (Mistral 7B: 4096); 0: all
  // With a sliding window: 1, every layer has it; p > 1, every p-th layer attends to the whole
  // sequence and the others to the window (Gemma 2: 2, alternating; Gemma 3: 6).
  int sliding_window_pattern = 1;
  int tie_embeddings = -1;  // the output head shares the input embedding: 1, 0; -1: by arch
  // What the arch implies unless the model says otherwise (1, 0; -1: by arch): dropout in
  // training, rotary rather than learned positions, biases beside the weight matrices.
  // Nemotron-4 is GPT-shaped (LayerNorm, an ungated MLP) with RoPE, no biases and no dropout.
  int dropout_on = -1, biases_on = -1;
  Positions positions = Positions::by_arch;  // by_arch: learned for gpt and bert, rotary for llama
  // Multi-token prediction modules (DeepSeek-V3 section 2.2: depth 1): each a projection of the
  // normed hidden state and next token's embedding (2h -> h), one more transformer layer, and the
  // shared output head and loss, on the last pipeline stage (Megatron-Core --mtp-num-layers).
  int mtp_layers = 0;
  // Attention and MLP side by side on the layer's input, their outputs added to it (GPT-J;
  // GPT-NeoX's use_parallel_residual, Black et al. 2022 section 2.1; PaLM, Chowdhery et al. 2022
  // section 2, "Parallel Layers"; Falcon's parallel_attn), where the sequential block feeds the
  // attention's output to the MLP. Under tensor parallelism the two branches' partial outputs are
  // summed by one reduction instead of two; as GPT-NeoX builds the block (megatron/model/
  // transformer.py, gpt_j_residual), each branch's first linear layer still takes its own copy of
  // its input, so its gather (sequence parallelism) and its input gradient's reduction stay: 3 of
  // the sequential block's 4 exchanges a layer.
  bool parallel_blocks = false;
  // BERT's masked-LM head: only over the masked positions (Google's TensorFlow BERT gathers them
  // first; NVIDIA DeepLearningExamples' PyTorch BERT since March 2022, its "dense sequence
  // output", on by default), or over every position (Hugging Face's BertForPreTraining, and
  // DeepLearningExamples before 2022: [batch, seq, vocab] logits, the loss ignoring the rest).
  bool mlm_masked_only = true;
  std::string source;

  int head_dim() const { return head_size > 0 ? head_size : hidden / heads; }
  // Head dims of the attention core: query/key and value (MLA: nope + rope, and v_head_dim).
  int qk_head_dim() const { return mla ? qk_nope_head_dim + qk_rope_head_dim : head_dim(); }
  int v_dim() const { return mla ? v_head_dim : head_dim(); }
  int expert_ffn() const { return expert_ffn_hidden > 0 ? expert_ffn_hidden : ffn_hidden; }
  // Whether layer `index` (from 0, in model order) has the experts: past the first dense_layers,
  // every moe_layer_frequency-th.
  bool moe_layer(int index) const {
    return experts > 0 && index >= dense_layers && (index + 1) % moe_layer_frequency == 0;
  }
  // Layers whose MLP is a mixture of experts (the rest have a dense MLP of ffn_hidden).
  int moe_layers() const { return experts > 0 ? layers / moe_layer_frequency - dense_layers / moe_layer_frequency : 0; }
  // Whether any layer has a dense MLP (every layer of a dense model; a MoE model's first or
  // interleaved dense layers).
  bool has_dense_layers() const { return moe_layers() < layers; }
  bool swiglu() const { return arch == Arch::llama; }
  bool causal() const { return arch != Arch::bert; }
  bool biases() const { return biases_on >= 0 ? biases_on == 1 : arch != Arch::llama; }
  // Dropout in training (GPT-2/3 and BERT: 0.1); Llama-family models train without it (NeMo
  // 2.3.1's Llama configs: hidden_dropout and attention_dropout 0.0), so keep no dropout masks.
  bool dropout() const { return dropout_on >= 0 ? dropout_on == 1 : arch != Arch::llama; }
  // Tensors of one norm: RMSNorm a scale, LayerNorm a scale and a shift.
  int norm_tensors() const { return arch == Arch::llama ? 1 : 2; }
  bool learned_positions() const {
    return positions == Positions::by_arch ? arch != Arch::llama : positions == Positions::learned;
  }
  bool rotary_positions() const {
    return positions == Positions::by_arch ? arch == Arch::llama : positions == Positions::rotary;
  }
  bool tied_embeddings() const { return tie_embeddings >= 0 ? tie_embeddings == 1 : arch != Arch::llama; }
  bool moe() const { return experts > 0; }
  // Positions the output head and loss run over, as a share of the tokens: BERT's masked-LM head
  // on the masked positions only predicts 15% of them (Devlin et al. 2019, section 3.1).
  double head_token_share() const { return arch == Arch::bert && mlm_masked_only ? 0.15 : 1.0; }
  int kv_hidden() const { return kv_heads * head_dim(); }
};

const char* arch_name(Arch arch);
const char* positions_name(Positions positions);  // as a scenario writes it; "" for by_arch

// Parameters of one MLP `width` wide (SwiGLU: gate, up and down).
double mlp_parameters(const ModelSpec& m, double width);
// Parameters of one MLP (one routed expert of a mixture: expert_ffn wide).
double mlp_parameters(const ModelSpec& m);
// Attention: projections (MLA: down and up projections and their norms) and their biases.
double attention_parameters(const ModelSpec& m);
// Parameters of one transformer layer (attention, MLP or all experts with router and shared
// experts, norms); of a MoE model, one MoE layer.
double layer_parameters(const ModelSpec& m);
// One of the first dense_layers of a MoE model (a dense MLP of ffn_hidden); = layer_parameters
// for a dense model.
double dense_layer_parameters(const ModelSpec& m);
// The routed experts' share of layer_parameters (experts * expert MLP; 0 for a dense model).
double routed_expert_parameters(const ModelSpec& m);
// Parameters of one (MoE) layer that one token uses (top_k routed experts and the shared ones).
double layer_active_parameters(const ModelSpec& m);
// Input embedding (+ learned positions) and, when untied, the output head; final norm.
double embedding_parameters(const ModelSpec& m);
double total_parameters(const ModelSpec& m);
// Whether the model has what a Megatron-Core recompute module reruns: moe_act and moe need
// experts, shared_experts shared ones, mla_up_proj multi-head latent attention.
bool has_recompute_module(const ModelSpec& m, const std::string& module);
double active_parameters(const ModelSpec& m);

// Keys one query attends to on average in a sequence of `span` keys: span/2 when causal (span
// without the mask), a sliding window's w - w^2/(2 span) when causal and shorter than the span.
double attended_keys(const ModelSpec& m, double span);
// The keys one query would attend to if the causal mask cut nothing: the span, or a sliding-window
// layer's whole window (PaLM's MFU convention, Chowdhery et al. 2022, appendix B).
double unmasked_keys(const ModelSpec& m, double span);

// Model FLOPs per token of training, no recomputation (the MFU numerator):
// 6 * active parameters + attention scores and values, 6 * layers * heads * (d_qk + d_v) * keys
// (12 * layers * hidden * seq_len / 2 for causal multi-head attention), as Megatron-Core's
// num_floating_point_operations counts them (routed top-k and shared experts, dense layers, MLA).
// Same convention as ../shared/calibration ("6*params*tokens + 6*l*h*s^2*B" for causal GPT).
double model_flops_per_token(const ModelSpec& m);
// The same for one sequence of `length` tokens whose queries each attend to `span` keys (the
// length itself, or less in a row of packed sequences); attention grows with length x span.
double model_flops_per_sequence(const ModelSpec& m, double length, double span);
inline double model_flops_per_sequence(const ModelSpec& m, double length) {
  return model_flops_per_sequence(m, length, length);
}
// The same with attention counted over unmasked_keys: what PaLM's convention calls model FLOPs.
double model_flops_per_sequence_unmasked(const ModelSpec& m, double length, double span);
inline double model_flops_per_sequence_unmasked(const ModelSpec& m, double length) {
  return model_flops_per_sequence_unmasked(m, length, length);
}

// Narayanan et al., SC'21, Eq. 3: FLOPs of one iteration of batch B with full recomputation,
// 96*B*s*l*h^2*(1 + s/(6h) + V/(16*l*h)); 72 instead of 96 without recomputation.
// (GPT with 4h MLP and no GQA: the shape the paper assumes.)
double megatron_eq3_flops(const ModelSpec& m, double batch_sequences, bool full_recompute);

}  // namespace trainsim
