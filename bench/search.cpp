// bench/search: how fast the plan search is, and how well its closed-form estimate ranks plans
// the way the full simulation does (Spearman rank correlation over the top 50).
// Usage: bench_search [--breakdown] [scenario ...]   (default: the two search scenarios in scenarios/)
// --breakdown: top 50 only, each simulated plan's estimate and simulation side by side.
#include "search/search.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace trainsim;

namespace {

// Where the estimate and the simulation part ways, plan by plan: the estimate's parts next to
// the simulated critical stage's.
void print_breakdown(const SearchResult& r) {
  std::printf("  tp pp   dp mb  v z rec sp |  est total comp  comm bubble |  sim total comp  comm bubble | error\n");
  for (const auto& c : r.plans) {
    if (!c.simulated) continue;
    const auto& p = c.plan;
    const auto& e = c.estimate;
    const auto& b = c.simulated->breakdown;
    std::printf("  %2d %2d %4d %2d %2d %d %-3.3s %2s | %9.3f %5.2f %5.2f %6.2f | %9.3f %5.2f %5.2f %6.2f | %+5.1f%%\n",
                p.tp, p.pp, p.dp, p.micro_batch, p.virtual_stages, p.zero, recompute_name(p.recompute),
                p.sequence_parallel ? "sp" : "", e.step_time, e.compute, e.communication, e.bubble,
                c.simulated->step_time, b.compute, b.exposed_total(), b.bubble,
                100 * (e.step_time / c.simulated->step_time - 1));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  bool breakdown = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: bench_search [--breakdown] [SEARCH_SCENARIO.yaml ...]\n"
          "  times the plan search (default: scenarios/search-llama2-7b.yaml, search-gpt3-175b.yaml)\n");
      return 0;
    }
    if (arg == "--breakdown") {
      breakdown = true;
    } else if (arg.rfind("--", 0) == 0) {
      std::fprintf(stderr, "bench_search: unknown option %s (try --help)\n", arg.c_str());
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    files = {std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/search-llama2-7b.yaml",
             std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/search-gpt3-175b.yaml"};
  }
  for (const auto& file : files) {
    PlanSpace space;
    try {
      space = load_plan_space(file);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_search: %s\n", e.what());
      return 2;
    }
    for (const int top : breakdown ? std::vector<int>{50} : std::vector<int>{0, 20, 50}) {
      SearchOptions options;
      options.top_k = top;
      const auto start = std::chrono::steady_clock::now();
      const SearchResult r = search_plans(space, options);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::vector<double> estimated, simulated;
      for (const auto& c : r.plans) {
        if (!c.simulated) continue;
        estimated.push_back(c.estimate.step_time);
        simulated.push_back(c.simulated->step_time);
      }
      std::printf("%-32s top %2d: %6zu plans (%zu valid, %zu fit) in %7.2f s", space.base.name.c_str(), top,
                  r.enumerated, r.enumerated - r.invalid, r.plans.size(), seconds);
      if (simulated.size() > 2) {
        std::printf("; Spearman(estimate, simulation) over %zu = %.3f; best %.3f s", simulated.size(),
                    spearman(estimated, simulated), simulated.front());
      }
      std::printf("\n");
      if (breakdown) print_breakdown(r);
      std::fflush(stdout);
    }
  }
  return 0;
}
