#pragma once
// How far the simulator missed the public runs most like a prediction: bench_accuracy's MAPE and
// mean signed error over the public set's rows of the same GPU and precision
// (sim/presets/accuracy.yaml, written by bench/accuracy_summary.py from the bench outputs kept in
// docs/). A prediction quotes it so that its reader knows how firm it is. Three figures per
// group, by how much of its framework the scenario says, as the bench predicted the same rows:
// every framework field stated (bench_accuracy), the framework named (plan.framework,
// `--framework-named`) or nothing said (`--framework-defaults`).
#include <optional>
#include <string>
#include <vector>

#include "scenario/hardware.hpp"

namespace trainsim {

struct Scenario;

// Groups with fewer rows than this say too little to quote (issue 14's group size).
constexpr int kPublicErrorMinRows = 5;

// How the scenario describes its framework, and so which of the bench's runs it is like.
enum class FrameworkBasis {
  stated,    // framework fields set one by one (the plan names its attention kernels)
  named,     // plan.framework
  defaults,  // neither: the defaults, today's Megatron-Core
};
const char* framework_basis_name(FrameworkBasis b);  // "stated", "named", "defaults"

struct PublicError {
  std::string group;  // "h100 16-bit": the GPU preset's family (its name up to the first '-') and precision
  int rows = 0;
  double mape = 0;         // fraction: 0.088 is 8.8%
  double mean_signed = 0;  // fraction; negative: predicted faster than measured
  FrameworkBasis basis = FrameworkBasis::stated;
};

// The group a GPU preset and precision fall in, as bench_accuracy groups its rows.
std::string public_error_group(const std::string& gpu_name, Precision precision);

// The shipped figures of a group on a basis, whatever its size; nullopt when the public set has no
// row of it.
std::optional<PublicError> public_error_of_group(const std::string& group, FrameworkBasis basis);

// The group names the shipped table holds.
std::vector<std::string> public_error_groups();

// What a prediction of `scenario` quotes, its stages running on `stage_gpus`: nullopt unless every
// stage's GPU is the same unmodified preset family, the group has kPublicErrorMinRows, and the
// prediction is what the bench ran (full simulation, no calibration profile: the caller's call).
std::optional<PublicError> public_error(const Scenario& scenario, const std::vector<GpuSpec>& stage_gpus);

}  // namespace trainsim
