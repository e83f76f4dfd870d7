#pragma once
// A prediction: the simulated step turned into what people ask for (step time, throughput, MFU,
// memory, time to train) and its three renderings: a table, the JSON contract of
// `trainsim predict --json`, and a Chrome/Perfetto trace.
#include <nlohmann/json.hpp>
#include <string>

#include "engine/simulation.hpp"
#include "report/public_error.hpp"
#include "report/time_to_train.hpp"
#include "workload/memory.hpp"

namespace trainsim {

// A plan near the predicted one that fits in memory (search/search.hpp suggest_fitting_plans).
struct PlanSuggestion {
  PlanSpec plan;
  std::string changes;          // "recompute full, zero 3"
  double peak_bytes = 0;        // the tensors at the peak, per GPU
  double usable_bytes = 0;      // the GPU's memory less the reserve
  double estimated_step_s = 0;  // the closed-form estimate (not simulated)
};

// Bytes one GPU sends per step in its data-parallel group's collectives ((n-1)/n of a ring
// collective's size each): a gradient all-reduce, the distributed optimizer's reduce-scatter and
// weight all-gather, or FSDP's gathers and reduce-scatters per micro-batch (once a step for a
// stage it keeps), hybrid sharding's all-reduce across replicas added.
double data_parallel_bytes_per_gpu(const ModelSpec& model, const PlanSpec& plan);

// The kernels the prediction priced: what the plan names, or the defaults it left in place
// (docs/scenario-format.md), on the topology's GPU. Left at their defaults these framework
// choices moved the public rows' steps by 10-15% on average, up to 49% (docs/accuracy.md,
// session 25), so the report says which were assumed.
struct KernelChoices {
  std::string attention;                 // the family priced (plan.attention, or the GPU's default)
  bool attention_default = true;         // plan.attention left at flash: the GPU's default family
  std::string elementwise;               // plan.kernels: fused | eager
  std::string loss;                      // plan.loss
  std::string fp8_recipe;                // plan.fp8_recipe with precision fp8; empty otherwise
  int router_kernels = 0;                // a MoE router's forward launches (plan.moe_router_fusion); 0 without experts
  std::string framework;                 // plan.framework, whose fields these are where the plan is silent; or empty
  std::vector<std::string> cuda_graphs;  // plan.cuda_graphs: the parts replayed from CUDA graphs
};
KernelChoices kernel_choices(const Scenario& scenario);
// "attention cudnn (h100-sxm-80gb's default; plan.attention), fused element-wise kernels, fp32 loss".
std::string kernel_summary(const KernelChoices& k, const std::string& gpu);

struct Prediction {
  std::string scenario;
  int gpus = 0;
  std::string fidelity = "full";  // full (simulated) or estimate (predict_estimate)
  StepResult step;
  MemoryBreakdown memory;
  double tokens_per_step = 0;             // of data: padding excluded
  double tokens_per_sequence = 0;         // mean, padding excluded (seq_len for full rows)
  double padded_tokens_per_sequence = 0;  // mean length the GPUs compute on
  double tokens_per_s = 0;
  double model_flops_per_step = 0;  // all GPUs
  double model_tflops_per_gpu = 0;
  double hardware_tflops_per_gpu = 0;
  double mfu = 0;                  // causal attention counted half, against the 16-bit peak
  double mfu_whole_attention = 0;  // PaLM's convention: attention counted as if not causal
  // The tensor clock the step ran at, the slowest of the job's GPUs, over a typical GPU's
  // (GpuSpec::slowest_clock; cluster.gpu_clock_spread).
  double slowest_gpu_clock = 1;
  std::optional<double> time_to_train_s;  // expected wall time, failures included when modelled
  std::optional<TrainingTime> training;
  double checkpoint_bytes = 0;
  double dp_bytes_per_gpu = 0;  // data-parallel traffic one GPU sends per step (averaged over sync_every)
  std::string data_parallel_mode = "all-reduce";  // zero-N, hybrid-zero-N, parameter-server, local-sgd
  int zero_shard_group = 1;                       // ranks ZeRO shards over (dp_shard x cp with hybrid sharding)
  KernelChoices kernels;
  // Facility energy: (GPUs (SimGrid host energy plugin) + NICs and switches (link energy plugin)
  // + hosts) x PUE. The parts are before PUE.
  double energy_per_step_j = 0;
  double host_energy_per_step_j = 0;  // nodes x host power x step time
  double pue = 1;
  std::string energy_counts;  // "GPUs, hosts (4.6 kW per node), NICs and switches, x PUE 1.2"
  std::optional<double> energy_to_train_j;
  std::optional<double> cost_to_train;  // price_per_gpu_hour x GPUs x hours, when the topology has a price
  // price_per_gpu_hour x GPUs x step time per million tokens of data (no failures), with a price.
  std::optional<double> cost_per_million_tokens;
  // The share of a layer's compute per micro-batch (the MoE layer's in a MoE model; stage 0's GPU)
  // in kernels whose time the host's issue rate sets (host_bound_share in workload/work.hpp).
  double host_bound_share = 0;
  // How far the simulator missed the public runs of this GPU and precision; none where the public
  // set has too few of them (report/public_error.hpp).
  std::optional<PublicError> public_error;
  std::vector<Finding> warnings;
  std::vector<int> stage_layers;        // layers per pipeline stage
  std::vector<std::string> stage_gpus;  // the GPU whose pace each stage has
  // When the plan does not fit: nearby plans that do, and the smallest job (GPUs) where one of
  // them does when none fits on this one. Filled by the caller (trainsim predict).
  std::vector<PlanSuggestion> suggestions;
  std::optional<int> fits_from_gpus;
};

Prediction predict(const Scenario& scenario, const SimulationOptions& options = {});
// What a table's `!` after a step means (search, compare): the prediction is launch-bound
// (host_bound_share at or above kHostBoundWarning).
std::string launch_bound_legend();
// "MAPE on the 177 public a100 16-bit runs (mean signed -1.8%; docs/accuracy.md)": the table's
// line under the step time, and the GUI's.
std::string public_error_text(const PublicError& e);
// The same report from the search's closed form (search/estimate.hpp), in milliseconds, without
// SimGrid (`predict --fidelity estimate`): step time, breakdown (exposed communication not by
// kind), memory. Hardware FLOPs are the model's (recomputation not counted); GPU energy is board
// power while computing and the idle share otherwise; no network energy; no trace.
// docs/speed.md states its error against the simulation.
Prediction predict_estimate(const Scenario& scenario);

// Power usage effectiveness when the topology gives none: 1.2, a recent AI data centre's (the
// Uptime Institute's 2023 survey averages 1.58 over all sites; Google's fleet reported 1.10 for
// 2023). docs/search.md "Energy and cost".
constexpr double kDefaultPue = 1.2;
// Watts a node draws besides its GPUs when the topology gives no power.host: the DGX system's
// maximum less its GPUs' board power (DGX A100 6.5 kW, DGX H100/H200 10.2 kW, DGX B200 14.3 kW,
// NVIDIA datasheets), per GPU, times the node's GPUs; other GPUs as the H100's share of its
// board power (0.82); CPU devices 0 (the host is the device).
double default_host_power_watts(const GpuSpec& gpu, int gpus_per_node);
// The node's host power: the topology's power.host, else the default for the node's GPU.
double host_power_watts(const TopologySpec& topology, int node);
// Wall time to train the scenario's training.tokens at this step time (failures and
// checkpoints as predict models them); nullopt without training.tokens.
std::optional<TrainingTime> training_time(const Scenario& scenario, double step_time);

nlohmann::json prediction_json(const Prediction& p);
// A plan's parallel layout and memory choices as JSON fields (search and compare rows).
nlohmann::json plan_json(const PlanSpec& plan);
std::string prediction_table(const Prediction& p, const Scenario& scenario);
// "tp 8, pp 16 (interleaved, 3 virtual stages), dp 8": a plan's parallel axes in words.
std::string plan_summary(const PlanSpec& plan);
// "micro-batch 1, 192 accumulation steps, global batch 1,536 sequences".
std::string batch_summary(const PlanSpec& plan);
std::string chrome_trace(const Prediction& p);

}  // namespace trainsim
