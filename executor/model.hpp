#pragma once
// The transformer that trainsim-exec trains, written as plain tensors and
// functional ops so that every parameter, its shard and every collective can be
// read top to bottom (llm.c style):
//   gpt:   pre-LayerNorm, learned positions, GELU MLP, causal attention, tied
//   embeddings; llama: pre-RMSNorm, rotary positions, SwiGLU MLP, grouped-query
//   attention, untied head; bert:  post-LayerNorm encoder, learned positions,
//   bidirectional attention with padding mask,
//          a token-classification head (NER).
// Tensor parallelism is Megatron-LM's (Shoeybi et al. 2019): Q/K/V and the
// first MLP GEMMs are column-parallel (split by heads / by the MLP width), the
// attention output and the second MLP GEMM row-parallel, the embedding and the
// LM head vocab-parallel. With sequence parallelism (Korthikanti et al. 2022)
// the activations between them are split along the sequence, and the
// all-reduces become reduce-scatter + all-gather.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "comm.hpp"
#include "scenario/model.hpp"
#include "scenario/plan.hpp"

namespace trainsim::exec {

struct ModelShape {
  Arch arch = Arch::gpt;
  int layers = 2, hidden = 64, heads = 4, kv_heads = 4, ffn = 256, vocab = 256, seq_len = 32;
  int labels = 9;  // bert: token classes
  int head_dim() const { return hidden / heads; }
};

// One parameter as this rank holds it. Initial values come from the full
// tensor, drawn from a generator seeded by the parameter's name, then sliced:
// every parallel layout starts from the same model as one process.
struct Param {
  std::string name;
  torch::Tensor value;
  std::vector<int64_t> full_shape;
  int shard_dim = -1;         // -1: replicated over the tensor-parallel group
  bool partial_grad = false;  // sequence parallel: each rank's gradient covers
                              // its sequence slice
};

// What one micro-batch gives the model: inputs, targets (-100: no loss), and
// which positions are real tokens (bert's padding mask). `loss_scale` is 1 /
// (labelled tokens in the global batch).
struct MicroBatch {
  torch::Tensor tokens, targets, real;
  double loss_scale = 1;
};

class Chunk;

// All parameters of this rank, in a fixed order (the order of the flat
// optimizer buffer).
class Model {
 public:
  // chunks: which model chunks this rank holds (interleaved pipelines hold
  // several), each a range of global layer indices; chunk 0 of the model
  // carries the embedding, the last one the head.
  // recompute_fraction: with recompute full, the share of layers checkpointed
  // (PlanSpec::recompute_fraction); the others keep their activations.
  Model(const ModelShape& shape, const Mesh& mesh, bool sequence_parallel, Recompute recompute,
        double recompute_fraction, const std::vector<std::pair<int, int>>& layer_ranges, const std::vector<bool>& first,
        const std::vector<bool>& last, torch::Device device);
  ~Model();
  // Runs chunk `c` of this rank: input is tokens (first chunk) or hidden
  // states; the last chunk returns the loss of the micro-batch already
  // multiplied by its loss_scale.
  torch::Tensor forward(int c, const torch::Tensor& input, const MicroBatch& mb);
  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }
  const ModelShape& shape() const { return shape_; }
  // Shape of the hidden states passed between pipeline stages.
  std::vector<int64_t> activation_shape(int micro_batch) const;
  bool holds_embedding() const { return holds_embedding_; }
  bool holds_head() const { return holds_head_; }

 private:
  friend class Chunk;
  torch::Tensor add(const std::string& name, std::vector<int64_t> shape, int shard_dim, const std::string& init,
                    bool partial_grad);
  ModelShape shape_;
  const Mesh& mesh_;
  bool sp_;
  Recompute recompute_;
  double recompute_fraction_;
  torch::Device device_;
  bool holds_embedding_ = false, holds_head_ = false;
  std::vector<Param> params_;
  std::map<std::string, std::size_t> index_;
  std::vector<std::unique_ptr<Chunk>> chunks_;
};

// Runs fn(inputs) without keeping its activations, and runs it again in the
// backward pass (activation recomputation).
torch::Tensor recomputed(const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& fn,
                         const std::vector<torch::Tensor>& inputs);

}  // namespace trainsim::exec
