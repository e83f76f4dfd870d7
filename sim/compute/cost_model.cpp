#include "compute/cost_model.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "scenario/errors.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim {

namespace {

// The GEMM efficiency of the plan's linear layers, from the GPU's data.
double linear_gemm_efficiency(const KernelData& k, Precision precision, Fp8Recipe recipe, double sixteen_bit) {
  switch (precision) {
    case Precision::fp8:
      if (recipe == Fp8Recipe::rowwise && k.gemm_fp8_rowwise > 0) return k.gemm_fp8_rowwise;
      if (recipe == Fp8Recipe::blockwise && k.gemm_fp8_blockwise > 0) return k.gemm_fp8_blockwise;
      return k.gemm_fp8;
    case Precision::mxfp8:
      return k.gemm_fp8;
    case Precision::nvfp4:
      return k.gemm_fp4;
    default:
      return sixteen_bit;
  }
}

}  // namespace

CostModel::CostModel(GpuSpec gpu, Precision precision, CalibrationProfile profile, Fp8Recipe recipe)
    : gpu_(std::move(gpu)), precision_(precision), profile_(std::move(profile)), recipe_(recipe) {
  const double clock = gpu_.tensor_clock_factor();
  peak_ = gpu_.peak(mfu_precision(precision_)) * clock;
  linear_peak_ = gpu_.peak(precision_) * (precision_ == Precision::fp8 ? gpu_.fp8_clock_factor() : clock);
  const double sixteen_bit = profile_.gemm_max_efficiency.value_or(gpu_.kernels.gemm_bf16);
  linear_efficiency_ = linear_gemm_efficiency(gpu_.kernels, precision_, recipe_, sixteen_bit);
  if (linear_efficiency_ <= 0 || linear_peak_ <= 0) {
    throw InputError({}, "plan.precision",
                     std::string(precision_name(precision_)) + " GEMMs are not supported by " + gpu_.name);
  }
  memory_efficiency_ = profile_.memory_efficiency.value_or(gpu_.kernels.memory);
  quantize_efficiency_ = gpu_.kernels.quantize > 0 ? gpu_.kernels.quantize : memory_efficiency_;
  overhead_ = profile_.kernel_overhead_s.value_or(gpu_.kernel_overhead_s);
}

CostModel CostModel::replaying_graphs() const {
  CostModel graphed = *this;
  if (gpu_.kernel_interval_s > 0) graphed.overhead_ = std::min(overhead_, gpu_.kernel_interval_s);
  graphed.replays_graphs_ = true;
  return graphed;
}

double CostModel::gemm_efficiency(const GemmShape& s, GemmKind kind) const {
  const bool linear = kind == GemmKind::linear;
  if (!profile_.gemm_measured.empty() && !(linear && low_precision(precision_))) {
    std::ostringstream key;
    key << static_cast<long long>(s.m) << "x" << static_cast<long long>(s.n) << "x" << static_cast<long long>(s.k);
    if (const auto it = profile_.gemm_measured.find(key.str()); it != profile_.gemm_measured.end()) {
      // Measured on one whole GPU: the job runs it at its slowest GPU's clock (GpuSpec::slowest_clock),
      // and with SMs held by a communication kernel the shape loses what its waves lose on fewer SMs.
      const double measured = it->second * gpu_.slowest_clock / peak_;
      if (s.sms <= 0 || s.sms >= gpu_.sm_count) return measured;
      GemmShape whole = s;
      whole.sms = 0;
      return measured * modelled_gemm_efficiency(s, kind) / modelled_gemm_efficiency(whole, kind);
    }
  }
  return modelled_gemm_efficiency(s, kind);
}

double CostModel::modelled_gemm_efficiency(const GemmShape& s, GemmKind kind) const {
  const bool linear = kind == GemmKind::linear;
  // Output tiles spread over the SMs in waves; the last wave runs partly empty. A tile at the
  // edge of the output costs a whole tile however few of its rows or columns are real (so more
  // rows never take less time); a side shorter than the tile gets a tile cut to the power of two
  // that holds it, as the libraries carry narrower tiles (CUTLASS's 64- and 128-wide shapes).
  const auto tile_side = [](double extent, int tile) {
    return extent >= tile ? double(tile)
                          : double(std::bit_ceil(static_cast<unsigned>(std::max(1.0, std::ceil(extent)))));
  };
  const double tile_m = tile_side(s.m, profile_.gemm_tile_m), tile_n = tile_side(s.n, profile_.gemm_tile_n);
  const double tiles = s.batch * std::ceil(s.m / tile_m) * std::ceil(s.n / tile_n);
  const double filled = s.batch * (s.m / tile_m) * (s.n / tile_n);
  const double sms = s.sms > 0 ? std::min(s.sms, gpu_.sm_count) : gpu_.sm_count;
  const double waves = std::ceil(tiles / sms);
  // Of the whole GPU: with fewer SMs each wave does less.
  const double wave_efficiency = filled / (waves * gpu_.sm_count);
  // Short K leaves the tensor-core pipeline under-filled: each tile pays a fixed time (pipeline
  // fill, an epilogue writing 16-bit output) beside a main loop of K steps. FP8 runs the same
  // tiles, in bytes, through a main loop as many times faster per element as its peak is over
  // 16-bit's (twice, on every preset), so its K half-point (fitted on 16-bit GEMMs) is as many
  // times larger: FP8 loses more at short K than bf16 does (Azure ND H100
  // v5, cuBLASLt: FP8 at 2048^3 runs 0.73 of its 16384^3 rate, fp16 on an A100 and bf16 on an
  // H100 0.85-0.87 of their large-shape rates; KERNEL-FACTS 2b/2c). FP4 would shift it further by
  // its rate, but Blackwell's FP4 GEMMs are power-bound (a B300 no faster than a B200), so its
  // datasheet ratio would overstate the main loop's speed, and no FP4 size sweep is at hand:
  // FP4 and formats slower than 16 bits keep the 16-bit fit.
  const bool fp8_main_loop = linear && (precision_ == Precision::fp8 || precision_ == Precision::mxfp8);
  const double k_half = profile_.gemm_k_half * (fp8_main_loop ? gpu_.peak(precision_) / gpu_.peak_bf16 : 1.0);
  const double k_efficiency = s.k / (s.k + k_half);
  const double top = linear ? linear_efficiency_ : profile_.gemm_max_efficiency.value_or(gpu_.kernels.gemm_bf16);
  return std::max(1e-3, top * wave_efficiency * k_efficiency);
}

double CostModel::gemm_time(const GemmShape& s, GemmKind kind) const {
  const bool quantized = kind == GemmKind::linear && low_precision(precision_);
  const double flops = 2.0 * s.batch * s.m * s.n * s.k;
  // Quantized operands are read in their format (fp4: half a byte); the output is 16-bit.
  const double operand = quantized ? (precision_ == Precision::nvfp4 ? 0.5 : 1.0) : bytes_per_element(precision_);
  const double output = bytes_per_element(precision_);
  const double bytes = s.batch * ((s.m * s.k + s.k * s.n) * operand + s.m * s.n * output);
  const double rate = (quantized ? linear_peak_ : peak_) * gemm_efficiency(s, kind);
  const double compute = flops / rate;
  return std::max(std::max(compute, bytes / (gpu_.memory_bandwidth * memory_efficiency_)), overhead_);
}

Attention CostModel::attention_family(Attention requested) const {
  const Attention family = requested == Attention::flash ? gpu_.kernels.default_attention : requested;
  if (family == Attention::unfused || gpu_.kernels.attention.empty() || gpu_.kernels.attention.count(family)) {
    return family;
  }
  std::string known;
  for (const auto& [f, data] : gpu_.kernels.attention)
    known += std::string(known.empty() ? "" : ", ") + attention_name(f);
  throw InputError({}, "plan.attention",
                   std::string("no ") + attention_name(family) + " attention kernels for " + gpu_.name +
                       " (its GPU data has: " + known + ", or flash for its default)");
}

// The family's plateau, approached as s / (s + s_half) (FlashAttention's throughput rises with
// sequence length until the tiles fill the GPU: Dao 2023, Figs. 4-5; Shah et al. 2024, Fig. 5).
// A measured profile's SDPA fit prices the GPU's default family; a GPU without attention data is
// priced with that fit's default (H200 SDPA, ../shared/calibration).
double CostModel::attention_efficiency(Attention requested, double seq, double head_dim, bool causal) const {
  const Attention family = attention_family(requested);
  const auto& table = gpu_.kernels.attention;
  const bool measured = profile_.attention_max_efficiency && family == gpu_.kernels.default_attention;
  if (measured || table.empty()) {
    const auto& p = profile_;
    const double s = std::min(seq, p.attention_s_max);
    return p.attention_max_efficiency.value_or(1.0) * s / (s + p.attention_s0) * head_dim / (head_dim + p.attention_d0);
  }
  const AttentionEfficiency& a = table.at(family);
  const double plateau = causal ? a.causal : a.noncausal;
  const double s_half = causal ? a.s_half_causal : a.s_half_noncausal;
  const double head = a.hd64_ratio > 0 ? std::pow(a.hd64_ratio, std::log2(128.0 / head_dim))
                                       : (head_dim / (head_dim + a.d_half)) / (128.0 / (128.0 + a.d_half));
  return std::min(0.95, plateau * seq / (seq + s_half) * head);
}

double CostModel::attention_time(double flops, Attention family, double seq, double head_dim, bool causal) const {
  const double efficiency = attention_efficiency(family, seq, head_dim, causal);
  return std::max(flops / (peak_ * std::max(efficiency, 1e-3)), overhead_);
}

// A kernel takes its roofline time, but never less than the launch interval: the host issues
// kernels one after another, so short kernels run at the launch rate, not at their own speed.
double CostModel::memory_time(double bytes, bool eager) const {
  const double bandwidth = gpu_.memory_bandwidth * memory_efficiency_ * (eager ? profile_.elementwise_efficiency : 1.0);
  return std::max(bytes / bandwidth, overhead_);
}

double CostModel::quantized_value_bytes() const {
  if (!low_precision(precision_)) return 0;
  return precision_ == Precision::nvfp4 ? 0.5 + 1.0 / 16 : precision_ == Precision::mxfp8 ? 1.0 + 1.0 / 32 : 1.0;
}

bool CostModel::amax_pass() const {
  const bool scaled_per_tensor_now =
      precision_ == Precision::fp8 && (recipe_ == Fp8Recipe::tensorwise || recipe_ == Fp8Recipe::rowwise);
  return scaled_per_tensor_now || precision_ == Precision::nvfp4;
}

int CostModel::quantized_layouts() const {
  if (!low_precision(precision_)) return 0;
  const bool two = precision_ != Precision::fp8 || recipe_ == Fp8Recipe::rowwise || recipe_ == Fp8Recipe::blockwise ||
                   gpu_.kernels.fp8_needs_transpose;
  return two ? 2 : 1;
}

// Bytes a recipe moves per quantized operand value. Each cast reads the 16-bit value (2 B) and
// writes one low-precision copy per layout the GEMMs need (1 B; fp4 0.5 B plus a scale per 16).
// Current (tensorwise) scaling first reads the tensor once more for its amax; delayed scaling
// takes the amax from history (TE fp8_delayed_scaling.rst). Hopper's FP8 GEMMs take only the TN
// layout, so the backward's operands are transposed copies (TE performance_considerations.rst);
// row-wise and block-scaled recipes quantize each layout along its own rows or blocks, a second
// pass (torchao float8 rowwise; TE mxfp8.rst: "row- and column-wise quantizations"). Row-wise
// (axiswise) scales of the column-wise layout are amaxes over a whole column, the token dimension:
// torchao computes them as a reduction of their own before the cast (float8_utils.tensor_to_amax:
// torch.amax(|x|, dim=axiswise_dim), then the scaled cast), one more read. NVFP4's second
// level of scaling is a per-tensor amax, "the extra memory pass for per-tensor amax computation"
// (TE gemm_profiling.rst). On Blackwell, block scaling is "emulated via MXFP8" (same file), so
// it quantizes in MXFP8's two passes.
double CostModel::quantize_bytes(double elements, double shards) const {
  if (!low_precision(precision_)) return 0;
  const double value = quantized_value_bytes();
  const bool two_layouts = quantized_layouts() == 2;
  const bool separate_pass = precision_ != Precision::fp8 || recipe_ == Fp8Recipe::rowwise ||
                             (recipe_ == Fp8Recipe::blockwise && gpu_.mx_formats);
  const double amax = amax_pass() ? 2 : 0;
  if (shards > 1) {
    // The slice is read (twice under current scaling) and written once; the other layout is
    // read and written in low precision from the gathered tensor.
    return elements * ((2 + amax + value) / shards + (two_layouts ? 2 * value : 0));
  }
  double bytes = 2 + value * (two_layouts ? 2 : 1) + amax;
  if (separate_pass) bytes += 2;  // the second layout reads the input again
  return elements * bytes;
}

double CostModel::quantize_time(double elements, double shards) const {
  if (!low_precision(precision_)) return 0;
  // One kernel per pass: amax (current scaling, NVFP4), cast, and a second layout where the recipe needs it.
  const bool amax_kernel =
      (precision_ == Precision::fp8 && recipe_ == Fp8Recipe::tensorwise) || precision_ == Precision::nvfp4;
  const int kernels = 1 + (amax_kernel ? 1 : 0);
  const double bandwidth = gpu_.memory_bandwidth * quantize_efficiency_;
  return std::max(quantize_bytes(elements, shards) / bandwidth, kernels * overhead_);
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
  // Another JSON file (a model's config.json, an empty object) would change nothing, silently.
  static const char* const kMeasured[] = {
      "gemm_max_efficiency", "gemm_k_half", "attention_max_efficiency", "memory_efficiency", "elementwise_efficiency",
      "kernel_overhead_s",   "gemm_flops"};
  if (std::none_of(std::begin(kMeasured), std::end(kMeasured), [&](const char* key) { return j.contains(key); })) {
    throw InputError({path, 0, 0}, "",
                     "not a calibration profile: none of gemm_max_efficiency, memory_efficiency, "
                     "attention_max_efficiency, elementwise_efficiency, kernel_overhead_s, gemm_flops "
                     "(trainsim-exec calibrate writes one)");
  }
  CalibrationProfile p;
  p.name = path;
  if (j.contains("gpu") && j["gpu"].is_string()) p.gpu = j["gpu"].get<std::string>();
  auto number = [&](const char* key, double& into, double lo, double hi) {
    if (!j.contains(key)) return;
    if (!j[key].is_number() || j[key].get<double>() < lo || j[key].get<double>() > hi) {
      throw InputError({path, 0, 0}, key, "expected a number from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    into = j[key].get<double>();
  };
  auto optional_number = [&](const char* key, std::optional<double>& into, double lo, double hi) {
    if (!j.contains(key)) return;
    double v = 0;
    number(key, v, lo, hi);
    into = v;
  };
  optional_number("gemm_max_efficiency", p.gemm_max_efficiency, 0.01, 1.0);
  number("gemm_k_half", p.gemm_k_half, 0, 1e6);
  optional_number("attention_max_efficiency", p.attention_max_efficiency, 0.01, 2.0);
  number("attention_s0", p.attention_s0, 0, 1e7);
  number("attention_d0", p.attention_d0, 0, 1e5);
  number("attention_s_max", p.attention_s_max, 1, 1e8);
  optional_number("memory_efficiency", p.memory_efficiency, 0.01, 1.0);
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
