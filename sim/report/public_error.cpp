#include "report/public_error.hpp"

#include <cmath>
#include <map>

#include "scenario/parse.hpp"
#include "scenario/scenario.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim::embedded {
const std::map<std::string, std::string>& preset_files();
}  // namespace trainsim::embedded

namespace trainsim {
namespace {

const YAML::Node& table() {
  static const YAML::Node doc = load_yaml_text(embedded::preset_files().at("accuracy"), "preset:accuracy.yaml");
  return doc;
}

// A percentage from the table as a fraction, without binary noise in the JSON (-1.8 -> -0.018).
double fraction(const YAML::Node& percent) { return std::round(percent.as<double>() * 100) / 1e4; }

// The GPU as its preset describes it: the bench's rows run the presets (a power limit aside).
bool unmodified_preset(const GpuSpec& gpu) {
  if (!has_gpu_preset(gpu.name)) return false;
  const GpuSpec preset = gpu_preset(gpu.name);
  return gpu.peak_bf16 == preset.peak_bf16 && gpu.peak_fp8 == preset.peak_fp8 && gpu.peak_tf32 == preset.peak_tf32 &&
         gpu.memory_bandwidth == preset.memory_bandwidth && gpu.memory_bytes == preset.memory_bytes &&
         gpu.sm_count == preset.sm_count && gpu.nvlink_bandwidth == preset.nvlink_bandwidth &&
         gpu.kernels.sustained == preset.kernels.sustained;
}

}  // namespace

std::string public_error_group(const std::string& gpu_name, Precision precision) {
  const std::string family = gpu_name.substr(0, gpu_name.find('-'));
  const bool sixteen_bit = precision == Precision::fp16 || precision == Precision::bf16;
  return family + " " + (sixteen_bit ? std::string("16-bit") : precision_name(precision));
}

const char* framework_basis_name(FrameworkBasis b) {
  switch (b) {
    case FrameworkBasis::stated:
      return "stated";
    case FrameworkBasis::named:
      return "named";
    case FrameworkBasis::defaults:
      return "defaults";
  }
  return "?";
}

std::optional<PublicError> public_error_of_group(const std::string& group, FrameworkBasis basis) {
  const YAML::Node entry = table()[group];
  if (!entry || !entry.IsMap()) return std::nullopt;
  const YAML::Node figures = entry[framework_basis_name(basis)];
  return PublicError{group, entry["rows"].as<int>(), fraction(figures["mape_percent"]),
                     fraction(figures["mean_signed_percent"]), basis};
}

std::vector<std::string> public_error_groups() {
  std::vector<std::string> names;
  for (const auto& entry : table()) names.push_back(entry.first.Scalar());
  return names;
}

std::optional<PublicError> public_error(const Scenario& sc, const std::vector<GpuSpec>& stage_gpus) {
  const GpuSpec& gpu = sc.cluster.topology.gpu;
  const std::string group = public_error_group(gpu.name, sc.plan.precision);
  for (const auto& used : stage_gpus) {
    if (!unmodified_preset(used) || public_error_group(used.name, sc.plan.precision) != group) return std::nullopt;
  }
  if (stage_gpus.empty() && !unmodified_preset(gpu)) return std::nullopt;
  // The bench's rows run at the default clock spread.
  if (sc.cluster.clock_spread != kDefaultClockSpread) return std::nullopt;
  // The attention kernels are the framework field that moved the public rows most
  // (docs/accuracy.md, session 25): a plan that states them reads as one that states its
  // framework's fields.
  const FrameworkBasis basis = sc.plan.framework                       ? FrameworkBasis::named
                               : sc.plan.attention != Attention::flash ? FrameworkBasis::stated
                                                                       : FrameworkBasis::defaults;
  auto e = public_error_of_group(group, basis);
  if (!e || e->rows < kPublicErrorMinRows) return std::nullopt;
  return e;
}

}  // namespace trainsim
