#pragma once
// The differences between Debian's LibTorch 1.13 (CPU, this machine) and
// LibTorch 2.x (the GPU machine's PyTorch wheel), kept in one place.
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef TRAINSIM_EXEC_CUDA
#include <ATen/autocast_mode.h>
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

#ifdef TRAINSIM_EXEC_CUDA
// Peak bytes allocated by LibTorch on the device (NCCL's own buffers are not
// counted).
inline int64_t cuda_peak_bytes(int device) {
  return c10::cuda::CUDACachingAllocator::getDeviceStats(device).allocated_bytes[0].peak;
}
#endif

}  // namespace trainsim::exec
