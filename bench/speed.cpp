// bench/speed: wall time and memory of simulating one step, for issue 18's targets (Llama 3 405B
// on 16128 H100 with ZeRO 1 and 3, GPT-3 175B on 1024 A100 1F1B and interleaved, 100K GPUs of
// H100 and of GB200, 2.5M micro-batches) and for growing clusters (H100 pipelines, GB200 racks)
// and micro-batch counts. Each row also says how many micro-batches per replica were simulated
// (the rest: the periodic steady state extended).
// Usage: bench_speed [--quick] (--quick leaves out the 16K- and 100K-GPU rows)
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include "engine/simulation.hpp"
#include "scenario/scenario.hpp"

using namespace trainsim;

namespace {

// A case that simulates in under a second runs three times and reports its fastest run: on a
// shared 2-core machine single runs of 0.1-0.3 s vary by up to 50% from one to the next, and the
// fastest is the one least disturbed by other work.
void run(const std::string& label, const Scenario& sc) {
  StepResult r = simulate_step(sc);
  for (int again = 0; again < 2 && r.wall_seconds < 1.0; ++again) {
    const StepResult next = simulate_step(sc);
    if (next.wall_seconds < r.wall_seconds) r = next;
  }
  std::printf("%-46s %6d GPUs  %7lld micro-batches (%3lld simulated)  step %10.3f s  simulated in %7.3f s\n",
              label.c_str(), sc.cluster.gpus, static_cast<long long>(sc.plan.micro_batches()),
              static_cast<long long>(r.simulated_micro_batches), r.step_time, r.wall_seconds);
  std::fflush(stdout);
}

Scenario scaled(const std::string& base, int dp, std::int64_t global_batch) {
  Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/" + base);
  sc.plan.dp = dp;
  sc.plan.global_batch = global_batch;
  sc.cluster.gpus = sc.plan.gpus();
  return sc;
}

// Llama 3.1 70B on GB200 NVL72 racks, tp 2 and `dp` replicas of 4 micro-batches.
Scenario gb200_data_parallel(int dp) {
  std::string text = "model: {preset: llama3.1-70b}\n";
  text += "cluster: {topology: gb200-nvl72-superpod, gpus: " + std::to_string(2 * dp) + "}\n";
  text += "plan: {tp: 2, pp: 1, dp: " + std::to_string(dp) + ", micro_batch: 1, global_batch: ";
  text += std::to_string(4 * dp) + ", zero: 1, recompute: full}\n";
  return load_scenario_text(text, "gb200-dp.yaml");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: bench_speed [--quick]\n  times one simulated step of the issue's cases (--quick: "
          "the GPT-3 175B cases and the micro-batch sweep only)\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_speed: unknown argument %s (try --help)\n", arg.c_str());
      return 2;
    }
  }
  run("GPT-3 175B, 1024 A100 (default scenario)",
      load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/default.yaml"));
  Scenario one_f_one_b = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/default.yaml");
  one_f_one_b.plan.schedule = Schedule::one_f_one_b;
  one_f_one_b.plan.virtual_stages = 1;
  run("GPT-3 175B, 1024 A100, 1F1B (issue target)", one_f_one_b);
  if (!quick) {
    const std::string llama = std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/llama3-405b-16k-h100.yaml";
    run("Llama-3 405B, 16128 H100, interleaved", load_scenario(llama));
    Scenario zero3 = load_scenario(llama);
    zero3.plan.zero = 3;
    run("Llama-3 405B, 16128 H100, interleaved, zero 3", zero3);
    run("Llama-3 405B, 100352 H100, interleaved",
        load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/bench/scenarios/llama3-405b-100k-h100.yaml"));
    run("Llama-3 405B, 100352 GB200 (1568 NVL72 racks)",
        load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/bench/scenarios/llama3-405b-100k-gb200.yaml"));
  }
  // A global batch written in tokens (9999996 "sequences" on 16 GPUs): 2.5M micro-batches.
  run("2.5M micro-batches (global batch in tokens)", load_scenario_text(R"(
model: {preset: llama3-8b, seq_len: 4096}
cluster: {topology: dgx-h100-superpod, gpus: 16}
plan: {tp: 2, pp: 2, dp: 4, micro_batch: 1, global_batch: 9999996, schedule: 1f1b}
)",
                                                                        "tokens.yaml"));
  // GPipe's step from three short runs (engine/simulation.cpp, extrapolate_gpipe).
  run("2.5M micro-batches, GPipe", load_scenario_text(R"(
model: {preset: llama3-8b, seq_len: 4096}
cluster: {topology: dgx-h100-superpod, gpus: 16}
plan: {tp: 2, pp: 2, dp: 4, micro_batch: 1, global_batch: 9999996, schedule: gpipe}
)",
                                                      "tokens-gpipe.yaml"));
  std::printf("\ngrowth with GPUs (Llama-3 405B plan, 14 micro-batches per replica):\n");
  for (const int dp : {2, 9, 36, 144}) {
    if (quick && dp > 36) break;
    run("  dp " + std::to_string(dp), scaled("llama3-405b-16k-h100.yaml", dp, 14LL * dp));
  }
  // Racks of 72 filled 64 at a time (the preset's segments): each rack holds 32 ranks of each
  // data-parallel ring, run as 32 channels.
  std::printf("\ngrowth with GPUs on GB200 NVL72 racks (Llama 3.1 70B, tp 2, pp 1, 64-GPU segments):\n");
  for (const int dp : {64, 128, 256}) run("  dp " + std::to_string(dp), gb200_data_parallel(dp));
  std::printf("\ngrowth with micro-batches (GPT-3 175B, 1024 A100):\n");
  for (const int per_replica : {48, 96, 192, 384}) {
    run("  " + std::to_string(per_replica) + " micro-batches", scaled("default.yaml", 8, 8LL * per_replica));
  }
  for (const int per_replica : {48, 384}) {
    Scenario gpipe = scaled("default.yaml", 8, 8LL * per_replica);
    gpipe.plan.schedule = Schedule::gpipe;
    gpipe.plan.virtual_stages = 1;
    run("  " + std::to_string(per_replica) + " micro-batches, GPipe", gpipe);
  }
  struct rusage usage {};
  getrusage(RUSAGE_CHILDREN, &usage);
  std::printf("\npeak resident memory of the largest simulation: %.0f MB\n", usage.ru_maxrss / 1024.0);
  return 0;
}
