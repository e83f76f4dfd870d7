#include "gpt.hpp"

#include <cmath>

namespace trainsim::exec {

BlockImpl::BlockImpl(const GptShape& s) : heads(s.heads) {
  const int h = s.hidden;
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
  qkv = register_module("qkv", torch::nn::Linear(h, 3 * h));
  proj = register_module("proj", torch::nn::Linear(h, h));
  ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
  fc = register_module("fc", torch::nn::Linear(h, 4 * h));
  fc_proj = register_module("fc_proj", torch::nn::Linear(4 * h, h));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
  const auto B = x.size(0), T = x.size(1), C = x.size(2);
  const auto d = C / heads;
  // Attention: [B, T, 3C] -> q, k, v [B, heads, T, d]; causal softmax(q k^T / sqrt(d)) v.
  auto parts = qkv(ln1(x)).split(C, 2);
  auto q = parts[0].view({B, T, heads, d}).transpose(1, 2);
  auto k = parts[1].view({B, T, heads, d}).transpose(1, 2);
  auto v = parts[2].view({B, T, heads, d}).transpose(1, 2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(d));
  const auto mask = torch::ones({T, T}, torch::kBool).triu(1);
  scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  auto y = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).contiguous().view({B, T, C});
  auto h = x + proj(y);
  // MLP: 4h GELU (tanh approximation, as GPT-2).
  return h + fc_proj(torch::gelu(fc(ln2(h)), "tanh"));
}

GptImpl::GptImpl(const GptShape& s) : shape(s) {
  wte = register_module("wte", torch::nn::Embedding(s.vocab, s.hidden));
  wpe = register_module("wpe", torch::nn::Embedding(s.seq_len, s.hidden));
  for (int l = 0; l < s.layers; ++l) blocks.push_back(register_module("block" + std::to_string(l), Block(s)));
  ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({s.hidden})));
  // GPT-2's initialisation: weights N(0, 0.02), biases 0, norms 1.
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    if (name.find("ln") != std::string::npos) p.fill_(name.find("bias") != std::string::npos ? 0.0 : 1.0);
    else if (name.find("bias") != std::string::npos) p.zero_();
    else p.normal_(0.0, 0.02);
  }
}

torch::Tensor GptImpl::forward(const torch::Tensor& tokens) {
  const auto T = tokens.size(1);
  auto x = wte(tokens) + wpe(torch::arange(T, torch::kLong));
  for (auto& block : blocks) x = block(x);
  // Tied output head: logits = ln_f(x) W_te^T.
  return torch::matmul(ln_f(x), wte->weight.t());
}

}  // namespace trainsim::exec
