#include "model.hpp"

#include <atomic>
#include <cmath>
#include <functional>
#include <mutex>

namespace trainsim::exec {

namespace F = torch::nn::functional;

// ---- Recomputation ----

namespace {

using Fn = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The functions waiting for their backward pass, by id (an autograd context
// holds only IValues). Shared by all threads: on a GPU the backward pass runs
// on the autograd engine's device thread, not the one that ran forward.
std::mutex pending_mutex;
std::map<int64_t, Fn>& pending() {
  static std::map<int64_t, Fn> functions;
  return functions;
}

struct Recomputed : torch::autograd::Function<Recomputed> {
  static torch::Tensor forward(AutogradContext* ctx, torch::TensorList inputs, int64_t id) {
    ctx->save_for_backward(inputs.vec());
    ctx->saved_data["id"] = id;
    c10::List<bool> needs;
    for (const auto& t : inputs) needs.push_back(t.requires_grad());
    ctx->saved_data["needs"] = needs;
    torch::NoGradGuard no_grad;
    Fn fn;
    {
      std::lock_guard<std::mutex> lock(pending_mutex);
      fn = pending().at(id);
    }
    return fn(inputs.vec());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const int64_t id = ctx->saved_data["id"].toInt();
    const auto needs = ctx->saved_data["needs"].toBoolList();
    std::vector<torch::Tensor> inputs;
    const auto saved = ctx->get_saved_variables();
    for (std::size_t i = 0; i < saved.size(); ++i) inputs.push_back(saved[i].detach().requires_grad_(needs[i]));
    Fn fn;
    {
      std::lock_guard<std::mutex> lock(pending_mutex);
      fn = std::move(pending().at(id));
      pending().erase(id);
    }
    torch::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = fn(inputs);
    }
    // Gradients of the parameters inside fn accumulate in their .grad, as in a
    // normal backward.
    torch::autograd::backward({out}, {grad[0]});
    variable_list result;
    for (const auto& t : inputs) result.push_back(t.requires_grad() ? t.grad() : torch::Tensor());
    result.emplace_back();
    return result;
  }
};

}  // namespace

torch::Tensor recomputed(const Fn& fn, const std::vector<torch::Tensor>& inputs) {
  if (!torch::GradMode::is_enabled()) return fn(inputs);
  static std::atomic<int64_t> next_id{0};
  const int64_t id = next_id++;
  {
    std::lock_guard<std::mutex> lock(pending_mutex);
    pending()[id] = fn;
  }
  return Recomputed::apply(torch::TensorList(inputs),
                           id);  // an ArrayRef: autograd sees tensors, not one opaque vector
}

// ---- Layers ----

namespace {

torch::Tensor dense(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {}) {
  return b.defined() ? F::linear(x, w, b) : F::linear(x, w);
}

// In fp32 whatever the activations' precision: a mean of squares in bf16 loses
// the small components.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w) {
  const auto xf = x.to(torch::kFloat);
  return (xf * torch::rsqrt(xf.pow(2).mean(-1, true) + 1e-5)).to(x.dtype()) * w;
}

// Rotary positions (Su et al. 2021) in the half-split layout of GPT-NeoX and
// Hugging Face Llama.
torch::Tensor rotary(const torch::Tensor& x) {  // x [B, heads, T, d]
  const int64_t T = x.size(2), d = x.size(3);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
  const auto inv_freq = torch::pow(10000.0, -torch::arange(0, d, 2, opts) / double(d));
  const auto angles = torch::outer(torch::arange(T, opts), inv_freq);  // [T, d/2]
  const auto cos = torch::cat({angles.cos(), angles.cos()}, -1).to(x.dtype());
  const auto sin = torch::cat({angles.sin(), angles.sin()}, -1).to(x.dtype());
  const auto halves = x.chunk(2, -1);
  return x * cos + torch::cat({-halves[1], halves[0]}, -1) * sin;
}

}  // namespace

// The layers [first, last) of the model on this rank, plus the embedding and/or
// head.
class Chunk {
 public:
  Chunk(Model& m, int first, int last, bool embedding, bool head) : m_(m), embedding_(embedding), head_(head) {
    const auto& s = m.shape_;
    const int h = s.hidden, d = s.head_dim();
    // No key bias: softmax ignores it, so its gradient is zero up to rounding,
    // and Adam would turn that rounding noise into full-size steps that differ
    // between parallel layouts.
    const bool bias = s.arch != Arch::llama;
    const bool sp = m.sp_;
    auto norm = [&](const std::string& name) {
      Norm n{m.add(name + ".weight", {h}, -1, "one", sp), {}};
      if (s.arch != Arch::llama) n.b = m.add(name + ".bias", {h}, -1, "zero", sp);
      return n;
    };
    if (embedding) {
      wte_ = m.add("embedding.wte", {s.vocab, h}, 0, "normal", false);
      if (s.arch != Arch::llama) wpe_ = m.add("embedding.wpe", {s.seq_len, h}, -1, "normal", sp);
      if (s.arch == Arch::bert) embedding_norm_ = norm("embedding.norm");
    }
    for (int l = first; l < last; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      Layer L;
      L.recomputed = fully_recomputed(m.recompute_, m.recompute_fraction_, l);
      L.norm1 = norm(p + "norm1");
      L.norm2 = norm(p + "norm2");
      L.wq = m.add(p + "attn.q.weight", {s.heads * d, h}, 0, "normal", false);
      L.wk = m.add(p + "attn.k.weight", {s.kv_heads * d, h}, 0, "normal", false);
      L.wv = m.add(p + "attn.v.weight", {s.kv_heads * d, h}, 0, "normal", false);
      L.wo = m.add(p + "attn.out.weight", {h, s.heads * d}, 1, "normal", false);
      if (bias) {
        L.bq = m.add(p + "attn.q.bias", {s.heads * d}, 0, "zero", false);
        L.bv = m.add(p + "attn.v.bias", {s.kv_heads * d}, 0, "zero", false);
        L.bo = m.add(p + "attn.out.bias", {h}, -1, "zero", sp);
      }
      if (s.arch == Arch::llama) {
        L.w_gate = m.add(p + "mlp.gate.weight", {s.ffn, h}, 0, "normal", false);
      }
      L.w_up = m.add(p + "mlp.up.weight", {s.ffn, h}, 0, "normal", false);
      L.w_down = m.add(p + "mlp.down.weight", {h, s.ffn}, 1, "normal", false);
      if (bias) {
        L.b_up = m.add(p + "mlp.up.bias", {s.ffn}, 0, "zero", false);
        L.b_down = m.add(p + "mlp.down.bias", {h}, -1, "zero", sp);
      }
      layers_.push_back(L);
    }
    if (head) {
      if (s.arch == Arch::bert) {
        classifier_ = m.add("head.classifier.weight", {s.labels, h}, -1, "normal", false);
        classifier_b_ = m.add("head.classifier.bias", {s.labels}, -1, "zero", false);
      } else {
        final_norm_ = norm("head.norm");
        // gpt ties the output projection to the token embedding (the same name:
        // the same tensor on this rank; a copy kept in step on another pipeline
        // stage).
        lm_head_ = s.arch == Arch::gpt ? m.add("embedding.wte", {s.vocab, h}, 0, "normal", false)
                                       : m.add("head.lm.weight", {s.vocab, h}, 0, "normal", false);
      }
    }
  }

  torch::Tensor forward(torch::Tensor x, const MicroBatch& mb) {
    if (embedding_) x = embed(mb.tokens);
    for (const auto& L : layers_) {
      if (L.recomputed) {
        x = recomputed([&](const std::vector<torch::Tensor>& in) { return layer(L, in[0], in[1]); }, {x, mb.real});
      } else {
        x = layer(L, x, mb.real);
      }
    }
    return head_ ? loss(x, mb) : x;
  }

 private:
  struct Norm {
    torch::Tensor w, b;
  };
  struct Layer {
    bool recomputed = false;  // fully recomputed in backward (recompute full, recompute_fraction)
    Norm norm1, norm2;
    torch::Tensor wq, wk, wv, wo, bq, bv, bo, w_gate, w_up, w_down, b_up, b_down;
  };

  const Group& tp() const { return m_.mesh_.tp(); }
  torch::Tensor norm(const Norm& n, const torch::Tensor& x) const {
    if (!n.b.defined()) return rms_norm(x, n.w);
    return F::layer_norm(x, F::LayerNormFuncOptions({x.size(-1)}).weight(n.w).bias(n.b).eps(1e-5));
  }
  // Into a column-parallel GEMM: the full sequence on every rank of the group.
  torch::Tensor enter(const torch::Tensor& x) const {
    return m_.sp_ ? gather_along(x, tp(), 1) : copy_to_group(x, tp());
  }
  // Out of a row-parallel GEMM: sum the partial products (and split the
  // sequence again).
  torch::Tensor leave(const torch::Tensor& x) const {
    return m_.sp_ ? reduce_scatter_along(x, tp(), 1) : reduce_from_group(x, tp());
  }
  // A row-parallel GEMM: the bias is added once, after the partial products are
  // summed (inside the GEMM when there is one rank).
  torch::Tensor row_parallel(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const {
    if (tp().size() == 1) return dense(x, w, b);
    const auto out = leave(dense(x, w));
    return b.defined() ? out + b : out;
  }
  // This rank's part of the sequence dimension under sequence parallelism.
  torch::Tensor seq_slice(const torch::Tensor& x, int64_t dim) const {
    if (!m_.sp_) return x;
    const int64_t part = x.size(dim) / tp().size();
    return x.narrow(dim, tp().rank() * part, part);
  }

  // Vocab-parallel lookup: each rank holds rows [v0, v0 + V/t) and contributes
  // zeros elsewhere.
  torch::Tensor embed(const torch::Tensor& tokens) const {
    torch::Tensor x;
    if (tp().size() == 1) {
      x = F::embedding(tokens, wte_);
    } else {
      const int64_t rows = wte_.size(0), v0 = tp().rank() * rows;
      const auto mine = (tokens >= v0) & (tokens < v0 + rows);
      x = F::embedding((tokens - v0).clamp(0, rows - 1), wte_) * mine.unsqueeze(-1).to(wte_.dtype());
      x = m_.sp_ ? reduce_scatter_along(x, tp(), 1) : reduce_from_group(x, tp());
    }
    if (wpe_.defined()) x = x + seq_slice(wpe_.narrow(0, 0, tokens.size(1)), 0);
    if (embedding_norm_.w.defined()) x = norm(embedding_norm_, x);
    return x;
  }

  torch::Tensor attention_core(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& real) const {
    const auto& s = m_.shape_;
    const int64_t T = q.size(2), group = s.heads / s.kv_heads;
    const auto kk = group > 1 ? k.repeat_interleave(group, 1) : k;
    const auto vv = group > 1 ? v.repeat_interleave(group, 1) : v;
    // LibTorch 2.x: the fused kernel (never materialises the scores). On CPU the written-out form
    // below is kept so that the CPU equivalence tests run the same arithmetic on 1.13 and 2.x.
    if (q.is_cuda()) {
      std::optional<torch::Tensor> mask;
      if (s.arch == Arch::bert) mask = real.view({real.size(0), 1, 1, T});
      if (auto fused = fused_attention(q, kk, vv, mask, s.arch != Arch::bert)) return *fused;
    }
    auto scores = torch::matmul(q, kk.transpose(-2, -1)) / std::sqrt(double(s.head_dim()));
    if (s.arch == Arch::bert) {
      scores = scores.masked_fill(real.logical_not().view({real.size(0), 1, 1, T}), -1e9);
    } else {
      const auto future = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(1);
      scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
    }
    return torch::matmul(torch::softmax(scores, -1), vv);
  }

  torch::Tensor attention(const Layer& L, const torch::Tensor& x, const torch::Tensor& real) const {
    const auto& s = m_.shape_;
    const auto a = enter(x);
    const int64_t B = a.size(0), T = a.size(1), d = s.head_dim();
    // One GEMM for Q, K and V (a wider GEMM runs closer to peak than three);
    // concatenating the weights costs a copy of the weights, not of the
    // activations.
    const int64_t q_width = L.wq.size(0), kv_width = L.wk.size(0);
    torch::Tensor bias;
    if (L.bq.defined()) bias = torch::cat({L.bq, torch::zeros({kv_width}, L.bq.options()), L.bv});
    const auto qkv = dense(a, torch::cat({L.wq, L.wk, L.wv}), bias).split_with_sizes({q_width, kv_width, kv_width}, -1);
    auto heads = [&](const torch::Tensor& t) { return t.view({B, T, -1, d}).transpose(1, 2); };
    auto q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
    if (s.arch == Arch::llama) {
      q = rotary(q);
      k = rotary(k);
    }
    // Selective recomputation (Korthikanti et al. 2022): keep the GEMM outputs,
    // recompute the attention scores and softmax, which are the large
    // activations.
    const auto core =
        m_.recompute_ == Recompute::selective
            ? recomputed(
                  [&](const std::vector<torch::Tensor>& in) { return attention_core(in[0], in[1], in[2], in[3]); },
                  {q, k, v, real})
            : attention_core(q, k, v, real);
    return row_parallel(core.transpose(1, 2).reshape({B, T, -1}), L.wo, L.bo);
  }

  torch::Tensor mlp(const Layer& L, const torch::Tensor& x) const {
    const auto a = enter(x);
    torch::Tensor inner;
    if (m_.shape_.arch == Arch::llama)
      inner = F::silu(dense(a, L.w_gate)) * dense(a, L.w_up);
    else if (m_.shape_.arch == Arch::gpt)
      inner = torch::gelu(dense(a, L.w_up, L.b_up), "tanh");
    else
      inner = torch::gelu(dense(a, L.w_up, L.b_up));
    return row_parallel(inner, L.w_down, L.b_down);
  }

  torch::Tensor layer(const Layer& L, torch::Tensor x, const torch::Tensor& real) const {
    if (m_.shape_.arch == Arch::bert) {  // post-norm (Devlin et al. 2019)
      x = norm(L.norm1, x + attention(L, x, real));
      return norm(L.norm2, x + mlp(L, x));
    }
    x = x + attention(L, norm(L.norm1, x), real);
    return x + mlp(L, norm(L.norm2, x));
  }

  torch::Tensor loss(const torch::Tensor& x, const MicroBatch& mb) const {
    const auto targets = mb.targets.reshape({-1});
    if (m_.shape_.arch == Arch::bert) {
      // Every rank computes the whole (small) classifier, so its input gradient
      // is not summed.
      const auto full = m_.sp_ ? gather_along(x, tp(), 1, false) : x;
      const auto logits = dense(full, classifier_, classifier_b_).reshape({targets.size(0), -1});
      return F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum)) *
             mb.loss_scale;
    }
    const auto logits = dense(enter(norm(final_norm_, x)), lm_head_).reshape({targets.size(0), -1});  // [B T, V/t]
    if (tp().size() == 1) {
      // The whole vocabulary here: PyTorch's fused log-softmax reads bf16
      // logits and works in fp32.
      const auto log_p = torch::log_softmax(logits, -1, torch::kFloat);
      return torch::nll_loss(log_p, targets, {}, at::Reduction::Sum, -100) * mb.loss_scale;
    }
    return vocab_parallel_cross_entropy(logits, targets, mb.loss_scale);
  }

  // Cross-entropy over logits split by vocabulary (Megatron-LM): the max, the
  // sum of exponentials and the target's logit are each one all-reduce of a
  // [tokens] vector, never the full logits.
  torch::Tensor vocab_parallel_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                             double scale) const;

  Model& m_;
  bool embedding_, head_;
  torch::Tensor wte_, wpe_, lm_head_, classifier_, classifier_b_;
  Norm embedding_norm_, final_norm_;
  std::vector<Layer> layers_;
};

namespace {

struct VocabParallelCrossEntropy : torch::autograd::Function<VocabParallelCrossEntropy> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& targets,
                               const Group* g, double scale) {
    const int64_t rows = logits.size(1), v0 = g->rank() * rows;
    const auto x = logits.to(torch::kFloat);
    auto max = std::get<0>(x.max(-1)).contiguous();
    g->all_reduce(max, c10d::ReduceOp::MAX);
    const auto shifted = x - max.unsqueeze(-1);
    const auto exp = shifted.exp();
    auto sum = exp.sum(-1).contiguous();
    g->all_reduce(sum);
    const auto valid = targets != -100;
    const auto mine = valid & (targets >= v0) & (targets < v0 + rows);
    const auto local = (targets - v0).clamp(0, rows - 1);
    auto target_logit = (shifted.gather(1, local.unsqueeze(1)).squeeze(1) * mine.to(torch::kFloat)).contiguous();
    g->all_reduce(target_logit);
    const auto per_token = (sum.log() - target_logit) * valid.to(torch::kFloat);
    ctx->save_for_backward({exp / sum.unsqueeze(-1), local, mine, valid});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["dtype"] = static_cast<int64_t>(logits.scalar_type());
    return per_token.sum() * scale;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    auto d = saved[0].clone();  // softmax
    d.scatter_add_(1, saved[1].unsqueeze(1), -saved[2].to(torch::kFloat).unsqueeze(1));
    d = d * saved[3].to(torch::kFloat).unsqueeze(1) * (grad[0] * ctx->saved_data["scale"].toDouble());
    return {d.to(static_cast<c10::ScalarType>(ctx->saved_data["dtype"].toInt())), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor Chunk::vocab_parallel_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                                  double scale) const {
  return VocabParallelCrossEntropy::apply(logits, targets, &tp(), scale);
}

// ---- Model ----

Model::Model(const ModelShape& shape, const Mesh& mesh, bool sequence_parallel, Recompute recompute,
             double recompute_fraction, const std::vector<std::pair<int, int>>& layer_ranges,
             const std::vector<bool>& first, const std::vector<bool>& last, torch::Device device)
    : shape_(shape),
      mesh_(mesh),
      sp_(sequence_parallel),
      recompute_(recompute),
      recompute_fraction_(recompute_fraction),
      device_(device) {
  for (std::size_t c = 0; c < layer_ranges.size(); ++c) {
    holds_embedding_ = holds_embedding_ || first[c];
    holds_head_ = holds_head_ || last[c];
    chunks_.push_back(std::make_unique<Chunk>(*this, layer_ranges[c].first, layer_ranges[c].second, first[c], last[c]));
  }
}

Model::~Model() = default;

torch::Tensor Model::forward(int c, const torch::Tensor& input, const MicroBatch& mb) {
  return chunks_.at(c)->forward(input, mb);
}

std::vector<int64_t> Model::activation_shape(int micro_batch) const {
  const int64_t seq = sp_ ? shape_.seq_len / mesh_.tp().size() : shape_.seq_len;
  return {micro_batch, seq, shape_.hidden};
}

torch::Tensor Model::add(const std::string& name, std::vector<int64_t> full, int shard_dim, const std::string& init,
                         bool partial_grad) {
  if (const auto it = index_.find(name); it != index_.end()) return params_[it->second].value;
  // The full tensor, from a generator seeded by the name (FNV-1a), then this
  // rank's slice.
  std::uint64_t seed = 1469598103934665603ULL;
  for (const char ch : name) seed = (seed ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  int64_t elements = 1;
  for (const int64_t n : full) elements *= n;
  // Large tensors are drawn on the GPU itself (from its generator, seeded the same way): drawing a
  // 1.3B-parameter model on one CPU core takes half a minute. Small ones, and all on CPUs, come
  // from the CPU generator, so CPU and GPU runs of a small model start equal.
  constexpr int64_t draw_on_device = int64_t(1) << 22;
  torch::Tensor value;
  if (init == "one") {
    value = torch::ones(full);
  } else if (init == "zero") {
    value = torch::zeros(full);
  } else if (device_.is_cuda() && elements > draw_on_device) {
    auto generator = at::globalContext().defaultGenerator(device_);
    {
      // Released before drawing: the kernel launch takes the same (non-recursive) lock.
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_current_seed(seed);
    }
    value = torch::normal(0.0, 0.02, full, generator, torch::TensorOptions().device(device_));
  } else {
    value = torch::normal(0.0, 0.02, full, at::make_generator<at::CPUGeneratorImpl>(seed));  // GPT-2's initialisation
  }
  if (shard_dim >= 0 && mesh_.tp().size() > 1) {
    const int64_t part = full[shard_dim] / mesh_.tp().size();
    value = value.narrow(shard_dim, mesh_.tp().rank() * part, part);
  }
  value = value.contiguous().to(device_).requires_grad_(true);
  index_[name] = params_.size();
  params_.push_back({name, value, full, mesh_.tp().size() > 1 ? shard_dim : -1, partial_grad});
  return value;
}

}  // namespace trainsim::exec
