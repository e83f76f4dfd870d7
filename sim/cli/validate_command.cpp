// `trainsim validate SCENARIO --measured run.json`: the prediction next to what
// trainsim-exec measured, field by field, with the error. The model shape and
// batch the run used (it may scale the scenario down) are applied to the
// scenario first, so both describe the same job.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "report/prediction.hpp"

namespace trainsim::cli {

int validate(const std::string &scenario_file, const std::string &measured_file, const std::string &profile_file) {
  Scenario sc = load_scenario(scenario_file);
  std::ifstream in(measured_file);
  if (!in) throw InputError({measured_file, 0, 0}, "", "cannot open the measurement");
  nlohmann::json run;
  try {
    run = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception &e) {
    throw InputError({measured_file, 0, 0}, "", std::string("JSON error: ") + e.what());
  }
  auto number = [&](const nlohmann::json &j, const char *key) -> std::optional<double> {
    if (!j.is_object() || !j.contains(key)) return std::nullopt;
    if (!j[key].is_number()) throw InputError({measured_file, 0, 0}, key, "expected a number");
    return j[key].get<double>();
  };
  if (!number(run, "step_time_s"))
    throw InputError({measured_file, 0, 0}, "step_time_s", "missing: not a trainsim-exec measurement");
  if (run.contains("model")) {
    const auto &m = run["model"];
    if (auto v = number(m, "layers")) sc.model.layers = int(*v);
    if (auto v = number(m, "hidden")) sc.model.hidden = int(*v);
    if (auto v = number(m, "heads")) sc.model.heads = sc.model.kv_heads = int(*v);
    if (auto v = number(m, "kv_heads")) sc.model.kv_heads = int(*v);
    if (auto v = number(m, "seq_len")) sc.model.seq_len = int(*v);
    if (auto v = number(m, "vocab")) sc.model.vocab = int(*v);
    const std::string arch = m.value("arch", "");
    if (arch == "gpt") sc.model.arch = Arch::gpt;
    if (arch == "llama") sc.model.arch = Arch::llama;
    if (arch == "bert") sc.model.arch = Arch::bert;
    if (auto v = number(m, "ffn_hidden"))
      sc.model.ffn_hidden = int(*v);
    else
      sc.model.ffn_hidden = 4 * sc.model.hidden;
  }
  if (run.contains("plan")) {
    const auto &p = run["plan"];
    if (auto v = number(p, "dp")) sc.plan.dp = int(*v);
    if (auto v = number(p, "micro_batch")) sc.plan.micro_batch = int(*v);
    if (auto v = number(p, "global_batch")) sc.plan.global_batch = std::int64_t(*v);
    if (auto v = number(p, "tp")) sc.plan.tp = int(*v);
    if (auto v = number(p, "pp")) sc.plan.pp = int(*v);
    if (auto v = number(p, "zero")) sc.plan.zero = int(*v);
    if (auto v = number(p, "virtual_stages")) sc.plan.virtual_stages = int(*v);
    if (p.contains("sequence_parallel") && p["sequence_parallel"].is_boolean()) {
      sc.plan.sequence_parallel = p["sequence_parallel"].get<bool>();
    }
    const std::string schedule = p.value("schedule", "");
    for (const Schedule s : {Schedule::gpipe, Schedule::one_f_one_b, Schedule::interleaved}) {
      if (schedule == schedule_name(s)) sc.plan.schedule = s;
    }
    const std::string recompute = p.value("recompute", "");
    for (const Recompute r : {Recompute::none, Recompute::selective, Recompute::full}) {
      if (recompute == recompute_name(r)) sc.plan.recompute = r;
    }
    if (p.value("precision", "") == "fp32") sc.plan.precision = Precision::fp32;
    if (p.value("precision", "") == "bf16") sc.plan.precision = Precision::bf16;
    sc.cluster.gpus = sc.plan.gpus();
  }
  for (const auto &f : check_plan(sc.model, sc.cluster, sc.plan)) {
    if (f.severity == Finding::Severity::error) throw InputError({measured_file, 0, 0}, f.key, f.message);
  }
  SimulationOptions options;
  if (!profile_file.empty()) options.profile = load_calibration(profile_file);
  const nlohmann::json predicted = prediction_json(predict(sc, options));
  std::printf("%s: predicted (trainsim predict) against measured (%s, %s)\n\n", sc.name.c_str(), measured_file.c_str(),
              run.value("device", "?").c_str());
  std::printf("  %-28s %14s %14s %9s\n", "field", "predicted", "measured", "error");
  auto row = [&](const std::string &label, const nlohmann::json &p, const nlohmann::json &m, const char *key) {
    if (!p.contains(key) || !m.is_object() || !m.contains(key) || !m[key].is_number()) return;
    const double pv = p[key].get<double>(), mv = m[key].get<double>();
    const double error = mv != 0 ? 100 * (pv - mv) / mv : 0;
    std::printf("  %-28s %14.6g %14.6g %+8.1f%%\n", label.c_str(), pv, mv, error);
  };
  for (const char *key : {"step_time_s", "tokens_per_s", "model_tflops_per_gpu", "mfu"}) row(key, predicted, run, key);
  if (run.contains("breakdown_s")) {
    for (const char *key : {"compute", "exposed_comm", "bubble", "optimizer"}) {
      row(std::string("breakdown_s.") + key, predicted["breakdown_s"], run["breakdown_s"], key);
    }
  }
  if (run.contains("memory_per_gpu_bytes")) {
    row("memory_per_gpu_bytes.peak", predicted["memory_per_gpu_bytes"], run["memory_per_gpu_bytes"], "peak");
  }
  return 0;
}

}  // namespace trainsim::cli
