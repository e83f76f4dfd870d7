#pragma once
// Internal to scenario/: field readers shared by presets, topology files and scenario files.
#include <optional>

#include "scenario/scenario.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim {

void read_gpu_fields(MapReader& reader, GpuSpec& gpu);
void read_model_fields(MapReader& reader, ModelSpec& model);
// Fills defaults (kv_heads, ffn_hidden) and checks the shape; errors point into `reader`.
void complete_model(ModelSpec& model, const MapReader& reader);
TopologySpec parse_topology(const YAML::Node& document, const std::string& file);
bool has_gpu_preset(const std::string& name);
std::optional<YAML::Node> model_preset_node(const std::string& name);

// Input limits: beyond these a run would take unbounded time or memory.
inline constexpr std::int64_t kMaxGpus = 262144;
inline constexpr std::int64_t kMaxGlobalBatch = 10'000'000;
inline constexpr std::int64_t kMaxNvlinkDomain = 576;  // GPUs in one NVLink domain (NVL576 racks)

}  // namespace trainsim
