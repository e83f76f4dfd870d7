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
};

int calibrate(const CalibrateOptions& options);

}  // namespace trainsim::exec
