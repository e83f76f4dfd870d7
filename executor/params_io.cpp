#include "params_io.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

namespace trainsim::exec {

namespace {

struct Full {
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::vector<bool> filled;
};

// Places a shard of `full` (sliced along shard_dim at tp_index) into the full
// tensor.
void place(Full& f, const std::vector<int64_t>& shard_shape, int shard_dim, int tp_index, const float* data) {
  const std::size_t dims = f.shape.size();
  std::vector<int64_t> stride(dims, 1);
  for (std::size_t d = dims; d-- > 1;) stride[d - 1] = stride[d] * f.shape[d];
  int64_t count = 1;
  for (const auto n : shard_shape) count *= n;
  std::vector<int64_t> index(dims, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t rest = i, flat = 0;
    for (std::size_t d = dims; d-- > 0;) {
      index[d] = rest % shard_shape[d];
      rest /= shard_shape[d];
    }
    for (std::size_t d = 0; d < dims; ++d) {
      const int64_t offset = int(d) == shard_dim ? int64_t(tp_index) * shard_shape[d] : 0;
      flat += (index[d] + offset) * stride[d];
    }
    f.values[std::size_t(flat)] = data[i];
    f.filled[std::size_t(flat)] = true;
  }
}

std::map<std::string, Full> load(const std::string& dir) {
  std::map<std::string, Full> tensors;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json" || entry.path().filename() == "losses.json") continue;
    std::ifstream meta_in(entry.path());
    const auto meta = nlohmann::json::parse(meta_in);
    auto bin_path = entry.path();
    bin_path.replace_extension(".bin");
    std::ifstream bin(bin_path, std::ios::binary);
    const std::vector<char> raw((std::istreambuf_iterator<char>(bin)), std::istreambuf_iterator<char>());
    const auto* data = reinterpret_cast<const float*>(raw.data());
    for (const auto& t : meta) {
      const auto name = t.at("name").get<std::string>();
      auto& f = tensors[name];
      if (f.values.empty()) {
        f.shape = t.at("full_shape").get<std::vector<int64_t>>();
        int64_t n = 1;
        for (const auto d : f.shape) n *= d;
        f.values.assign(std::size_t(n), 0.0f);
        f.filled.assign(std::size_t(n), false);
      }
      const auto offset = t.at("offset").get<std::size_t>();
      const auto shape = t.at("shape").get<std::vector<int64_t>>();
      int64_t count = 1;
      for (const auto d : shape) count *= d;
      if ((offset + std::size_t(count)) * sizeof(float) > raw.size()) {
        throw std::runtime_error(bin_path.string() + " is shorter than its index says");
      }
      place(f, shape, t.at("shard_dim").get<int>(), t.at("tp_index").get<int>(), data + offset);
    }
  }
  if (tensors.empty()) throw std::runtime_error(dir + ": no parameter files (rank-*.json)");
  return tensors;
}

}  // namespace

int compare_params(const std::string& dir_a, const std::string& dir_b, double rtol) {
  std::map<std::string, Full> a, b;
  try {
    a = load(dir_a);
    b = load(dir_b);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trainsim-exec compare-params: %s\n", e.what());
    return 2;
  }
  int bad = 0;
  double worst = 0;
  std::string worst_name;
  for (const auto& [name, fa] : a) {
    const auto it = b.find(name);
    if (it == b.end() || it->second.shape != fa.shape) {
      std::printf("%-36s missing or of another shape in %s\n", name.c_str(), dir_b.c_str());
      ++bad;
      continue;
    }
    const auto& fb = it->second;
    // Relative difference of the tensor as a whole, ||a - b|| / ||b||, with
    // ||b|| at least the norm the tensor had at initialisation (0.02 per
    // element): after Adam's first steps an element whose gradient is near zero
    // moves by lr * g / (|g| + eps), which amplifies rounding differences in g,
    // and biases that start at zero would otherwise be measured against almost
    // nothing. (One process with and without gradient accumulation differs by
    // 3e-5 on a query bias measured against ||b|| alone.)
    double diff = 0, scale = 0;
    bool complete = true;
    for (std::size_t i = 0; i < fa.values.size(); ++i) {
      const double d = double(fa.values[i]) - double(fb.values[i]);
      diff += d * d;
      scale += double(fb.values[i]) * double(fb.values[i]);
      complete = complete && fa.filled[i] && fb.filled[i];
    }
    const double floor = 0.02 * std::sqrt(double(fa.values.size()));
    const double rel = std::sqrt(diff) / std::max(std::sqrt(scale), floor);
    if (!complete) {
      std::printf("%-36s not every element was written by the shards\n", name.c_str());
      ++bad;
    }
    if (rel > rtol) {
      std::printf("%-36s differs: ||a-b|| / max(||b||, 0.02 sqrt(n)) = %.3g\n", name.c_str(), rel);
      ++bad;
    }
    if (rel >= worst) {
      worst = rel;
      worst_name = name;
    }
  }
  // The losses of every step, when both runs wrote them.
  std::ifstream la(dir_a + "/losses.json"), lb(dir_b + "/losses.json");
  if (la && lb) {
    const auto a_losses = nlohmann::json::parse(la).at("losses").get<std::vector<double>>();
    const auto b_losses = nlohmann::json::parse(lb).at("losses").get<std::vector<double>>();
    double loss_worst = 0;
    for (std::size_t i = 0; i < std::min(a_losses.size(), b_losses.size()); ++i) {
      loss_worst = std::max(loss_worst, std::fabs(a_losses[i] - b_losses[i]) / std::max(std::fabs(b_losses[i]), 1e-30));
    }
    const bool same = a_losses.size() == b_losses.size() && loss_worst <= rtol;
    std::printf("losses of %zu steps: largest relative difference %.3g%s\n", a_losses.size(), loss_worst,
                same ? "" : (a_losses.size() == b_losses.size() ? " (too large)" : " (step counts differ)"));
    if (!same) ++bad;
  }
  for (const auto& [name, fb] : b) {
    if (!a.count(name)) {
      std::printf("%-36s missing in %s\n", name.c_str(), dir_a.c_str());
      ++bad;
    }
  }
  std::printf("%zu tensors compared; largest relative difference %.3g (%s); %s\n", a.size(), worst, worst_name.c_str(),
              bad ? "MISMATCH" : "equal within tolerance");
  return bad ? 1 : 0;
}

}  // namespace trainsim::exec
