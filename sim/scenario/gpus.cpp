// GPUs as data: a preset, a GPU file or an inline map, wherever a scenario or topology names one.
#include <filesystem>

#include "scenario/parse.hpp"

namespace trainsim {
namespace {

std::string preset_list() {
  std::string list;
  for (const auto& n : gpu_preset_names()) list += (list.empty() ? "" : ", ") + n;
  return list;
}

std::string unknown_gpu(const std::string& name) {
  std::string problem = "no GPU preset named \"" + name + "\"";
  if (const auto hint = name_hint(name, gpu_preset_names()); !hint.empty()) problem += " (did you mean " + hint + "?)";
  return problem + "; presets: " + preset_list() + "; or give a GPU file (path.yaml) or a map of its fields";
}

// The keys of a GPU preset, read over an optional starting preset (`preset: NAME`): the keys
// given replace the preset's, so a map that repeats a preset's numbers is that preset. Its name:
// `name`, else a file's stem, else the preset's, else `custom-gpu` (`file_name` empty for a map).
GpuSpec gpu_from_map(MapReader& r, const std::string& file_name) {
  GpuSpec gpu;
  gpu.name = "custom-gpu";
  if (const auto preset = r.string("preset")) {
    if (!has_gpu_preset(*preset)) r.fail("preset", unknown_gpu(*preset));
    gpu = gpu_preset(*preset);
  }
  if (!file_name.empty()) gpu.name = file_name;
  if (const auto name = r.string("name")) gpu.name = *name;
  if (!r.has("preset")) gpu.sustained_unstated = !(r.is_map("kernels") && r.map("kernels")->has("sustained"));
  if (r.has("nvls_bandwidth")) gpu.nvls_stated = true;
  read_gpu_fields(r, gpu);
  r.finish();
  return gpu;
}

bool looks_like_path(const std::string& text) {
  const auto ends_with = [&](const std::string& tail) {
    return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
  };
  return text.find('/') != std::string::npos || ends_with(".yaml") || ends_with(".yml");
}

}  // namespace

GpuSpec read_gpu(MapReader& parent, const std::string& key, const std::filesystem::path& base) {
  if (parent.is_map(key)) {
    auto inline_gpu = parent.map(key);
    return gpu_from_map(*inline_gpu, "");
  }
  const auto value = parent.string(key);
  if (!value) parent.fail(key, "expected a GPU: a preset name, a GPU file or a map of its fields");
  if (has_gpu_preset(*value)) return gpu_preset(*value);
  if (!looks_like_path(*value)) parent.fail(key, unknown_gpu(*value));
  const std::filesystem::path path =
      std::filesystem::path(*value).is_relative() ? base / *value : std::filesystem::path(*value);
  if (!path_exists(path.string())) parent.fail(key, "no GPU file at \"" + path.string() + "\"");
  MapReader file(load_yaml_file(path.string()), path.string(), "");
  return gpu_from_map(file, path.stem().string());
}

}  // namespace trainsim
