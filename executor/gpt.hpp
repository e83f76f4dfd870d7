#pragma once
// A GPT (LayerNorm, GELU MLP of 4h, learned positions, causal attention, tied embeddings),
// written out block by block so every buffer and FLOP can be followed (llm.c style).
#include <torch/torch.h>

namespace trainsim::exec {

struct GptShape {
  int layers = 2, hidden = 128, heads = 4, vocab = 512, seq_len = 64;
};

struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(const GptShape& s);
  torch::Tensor forward(const torch::Tensor& x);
  int heads;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc{nullptr}, fc_proj{nullptr};
};
TORCH_MODULE(Block);

struct GptImpl : torch::nn::Module {
  explicit GptImpl(const GptShape& s);
  // tokens [B, T] -> logits [B, T, vocab]
  torch::Tensor forward(const torch::Tensor& tokens);
  GptShape shape;
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(Gpt);

}  // namespace trainsim::exec
