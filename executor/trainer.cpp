#include "trainer.hpp"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/schedule.hpp"
#ifdef TRAINSIM_EXEC_CUDA
#include <torch/cuda.h>
#endif

namespace trainsim::exec {

namespace {

using Clock = std::chrono::steady_clock;

// Global chunk c of C = pp * virtual_stages holds the layers the simulator
// gives it (scenario/plan.hpp's chunk_layers: even where they divide, else the
// model's first and last chunks a layer short, or the plan's layers_per_stage);
// stage s holds chunks s, s + pp, s + 2 pp, ... (Megatron's interleaving).
struct ChunkLayout {
  std::vector<std::pair<int, int>> ranges;
  std::vector<bool> first, last;
  int total = 1;
};

int virtual_stages(const PlanSpec& plan) { return plan.schedule == Schedule::interleaved ? plan.virtual_stages : 1; }

ChunkLayout layout(const ModelShape& shape, const PlanSpec& plan, int stage) {
  ChunkLayout out;
  const int V = virtual_stages(plan), C = plan.pp * V;
  out.total = C;
  std::vector<int> bounds{0};
  PlanSpec chunked = plan;
  chunked.virtual_stages = V;  // without interleaving, one chunk per stage whatever the plan says
  for (const int n : chunk_layers(shape.layers, chunked)) bounds.push_back(bounds.back() + n);
  for (int v = 0; v < V; ++v) {
    const int c = v * plan.pp + stage;
    out.ranges.emplace_back(bounds[c], bounds[c + 1]);
    out.first.push_back(c == 0);
    out.last.push_back(c == C - 1);
  }
  return out;
}

int tag(int64_t micro_batch, int chunk, int chunks, bool backward) {
  return int((micro_batch * chunks + chunk) * 2 + (backward ? 1 : 0));
}

}  // namespace

Trainer::Trainer(const TrainConfig& config, const Mesh& mesh, const Dataset& data)
    : config_(config),
      mesh_(mesh),
      data_(data),
      model_(config.shape, mesh, config.plan.sequence_parallel, config.plan.recompute, config.plan.recompute_fraction,
             layout(config.shape, config.plan, mesh.pp_index()).ranges,
             layout(config.shape, config.plan, mesh.pp_index()).first,
             layout(config.shape, config.plan, mesh.pp_index()).last, config.device) {
  const auto& plan = config.plan;
  micro_batches_ = plan.global_batch / (int64_t(plan.micro_batch) * plan.dp);
  chunks_total_ = plan.pp * virtual_stages(plan);
  chunks_here_ = virtual_stages(plan);
  int64_t n = 0;
  for (const auto& p : model_.params()) {
    offsets_.push_back(n);
    n += p.value.numel();
  }
  const int dp = mesh.dp().size();
  padded_ = (n + dp - 1) / dp * dp;
  flat_ = torch::zeros({padded_}, torch::TensorOptions().dtype(torch::kFloat).device(config.device));
  for (std::size_t i = 0; i < offsets_.size(); ++i) {
    const auto& value = model_.params()[i].value;
    flat_.narrow(0, offsets_[i], value.numel()).copy_(value.detach().reshape({-1}));
  }
  // ZeRO-1: this rank keeps the Adam moments of its 1/dp of the flat buffer
  // only.
  lo_ = plan.zero >= 1 ? mesh.dp().rank() * (padded_ / dp) : 0;
  hi_ = plan.zero >= 1 ? lo_ + padded_ / dp : padded_;
  m_ = torch::zeros({hi_ - lo_}, flat_.options());
  v_ = torch::zeros({hi_ - lo_}, flat_.options());
  // bf16 weights: the model's tensors become bf16 in place (the chunks hold
  // handles to them); flat_ keeps the fp32 master copy.
  if (config.bf16 && !config.autocast) {
    torch::NoGradGuard no_grad;
    for (auto& p : model_.params()) p.value.set_data(p.value.detach().to(torch::kBFloat16));
  }
}

void Trainer::wait_for_device() const {
#ifdef TRAINSIM_EXEC_CUDA
  if (config_.device.is_cuda()) torch::cuda::synchronize(config_.device.index());
#endif
}

StepTimes Trainer::step(int64_t step, std::vector<TraceEvent>* trace) {
  const auto& plan = config_.plan;
  const auto t0 = Clock::now();
  auto us = [&](Clock::time_point t) { return std::chrono::duration<double, std::micro>(t - t0).count(); };
  auto span = [&](const std::string& name, const std::string& stream, Clock::time_point from) {
    if (trace) trace->push_back({name, stream, us(from), us(Clock::now()) - us(from)});
  };
  StepTimes times;
  const auto batch = data_.batch(step, plan.global_batch);
  const int64_t per_replica = plan.global_batch / plan.dp, mb = plan.micro_batch;
  const int64_t first_row = int64_t(mesh_.dp_index()) * per_replica;
  auto micro_batch = [&](int64_t i) {
    MicroBatch m;
    const auto rows = [&](const torch::Tensor& t) { return t.narrow(0, first_row + i * mb, mb).to(config_.device); };
    m.tokens = rows(batch.tokens);
    m.targets = rows(batch.targets);
    m.real = rows(batch.real);
    m.loss_scale = 1.0 / double(std::max<int64_t>(batch.labelled, 1));
    return m;
  };
  for (auto& p : model_.params()) p.value.mutable_grad() = torch::Tensor();
  if (config_.autocast) forget_autocast_casts();  // the weights changed in the last step
  const bool bf16_weights = config_.bf16 && !config_.autocast;
  const auto compute_dtype = bf16_weights ? torch::kBFloat16 : torch::kFloat;

  const Group& pp = mesh_.pp();
  const int s = pp.rank(), P = pp.size(), C = chunks_total_;
  std::vector<std::vector<torch::Tensor>> inputs(chunks_here_, std::vector<torch::Tensor>(micro_batches_));
  auto outputs = inputs;
  std::vector<c10::intrusive_ptr<Work>> sends;
  double loss_sum = 0;
  const auto activation = model_.activation_shape(int(mb));
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat).device(config_.device);
  for (const auto& task : stage_schedule(plan.schedule, P, s, int(micro_batches_), chunks_here_)) {
    const int c = task.chunk * P + s;
    const int64_t i = task.micro_batch;
    const MicroBatch m = micro_batch(i);
    const std::string what =
        " mb " + std::to_string(i) + (chunks_here_ > 1 ? " chunk " + std::to_string(task.chunk) : "");
    if (task.forward) {
      torch::Tensor input = m.tokens;
      if (c > 0) {
        const auto wait = Clock::now();
        input = torch::empty(activation, float_options);
        pp.recv(input, (s - 1 + P) % P, tag(i, c, C, false));
        input = input.to(compute_dtype).requires_grad_(true);
        times.pipeline_wait += std::chrono::duration<double>(Clock::now() - wait).count();
        span("recv activation" + what, "comm", wait);
      }
      const auto start = Clock::now();
      auto out = model_.forward(task.chunk, input, m);
      wait_for_device();
      times.compute += std::chrono::duration<double>(Clock::now() - start).count();
      span("forward" + what, "compute", start);
      if (c == C - 1)
        loss_sum += out.detach().item<double>();
      else
        sends.push_back(pp.send(out.detach().to(torch::kFloat), (s + 1) % P, tag(i, c + 1, C, false)));
      inputs[task.chunk][i] = input;
      outputs[task.chunk][i] = out;
    } else {
      auto& out = outputs[task.chunk][i];
      torch::Tensor grad;
      if (c < C - 1) {
        const auto wait = Clock::now();
        grad = torch::empty(activation, float_options);
        pp.recv(grad, (s + 1) % P, tag(i, c, C, true));
        times.pipeline_wait += std::chrono::duration<double>(Clock::now() - wait).count();
        span("recv gradient" + what, "comm", wait);
      }
      const auto start = Clock::now();
      if (c == C - 1)
        out.backward();
      else
        torch::autograd::backward({out}, {grad.to(out.scalar_type())});
      if (bf16_weights && micro_batches_ > 1) fold_gradients();
      wait_for_device();
      times.compute += std::chrono::duration<double>(Clock::now() - start).count();
      span("backward" + what, "compute", start);
      if (c > 0)
        sends.push_back(
            pp.send(inputs[task.chunk][i].grad().to(torch::kFloat), (s - 1 + P) % P, tag(i, c - 1, C, true)));
      out = torch::Tensor();
      inputs[task.chunk][i] = torch::Tensor();
    }
  }
  {
    const auto wait = Clock::now();
    for (auto& w : sends) w->wait();
    times.pipeline_wait += std::chrono::duration<double>(Clock::now() - wait).count();
  }

  const auto sync = Clock::now();
  synchronise_gradients();
  // The loss of the global batch: the last stage's sum over its micro-batches,
  // over data-parallel replicas (one tensor-parallel rank counts it; they all
  // hold the same value).
  auto loss = torch::tensor({model_.holds_head() && mesh_.tp_index() == 0 ? loss_sum : 0.0}, torch::kDouble);
  if (mesh_.world().runs_collectives()) {  // on a GPU, NCCL even alone
    loss = loss.to(torch::kFloat).to(config_.device);
    mesh_.world().all_reduce(loss);
  }
  times.loss = loss.to(torch::kCPU).item<double>();
  times.grad_sync = std::chrono::duration<double>(Clock::now() - sync).count();
  span("gradient synchronisation", "comm", sync);

  const auto update = Clock::now();
  adamw();
  wait_for_device();
  times.optimizer = std::chrono::duration<double>(Clock::now() - update).count();
  span("optimizer (AdamW)", "compute", update);
  times.step = std::chrono::duration<double>(Clock::now() - t0).count();
  return times;
}

void Trainer::fold_gradients() {
  torch::NoGradGuard no_grad;
  // Made when first needed and dropped after the update: with one micro-batch
  // it never lives beside the activations. The first fold copies (a sum would
  // first have to write zeros over the whole buffer).
  const bool fresh = !grad_.defined();
  if (fresh) {
    grad_ = torch::empty({padded_}, flat_.options());
    const int64_t used = offsets_.back() + model_.params().back().value.numel();
    grad_.narrow(0, used, padded_ - used).zero_();  // ZeRO's padding
  }
  auto& params = model_.params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto& g = params[i].value.mutable_grad();
    auto into = grad_view(i);
    if (!g.defined()) {
      if (fresh) into.zero_();
      continue;
    }
    fresh ? into.copy_(g) : into.add_(g);
    g = torch::Tensor();
  }
}

torch::Tensor Trainer::grad_view(std::size_t param) {
  const auto& value = model_.params().at(param).value;
  return grad_.narrow(0, offsets_.at(param), value.numel()).view(value.sizes());
}

void Trainer::synchronise_gradients() {
  fold_gradients();
  const auto& params = model_.params();
  // Sequence parallel: norms, position embeddings and row-parallel biases saw
  // only this rank's part of the sequence.
  if (config_.plan.sequence_parallel && mesh_.tp().size() > 1) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (!params[i].partial_grad) continue;
      auto g = grad_view(i);
      mesh_.tp().all_reduce(g);
    }
  }
  // gpt ties the LM head to the token embedding: the first and last stage each
  // hold a copy and add their gradients (the other stages contribute zeros).
  if (config_.shape.arch == Arch::gpt && mesh_.pp().size() > 1) {
    torch::Tensor g;
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (params[i].name == "embedding.wte") g = grad_view(i);
    }
    if (!g.defined()) {
      g = torch::zeros({config_.shape.vocab / mesh_.tp().size(), config_.shape.hidden}, flat_.options());
    }
    mesh_.pp().all_reduce(g);
  }
  // Data parallel: buckets of plan.bucket_bytes (fp32 here), all in flight at
  // once.
  if (mesh_.dp().size() > 1) {
    const int64_t bucket = std::max<int64_t>(1, int64_t(config_.plan.bucket_bytes / 4));
    std::vector<torch::Tensor> slices;
    std::vector<c10::intrusive_ptr<Work>> works;
    for (int64_t at = 0; at < padded_; at += bucket) {
      slices.push_back(grad_.narrow(0, at, std::min(bucket, padded_ - at)));
      works.push_back(mesh_.dp().all_reduce_async(slices.back()));
    }
    for (auto& w : works) {
      if (w) w->wait();  // (none where the reduction ran in place: Group::all_reduce_async)
    }
  }
}

// AdamW (Loshchilov and Hutter 2019) on [lo_, hi_) of the flat buffer; under
// ZeRO-1 each data-parallel rank updates its slice and the slices are gathered
// back.
void Trainer::adamw() {
  torch::NoGradGuard no_grad;
  ++adam_steps_;
  [[maybe_unused]] const auto& c = config_;
  auto p = flat_.narrow(0, lo_, hi_ - lo_);
  const auto g = grad_.narrow(0, lo_, hi_ - lo_);
#if TORCH_VERSION_MAJOR >= 2 && defined(TRAINSIM_EXEC_CUDA)
  if (p.is_cuda()) {  // PyTorch's fused AdamW kernel: one pass over the buffer
    if (!step_tensor_.defined()) step_tensor_ = torch::zeros({1}, p.options());
    step_tensor_.fill_(double(adam_steps_));  // the kernel reads the step count already advanced
    at::_fused_adamw_({p}, {g}, {m_}, {v_}, {}, {step_tensor_}, c.lr, c.beta1, c.beta2, c.weight_decay, c.eps, false,
                      false);
  } else
#endif
  {
    update_adamw(p, g);
  }
  grad_ = torch::Tensor();
  if (hi_ - lo_ < padded_) flat_ = mesh_.dp().all_gather(p.contiguous(), 0);
  unflatten_parameters();
}

void Trainer::unflatten_parameters() {
  torch::NoGradGuard no_grad;
  int64_t at = 0;
  for (auto& param : model_.params()) {
    const int64_t n = param.value.numel();
    param.value.detach().copy_(flat_.narrow(0, at, n).view(param.value.sizes()));  // to bf16 if the model is bf16
    at += n;
  }
}

void Trainer::update_adamw(torch::Tensor& p, const torch::Tensor& g) {
  const auto& c = config_;
  m_.mul_(c.beta1).add_(g, 1 - c.beta1);
  v_.mul_(c.beta2).addcmul_(g, g, 1 - c.beta2);
  const double m_hat = 1.0 / (1 - std::pow(c.beta1, double(adam_steps_)));
  const double v_hat = 1.0 / (1 - std::pow(c.beta2, double(adam_steps_)));
  if (c.weight_decay > 0) p.mul_(1 - c.lr * c.weight_decay);
  p.addcdiv_(m_ * m_hat, (v_ * v_hat).sqrt_().add_(c.eps), -c.lr);
}

std::vector<torch::Tensor> Trainer::checkpoint_tensors() const {
  return {flat_, m_, v_, torch::tensor({double(adam_steps_)}, torch::kDouble)};
}

void Trainer::restore(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  flat_.copy_(tensors.at(0));
  m_.copy_(tensors.at(1));
  v_.copy_(tensors.at(2));
  adam_steps_ = int64_t(tensors.at(3).item<double>());
  unflatten_parameters();
}

void Trainer::dump_params(const std::string& dir) const {
  if (mesh_.dp_index() != 0) return;  // data-parallel replicas hold the same values
  nlohmann::json meta = nlohmann::json::array();
  std::vector<float> values;
  const auto& params = model_.params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    // The fp32 master values (the model's own tensors may be bf16).
    const auto cpu = flat_.narrow(0, offsets_[i], p.value.numel()).view(p.value.sizes()).to(torch::kCPU).contiguous();
    meta.push_back({{"name", p.name},
                    {"full_shape", p.full_shape},
                    {"shape", cpu.sizes().vec()},
                    {"shard_dim", p.shard_dim},
                    {"tp_index", mesh_.tp_index()},
                    {"offset", values.size()}});
    values.insert(values.end(), cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
  }
  const std::string base = dir + "/rank-" + std::to_string(mesh_.rank());
  std::ofstream(base + ".json") << meta.dump(1) << "\n";
  std::ofstream(base + ".bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * sizeof(float)));
}

}  // namespace trainsim::exec
