#include "compute/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "scenario/errors.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim {

CostModel::CostModel(GpuSpec gpu, Precision precision, CalibrationProfile profile)
    : gpu_(std::move(gpu)), precision_(precision), profile_(std::move(profile)) {
  peak_ = gpu_.peak(precision_);
  overhead_ = profile_.kernel_overhead_s.value_or(gpu_.kernel_overhead_s);
}

double CostModel::gemm_efficiency(const GemmShape& s) const {
  if (!profile_.gemm_measured.empty()) {
    std::ostringstream key;
    key << static_cast<long long>(s.m) << "x" << static_cast<long long>(s.n) << "x" << static_cast<long long>(s.k);
    if (const auto it = profile_.gemm_measured.find(key.str()); it != profile_.gemm_measured.end()) {
      return it->second / peak_;
    }
  }
  // Output tiles spread over the SMs in waves; the last wave runs partly empty.
  const double tiles = s.batch * std::ceil(s.m / profile_.gemm_tile_m) * std::ceil(s.n / profile_.gemm_tile_n);
  const double waves = std::ceil(tiles / gpu_.sm_count);
  const double wave_efficiency = tiles / (waves * gpu_.sm_count);
  // Short K leaves the tensor-core pipeline under-filled (prologue/epilogue per tile).
  const double k_efficiency = s.k / (s.k + profile_.gemm_k_half);
  return std::max(1e-3, profile_.gemm_max_efficiency * wave_efficiency * k_efficiency);
}

double CostModel::gemm_time(const GemmShape& s) const {
  const double flops = 2.0 * s.batch * s.m * s.n * s.k;
  const double bytes = s.batch * (s.m * s.k + s.k * s.n + s.m * s.n) * bytes_per_element(precision_);
  const double compute = flops / (peak_ * gemm_efficiency(s));
  return std::max(std::max(compute, bytes / (gpu_.memory_bandwidth * profile_.memory_efficiency)), overhead_);
}

// The sequence term is held at its value at attention_s_max, the longest sequence measured: the
// curve s/(s+s0) fits the measured 1K-4K points but would promise 97% at 64K, while flash
// attention's forward+backward throughput is flat beyond a few thousand tokens (Dao 2023,
// FlashAttention-2, Fig. 4-5: A100, 2K to 16K).
double CostModel::attention_efficiency(double seq, double head_dim) const {
  const auto& p = profile_;
  const double s = std::min(seq, p.attention_s_max);
  return p.attention_max_efficiency * s / (s + p.attention_s0) * head_dim / (head_dim + p.attention_d0);
}

double CostModel::attention_time(double flops, double seq, double head_dim, double relative) const {
  const double efficiency = relative * attention_efficiency(seq, head_dim);
  return std::max(flops / (peak_ * std::max(efficiency, 1e-3)), overhead_);
}

// A kernel takes its roofline time, but never less than the launch interval: the host issues
// kernels one after another, so short kernels run at the launch rate, not at their own speed.
double CostModel::memory_time(double bytes, bool eager) const {
  const double bandwidth =
      gpu_.memory_bandwidth * profile_.memory_efficiency * (eager ? profile_.elementwise_efficiency : 1.0);
  return std::max(bytes / bandwidth, overhead_);
}

CalibrationProfile load_calibration(const std::string& path) {
  return parse_calibration(read_input_file(path, "the calibration profile"), path);
}

CalibrationProfile parse_calibration(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError({path, 0, 0}, "", std::string("JSON error: ") + e.what());
  }
  if (!j.is_object()) throw InputError({path, 0, 0}, "", "expected a JSON object");
  CalibrationProfile p;
  p.name = path;
  auto number = [&](const char* key, double& into, double lo, double hi) {
    if (!j.contains(key)) return;
    if (!j[key].is_number() || j[key].get<double>() < lo || j[key].get<double>() > hi) {
      throw InputError({path, 0, 0}, key, "expected a number from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    into = j[key].get<double>();
  };
  number("gemm_max_efficiency", p.gemm_max_efficiency, 0.01, 1.0);
  number("gemm_k_half", p.gemm_k_half, 0, 1e6);
  number("attention_max_efficiency", p.attention_max_efficiency, 0.01, 2.0);
  number("attention_s0", p.attention_s0, 0, 1e7);
  number("attention_d0", p.attention_d0, 0, 1e5);
  number("attention_s_max", p.attention_s_max, 1, 1e8);
  number("memory_efficiency", p.memory_efficiency, 0.01, 1.0);
  number("elementwise_efficiency", p.elementwise_efficiency, 0.01, 1.0);
  if (j.contains("kernel_overhead_s")) {
    double v = 0;
    number("kernel_overhead_s", v, 0, 1e-2);
    p.kernel_overhead_s = v;
  }
  if (j.contains("gemm_flops")) {
    if (!j["gemm_flops"].is_object())
      throw InputError({path, 0, 0}, "gemm_flops", "expected an object of \"MxNxK\": FLOP/s");
    for (const auto& [shape, rate] : j["gemm_flops"].items()) {
      if (!rate.is_number() || rate.get<double>() <= 0) {
        throw InputError({path, 0, 0}, "gemm_flops." + shape, "expected a positive rate in FLOP/s");
      }
      p.gemm_measured[shape] = rate.get<double>();
    }
  }
  return p;
}

}  // namespace trainsim
