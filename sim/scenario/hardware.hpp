#pragma once
// The cluster: what a GPU can do and how GPUs are wired. Values come from presets
// (sim/presets/gpus.yaml, topologies/*.yaml), each citing its source, or from the user's file.
#include <string>
#include <vector>

namespace trainsim {

enum class Precision { fp32, tf32, bf16, fp16, fp8 };
const char* precision_name(Precision p);
int bytes_per_element(Precision p);  // of activations and 16-bit weights: 4 for fp32/tf32, 1 for fp8, else 2

struct GpuSpec {
  std::string name;
  std::string source;
  double memory_bytes = 0;
  double memory_bandwidth = 0;  // bytes/s
  double peak_fp32 = 0;         // FLOP/s, dense
  double peak_tf32 = 0;
  double peak_bf16 = 0;
  double peak_fp16 = 0;
  double peak_fp8 = 0;  // 0: not supported
  double nvlink_bandwidth = 0;  // bytes/s per GPU per direction
  int sm_count = 1;             // streaming multiprocessors: sets GEMM wave quantization
  double power_watts = 0;       // board power, for energy
  double kernel_overhead_s = 0; // fixed cost per kernel launch
  double peak(Precision p) const;
};

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
  // Inside a node: every GPU has a port of nvlink_bandwidth into one switch (NVSwitch), or,
  // for `cpu` devices, shared memory modelled the same way.
  double intra_latency = 1e-6;
  // Between nodes: one NIC per GPU of nic_bandwidth; switches add switch_latency per hop.
  FabricKind fabric = FabricKind::none;
  double nic_bandwidth = 0;
  double nic_latency = 2e-6;
  double switch_latency = 0.3e-6;
  double oversubscription = 1.0;  // leaf downlink : uplink bandwidth
  int nodes_per_leaf = 16;        // fat tree / rail-optimized: nodes under one leaf (or one scalable unit)
  std::vector<int> torus_dims;    // torus: nodes along each dimension
  double torus_link_bandwidth = 0;
  int dragonfly_groups = 0, dragonfly_routers_per_group = 0, dragonfly_nodes_per_router = 0;
  double dragonfly_global_bandwidth = 0;
  // Money, power and storage (optional; 0 when unknown).
  double price_per_gpu_hour = 0;
  double nic_power_watts = 0, switch_power_watts = 0;
  double storage_bandwidth = 0;  // bytes/s, aggregate, for checkpoints
  // Empty: every node carries `gpu`. Otherwise the groups cover the nodes in order (their sizes
  // add up to `nodes`) and `gpu` is the first group's.
  std::vector<NodeGroup> node_groups;

  int total_gpus() const { return gpus_per_node * nodes; }
  const GpuSpec& gpu_of_node(int node) const;
  // Whether the first `gpus` GPUs (a job's) are not all of one kind.
  bool mixed(int gpus) const;
};

}  // namespace trainsim
