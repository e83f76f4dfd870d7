#include "checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace trainsim::exec {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'T', 'S', 'C', 'K', 'P', 'T', '0', '1'};

std::uint64_t fnv1a(const char* data, std::size_t n, std::uint64_t h = 1469598103934665603ULL) {
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(data[i])) * 1099511628211ULL;
  return h;
}

// Writes all bytes or throws with the file and the system's reason (ENOSPC,
// EFBIG, ...).
void write_all(int fd, const char* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(w < 0 ? errno : ENOSPC));
    data += w;
    n -= std::size_t(w);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  try {
    write_all(fd, bytes.data(), bytes.size(), tmp);
    if (::fsync(fd) != 0) throw std::runtime_error("cannot flush " + tmp + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + ": " + std::strerror(errno));
  }
}

namespace {

std::string rank_path(const std::string& dir, int64_t step, int rank) {
  char name[32];
  std::snprintf(name, sizeof name, "rank-%05d.bin", rank);
  return step_dir(dir, step) + "/" + name;
}

}  // namespace

std::string step_dir(const std::string& dir, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%06lld", static_cast<long long>(step));
  return dir + "/" + name;
}

void write_rank_file(const std::string& dir, int64_t step, int rank, const CheckpointState& state) {
  std::error_code ec;
  fs::create_directories(step_dir(dir, step), ec);
  if (ec) throw std::runtime_error("cannot create " + step_dir(dir, step) + ": " + ec.message());
  std::string bytes(kMagic, sizeof kMagic);
  auto put = [&](int64_t v) { bytes.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(state.step);
  put(int64_t(state.tensors.size()));
  for (const auto& t : state.tensors) {
    const auto cpu = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
    put(cpu.numel());
    bytes.append(reinterpret_cast<const char*>(cpu.data_ptr<float>()), std::size_t(cpu.numel()) * sizeof(float));
  }
  const std::uint64_t sum = fnv1a(bytes.data(), bytes.size());
  bytes.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  write_file_atomically(rank_path(dir, step, rank), bytes);
}

void mark_complete(const std::string& dir, int64_t step, int keep) {
  write_file_atomically(step_dir(dir, step) + "/COMPLETE", std::to_string(step) + "\n");
  const auto steps = complete_steps(dir);
  for (std::size_t i = std::size_t(keep); i < steps.size(); ++i) {
    std::error_code ec;
    fs::remove_all(step_dir(dir, steps[i]), ec);
  }
}

std::vector<int64_t> complete_steps(const std::string& dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code missing;
    if (name.rfind("step-", 0) != 0 || !fs::exists(entry.path() / "COMPLETE", missing)) continue;
    try {
      steps.push_back(std::stoll(name.substr(5)));
    } catch (const std::exception&) {
    }
  }
  std::sort(steps.rbegin(), steps.rend());
  return steps;
}

std::optional<CheckpointState> read_rank_file(const std::string& dir, int64_t step, int rank,
                                              const std::vector<torch::Tensor>& like, std::string& problem) {
  const std::string path = rank_path(dir, step, rank);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problem = path + " is missing";
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  std::uint64_t sum = 0;
  if (bytes.size() < sizeof kMagic + 24 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    problem = path + " is not a trainsim checkpoint (bad header)";
    return std::nullopt;
  }
  std::memcpy(&sum, bytes.data() + bytes.size() - sizeof sum, sizeof sum);
  if (fnv1a(bytes.data(), bytes.size() - sizeof sum) != sum) {
    problem = path + " is damaged (checksum mismatch)";
    return std::nullopt;
  }
  std::size_t at = sizeof kMagic;
  auto get = [&]() {
    int64_t v = 0;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return v;
  };
  CheckpointState state;
  state.step = get();
  const int64_t count = get();
  if (count != int64_t(like.size())) {
    problem = path + " holds " + std::to_string(count) + " tensors, this run needs " + std::to_string(like.size());
    return std::nullopt;
  }
  for (const auto& t : like) {
    const int64_t n = get();
    if (n != t.numel() || at + std::size_t(n) * sizeof(float) > bytes.size() - sizeof sum) {
      problem = path + " was written by a run of another shape or plan";
      return std::nullopt;
    }
    auto value = torch::empty({n}, torch::kFloat);
    std::memcpy(value.data_ptr<float>(), bytes.data() + at, std::size_t(n) * sizeof(float));
    at += std::size_t(n) * sizeof(float);
    state.tensors.push_back(value.view_as(t).to(t.device(), t.scalar_type()));
  }
  return state;
}

}  // namespace trainsim::exec
