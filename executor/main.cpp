// trainsim-exec: runs a scenario's plan for real and measures it in the simulator's terms.
//
//   trainsim-exec SCENARIO [--nproc N] [--steps S] [--warmup W] [--layers L] [--hidden H]
//                 [--heads A] [--seq-len T] [--vocab V] [--micro-batch B] [--out run.json]
//                 [--timeout SECONDS]
//
// One process per rank, reading RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (torchrun style);
// --nproc N spawns N local ranks itself. This version runs data parallelism with Gloo on CPU:
// gradients are averaged with one all-reduce per step (one bucket). Tensor and pipeline
// parallelism, ZeRO, recomputation, NCCL and calibration are not written yet (docs/status.md).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "gpt.hpp"
#include "scenario/scenario.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Options {
  std::string scenario;
  int nproc = 0, steps = 8, warmup = 2, timeout_s = 300;
  std::optional<int> layers, hidden, heads, seq_len, vocab, micro_batch;
  std::string out;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "trainsim-exec: " << problem << "\n"
            << "usage: trainsim-exec SCENARIO [--nproc N] [--steps S] [--warmup W] [--layers L] [--hidden H] "
               "[--heads A] [--seq-len T] [--vocab V] [--micro-batch B] [--out run.json] [--timeout SECONDS]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) usage(arg + " needs a value");
      try {
        const int v = std::stoi(argv[++i]);
        if (v < 0) throw std::out_of_range("negative");
        return v;
      } catch (const std::exception&) {
        usage(arg + " expects a non-negative integer, found \"" + argv[i] + "\"");
      }
    };
    if (arg == "--nproc") o.nproc = value();
    else if (arg == "--steps") o.steps = value();
    else if (arg == "--warmup") o.warmup = value();
    else if (arg == "--timeout") o.timeout_s = value();
    else if (arg == "--layers") o.layers = value();
    else if (arg == "--hidden") o.hidden = value();
    else if (arg == "--heads") o.heads = value();
    else if (arg == "--seq-len") o.seq_len = value();
    else if (arg == "--vocab") o.vocab = value();
    else if (arg == "--micro-batch") o.micro_batch = value();
    else if (arg == "--out") {
      if (i + 1 >= argc) usage("--out needs a file");
      o.out = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else if (!arg.empty() && arg[0] == '-') {
      usage("unknown option " + arg);
    } else {
      o.scenario = arg;
    }
  }
  if (o.scenario.empty()) usage("a scenario file is needed");
  if (o.steps <= o.warmup) usage("--steps must exceed --warmup");
  return o;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

// Spawns N ranks of this program and waits; one failing or hanging rank stops the others.
int launch(const Options& o, char** argv) {
  const int port = 20000 + static_cast<int>(getpid() % 20000);
  std::vector<pid_t> children;
  for (int rank = 0; rank < o.nproc; ++rank) {
    const pid_t pid = fork();
    if (pid == 0) {
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 0);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("TRAINSIM_EXEC_CHILD", "1", 1);
      execv("/proc/self/exe", argv);
      std::perror("trainsim-exec: exec");
      _exit(127);
    }
    children.push_back(pid);
  }
  int failed_rank = -1, code = 0;
  const auto start = Clock::now();
  std::size_t running = children.size();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      --running;
      const int rank = int(std::find(children.begin(), children.end(), pid) - children.begin());
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && failed_rank < 0) {
        failed_rank = rank;
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        for (const pid_t other : children) kill(other, SIGTERM);
      }
      continue;
    }
    if (seconds_since(start) > o.timeout_s + 60) {
      std::cerr << "trainsim-exec: ranks still running after " << o.timeout_s + 60 << " s; stopping them\n";
      for (const pid_t other : children) kill(other, SIGKILL);
      return 1;
    }
    usleep(20000);
  }
  if (failed_rank >= 0) {
    std::cerr << "trainsim-exec: rank " << failed_rank << " failed (exit " << code << "); the others were stopped\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  trainsim::Scenario sc;
  try {
    sc = trainsim::load_scenario(o.scenario);
  } catch (const trainsim::InputError& e) {
    std::cerr << "trainsim-exec: error: " << e.what() << "\n";
    return 2;
  }
  if (o.nproc > 0 && !std::getenv("TRAINSIM_EXEC_CHILD")) return launch(o, argv);

  const int rank = env_int("RANK", 0);
  const int world = env_int("WORLD_SIZE", 1);
  const auto& plan = sc.plan;
  if (sc.model.arch != trainsim::Arch::gpt || sc.model.moe() || sc.model.kv_heads != sc.model.heads) {
    std::cerr << "trainsim-exec: this executor builds GPT models only (dense, no grouped-query attention); the "
              << "scenario's model is " << trainsim::arch_name(sc.model.arch) << "\n";
    return 2;
  }
  if (plan.tp * plan.pp * plan.cp > 1) {
    std::cerr << "trainsim-exec: this executor runs data parallelism only; the scenario asks for tp " << plan.tp
              << ", pp " << plan.pp << ", cp " << plan.cp << "\n";
    return 2;
  }
  if (world != plan.dp) {
    std::cerr << "trainsim-exec: the scenario's dp is " << plan.dp << " but " << world << " ranks were started\n";
    return 2;
  }
  trainsim::exec::GptShape shape;
  shape.layers = o.layers.value_or(sc.model.layers);
  shape.hidden = o.hidden.value_or(sc.model.hidden);
  shape.heads = o.heads.value_or(sc.model.heads);
  shape.seq_len = o.seq_len.value_or(sc.model.seq_len);
  shape.vocab = o.vocab.value_or(sc.model.vocab);
  const int micro_batch = o.micro_batch.value_or(plan.micro_batch);
  const int global_batch = micro_batch * world;  // one micro-batch per rank per step
  if (shape.hidden % shape.heads != 0) usage("hidden must be divisible by heads");

  torch::set_num_threads(1);
  torch::manual_seed(1234);  // the same initial weights on every rank
  trainsim::exec::Gpt model(shape);

  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  if (world > 1) {
    const std::string host = std::getenv("MASTER_ADDR") ? std::getenv("MASTER_ADDR") : "127.0.0.1";
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env_int("MASTER_PORT", 29500));
    store_options.isServer = rank == 0;
    store_options.numWorkers = world;
    store_options.timeout = std::chrono::seconds(o.timeout_s);
    auto store = c10::make_intrusive<c10d::TCPStore>(host, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
    options->timeout = std::chrono::seconds(o.timeout_s);
    group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
  }

  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0.0));
  std::vector<double> losses, step_times, compute_times, comm_times, optimizer_times;
  for (int step = 0; step < o.steps; ++step) {
    // Synthetic tokens from a seed per step: rank r takes sequences [r*b, (r+1)*b) of the batch.
    auto generator = at::make_generator<at::CPUGeneratorImpl>(1000 + step);
    const auto batch = torch::randint(shape.vocab, {global_batch, shape.seq_len + 1}, generator, torch::kLong);
    const auto mine = batch.narrow(0, int64_t(rank) * micro_batch, micro_batch);
    const auto inputs = mine.narrow(1, 0, shape.seq_len);
    const auto targets = mine.narrow(1, 1, shape.seq_len);

    const auto start = Clock::now();
    optimizer.zero_grad();
    const auto logits = model->forward(inputs);
    auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, shape.vocab}), targets.reshape({-1}));
    loss.backward();
    const double compute = seconds_since(start);

    // Data parallel: average the gradients (and the loss, for the log) with one all-reduce.
    const auto comm_start = Clock::now();
    std::vector<torch::Tensor> grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad().reshape({-1}));
    auto flat = torch::cat(grads);
    auto loss_value = loss.detach().reshape({1}).clone();
    if (group) {
      std::vector<torch::Tensor> buffers{flat};
      group->allreduce(buffers)->wait();
      std::vector<torch::Tensor> loss_buffer{loss_value};
      group->allreduce(loss_buffer)->wait();
      flat.div_(world);
      loss_value.div_(world);
      int64_t offset = 0;
      for (const auto& p : model->parameters()) {
        const int64_t n = p.numel();
        p.mutable_grad().copy_(flat.narrow(0, offset, n).view_as(p));
        offset += n;
      }
    }
    const double comm = seconds_since(comm_start);
    const auto optimizer_start = Clock::now();
    optimizer.step();
    const double update = seconds_since(optimizer_start);
    losses.push_back(loss_value.item<double>());
    step_times.push_back(seconds_since(start));
    compute_times.push_back(compute);
    comm_times.push_back(comm);
    optimizer_times.push_back(update);
  }

  if (rank == 0) {
    auto median = [&](std::vector<double> v) {
      v.erase(v.begin(), v.begin() + o.warmup);
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double step_time = median(step_times);
    double parameters = 0;
    for (const auto& p : model->parameters()) parameters += double(p.numel());
    const double tokens = double(global_batch) * shape.seq_len;
    // Model FLOPs as the simulator counts them: 6 N (no input embedding) + 6 l h s per token.
    const double flops_per_token = 6 * (parameters - double(shape.seq_len) * shape.hidden) +
                                   6.0 * shape.layers * shape.hidden * shape.seq_len;
    const double tflops = flops_per_token * tokens / world / step_time / 1e12;
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    const double peak = sc.cluster.topology.gpu.peak(trainsim::Precision::fp32);
    nlohmann::json run = {
        {"scenario", sc.name},
        {"gpus", world},
        {"device", "cpu (Gloo)"},
        {"step_time_s", step_time},
        {"tokens_per_s", tokens / step_time},
        {"model_tflops_per_gpu", tflops},
        {"hardware_tflops_per_gpu", tflops},
        {"mfu", peak > 0 ? tflops * 1e12 / peak : 0.0},
        {"breakdown_s",
         {{"compute", median(compute_times)}, {"exposed_comm", median(comm_times)}, {"bubble", 0.0},
          {"optimizer", median(optimizer_times)}}},
        {"memory_per_gpu_bytes", {{"peak", static_cast<std::int64_t>(usage.ru_maxrss) * 1024}}},
        {"losses", losses},
        {"model", {{"arch", "gpt"}, {"layers", shape.layers}, {"hidden", shape.hidden}, {"heads", shape.heads},
                   {"seq_len", shape.seq_len}, {"vocab", shape.vocab}, {"parameters", parameters}}},
        {"plan", {{"dp", world}, {"micro_batch", micro_batch}, {"global_batch", global_batch}}},
        {"steps", o.steps},
        {"warmup", o.warmup}};
    if (o.out.empty()) {
      std::cout << run.dump(2) << "\n";
    } else {
      const std::string partial = o.out + ".partial";
      std::ofstream(partial) << run.dump(2) << "\n";
      std::rename(partial.c_str(), o.out.c_str());
    }
  }
  return 0;
}
