#pragma once
// Memory per GPU on the most loaded pipeline stage: weights, gradients and optimizer state by
// precision and ZeRO stage (Rajbhandari et al. 2020), activations by recomputation, sequence /
// context parallelism and the micro-batches a stage holds under its schedule (Korthikanti et al.
// 2022), and communication buffers.
#include <vector>

#include "scenario/scenario.hpp"
#include "workload/work.hpp"

namespace trainsim {

// What a training process holds on each GPU besides its tensors, which the tensors cannot use:
// the CUDA context and library workspaces, NCCL's buffers, and what the caching allocator loses
// to fragmentation. A fixed part plus a share of the GPU's memory (docs/scenario-format.md,
// "Memory reserve"):
//   - CUDA context, cuBLAS/cuDNN workspaces: 0.5-1 GiB per process on A100/H100 (lazy module
//     loading); 1 GiB here.
//   - NCCL: NCCL_BUFFSIZE (4 MiB by default, NCCL environment variables) per channel per peer;
//     a rank in TP, PP, DP and CP communicators of up to 32 channels with a send and a receive
//     peer each holds 4 x 32 x 2 x 4 MiB = 1 GiB.
//   - Fragmentation: PyTorch's caching allocator reserves more than it hands out (blocks split
//     and cached per size and stream; PyTorch docs, CUDA semantics, "expandable_segments"; the
//     PyTorch devlog "When does fragmentation occur in the CUDA caching allocator?"); 5% of
//     the GPU's memory.
// cluster.memory_reserve replaces the whole reserve with a size.
constexpr double kReserveFixedBytes = 2.0 * 1024 * 1024 * 1024;
constexpr double kReserveFraction = 0.05;
double default_memory_reserve(double capacity);

struct MemoryBreakdown {
  double params = 0, grads = 0, optimizer = 0, activations = 0, buffers = 0;
  double peak = 0;                    // the tensors at the step's peak
  double capacity = 0;                // the GPU's memory
  double reserve = 0;                 // not available to tensors (see above)
  int stage = 0;                      // the stage these numbers are for (the least headroom)
  double in_flight_microbatches = 0;  // micro-batches of activations held at the peak
  // Activations held in the host's memory instead (PlanSpec::activation_offload_layers), not in
  // `peak`: what the host must have free for each GPU.
  double offloaded = 0;
  double usable() const { return capacity - reserve; }
  double headroom() const { return usable() - peak; }
  bool fits() const { return peak <= usable(); }
};

// Activation bytes of one layer for one micro-batch on one GPU.
double activation_bytes_per_layer(const ModelSpec& model, const PlanSpec& plan, bool flash_attention = true);

// Per stage; the worst stage first in `worst_stage` of the result.
std::vector<MemoryBreakdown> memory_per_stage(const Scenario& scenario, const Workload& work);
MemoryBreakdown peak_memory(const Scenario& scenario, const Workload& work);

}  // namespace trainsim
