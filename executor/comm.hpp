#pragma once
// Ranks and their process groups, and the collectives the parallel layers need
// as autograd operations (Megatron-LM's f and g, and sequence parallelism's
// gather/scatter along the sequence).
//
// Rank layout: tensor parallel fastest, then pipeline, then data parallel:
// rank = (dp_index * pp + pp_index) * tp + tp_index, the simulator's placement
// [tp, cp, pp, dp] (its default is [tp, cp, dp, pp] since session 38; on one
// node, where the executor runs, the two price alike). Gloo on CPU; NCCL when
// built with CUDA (TRAINSIM_EXEC_CUDA) and the run is on a GPU.
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "compat.hpp"

namespace trainsim::exec {

// One process group and this rank's place in it. A group of size 1 has no
// backend (its collectives are no-ops), except the world group of a lone GPU,
// which keeps NCCL so that the NCCL path runs on a one-GPU machine.
class Group {
 public:
  Group() = default;
  Group(c10::intrusive_ptr<Backend> backend, int rank, int size, std::vector<int> members)
      : backend_(std::move(backend)), rank_(rank), size_(size), members_(std::move(members)) {}
  int rank() const { return rank_; }
  int size() const { return size_; }
  int global_rank(int group_rank) const { return members_.at(group_rank); }
  // Whether collectives on this group do anything (a backend is behind it).
  bool runs_collectives() const { return bool(backend_); }

  void all_reduce(torch::Tensor& t, c10d::ReduceOp op = c10d::ReduceOp::SUM) const;
  c10::intrusive_ptr<Work> all_reduce_async(torch::Tensor& t) const;
  // Concatenation of every rank's `t` along `dim`, in group rank order.
  torch::Tensor all_gather(const torch::Tensor& t, int64_t dim) const;
  // Sum over the group, then this rank's slice along `dim` (Gloo 1.13 has no
  // reduce_scatter).
  torch::Tensor reduce_scatter(const torch::Tensor& t, int64_t dim) const;
  void broadcast(torch::Tensor& t, int root) const;
  c10::intrusive_ptr<Work> send(torch::Tensor t, int to, int tag) const;
  void recv(torch::Tensor& t, int from, int tag) const;
  void barrier() const;

 private:
  c10::intrusive_ptr<Backend> backend_;
  int rank_ = 0, size_ = 1;
  std::vector<int> members_{0};
};

struct MeshShape {
  int dp = 1, tp = 1, pp = 1;
  int size() const { return dp * tp * pp; }
};

class Mesh {
 public:
  // Joins the rendezvous and builds the groups this rank is in. The rendezvous
  // is a file store when `store_file` is given (local ranks: no listening port
  // at all), else a TCP store at host:port run by rank 0. Gloo's own
  // connections use `host`'s interface (loopback by default).
  Mesh(int rank, MeshShape shape, const std::string& host, int port, std::chrono::seconds timeout, bool cuda,
       const std::string& store_file = "");
  int rank() const { return rank_; }
  int world_size() const { return shape_.size(); }
  const MeshShape& shape() const { return shape_; }
  int tp_index() const { return rank_ % shape_.tp; }
  int pp_index() const { return (rank_ / shape_.tp) % shape_.pp; }
  int dp_index() const { return rank_ / (shape_.tp * shape_.pp); }
  const Group& tp() const { return tp_; }
  const Group& pp() const { return pp_; }
  const Group& dp() const { return dp_; }
  const Group& world() const { return world_; }
  // Small key/value exchange over the rendezvous store (traces, progress).
  void store_set(const std::string& key, const std::string& value) const;
  std::string store_get(const std::string& key) const;

 private:
  int rank_;
  MeshShape shape_;
  c10::intrusive_ptr<c10d::Store> store_;
  Group tp_, pp_, dp_, world_;
};

// The collectives inside the model, as differentiable operations. Each takes
// the group it works on. copy_to_group: identity forward, sum of gradients
// backward (Megatron's f).
torch::Tensor copy_to_group(const torch::Tensor& x, const Group& g);
// reduce_from_group: sum forward, identity backward (Megatron's g).
torch::Tensor reduce_from_group(const torch::Tensor& x, const Group& g);
// Sequence parallel: all-gather along `dim` forward, reduce-scatter backward
// (or, when every rank consumes the gathered tensor identically, this rank's
// slice: sum_grad false), and its transpose.
torch::Tensor gather_along(const torch::Tensor& x, const Group& g, int64_t dim, bool sum_grad = true);
torch::Tensor reduce_scatter_along(const torch::Tensor& x, const Group& g, int64_t dim);

}  // namespace trainsim::exec
