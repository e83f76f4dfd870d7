#include "scenario/hardware.hpp"

namespace trainsim {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::tf32: return "tf32";
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
    case Precision::fp8: return "fp8";
  }
  return "?";
}

int bytes_per_element(Precision p) {
  switch (p) {
    case Precision::fp32:
    case Precision::tf32: return 4;
    case Precision::fp8: return 1;
    default: return 2;
  }
}

double GpuSpec::peak(Precision p) const {
  switch (p) {
    case Precision::fp32: return peak_fp32;
    case Precision::tf32: return peak_tf32;
    case Precision::bf16: return peak_bf16;
    case Precision::fp16: return peak_fp16;
    case Precision::fp8: return peak_fp8;
  }
  return 0;
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
