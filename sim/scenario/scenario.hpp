#pragma once
// A scenario = model + cluster + plan (+ the data's sequence lengths, the training goal): the one input every tool
// reads. load_scenario() parses and validates it; every problem is an InputError naming file, line, key.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scenario/data.hpp"
#include "scenario/errors.hpp"
#include "scenario/hardware.hpp"
#include "scenario/model.hpp"
#include "scenario/plan.hpp"

namespace YAML {
class Node;
}

namespace trainsim {

// cluster.gpu_clock_spread where a scenario gives none (ClusterSpec::clock_spread says why 1%).
inline constexpr double kDefaultClockSpread = 0.01;

struct ClusterSpec {
  TopologySpec topology;
  int gpus = 0;                 // GPUs the job uses
  std::vector<int> slow_nodes;  // stragglers: these nodes compute slow_factor times slower
  double slow_factor = 1;
  // How the sustained clocks of the cluster's GPUs spread (coefficient of variation); the job runs
  // at its slowest GPU's (GpuSpec::slowest_clock). 1% by default: Sinha et al., "Not All GPUs Are
  // Created Equal" (arXiv 2208.11035 v3), measured 8% on average (22% at most) between GPUs of
  // one SKU over 90% of the GPUs of five clusters of hundreds to 27,000 GPUs; a normal spread of
  // sigma has its extremes 6-8 sigma apart at those sizes, so sigma is 1-1.3%, and the lower end
  // is taken (docs/compute-model.md).
  double clock_spread = kDefaultClockSpread;
  // Bytes per GPU the tensors cannot use (CUDA context, NCCL, fragmentation); unset: the
  // default of workload/memory.hpp.
  std::optional<double> memory_reserve;
};

// Dense peak FLOP/s averaged over the job's GPUs (the MFU denominator on mixed clusters).
double mean_peak(const ClusterSpec& cluster, Precision precision);

struct TrainingSpec {
  std::optional<double> tokens;                 // tokens to train on
  std::optional<double> mtbf_per_node_s;        // failures: mean time between failures of one node
  std::optional<double> gpu_failures_per_day;   // or a failure rate per GPU-day
  double restart_s = 600;                       // detect, reschedule and reload after a failure
  std::optional<double> checkpoint_interval_s;  // default: Daly's optimum
};

struct Finding {
  enum class Severity { error, warning } severity;
  std::string key;  // "plan.tp"
  std::string message;
};

struct Scenario {
  std::string name;
  std::string file;
  ModelSpec model;
  ClusterSpec cluster;
  PlanSpec plan;
  DataSpec data;
  TrainingSpec training;
  std::map<std::string, SourceLocation> locations;  // "plan.tp" -> where it was written
  std::vector<Finding> warnings;
};

// `gpu` as the job prices its kernels: at the sustained clock of the slowest of the plan's GPUs
// (GpuSpec::slowest_clock, from cluster.clock_spread).
GpuSpec as_run_by_job(const Scenario& sc, GpuSpec gpu);

// Reads a scenario file. Throws InputError on malformed input or an impossible plan.
Scenario load_scenario(const std::string& path);
// The same from an already parsed document (a file with `--set` overrides applied,
// scenario/overrides.hpp); relative paths in it are relative to `file`'s folder.
Scenario load_scenario_document(const YAML::Node& document, const std::string& file);
Scenario load_scenario_text(const std::string& text, const std::string& name, const std::string& base_dir = ".");

// Parses without checking the plan against model and cluster (the plan search fills it in).
Scenario load_scenario_unchecked(const YAML::Node& document, const std::string& file);
// A plan's placement, a list of the four axes (tp, cp, pp, dp), innermost first. Throws InputError.
std::vector<Axis> read_placement(const YAML::Node& node, const std::string& file);

// A job larger than one NVLink domain gets topology.segment GPUs of each domain it spans: the
// nodes become that size (TopologySpec::segment). Scenario files are placed when read; call it
// on a ClusterSpec built in code once `gpus` is set.
void place_in_segments(ClusterSpec& cluster);

// What is wrong with a model's attention shape (hidden by heads, heads by kv_heads), as the key
// at fault and the problem; none when it is sound. A scenario's model is held to it when read;
// a measurement's model (report/measurement.cpp) too.
std::optional<std::pair<std::string, std::string>> model_shape_problem(const ModelSpec& model);

// Checks the plan against model and cluster; errors first. The GUI and the search use this
// directly; load_scenario throws on the first error.
std::vector<Finding> check_plan(const ModelSpec& model, const ClusterSpec& cluster, const PlanSpec& plan);

// Topologies, models and GPUs by preset name or file path.
TopologySpec load_topology(const std::string& name_or_path);
// A global batch whose sequences make more tokens a step than any published run (256Mi): the
// likely mistake of giving it in tokens, as a warning's message; nullopt when plausible.
std::optional<std::string> global_batch_in_tokens(const ModelSpec& model, std::int64_t global_batch);

std::vector<std::string> topology_preset_names();
std::vector<std::string> model_preset_names();
std::vector<std::string> gpu_preset_names();
ModelSpec model_preset(const std::string& name);
// A preset's text as written in its file, comments (its sources) included: a GPU, model or
// dataset preset's entry, or a topology's whole file. kind is "gpu", "model", "dataset" or
// "topology"; empty when no preset has the name.
struct PresetText {
  std::string kind;
  std::string file;  // "sim/presets/gpus.yaml", "topologies/NAME.yaml"
  std::string text;
};
PresetText preset_text(const std::string& name);
GpuSpec gpu_preset(const std::string& name);
// A Hugging Face config.json (GPT-2, Llama, Mistral, Mixtral, Qwen2, Qwen3, Qwen3-MoE, DeepSeek-V3,
// BERT).
ModelSpec load_hf_config(const std::string& path);
ModelSpec parse_hf_config(const std::string& text, const std::string& name);
TopologySpec parse_topology_text(const std::string& text, const std::string& name);

}  // namespace trainsim
