#pragma once
// `trainsim-exec calibrate SCENARIO --out profile.json`: measures this device
// (GEMM rate over shapes, attention, memory bandwidth, per-kernel overhead, and
// all-reduce bandwidth when started with --nproc) and writes the calibration
// profile `trainsim predict --profile` reads, so that predictions for this
// device rest on its own measurements.
#include <string>

namespace trainsim::exec {

struct CalibrateOptions {
  std::string scenario, out, device = "cpu";
  // Each measurement is taken this many times; its spread is (max - min) / median of those.
  int repeats = 3;
  // Write the profile even when a value is implausible (an efficiency above 1) or a spread is
  // above max_spread (a busy device); without it calibrate refuses, exit 2, and writes nothing.
  bool force = false;
  double max_spread = 0.10;
};

int calibrate(const CalibrateOptions& options);

}  // namespace trainsim::exec
