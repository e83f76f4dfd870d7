#include "scenario/hardware.hpp"

#include <algorithm>
#include <cmath>

namespace trainsim {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::tf32: return "tf32";
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
    case Precision::fp8: return "fp8";
    case Precision::mxfp8:
      return "mxfp8";
    case Precision::nvfp4:
      return "nvfp4";
  }
  return "?";
}

int bytes_per_element(Precision p) {
  switch (p) {
    case Precision::fp32:
    case Precision::tf32:
      return 4;
    default: return 2;
  }
}

bool low_precision(Precision p) { return p == Precision::fp8 || p == Precision::mxfp8 || p == Precision::nvfp4; }

Precision mfu_precision(Precision p) { return low_precision(p) ? Precision::bf16 : p; }

const char* attention_name(Attention a) {
  switch (a) {
    case Attention::flash:
      return "flash";
    case Attention::flash1:
      return "flash1";
    case Attention::flash2:
      return "flash2";
    case Attention::flash3:
      return "flash3";
    case Attention::flash4:
      return "flash4";
    case Attention::cudnn:
      return "cudnn";
    case Attention::unfused:
      return "unfused";
  }
  return "?";
}

double GpuSpec::peak(Precision p) const {
  switch (p) {
    case Precision::fp32: return peak_fp32;
    case Precision::tf32: return peak_tf32;
    case Precision::bf16: return peak_bf16;
    case Precision::fp16: return peak_fp16;
    case Precision::fp8:
    case Precision::mxfp8:
      return peak_fp8;
    case Precision::nvfp4:
      return peak_fp4;
  }
  return 0;
}

// Dynamic power is C * V^2 * f and, inside the voltage-frequency scaling range, the voltage a
// clock needs grows about linearly with it, so power grows with the cube of the clock (the CMOS
// relation GPU DVFS studies start from, e.g. Mei, Wang, Chu, "A Survey and Measurement Study of
// GPU DVFS on Energy Conservation", Digital Communications and Networks 2017). A GPU capped below
// its board power sustains cbrt(cap / board power) of its tensor rate. Static power is ignored,
// which understates the slowdown a little; clocks of memory-bound kernels barely matter and are
// not scaled.
double GpuSpec::power_clock_factor() const {
  if (power_limit_watts <= 0 || power_watts <= 0 || power_limit_watts >= power_watts) return 1.0;
  return std::cbrt(power_limit_watts / power_watts);
}

const GpuSpec& TopologySpec::gpu_of_node(int node) const {
  int first = 0;
  for (const auto& group : node_groups) {
    first += group.nodes;
    if (node < first) return group.gpu;
  }
  return gpu;
}

bool TopologySpec::mixed(int gpus) const {
  const int nodes_used = (gpus + gpus_per_node - 1) / gpus_per_node;
  for (int n = 1; n < nodes_used; ++n) {
    if (gpu_of_node(n).name != gpu_of_node(0).name) return true;
  }
  return false;
}

const char* fabric_name(FabricKind k) {
  switch (k) {
    case FabricKind::none: return "none";
    case FabricKind::fat_tree: return "fat-tree";
    case FabricKind::rail_optimized: return "rail-optimized";
    case FabricKind::torus: return "torus";
    case FabricKind::dragonfly: return "dragonfly";
  }
  return "?";
}

}  // namespace trainsim
