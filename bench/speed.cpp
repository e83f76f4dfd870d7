// bench/speed: wall time and memory of simulating one step, for the two targets and for
// growing clusters and micro-batch counts. Usage: bench_speed [--quick]
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include "engine/simulation.hpp"
#include "scenario/scenario.hpp"

using namespace trainsim;

namespace {

void run(const std::string& label, const Scenario& sc) {
  const StepResult r = simulate_step(sc);
  std::printf("%-46s %6d GPUs  %5lld micro-batches  step %8.3f s  simulated in %7.2f s\n", label.c_str(),
              sc.cluster.gpus, static_cast<long long>(sc.plan.micro_batches()), r.step_time, r.wall_seconds);
  std::fflush(stdout);
}

Scenario scaled(const std::string& base, int dp, std::int64_t global_batch) {
  Scenario sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/" + base);
  sc.plan.dp = dp;
  sc.plan.global_batch = global_batch;
  sc.cluster.gpus = sc.plan.gpus();
  return sc;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  run("GPT-3 175B, 1024 A100 (default scenario)", load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/default.yaml"));
  Scenario one_f_one_b = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/default.yaml");
  one_f_one_b.plan.schedule = Schedule::one_f_one_b;
  one_f_one_b.plan.virtual_stages = 1;
  run("GPT-3 175B, 1024 A100, 1F1B (issue target)", one_f_one_b);
  if (!quick) {
    run("Llama-3 405B, 16128 H100, interleaved", load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/llama3-405b-16k-h100.yaml"));
  }
  std::printf("\ngrowth with GPUs (Llama-3 405B plan, 14 micro-batches per replica):\n");
  for (const int dp : {2, 9, 36, 144}) {
    if (quick && dp > 36) break;
    run("  dp " + std::to_string(dp), scaled("llama3-405b-16k-h100.yaml", dp, 14LL * dp));
  }
  std::printf("\ngrowth with micro-batches (GPT-3 175B, 1024 A100):\n");
  for (const int per_replica : {48, 96, 192, 384}) {
    run("  " + std::to_string(per_replica) + " micro-batches", scaled("default.yaml", 8, 8LL * per_replica));
  }
  struct rusage usage {};
  getrusage(RUSAGE_CHILDREN, &usage);
  std::printf("\npeak resident memory of the largest simulation: %.0f MB\n", usage.ru_maxrss / 1024.0);
  return 0;
}
