#include "report/measurement.hpp"

#include <cmath>
#include <optional>
#include <sstream>

namespace trainsim {

namespace {

std::optional<double> number(const nlohmann::json& j, const char* key, const std::string& path, double lo, double hi) {
  if (!j.is_object() || !j.contains(key)) return std::nullopt;
  const auto& v = j[key];
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < lo || v.get<double>() > hi) {
    std::ostringstream range;
    range << "expected a number from " << lo << " to " << hi;
    throw InputError({path, 0, 0}, key, range.str());
  }
  return v.get<double>();
}

std::string text(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key)) return "";
  if (!j[key].is_string()) throw InputError({path, 0, 0}, key, "expected a string");
  return j[key].get<std::string>();
}

}  // namespace

nlohmann::json parse_measurement(const std::string& input, const std::string& path) {
  nlohmann::json run;
  try {
    run = nlohmann::json::parse(input);
  } catch (const nlohmann::json::exception& e) {
    throw InputError({path, 0, 0}, "", std::string("JSON error: ") + e.what());
  }
  if (!run.is_object()) throw InputError({path, 0, 0}, "", "expected a JSON object (trainsim-exec --out)");
  if (!number(run, "step_time_s", path, 0, 1e9)) {
    throw InputError({path, 0, 0}, "step_time_s", "missing: not a trainsim-exec measurement");
  }
  for (const char* key : {"tokens_per_s", "model_tflops_per_gpu", "hardware_tflops_per_gpu", "mfu"}) {
    number(run, key, path, 0, 1e18);
  }
  (void)text(run, "device", path);
  for (const char* section : {"breakdown_s", "memory_per_gpu_bytes", "model", "plan"}) {
    if (run.contains(section) && !run[section].is_object())
      throw InputError({path, 0, 0}, section, "expected an object");
  }
  return run;
}

void apply_measurement(Scenario& sc, const nlohmann::json& run, const std::string& path) {
  constexpr double kMaxDim = 1 << 24;
  if (run.contains("model")) {
    const auto& m = run["model"];
    if (auto v = number(m, "layers", path, 1, 100000)) sc.model.layers = int(*v);
    if (auto v = number(m, "hidden", path, 1, kMaxDim)) sc.model.hidden = int(*v);
    if (auto v = number(m, "heads", path, 1, 100000)) sc.model.heads = sc.model.kv_heads = int(*v);
    if (auto v = number(m, "kv_heads", path, 1, 100000)) sc.model.kv_heads = int(*v);
    if (auto v = number(m, "seq_len", path, 1, kMaxDim)) sc.model.seq_len = int(*v);
    if (auto v = number(m, "vocab", path, 1, kMaxDim)) sc.model.vocab = int(*v);
    const std::string arch = text(m, "arch", path);
    for (const Arch a : {Arch::gpt, Arch::llama, Arch::bert}) {
      if (arch == arch_name(a)) sc.model.arch = a;
    }
    if (auto v = number(m, "ffn_hidden", path, 1, kMaxDim))
      sc.model.ffn_hidden = int(*v);
    else
      sc.model.ffn_hidden = 4 * sc.model.hidden;
  }
  if (run.contains("plan")) {
    const auto& p = run["plan"];
    if (auto v = number(p, "dp", path, 1, 262144)) sc.plan.dp = int(*v);
    if (auto v = number(p, "tp", path, 1, 1024)) sc.plan.tp = int(*v);
    if (auto v = number(p, "pp", path, 1, 4096)) sc.plan.pp = int(*v);
    if (auto v = number(p, "micro_batch", path, 1, 1e6)) sc.plan.micro_batch = int(*v);
    if (auto v = number(p, "global_batch", path, 1, 1e7)) sc.plan.global_batch = std::int64_t(*v);
    if (auto v = number(p, "zero", path, 0, 3)) sc.plan.zero = int(*v);
    if (auto v = number(p, "virtual_stages", path, 1, 1024)) sc.plan.virtual_stages = int(*v);
    if (p.contains("sequence_parallel")) {
      if (!p["sequence_parallel"].is_boolean())
        throw InputError({path, 0, 0}, "sequence_parallel", "expected true or false");
      sc.plan.sequence_parallel = p["sequence_parallel"].get<bool>();
    }
    const std::string schedule = text(p, "schedule", path);
    for (const Schedule s : {Schedule::gpipe, Schedule::one_f_one_b, Schedule::interleaved}) {
      if (schedule == schedule_name(s)) sc.plan.schedule = s;
    }
    const std::string recompute = text(p, "recompute", path);
    for (const Recompute r : {Recompute::none, Recompute::selective, Recompute::op, Recompute::full}) {
      if (recompute == recompute_name(r)) sc.plan.recompute = r;
    }
    const std::string precision = text(p, "precision", path);
    if (precision == "fp32") sc.plan.precision = Precision::fp32;
    if (precision == "bf16") sc.plan.precision = Precision::bf16;
    sc.cluster.gpus = sc.plan.gpus();
  }
  // trainsim-exec fills every row to seq_len (its readers cut rows; CoNLL sentences are padded),
  // whatever the scenario's data section says: predict the rows it ran.
  sc.data = DataSpec{};
  for (const auto& f : check_plan(sc.model, sc.cluster, sc.plan)) {
    if (f.severity == Finding::Severity::error) throw InputError({path, 0, 0}, f.key, f.message);
  }
}

}  // namespace trainsim
