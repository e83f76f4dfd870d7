#pragma once
// How far the simulator missed the published runs most like a prediction: bench_accuracy's MAPE
// and mean signed error over the public set's rows of the same GPU and precision
// (sim/presets/accuracy.yaml, written from docs/accuracy-rows.txt by bench/accuracy_summary.py).
// A prediction quotes it so that its reader knows how firm it is.
#include <optional>
#include <string>

#include "scenario/hardware.hpp"
#include "scenario/plan.hpp"

namespace trainsim {

// Groups with fewer rows than this say too little to quote (issue 14's group size).
constexpr int kPublicErrorMinRows = 5;

struct PublicError {
  std::string group;  // "h100 16-bit": the GPU preset's family (its name up to the first '-') and precision
  int rows = 0;
  double mape = 0;         // fraction: 0.088 is 8.8%
  double mean_signed = 0;  // fraction; negative: predicted faster than measured
};

// The group a GPU preset and precision fall in, as bench_accuracy groups its rows.
std::string public_error_group(const std::string& gpu_name, Precision precision);

// The group's errors, or nullopt where the public set has fewer than kPublicErrorMinRows of it.
std::optional<PublicError> public_error(const std::string& gpu_name, Precision precision);

}  // namespace trainsim
