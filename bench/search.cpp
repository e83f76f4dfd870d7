// bench/search: how fast the plan search is, and how well its closed-form estimate ranks plans
// the way the full simulation does (Spearman rank correlation over the top 50).
// Usage: bench_search [scenario ...]   (default: the two search scenarios in scenarios/)
#include <chrono>
#include <cstdio>
#include <string>

#include "search/search.hpp"

using namespace trainsim;

int main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) files.push_back(argv[i]);
  if (files.empty()) {
    files = {std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/search-llama2-7b.yaml",
             std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/search-gpt3-175b.yaml"};
  }
  for (const auto& file : files) {
    const PlanSpace space = load_plan_space(file);
    for (const int top : {0, 20, 50}) {
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
      std::fflush(stdout);
    }
  }
  return 0;
}
