#pragma once
// How long one kernel takes on one GPU: a roofline (FLOPs at an achievable rate, or bytes at
// achievable memory bandwidth, whichever is slower), and at least the launch interval (the host
// issues kernels one at a time: ../shared/calibration's 512^3 GEMM, 0.3 us of work, took 13.4 us).
// The achievable rates are the GPU's own (GpuSpec::kernels, cited in sim/presets/gpus.yaml): GEMM
// efficiency by dtype and shape (wave quantization over the SMs, an efficiency that grows with K),
// attention by kernel family, causal mask, sequence and head dim, streaming kernels at a fraction
// of HBM bandwidth. A calibration profile measured on a device replaces what it measured (see
// docs/compute-model.md).
#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "scenario/hardware.hpp"
#include "scenario/plan.hpp"

namespace trainsim {

struct GemmShape {
  double m = 0, n = 0, k = 0;  // C[m,n] = A[m,k] * B[k,n]
  double batch = 1;
  int sms = 0;  // SMs the GEMM may use (a communication kernel holds the others); 0: all
};

// The shape terms (K half-point, tiles) were fitted to ../shared/calibration (H200, PyTorch 2.11,
// bf16) and hold for cuBLAS-class kernels on any GPU; the levels come from the GPU's data unless
// a device's measured profile sets them.
struct CalibrationProfile {
  std::string name = "the GPU's published kernel data (sim/presets/gpus.yaml)";
  std::string gpu;  // the GPU (preset name) it was measured on, where the profile says
  // Measured on a device (trainsim-exec calibrate); each value set replaces the GPU data's.
  std::optional<double> gemm_max_efficiency;  // of the bf16 peak, large well-shaped GEMMs
  std::optional<double> memory_efficiency;    // achieved / datasheet bandwidth
  // The device's default attention family, measured: eff = max * s/(s+s0) * d/(d+d0).
  std::optional<double> attention_max_efficiency;
  double attention_s0 = 1700, attention_d0 = 60;
  double attention_s_max = 4096;  // longest measured sequence; the fit is not extrapolated beyond it
  double gemm_k_half = 300;       // K at which the K-efficiency term is 1/2
  int gemm_tile_m = 128, gemm_tile_n = 256;
  // Eager (unfused) element-wise, norm and reduction kernels against a copy's bandwidth: 0.6 makes
  // the simulated forward and backward of the GPT-1.3B and GPT-350M steps trainsim-exec measured on
  // an H200 (eager LibTorch kernels, docs/executor.md) match them (0.61 and 0.59 would make each
  // exact). `trainsim-exec calibrate` measures it with LayerNorm and GELU.
  double elementwise_efficiency = 0.6;
  std::optional<double> kernel_overhead_s;  // overrides the GPU preset's
  // Measured GEMM rates by "MxNxK" (FLOP/s); a shape found here is used as measured.
  std::map<std::string, double> gemm_measured;
};

// Reads a profile written by `trainsim-exec calibrate` (JSON). Throws InputError.
CalibrationProfile load_calibration(const std::string& path);
CalibrationProfile parse_calibration(const std::string& text, const std::string& name);

// Linear-layer GEMMs run in the plan's precision (fp8 and the block-scaled formats included);
// other GEMMs (unfused attention, the LM head, the MoE router) stay in 16 bits.
enum class GemmKind { linear, other };

class CostModel {
 public:
  CostModel(GpuSpec gpu, Precision precision, CalibrationProfile profile = {},
            Fp8Recipe recipe = Fp8Recipe::tensorwise);

  double gemm_efficiency(const GemmShape& shape, GemmKind kind = GemmKind::linear) const;
  double gemm_time(const GemmShape& shape, GemmKind kind = GemmKind::linear) const;
  // The family that runs: `flash` resolves to the GPU's default; throws InputError when the GPU
  // has no data for the family (FlashAttention-3 on an A100).
  Attention attention_family(Attention requested) const;
  // Fraction of the 16-bit peak a fused attention kernel reaches, forward and backward together.
  double attention_efficiency(Attention family, double seq, double head_dim, bool causal) const;
  double attention_time(double flops, Attention family, double seq, double head_dim, bool causal) const;
  // What unfused attention's parts (score GEMM, softmax, value GEMM) take together, over the sum of
  // their own prices, on rows of `seq` keys at `head_dim` (GpuSpec::kernels.unfused); not
  // extrapolated below the shortest measured rows.
  double unfused_attention_factor(double seq, double head_dim) const {
    const UnfusedAttention& u = gpu_.kernels.unfused;
    return u.scale * (1 + u.per_head_dim * head_dim / std::max(seq, u.min_seq));
  }
  // Fused attention runs its forward faster per FLOP than its backward (five GEMMs, the
  // dQ accumulation): at head dim 128 on an H100, FlashAttention-2 370 vs 322 TFLOP/s,
  // FlashAttention-3 648 vs 561, cuDNN 595 vs 516 (KERNEL-FACTS 3c, 16K, non-causal); on an A100
  // FlashAttention-2 reaches 73% of peak forward and 63% backward (Dao 2023). With that ratio
  // (1.15) the fwd+bwd time (1 forward and 2.5 backward FLOP units) splits into these shares of
  // the combined rate's time: forward 0.90, backward 1.04. A recomputed forward costs the former.
  static constexpr double kAttentionForwardOverBackward = 1.15;
  static double attention_forward_scale() { return 3.5 / (1 + 2.5 * kAttentionForwardOverBackward); }
  static double attention_backward_scale() {
    return 3.5 * kAttentionForwardOverBackward / (1 + 2.5 * kAttentionForwardOverBackward);
  }
  // Memory-bound kernels: element-wise, norms, softmax; `eager`: unfused framework kernels.
  double memory_time(double bytes, bool eager = false) const;
  // Quantizing `elements` GEMM-operand values to the plan's low precision (0 when it has none):
  // the kernels the recipe runs (amax, cast, transposed copy) as memory-bound passes. `shards` > 1:
  // the values are quantized as 1/shards slices before an all-gather (PlanSpec::quantized_tp_gather),
  // and a second layout, where the GEMMs need one, is copied from the gathered low-precision tensor.
  double quantize_time(double elements, double shards = 1) const;
  double quantize_bytes(double elements, double shards = 1) const;
  // Bytes of one quantized value, its scales included (0 without a low-precision recipe).
  double quantized_value_bytes() const;
  // Low-precision copies a GEMM operand needs, one per layout: 2 where the backward's GEMMs take
  // a transposed copy (Hopper's FP8) or the recipe quantizes each layout along its own rows or
  // blocks (row-wise, block-scaled, MXFP8, NVFP4); else 1. 0 without a low-precision recipe.
  int quantized_layouts() const;
  // Whether quantizing reads the tensor once more for a per-tensor amax first: current scaling
  // and row-wise (computed now, not from history) and NVFP4's per-tensor second-level scale.
  bool amax_pass() const;
  // Whether the backward's GEMMs (input and weight gradients) run with unit scales and rescale
  // their outputs after: torchao's row-wise recipe accumulates them in full precision, and
  // without fast accumulation the row-wise CUTLASS kernel is slow enough that torchao calls the
  // tensor-wise cuBLAS kernel and multiplies by the row and column scales in a separate
  // element-wise pass (pytorch/ao#1325, addmm_float8_unwrapped; pytorch/pytorch#147971).
  bool rescales_gradient_gemms() const { return precision_ == Precision::fp8 && recipe_ == Fp8Recipe::rowwise; }
  double kernel_overhead() const { return overhead_; }
  // The same GPU running kernels replayed from a CUDA graph: the host no longer issues them one
  // by one, so the least time a kernel takes is the GPU's own back-to-back interval
  // (GpuSpec::kernel_interval: 2.4-2.5 us a kernel queued on an H200 stream, KF section 7).
  CostModel replaying_graphs() const;
  bool replays_graphs() const { return replays_graphs_; }
  double peak() const { return peak_; }  // 16-bit (or fp32/tf32) peak under the power limit
  double memory_efficiency() const { return memory_efficiency_; }
  const GpuSpec& gpu() const { return gpu_; }
  const CalibrationProfile& profile() const { return profile_; }

 private:
  // Wave quantization and K term over the GPU's (or the profile's) top efficiency.
  double modelled_gemm_efficiency(const GemmShape& shape, GemmKind kind) const;

  GpuSpec gpu_;
  Precision precision_;
  CalibrationProfile profile_;
  Fp8Recipe recipe_;
  double peak_;         // of non-linear GEMMs and attention
  double linear_peak_;  // of linear GEMMs
  double linear_efficiency_;
  double memory_efficiency_;
  double quantize_efficiency_;  // KernelData::quantize, else memory_efficiency_
  double overhead_;
  bool replays_graphs_ = false;
};

}  // namespace trainsim
