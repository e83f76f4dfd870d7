#include "scenario/data.hpp"

#include <map>

#include "scenario/errors.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim::embedded {
const std::map<std::string, std::string>& preset_files();
}  // namespace trainsim::embedded

namespace trainsim {

const char* batching_name(Batching b) {
  switch (b) {
    case Batching::padded:
      return "padded";
    case Batching::longest:
      return "longest";
    case Batching::binned:
      return "binned";
    case Batching::packed:
      return "packed";
  }
  return "?";
}

namespace {

const YAML::Node& datasets() {
  static const YAML::Node doc = load_yaml_text(embedded::preset_files().at("datasets"), "preset:datasets.yaml");
  return doc;
}

std::vector<double> read_counts(const YAML::Node& document, const std::string& file, const std::string& path) {
  MapReader r(document, file, path);
  r.accept("description");
  r.accept("source");
  const auto counts = r.integer_list("counts", 0, std::int64_t(1) << 50);
  if (!counts || counts->empty())
    r.fail("counts", "expected a list of sequence counts (counts[i]: sequences of i + 1 tokens)");
  r.finish();
  std::vector<double> result(counts->begin(), counts->end());
  while (!result.empty() && result.back() == 0) result.pop_back();
  if (result.empty()) r.fail("counts", "expected at least one sequence (every count is 0)");
  return result;
}

}  // namespace

std::vector<std::string> dataset_preset_names() {
  std::vector<std::string> names;
  for (const auto& entry : datasets()) names.push_back(entry.first.Scalar());
  return names;
}

bool has_dataset_preset(const std::string& name) { return static_cast<bool>(datasets()[name]); }

std::vector<double> load_length_histogram(const std::string& name_or_path) {
  if (has_dataset_preset(name_or_path)) {
    return read_counts(datasets()[name_or_path], "preset:datasets.yaml", name_or_path);
  }
  return read_counts(load_yaml_file(name_or_path), name_or_path, "");
}

}  // namespace trainsim
