#include "report/prediction.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "scenario/units.hpp"
#include "search/estimate.hpp"
#include "topology/graph.hpp"
#include "workload/sequences.hpp"
#include "workload/stages.hpp"

namespace trainsim {

namespace {
// The closed form as a simulated step would report it (see predict_estimate).
StepResult estimated_step(const Scenario& sc, bool data_parallel = true) {
  const Estimate e = estimate_step(sc, data_parallel);
  StepResult r;
  r.step_time = e.step_time;
  r.critical_stage = e.critical_stage;
  r.breakdown.compute = e.compute;
  r.breakdown.bubble = e.bubble;
  r.breakdown.optimizer = e.optimizer;
  r.breakdown.exposed_comm["estimated"] = e.communication - e.data_parallel;
  if (e.data_parallel > 0) r.breakdown.exposed_comm["dp"] = e.data_parallel;
  r.bound_by = e.bound_by;
  r.simulated_micro_batches = 0;
  r.hardware_flops_per_gpu = e.hardware_flops;
  // Busy at board power (or the cap) while computing, 20% of board power otherwise
  // (network/platform.cpp's GPU hosts).
  const GpuSpec& gpu = sc.cluster.topology.gpu;
  const double board = gpu.power_watts;
  const double busy_watts = gpu.power_limit_watts > 0 ? std::min(board, gpu.power_limit_watts) : board;
  const double busy = e.compute + e.optimizer;
  r.gpu_energy_j =
      sc.cluster.gpus * (busy_watts * busy + std::min(0.2 * board, busy_watts) * std::max(0.0, e.step_time - busy));
  return r;
}
}  // namespace

KernelChoices kernel_choices(const Scenario& sc) {
  const auto& plan = sc.plan;
  const auto& gpu = sc.cluster.topology.gpu;
  KernelChoices k;
  k.attention_default = plan.attention == Attention::flash;
  k.attention = attention_name(k.attention_default ? gpu.kernels.default_attention : plan.attention);
  k.elementwise = plan.kernels == Kernels::eager ? "eager" : "fused";
  k.loss = loss_name(plan.loss);
  if (plan.precision == Precision::fp8) k.fp8_recipe = fp8_recipe_name(plan.fp8_recipe);
  if (sc.model.moe()) k.router_kernels = plan.router_kernels();
  if (plan.framework) k.framework = framework_name(*plan.framework);
  k.cuda_graphs = plan.cuda_graphs;
  return k;
}

std::string kernel_summary(const KernelChoices& k, const std::string& gpu) {
  std::string text = k.framework.empty() ? "" : "as " + k.framework + " runs them: ";
  text += "attention " + k.attention;
  if (k.attention_default) text += " (" + gpu + "'s default; plan.attention)";
  text += ", " + k.elementwise + " element-wise kernels, " + k.loss + " loss";
  if (!k.fp8_recipe.empty()) text += ", fp8 " + k.fp8_recipe + " scaling";
  if (k.router_kernels > 0)
    text += ", router in " + std::to_string(k.router_kernels) + " kernels (plan.moe_router_fusion)";
  if (!k.cuda_graphs.empty()) {
    text += ", CUDA graphs:";
    for (const auto& scope : k.cuda_graphs) text += " " + scope;
  }
  return text;
}

// Each pipeline stage's parts of the step, as breakdown_s gives the critical stage's.
nlohmann::json stage_breakdowns_json(const StepResult& step) {
  nlohmann::json stages = nlohmann::json::array();
  for (std::size_t s = 0; s < step.stage_breakdowns.size(); ++s) {
    const auto& b = step.stage_breakdowns[s];
    stages.push_back({{"stage", s},
                      {"compute_s", b.compute},
                      {"bubble_s", b.bubble},
                      {"optimizer_s", b.optimizer},
                      {"exposed_comm_by_kind_s", b.exposed_comm}});
  }
  return stages;
}

std::string public_error_text(const PublicError& e) {
  std::string text = "MAPE on the " + std::to_string(e.rows) + " public " + e.group + " runs";
  if (e.basis == FrameworkBasis::named) text += " with their framework named, as here";
  if (e.basis == FrameworkBasis::defaults) text += " with their framework's fields left at the defaults, as here";
  text += " (mean signed " + std::string(e.mean_signed >= 0 ? "+" : "") + units::format_percent(e.mean_signed) +
          ", negative: too fast";
  return text + (e.basis == FrameworkBasis::defaults ? "; name it: plan.framework)" : "; docs/accuracy.md)");
}

std::string launch_bound_legend() {
  char text[160];
  std::snprintf(text, sizeof text,
                "! likely optimistic: %.0f%% or more of a layer's compute is launch-bound (docs/accuracy.md, "
                "\"Launch-bound plans\")",
                100 * kHostBoundWarning);
  return text;
}

Prediction predict_estimate(const Scenario& sc) {
  SimulationOptions options;
  options.estimate = true;
  return predict(sc, options);
}

double data_parallel_bytes_per_gpu(const ModelSpec& model, const PlanSpec& plan) {
  // A MoE model's routed experts are split over ep (and etp) and reduce over the expert data
  // parallel group (Megatron-Core's expert_data_parallel group, its distributed optimizer's
  // shards); the other weights over dp x cp.
  const double experts = model.moe() ? routed_expert_parameters(model) * model.moe_layers() : 0.0;
  const double dense = (total_parameters(model) - experts) / (double(plan.tp) * plan.pp);
  const double expert_share = experts / (double(plan.pp) * plan.ep * plan.expert_tp());
  const double reduce_bytes = plan.gradient_reduce_bytes > 0 ? plan.gradient_reduce_bytes : 2;
  const double weight_bytes = plan.fp8_param_gather ? 1.0 : bytes_per_element(plan.precision);
  double gathers = 1, reduces = 1;  // the distributed optimizer, and a stage FSDP keeps
  if (plan.zero >= 3 && !plan.fsdp_keeps_stage()) {
    // FSDP gathers each micro-batch's weights for its forward, again for its backward unless
    // kept, once more for a recomputed forward under per-parameter hooks, and reduce-scatters
    // each micro-batch's gradients.
    const double m = static_cast<double>(plan.micro_batches());
    const double refetched =
        plan.zero3_refetches_for_recompute() ? double(plan.recomputed_layers(0, model.layers)) / model.layers : 0.0;
    gathers = m * (1 + (plan.fsdp_keeps_for_backward() ? 0 : 1) + refetched);
    reduces = m;
  }
  double total = 0;
  const int shard = plan.dp * plan.cp;
  if (shard > 1) {
    const double grads = dense * reduce_bytes / plan.gradient_compression;
    if (plan.zero == 0) {
      total += 2.0 * (shard - 1) / shard * grads;  // ring all-reduce
    } else {
      // A ZeRO group reduce-scatters gradients and all-gathers weights: (n-1)/n of the bytes each.
      const double group = plan.zero_shard(), replicas = plan.shard_replicas();
      const double across = 2.0 * (replicas - 1) / replicas * grads / group;  // hybrid: each shard's all-reduce
      total += (group - 1) / group * (gathers * dense * weight_bytes + reduces * grads) + reduces * across;
    }
  }
  const double edp = plan.expert_dp();
  if (experts > 0 && edp > 1) {
    const double grads = expert_share * reduce_bytes / plan.gradient_compression;
    total += plan.zero == 0 ? 2.0 * (edp - 1) / edp * grads
                            : (edp - 1) / edp * (gathers * expert_share * weight_bytes + reduces * grads);
  }
  return total;
}

Prediction predict(const Scenario& input, const SimulationOptions& options) {
  // On a cluster that mixes GPU kinds the pipeline split follows the stages' speeds; the split is
  // fixed here once so that the simulation, the memory model and the report share it.
  const StageSetup stages = setup_stages(input, options.profile.value_or(CalibrationProfile{}));
  Scenario sc = input;
  if (stages.balanced) sc.plan.layers_per_stage = stages.layers;
  Prediction p;
  p.scenario = sc.name;
  p.gpus = sc.cluster.gpus;
  p.warnings = sc.warnings;
  p.fidelity = options.estimate ? "estimate" : "full";
  p.kernels = kernel_choices(input);
  p.step = options.estimate ? estimated_step(sc) : simulate_step(sc, options);
  const auto& plan = sc.plan;
  const int shard = plan.dp * plan.cp;
  const double params_per_gpu = total_parameters(sc.model) / (double(plan.tp) * plan.pp);
  p.dp_bytes_per_gpu = data_parallel_bytes_per_gpu(sc.model, plan);
  // ZeRO's stage, and with hybrid sharding (dp_shard) the shard group it runs in.
  if (plan.zero >= 1) {
    p.data_parallel_mode = (plan.shard_replicas() > 1 ? "hybrid-zero-" : "zero-") + std::to_string(plan.zero);
    p.zero_shard_group = plan.zero_shard();
  }
  if (shard > 1 && (plan.sync_every > 1 || plan.parameter_servers > 0)) {
    SimulationOptions local = options;
    local.skip_data_parallel = true;
    local.record_trace = false;
    const StepResult without = options.estimate ? estimated_step(sc, false) : simulate_step(sc, local);
    // Data-parallel time the mode adds, to the critical stage's parts and its entry among the stages'.
    const auto add_dp = [&p](double seconds) {
      p.step.breakdown.exposed_comm["dp"] += seconds;
      if (std::size_t(p.step.critical_stage) < p.step.stage_breakdowns.size())
        p.step.stage_breakdowns[p.step.critical_stage].exposed_comm["dp"] += seconds;
    };
    if (plan.parameter_servers > 0) {
      // Every replica pushes its gradients and pulls the weights through the servers' NICs.
      const auto& t = sc.cluster.topology;
      const double server_bandwidth = double(plan.parameter_servers) * t.gpus_per_node * t.nic_bandwidth;
      const double traffic = 2.0 * total_parameters(sc.model) * 2 / plan.gradient_compression * plan.dp;
      const double ps_time = traffic / server_bandwidth;
      // With staleness > 0 the exchange overlaps the next steps' compute; with 0 it is serial.
      const double step = plan.staleness > 0 ? std::max(without.step_time, ps_time) : without.step_time + ps_time;
      p.step = without;
      add_dp(step - without.step_time);
      p.step.step_time = step;
      p.dp_bytes_per_gpu = 2.0 * params_per_gpu * 2 / plan.gradient_compression;
      p.data_parallel_mode = "parameter-server";
      p.zero_shard_group = 1;
    } else {
      // Local SGD: k-1 steps without synchronisation, then one with it.
      const double k = plan.sync_every;
      const double exposed_sync = p.step.step_time - without.step_time;
      p.step = without;
      p.step.step_time = without.step_time + exposed_sync / k;
      add_dp(exposed_sync / k);
      p.dp_bytes_per_gpu /= k;
      p.data_parallel_mode = "local-sgd";
    }
  }
  // Memory depends on shapes and the plan, not on the GPU's speed: any stage's work will do.
  p.memory = peak_memory(sc, stages.work.front());
  if (!p.memory.fits()) {
    const auto& m = p.memory;
    p.warnings.push_back({Finding::Severity::warning, "plan",
                          "does not fit in GPU memory: stage " + std::to_string(m.stage) + " needs " +
                              units::format_bytes(m.peak) + " per GPU, " + units::format_bytes(m.usable()) +
                              " usable of " + units::format_bytes(m.capacity) + " (a " +
                              units::format_bytes(m.reserve) + " reserve, cluster.memory_reserve)"});
  }
  p.stage_layers = stages.layers;
  for (const auto& gpu : stages.gpu) p.stage_gpus.push_back(gpu.name);
  {
    const CalibrationProfile profile = options.profile.value_or(CalibrationProfile{});
    const double launch_interval =
        CostModel(stages.gpu.front(), sc.plan.precision, profile, sc.plan.fp8_recipe).kernel_overhead();
    p.host_bound_share = host_bound_share(stages.work.front().layer, launch_interval);
    // The bench's figures are of full simulations without a calibration profile.
    if (!options.estimate && !options.profile) p.public_error = public_error(sc, stages.gpu);
    if (p.host_bound_share >= kHostBoundWarning) {
      char share[16];
      std::snprintf(share, sizeof share, "%.0f%%", 100 * p.host_bound_share);
      p.warnings.push_back(
          {Finding::Severity::warning, "plan",
           std::string("likely optimistic: ") + share +
               " of a layer's compute is in kernels whose time the host's issue rate sets (the launch interval, "
               "or one dispatch per expert GEMM), and the host's other work (framework module calls, the MoE "
               "dispatcher's wait for token counts) is not modelled; the 9 public runs this launch-bound (5% or "
               "more, all MoE plans) were predicted 30% short of their measured steps on average, from 6% over "
               "to 46% short (docs/accuracy.md, \"Launch-bound plans\"). Fewer, larger kernels (a larger "
               "micro-batch, grouped expert GEMMs) or CUDA graphs over the short ones (plan.cuda_graphs) make "
               "the prediction firmer"});
    }
  }
  // Tokens and model FLOPs of the data itself: padding is work the GPUs do, not training.
  p.tokens_per_sequence = mean_sequence_tokens(sc.data, sc.model.seq_len);
  for (const auto& l : padded_lengths(sc.data, sc.model.seq_len, sc.plan.micro_batch)) {
    p.padded_tokens_per_sequence += l.share * l.tokens;
  }
  p.tokens_per_step = double(sc.plan.global_batch) * p.tokens_per_sequence;
  p.tokens_per_s = p.tokens_per_step / p.step.step_time;
  p.model_flops_per_step = double(sc.plan.global_batch) * mean_model_flops_per_sequence(sc.model, sc.data);
  p.model_tflops_per_gpu = p.model_flops_per_step / sc.cluster.gpus / p.step.step_time / 1e12;
  // Hardware FLOPs per GPU (averaged over stages), counted kernel by kernel: recomputation and
  // padding included, causal masks halving attention as the kernels do.
  p.hardware_tflops_per_gpu = p.step.hardware_flops_per_gpu / p.step.step_time / 1e12;
  // MFU counts causal attention half (Megatron-Core's num_floating_point_operations, NeMo); PaLM's
  // convention (Chowdhery et al. 2022, appendix B; nanoGPT, torchtitan, fms-fsdp, MosaicML) counts
  // it whole: 12 L h s per token. Both are against the peak of mfu_precision (bf16 for FP8/FP4).
  p.mfu = p.model_tflops_per_gpu * 1e12 / mean_peak(sc.cluster, sc.plan.precision);
  // "Whole" is a sliding window's whole window and a packed document's whole length, not the
  // row: a windowed or document-masked model never does the rest (counted, a windowed plan
  // printed 138%).
  p.mfu_whole_attention = p.mfu * mean_model_flops_per_sequence_unmasked(sc.model, sc.data) /
                          mean_model_flops_per_sequence(sc.model, sc.data);
  p.slowest_gpu_clock = slowest_clock_factor(sc.cluster.clock_spread, sc.plan.gpus());
  // Checkpoints hold the 16-bit weights and the fp32 optimizer state (14 bytes per parameter).
  p.checkpoint_bytes = 14.0 * total_parameters(sc.model);
  p.training = training_time(sc, p.step.step_time);
  if (p.training && !std::isfinite(p.training->wall_s)) {
    p.warnings.push_back({Finding::Severity::warning, "training.failures",
                          "the job would never finish: it fails faster than it can write a checkpoint and restart "
                          "(Daly's expected wall time is not finite), so no time, energy or cost to train is given"});
    p.training.reset();
  }
  if (p.training) p.time_to_train_s = p.training->wall_s;
  {
    const auto& t = sc.cluster.topology;
    const int nodes = (sc.cluster.gpus + t.gpus_per_node - 1) / t.gpus_per_node;
    double host_watts = 0;
    for (int node = 0; node < nodes; ++node) host_watts += host_power_watts(t, node);
    p.host_energy_per_step_j = host_watts * p.step.step_time;
    p.pue = t.pue.value_or(kDefaultPue);
    p.energy_per_step_j = (p.step.gpu_energy_j + p.step.network_energy_j + p.host_energy_per_step_j) * p.pue;
    // A GPU given without its power draws none here: the report says so rather than print a sum
    // that leaves it out. Each kind of GPU the job's nodes hold is named where it matters.
    std::vector<const GpuSpec*> kinds;
    for (int node = 0; node < nodes; ++node) {
      const GpuSpec& g = t.gpu_of_node(node);
      const auto same = [&](const GpuSpec* k) {
        return k->name == g.name && k->power_watts == g.power_watts && k->power_limit_watts == g.power_limit_watts;
      };
      if (std::none_of(kinds.begin(), kinds.end(), same)) kinds.push_back(&g);
    }
    std::vector<std::string> notes;
    int unpowered = 0;
    for (const GpuSpec* g : kinds) {
      const std::string who = kinds.size() > 1 ? g->name + " " : "";
      if (g->power_watts <= 0) {
        ++unpowered;
        if (kinds.size() > 1) notes.push_back(g->name + " gives no power: not counted");
      } else if (g->power_limit_watts > 0 && g->power_limit_watts < g->power_watts) {
        notes.push_back(who + "capped at " + units::format_thousands(g->power_limit_watts) + " W");
      }
    }
    std::string gpus = "no GPUs (the GPU gives no power)";
    if (unpowered < int(kinds.size())) {
      gpus = "GPUs";
      for (std::size_t i = 0; i < notes.size(); ++i) gpus += (i == 0 ? " (" : "; ") + notes[i];
      if (!notes.empty()) gpus += ")";
    }
    char hosts_and_pue[160];
    std::snprintf(hosts_and_pue, sizeof hosts_and_pue, ", hosts (%.1f kW per node%s), %s x PUE %.2g%s",
                  host_watts / nodes / 1e3, t.host_power_watts ? "" : ", default",
                  p.step.network_energy_j > 0 ? "NICs and switches,"
                  : p.fidelity == "estimate" && (t.nic_power_watts > 0 || t.switch_power_watts > 0)
                      ? "no network (not estimated: --fidelity full),"
                      : "no network (no power.nic/switch),",
                  p.pue, t.pue ? "" : " (default)");
    p.energy_counts = gpus + hosts_and_pue;
    if (p.time_to_train_s) {
      p.energy_to_train_j = p.energy_per_step_j * (*p.time_to_train_s / p.step.step_time);
      if (t.price_per_gpu_hour > 0)
        p.cost_to_train = t.price_per_gpu_hour * sc.cluster.gpus * *p.time_to_train_s / 3600;
    }
    if (t.price_per_gpu_hour > 0 && p.tokens_per_step > 0) {
      p.cost_per_million_tokens =
          t.price_per_gpu_hour * sc.cluster.gpus * p.step.step_time / 3600 / p.tokens_per_step * 1e6;
    }
  }
  return p;
}

double default_host_power_watts(const GpuSpec& gpu, int gpus_per_node) {
  if (gpu.name.rfind("cpu", 0) == 0) return 0;
  double per_gpu = 0.82 * gpu.power_watts;
  if (gpu.name.rfind("a100", 0) == 0) per_gpu = (6500.0 - 8 * 400) / 8;
  if (gpu.name.rfind("h100", 0) == 0 || gpu.name.rfind("h200", 0) == 0) per_gpu = (10200.0 - 8 * 700) / 8;
  if (gpu.name.rfind("b200", 0) == 0) per_gpu = (14300.0 - 8 * 1000) / 8;
  return per_gpu * gpus_per_node;
}

double host_power_watts(const TopologySpec& t, int node) {
  return t.host_power_watts.value_or(default_host_power_watts(t.gpu_of_node(node), t.gpus_per_node));
}

std::optional<TrainingTime> training_time(const Scenario& sc, double step_time) {
  if (!sc.training.tokens) return std::nullopt;
  const auto& t = sc.cluster.topology;
  const int nodes = (sc.cluster.gpus + t.gpus_per_node - 1) / t.gpus_per_node;
  FailureModel failures;
  if (sc.training.mtbf_per_node_s) failures.mtbf_s = *sc.training.mtbf_per_node_s / nodes;
  if (sc.training.gpu_failures_per_day && *sc.training.gpu_failures_per_day > 0) {
    failures.mtbf_s = 86400.0 / (*sc.training.gpu_failures_per_day * sc.cluster.gpus);
  }
  failures.restart_s = sc.training.restart_s;
  // Storage bandwidth from the topology; without one, each node writes to local NVMe at an
  // assumed 2 GB/s. Checkpoints hold the 16-bit weights and the fp32 optimizer state.
  const double storage = t.storage_bandwidth > 0 ? t.storage_bandwidth : 2e9 * nodes;
  failures.checkpoint_s = 14.0 * total_parameters(sc.model) / storage;
  failures.interval_s = sc.training.checkpoint_interval_s;
  const double tokens_per_step = double(sc.plan.global_batch) * mean_sequence_tokens(sc.data, sc.model.seq_len);
  return expected_training_time(*sc.training.tokens / tokens_per_step * step_time, failures);
}

nlohmann::json plan_json(const PlanSpec& p) {
  return {{"tp", p.tp},
          {"pp", p.pp},
          {"dp", p.dp},
          {"cp", p.cp},
          {"ep", p.ep},
          {"micro_batch", p.micro_batch},
          {"virtual_stages", p.virtual_stages},
          {"schedule", schedule_name(p.schedule)},
          {"zero_bubble", p.zero_bubble},
          {"zero", p.zero},
          {"dp_shard", p.dp_shard},
          {"recompute", recompute_name(p.recompute)},
          {"recompute_fraction", p.recompute_fraction},
          {"sequence_parallel", p.sequence_parallel},
          {"placement", placement_name(p.placement)}};
}

nlohmann::json prediction_json(const Prediction& p) {
  nlohmann::json exposed = nlohmann::json::object();
  for (const char* kind : {"tp", "cp", "ep", "pp", "dp", "offload"}) {
    const auto it = p.step.breakdown.exposed_comm.find(kind);
    exposed[kind] = it == p.step.breakdown.exposed_comm.end() ? 0.0 : it->second;
  }
  nlohmann::json j = {
      {"scenario", p.scenario},
      {"gpus", p.gpus},
      {"step_time_s", p.step.step_time},
      {"tokens_per_s", p.tokens_per_s},
      {"tokens_per_sequence", p.tokens_per_sequence},
      {"padded_tokens_per_sequence", p.padded_tokens_per_sequence},
      {"mfu", p.mfu},
      {"mfu_whole_attention", p.mfu_whole_attention},
      {"model_tflops_per_gpu", p.model_tflops_per_gpu},
      {"hardware_tflops_per_gpu", p.hardware_tflops_per_gpu},
      {"host_bound_share", p.host_bound_share},
      {"slowest_gpu_clock", p.slowest_gpu_clock},
      {"public_error", p.public_error ? nlohmann::json{{"group", p.public_error->group},
                                                       {"rows", p.public_error->rows},
                                                       {"mape", p.public_error->mape},
                                                       {"mean_signed_error", p.public_error->mean_signed},
                                                       {"framework", framework_basis_name(p.public_error->basis)}}
                                      : nlohmann::json(nullptr)},
      {"breakdown_s",
       {{"compute", p.step.breakdown.compute},
        {"exposed_comm", p.step.breakdown.exposed_total()},
        {"bubble", p.step.breakdown.bubble},
        {"optimizer", p.step.breakdown.optimizer},
        // The closed form splits its exposed communication by kind only so far as its
        // data-parallel tail ("dp") goes; the rest is one "estimated" sum, not reported by kind.
        {"exposed_comm_by_kind", p.fidelity == "estimate" ? nlohmann::json(nullptr) : exposed}}},
      {"memory_per_gpu_bytes",
       {{"params", static_cast<std::int64_t>(p.memory.params)},
        {"grads", static_cast<std::int64_t>(p.memory.grads)},
        {"optimizer", static_cast<std::int64_t>(p.memory.optimizer)},
        {"activations", static_cast<std::int64_t>(p.memory.activations)},
        {"buffers", static_cast<std::int64_t>(p.memory.buffers)},
        {"offloaded_to_host", static_cast<std::int64_t>(p.memory.offloaded)},
        {"peak", static_cast<std::int64_t>(p.memory.peak)},
        {"capacity", static_cast<std::int64_t>(p.memory.capacity)},
        {"reserve", static_cast<std::int64_t>(p.memory.reserve)},
        {"usable", static_cast<std::int64_t>(p.memory.usable())},
        {"stage", p.memory.stage}}},
      {"fits_in_memory", p.memory.fits()},
      {"bound_by", p.step.bound_by},
      {"critical_stage", p.step.critical_stage},
      {"stages", stage_breakdowns_json(p.step)},
      {"time_to_train_s", p.time_to_train_s ? nlohmann::json(*p.time_to_train_s) : nlohmann::json(nullptr)},
      {"data_parallel",
       {{"mode", p.data_parallel_mode},
        {"shard_group", p.zero_shard_group},
        {"bytes_per_gpu_per_step", p.dp_bytes_per_gpu}}},
      {"kernels",
       {{"attention", p.kernels.attention},
        {"attention_is_default", p.kernels.attention_default},
        {"elementwise", p.kernels.elementwise},
        {"loss", p.kernels.loss},
        {"fp8_recipe", p.kernels.fp8_recipe.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.kernels.fp8_recipe)},
        {"framework", p.kernels.framework.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.kernels.framework)},
        {"moe_router_kernels",
         p.kernels.router_kernels > 0 ? nlohmann::json(p.kernels.router_kernels) : nlohmann::json(nullptr)},
        {"cuda_graphs", p.kernels.cuda_graphs}}},
      {"checkpoint_bytes", p.checkpoint_bytes},
      {"energy_per_step_j", p.energy_per_step_j},
      {"network_energy_per_step_j", p.step.network_energy_j},
      {"gpu_energy_per_step_j", p.step.gpu_energy_j},
      {"host_energy_per_step_j", p.host_energy_per_step_j},
      {"pue", p.pue},
      {"energy_counts", p.energy_counts},
      {"cost_per_million_tokens",
       p.cost_per_million_tokens ? nlohmann::json(*p.cost_per_million_tokens) : nlohmann::json(nullptr)},
      {"energy_to_train_j", p.energy_to_train_j ? nlohmann::json(*p.energy_to_train_j) : nlohmann::json(nullptr)},
      {"cost_to_train", p.cost_to_train ? nlohmann::json(*p.cost_to_train) : nlohmann::json(nullptr)},
      {"pipeline", {{"layers_per_stage", p.stage_layers}, {"gpu_per_stage", p.stage_gpus}}},
      // Fewer than the plan's micro-batches per replica: the steady state was extended over
      // the rest (engine/simulation.hpp, "Periodic steady state").
      {"fidelity", p.fidelity},
      {"simulated_micro_batches", p.step.simulated_micro_batches},
      {"steady_state_extended", p.step.extended},
  };
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& w : p.warnings) warnings.push_back({{"key", w.key}, {"message", w.message}});
  j["warnings"] = warnings;
  if (!p.memory.fits()) {
    nlohmann::json suggestions = nlohmann::json::array();
    for (const auto& s : p.suggestions) {
      suggestions.push_back({{"changes", s.changes},
                             {"tp", s.plan.tp},
                             {"pp", s.plan.pp},
                             {"dp", s.plan.dp},
                             {"cp", s.plan.cp},
                             {"micro_batch", s.plan.micro_batch},
                             {"zero", s.plan.zero},
                             {"recompute", recompute_name(s.plan.recompute)},
                             {"recompute_fraction", s.plan.recompute_fraction},
                             {"peak_bytes", static_cast<std::int64_t>(s.peak_bytes)},
                             {"usable_bytes", static_cast<std::int64_t>(s.usable_bytes)},
                             {"estimated_step_time_s", s.estimated_step_s}});
    }
    j["suggestions"] = suggestions;
    j["fits_from_gpus"] = p.fits_from_gpus ? nlohmann::json(*p.fits_from_gpus) : nlohmann::json(nullptr);
  }
  if (p.training) {
    j["training"] = {{"solve_s", p.training->solve_s},
                     {"wall_s", p.training->wall_s},
                     {"goodput", p.training->goodput},
                     {"checkpoint_interval_s", p.training->interval_s},
                     {"expected_failures", p.training->expected_failures}};
  }
  return j;
}

// "tp 8, pp 16 (interleaved, 3 virtual stages), dp 8": the axes a plan uses, in words people use.
std::string plan_summary(const PlanSpec& plan) {
  std::string text = "tp " + std::to_string(plan.tp) + ", pp " + std::to_string(plan.pp);
  if (plan.pp > 1) {
    text += std::string(" (") + schedule_name(plan.schedule);
    if (plan.virtual_stages > 1) text += ", " + std::to_string(plan.virtual_stages) + " virtual stages";
    if (plan.zero_bubble) text += ", zero bubble";
    text += ")";
  }
  text += ", dp " + std::to_string(plan.dp);
  if (plan.zero >= 1 && plan.shard_replicas() > 1) {
    text += " (ZeRO shards over " + std::to_string(plan.shard_dp()) + " dp" +
            (plan.cp > 1 ? " x " + std::to_string(plan.cp) + " cp" : std::string()) + " ranks, " +
            std::to_string(plan.shard_replicas()) + " replicas)";
  }
  if (plan.cp > 1) text += ", cp " + std::to_string(plan.cp);
  if (plan.ep > 1) text += ", ep " + std::to_string(plan.ep);
  return text;
}

std::string batch_summary(const PlanSpec& plan) {
  const auto steps = plan.micro_batches();
  return "micro-batch " + units::format_thousands(plan.micro_batch) + ", " + units::format_thousands(double(steps)) +
         (steps == 1 ? " accumulation step" : " accumulation steps") + ", global batch " +
         units::format_thousands(double(plan.global_batch)) + " sequences";
}

std::string prediction_table(const Prediction& p, const Scenario& sc) {
  using units::TextTable;
  std::ostringstream out;
  const auto& b = p.step.breakdown;
  auto pct = [&](double seconds) {
    const std::string text = units::format_percent(seconds / p.step.step_time);
    return std::string(text.size() < 6 ? 6 - text.size() : 0, ' ') + text;  // "  5.1%" under " 95.1%"
  };
  const auto& topology = sc.cluster.topology;
  const bool mixed = topology.mixed(p.gpus);
  if (!p.memory.fits()) {
    // Said first: every number below is for a job that would run out of memory.
    const auto& m = p.memory;
    out << "DOES NOT FIT: stage " << m.stage << " needs " << units::format_bytes(m.peak) << " per GPU; "
        << units::format_bytes(m.usable()) << " of " << units::format_bytes(m.capacity) << " are usable (reserve "
        << units::format_bytes(m.reserve) << ")\n";
    if (!p.suggestions.empty()) {
      out << "  plans that fit (estimated):\n";
      TextTable fits({TextTable::Align::left, TextTable::Align::right, TextTable::Align::right}, "    ");
      for (const auto& s : p.suggestions) {
        fits.add({s.changes + ":", "peak " + units::format_bytes(s.peak_bytes),
                  "step about " + units::format_duration(s.estimated_step_s)});
      }
      out << fits.str();
    } else if (p.fits_from_gpus) {
      out << "  no nearby plan fits on " << units::format_thousands(p.gpus) << " GPUs; one fits on "
          << units::format_thousands(*p.fits_from_gpus) << " GPUs\n";
    } else {
      out << "  no nearby plan (recompute, micro_batch, zero, pp) fits on this cluster\n";
    }
    out << "\n";
  }
  // The parameter count says what a model written from fields came to (embeddings included).
  out << sc.name << ": " << sc.model.name << " (" << units::format_count(total_parameters(sc.model)) << " parameters";
  if (sc.model.moe()) out << ", " << units::format_count(active_parameters(sc.model)) << " active";
  out << ") on ";
  if (mixed) {
    std::map<std::string, int> count;  // GPUs of each kind in the job
    for (int g = 0; g < p.gpus; ++g) ++count[topology.gpu_of_node(g / topology.gpus_per_node).name];
    const char* plus = "";
    for (const auto& [name, n] : count) {
      out << plus << units::format_thousands(n) << " x " << name;
      plus = " + ";
    }
  } else {
    out << units::format_thousands(p.gpus) << " x " << topology.gpu.name;
  }
  out << " (" << topology.name << ")\n";

  // The job in words, then one table of figures: label, value (right-aligned), note.
  TextTable h;
  const auto& plan = sc.plan;
  std::string options = "zero " + std::to_string(plan.zero) + ", recompute " + recompute_label(plan) + ", " +
                        precision_name(plan.precision);
  if (plan.sequence_parallel) options += ", sequence parallel";
  if (plan.activation_offload_layers > 0)
    options += ", activations of " + std::to_string(plan.activation_offload_layers) + " layers offloaded";
  h.add({"plan", plan_summary(plan)});
  h.add({"", batch_summary(plan)});
  h.add({"", options});
  h.add({"", kernel_summary(p.kernels, topology.gpu.name)});
  if (!sc.data.full_rows()) {
    char data[160];
    if (sc.data.batching == Batching::packed) {
      const double length = mean_length(sc.data, sc.model.seq_len);
      std::snprintf(data, sizeof data, ", packed: %.1f sequences of %.0f tokens per row", sc.model.seq_len / length,
                    length);
    } else {
      std::snprintf(data, sizeof data, ", %s: %.0f tokens per sequence, padded to %.0f (%.0f%% padding)",
                    batching_name(sc.data.batching), p.tokens_per_sequence, p.padded_tokens_per_sequence,
                    100 * (1 - p.tokens_per_sequence / p.padded_tokens_per_sequence));
    }
    h.add({"data", std::filesystem::path(sc.data.lengths).filename().string() + data});
  }
  if (plan.pp > 1) {
    std::string layers;
    for (std::size_t s = 0; s < p.stage_layers.size(); ++s) {
      layers += (s ? " " : "") + std::to_string(p.stage_layers[s]);
      if (mixed && s < p.stage_gpus.size()) layers += " (" + p.stage_gpus[s] + ")";
    }
    h.add({"layers per stage", layers});
  }
  out << h.str() << "\n";
  TextTable t({TextTable::Align::left, TextTable::Align::right, TextTable::Align::left});
  t.add({"step time", units::format_duration(p.step.step_time)});
  // How far such predictions missed the published runs (report/public_error.hpp).
  if (const auto& e = p.public_error) {
    t.add({"", units::format_percent(e->mape), public_error_text(*e)});
  }
  t.add({"tokens/s", units::format_thousands(p.tokens_per_s),
         units::format_thousands(p.tokens_per_s / p.gpus) + " per GPU"});
  char text[200];
  std::snprintf(text, sizeof text, "%.1f model TFLOP/s per GPU, %.1f hardware", p.model_tflops_per_gpu,
                p.hardware_tflops_per_gpu);
  std::string mfu_text = text;
  // Low-precision GEMMs run at up to 2x (FP8) or 4x (FP4) the 16-bit rate, so MFU against the
  // 16-bit peak, the convention FP8 runs are published in, can pass 100%: say so.
  if (low_precision(sc.plan.precision)) mfu_text += "; of the bf16 peak, as low-precision runs are published";
  t.add({"MFU", units::format_percent(p.mfu), mfu_text});
  if (sc.model.causal()) {
    t.add({"", units::format_percent(p.mfu_whole_attention), "counting causal attention whole (PaLM's convention)"});
  }
  if (p.slowest_gpu_clock < 1) {
    t.add({"slowest GPU", units::format_percent(p.slowest_gpu_clock),
           "of a typical GPU's tensor clock: the step waits for the slowest of " + units::format_thousands(p.gpus) +
               " (clocks spread " + units::format_percent(sc.cluster.clock_spread) + ", cluster.gpu_clock_spread)"});
  }
  if (p.time_to_train_s) {
    t.add({"time to train", units::format_duration(*p.time_to_train_s),
           "for " + units::format_count(*sc.training.tokens) + " tokens"});
    if (p.training && p.training->expected_failures > 0) {
      t.add({"goodput", units::format_percent(p.training->goodput),
             units::format_thousands(p.training->expected_failures) + " failures expected; checkpoint every " +
                 units::format_duration(p.training->interval_s)});
    }
  }
  if (p.energy_to_train_j) {
    const double mwh = *p.energy_to_train_j / 3.6e9;
    t.add({"energy to train", mwh >= 1 ? units::format_thousands(mwh, mwh >= 100 ? 0 : 1) + " MWh"
                                       : units::format_thousands(mwh * 1000, 1) + " kWh"});
  }
  t.add({"energy counts", "", p.energy_counts});
  const std::string per_hour = "at " + units::format_money(topology.price_per_gpu_hour) + " per GPU-hour";
  if (p.cost_per_million_tokens)
    t.add({"cost per M tokens", units::format_money(*p.cost_per_million_tokens), per_hour});
  if (p.cost_to_train) t.add({"cost to train", units::format_money(*p.cost_to_train), per_hour});
  t.title("");
  t.title("  where the time goes (stage " + std::to_string(p.step.critical_stage) + ", the last to finish)");
  t.add({"  compute", units::format_duration(b.compute), pct(b.compute)});
  for (const auto& [kind, seconds] : b.exposed_comm) {
    if (seconds <= 0) continue;
    t.add({"  " + kind + " comm (exposed)", units::format_duration(seconds), pct(seconds)});
  }
  if (plan.pp > 1 || b.bubble > 0) t.add({"  pipeline bubble", units::format_duration(b.bubble), pct(b.bubble)});
  t.add({"  optimizer", units::format_duration(b.optimizer), pct(b.optimizer)});
  t.add({"  bound by", "", p.step.bound_by});
  // The stage the others wait for: the most busy time (compute, exposed communication and
  // optimizer; a later stage's smaller bubble only says it finishes sooner). Where it is not the
  // one that finishes last and is busier by more than 5% of the step, its own parts say what
  // holds the step back (a last stage with the head and loss of a large vocabulary).
  const auto& stages = p.step.stage_breakdowns;
  const auto busy = [](const StepBreakdown& x) { return x.compute + x.exposed_total() + x.optimizer; };
  if (stages.size() > 1 && std::size_t(p.step.critical_stage) < stages.size()) {
    const auto busiest =
        std::max_element(stages.begin(), stages.end(), [&](const auto& x, const auto& y) { return busy(x) < busy(y); });
    const auto index = static_cast<int>(busiest - stages.begin());
    if (index != p.step.critical_stage &&
        busy(*busiest) - busy(stages[p.step.critical_stage]) > 0.05 * p.step.step_time) {
      std::string parts = "compute " + units::format_duration(busiest->compute);
      for (const auto& [kind, seconds] : busiest->exposed_comm) {
        if (seconds > 0.01 * p.step.step_time) parts += ", " + kind + " " + units::format_duration(seconds);
      }
      parts += ", bubble " + units::format_duration(busiest->bubble);
      t.add({"  busiest stage", std::to_string(index), parts + " (the others wait for it)"});
    }
  }
  if (p.host_bound_share >= 0.01) {
    t.add({"  launch-bound", units::format_percent(p.host_bound_share),
           "of a layer's compute in kernels the host's issue rate times"});
  }
  const auto& m = p.memory;
  t.title("");
  t.title("  memory per GPU (stage " + std::to_string(m.stage) + ")");
  if (m.params <= 0 && plan.sharded_master_weights) {
    t.add({"  parameters", units::format_bytes(m.params), "the fp32 shards in the optimizer state are the weights"});
  } else {
    t.add({"  parameters", units::format_bytes(m.params)});
  }
  t.add({"  gradients", units::format_bytes(m.grads)});
  t.add({"  optimizer state", units::format_bytes(m.optimizer)});
  t.add({"  activations", units::format_bytes(m.activations)});
  t.add({"  buffers", units::format_bytes(m.buffers)});
  if (m.offloaded > 0)
    t.add({"  offloaded", units::format_bytes(m.offloaded),
           "activations of " + std::to_string(plan.activation_offload_layers) + " layers in host memory, not counted"});
  t.add({"  peak", units::format_bytes(m.peak),
         "of " + units::format_bytes(m.usable()) + " usable (" + units::format_bytes(m.capacity) + " less a " +
             units::format_bytes(m.reserve) + " reserve)" + (m.fits() ? ", fits" : ", DOES NOT FIT")});
  out << t.str();
  return out.str();
}

std::string chrome_trace(const Prediction& p) {
  // Chrome trace event format: one process per GPU, one thread per stream, times in microseconds.
  static const std::map<std::string, int> stream_ids = {{"compute", 0}, {"tp", 1}, {"cp", 2},       {"ep", 3},
                                                        {"pp", 4},      {"dp", 5}, {"optimizer", 6}};
  nlohmann::json events = nlohmann::json::array();
  std::map<int, bool> named;
  for (const auto& e : p.step.trace) {
    const int tid = stream_ids.count(e.stream) ? stream_ids.at(e.stream) : 7;
    if (!named[e.gpu]) {
      named[e.gpu] = true;
      events.push_back({{"ph", "M"},
                        {"pid", e.gpu},
                        {"name", "process_name"},
                        {"args", {{"name", "gpu " + std::to_string(e.gpu)}}}});
      for (const auto& [stream, id] : stream_ids) {
        events.push_back(
            {{"ph", "M"}, {"pid", e.gpu}, {"tid", id}, {"name", "thread_name"}, {"args", {{"name", stream}}}});
      }
    }
    events.push_back({{"ph", "X"},
                      {"pid", e.gpu},
                      {"tid", tid},
                      {"name", e.name},
                      {"cat", e.stream},
                      {"ts", e.start * 1e6},
                      {"dur", (e.end - e.start) * 1e6}});
  }
  return nlohmann::json{{"traceEvents", events},
                        {"displayTimeUnit", "ms"},
                        {"otherData",
                         {{"scenario", p.scenario},
                          {"step_time_s", p.step.step_time},
                          // The trace shows these micro-batches; with steady_state_extended the
                          // step time includes the steady periods of the others.
                          {"simulated_micro_batches", p.step.simulated_micro_batches},
                          {"steady_state_extended", p.step.extended}}}}
      .dump();
}

}  // namespace trainsim
