// `trainsim search`: the plan search on the terminal.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.hpp"
#include "scenario/units.hpp"
#include "search/search.hpp"

#ifdef TRAINSIM_HAVE_MPI
#include <mpi.h>
#endif

namespace trainsim::cli {
namespace {

std::atomic<bool> interrupted{false};
void on_interrupt(int) { interrupted = true; }

std::string plan_label(const PlanSpec& p) {
  char text[160];
  std::snprintf(text, sizeof text, "%3d %3d %4d %2d %2d %3d %2d %4d %-9s %-3s %-11s", p.tp, p.pp, p.dp, p.cp, p.ep,
                p.micro_batch, p.virtual_stages, p.zero, recompute_name(p.recompute),
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
  const auto& p = c.plan;
  return {{"tp", p.tp},
          {"pp", p.pp},
          {"dp", p.dp},
          {"cp", p.cp},
          {"ep", p.ep},
          {"micro_batch", p.micro_batch},
          {"virtual_stages", p.virtual_stages},
          {"schedule", schedule_name(p.schedule)},
          {"zero", p.zero},
          {"recompute", recompute_name(p.recompute)},
          {"sequence_parallel", p.sequence_parallel},
          {"placement", placement_name(p.placement)},
          {"estimated_step_time_s", c.estimate.step_time},
          {"simulated_step_time_s", c.simulated ? nlohmann::json(c.simulated->step_time) : nlohmann::json(nullptr)},
          {"mfu", c.mfu},
          {"peak_memory_bytes", c.estimate.memory.peak},
          {"bound_by", c.simulated ? c.simulated->bound_by : std::string(c.estimate.bound_by)},
          {"pareto", on_front}};
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
  const PlanSpace space = load_plan_space(options.scenario);
  if (options.max_memory > 0) {
    const std::size_t combinations = plan_space_size(space);
    const double need = double(combinations) * double(kBytesPerPlan);
    if (need > options.max_memory) {
      throw InputError({options.scenario, 0, 0}, "plan",
                       "the plan space has " + std::to_string(combinations) + " combinations, about " +
                           std::to_string(std::llround(need / 1048576)) + " MiB to evaluate, more than --max-memory " +
                           std::to_string(std::llround(options.max_memory / 1048576)) +
                           " MiB allows: narrow the lists or raise the limit");
    }
  }
  const MpiSession mpi;
  std::signal(SIGINT, on_interrupt);
  // --time-limit: the same stop as Ctrl-C, from a watcher thread; the best plans so far are kept.
  std::atomic<bool> finished{false};
  std::atomic<bool> timed_out{false};
  std::thread watcher;
  if (options.time_limit_s > 0) {
    watcher = std::thread([&] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.time_limit_s);
      while (!finished && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!finished) {
        timed_out = true;
        interrupted = true;
      }
    });
  }
  struct JoinWatcher {
    std::atomic<bool>& finished;
    std::thread& watcher;
    ~JoinWatcher() {
      finished = true;
      if (watcher.joinable()) watcher.join();
    }
  } join_watcher{finished, watcher};
  SearchOptions search_options;
  search_options.top_k = options.top;
  search_options.threads = options.threads;
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
    if (fits_from) {
      nothing += "; the smallest job where one fits: " + std::to_string(*fits_from) + " GPUs (cluster.gpus)";
    } else if (result.not_fitting > 0) {
      nothing += "; none fits on up to " + std::to_string(space.base.cluster.topology.total_gpus()) +
                 " GPUs of this topology either";
    }
    std::cerr << "trainsim: " << nothing << "\n";
  }
  const int code = result.cancelled ? 1 : none_fit ? kExitDoesNotFit : 0;

  if (!options.csv_file.empty()) {
    const std::string partial = options.csv_file + ".partial";
    {
      std::ofstream out(partial);
      if (!out) throw InputError({options.csv_file, 0, 0}, "--csv", "cannot write the file");
      out << "tp,pp,dp,cp,ep,micro_batch,virtual_stages,zero,recompute,sequence_parallel,placement,"
             "estimated_step_time_s,simulated_step_time_s,mfu,peak_memory_bytes,pareto\n";
      for (std::size_t i = 0; i < result.plans.size(); ++i) {
        const auto& c = result.plans[i];
        const auto& p = c.plan;
        out << p.tp << ',' << p.pp << ',' << p.dp << ',' << p.cp << ',' << p.ep << ',' << p.micro_batch << ','
            << p.virtual_stages << ',' << p.zero << ',' << recompute_name(p.recompute) << ','
            << (p.sequence_parallel ? "true" : "false") << ',' << placement_name(p.placement) << ','
            << c.estimate.step_time << ',' << (c.simulated ? std::to_string(c.simulated->step_time) : "") << ','
            << c.mfu << ',' << c.estimate.memory.peak << ',' << (front[i] ? "true" : "false") << "\n";
      }
    }
    std::rename(partial.c_str(), options.csv_file.c_str());
  }
  if (options.json) {
    nlohmann::json plans = nlohmann::json::array();
    for (std::size_t i = 0; i < result.plans.size(); ++i) plans.push_back(candidate_json(result.plans[i], front[i]));
    std::cout << nlohmann::json{{"scenario", space.base.name},
                                {"gpus", space.base.cluster.gpus},
                                {"enumerated", result.enumerated},
                                {"invalid", result.invalid},
                                {"not_fitting", result.not_fitting},
                                {"cancelled", result.cancelled},
                                {"fits_from_gpus", fits_from ? nlohmann::json(*fits_from) : nlohmann::json(nullptr)},
                                {"plans", plans}}
                     .dump(2)
              << "\n";
    return code;
  }
  std::cout << space.base.name << ": " << result.enumerated << " plans, " << result.invalid << " invalid, "
            << result.not_fitting << " do not fit, " << result.plans.size() << " ranked"
            << (result.cancelled ? (timed_out ? " (time limit reached: best so far)" : " (interrupted: best so far)")
                                 : "")
            << "\n\n";
  std::cout << "rank  tp  pp   dp cp ep  mb  v zero recompute sp  placement    estimate  simulated   MFU   memory      "
               "bound by"
            << (options.pareto ? "  pareto" : "") << "\n";
  const std::size_t shown = std::min<std::size_t>(result.plans.size(), std::max(options.top, 10));
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& c = result.plans[i];
    char line[256];
    std::snprintf(line, sizeof line, "%4zu %s %9s %9s %5.1f%% %10s  %-16s%s\n", i + 1, plan_label(c.plan).c_str(),
                  units::format_duration(c.estimate.step_time).c_str(),
                  c.simulated ? units::format_duration(c.simulated->step_time).c_str() : "-", 100 * c.mfu,
                  units::format_bytes(c.estimate.memory.peak).c_str(),
                  c.simulated ? c.simulated->bound_by.c_str() : c.estimate.bound_by,
                  options.pareto && front[i] ? "  *" : "");
    std::cout << line;
  }
  if (none_fit) std::cout << "\n" << nothing << "\n";
  return code;
}

}  // namespace trainsim::cli
