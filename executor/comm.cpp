#include "comm.hpp"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace trainsim::exec {

namespace {

std::vector<torch::Tensor> one(const torch::Tensor& t) { return {t}; }

}  // namespace

// Gloo (LibTorch 1.13) reduces and gathers no bf16 tensors ("Invalid scalar type"): on CPUs
// a bf16 run's tensor-parallel activations travel as fp32 and are rounded back after.
static bool gloo_lacks_dtype(const torch::Tensor& t) { return t.is_cpu() && t.scalar_type() == torch::kBFloat16; }

void Group::all_reduce(torch::Tensor& t, c10d::ReduceOp op) const {
  if (!backend_) return;  // one rank (the world group of one GPU still has NCCL)
  if (gloo_lacks_dtype(t)) {
    auto wide = t.to(torch::kFloat);
    all_reduce(wide, op);
    t.copy_(wide);
    return;
  }
  auto tensors = one(t);
  c10d::AllreduceOptions options;
  options.reduceOp = op;
  backend_->allreduce(tensors, options)->wait();
}

c10::intrusive_ptr<Work> Group::all_reduce_async(torch::Tensor& t) const {
  if (size_ == 1) return {};
  if (gloo_lacks_dtype(t)) {  // (the fp32 copy must outlive the work: reduced here, in place)
    all_reduce(t);
    return {};
  }
  auto tensors = one(t);
  return backend_->allreduce(tensors);
}

torch::Tensor Group::all_gather(const torch::Tensor& t, int64_t dim) const {
  if (size_ == 1) return t;
  if (gloo_lacks_dtype(t)) return all_gather(t.to(torch::kFloat), dim).to(t.scalar_type());
  const auto input = t.contiguous();
  std::vector<std::vector<torch::Tensor>> outputs(1);
  for (int r = 0; r < size_; ++r) outputs[0].push_back(torch::empty_like(input));
  auto inputs = one(input);
  backend_->allgather(outputs, inputs)->wait();
  return torch::cat(outputs[0], dim);
}

torch::Tensor Group::reduce_scatter(const torch::Tensor& t, int64_t dim) const {
  if (size_ == 1) return t;
  auto sum = t.contiguous().clone();
  all_reduce(sum);
  const int64_t part = sum.size(dim) / size_;
  return sum.narrow(dim, rank_ * part, part).contiguous();
}

void Group::broadcast(torch::Tensor& t, int root) const {
  if (size_ == 1) return;
  auto tensors = one(t);
  c10d::BroadcastOptions options;
  options.rootRank = root;
  backend_->broadcast(tensors, options)->wait();
}

c10::intrusive_ptr<Work> Group::send(torch::Tensor t, int to, int tag) const {
  auto tensors = one(t.contiguous());
  return backend_->send(tensors, to, tag);
}

void Group::recv(torch::Tensor& t, int from, int tag) const {
  auto tensors = one(t);
  backend_->recv(tensors, from, tag)->wait();
}

void Group::barrier() const {
  if (size_ > 1) backend_->barrier()->wait();
}

Mesh::Mesh(int rank, MeshShape shape, const std::string& host, int port, std::chrono::seconds timeout, bool cuda,
           const std::string& store_file)
    : rank_(rank), shape_(shape) {
  const int world = shape.size();
  if (world == 1) {
    // One GPU: the world group still runs on NCCL (the loss all-reduce), so the NCCL path is
    // exercised on a single-GPU machine.
    if (cuda) {
#ifdef TRAINSIM_EXEC_CUDA
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      world_ = Group(c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::HashStore>(), 0, 1, options),
                     0, 1, {0});
#endif
    }
    return;
  }
  if (!store_file.empty()) {
    store_ = c10::make_intrusive<c10d::FileStore>(store_file, world);
    store_->setTimeout(timeout);
  } else {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(port);
    store_options.isServer = rank == 0;
    store_options.numWorkers = world;
    store_options.timeout = timeout;
    store_ = c10::make_intrusive<c10d::TCPStore>(host, store_options);
  }

  // Every group this rank belongs to, each over its own key prefix of the one
  // store.
  auto make = [&](const std::string& name, std::vector<int> members) -> Group {
    const int size = int(members.size());
    const int me = int(std::find(members.begin(), members.end(), rank) - members.begin());
    if (size == 1) return Group({}, 0, 1, members);
    auto store = c10::make_intrusive<c10d::PrefixStore>(name, store_);
#ifdef TRAINSIM_EXEC_CUDA
    if (cuda) {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      return Group(c10::make_intrusive<c10d::ProcessGroupNCCL>(store, me, size, options), me, size, members);
    }
#endif
    (void)cuda;
#if TRAINSIM_EXEC_GLOO
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
    options->timeout = timeout;
    return Group(c10::make_intrusive<c10d::ProcessGroupGloo>(store, me, size, options), me, size, members);
#else
    throw std::runtime_error("this LibTorch has no Gloo: several ranks on CPUs cannot run with this build");
#endif
  };
  const int tp = shape.tp, pp = shape.pp, dp = shape.dp;
  auto rank_of = [&](int d, int p, int t) { return (d * pp + p) * tp + t; };
  std::vector<int> tp_members, pp_members, dp_members, all;
  for (int t = 0; t < tp; ++t) tp_members.push_back(rank_of(dp_index(), pp_index(), t));
  for (int p = 0; p < pp; ++p) pp_members.push_back(rank_of(dp_index(), p, tp_index()));
  for (int d = 0; d < dp; ++d) dp_members.push_back(rank_of(d, pp_index(), tp_index()));
  for (int r = 0; r < world; ++r) all.push_back(r);
  world_ = make("world/", all);
  tp_ = make("tp/" + std::to_string(dp_index()) + "/" + std::to_string(pp_index()) + "/", tp_members);
  pp_ = make("pp/" + std::to_string(dp_index()) + "/" + std::to_string(tp_index()) + "/", pp_members);
  dp_ = make("dp/" + std::to_string(pp_index()) + "/" + std::to_string(tp_index()) + "/", dp_members);
}

void Mesh::store_set(const std::string& key, const std::string& value) const {
  if (!store_) return;
  store_->set(key, std::vector<uint8_t>(value.begin(), value.end()));
}

std::string Mesh::store_get(const std::string& key) const {
  if (!store_) return {};
  const auto bytes = store_->get(key);
  return {bytes.begin(), bytes.end()};
}

// ---- Autograd collectives ----

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const Group& group_of(AutogradContext* ctx) {
  return *reinterpret_cast<const Group*>(ctx->saved_data["group"].toInt());
}
void remember(AutogradContext* ctx, const Group* g, int64_t dim = 0) {
  ctx->saved_data["group"] = reinterpret_cast<int64_t>(g);
  ctx->saved_data["dim"] = dim;
}

struct CopyToGroup : torch::autograd::Function<CopyToGroup> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const Group* g) {
    remember(ctx, g);
    return x.clone();
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto g = grad[0].contiguous().clone();
    group_of(ctx).all_reduce(g);
    return {g, torch::Tensor()};
  }
};

struct ReduceFromGroup : torch::autograd::Function<ReduceFromGroup> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const Group* g) {
    remember(ctx, g);
    auto y = x.contiguous().clone();
    g->all_reduce(y);
    return y;
  }
  static variable_list backward(AutogradContext*, variable_list grad) { return {grad[0], torch::Tensor()}; }
};

struct GatherAlong : torch::autograd::Function<GatherAlong> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const Group* g, int64_t dim,
                               bool sum_grad) {
    remember(ctx, g, dim);
    ctx->saved_data["sum"] = sum_grad;
    return g->all_gather(x, dim);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const Group& g = group_of(ctx);
    const int64_t dim = ctx->saved_data["dim"].toInt();
    torch::Tensor dx;
    if (ctx->saved_data["sum"].toBool()) {
      dx = g.reduce_scatter(grad[0], dim);
    } else {
      const int64_t part = grad[0].size(dim) / g.size();
      dx = grad[0].narrow(dim, g.rank() * part, part).contiguous();
    }
    return {dx, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct ReduceScatterAlong : torch::autograd::Function<ReduceScatterAlong> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const Group* g, int64_t dim) {
    remember(ctx, g, dim);
    return g->reduce_scatter(x, dim);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {group_of(ctx).all_gather(grad[0], ctx->saved_data["dim"].toInt()), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor copy_to_group(const torch::Tensor& x, const Group& g) {
  return g.size() == 1 ? x : CopyToGroup::apply(x, &g);
}
torch::Tensor reduce_from_group(const torch::Tensor& x, const Group& g) {
  return g.size() == 1 ? x : ReduceFromGroup::apply(x, &g);
}
torch::Tensor gather_along(const torch::Tensor& x, const Group& g, int64_t dim, bool sum_grad) {
  return g.size() == 1 ? x : GatherAlong::apply(x, &g, dim, sum_grad);
}
torch::Tensor reduce_scatter_along(const torch::Tensor& x, const Group& g, int64_t dim) {
  return g.size() == 1 ? x : ReduceScatterAlong::apply(x, &g, dim);
}

}  // namespace trainsim::exec
