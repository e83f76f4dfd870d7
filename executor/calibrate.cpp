#include "calibrate.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "checkpoint.hpp"
#include "comm.hpp"
#include "launch.hpp"
#include "scenario/scenario.hpp"

#ifdef TRAINSIM_EXEC_CUDA
#include <torch/cuda.h>
#endif

namespace trainsim::exec {

namespace {

void sync(const torch::Device& device) {
#ifdef TRAINSIM_EXEC_CUDA
  if (device.is_cuda()) torch::cuda::synchronize();
#endif
  (void)device;
}

// Median seconds of one call of fn, over samples that together take about
// `budget` seconds. A sample is as many back-to-back calls as fill about 2 ms,
// then one synchronisation: in training the device's queue is never empty, so
// one call's launch and synchronisation must not be counted as its run time
// (timed alone, a 2048^3 GEMM on an H200 looked 35% slower).
template <typename Fn>
double time_median(const torch::Device& device, Fn&& fn, double budget = 0.3) {
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  fn();
  sync(device);
  const auto first = Clock::now();
  fn();
  sync(device);
  const int calls = std::clamp(int(2e-3 / std::max(seconds_since(first), 1e-7)), 1, 1000);
  std::vector<double> samples;
  const auto start = Clock::now();
  while (samples.size() < 3 || (samples.size() < 50 && seconds_since(start) < budget)) {
    const auto t = Clock::now();
    for (int i = 0; i < calls; ++i) fn();
    sync(device);
    samples.push_back(seconds_since(t) / calls);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// A measurement taken `repeats` times: its median, and its spread (max - min) / median. On a busy
// device one run can be twice another (a CPU shared with a build measured copies at 11.5 and then
// 23.5 GB/s); the spread says whether the median can be trusted.
struct Repeated {
  double median = 0, spread = 0;
};

template <typename Measure>
Repeated repeated(int repeats, Measure&& measure) {
  std::vector<double> values;
  for (int i = 0; i < std::max(1, repeats); ++i) values.push_back(measure());
  std::sort(values.begin(), values.end());
  const double median = values[values.size() / 2];
  return {median, median > 0 ? (values.back() - values.front()) / median : 0.0};
}

// What calibrate refuses to write without --force: an efficiency above 1 (a wrong preset or a
// broken timer) and a spread above the limit (a device busy with other work).
struct Plausibility {
  std::vector<std::string> problems;
  void efficiency(const char* what, double value) {
    if (value > 1.0)
      problems.push_back(std::string(what) + " is " + std::to_string(value) + " of the datasheet (above 1)");
  }
  void spread(const char* what, double value, double limit) {
    if (value > limit) {
      problems.push_back(std::string(what) + " varied by " + std::to_string(int(100 * value + 0.5)) +
                         "% between repeats (limit " + std::to_string(int(100 * limit + 0.5)) + "%)");
    }
  }
};

}  // namespace

int calibrate(const CalibrateOptions& o) {
  const Scenario sc = load_scenario(o.scenario);
  const bool cuda = o.device == "cuda";
#ifndef TRAINSIM_EXEC_CUDA
  if (cuda) {
    std::fprintf(stderr, "trainsim-exec calibrate: this build has no CUDA\n");
    return 2;
  }
#endif
  const int rank = env_int("RANK", 0), world = env_int("WORLD_SIZE", 1);
  const torch::Device device =
      cuda ? torch::Device(torch::kCUDA, env_int("LOCAL_RANK", 0)) : torch::Device(torch::kCPU);
  const auto dtype = cuda ? torch::kBFloat16 : torch::kFloat;
  const Precision precision = cuda ? Precision::bf16 : Precision::fp32;
  const GpuSpec& gpu = sc.cluster.topology.gpu;
  const double peak = gpu.peak(precision);
  const auto opts = torch::TensorOptions().dtype(dtype).device(device);
  // One rank is one "device": on a CPU it gets its share of the cores, as in a
  // training run.
  if (!cuda) torch::set_num_threads(std::max(1, int(std::thread::hardware_concurrency()) / std::max(world, 1)));
  nlohmann::json profile, measured;
  Plausibility check;

  if (rank == 0) {
    torch::NoGradGuard no_grad;
    // GEMMs: cubes, and the skinny shapes of transformer layers (m = tokens,
    // n/k = widths).
    const std::vector<std::array<int64_t, 3>> shapes =
        cuda ? std::vector<std::array<int64_t, 3>>{{512, 512, 512},     {1024, 1024, 1024},  {2048, 2048, 2048},
                                                   {4096, 4096, 4096},  {8192, 8192, 8192},  {8192, 1024, 1024},
                                                   {16384, 4096, 1024}, {16384, 1024, 4096}, {16384, 3072, 768},
                                                   {32768, 8192, 2048}}
             : std::vector<std::array<int64_t, 3>>{{128, 128, 128},    {256, 256, 256},  {512, 512, 512},
                                                   {1024, 1024, 1024}, {2048, 256, 256}, {2048, 1024, 256},
                                                   {2048, 256, 1024},  {4096, 512, 512}};
    double best = 0;
    std::vector<std::pair<double, double>> k_and_rate;  // of the shapes that fill the device
    // At least two waves of 128 x 256 output tiles over the SMs: smaller GEMMs are shaped by
    // wave quantization, which the cost model prices separately, not by K.
    const auto fills_device = [&](int64_t m, int64_t n) {
      return !cuda || double((m + 127) / 128) * double((n + 255) / 256) >= 2.0 * gpu.sm_count;
    };
    for (const auto& [m, n, k] : shapes) {
      const auto a = torch::randn({m, k}, opts), b = torch::randn({k, n}, opts);
      const Repeated t = repeated(o.repeats, [&] { return time_median(device, [&] { (void)torch::mm(a, b); }); });
      const double rate = 2.0 * m * n * k / t.median;
      const std::string shape = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
      measured["spread"]["gemm " + shape] = t.spread;
      if (m >= 1024) check.spread(("GEMM " + shape).c_str(), t.spread, o.max_spread);
      profile["gemm_flops"][std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k)] = rate;
      best = std::max(best, rate);
      if (fills_device(m, n)) k_and_rate.emplace_back(double(k), rate);
      std::printf("gemm %6lldx%-6lldx%-6lld %10.2f TFLOP/s  spread %4.1f%%\n", (long long)m, (long long)n, (long long)k,
                  rate / 1e12, 100 * t.spread);
    }
    check.efficiency("the best GEMM rate", best / peak);
    const double max_eff = std::clamp(best / peak, 0.01, 1.0);
    // eff(K) = max K / (K + k_half): each shape gives one estimate of k_half;
    // take the median.
    std::vector<double> halves;
    for (const auto& [k, rate] : k_and_rate) halves.push_back(std::max(0.0, k * (best / rate - 1)));
    std::sort(halves.begin(), halves.end());
    profile["gemm_max_efficiency"] = max_eff;
    profile["gemm_k_half"] = std::min(halves[halves.size() / 2], 1e6);

    // Memory bandwidth: a large copy reads and writes every byte once.
    const int64_t elements = cuda ? (int64_t(1) << 28) : (int64_t(1) << 24);
    const auto src = torch::randn({elements}, opts);
    auto dst = torch::empty_like(src);
    const Repeated copy_t = repeated(o.repeats, [&] { return time_median(device, [&] { dst.copy_(src); }); });
    const double bandwidth = 2.0 * double(src.nbytes()) / copy_t.median;
    measured["spread"]["copy"] = copy_t.spread;
    check.spread("the copy bandwidth", copy_t.spread, o.max_spread);
    check.efficiency("the copy bandwidth", bandwidth / gpu.memory_bandwidth);
    profile["memory_efficiency"] = std::clamp(bandwidth / gpu.memory_bandwidth, 0.01, 1.0);
    measured["memory_bandwidth_Bps"] = bandwidth;
    std::printf("copy  %.1f GB/s (preset %.1f GB/s)  spread %.1f%%\n", bandwidth / 1e9, gpu.memory_bandwidth / 1e9,
                100 * copy_t.spread);

    // Element-wise work as a training step has it: LayerNorm and GELU, forward and backward
    // through autograd, on a layer's activations. The cost model counts each forward kernel as
    // reading and writing its tensor once and its backward as twice that; the ratio of those
    // bytes per second to the copy's is the profile's elementwise_efficiency.
    {
      torch::AutoGradMode grad(true);
      const int64_t tokens = cuda ? 16384 : 2048, width = cuda ? 2048 : 256;
      auto x = torch::randn({tokens, width}, opts).requires_grad_();
      auto w = torch::ones({width}, opts).requires_grad_(), b = torch::zeros({width}, opts).requires_grad_();
      auto wide = torch::randn({tokens, 4 * width}, opts).requires_grad_();
      const double t = time_median(device, [&] {
        torch::nn::functional::layer_norm(x, torch::nn::functional::LayerNormFuncOptions({width}).weight(w).bias(b))
            .sum()
            .backward();
        torch::gelu(wide, "tanh").sum().backward();
      });
      // The sums and their backward (a broadcast) are counted too: a read, and a write.
      const double element_bytes = double(x.element_size());
      const double counted = 3 * 2 * element_bytes * double(x.numel() + wide.numel());
      const double extra = 2 * element_bytes * double(x.numel() + wide.numel());
      const double efficiency = std::clamp((counted + extra) / t / bandwidth, 0.01, 1.0);
      profile["elementwise_efficiency"] = efficiency;
      std::printf("layer norm + gelu, forward and backward: %.1f GB/s, %.0f%% of the copy's\n",
                  (counted + extra) / t / 1e9, 100 * efficiency);
    }

    // Per-kernel overhead as training sees it: a chain of operations on a tiny
    // tensor, forward and backward through autograd, per kernel (each step of
    // the chain is one forward and one backward kernel). An op alone, without
    // autograd, costs less; the simulator's per-kernel floor stands for what a
    // training step pays.
    const double launch = [&] {
      torch::AutoGradMode grad(true);
      auto leaf = torch::ones({8}, opts).requires_grad_();
      constexpr int chain = 50;
      return time_median(device,
                         [&] {
                           auto y = leaf;
                           for (int i = 0; i < chain; ++i) y = y * 1.0001;
                           y.sum().backward();
                         }) /
             (2 * chain);
    }();
    profile["kernel_overhead_s"] = std::min(launch, 1e-2);
    std::printf(
        "kernel overhead %.2f us (forward + backward through autograd, "
        "per kernel)\n",
        launch * 1e6);

    // Attention (scores, softmax, weighted sum), forward and backward, not
    // causal.
    const int64_t B = cuda ? 8 : 1, H = cuda ? 16 : 4, S = cuda ? 2048 : 256, D = cuda ? 128 : 64;
    {
      torch::AutoGradMode grad(true);
      auto q = torch::randn({B, H, S, D}, opts).requires_grad_(), k = torch::randn({B, H, S, D}, opts).requires_grad_(),
           v = torch::randn({B, H, S, D}, opts).requires_grad_();
      // On a GPU the fused kernel the executor trains with (LibTorch 2.x); written out elsewhere.
      const double t = time_median(device, [&] {
        std::optional<torch::Tensor> y;
        if (cuda) y = fused_attention(q, k, v, std::nullopt, false);
        if (!y) y = torch::matmul(torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(D)), -1), v);
        y->sum().backward();
      });
      const double flops = 12.0 * B * H * S * S * D;  // 4 B H S^2 D forward, twice that backward
      const double shape_term = double(S) / (S + 1700.0) * double(D) / (D + 60.0);  // the cost model's default s0, d0
      check.efficiency("attention", flops / t / peak);
      profile["attention_max_efficiency"] = std::clamp(flops / t / peak / shape_term, 0.01, 2.0);
      measured["attention_flops"] = flops / t;
      std::printf("attention b%lld h%lld s%lld d%lld  %.2f TFLOP/s\n", (long long)B, (long long)H, (long long)S,
                  (long long)D, flops / t / 1e12);
    }
  }

  if (world > 1) {
    const std::string host = std::getenv("MASTER_ADDR") ? std::getenv("MASTER_ADDR") : "127.0.0.1";
    const Mesh mesh(rank, {world, 1, 1}, host, env_int("MASTER_PORT", 29500), std::chrono::seconds(120), cuda,
                    rendezvous_file());
    auto buffer = torch::ones({int64_t(1) << 22}, torch::TensorOptions().dtype(torch::kFloat).device(device));
    const double t = time_median(device, [&] { mesh.world().all_reduce(buffer); });
    const double bus = 2.0 * (world - 1) / world * double(buffer.nbytes()) / t;
    measured["allreduce_bus_Bps"] = bus;
    measured["allreduce_ranks"] = world;
    if (rank == 0) std::printf("all-reduce over %d ranks: %.2f GB/s bus bandwidth\n", world, bus / 1e9);
  }
  if (rank != 0) return 0;
  if (!check.problems.empty()) {
    for (const auto& problem : check.problems) std::fprintf(stderr, "trainsim-exec calibrate: %s\n", problem.c_str());
    if (!o.force) {
      std::fprintf(stderr,
                   "trainsim-exec calibrate: no profile written: the measurements are not plausible (run it on an "
                   "idle device, check the scenario's GPU, or pass --force to write it anyway)\n");
      return 2;
    }
    measured["warnings"] = check.problems;
  }
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  profile["measured"] = measured;
  profile["gpu"] = gpu.name;  // the GPU data it was measured against: predict warns on another
  profile["source"] = std::string("trainsim-exec calibrate on ") + (cuda ? "cuda" : "cpu") + ", " + date +
                      ", datasheet peaks of the scenario's GPU preset " + gpu.name;
  write_file_atomically(o.out, profile.dump(2) + "\n");
  std::printf("wrote %s\n", o.out.c_str());
  return 0;
}

}  // namespace trainsim::exec
