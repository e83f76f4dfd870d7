#pragma once
// How long one kernel takes on one GPU: a roofline (FLOPs at an achievable rate, or bytes at
// achievable memory bandwidth, whichever is slower), and at least the launch interval (the host
// issues kernels one at a time: ../shared/calibration's 512^3 GEMM, 0.3 us of work, took 13.4 us). The achievable
// GEMM rate depends on shape: wave quantization over the SMs and an efficiency that grows with K.
// The defaults were fitted to ../shared/calibration (H200, PyTorch 2.11, bf16) and are applied to
// other GPUs relative to their datasheet peaks; a calibration profile file replaces them with a
// device's own measurements (see docs/compute-model.md).
#include <map>
#include <optional>
#include <string>

#include "scenario/hardware.hpp"

namespace trainsim {

struct GemmShape {
  double m = 0, n = 0, k = 0;  // C[m,n] = A[m,k] * B[k,n]
  double batch = 1;
};

struct CalibrationProfile {
  std::string name = "default (fitted to H200 measurements, ../shared/calibration)";
  double gemm_max_efficiency = 0.84;  // of datasheet peak, for large well-shaped GEMMs
  double gemm_k_half = 300;           // K at which the K-efficiency term is 1/2
  int gemm_tile_m = 128, gemm_tile_n = 256;
  double attention_max_efficiency = 1.0;  // flash attention: eff = max * s/(s+s0) * d/(d+d0)
  double attention_s0 = 1700, attention_d0 = 60;
  double attention_s_max = 4096;     // longest measured sequence; the fit is not extrapolated beyond it
  double memory_efficiency = 0.886;  // achieved / datasheet bandwidth (H200 copy: 4253/4800)
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

class CostModel {
 public:
  CostModel(GpuSpec gpu, Precision precision, CalibrationProfile profile = {});

  double gemm_efficiency(const GemmShape& shape) const;
  double gemm_time(const GemmShape& shape) const;
  // Flash-style attention over `batch_heads` heads of query length sq, key length sk, head dim d.
  // Fraction of peak a FlashAttention-2-class kernel reaches, forward and backward together.
  double attention_efficiency(double seq, double head_dim) const;
  // `relative`: the kernel generation's speed against FlashAttention-2's (1 for flash).
  double attention_time(double flops, double seq, double head_dim, double relative = 1.0) const;
  // Memory-bound kernels: element-wise, norms, softmax; `eager`: unfused framework kernels.
  double memory_time(double bytes, bool eager = false) const;
  double kernel_overhead() const { return overhead_; }
  double peak() const { return peak_; }
  const GpuSpec& gpu() const { return gpu_; }
  const CalibrationProfile& profile() const { return profile_; }

 private:
  GpuSpec gpu_;
  Precision precision_;
  CalibrationProfile profile_;
  double peak_;
  double overhead_;
};

}  // namespace trainsim
