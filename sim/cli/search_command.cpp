// `trainsim search`: the plan search on the terminal.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.hpp"
#include "cli/time_limit.hpp"
#include "report/prediction.hpp"
#include "scenario/overrides.hpp"
#include "scenario/units.hpp"
#include "scenario/yaml_reader.hpp"
#include "search/search.hpp"

#ifdef TRAINSIM_HAVE_MPI
#include <mpi.h>
#endif

namespace trainsim::cli {
namespace {

std::atomic<bool> interrupted{false};
void on_interrupt(int) { interrupted = true; }

// ZeRO's stage, and with hybrid sharding the data-parallel ranks of a shard group: "3/8".
std::string zero_label(const PlanSpec& p) {
  std::string label = std::to_string(p.zero);
  if (p.zero > 0 && p.shard_replicas() > 1) label += "/" + std::to_string(p.shard_dp());
  return label;
}

std::string plan_label(const PlanSpec& p) {
  char text[160];
  std::snprintf(text, sizeof text, "%3d %3d %4d %2d %2d %3d %2d %4s %-9s %-3s %-11s", p.tp, p.pp, p.dp, p.cp, p.ep,
                p.micro_batch, p.virtual_stages, zero_label(p).c_str(), recompute_label(p).c_str(),
                p.sequence_parallel ? "yes" : "no", placement_name(p.placement).c_str());
  return text;
}

// Pareto front of (step time, peak memory): no other plan is both faster and smaller.
std::vector<bool> pareto_front(const std::vector<PlanCandidate>& plans) {
  std::vector<bool> front(plans.size(), true);
  for (std::size_t i = 0; i < plans.size(); ++i) {
    for (std::size_t j = 0; j < plans.size() && front[i]; ++j) {
      const bool faster = plans[j].step_time() <= plans[i].step_time();
      const bool smaller = plans[j].estimate.memory.peak <= plans[i].estimate.memory.peak;
      const bool strictly =
          plans[j].step_time() < plans[i].step_time() || plans[j].estimate.memory.peak < plans[i].estimate.memory.peak;
      if (i != j && faster && smaller && strictly) front[i] = false;
    }
  }
  return front;
}

nlohmann::json candidate_json(const PlanCandidate& c, bool on_front) {
  nlohmann::json j = plan_json(c.plan);
  j["estimated_step_time_s"] = c.estimate.step_time;
  j["simulated_step_time_s"] = c.simulated ? nlohmann::json(c.simulated->step_time) : nlohmann::json(nullptr);
  j["mfu"] = c.mfu;
  j["peak_memory_bytes"] = c.estimate.memory.peak;
  j["bound_by"] = c.simulated ? c.simulated->bound_by : std::string(c.estimate.bound_by);
  j["host_bound_share"] = c.estimate.host_bound_share;
  j["pareto"] = on_front;
  return j;
}

// Time and cost to train a plan at a step time (nullopt without training.tokens or a price, and
// where the job fails faster than it checkpoints: `never`, as predict's warning says).
struct TrainingFigures {
  std::optional<double> time_s, cost;
  bool never = false;
};
TrainingFigures training_figures(const Scenario& base, const PlanSpec& plan, double step_time) {
  Scenario sc = base;
  sc.plan = plan;
  TrainingFigures f;
  if (const auto t = training_time(sc, step_time)) {
    f.never = !std::isfinite(t->wall_s);
    if (f.never) return f;
    f.time_s = t->wall_s;
    const double price = sc.cluster.topology.price_per_gpu_hour;
    if (price > 0) f.cost = price * sc.cluster.gpus * t->wall_s / 3600;
  }
  return f;
}

// The scenario file with the searched plan keys replaced by the best plan's values: everything
// else (model, data, training, the plan's other keys) stays as written, so that `trainsim predict`
// on it simulates exactly the plan the search simulated. Relative file paths are made absolute,
// as the exported file may live elsewhere.
std::string export_yaml(const std::string& scenario_file, const std::vector<std::string>& overrides,
                        const PlanCandidate& best, const std::string& search_name) {
  YAML::Node doc = load_yaml_with_overrides(scenario_file, overrides);
  make_paths_absolute(doc, scenario_file);
  const PlanSpec& p = best.plan;
  YAML::Node plan = doc["plan"];
  plan["tp"] = p.tp;
  plan["pp"] = p.pp;
  plan["dp"] = p.dp;
  plan["cp"] = p.cp;
  plan["ep"] = p.ep;
  plan["micro_batch"] = p.micro_batch;
  plan["virtual_stages"] = p.virtual_stages;
  plan["schedule"] = schedule_name(p.schedule);
  plan["zero"] = p.zero;
  // Keys the best plan leaves at their defaults go, where the file searched them ("auto", a list):
  // left in, the exported file would still be a search, not a plan predict can run.
  if (p.dp_shard > 0)
    plan["dp_shard"] = p.dp_shard;
  else
    plan.remove("dp_shard");
  plan["recompute"] = recompute_name(p.recompute);
  if (p.recompute_fraction != 1)
    plan["recompute_fraction"] = p.recompute_fraction;
  else
    plan.remove("recompute_fraction");
  plan["sequence_parallel"] = p.sequence_parallel;
  YAML::Node placement(YAML::NodeType::Sequence);
  for (const Axis a : p.placement) placement.push_back(axis_name(a));
  placement.SetStyle(YAML::EmitterStyle::Flow);
  plan["placement"] = placement;
  if (doc["name"]) doc["name"] = doc["name"].as<std::string>() + "-best";
  YAML::Emitter out;
  out << doc;
  char header[256];
  std::snprintf(header, sizeof header, "# The best plan of `trainsim search %s`: %s step %s\n", search_name.c_str(),
                best.simulated ? "simulated" : "estimated", units::format_duration(best.step_time()).c_str());
  return header + std::string(out.c_str()) + "\n";
}

// Under mpirun each rank searches every size-th plan; rank 0 gathers and merges the shares.
struct MpiSession {
  int rank = 0, size = 1;
  MpiSession() {
    const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
#ifdef TRAINSIM_HAVE_MPI
    if (launched) {
      MPI_Init(nullptr, nullptr);
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
#else
    if (launched && std::getenv("OMPI_COMM_WORLD_SIZE") && std::string(std::getenv("OMPI_COMM_WORLD_SIZE")) != "1") {
      throw std::runtime_error("this trainsim was built without MPI (install libopenmpi-dev and rebuild)");
    }
#endif
  }
  ~MpiSession() {
#ifdef TRAINSIM_HAVE_MPI
    if (size > 1 || std::getenv("OMPI_COMM_WORLD_SIZE")) MPI_Finalize();
#endif
  }
  // Rank 0 gets every rank's text; the others get an empty list.
  std::vector<std::string> gather(const std::string& text) const {
#ifdef TRAINSIM_HAVE_MPI
    int length = static_cast<int>(text.size());
    std::vector<int> lengths(size);
    MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::vector<int> offsets(size, 0);
    for (int r = 1; r < size; ++r) offsets[r] = offsets[r - 1] + lengths[r - 1];
    std::string all(rank == 0 ? offsets.back() + lengths.back() : 0, '\0');
    MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::string> texts;
    if (rank == 0) {
      for (int r = 0; r < size; ++r) texts.push_back(all.substr(offsets[r], lengths[r]));
    }
    return texts;
#else
    return {text};
#endif
  }
};

}  // namespace

int search(const SearchCliOptions& options) {
  PlanSpace space = load_plan_space(load_yaml_with_overrides(options.scenario, options.overrides), options.scenario);
  // Objectives other than step time compare job sizes: the cluster's GPUs, halved while the
  // space has a valid plan. The size is chosen on estimates (cheap: no simulation), then
  // searched in full. Cost to train is price x GPUs x time, so at one size it ranks as time does.
  std::string objective_note;
  if (options.objective != "time") {
    const auto& sc = space.base;
    if (!sc.training.tokens)
      throw InputError({options.scenario, 0, 0}, "training.tokens", "--objective " + options.objective + " needs it");
    if (options.objective == "cost" && sc.cluster.topology.price_per_gpu_hour <= 0)
      throw InputError({options.scenario, 0, 0}, "cluster.topology",
                       "--objective cost needs a price (the topology's cost.gpu_hour)");
    if (options.objective == "gpus" && options.deadline_s <= 0)
      throw InputError({options.scenario, 0, 0}, "--deadline", "--objective gpus needs --deadline (e.g. 30d)");
    std::optional<int> chosen;
    double chosen_cost = 0, chosen_time = 0;
    for (int gpus = sc.cluster.gpus; gpus >= 1; gpus /= 2) {
      PlanSpace sized = space;
      sized.base.cluster.gpus = gpus;
      SearchOptions estimate_only;
      estimate_only.top_k = 0;
      estimate_only.threads = options.threads;
      const SearchResult r = search_plans(sized, estimate_only);
      if (!r.plans.empty()) {
        const auto f = training_figures(sized.base, r.plans.front().plan, r.plans.front().step_time());
        const double time = f.time_s.value_or(0);
        const double cost = f.cost.value_or(0);
        const bool in_time = options.deadline_s <= 0 || (!f.never && time <= options.deadline_s);
        // Fewest GPUs: the smallest size in time (sizes go down, so the last one found);
        // cost: the cheapest in time.
        if (in_time && (options.objective == "gpus" || !chosen || cost < chosen_cost)) {
          chosen = gpus;
          chosen_cost = cost;
          chosen_time = time;
        }
      }
      if (gpus % 2 != 0) break;
    }
    if (!chosen) {
      throw InputError({options.scenario, 0, 0}, "--deadline",
                       "no job size up to " + std::to_string(sc.cluster.gpus) + " GPUs trains " +
                           units::format_count(*sc.training.tokens) + " tokens within " +
                           units::format_duration(options.deadline_s) + " (estimated)");
    }
    const int cluster_gpus = sc.cluster.gpus;
    space.base.cluster.gpus = *chosen;  // `sc` is space.base: it now has the chosen size
    objective_note = "objective " + options.objective + ": " + std::to_string(*chosen) + " of " +
                     std::to_string(cluster_gpus) + " GPUs (estimated " + units::format_duration(chosen_time) +
                     " to train" + (chosen_cost > 0 ? ", " + units::format_money(chosen_cost) : std::string()) +
                     (options.deadline_s > 0 ? ", deadline " + units::format_duration(options.deadline_s) : "") + ")";
  }
  if (options.max_memory > 0) {
    const std::size_t combinations = plan_space_size(space);
    const double need = double(combinations) * double(kBytesPerPlan);
    if (need > options.max_memory) {
      throw InputError({options.scenario, 0, 0}, "plan",
                       "the plan space has " + std::to_string(combinations) + " combinations, about " +
                           units::format_bytes(need) + " to evaluate, more than --max-memory " +
                           units::format_bytes(options.max_memory) + " allows: narrow the lists or raise the limit");
    }
  }
  const MpiSession mpi;
  // The job's own warnings (a grown topology, a power cap), and a batch that looks like tokens:
  // every plan of the space shares these. Once, by rank 0.
  if (mpi.rank == 0) {
    std::vector<Finding> shared = space.base.warnings;
    if (const auto tokens = global_batch_in_tokens(space.base.model, space.base.plan.global_batch))
      shared.push_back({Finding::Severity::warning, "plan.global_batch", *tokens});
    print_warnings(shared);
  }
  std::signal(SIGINT, on_interrupt);
  // --time-limit: the same stop as Ctrl-C, from a watcher thread; the best plans so far are kept.
  const TimeLimit time_limit(options.time_limit_s, interrupted);
  SearchOptions search_options;
  search_options.top_k = options.fidelity == "estimate" ? 0 : options.top;
  search_options.threads = options.threads;
  search_options.keep_rejected = options.json && options.all;
  search_options.cancel = &interrupted;
  search_options.part = mpi.rank;
  search_options.parts = mpi.size;
  const bool terminal = isatty(STDERR_FILENO) && mpi.rank == 0;
  const auto started = std::chrono::steady_clock::now();
  if (terminal) {
    search_options.progress = [started](const char* phase, std::size_t done, std::size_t total) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const double eta = done > 0 ? elapsed * (double(total) / done - 1) : 0;
      const int width = 30;
      const int filled = total ? int(width * done / total) : width;
      std::fprintf(stderr, "\r%-10s [%s%s] %zu/%zu  ETA %.0f s   ", phase, std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), done, total, eta);
      std::fflush(stderr);
    };
  } else if (mpi.rank == 0) {
    // Not a terminal (a log, a CI job): a line per phase, then at most one every 2 s, so that a
    // long search shows it is alive without flooding the log.
    search_options.progress = [started, last = std::chrono::steady_clock::time_point{}, last_phase = std::string()](
                                  const char* phase, std::size_t done, std::size_t total) mutable {
      const auto now = std::chrono::steady_clock::now();
      if (phase == last_phase && done != total && now - last < std::chrono::seconds(2)) return;
      last = now;
      last_phase = phase;
      std::fprintf(stderr, "trainsim search: %s %zu/%zu plans (%.1f s)\n", phase, done, total,
                   std::chrono::duration<double>(now - started).count());
    };
  }
  SearchResult result = search_plans(space, search_options);
  if (mpi.size > 1) {
    nlohmann::json share = {{"enumerated", result.enumerated},
                            {"invalid", result.invalid},
                            {"not_fitting", result.not_fitting},
                            {"cancelled", result.cancelled},
                            {"plans", nlohmann::json::array()}};
    for (const auto& c : result.plans) share["plans"].push_back(candidate_to_json(c));
    const auto texts = mpi.gather(share.dump());
    if (mpi.rank != 0) return 0;
    std::vector<SearchResult> shares;
    for (const auto& text : texts) {
      const auto j = nlohmann::json::parse(text);
      SearchResult r;
      r.enumerated = j["enumerated"];
      r.invalid = j["invalid"];
      r.not_fitting = j["not_fitting"];
      r.cancelled = j["cancelled"];
      for (const auto& c : j["plans"]) r.plans.push_back(candidate_from_json(c, space.base.plan));
      shares.push_back(std::move(r));
    }
    result = merge_search_results(shares, options.top);
    for (auto& c : result.plans) {
      if (c.simulated) continue;
      Scenario sc = space.base;
      sc.plan = c.plan;
      c.mfu = model_mfu(sc, c.estimate.step_time);
    }
  }
  if (terminal) std::fprintf(stderr, "\r%80s\r", "");
  std::signal(SIGINT, SIG_DFL);
  const auto front = pareto_front(result.plans);
  // Only plans that fit are ranked (search_plans drops the others); when none does, say so and
  // where one would: the smallest job, doubling the GPUs up to the topology's.
  const bool none_fit = result.plans.empty() && !result.cancelled;
  std::optional<int> fits_from;
  if (none_fit && result.not_fitting > 0) fits_from = smallest_fitting_gpus(space);
  std::string nothing;
  if (none_fit) {
    nothing = result.not_fitting > 0 ? "no plan fits in GPU memory on " + std::to_string(space.base.cluster.gpus) +
                                           " GPUs (" + std::to_string(result.not_fitting) + " valid plans do not fit)"
                                     : "no valid plan on " + std::to_string(space.base.cluster.gpus) + " GPUs";
    if (result.not_fitting == 0) {
      // Why not: the reason most of the space's plans were refused.
      std::vector<RejectedPlan> rejected;
      enumerate_plans(space, nullptr, &rejected);
      std::map<std::string, std::size_t> reasons;
      for (const auto& r : rejected) ++reasons[r.reason];
      const auto most = std::max_element(reasons.begin(), reasons.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
      if (most != reasons.end()) {
        nothing += " (" + std::to_string(most->second) + " of " + std::to_string(rejected.size()) +
                   " plans: " + most->first + ")";
      }
    }
    if (fits_from) {
      nothing += "; the smallest job where one fits: " + std::to_string(*fits_from) + " GPUs (cluster.gpus)";
    } else if (result.not_fitting > 0) {
      nothing += "; none fits on up to " + std::to_string(space.base.cluster.topology.total_gpus()) +
                 " GPUs of this topology either";
    }
    std::cerr << "trainsim: " << nothing << "\n";
  }
  // A time limit is a budget the user set: the best plans so far are the answer (exit 0);
  // Ctrl-C is an interruption (exit 1).
  const bool cut = result.cancelled && time_limit.reached();
  const int code = result.cancelled && !cut ? 1 : none_fit ? kExitDoesNotFit : 0;
  if (cut) {
    std::cerr << "trainsim: search cut by --time-limit " << units::format_duration(options.time_limit_s)
              << ": best plans so far ("
              << std::count_if(result.plans.begin(), result.plans.end(),
                               [](const PlanCandidate& c) { return c.simulated.has_value(); })
              << " simulated)\n";
  }
  if (!objective_note.empty() && !options.json) std::cout << objective_note << "\n";
  if (!options.export_file.empty() && !result.plans.empty()) {
    const std::string partial = options.export_file + ".partial";
    {
      std::ofstream out(partial);
      if (!out) throw InputError({options.export_file, 0, 0}, "--export", "cannot write the file");
      out << export_yaml(options.scenario, options.overrides, result.plans.front(), options.scenario);
    }
    std::rename(partial.c_str(), options.export_file.c_str());
    std::cerr << "trainsim: best plan written to " << options.export_file << " (trainsim predict "
              << options.export_file << ")\n";
  }

  if (!options.csv_file.empty()) {
    const std::string partial = options.csv_file + ".partial";
    {
      std::ofstream out(partial);
      if (!out) throw InputError({options.csv_file, 0, 0}, "--csv", "cannot write the file");
      out << "tp,pp,dp,cp,ep,micro_batch,virtual_stages,zero,dp_shard,recompute,sequence_parallel,placement,"
             "estimated_step_time_s,simulated_step_time_s,mfu,peak_memory_bytes,pareto\n";
      for (std::size_t i = 0; i < result.plans.size(); ++i) {
        const auto& c = result.plans[i];
        const auto& p = c.plan;
        out << p.tp << ',' << p.pp << ',' << p.dp << ',' << p.cp << ',' << p.ep << ',' << p.micro_batch << ','
            << p.virtual_stages << ',' << p.zero << ',' << p.dp_shard << ',' << recompute_label(p) << ','
            << (p.sequence_parallel ? "true" : "false") << ',' << placement_name(p.placement) << ','
            << c.estimate.step_time << ',' << (c.simulated ? std::to_string(c.simulated->step_time) : "") << ','
            << c.mfu << ',' << c.estimate.memory.peak << ',' << (front[i] ? "true" : "false") << "\n";
      }
    }
    std::rename(partial.c_str(), options.csv_file.c_str());
  }
  if (options.json) {
    nlohmann::json plans = nlohmann::json::array();
    for (std::size_t i = 0; i < result.plans.size(); ++i) {
      auto row = candidate_json(result.plans[i], front[i]);
      const auto f = training_figures(space.base, result.plans[i].plan, result.plans[i].step_time());
      row["time_to_train_s"] = f.time_s ? nlohmann::json(*f.time_s) : nlohmann::json(nullptr);
      row["cost_to_train"] = f.cost ? nlohmann::json(*f.cost) : nlohmann::json(nullptr);
      plans.push_back(row);
    }
    nlohmann::json out{{"scenario", space.base.name},
                       {"gpus", space.base.cluster.gpus},
                       {"enumerated", result.enumerated},
                       {"invalid", result.invalid},
                       {"not_fitting", result.not_fitting},
                       {"cancelled", result.cancelled},
                       {"fits_from_gpus", fits_from ? nlohmann::json(*fits_from) : nlohmann::json(nullptr)},
                       {"plans", plans},
                       {"cut_by_time_limit", cut},
                       {"objective", options.objective}};
    if (!objective_note.empty()) out["objective_note"] = objective_note;
    if (options.all) {
      nlohmann::json rejected = nlohmann::json::array();
      for (const auto& r : result.rejected) {
        auto row = plan_json(r.plan);
        row["reason"] = r.reason;
        rejected.push_back(row);
      }
      out["not_ranked"] = rejected;
    }
    std::cout << out.dump(2) << "\n";
    return code;
  }
  std::cout << space.base.name << ": " << result.enumerated << " plans, " << result.invalid << " invalid, "
            << result.not_fitting << " do not fit, " << result.plans.size() << " ranked"
            << (result.cancelled
                    ? (time_limit.reached() ? " (cut by the time limit: best so far)" : " (interrupted: best so far)")
                    : "")
            << "\n\n";
  std::cout
      << "rank  tp  pp   dp cp ep  mb  v zero recompute sp  placement    estimate  simulated    MFU   memory      "
         "bound by          to train        cost"
      << (options.pareto ? "  pareto" : "") << "\n";
  // --top K: K rows (the simulated ones first); --top 0 estimates only and shows ten.
  const std::size_t shown = std::min<std::size_t>(result.plans.size(), options.top > 0 ? options.top : 10);
  bool any_launch_bound = false;
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& c = result.plans[i];
    const auto f = training_figures(space.base, c.plan, c.step_time());
    const std::string cost_text = f.cost ? units::format_money(*f.cost) : "-";
    const char* cost = cost_text.c_str();
    char line[320];
    const bool launch_bound = c.estimate.host_bound_share >= kHostBoundWarning;
    any_launch_bound = any_launch_bound || launch_bound;
    std::snprintf(line, sizeof line, "%4zu %s %9s %9s%s%5.1f%% %10s  %-16s %9s %11s%s\n", i + 1,
                  plan_label(c.plan).c_str(), units::format_duration(c.estimate.step_time).c_str(),
                  c.simulated ? units::format_duration(c.simulated->step_time).c_str() : "-",
                  launch_bound ? "! " : "  ", 100 * c.mfu, units::format_bytes(c.estimate.memory.peak).c_str(),
                  c.simulated ? c.simulated->bound_by.c_str() : c.estimate.bound_by,
                  f.time_s  ? units::format_duration(*f.time_s).c_str()
                  : f.never ? "never"
                            : "-",
                  cost, options.pareto && front[i] ? "  *" : "");
    std::cout << line;
  }
  if (any_launch_bound) {
    std::cout << "\n" << launch_bound_legend() << "\n";
  }
  if (none_fit) std::cout << "\n" << nothing << "\n";
  return code;
}

}  // namespace trainsim::cli
