#pragma once
// The cluster: what a GPU can do and how GPUs are wired. Values come from presets
// (sim/presets/gpus.yaml, topologies/*.yaml), each citing its source, or from the user's file.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace trainsim {

// fp8, mxfp8 and nvfp4 are the low-precision recipes: linear-layer GEMMs run in that format,
// everything else (attention, norms, softmax, the LM head) in bf16, as Transformer Engine and
// torchao do by default (TransformerEngine docs, low_precision_training/introduction.rst).
enum class Precision { fp32, tf32, bf16, fp16, fp8, mxfp8, nvfp4 };
const char* precision_name(Precision p);
// Of activations, 16-bit weights and their gradients: 4 for fp32/tf32, else 2 (low-precision
// recipes keep bf16 activations and weights; only GEMM operands are quantized).
int bytes_per_element(Precision p);
bool low_precision(Precision p);  // fp8, mxfp8, nvfp4
// The precision whose peak MFU is reported against: bf16 for the low-precision recipes (the
// convention of torchtitan, torchao and Megatron-LM), else the precision itself.
Precision mfu_precision(Precision p);

// Attention kernel families. flash: the GPU's default fused family (what current frameworks run on
// it, GpuSpec::kernels.default_attention); flash1: FlashAttention-1 / Triton-era kernels; flash2:
// FlashAttention-2; flash3: FlashAttention-3 (Hopper); flash4: FlashAttention-4 (Blackwell);
// cudnn: cuDNN fused attention (Transformer Engine's and SDPA's cuDNN backend); unfused: the score
// matrix through memory (Megatron-LM 2021, BERT of 2019-20).
enum class Attention { flash, flash1, flash2, flash3, flash4, cudnn, unfused };
const char* attention_name(Attention a);

// Fraction of the bf16 peak an attention family reaches, forward and backward together (the
// FlashAttention benchmark's FLOP convention), at head dim 128 on long sequences; shorter
// sequences reach plateau * s / (s + s_half), other head dims scale by d/(d+d_half) against 128.
// Where a family is measured faster at head dim 64 than at 128 (FlashAttention-1 on the A100),
// no d_half fits: hd64_ratio, the measured rate at 64 over the rate at 128, then scales head dim d
// by hd64_ratio^log2(128/d) instead.
struct AttentionEfficiency {
  double causal = 0, noncausal = 0;
  double s_half_causal = 500, s_half_noncausal = 200;
  double d_half = 30;
  double hd64_ratio = 0;  // 0: the d_half term
};

// Attention as separate operations (plan.attention `unfused`: the score GEMM, the softmax, the
// value GEMM, each a kernel) runs slower than its parts' prices, the more so on short sequences:
// the parts' times x scale x (1 + per_head_dim x head_dim / sequence), forward and backward, the
// sequence taken as at least min_seq, the shortest measured (docs/compute-model.md). 1 and 0: the
// parts' prices.
struct UnfusedAttention {
  double scale = 1.0;
  double per_head_dim = 0;
  double min_seq = 512;
};

// How kernels run on this GPU, as fractions of its datasheet numbers (sim/presets/gpus.yaml cites
// each). The compute model (compute/cost_model.hpp) prices every kernel from these.
struct KernelData {
  // Large, well-shaped GEMMs: the most a GEMM reaches, kernel only (quantization not included).
  double gemm_bf16 = 0.84, gemm_fp8 = 0, gemm_fp4 = 0;
  // GEMMs with per-row or per-block scales reach less than per-tensor ones; 0: as gemm_fp8.
  double gemm_fp8_rowwise = 0, gemm_fp8_blockwise = 0;
  double memory = 0.886;  // streaming kernels against datasheet memory bandwidth
  // Low-precision quantization kernels (amax, cast, transposed copy) against datasheet memory
  // bandwidth; 0: as `memory`.
  double quantize = 0;
  std::map<Attention, AttentionEfficiency> attention;
  Attention default_attention = Attention::flash2;
  UnfusedAttention unfused;
  // Whether FP8 GEMMs need both operand layouts materialised (Hopper's FP8 tensor cores take only
  // the TN layout: columnwise operands are transposed copies; TE performance_considerations.rst).
  bool fp8_needs_transpose = false;
  // The fraction of its microbenchmark tensor-core rate (the numbers above, measured in short
  // runs) the GPU keeps through training steps that run for minutes: under continuous load the
  // board's power limit, not its boost clock, sets the SM clock (docs/compute-model.md).
  double sustained = 1.0;
  // The same for FP8 GEMMs, where the GPU's data shows they lose less to the power limit than
  // 16-bit ones (fewer joules a FLOP); 0: as `sustained`.
  double sustained_fp8 = 0;
};

struct GpuSpec {
  std::string name;
  std::string source;
  double memory_bytes = 0;
  double memory_bandwidth = 0;  // bytes/s
  double peak_fp32 = 0;         // FLOP/s, dense
  double peak_tf32 = 0;
  double peak_bf16 = 0;
  double peak_fp16 = 0;
  double peak_fp8 = 0;          // 0: not supported
  double peak_fp4 = 0;          // nvfp4; 0: not supported
  bool mx_formats = false;      // block-scaled mxfp8 / nvfp4 tensor cores (Blackwell)
  double nvlink_bandwidth = 0;  // bytes/s per GPU per direction
  // Copies between the GPU and its host's memory (PCIe, or NVLink-C2C to a Grace CPU), bytes/s per
  // direction, achievable: what activation offloading moves (PlanSpec::activation_offload_layers).
  // 0: not known for this GPU.
  double host_link_bandwidth = 0;
  // NVLink SHARP (NVLS) all-reduce inside the NVLink domain, as nccl-tests' bus bandwidth
  // (2(n-1)/n S / t); 0: the switches do not reduce (A100's NVSwitch).
  double nvls_bandwidth = 0;
  bool nvls_stated = false;      // given by the user's GPU map or file: a new NVLink does not rescale it
  int sm_count = 1;              // streaming multiprocessors: sets GEMM wave quantization
  double power_watts = 0;        // board power (the peaks' power), for energy
  double power_limit_watts = 0;  // a lower power cap the GPUs run at; 0: none
  // What a GPU draws idle, as a share of its board power: an assumption (A100/H100 idle readings
  // of 50-100 W are typical; not measured here). The energy model's idle draw, and the floor of a
  // power cap: a GPU capped at what it draws doing nothing could not run.
  static constexpr double kIdlePowerShare = 0.2;
  // The sustained clock of the job's slowest GPU over a typical one's (slowest_clock_factor): a
  // synchronous step waits for it. 1: a typical GPU (one GPU, or no spread).
  double slowest_clock = 1.0;
  double kernel_overhead_s = 0;  // fixed cost per kernel launch
  // The least time between kernels already queued on a stream (device side: C++ loops that issue
  // faster than the GPU runs them); 0: kernel_overhead_s.
  double kernel_interval_s = 0;
  double queued_kernel_interval() const { return kernel_interval_s > 0 ? kernel_interval_s : kernel_overhead_s; }
  KernelData kernels;
  // Built without a preset and without kernels.sustained: its tensor rate is taken at the
  // microbenchmark clock through the step, which the scenario warns of.
  bool sustained_unstated = false;
  // The share of the GPU that `sms` of its SMs are (NCCL's kernels beside a GEMM,
  // PlanSpec::collective_sms), at most 0.9; 0 for a device without an SM count (a CPU).
  double sm_share(int sms) const { return sm_count > 1 ? std::min(0.9, double(sms) / sm_count) : 0.0; }
  // Datasheet peak of the format the GEMMs of `p` run in (the low-precision peak for fp8 etc.).
  double peak(Precision p) const;
  // The tensor-core rate a training step sustains, as a fraction of the microbenchmark rates in
  // `kernels`: kernels.sustained at board power, times limit / board power under a lower cap
  // (hardware.cpp says why linear), times the job's slowest GPU's share (slowest_clock).
  double tensor_clock_factor() const;
  // tensor_clock_factor for FP8 GEMMs (KernelData::sustained_fp8).
  double fp8_clock_factor() const;
};

// GPUs of one kind do not all sustain the same clock: at the power limit each chip's clock is
// what its own leakage and voltage curve allow. A synchronous step (every collective, every
// pipeline hand-off) runs at the pace of its slowest GPU, so a job of n GPUs whose sustained clocks
// spread with coefficient of variation `spread` runs at 1 - spread x E[max of n standard normal
// draws] of a typical GPU's clock (hardware.cpp). 1 for one GPU or no spread.
double slowest_clock_factor(double spread, std::int64_t gpus);

enum class FabricKind { none, fat_tree, rail_optimized, torus, dragonfly };

// A run of consecutive nodes that carry one kind of GPU, for clusters that mix GPU generations.
struct NodeGroup {
  int nodes = 0;
  GpuSpec gpu;
};
const char* fabric_name(FabricKind k);

struct TopologySpec {
  std::string name;
  std::string description;
  std::string source;
  std::string file;  // where it was read from ("preset:NAME" for built-ins)
  GpuSpec gpu;
  int gpus_per_node = 1;
  int nodes = 1;
  // The GPUs one host drives (its operating system, its launcher's processes): the node's unless
  // a node holds several hosts, as a GB200 NVL72 rack's NVLink domain spans 18 trays of 4 GPUs.
  // Only what a launch line says depends on it (export: processes per host, hosts).
  int gpus_per_host = 0;
  int host_gpus() const {
    return gpus_per_host > 0 && gpus_per_node % gpus_per_host == 0 ? gpus_per_host : gpus_per_node;
  }
  // A job larger than one NVLink domain gets this many GPUs of each domain it spans (a scheduler's
  // block or segment: Slurm's --segment in trays x GPUs per tray); 0: whole domains. Applied when
  // the scenario is read (each node then holds `segment` GPUs).
  int segment = 0;
  // Inside a node: every GPU has a port of nvlink_bandwidth into one switch (NVSwitch), or,
  // for `cpu` devices, shared memory modelled the same way.
  double intra_latency = 1e-6;
  // Between nodes: one NIC per GPU of nic_bandwidth; switches add switch_latency per hop.
  FabricKind fabric = FabricKind::none;
  double nic_bandwidth = 0;
  double nic_latency = 2e-6;
  double switch_latency = 0.3e-6;
  double oversubscription = 1.0;  // leaf downlink : uplink bandwidth
  // The switches reduce all-reduces between nodes (InfiniBand SHARP with NCCL's CollNet): each
  // node's NICs send their share once and receive the result once.
  bool in_network_reduction = false;
  int nodes_per_leaf = 16;      // fat tree / rail-optimized: nodes under one leaf (or one scalable unit)
  std::vector<int> torus_dims;  // torus: nodes along each dimension
  double torus_link_bandwidth = 0;
  int dragonfly_groups = 0, dragonfly_routers_per_group = 0, dragonfly_nodes_per_router = 0;
  double dragonfly_global_bandwidth = 0;
  // Money, power and storage (optional; 0 when unknown).
  double price_per_gpu_hour = 0;
  double nic_power_watts = 0, switch_power_watts = 0;
  // Everything in a node but its GPUs (CPUs, memory, NVSwitches, fans, power supplies), drawn
  // for the whole step; unset: default_host_power_watts(). Facility overhead (cooling, power
  // distribution) as a power usage effectiveness; unset: kDefaultPue. report/prediction.cpp.
  std::optional<double> host_power_watts;
  std::optional<double> pue;
  double storage_bandwidth = 0;  // bytes/s, aggregate, for checkpoints
  // Empty: every node carries `gpu`. Otherwise the groups cover the nodes in order (their sizes
  // add up to `nodes`) and `gpu` is the first group's.
  std::vector<NodeGroup> node_groups;

  int total_gpus() const { return gpus_per_node * nodes; }
  const GpuSpec& gpu_of_node(int node) const;
  // Each kind of GPU once, by name, in node order; and their names joined: "h100-sxm-80gb +
  // a100-80gb-sxm".
  std::vector<const GpuSpec*> gpu_kinds() const;
  // The same for the nodes the first `gpus` GPUs (a job's) sit on.
  std::vector<const GpuSpec*> gpu_kinds(int gpus) const;
  std::string gpu_names() const;
  // Fat trees and rail-optimized fabrics grow (or shrink) on their own design: more nodes under
  // more leaves and spines. Tori, dragonflies and node-group clusters are sized by their layout;
  // for them resize_refusal() says so, as an error message's problem.
  bool resizable() const;
  std::string resize_refusal() const;
  // Whether the first `gpus` GPUs (a job's) are not all of one kind.
  bool mixed(int gpus) const;
};

}  // namespace trainsim
