#pragma once
// One rank's part of a training run: the pipeline schedule over its model
// chunks, gradient synchronisation (sequence-parallel partial gradients, the
// tied embedding across pipeline stages, data-parallel buckets), and AdamW on
// one flat buffer, its state sharded over data-parallel ranks under ZeRO-1
// (Rajbhandari et al. 2020).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "comm.hpp"
#include "data.hpp"
#include "model.hpp"
#include "scenario/plan.hpp"

namespace trainsim::exec {

struct TrainConfig {
  ModelShape shape;
  PlanSpec plan;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.0;
  // bf16: the model computes in bf16. By default (Megatron-LM's scheme) the
  // model's weights and activations are bf16 and AdamW updates fp32 master
  // weights from fp32 gradients; with `autocast` the weights stay fp32 and
  // LibTorch's autocast casts each GEMM's inputs (what eager PyTorch does).
  bool bf16 = false, autocast = false;
  torch::Device device = torch::kCPU;
};

// Wall-clock parts of one step on this rank.
struct StepTimes {
  double step = 0, compute = 0, pipeline_wait = 0, grad_sync = 0, optimizer = 0;
  double loss = 0;  // the global batch's mean loss (same on every rank)
};

// One span of the step, for --trace.
struct TraceEvent {
  std::string name, stream;  // stream: compute | comm
  double start_us = 0, duration_us = 0;
};

class Trainer {
 public:
  Trainer(const TrainConfig& config, const Mesh& mesh, const Dataset& data);
  StepTimes step(int64_t step, std::vector<TraceEvent>* trace);
  int64_t micro_batches() const { return micro_batches_; }
  Model& model() { return model_; }
  // The state a checkpoint holds: flat parameters, Adam moments (this rank's
  // shard), step count.
  std::vector<torch::Tensor> checkpoint_tensors() const;
  void restore(const std::vector<torch::Tensor>& tensors);
  // Writes this rank's parameters (with their shard layout) for compare-params.
  void dump_params(const std::string& dir) const;

 private:
  void synchronise_gradients();
  // Adds the model's gradients into the fp32 flat gradient and drops them (after
  // each micro-batch when bf16 weights take several, so that accumulation is in
  // fp32).
  void fold_gradients();
  torch::Tensor grad_view(std::size_t param);
  // Waits for the device's queued work so that wall-clock spans are honest.
  void wait_for_device() const;
  // Copies the flat parameter buffer back into the model's tensors.
  void unflatten_parameters();
  void adamw();
  void update_adamw(torch::Tensor& p, const torch::Tensor& g);

  TrainConfig config_;
  const Mesh& mesh_;
  const Dataset& data_;
  Model model_;
  int64_t micro_batches_ = 1;
  int chunks_total_ = 1, chunks_here_ = 1;
  torch::Tensor flat_, grad_, m_,
      v_;  // flat parameters and gradients; Adam moments of [lo_, hi_)
  int64_t lo_ = 0, hi_ = 0, padded_ = 0, adam_steps_ = 0;
  std::vector<int64_t> offsets_;  // each parameter's place in flat_ and grad_
  torch::Tensor step_tensor_;     // the fused AdamW kernel reads the step count from the device
};

}  // namespace trainsim::exec
