#pragma once
// `--set KEY=VALUE` on the command line: an edit of the scenario's YAML document before it is
// read, so that every check the file's own values get applies to it (kinds, ranges, unknown keys
// with a did-you-mean, the plan against model and cluster). Errors about an overridden key name
// `--set KEY=VALUE` instead of a line of the file.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "scenario/errors.hpp"

namespace trainsim {

struct Override {
  std::string text;   // as given: "plan.tp=8"
  std::string key;    // "plan.tp"
  std::string value;  // "8"; a YAML value: "[tp, cp, pp, dp]", "{preset: h100-sxm-80gb}"
};

// Splits "KEY=VALUE"; a missing '=', an empty key or value, or a malformed key (a.b.c of
// letters, digits, '_' and '-') is an InputError naming `--set`.
Override parse_override(const std::string& text);

// Sets each KEY (dotted: "cluster.gpus", "model.moe.top_k") in `document`, creating the maps on
// the way; a key inside something that is not a map is an InputError naming `--set`.
void apply_overrides(YAML::Node& document, const std::vector<std::string>& overrides);

// The YAML document of a scenario file with the overrides applied.
YAML::Node load_yaml_with_overrides(const std::string& path, const std::vector<std::string>& overrides);

// Relative file paths in a scenario document (cluster.topology, model.hf_config, data.lengths)
// made absolute against the folder of `scenario_file`, for a document written elsewhere.
void make_paths_absolute(YAML::Node& document, const std::string& scenario_file);

// An error raised while reading a document with overrides, told as the user sees it: about an
// overridden key (or inside it), it names `--set KEY=VALUE`; otherwise it keeps its place and
// says which overrides were in effect.
InputError relabel_for_overrides(const InputError& error, const std::vector<std::string>& overrides);

}  // namespace trainsim
