#include "scenario/hardware.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>

namespace trainsim {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::fp32:
      return "fp32";
    case Precision::tf32:
      return "tf32";
    case Precision::bf16:
      return "bf16";
    case Precision::fp16:
      return "fp16";
    case Precision::fp8:
      return "fp8";
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
    default:
      return 2;
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
    case Precision::fp32:
      return peak_fp32;
    case Precision::tf32:
      return peak_tf32;
    case Precision::bf16:
      return peak_bf16;
    case Precision::fp16:
      return peak_fp16;
    case Precision::fp8:
    case Precision::mxfp8:
      return peak_fp8;
    case Precision::nvfp4:
      return peak_fp4;
  }
  return 0;
}

// Tensor work at full load already runs at the board's power limit (KernelData::sustained), so a
// lower cap lowers the clock further. Dynamic power is C * V^2 * f; once the voltage sits at its
// floor, as it does at the power-limited clocks of a loaded GPU, power falls only linearly with the
// clock, and the sustained tensor rate with it: cap / board power. The one published measurement
// agrees: a GB300 with its SM clock locked at 2070 MHz ran cuBLAS GEMMs at ~617 TFLOP/s capped at
// 500 W against ~1600-2174 at its 1400 W board power, 0.28-0.39 for a power ratio of 0.36
// (facebookexperimental/triton PR #2023, KF 2d); the cube root (voltage scaling with the clock)
// would give 0.71. For a mild cap the truth may lie between the two (H100 at 500 W: 0.71 linear,
// 0.89 cube root; docs/compute-model.md). Memory-bound kernels are not scaled: the memory clock
// does not move with the power cap.
namespace {
double power_cap_factor(const GpuSpec& g) {
  const bool capped = g.power_limit_watts > 0 && g.power_watts > 0 && g.power_limit_watts < g.power_watts;
  return capped ? g.power_limit_watts / g.power_watts : 1.0;
}
}  // namespace

double GpuSpec::tensor_clock_factor() const { return kernels.sustained * power_cap_factor(*this) * slowest_clock; }

double GpuSpec::fp8_clock_factor() const {
  const double sustained = kernels.sustained_fp8 > 0 ? kernels.sustained_fp8 : kernels.sustained;
  return sustained * power_cap_factor(*this) * slowest_clock;
}

// E[max of n standard normal draws] = integral of x n phi(x) Phi(x)^(n-1) dx, by the midpoint rule
// over [-9, 9] (the density of the maximum is below 1e-15 outside it for n up to a few million).
// Each thread keeps what it computed: a search prices thousands of plans of the same job size.
double slowest_clock_factor(double spread, std::int64_t gpus) {
  if (spread <= 0 || gpus <= 1) return 1.0;
  thread_local std::map<std::int64_t, double> expected_max_of;
  auto [it, inserted] = expected_max_of.try_emplace(gpus, 0.0);
  if (inserted) {
    const double n = static_cast<double>(gpus);
    constexpr double lo = -9, hi = 9;
    constexpr int steps = 18000;
    constexpr double dx = (hi - lo) / steps;
    for (int i = 0; i < steps; ++i) {
      const double x = lo + (i + 0.5) * dx;
      const double density = std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi);
      const double below = 0.5 * std::erfc(-x / std::numbers::sqrt2);
      it->second += x * n * density * std::pow(below, n - 1) * dx;
    }
  }
  return std::max(0.0, 1 - spread * it->second);
}

bool TopologySpec::resizable() const {
  // Without a network (fabric none) there is nothing to join more nodes with.
  return (fabric == FabricKind::fat_tree || fabric == FabricKind::rail_optimized) && node_groups.empty();
}

std::string TopologySpec::resize_refusal() const {
  if (fabric == FabricKind::none && node_groups.empty()) {
    return "topology " + name + " has no network between nodes: give one with a network (such as dgx-h100-superpod)";
  }
  return "topology " + name + " is sized by its " +
         (node_groups.empty() ? "torus or dragonfly dimensions" : "node_groups") +
         ": give a topology file with more nodes";
}

const GpuSpec& TopologySpec::gpu_of_node(int node) const {
  int first = 0;
  for (const auto& group : node_groups) {
    first += group.nodes;
    if (node < first) return group.gpu;
  }
  return gpu;
}

std::vector<const GpuSpec*> TopologySpec::gpu_kinds() const {
  std::vector<const GpuSpec*> kinds{&gpu};
  for (const auto& group : node_groups) {
    const bool seen =
        std::any_of(kinds.begin(), kinds.end(), [&](const GpuSpec* g) { return g->name == group.gpu.name; });
    if (!seen) kinds.push_back(&group.gpu);
  }
  return kinds;
}

std::vector<const GpuSpec*> TopologySpec::gpu_kinds(int gpus) const {
  std::vector<const GpuSpec*> kinds;
  const int per_node = std::max(1, gpus_per_node);
  for (int n = 0; n < (gpus + per_node - 1) / per_node; ++n) {
    const GpuSpec& g = gpu_of_node(n);
    if (std::none_of(kinds.begin(), kinds.end(), [&](const GpuSpec* k) { return k->name == g.name; }))
      kinds.push_back(&g);
  }
  return kinds;
}

std::string TopologySpec::gpu_names() const {
  std::string names;
  for (const GpuSpec* g : gpu_kinds()) names += (names.empty() ? "" : " + ") + g->name;
  return names;
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
    case FabricKind::none:
      return "none";
    case FabricKind::fat_tree:
      return "fat-tree";
    case FabricKind::rail_optimized:
      return "rail-optimized";
    case FabricKind::torus:
      return "torus";
    case FabricKind::dragonfly:
      return "dragonfly";
  }
  return "?";
}

}  // namespace trainsim
