// trainsim-exec: runs a scenario's plan for real and measures it in the
// simulator's terms.
//
//   trainsim-exec SCENARIO [--nproc N] [options]       train; see --help
//   trainsim-exec calibrate SCENARIO --out profile.json  measure this device
//   for the simulator trainsim-exec compare-params DIR_A DIR_B parameters of
//   two runs, to 1e-5
//
// One process per rank, reading RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT (torchrun, SLURM or mpirun style); --nproc N starts N local ranks
// itself. Gloo on CPU, NCCL on GPUs.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <thread>

#include "calibrate.hpp"
#include "checkpoint.hpp"
#include "comm.hpp"
#include "data.hpp"
#include "launch.hpp"
#include "params_io.hpp"
#include "scenario/scenario.hpp"
#include "scenario/units.hpp"
#include "trainer.hpp"

namespace {

using namespace trainsim;
using namespace trainsim::exec;

struct RunOptions {
  std::string scenario, out, trace, data = "synthetic", checkpoint_dir, dump_params, device = "cpu", precision;
  int nproc = 0, steps = 8, warmup = 2, timeout_s = 300, checkpoint_every = 0;
  bool resume = false, autocast = false;
  double lr = 1e-3, adam_eps = 1e-8;
  std::optional<int> layers, hidden, heads, kv_heads, ffn, seq_len, vocab, micro_batch;
  std::optional<int64_t> global_batch;
};

std::atomic<bool> g_stop{false};

// Test hook: TRAINSIM_EXEC_FAULT=kill:RANK:STEP (killed mid-step),
// hang:RANK:STEP (stops responding), exit:RANK:STEP (fails with an error).
void inject_fault(int rank, int64_t step) {
  const char* spec = std::getenv("TRAINSIM_EXEC_FAULT");
  if (!spec) return;
  char kind[16] = {};
  int fault_rank = -1;
  long fault_step = -1;
  if (std::sscanf(spec, "%15[a-z]:%d:%ld", kind, &fault_rank, &fault_step) != 3) return;
  if (fault_rank != rank || fault_step != step) return;
  const std::string k = kind;
  if (k == "kill") {
    // At once, as the step begins: the other ranks are then inside the step, waiting on this one.
    // (A kill 30 ms later raced the run's end once steps took 10 ms on an idle machine.)
    std::raise(SIGKILL);
  } else if (k == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  } else if (k == "exit") {
    throw std::runtime_error("injected failure at step " + std::to_string(step));
  }
}

ModelShape shape_of(const Scenario& sc, const RunOptions& o) {
  ModelShape s;
  s.arch = sc.model.arch;
  s.layers = o.layers.value_or(sc.model.layers);
  s.hidden = o.hidden.value_or(sc.model.hidden);
  s.heads = o.heads.value_or(sc.model.heads);
  s.kv_heads = o.kv_heads.value_or(o.heads ? *o.heads : sc.model.kv_heads);
  // A scaled width's MLP as the scenario loader sizes one it is not given (scenario/scenario.cpp):
  // SwiGLU's 8h/3 rounded up to a multiple of 256, else 4h.
  s.ffn = o.ffn.value_or(o.hidden ? (s.arch == Arch::llama ? (8 * *o.hidden / 3 + 255) / 256 * 256 : 4 * *o.hidden)
                                  : sc.model.ffn_hidden);
  s.seq_len = o.seq_len.value_or(sc.model.seq_len);
  s.vocab = o.vocab.value_or(sc.model.vocab);
  return s;
}

ModelSpec model_spec(const ModelShape& s) {
  ModelSpec m;
  m.arch = s.arch;
  m.layers = s.layers;
  m.hidden = s.hidden;
  m.heads = s.heads;
  m.kv_heads = s.kv_heads;
  m.ffn_hidden = s.ffn;
  m.vocab = s.vocab;
  m.seq_len = s.seq_len;
  return m;
}

// Model features this executor's layers (model.cpp: the arch's own attention, MLP, norms,
// positions and head) do not build, in the terms of the scenario file: run anyway, the scenario
// would be measured as another model.
std::string unsupported_model(const ModelSpec& m) {
  const std::string missing = " is not implemented in trainsim-exec";
  if (m.moe()) return "a mixture of experts (model.moe)" + missing;
  if (m.mla) return "multi-head latent attention (model.attention: mla)" + missing;
  if (m.sliding_window > 0) return "sliding-window attention (model.sliding_window)" + missing;
  if (m.mtp_layers > 0) return "multi-token prediction (model.mtp_layers)" + missing;
  if (m.parallel_blocks) return "parallel attention and MLP blocks (model.parallel_blocks)" + missing;
  if (m.head_size > 0 && m.head_size * m.heads != m.hidden) return "a head_dim other than hidden / heads" + missing;
  // (Dropout is not built: every run trains without it, whatever model.dropout says; the simulator
  // prices it only inside unfused attention's softmax pass, docs/executor.md.)
  ModelSpec by_arch;
  by_arch.arch = m.arch;
  if (m.biases() != by_arch.biases() || m.learned_positions() != by_arch.learned_positions() ||
      m.rotary_positions() != by_arch.rotary_positions() || m.tied_embeddings() != by_arch.tied_embeddings()) {
    return std::string("model.biases, positions or tied_embeddings other than arch ") + arch_name(m.arch) + "'s" +
           missing;
  }
  return "";
}

// Reasons this executor cannot run the plan, in the terms of the scenario file.
std::string unsupported(const ModelShape& s, const PlanSpec& p, int world) {
  if (p.cp > 1) return "context parallelism (cp " + std::to_string(p.cp) + ") is not implemented in trainsim-exec";
  if (p.ep > 1) return "expert parallelism (ep) is not implemented in trainsim-exec";
  if (p.zero > 1) return "ZeRO stage " + std::to_string(p.zero) + " is not implemented (stages 0 and 1 are)";
  if (p.dp_shard > 0 && p.dp_shard < p.dp) return "hybrid sharding (dp_shard) is not implemented in trainsim-exec";
  if (p.activation_offload_layers > 0)
    return "activation offloading (activation_offload_layers) is not implemented in trainsim-exec";
  if (p.zero_bubble && p.pp > 1)
    return "zero-bubble pipelining (zero_bubble: backwards split into input and weight passes) is not implemented in "
           "trainsim-exec";
  if (world != p.dp * p.tp * p.pp) {
    return "the plan needs dp*tp*pp = " + std::to_string(p.dp * p.tp * p.pp) + " ranks, but " + std::to_string(world) +
           (world == 1 ? " was" : " were") + " started";
  }
  if (p.recompute == Recompute::op || p.recompute == Recompute::qkv)
    return std::string("recompute: ") + recompute_name(p.recompute) +
           " is not implemented in trainsim-exec (none, selective and full are)";
  if (p.recompute == Recompute::selective && p.recompute_modules != std::vector<std::string>{"core_attn"})
    return "recompute_modules other than [core_attn] is not implemented in trainsim-exec (selective recomputes the "
           "attention core)";
  if (!p.layers_per_stage.empty()) {
    const int sum = std::accumulate(p.layers_per_stage.begin(), p.layers_per_stage.end(), 0);
    if (sum != s.layers) {
      return "plan.layers_per_stage splits " + std::to_string(sum) + " layers, the model run has " +
             std::to_string(s.layers) + " (--layers): give a split of those in a copy of the scenario";
    }
  }
  if (p.schedule == Schedule::interleaved && p.micro_batches() % p.pp != 0) {
    return "the interleaved schedule needs the micro-batches per step (" + std::to_string(p.micro_batches()) +
           ") divisible by pp (" + std::to_string(p.pp) + ")";
  }
  if (s.hidden % s.heads != 0) return "hidden must be divisible by heads";
  if (s.heads % s.kv_heads != 0) return "heads must be divisible by kv_heads";
  if (s.heads % p.tp || s.kv_heads % p.tp || s.ffn % p.tp || s.vocab % p.tp) {
    return "tp " + std::to_string(p.tp) + " must divide heads (" + std::to_string(s.heads) + "), kv_heads (" +
           std::to_string(s.kv_heads) + "), the MLP width (" + std::to_string(s.ffn) + ") and the vocab (" +
           std::to_string(s.vocab) + ")";
  }
  if (p.sequence_parallel && s.seq_len % p.tp) return "sequence parallelism needs seq_len divisible by tp";
  const int chunks = p.pp * (p.schedule == Schedule::interleaved ? p.virtual_stages : 1);
  if (p.layers_per_stage.empty() && s.layers < chunks) {
    return std::to_string(s.layers) + " layers are too few for " + std::to_string(chunks) + " pipeline chunks";
  }
  if (p.global_batch % (int64_t(p.micro_batch) * p.dp)) return "global_batch must be a multiple of micro_batch * dp";
  return "";
}

PlanSpec plan_of(const Scenario& sc, const RunOptions& o) {
  PlanSpec plan = sc.plan;
  if (o.micro_batch) plan.micro_batch = *o.micro_batch;
  if (o.global_batch) plan.global_batch = *o.global_batch;
  return plan;
}

// A file the run writes at its end: its folder must exist and take it, so that a bad path fails
// before the run, not after it.
std::string unwritable(const std::string& path, const char* option) {
  if (path.empty()) return "";
  namespace fs = std::filesystem;
  const fs::path file(path);
  std::error_code ec;
  if (fs::is_directory(file, ec)) return std::string(option) + " " + path + ": a directory, not a file";
  const fs::path folder = file.has_parent_path() ? file.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec)) return std::string(option) + " " + path + ": no folder " + folder.string();
  if (::access(folder.c_str(), W_OK) != 0)
    return std::string(option) + " " + path + ": cannot write in " + folder.string();
  return "";
}

// Everything the run would refuse, checked once before any rank starts (and again in each rank a
// launcher started): the plan as overridden, the model as scaled, the data, the output files.
std::string preflight(const RunOptions& o, const Scenario& sc, int world, bool writes_outputs) {
  const ModelShape shape = shape_of(sc, o);
  if (auto why = unsupported(shape, plan_of(sc, o), world); !why.empty()) return why;
  if ((o.resume || o.checkpoint_every > 0) && o.checkpoint_dir.empty())
    return std::string(o.resume ? "--resume" : "--checkpoint-every") + " needs --checkpoint-dir";
  // (Only rank 0 writes them: another machine's ranks may not have its folders.)
  for (const auto& [path, option] : {std::pair{o.out, "--out"}, {o.trace, "--trace"}}) {
    if (!writes_outputs) break;
    if (auto why = unwritable(path, option); !why.empty()) return why;
  }
  try {
    open_dataset(o.data, shape);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// What every rank of one run must agree on: the model as scaled, the plan as overridden, the
// steps and the arithmetic. Ranks a launcher started with different options would otherwise
// train different models together, or fail inside a collective.
std::string run_fingerprint(const ModelShape& s, const PlanSpec& p, const RunOptions& o) {
  std::ostringstream f;
  f << "model " << arch_name(s.arch) << " layers " << s.layers << " hidden " << s.hidden << " heads " << s.heads
    << " kv_heads " << s.kv_heads << " ffn " << s.ffn << " vocab " << s.vocab << " seq_len " << s.seq_len
    << "; plan tp " << p.tp << " pp " << p.pp << " dp " << p.dp << " micro_batch " << p.micro_batch << " global_batch "
    << p.global_batch << " " << schedule_name(p.schedule) << " v " << p.virtual_stages << " zero " << p.zero << " "
    << recompute_name(p.recompute) << "; steps " << o.steps << " precision "
    << (o.precision.empty() ? "default" : o.precision) << " data " << o.data << " device " << o.device;
  return f.str();
}

int train(const RunOptions& o, const Scenario& sc) {
  const PlanSpec plan = plan_of(sc, o);
  const ModelShape shape = shape_of(sc, o);
  const int rank = env_int("RANK", 0), world = env_int("WORLD_SIZE", 1);
  if (const auto why = preflight(o, sc, world, rank == 0); !why.empty()) {
    std::cerr << "trainsim-exec: " << o.scenario << ": " << why << "\n";
    return 2;
  }
  const bool cuda = o.device == "cuda";
#ifndef TRAINSIM_EXEC_CUDA
  if (cuda) {
    std::cerr << "trainsim-exec: --device cuda: this build has no CUDA (see "
                 "executor/gpu-check.sh)\n";
    return 2;
  }
#endif
  if (o.autocast && !cuda) {
    std::cerr << "trainsim-exec: --autocast needs --device cuda\n";
    return 2;
  }
  auto data = open_dataset(o.data, shape);

  TrainConfig config;
  config.shape = shape;
  config.plan = plan;
  config.lr = o.lr;
  config.eps = o.adam_eps;
  // The scenario's precision on a GPU; fp32 on CPUs (the equivalence tests' arithmetic) unless
  // --precision says otherwise.
  config.bf16 = o.precision.empty() ? cuda && plan.precision == Precision::bf16 : o.precision == "bf16";
  config.autocast = config.bf16 && o.autocast;
  config.device = cuda ? torch::Device(torch::kCUDA, env_int("LOCAL_RANK", 0)) : torch::Device(torch::kCPU);
  if (!cuda) torch::set_num_threads(std::max(1, int(std::thread::hardware_concurrency()) / std::max(world, 1)));
  set_autocast_bf16(config.autocast);

  const std::string host = std::getenv("MASTER_ADDR") ? std::getenv("MASTER_ADDR") : "127.0.0.1";
  const Mesh mesh(rank, {plan.dp, plan.tp, plan.pp}, host, env_int("MASTER_PORT", 29500),
                  std::chrono::seconds(o.timeout_s), cuda, rendezvous_file());
  // Each rank posts its run; each compares with rank 0's, and rank 0 with every rank's.
  const std::string mine = run_fingerprint(shape, plan, o);
  if (world > 1) mesh.store_set("run/" + std::to_string(rank), mine);
  for (int r = 0; world > 1 && r < (rank == 0 ? world : 1); ++r) {
    if (const std::string theirs = mesh.store_get("run/" + std::to_string(r)); theirs != mine) {
      std::cerr << "trainsim-exec: rank " << rank << ": the ranks were started with different scenarios or options\n"
                << "  rank " << r << ": " << theirs << "\n  rank " << rank << ": " << mine << "\n";
      return 2;
    }
  }
  Trainer trainer(config, mesh, *data);

  int64_t first_step = 0;
  if (o.resume && !o.checkpoint_dir.empty()) {
    // Every rank must be able to read its file of the same step; otherwise an
    // older checkpoint.
    for (const int64_t step : complete_steps(o.checkpoint_dir)) {
      std::string problem;
      auto state = read_rank_file(o.checkpoint_dir, step, rank, trainer.checkpoint_tensors(), problem);
      auto ok = torch::tensor({state ? 1.0f : 0.0f}).to(config.device);  // NCCL reduces device tensors only
      mesh.world().all_reduce(ok, c10d::ReduceOp::MIN);
      if (ok.item<float>() > 0) {
        trainer.restore(state->tensors);
        first_step = state->step;
        if (rank == 0) std::cerr << "trainsim-exec: resumed from " << step_dir(o.checkpoint_dir, step) << "\n";
        break;
      }
      if (!state) std::cerr << "trainsim-exec: rank " << rank << ": " << problem << "; trying an older checkpoint\n";
    }
  }

  if (first_step >= o.steps) {
    if (rank == 0) {
      std::cerr << "trainsim-exec: the checkpoint at step " << first_step << " has run --steps " << o.steps
                << ": nothing left to run or measure (raise --steps to go on)\n";
    }
    return 0;
  }
#ifdef TRAINSIM_EXEC_CUDA
  if (cuda) cuda_reset_peak(config.device.index());
#endif
  std::vector<double> losses, step_times, compute, waits, syncs, updates;
  std::vector<TraceEvent> trace;
  for (int64_t step = first_step; step < o.steps && !g_stop; ++step) {
    inject_fault(rank, step);
    const bool traced = !o.trace.empty() && step == o.steps - 1;
    const StepTimes t = trainer.step(step, traced ? &trace : nullptr);
    losses.push_back(t.loss);
    step_times.push_back(t.step);
    compute.push_back(t.compute);
    waits.push_back(t.pipeline_wait);
    syncs.push_back(t.grad_sync);
    updates.push_back(t.optimizer);
    report_progress(rank, long(step));
    if (!o.checkpoint_dir.empty() && o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0) {
      write_rank_file(o.checkpoint_dir, step + 1, rank, {step + 1, trainer.checkpoint_tensors()});
      mesh.world().barrier();
      if (rank == 0) mark_complete(o.checkpoint_dir, step + 1);
    }
  }
  if (g_stop) {
    if (rank == 0) std::cerr << "trainsim-exec: stopped by a signal; no measurement written\n";
    return 130;
  }
  if (!o.dump_params.empty()) {
    std::filesystem::create_directories(o.dump_params);
    trainer.dump_params(o.dump_params);
    if (rank == 0)
      write_file_atomically(o.dump_params + "/losses.json", nlohmann::json{{"losses", losses}}.dump() + "\n");
  }

  // Peak memory: the largest over ranks.
  double peak = 0;
#ifdef TRAINSIM_EXEC_CUDA
  if (cuda) peak = double(cuda_peak_bytes(config.device.index()));
#endif
  if (!cuda) {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    peak = double(usage.ru_maxrss) * 1024;
  }
  auto peak_t = torch::tensor({peak}, torch::kDouble).to(config.device);
  mesh.world().all_reduce(peak_t, c10d::ReduceOp::MAX);

  if (!o.trace.empty()) {
    nlohmann::json mine = nlohmann::json::array();
    for (const auto& e : trace) {
      mine.push_back({{"name", e.name},
                      {"cat", e.stream},
                      {"ph", "X"},
                      {"ts", e.start_us},
                      {"dur", e.duration_us},
                      {"pid", rank},
                      {"tid", e.stream == "compute" ? 0 : 1}});
    }
    mesh.store_set("trace/" + std::to_string(rank), mine.dump());
    if (rank == 0) {
      nlohmann::json events = nlohmann::json::array();
      for (int r = 0; r < world; ++r) {
        const auto theirs = r == 0 ? mine : nlohmann::json::parse(mesh.store_get("trace/" + std::to_string(r)));
        const int t = r % plan.tp, s = (r / plan.tp) % plan.pp, d = r / (plan.tp * plan.pp);
        events.push_back({{"name", "process_name"},
                          {"ph", "M"},
                          {"pid", r},
                          {"args",
                           {{"name", "rank " + std::to_string(r) + " (dp " + std::to_string(d) + ", pp " +
                                         std::to_string(s) + ", tp " + std::to_string(t) + ")"}}}});
        for (const auto& e : theirs) events.push_back(e);
      }
      write_file_atomically(o.trace, nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ms"}}.dump() + "\n");
    }
    mesh.world().barrier();  // rank 0 has read every rank's events before the
                             // store goes away
  }

  if (rank != 0) return 0;
  const int skip = std::max(0, std::min<int>(o.warmup, int(step_times.size()) - 1));
  auto median = [&](std::vector<double> v) {
    v.erase(v.begin(), v.begin() + skip);
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  const double step_time = median(step_times);
  const ModelSpec spec = model_spec(shape);
  const double tokens = double(plan.global_batch) * shape.seq_len;
  const double tflops = model_flops_per_token(spec) * tokens / world / step_time / 1e12;
  const Precision precision = config.bf16 ? Precision::bf16 : Precision::fp32;
  const double peak_rate = sc.cluster.topology.gpu.peak(precision);
  nlohmann::json run = {
      {"scenario", sc.name},
      {"gpus", world},
      {"device", cuda ? "cuda (NCCL)" : "cpu (Gloo)"},
      {"step_time_s", step_time},
      {"tokens_per_s", tokens / step_time},
      {"model_tflops_per_gpu", tflops},
      {"hardware_tflops_per_gpu",
       tflops * (1 + double(plan.recomputed_layers(0, shape.layers)) / std::max(1, shape.layers) / 3)},
      {"mfu", peak_rate > 0 ? tflops * 1e12 / peak_rate : 0.0},
      {"breakdown_s",
       {{"compute", median(compute)},
        {"exposed_comm", median(syncs)},
        {"bubble", median(waits)},
        {"optimizer", median(updates)}}},
      {"memory_per_gpu_bytes", {{"peak", static_cast<std::int64_t>(peak_t.item<double>())}}},
      {"losses", losses},
      {"first_step", first_step},
      {"data", data->describe()},
      {"model",
       {{"arch", arch_name(shape.arch)},
        {"layers", shape.layers},
        {"hidden", shape.hidden},
        {"heads", shape.heads},
        {"kv_heads", shape.kv_heads},
        {"ffn_hidden", shape.ffn},
        {"seq_len", shape.seq_len},
        {"vocab", shape.vocab},
        {"parameters", total_parameters(spec)}}},
      {"plan",
       {{"dp", plan.dp},
        {"tp", plan.tp},
        {"pp", plan.pp},
        {"micro_batch", plan.micro_batch},
        {"global_batch", plan.global_batch},
        {"schedule", schedule_name(plan.schedule)},
        {"virtual_stages", plan.virtual_stages},
        {"sequence_parallel", plan.sequence_parallel},
        {"zero", plan.zero},
        {"recompute", recompute_name(plan.recompute)},
        {"recompute_fraction", plan.recompute_fraction},
        {"precision", config.bf16 ? (config.autocast ? "bf16 (autocast)" : "bf16 (fp32 master weights)") : "fp32"}}},
      {"steps", o.steps},
      {"step_times_s", step_times},  // every step, warm-up included: validate shows the spread
      {"warmup", skip},
      {"notes",
       "compute includes tensor-parallel collectives; exposed_comm is "
       "the gradient synchronisation after the last "
       "backward; bubble is time waiting on pipeline receives"}};
  if (o.out.empty())
    std::cout << run.dump(2) << "\n";
  else
    write_file_atomically(o.out, run.dump(2) + "\n");
  // What was written, and the run in one line (on stderr: stdout may be the JSON itself).
  std::string wrote = o.out.empty() ? "the measurement to standard output" : o.out;
  if (!o.trace.empty()) wrote += ", " + o.trace;
  if (!o.dump_params.empty()) wrote += ", " + o.dump_params;
  std::cerr << "trainsim-exec: wrote " << wrote << "\n";
  char loss[96] = "";
  if (!losses.empty()) std::snprintf(loss, sizeof loss, ", loss %.3f -> %.3f", losses.front(), losses.back());
  std::cerr << "trainsim-exec: " << sc.name << ": " << step_times.size() << " steps on " << world
            << (world == 1 ? " rank (" : " ranks (") << (cuda ? "cuda" : "cpu") << "), step time "
            << units::format_duration(step_time) << " (median after " << skip << " warm-up), "
            << units::format_thousands(tokens / step_time) << " tokens/s" << loss << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "trainsim-exec: run a scenario's plan for real (LibTorch; Gloo "
      "on CPU, NCCL on GPU) and measure it"};
  app.require_subcommand(0, 1);
  RunOptions o;
  app.add_option("scenario", o.scenario, "Scenario YAML (the file trainsim predict reads)");
  app.add_option("--nproc", o.nproc, "Start this many local ranks (default: the plan's tp x pp x dp x cp)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--steps", o.steps, "Optimizer steps")->check(CLI::Range(1, 1000000));
  app.add_option("--warmup", o.warmup, "Steps left out of the timings")->check(CLI::Range(0, 1000000));
  app.add_option("--timeout", o.timeout_s, "Seconds a collective may wait for a peer")->check(CLI::Range(1, 86400));
  for (auto [flag, field] : {std::pair{"--layers", &o.layers},
                             {"--hidden", &o.hidden},
                             {"--heads", &o.heads},
                             {"--kv-heads", &o.kv_heads},
                             {"--ffn", &o.ffn},
                             {"--seq-len", &o.seq_len},
                             {"--vocab", &o.vocab},
                             {"--micro-batch", &o.micro_batch}}) {
    app.add_option(flag, *field, "Override the scenario's value (scale the model down)")->check(CLI::Range(1, 1 << 24));
  }
  app.add_option("--global-batch", o.global_batch, "Override the plan's global batch")->check(CLI::Range(1, 10000000));
  app.add_option("--data", o.data, "synthetic | text:FILE | tokens:FILE | conll:FILE");
  app.add_option("--lr", o.lr, "AdamW learning rate")->check(CLI::Range(0.0, 10.0));
  app.add_option("--adam-eps", o.adam_eps, "AdamW epsilon")->check(CLI::Range(0.0, 1.0));
  app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--out", o.out, "Write the measurement (the keys of trainsim predict --json)");
  app.add_option("--trace", o.trace, "Write the last step as a Chrome trace");
  app.add_option("--checkpoint-dir", o.checkpoint_dir, "Where checkpoints go");
  app.add_option("--checkpoint-every", o.checkpoint_every, "Steps between checkpoints")->check(CLI::Range(0, 1000000));
  app.add_option("--precision", o.precision, "fp32 or bf16 (default: the scenario's on a GPU, fp32 on CPUs)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_flag("--autocast", o.autocast,
               "bf16 through autocast on fp32 weights (eager PyTorch's way) instead of bf16 weights with fp32 "
               "master weights (Megatron-LM's)");
  app.add_flag("--resume", o.resume, "Continue from the newest intact checkpoint in --checkpoint-dir");
  app.add_option("--dump-params", o.dump_params, "Write the final parameters here (for compare-params)");

  auto* calibrate_cmd = app.add_subcommand("calibrate", "Measure this device and write a calibration profile");
  CalibrateOptions cal;
  calibrate_cmd->add_option("scenario", cal.scenario, "Scenario whose GPU preset gives the datasheet peaks")
      ->required();
  calibrate_cmd->add_option("--out", cal.out, "Profile JSON to write")->required();
  calibrate_cmd->add_option("--device", cal.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  calibrate_cmd->add_option("--nproc", o.nproc, "Also measure all-reduce bandwidth between this many ranks");
  calibrate_cmd->add_option("--repeats", cal.repeats, "Times each measurement is taken (its spread is reported)")
      ->check(CLI::Range(1, 100));
  calibrate_cmd->add_flag("--force", cal.force,
                          "Write the profile even if an efficiency is above 1 or a spread above --max-spread");
  calibrate_cmd->add_option("--max-spread", cal.max_spread, "Largest spread between repeats accepted (0.10: 10%)")
      ->check(CLI::Range(0.0, 10.0));

  auto* compare_cmd = app.add_subcommand("compare-params", "Compare the parameters two runs wrote with --dump-params");
  std::string dir_a, dir_b;
  double rtol = 1e-5;
  compare_cmd->add_option("a", dir_a)->required();
  compare_cmd->add_option("b", dir_b)->required();
  compare_cmd->add_option("--rtol", rtol, "Largest relative difference per tensor");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);  // a full disk (or file size limit) is an error
                                  // to report, not a kill
  try {
    if (*compare_cmd) return compare_params(dir_a, dir_b, rtol);
    if (*calibrate_cmd) {
      if (o.nproc > 0 && !std::getenv("TRAINSIM_EXEC_CHILD")) return launch_local_ranks(o.nproc, o.timeout_s, argv);
      return calibrate(cal);
    }
    if (o.scenario.empty()) {
      std::cerr << "trainsim-exec: a scenario file is needed (see --help)\n";
      return 2;
    }
    if (o.steps <= o.warmup) {
      std::cerr << "trainsim-exec: --steps must exceed --warmup\n";
      return 2;
    }
    const Scenario sc = load_scenario(o.scenario);  // bad input is reported once, before any rank starts
    if (const auto why = unsupported_model(sc.model); !why.empty()) {
      std::cerr << "trainsim-exec: " << o.scenario << ": " << why << "\n";
      return 2;
    }
    if (!sc.data.full_rows() && !std::getenv("TRAINSIM_EXEC_CHILD")) {
      std::cerr << "trainsim-exec: note: the scenario's data section (" << sc.data.lengths
                << ") is not emulated: every row has seq_len tokens (trainsim validate predicts such rows)\n";
    }
    // Without --nproc, the plan's ranks (tp x pp x dp x cp) are started.
    // Not when a launcher (torchrun, mpirun, SLURM) started this process as one of the ranks.
    const bool launched = std::getenv("WORLD_SIZE") || std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") ||
                          std::getenv("SLURM_NTASKS");
    const std::int64_t plan_ranks = std::int64_t(sc.plan.tp) * sc.plan.pp * sc.plan.dp * sc.plan.cp;
    const bool nproc_given = o.nproc > 0;
    if (o.nproc == 0 && !launched && !std::getenv("TRAINSIM_EXEC_CHILD")) {
      const std::int64_t ranks = plan_ranks;
      if (ranks > 1024) {
        throw InputError({o.scenario, 0, 0}, "plan",
                         "the plan has " + std::to_string(ranks) +
                             " ranks, more than trainsim-exec starts on one machine (1024): give --nproc, or scale "
                             "the plan down in a copy of the scenario");
      }
      if (ranks > 1) o.nproc = static_cast<int>(ranks);
    }
    if (!std::getenv("TRAINSIM_EXEC_CHILD")) {
      // Refused here, once, not by each of the ranks after they start.
      const int world = o.nproc > 0 ? o.nproc : launched ? env_int("WORLD_SIZE", 1) : 1;
      if (const auto why = preflight(o, sc, world, env_int("RANK", 0) == 0); !why.empty()) {
        std::cerr << "trainsim-exec: " << o.scenario << ": " << why << "\n";
        return 2;
      }
      if (!nproc_given && o.nproc > 1) {
        std::cerr << "trainsim-exec: starting the plan's " << plan_ranks << " ranks (tp " << sc.plan.tp << " x pp "
                  << sc.plan.pp << " x dp " << sc.plan.dp << " x cp " << sc.plan.cp << "; --nproc to change)\n";
      }
    }
    if (o.nproc > 0 && !std::getenv("TRAINSIM_EXEC_CHILD")) return launch_local_ranks(o.nproc, o.timeout_s, argv);
    if (std::getenv("TRAINSIM_EXEC_CHILD")) {
      std::signal(SIGTERM, [](int) { g_stop = true; });
      std::signal(SIGINT, [](int) { g_stop = true; });
    }
    return train(o, sc);
  } catch (const InputError& e) {
    std::cerr << "trainsim-exec: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {  // LibTorch's errors carry a backtrace; the
                                   // message is enough
    std::cerr << "trainsim-exec: rank " << env_int("RANK", 0) << ": " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "trainsim-exec: rank " << env_int("RANK", 0) << ": " << e.what() << "\n";
    return 1;
  }
}
