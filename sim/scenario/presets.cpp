// Built-in presets: sim/presets/*.yaml and topologies/*.yaml, embedded at build time
// (cmake/EmbedFiles.cmake) so trainsim runs from any directory.
#include <algorithm>
#include <filesystem>

#include "scenario/parse.hpp"
#include "scenario/scenario.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim::embedded {
const std::map<std::string, std::string>& preset_files();
const std::map<std::string, std::string>& topology_files();
}  // namespace trainsim::embedded

namespace trainsim {
namespace {

const YAML::Node& preset_document(const std::string& which) {
  static const YAML::Node gpus = load_yaml_text(embedded::preset_files().at("gpus"), "preset:gpus.yaml");
  static const YAML::Node models = load_yaml_text(embedded::preset_files().at("models"), "preset:models.yaml");
  return which == "gpus" ? gpus : models;
}

std::vector<std::string> keys_of(const YAML::Node& map) {
  std::vector<std::string> names;
  for (const auto& entry : map) names.push_back(entry.first.Scalar());
  return names;
}

std::string unknown_preset(const char* kind, const std::string& name, const std::vector<std::string>& names) {
  std::string problem = std::string("no ") + kind + " preset named \"" + name + "\"";
  if (const auto hint = name_hint(name, names); !hint.empty()) return problem + " (did you mean " + hint + "?)";
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return problem + "; presets: " + list;
}

}  // namespace

std::vector<std::string> gpu_preset_names() { return keys_of(preset_document("gpus")); }
std::vector<std::string> model_preset_names() { return keys_of(preset_document("models")); }
std::vector<std::string> topology_preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, text] : embedded::topology_files()) names.push_back(name);
  return names;
}

namespace {

// The lines of `name:`'s entry in a YAML file of top-level entries, with the comments above it
// that belong to it (after the previous entry's last line) and those inside it.
std::string entry_text(const std::string& text, const std::string& name) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end = text.find('\n'); start < text.size(); end = text.find('\n', start)) {
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  const auto top_level_key = [](const std::string& line) {
    return !line.empty() && line[0] != ' ' && line[0] != '#' && line[0] != '-';
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind(name + ":", 0) != 0) continue;
    std::size_t first = i;
    while (first > 0 && !lines[first - 1].empty() && lines[first - 1][0] == '#' && !top_level_key(lines[first - 1])) {
      --first;
    }
    // A file's header comment (before the first entry) is not the entry's.
    bool header = true;
    for (std::size_t k = 0; k < first; ++k) header = header && !top_level_key(lines[k]);
    if (header) first = i;
    // After the entry, a comment at the margin belongs to it only where the entry goes on below
    // it; above the next entry, or at the file's end, it is the next entry's (or nobody's).
    const auto next_entry_comment = [&](std::size_t k) {
      if (lines[k].empty() || lines[k][0] != '#') return false;
      while (k < lines.size() && (lines[k].empty() || lines[k][0] == '#')) ++k;
      return k == lines.size() || top_level_key(lines[k]);
    };
    std::string out;
    for (std::size_t k = first; k < lines.size() && (k <= i || (!top_level_key(lines[k]) && !next_entry_comment(k)));
         ++k) {
      out += lines[k] + "\n";
    }
    while (out.size() > 1 && out[out.size() - 2] == '\n') out.pop_back();
    return out;
  }
  return "";
}

}  // namespace

PresetText preset_text(const std::string& name) {
  for (const auto& [kind, file] : {std::pair{"gpu", "gpus"}, {"model", "models"}, {"dataset", "datasets"}}) {
    const std::string& text = embedded::preset_files().at(file);
    if (const std::string entry = entry_text(text, name); !entry.empty()) {
      return {kind, std::string("sim/presets/") + file + ".yaml", entry};
    }
  }
  const auto& topologies = embedded::topology_files();
  if (const auto it = topologies.find(name); it != topologies.end()) {
    return {"topology", "topologies/" + name + ".yaml", it->second};
  }
  return {};
}

bool has_gpu_preset(const std::string& name) { return static_cast<bool>(preset_document("gpus")[name]); }

GpuSpec gpu_preset(const std::string& name) {
  const YAML::Node node = preset_document("gpus")[name];
  if (!node) throw InputError({}, "gpu", unknown_preset("GPU", name, gpu_preset_names()));
  MapReader reader(node, "preset:gpus.yaml", name);
  GpuSpec gpu;
  // A preset may start from another (`preset: NAME`) and give only what differs, as a user's GPU
  // map may; one level deep, so that no chain can loop.
  if (const auto base = reader.string("preset")) {
    if (preset_document("gpus")[*base]["preset"] || *base == name)
      reader.fail("preset", "a GPU preset may start only from one that does not itself start from another");
    gpu = gpu_preset(*base);
  }
  gpu.name = name;
  read_gpu_fields(reader, gpu);
  reader.finish();
  return gpu;
}

std::optional<YAML::Node> model_preset_node(const std::string& name) {
  YAML::Node node = preset_document("models")[name];
  if (!node) return std::nullopt;
  return node;
}

ModelSpec model_preset(const std::string& name) {
  const auto node = model_preset_node(name);
  if (!node) throw InputError({}, "model.preset", unknown_preset("model", name, model_preset_names()));
  MapReader reader(*node, "preset:models.yaml", name);
  ModelSpec model;
  model.name = name;
  read_model_fields(reader, model);
  reader.finish();
  complete_model(model, reader);
  return model;
}

TopologySpec load_topology(const std::string& name_or_path) {
  const auto& presets = embedded::topology_files();
  if (const auto it = presets.find(name_or_path); it != presets.end()) {
    return parse_topology(load_yaml_text(it->second, "preset:topologies/" + name_or_path + ".yaml"),
                          "preset:topologies/" + name_or_path + ".yaml");
  }
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               name_or_path.find(".yaml") != std::string::npos ||
                               name_or_path.find(".yml") != std::string::npos;
  if (!looks_like_path || !path_exists(name_or_path)) {
    throw InputError({}, "cluster.topology",
                     looks_like_path ? "no topology file at \"" + name_or_path + "\""
                                     : unknown_preset("topology", name_or_path, topology_preset_names()));
  }
  return parse_topology(load_yaml_file(name_or_path), name_or_path);
}

}  // namespace trainsim
