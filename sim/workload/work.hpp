#pragma once
// Work per GPU: every kernel of one transformer layer, the embedding and the LM head, forward and
// backward, with its FLOPs, bytes and time on this GPU; and the bytes each parallel dimension
// moves. One layer's ops are listed once, top to bottom, as in a training step (llm.c style).
#include <cstdint>
#include <string>
#include <vector>

#include "compute/cost_model.hpp"
#include "scenario/data.hpp"
#include "scenario/model.hpp"
#include "scenario/plan.hpp"

namespace trainsim {

// The part of a layer (or of the step) a kernel belongs to, as Megatron-Core's CUDA graph scopes
// divide it (PlanSpec::cuda_graphs): attention (its norm through the residual add), a dense MLP,
// a MoE layer's router (its norm, the router, the shared experts), the dispatcher's
// preprocessing before the all-to-all, the routed experts (through the residual add).
enum class Part : std::uint8_t { other, attention, dense_mlp, router, dispatch_preprocess, experts, embedding, head };
inline constexpr std::size_t kParts = std::size_t(Part::head) + 1;  // head is the last

struct Kernel {
  std::string name;
  double flops = 0;
  double bytes = 0;
  double time = 0;
  // A quantize kernel (low-precision recipes) casts the forward operands of the GEMM after it;
  // its backward casts that GEMM's output gradient, this many values.
  double gradient_values = 0;
  // Its backward's GEMM outputs (input and weight gradients) where the recipe rescales them in a
  // separate pass (CostModel::rescales_gradient_gemms).
  double rescaled_values = 0;
  // Its backward moves the bytes its forward does (not twice): a copy into another order (MoE
  // tokens), a mask (where's and masked_fill's backward mask the gradient the same way).
  bool same_bytes_backward = false;
  // A GEMM split into chunks beside an overlapped tensor-parallel collective: its time as one
  // GEMM, which its weight gradient (not split) takes. 0: not split.
  double whole_time = 0;
  // Its input and weight gradients' times where those run otherwise than the forward and the
  // whole GEMM (PlanSpec::tp_overlap); 0: as `time` and `whole_time`.
  double dgrad_time = 0;
  double wgrad_time = 0;
  // Its time is its roofline's times this (unfused attention's parts, CostModel::
  // unfused_attention_factor); a backward priced from its bytes takes the same factor.
  double time_factor = 1;
  // Priced at streaming bandwidth in an eager plan too, forward and backward: its price comes from
  // a measurement of PyTorch's own kernels (unfused attention's parts).
  bool measured_eager = false;
  // Its time is set by the host's issue rate, not by its work: Transformer Engine's per-expert
  // GEMM dispatch (kExpertGemmDispatch), or a run of launches (BlockBuilder::launches). A kernel
  // priced at the launch interval is host-bound as well (host_bound_share).
  bool host_bound = false;
  Part part = Part::other;
};

// Whether the plan replays `part` from a CUDA graph (PlanSpec::cuda_graphs).
bool replayed_from_graph(const PlanSpec& plan, Part part);

// What one expert GEMM of Transformer Engine's multi-stream GroupedLinear path (plan.expert_gemm
// `streams`) costs at least, where the GEMMs themselves are short: eight NVFP4 GEMMs of 128 x 2048
// x 2048 through nvte_multi_tensor_gemm took 0.267 ms with their operands pre-swizzled and their
// scales precomputed ("pure", SM100), against 0.069 ms as one CUTLASS grouped kernel
// (NVIDIA/TransformerEngine PR #3134, its TN table): 33 us a GEMM of stream switches, events and
// cuBLASLt calls, where eager PyTorch issues a kernel every 13 us (GpuSpec::kernel_overhead).
inline constexpr double kExpertGemmDispatch = 33e-6;

// A block is the compute between two tensor-parallel collectives.
struct Block {
  std::string name;
  std::vector<Kernel> kernels;
  double time() const;
  double flops() const;
  // The linear layers' GEMMs (not attention's, not the router's): what tensor-parallel
  // communication can be overlapped with, chunk by chunk (PlanSpec::tp_comm_overlap).
  double linear_gemm_time() const;
  // How many of them there are: the block's weight matrices (a fused projection counts once).
  int linear_gemms() const;
  // A backward block's halves under zero-bubble pipelining (PlanSpec::zero_bubble): the weight
  // gradients of its weight matrices (the linear layers', the router's), which can wait, and the
  // rest, which the previous stage waits for. Attention's score and value GEMMs have no weights.
  Block input_gradients() const;
  Block weight_gradients() const;
};

struct LayerWork {
  Block attention_forward, mlp_forward;
  Block attention_backward, mlp_backward;
  Block recompute;  // forward work redone in backward (selective: attention core; full: the layer)
  // One offloaded layer's copy of its saved activations to the host (or back), seconds; 0 without
  // offloading (PlanSpec::activation_offload_layers).
  double offload_copy = 0;
  double parameters = 0;  // of this layer held by one GPU (after tp and ep sharding)
  // The routed experts' part of `parameters`: their gradients are reduced, and their optimizer
  // state sharded, over the expert-data-parallel ranks only (PlanSpec::expert_dp).
  double expert_parameters = 0;
};

struct StageExtras {
  Block embedding_forward, embedding_backward;  // first stage
  Block head_forward, head_backward;            // last stage: LM head (or BERT head) and the loss
  double embedding_parameters = 0, head_parameters = 0;
};

struct Communication {
  // Tensor parallel: one collective moves a [tokens, hidden] activation; 2 per layer forward and
  // 2 per layer backward (all-reduce, or all-gather + reduce-scatter with sequence parallel); a
  // parallel block's attention branch keeps half of its two (engine/simulation.cpp).
  double tp_bytes = 0;
  // The forward's all-gathers (recomputation's too) under sequence parallelism: low-precision
  // values where the recipe quantizes before gathering (PlanSpec::quantized_tp_gather), else tp_bytes.
  double tp_gather_bytes = 0;
  // Context parallel: K and V blocks passed around the ring, per layer forward (twice in backward).
  double cp_bytes_per_step = 0;
  int cp_steps = 0;
  // Expert parallel: bytes one rank sends in one all-to-all (dispatch or combine).
  double ep_bytes = 0;
  // Pipeline: activation (or its gradient) per micro-batch, sent by each TP rank.
  double pp_bytes = 0;
};

struct Workload {
  LayerWork layer;        // a MoE model's MoE layer, or every layer of a dense model
  LayerWork dense_layer;  // a MoE model's first model.dense_layers layers (a dense MLP); else unused
  StageExtras extras;
  Communication comm;
  double tokens_per_microbatch = 0;  // per GPU (after cp), of a full-length micro-batch
  int padded_vocab = 0;
  double memory_bandwidth = 0;  // achievable on this GPU (datasheet x the profile's efficiency), B/s
  // One weight's low-precision copies on this GPU, one per layout its GEMMs take
  // (CostModel::quantized_layouts); 0 in 16-bit or fp32 training.
  double low_precision_weight_bytes = 0;
};

// With data of several lengths (scenario/data.hpp), the blocks and the communication volumes are
// those of the average micro-batch (each padded length weighted by its share): the mean step of
// a run whose micro-batches vary. Parameters and tokens_per_microbatch (the memory peak) are
// those of a full-length micro-batch, which any micro-batch may be.
Workload build_workload(const ModelSpec& model, const PlanSpec& plan, const CostModel& cost, const DataSpec& data = {});

// The share of one micro-batch's compute through `layer` (forward, recomputation, backward) that
// kernels take whose time the host's issue rate sets (Kernel::host_bound, or priced at
// `launch_interval`). Where it is large the step depends on host work the model does not price
// beyond those floors (docs/accuracy.md, "Launch-bound plans").
double host_bound_share(const LayerWork& layer, double launch_interval);
// Whether `k` is priced at the launch interval (its work is shorter than one launch).
bool at_launch_interval(const Kernel& k, double launch_interval);
// From this share on a prediction (and a plan in the search's table) warns that it is likely
// optimistic: the 9 public rows at or above it are predicted 30% short of their measured steps on
// average (6% over to 46% short), the 274 below it are at 7.8% MAPE (docs/accuracy.md,
// "Launch-bound plans"; sessions 35 and 41).
inline constexpr double kHostBoundWarning = 0.05;

// The collectives one ZeRO-3 gather or reduce-scatter of a layer takes: one, or one per
// parameter tensor (weights, biases, norm parameters), in turn (PlanSpec::zero3_unit).
int zero3_collectives(const ModelSpec& model, const PlanSpec& plan, const LayerWork& layer);

// The optimizer step over `params` parameters (this rank's shard): fused Adam reads and writes
// its state (the master weights, m and v: PlanSpec::optimizer_state_bytes), reads the gradient
// and writes the 16-bit weights, about 12 bytes a parameter besides the state's read and write
// (36 with fp32 master weights and moments), at the GPU's achievable memory bandwidth.
double optimizer_time(const Workload& work, const PlanSpec& plan, double params);

// What an offloaded layer's copy to the host (after its forward) and back (before its backward)
// leaves exposed: Transformer Engine's handler runs it beside the next layer's forward (backward)
// and waits for it before the one after. `slowdown`: the layer's compute on a slow node, which
// hides more of the copy.
double offload_stall_forward(const LayerWork& layer, double slowdown = 1);
double offload_stall_backward(const LayerWork& layer, double slowdown = 1);

// Layers on each pipeline stage (scenario/plan.hpp's stage_layers).
std::vector<int> layers_per_stage(const ModelSpec& model, const PlanSpec& plan);
// Of those, the dense layers of a MoE model (ModelSpec::moe_layer: its first model.dense_layers,
// on the stages of the first model chunks, and those between its MoE layers).
std::vector<int> dense_layers_per_stage(const ModelSpec& model, const PlanSpec& plan);
// Of those, the layers fully recomputed (plan.recompute_fraction; all of them at 1).
std::vector<int> recomputed_layers_per_stage(const ModelSpec& model, const PlanSpec& plan);

// Megatron-LM pads the vocabulary to a multiple of 128 * tp.
int padded_vocab(int vocab, int tp);

}  // namespace trainsim
