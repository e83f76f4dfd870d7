#pragma once
// Internal to scenario/: field readers shared by presets, topology files and scenario files.
#include <filesystem>
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
// A GPU where a scenario or topology file names one (`key`, such as cluster.gpu): a preset name,
// a path to a GPU YAML file with the preset keys (relative to `base`, the directory of the file
// being read), or an inline map with the preset keys, which may start from a preset with
// `preset: NAME` and override some keys. Errors point at the key, or into the GPU file.
GpuSpec read_gpu(MapReader& parent, const std::string& key, const std::filesystem::path& base);
std::optional<YAML::Node> model_preset_node(const std::string& name);

// Input limits: beyond these a run would take unbounded time or memory.
inline constexpr std::int64_t kMaxGpus = 262144;
inline constexpr std::int64_t kMaxGlobalBatch = 10'000'000;
inline constexpr std::int64_t kMaxNvlinkDomain = 576;  // GPUs in one NVLink domain (NVL576 racks)

}  // namespace trainsim
