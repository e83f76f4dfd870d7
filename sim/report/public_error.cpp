#include "report/public_error.hpp"

#include <map>

#include "scenario/yaml_reader.hpp"

namespace trainsim::embedded {
const std::map<std::string, std::string>& preset_files();
}  // namespace trainsim::embedded

namespace trainsim {

std::string public_error_group(const std::string& gpu_name, Precision precision) {
  const std::string family = gpu_name.substr(0, gpu_name.find('-'));
  const bool sixteen_bit = precision == Precision::fp16 || precision == Precision::bf16;
  return family + " " + (sixteen_bit ? std::string("16-bit") : precision_name(precision));
}

std::optional<PublicError> public_error(const std::string& gpu_name, Precision precision) {
  static const YAML::Node table = load_yaml_text(embedded::preset_files().at("accuracy"), "preset:accuracy.yaml");
  const std::string group = public_error_group(gpu_name, precision);
  const YAML::Node entry = table[group];
  if (!entry || !entry.IsMap()) return std::nullopt;
  PublicError e{group, entry["rows"].as<int>(), entry["mape_percent"].as<double>() / 100,
                entry["mean_signed_percent"].as<double>() / 100};
  if (e.rows < kPublicErrorMinRows) return std::nullopt;
  return e;
}

}  // namespace trainsim
