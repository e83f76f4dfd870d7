#include "scenario/overrides.hpp"

#include <cctype>
#include <filesystem>
#include <set>

#include "scenario/yaml_reader.hpp"

namespace trainsim {
namespace {

SourceLocation from_set(const std::string& text) { return {"--set " + text, 0, 0}; }

bool valid_key(const std::string& key) {
  if (key.empty() || key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos) return false;
  for (const char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', start)) {
    parts.push_back(key.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(key.substr(start));
  return parts;
}

}  // namespace

Override parse_override(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos) {
    throw InputError(from_set(text), "", "expected KEY=VALUE (e.g. --set plan.tp=8), found no '='");
  }
  Override o{text, text.substr(0, equals), text.substr(equals + 1)};
  while (!o.key.empty() && std::isspace(static_cast<unsigned char>(o.key.back()))) o.key.pop_back();
  if (!valid_key(o.key)) {
    throw InputError(from_set(text), o.key,
                     "expected a dotted key such as plan.tp or cluster.gpus before '=', found \"" + o.key + "\"");
  }
  // A bare field (--set tp=8) is a plan's, cluster's or model's: say so rather than suggest a section.
  static const std::set<std::string> kTopLevel = {"name", "model", "cluster", "plan", "data", "training"};
  if (o.key.find('.') == std::string::npos && !kTopLevel.count(o.key)) {
    throw InputError(from_set(text), o.key,
                     "a field goes under its section: plan." + o.key + ", cluster." + o.key + " or model." + o.key +
                         " (e.g. --set plan.tp=8)");
  }
  if (o.value.find_first_not_of(" \t") == std::string::npos) {
    throw InputError(from_set(text), o.key, "expected a value after '=' (e.g. --set " + o.key + "=8)");
  }
  return o;
}

void apply_overrides(YAML::Node& document, const std::vector<std::string>& overrides) {
  for (const auto& text : overrides) {
    const Override o = parse_override(text);
    // The value is read as YAML, as if written in the file: "8", "auto", "[1, 2]", "{a: 1}".
    YAML::Node value;
    try {
      value = load_yaml_text(o.value, "--set " + text);
    } catch (const InputError& e) {
      throw InputError(from_set(text), o.key, e.problem());
    }
    if (!document || document.IsNull()) document = YAML::Node(YAML::NodeType::Map);
    if (!document.IsMap()) throw InputError(from_set(text), o.key, "the scenario is not a map of keys");
    const auto parts = split_key(o.key);
    YAML::Node map;
    map.reset(document);
    std::string path;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      path += (i ? "." : "") + parts[i];
      YAML::Node next = map[parts[i]];
      if (!next || next.IsNull()) {
        next = YAML::Node(YAML::NodeType::Map);
        map[parts[i]] = next;
      } else if (!next.IsMap()) {
        throw InputError(
            from_set(text), o.key,
            "'" + path + "' is " + describe(next) + " in the scenario, not a map of keys: set '" + path + "' itself");
      }
      map.reset(next);  // rebinds; `map = next` would overwrite the parent's value
    }
    map[parts.back()] = value;
  }
}

YAML::Node load_yaml_with_overrides(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node document = load_yaml_file(path);
  apply_overrides(document, overrides);
  return document;
}

void make_paths_absolute(YAML::Node& document, const std::string& scenario_file) {
  const auto base = std::filesystem::absolute(scenario_file).parent_path();
  auto absolute = [&](YAML::Node node) {
    if (!node || !node.IsScalar()) return;
    const std::filesystem::path path(node.Scalar());
    if (path.is_relative() && path_exists((base / path).string())) node = (base / path).string();
  };
  if (document["cluster"] && document["cluster"].IsMap()) absolute(document["cluster"]["topology"]);
  if (document["model"] && document["model"].IsMap()) absolute(document["model"]["hf_config"]);
  if (document["data"] && document["data"].IsMap()) absolute(document["data"]["lengths"]);
}

InputError relabel_for_overrides(const InputError& error, const std::vector<std::string>& overrides) {
  if (overrides.empty()) return error;
  // The last --set of a key wins in the document, so it is the one to name.
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it) {
    const auto equals = it->find('=');
    if (equals == std::string::npos) continue;
    const std::string key = it->substr(0, equals);
    const std::string& k = error.key();
    const bool inside = k == key || (k.size() > key.size() && k.compare(0, key.size(), key) == 0 &&
                                     (k[key.size()] == '.' || k[key.size()] == '['));
    // Or a map the override created (no line in the file): "plann" of --set plann.tp=1.
    const bool created =
        error.where().line == 0 && key.size() > k.size() && key.compare(0, k.size(), k) == 0 && key[k.size()] == '.';
    if ((inside || created) && error.where().file.rfind("--set ", 0) != 0) {
      return InputError(from_set(*it), k, error.problem());
    }
  }
  if (error.where().file.rfind("--set ", 0) == 0) return error;
  std::string in_effect;
  for (const auto& o : overrides) in_effect += " --set " + o;
  return InputError(error.where(), error.key(), error.problem() + " (with" + in_effect + ")");
}

}  // namespace trainsim
