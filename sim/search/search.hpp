#pragma once
// Plan search: every valid plan of a scenario whose plan fields are `auto` or lists, ranked by
// the closed-form estimate, the best confirmed by full simulation.
#include <atomic>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/simulation.hpp"
#include "report/prediction.hpp"
#include "search/estimate.hpp"

namespace YAML {
class Node;
}

namespace trainsim {

struct PlanSpace {
  Scenario base;
  // Candidate values per plan key, as written or expanded from `auto`:
  // tp, pp, cp, ep, micro_batch, virtual_stages, zero, recompute, sequence_parallel.
  std::map<std::string, std::vector<std::string>> choices;
};

// Reads a scenario whose plan keys may be `auto` or lists. Every value of a list goes through the
// checks predict makes on a single value (an InputError naming file, line and key).
PlanSpace load_plan_space(const std::string& path);
// The same from a parsed document (with `--set` overrides applied); paths relative to `path`.
PlanSpace load_plan_space(YAML::Node document, const std::string& path);

// The plan keys a scenario searches (lists or `auto`; `dp: auto` is a single plan), in file order.
std::vector<std::string> searched_fields(const YAML::Node& document);

struct PlanCandidate {
  PlanSpec plan;
  Estimate estimate;
  std::optional<StepResult> simulated;
  double mfu = 0;  // from the simulated step when there is one, else the estimate
  double step_time() const { return simulated ? simulated->step_time : estimate.step_time; }
};

// A plan the search does not rank, and why ("plan.tp: ...", "needs 90 GiB per GPU, 74 GiB
// usable", "the same work as ...").
struct RejectedPlan {
  PlanSpec plan;
  std::string reason;
};

struct SearchOptions {
  int top_k = 20;
  bool keep_rejected = false;  // fill SearchResult::rejected (search --json --all)
  int threads = 0;             // 0: all cores
  std::function<void(const char* phase, std::size_t done, std::size_t total)> progress;
  const std::atomic<bool>* cancel = nullptr;
  // Split the plan space over `parts` processes (MPI ranks); this one takes every part-th plan.
  int part = 0, parts = 1;
};

struct SearchResult {
  std::vector<PlanCandidate> plans;  // valid and fitting, best first (simulated ones by simulation)
  std::size_t enumerated = 0, invalid = 0, not_fitting = 0;
  bool cancelled = false;
  std::vector<RejectedPlan> rejected;  // with keep_rejected: every plan not ranked, with the reason
};

// The space's valid plans, each kind of work once. With `rejected`, the others and why.
std::vector<PlanSpec> enumerate_plans(const PlanSpace& space, std::size_t* invalid = nullptr,
                                      std::vector<RejectedPlan>* rejected = nullptr);
// Combinations the space's lists make (before validity), saturating at SIZE_MAX.
std::size_t plan_space_size(const PlanSpace& space);
// What holding one enumerated plan and its evaluation costs, for --max-memory (measured: the
// PlanSpec and PlanCandidate structs plus their vectors and JSON row, rounded up).
constexpr std::size_t kBytesPerPlan = 2048;
SearchResult search_plans(const PlanSpace& space, const SearchOptions& options);
double model_mfu(const Scenario& scenario, double step_time);

// Plans near the scenario's that fit in memory: heavier recomputation, smaller micro-batches,
// a higher ZeRO stage, more pipeline stages (dp follows), by fewest changes, then by estimated
// step time. Estimates only; nothing is simulated.
std::vector<PlanSuggestion> suggest_fitting_plans(const Scenario& scenario, std::size_t count = 3);
// The smallest job size, doubling the space's GPUs up to the topology's, at which some plan of
// the space fits in memory; nullopt when none does.
std::optional<int> smallest_fitting_gpus(const PlanSpace& space);
// The space suggest_fitting_plans() explores around a scenario's plan.
PlanSpace nearby_plans(const Scenario& scenario);

// Spearman rank correlation of two equally long samples.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace trainsim

namespace trainsim {
// Lossless JSON form of a candidate, for gathering results from several processes.
nlohmann::json candidate_to_json(const PlanCandidate& candidate);
PlanCandidate candidate_from_json(const nlohmann::json& j, const PlanSpec& base);
// Merges the shares of several processes into what one process would have found.
SearchResult merge_search_results(const std::vector<SearchResult>& shares, int top_k);
}  // namespace trainsim
