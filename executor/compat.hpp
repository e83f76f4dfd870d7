#pragma once
// The differences between Debian's LibTorch 1.13 (CPU, this machine) and
// LibTorch 2.x (the GPU machine's PyTorch wheel), kept in one place.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <optional>
// PyTorch's wheels may ship LibTorch without Gloo's headers: the CPU backend is then missing, and
// only NCCL (GPU) runs.
#if __has_include(<gloo/config.h>)
#define TRAINSIM_EXEC_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#else
#define TRAINSIM_EXEC_GLOO 0
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif
#ifdef TRAINSIM_EXEC_CUDA
#include <c10/cuda/CUDACachingAllocator.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace trainsim::exec {

// In 2.x the process-group implementations derive from c10d::Backend; in 1.13
// from ProcessGroup.
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif
using Work = c10d::Work;

// Attention through PyTorch's fused kernel where LibTorch has one (2.x: flash / memory-efficient
// scaled_dot_product_attention); nullopt on 1.13, where the caller writes it out.
inline std::optional<at::Tensor> fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                 const std::optional<at::Tensor>& mask, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, causal);
#else
  (void)q, (void)k, (void)v, (void)mask, (void)causal;
  return std::nullopt;
#endif
}

// bf16 autocast on CUDA for the forward passes (a no-op without CUDA).
inline void set_autocast_bf16(bool on) {
#ifdef TRAINSIM_EXEC_CUDA
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_enabled(at::kCUDA, on);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
  at::autocast::set_enabled(on);
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
#else
  (void)on;
#endif
}

// Autocast keeps the low-precision copy of each weight it casts until told to forget it; after an
// optimizer step those copies are stale.
inline void forget_autocast_casts() { at::autocast::clear_cache(); }

#ifdef TRAINSIM_EXEC_CUDA
// Peak bytes allocated by LibTorch on the device (NCCL's own buffers are not
// counted).
inline int64_t cuda_peak_bytes(int device) {
  return c10::cuda::CUDACachingAllocator::getDeviceStats(device).allocated_bytes[0].peak;
}
// Forgets the peak so far (the model's set-up holds fp32 copies that training does not).
inline void cuda_reset_peak(int device) { c10::cuda::CUDACachingAllocator::resetPeakStats(device); }
#endif

}  // namespace trainsim::exec
