#pragma once
// The plan: how a job is split over GPUs. Independent of model and cluster; check_plan() in
// scenario.hpp checks it against both.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scenario/framework.hpp"
#include "scenario/hardware.hpp"

namespace trainsim {

enum class Schedule { gpipe, one_f_one_b, interleaved };
// selective: the attention core (Korthikanti et al. 2022, Megatron-LM); op: torchtitan's per-op
// selective checkpointing (selective_ac_option "op": matmul and attention outputs are saved except
// every second matmul's, everything else is recomputed); save_qkv_proj: MaxText's remat policy of
// that name, only the layer's input and its query/key/value projections kept, the rest of the
// layer rerun; full: the whole layer from its input.
enum class Recompute { none, selective, op, qkv, full };
// The attention kernel family (Attention, scenario/hardware.hpp).
// How FP8 GEMM operands are scaled (precision: fp8): one scale per tensor computed from the
// current values (torchao "tensorwise", TE Float8CurrentScaling), per tensor from an amax history
// (TE DelayedScaling), per row (torchao "rowwise"), or per 1x128 / 128x128 block (DeepSeek-V3,
// TE Float8BlockScaling). mxfp8 and nvfp4 carry their own block scales.
enum class Fp8Recipe { tensorwise, delayed, rowwise, blockwise };
const char* fp8_recipe_name(Fp8Recipe r);
// fused: element-wise work in fused kernels that stream near a copy's bandwidth (Megatron-LM's
// bias+GeLU, bias+dropout+add and scale+mask+softmax kernels, Narayanan et al. SC'21, section
// "Computation Optimizations"; NVIDIA's BERT); eager: one framework operation per kernel (PyTorch
// without a compiler), at the calibration profile's elementwise_efficiency.
enum class Kernels { fused, eager };
// nvls: NVLink SHARP, the all-reduce reduced in the NVSwitches of one NVLink domain.
// sharp: between nodes, reduced in the network's switches (InfiniBand SHARP), in nodes as hierarchical.
enum class CollectiveAlgorithm { automatic, ring, tree, halving_doubling, hierarchical, nvls, sharp };
// How MoE tokens reach their experts: NCCL all-to-all, one copy per (token, expert) pair
// (Megatron-Core's alltoall dispatcher); or a dispatcher that sends each token once to every node
// holding one of its experts and forwards it there over NVLink, combining the same way (DeepEP,
// Megatron-Core's flex dispatcher with its deepep or hybridep backend).
// How tensor-parallel communication overlaps the GEMMs beside it (PlanSpec::tp_comm_overlap).
// userbuffers: Transformer Engine's, behind Megatron-LM's --tp-comm-overlap and NeMo's
// tp_comm_overlap (transformer_engine/pytorch/module/base.py, initialize_ub's defaults): the
// GEMM after an all-gather (QKV, FC1 forward; projection, FC2 input gradients) runs in tp chunks
// as a ring exchange delivers them, the one before a reduce-scatter (projection, FC2 forward) in
// 4 pipelined splits, and the other backward GEMMs whole beside a bulk collective; the chunks go
// round-robin to 3 compute streams (NVTE_COMM_OVERLAP_MAX_STREAMS, comm_gemm_overlap.cpp), so up
// to 3 run at once. async: PyTorch's async TP (torchtitan's enable_async_tensor_parallel), a
// micro-pipeline of tp chunk GEMMs one after another, forward and input gradients alike.
enum class TpOverlap { userbuffers, async };
const char* tp_overlap_name(TpOverlap o);

enum class MoeDispatcher { alltoall, deepep, hybridep };
const char* dispatcher_name(MoeDispatcher d);

// How a rank's local experts run their GEMMs. streams: one cuBLAS GEMM per expert, round-robin on
// 4 compute streams (Transformer Engine's GroupedLinear, behind Megatron-Core's and NeMo's
// --moe-grouped-gemm: transformer_engine/common/util/multi_stream.h, num_compute_streams = 4), each
// launched by the host; grouped: one kernel over every expert (torch._grouped_mm as torchtitan
// calls it, CUTLASS grouped GEMMs), its tiles filling the waves together.
enum class ExpertGemm { streams, grouped };
const char* expert_gemm_name(ExpertGemm g);

// How the loss runs over the logits. fp32: as separate operations computing in fp32 from the
// 16-bit logits (their fp32 log-probabilities and gradient, the gradient cast back); cast: the
// same on an fp32 copy of the logits (`F.cross_entropy(logits.float(), ...)`, as torchtitan wrote
// it until its loss was compiled, and Hugging Face's causal-LM heads), whose fp32 gradient is one
// more live tensor at the backward's peak; decomposed: on an fp32 copy with the log-softmax and its
// backward written as element-wise operations (torch.distributed's loss_parallel, which torchtitan
// runs over vocabulary-sharded logits with tensor parallelism), whose temporaries raise the peak
// again; fused: one compiled or fused kernel reading the 16-bit logits and writing their 16-bit
// gradient (torch.compile'd loss, Megatron-LM's --cross-entropy-loss-fusion).
enum class Loss { fp32, cast, decomposed, fused };
const char* loss_name(Loss l);

// Megatron-Core's --recompute-modules: the attention core, the norms, the MoE experts'
// activation, a dense layer's MLP, a MoE layer's experts (router, routed and shared experts),
// the shared experts, MLA's up projections.
inline const std::vector<std::string> kRecomputeModules = {"core_attn", "layernorm",      "moe_act",    "mlp",
                                                           "moe",       "shared_experts", "mla_up_proj"};

// Megatron-Core's --cuda-graph-modules (--cuda-graph-scope before megatron-core 0.20), per-layer
// graphs: the parts of each layer captured in CUDA graphs and replayed, forward and backward:
// attention (its norm through the residual add), a dense layer's MLP, a MoE layer whole
// (token-dropping MoE only), its router (with the norm before it and the shared experts), the
// dispatcher's preprocessing before the all-to-all; and full_iteration (--cuda-graph-impl
// full_iteration): the whole step.
inline const std::vector<std::string> kCudaGraphScopes = {"attn",           "mlp",           "moe", "moe_router",
                                                          "moe_preprocess", "full_iteration"};
// The scopes that capture a mixture-of-experts layer's parts (moe, moe_router, moe_preprocess).
inline bool moe_graph_scope(const std::string& scope) { return scope.rfind("moe", 0) == 0; }

// When FSDP (ZeRO-3) frees a layer's gathered weights: torchtitan's reshard_after_forward_policy.
// by_default: after every use without pipeline parallelism; kept for the whole step with it (a
// stage runs each layer once per micro-batch, and PyTorch's pipeline stages also defer the
// gradient reduce-scatter to the last micro-batch). always: after every forward and backward;
// never: kept from the forward to its backward (and, with pipeline parallelism, for the step).
enum class Reshard { by_default, always, never };
const char* reshard_name(Reshard r);

// What one ZeRO-3 collective moves: a layer's weights at once (PyTorch FSDP and FSDP2 units,
// Megatron-FSDP, torchtitan), or one parameter tensor (weights, biases, norm parameters), the
// collectives issued one after another (DeepSpeed's per-module hooks, before v0.6: a fetch per
// parameter, and a recomputed forward fires its hooks again, so full recomputation gathers the
// weights a third time).
enum class Zero3Unit { layer, parameter };
const char* zero3_unit_name(Zero3Unit u);

// The copy of the weights the optimizer updates in 16-bit (or lower) precision training: fp32,
// 4 bytes (Megatron-Core's distributed optimizer, DeepSpeed ZeRO, PyTorch FSDP's fp32 shards);
// `16-bit`, a 2-byte copy (Megatron-LM's --main-params-dtype fp16; Apex DistributedFusedAdam's
// store_params with bf16 state, which NeMo 1.x sets with fp8_params and `optim.dtype: bf16`);
// `remainders`, the 16 low bits that with the bf16 weight make the fp32 value, also 2 bytes
// (Apex's store_param_remainders, NeMo 1.x's choice for a bf16 model with fp32 optimizer state);
// `none`, the 16-bit weights updated in place (NeMo 1.x with `optim.dtype` equal to the model's
// and no fp8_params: store_params false).
enum class MasterWeights { fp32, half, remainders, none };
const char* master_weights_name(MasterWeights m);

const char* schedule_name(Schedule s);
const char* recompute_name(Recompute r);
struct PlanSpec;
// The plan's recomputation in words: its name, and the share of layers when full recomputation
// checkpoints only some ("full 25%").
std::string recompute_label(const PlanSpec& plan);
const char* algorithm_name(CollectiveAlgorithm a);

// The four axes ranks are laid along, innermost (fastest varying, closest in the network) first.
enum class Axis { tp, cp, pp, dp };
const char* axis_name(Axis a);
// "tp-cp-pp-dp" for a placement, innermost first; parse_placement reads it back (empty if not
// four distinct axes).
std::string placement_name(const std::vector<Axis>& placement);
std::vector<Axis> parse_placement(const std::string& text);

// Whether layer `index` (0-based, in model order) is fully recomputed under `recompute` with a
// share `fraction` of the layers checkpointed (PlanSpec::recompute_fraction).
inline bool fully_recomputed(Recompute recompute, double fraction, int index) {
  return recompute == Recompute::full && std::floor((index + 1) * fraction + 0.5) > std::floor(index * fraction + 0.5);
}

struct PlanSpec {
  int tp = 1, pp = 1, dp = 1, cp = 1, ep = 1;
  // The framework the plan names (plan.framework); its fields are already applied to this plan
  // (apply_framework), so this is what the report says, not what prices the step.
  std::optional<Framework> framework;
  // The fields a framework could set that the scenario states itself (their plan keys), so that
  // a plan derived from this one (a search's candidates, the GUI's editor) reapplies a framework
  // without overriding them (reapply_framework, clear_framework_fields).
  std::vector<std::string> stated_framework_fields;
  // Expert tensor parallelism (Megatron-Core's expert_tensor_parallel_size; 0: tp, its default).
  // With MoE parallel folding (Liu et al. 2025, arXiv:2504.14960) the tp*cp*dp ranks of a stage
  // are regrouped for the experts as etp x ep x edp (innermost first): ep need not divide dp.
  int etp = 0;
  int micro_batch = 1;
  std::int64_t global_batch = 1;  // sequences per optimizer step
  Schedule schedule = Schedule::one_f_one_b;
  int virtual_stages = 1;
  // Zero-bubble pipelining (Qi et al., ICLR 2024, "Zero Bubble Pipeline Parallelism"): each
  // backward splits into the input-gradient pass, sent on at once, and the weight-gradient pass
  // (the weight matrices' wgrad GEMMs), which a stage defers to fill its idle time. As PyTorch's
  // ScheduleInterleavedZeroBubble orders it (torch.distributed.pipelining, _get_1f1b_rank_ops
  // with enable_zero_bubble): stage r warms up with (v-1)*pp + pp-1-r forwards, and from its
  // (r+1)-th steady pair on follows each backward with the oldest deferred weight pass. With one
  // virtual stage that is ZB-H1; 1f1b or interleaved only (engine/schedule.cpp).
  bool zero_bubble = false;
  // Whether the backwards split: zero bubble on a pipeline (with one stage there is nothing to defer
  // into, and the plan runs as written without it).
  bool splits_backward() const { return zero_bubble && pp > 1 && schedule != Schedule::gpipe; }
  bool sequence_parallel = false;
  int zero = 0;  // 1: optimizer state sharded, 2: + gradients, 3: + weights (FSDP)
  // Hybrid sharding (HSDP): the ZeRO shards span groups of dp_shard consecutive data-parallel
  // ranks (with their cp ranks) and are replicated across the dp / dp_shard groups; gradients are
  // reduce-scattered in the group, then all-reduced across its replicas. torchtitan's
  // data_parallel_shard_degree (with data_parallel_replicate_degree), FSDP1's HYBRID_SHARD (a
  // node a group), Megatron-Core's --num-distributed-optimizer-instances. 0: all of dp.
  int dp_shard = 0;
  Recompute recompute = Recompute::none;
  // With recompute: selective, the parts of a layer rerun in backward, by Megatron-Core's
  // --recompute-modules names (kRecomputeModules); its default is the attention core.
  std::vector<std::string> recompute_modules = {"core_attn"};
  // With recompute: op, the attention kernel reruns too (`recompute_modules: [core_attn]`): the
  // per-op policy saves the SDPA ops it lists, and torchtitan's listed only the FlashAttention
  // and memory-efficient kernels until December 2025 (pytorch/torchtitan#2095), so with cuDNN
  // attention (its choice on Blackwell) the attention's output was recomputed, not kept.
  bool op_reruns_attention = false;
  // What runs from CUDA graphs (kCudaGraphScopes): a replayed graph costs the host one launch, and
  // its kernels follow each other at the GPU's own pace (GpuSpec::kernel_interval), not the host's
  // (GpuSpec::kernel_overhead). Empty: every kernel is launched eagerly.
  std::vector<std::string> cuda_graphs;
  // With recompute: full, the share of layers checkpointed; the others keep all their activations
  // and rerun nothing (fms-fsdp's selective_checkpointing p; torchtitan's layer-wise
  // selective_ac_option "k" is 1/k; Megatron-LM's --recompute-method block with
  // --recompute-num-layers N of a chunk's L layers is N/L). Spread evenly over the model's layers.
  double recompute_fraction = 1;
  // Activation offloading to host memory (Megatron-Core's --cpu-offloading-num-layers N, Transformer
  // Engine's CPU offload context): the first N layers copy what their forward saved for backward to
  // the host while the next layer computes, and bring it back while the layer after them runs its
  // backward. The GPU's peak holds the other layers' activations (at least two layers', in a backward
  // step); a copy longer than the layer it hides under stalls the step (GpuSpec::host_link_bandwidth).
  // Megatron-Core allows it only with pp 1 and no recomputation, and N below the layers.
  int activation_offload_layers = 0;
  Precision precision = Precision::bf16;
  // Flash attention (fused, scores never stored), or the unfused kernels of older frameworks
  // (scores GEMM, softmax and, where the model trains with it, dropout over the s x s matrix in
  // memory, values GEMM).
  Attention attention = Attention::flash;
  Fp8Recipe fp8_recipe = Fp8Recipe::tensorwise;
  bool fp8_param_gather = false;  // weights all-gathered in FP8 (ZeRO-3/FSDP, distributed optimizer)
  // The weights' low-precision copies (and the transposes Hopper's FP8 GEMMs need) made on a
  // step's first micro-batch and reused by the others, as Transformer Engine does under
  // Megatron-Core and NeMo (is_first_microbatch); false: cast in every forward (torchao).
  // Unset: what the frameworks that run the plan's data parallelism do (caches_fp8_weights).
  std::optional<bool> fp8_weight_cache;
  // What a low-precision linear layer keeps for its weight gradient: its quantized input, one byte
  // a value (Transformer Engine: Linear and LayerNormLinear save the FP8 or MXFP8 copy), or its
  // 16-bit input, cast again in backward (torchao's Float8Linear). Unset: as fp8_weight_cache's
  // default, the framework that runs the plan's data parallelism (saves_low_precision_inputs).
  std::optional<bool> fp8_saved_inputs;
  Kernels kernels = Kernels::fused;
  // Bytes per gradient element in data-parallel reductions; 0: as the weights (2 for 16-bit).
  int gradient_reduce_bytes = 0;
  std::vector<int> layers_per_stage;  // empty: even split (or the balanced one of stage_layers)
  // Innermost first. Megatron-Core's order ("tp-cp-ep-dp-pp", parallel_state.py) and torchtitan's
  // device mesh (pp, dp_replicate, dp_shard, cp, tp, outermost first) both put pp outermost.
  std::vector<Axis> placement = {Axis::tp, Axis::cp, Axis::dp, Axis::pp};
  CollectiveAlgorithm dp_algorithm = CollectiveAlgorithm::automatic;
  CollectiveAlgorithm tp_algorithm = CollectiveAlgorithm::automatic;
  MoeDispatcher moe_dispatcher = MoeDispatcher::alltoall;
  ExpertGemm expert_gemm = ExpertGemm::streams;
  // The router's forward as Megatron-Core runs it: with --moe-router-fusion (Transformer
  // Engine's fused top-k and score kernels, what NVIDIA's recipes set) or without (its many
  // element-wise kernels). Each is a launch: router_kernels().
  bool moe_router_fusion = true;
  // Kernels of a MoE layer's router forward, its GEMM included, by NVIDIA's count for DeepSeek-V3
  // on Megatron-Core (Megatron-LM docs/discussions/deepseek-v3-gb200-optimization, 2.1.4 and
  // 2.2): 72, or 31 with router fusion; a flex dispatcher (DeepEP, HybridEP) fuses the
  // dispatch preprocessing, 17 for router and preprocessing with fusion (14 fewer, so 58 without).
  int router_kernels() const {
    const bool flex = moe_dispatcher != MoeDispatcher::alltoall;
    return moe_router_fusion ? (flex ? 17 : 31) : (flex ? 58 : 72);
  }
  double bucket_bytes = 40e6 * 2;  // DP gradient bucket (Megatron's default 40M elements, 16-bit)
  bool overlap_grad_reduce = true;
  // ZeRO-3: the next layer's weights prefetched. ZeRO 1-2 (Megatron-Core's distributed optimizer,
  // --overlap-param-gather): the updated weights gathered beside the next step's first forward,
  // layer by layer, not whole after the optimizer step.
  bool overlap_param_gather = true;
  Reshard reshard_after_forward = Reshard::by_default;
  Zero3Unit zero3_unit = Zero3Unit::layer;
  // ZeRO-3 collectives through torch.distributed's list API (all_gather / reduce_scatter of one
  // tensor per rank, as DeepSpeed called them before its v0.6 move to the flat _base
  // collectives): PyTorch copies every rank's slice out of (or into) the flat buffer with its
  // own kernel, so each collective also costs one launch per rank of the group.
  bool zero3_list_collectives = false;
  // ZeRO-3's sharded parameters are the fp32 master weights themselves (PyTorch FSDP1/FSDP2 with a
  // mixed-precision policy: each gather casts the fp32 shard, torch/distributed/fsdp), so no
  // 16-bit shard is kept beside the optimizer's: 16 bytes a parameter over the shard group, not 18
  // (DeepSpeed ZeRO-3 keeps a 16-bit partition and an fp32 copy).
  bool sharded_master_weights = false;
  // Bytes of each of Adam's two moments: 4, or 2 where they are kept in bf16 (Megatron-Core's
  // --use-precision-aware-optimizer with --exp-avg-dtype/--exp-avg-sq-dtype bf16; NeMo 1.x's
  // `optim.dtype: bf16` under Apex's DistributedFusedAdam).
  int optimizer_moment_bytes = 4;
  MasterWeights master_weights = MasterWeights::fp32;
  // Bytes of optimizer state per parameter: the two moments, and in 16-bit or lower precision
  // training the master weights (fp32 training updates its weights, which are counted as such).
  double optimizer_state_bytes() const {
    const bool fp32_training = precision == Precision::fp32 || precision == Precision::tf32;
    const double master = fp32_training                           ? 0.0
                          : master_weights == MasterWeights::fp32 ? 4.0
                          : master_weights == MasterWeights::none ? 0.0
                                                                  : 2.0;
    return 2.0 * optimizer_moment_bytes + master;
  }
  // ZeRO-3 keeps the embedding (and the LM head) gathered from their forward through the
  // backward: PyTorch FSDP2 before 2.8 never resharded its root module after forward
  // (pytorch/pytorch#154704: "didn't really reshard parameters after forward"), and torchtitan's
  // root held both until it wrapped them on their own (pytorch/torchtitan#1094, July 2025).
  bool zero3_keeps_embeddings = false;
  // Tensor-parallel collectives overlapped with the GEMMs next to them (tp_overlap_exposed), in
  // one of two ways (TpOverlap).
  bool tp_comm_overlap = false;
  TpOverlap tp_overlap = TpOverlap::userbuffers;
  // Whether it runs: userbuffers needs sequence parallelism (Megatron-LM refuses
  // --tp-comm-overlap without it; check_plan warns).
  bool overlaps_tp() const {
    return tp_comm_overlap && tp > 1 && (tp_overlap == TpOverlap::async || sequence_parallel);
  }
  // What stays exposed of a block's tensor-parallel collectives, of time t beside linear GEMMs of
  // time g: all of it without overlap; with async TP one of its tp steps at least; with
  // userbuffers, in forward the last of the pipelined reduce-scatter's 4 splits (`rs_share` of t
  // is the reduce-scatter: half, or more where the all-gather moves quantized values), in
  // backward (bulk and ring-exchange overlaps) only what the GEMMs cannot cover.
  double tp_overlap_exposed(double t, double g, bool forward, double rs_share = 0.5) const {
    if (!overlaps_tp()) return t;
    if (tp_overlap == TpOverlap::async) return std::max(t / tp, t - g);
    return std::max(forward ? rs_share * t / 4 : 0.0, t - g);
  }
  // SMs NCCL's kernels hold while a data-parallel collective runs (one CTA per channel; NCCL_MIN_CTAS
  // and NCCL_MAX_CTAS bound it). A GEMM overlapped with it has the GPU's other SMs: compute runs at
  // (SMs - collective_sms) / SMs of its rate meanwhile. 24: the CTAs an ncclAllGather launched
  // beside a GEMM on an H100 (NVIDIA developer forums, "Compute-communication overlap causes
  // severe GEMM performance degradation because of tail effect", 2025); DeepSeek-V3 gives its
  // all-to-all kernels 20 of the H800's 132 SMs (arXiv:2412.19437, section 3.2.2). 0: no sharing.
  int collective_sms = 24;
  Loss loss = Loss::fp32;

  // Trading communication for something else (docs/simulator.md):
  double gradient_compression = 1;  // gradient bytes are divided by this (bf16 of fp32: 2, int8: 4, top-k)
  int sync_every = 1;               // local SGD: replicas average every k steps
  int parameter_servers = 0;        // > 0: asynchronous parameter servers on this many nodes
  int staleness = 0;                // bounded staleness of the parameter-server mode

  int gpus() const { return tp * pp * dp * cp; }
  // Data-parallel ranks of one ZeRO shard group, and the replicas of each shard.
  int shard_dp() const { return dp_shard > 0 ? dp_shard : dp; }
  int shard_replicas() const { return dp / std::max(1, shard_dp()); }
  // The ranks ZeRO's states are sharded over: a shard group's data- and context-parallel ranks.
  int zero_shard() const { return shard_dp() * cp; }
  int expert_tp() const { return etp > 0 ? etp : tp; }
  // Expert data parallelism: replicas of each expert shard among a stage's ranks; expert
  // gradients are reduced and their optimizer state sharded over these only.
  int expert_dp() const { return std::max(1, tp * cp * dp / std::max(1, ep * expert_tp())); }
  std::int64_t micro_batches() const { return global_batch / (std::int64_t(micro_batch) * dp); }
  // The real step's micro-batches where this plan is a shortened run of it (a GPipe probe,
  // engine/simulation.cpp): what a step's once-per-step costs are spread over. 0: this plan's.
  std::int64_t whole_step_micro_batches = 0;
  std::int64_t step_micro_batches() const {
    return whole_step_micro_batches > 0 ? whole_step_micro_batches : micro_batches();
  }
  // Whether this part of a layer (a kCudaGraphScopes name) runs from a CUDA graph.
  bool graphs(const std::string& scope) const {
    return std::find(cuda_graphs.begin(), cuda_graphs.end(), scope) != cuda_graphs.end();
  }
  // Whether selective recomputation reruns this Megatron-Core module (recompute_modules).
  bool recomputes_module(const std::string& module) const {
    return recompute == Recompute::selective &&
           std::find(recompute_modules.begin(), recompute_modules.end(), module) != recompute_modules.end();
  }
  // Low-precision weight copies kept for the step: as set, or by the data parallelism when unset.
  // ZeRO 0-2 with FP8 is Transformer Engine under Megatron-Core or NeMo, which casts the weights
  // on a step's first micro-batch; ZeRO-3 / FSDP gathers and casts them in every forward
  // (torchao's Float8Linear under torchtitan's FSDP2).
  bool caches_fp8_weights() const { return low_precision(precision) && fp8_weight_cache.value_or(zero < 3); }
  bool saves_low_precision_inputs() const { return low_precision(precision) && fp8_saved_inputs.value_or(zero < 3); }
  // FSDP under pipeline parallelism as PyTorch's pipeline stages run it: each layer's weights
  // gathered once a step and kept, its gradients accumulated unsharded (in the reduce precision)
  // and reduce-scattered after the last micro-batch.
  bool fsdp_keeps_stage() const { return zero >= 3 && pp > 1 && reshard_after_forward != Reshard::always; }
  // FSDP keeps a layer's gathered weights from its forward to its backward (no second gather).
  bool fsdp_keeps_for_backward() const {
    return fsdp_keeps_stage() || (zero >= 3 && reshard_after_forward == Reshard::never);
  }
  // Whether the model's layer `index` (0-based) is fully recomputed: round(fraction x layers)
  // of them, evenly spaced, the first half a spacing in ([ac, -, ac, -] at 1/2, [-, ac, -] at 1/3).
  bool layer_recomputed(int index) const { return fully_recomputed(recompute, recompute_fraction, index); }
  // How many of the layers [first, first + count) are fully recomputed.
  int recomputed_layers(int first, int count) const {
    int n = 0;
    for (int i = first; i < first + count; ++i) n += layer_recomputed(i) ? 1 : 0;
    return n;
  }
  // Per-module fetch hooks fire again in a fully recomputed forward, which releases the weights
  // after it: the backward gathers them once more (zero3_unit: parameter).
  bool zero3_refetches_for_recompute() const {
    return zero >= 3 && zero3_unit == Zero3Unit::parameter && recompute == Recompute::full &&
           !fsdp_keeps_for_backward();
  }
  // torchtitan's per-op policy saves reduce-scatter outputs but not all-gather outputs (its
  // _save_list), and the matmuls it reruns (wk, w3 of wq wk wv wo w1 w3 w2) read the all-gathered
  // inputs: with sequence parallelism the backward gathers the attention and MLP inputs again.
  bool recompute_regathers_inputs() const { return recompute == Recompute::op && sequence_parallel && tp > 1; }
  // Under sequence parallelism a low-precision recipe quantizes a column-parallel layer's input
  // shard before the all-gather, which then moves the low-precision values: Transformer Engine's
  // gather_along_first_dim takes the input quantizer (FP8 per tensor, blockwise, MXFP8, NVFP4),
  // torchtitan's float8 tensorwise TP casts in PrepareFloat8ModuleInput. torchao's row-wise
  // recipe gathers in 16 bits and quantizes the gathered tensor (pytorch/torchtitan#845).
  bool quantized_tp_gather() const {
    return tp > 1 && sequence_parallel &&
           (precision == Precision::mxfp8 || precision == Precision::nvfp4 ||
            (precision == Precision::fp8 && fp8_recipe != Fp8Recipe::rowwise));
  }
};

// The placement's axes of size > 1, innermost first: two placements with the same lay every rank
// out alike.
std::vector<Axis> placement_in_use(const PlanSpec& plan);

// Layers of each model chunk: pp * virtual_stages of them in model order, chunk c running on
// stage c % pp (Megatron-LM's interleaving; without it, one chunk per stage). The plan's
// layers_per_stage when it has one entry per chunk; with one entry per stage, each stage's layers
// split over its chunks as evenly as can be (check_plan refuses other lengths); else an even split
// when the layers divide by the chunks. Otherwise chunks differ by at most one layer and the
// remainder goes round the stages one layer at a time, to the middle stages first, then the
// first, then the last, and on each stage to its chunks in order, except that the model's first
// chunk (which also runs the embedding) and its last (the LM head and loss) come last: they are
// the ones left a layer short. That is the heuristic of Narayanan et al. 2021 and Megatron-LM's
// uneven splits, with every stage's total as balanced as the chunks allow.
std::vector<int> chunk_layers(int layers, const PlanSpec& plan);
// The model index of each chunk's first layer: running sums of chunk_layers.
std::vector<int> first_layers(const std::vector<int>& chunk_layers);

// Layers on each pipeline stage: the sum of its chunks' (chunk_layers).
std::vector<int> stage_layers(int layers, const PlanSpec& plan);

// Chunk layers from layers per stage: each stage's split over its virtual_stages chunks as
// chunk_layers splits them (the first and last chunks of the model short first).
std::vector<int> split_stages_into_chunks(const std::vector<int>& stage_layers, const PlanSpec& plan);

// GPU index of a rank with these coordinates under the plan's placement.
int gpu_of(const PlanSpec& plan, int tp, int cp, int pp, int dp);
// GPU index of a stage's expert rank `i` under MoE parallel folding: the stage's tp*cp*dp ranks
// flattened tp innermost, then cp, then dp (Megatron-Core's expert rank generator).
int folded_gpu(const PlanSpec& plan, int stage, int i);

}  // namespace trainsim
