#pragma once
// The trainsim commands. Each returns the process exit code: 0 done, 1 failed at run time,
// 2 bad input (InputError propagates to main(), which prints it and returns 2), 3 does not fit
// (predict --strict on a plan that does not fit in GPU memory; search or compare when no plan
// fits).
#include <optional>
#include <string>
#include <vector>

#include "scenario/scenario.hpp"

namespace trainsim::cli {

constexpr int kExitDoesNotFit = 3;

struct PredictOptions {
  std::string scenario;
  bool json = false;
  std::string trace_file;
  std::string profile;                 // calibration profile (JSON)
  bool strict = false;                 // exit kExitDoesNotFit when the plan does not fit in memory
  std::vector<std::string> overrides;  // --set KEY=VALUE, applied to the file before it is read
  // full: simulated, the steady state extended (engine/simulation.hpp); exhaustive: every
  // micro-batch and rank simulated; estimate: the search's closed form (report/prediction.hpp).
  std::string fidelity = "full";
  bool kernels = false;  // also print one layer's kernels as priced (report/kernel_table.hpp)
};
int predict(const PredictOptions& options);

struct SearchCliOptions {
  std::string scenario;
  int top = 20;
  int threads = 0;
  bool json = false;
  std::string csv_file;
  bool pareto = false;
  double time_limit_s = 0;             // 0: none; then the best plans found so far
  double max_memory = 0;               // bytes; 0: none; a larger plan space is refused up front
  std::string export_file;             // write the best plan as a runnable scenario
  bool all = false;                    // --json: also the plans not ranked, with the reason
  std::string objective = "time";      // time | cost | gpus
  double deadline_s = 0;               // cost, gpus: time to train at most this; 0: none
  std::vector<std::string> overrides;  // --set KEY=VALUE
  std::string fidelity = "full";       // estimate: no plan simulated (as --top 0)
};
int search(const SearchCliOptions& options);

struct CompareOptions {
  std::vector<std::string> scenarios;
  int top = 5;
  std::string fidelity = "full";  // estimate: every plan and row from the closed form, nothing simulated
  bool json = false;
  double time_limit_s = 0;  // each cluster's search; 0: none
  std::string csv_file;
  std::string svg_file;
  std::vector<std::string> overrides;  // --set KEY=VALUE, applied to every scenario
};
int compare(const CompareOptions& options);

struct ValidateOptions {
  std::string scenario;
  std::string measured;  // run.json of trainsim-exec
  std::string profile;
  bool force = false;
  std::vector<std::string> overrides;  // --set KEY=VALUE
};
// Refuses (InputError, exit 2) a measurement of another model, plan or device unless `force`.
int validate(const ValidateOptions& options);

// The scenario file with the --set overrides applied, read and checked (predict's input).
Scenario load_with_overrides(const std::string& file, const std::vector<std::string>& overrides);
// "trainsim: warning: 'KEY': MESSAGE" on stderr, one line each.
void print_warnings(const std::vector<Finding>& warnings);

struct ExportOptions {
  std::string input;        // --to: the scenario
  std::string to;           // megatron | torchtitan | nemo
  std::string from;         // megatron | torchtitan
  std::string from_source;  // --from's arguments (megatron) or TOML file (torchtitan)
  std::string base;         // --from: the scenario giving the cluster and the rest
  std::string topology, gpu;
  int gpus = 0;
  std::string output;
  std::vector<std::string> overrides;  // --set, on the scenario (--to) or the base (--from)
};
// Exit 0, or InputError (2).
int export_plan(const ExportOptions& options);

// gpus / nodes > 0: the topology's design sized to that many (as cluster.gpus / cluster.nodes
// size it in a scenario); an error for designs that do not grow.
int topology_show(const std::string& name_or_path, bool json, int gpus = 0, int nodes = 0);
int topology_export(const std::string& name_or_path, const std::string& format, const std::string& out_file);
int list_presets(bool json);
// One preset: its figures in people's units and its text with the comments that cite the sources.
int show_preset(const std::string& name, bool json);

}  // namespace trainsim::cli
