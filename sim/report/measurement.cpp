#include "report/measurement.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include "scenario/units.hpp"

namespace trainsim {

namespace {

enum class Kind { seconds, tokens_per_s, tflops, fraction, bytes };

std::string human(Kind kind, double v) {
  switch (kind) {
    case Kind::bytes:
      return units::format_bytes(v);
    case Kind::tokens_per_s:
      return units::format_thousands(v);
    case Kind::fraction:
      return units::format_percent(v);
    case Kind::tflops:
      return units::format_rate(v * 1e12);  // the value is in TFLOP/s
    case Kind::seconds:
      break;
  }
  return units::format_duration(v);  // step time and its breakdown, in seconds
}

}  // namespace

std::vector<ComparedField> compare_with_measurement(const nlohmann::json& predicted, const nlohmann::json& run) {
  std::vector<ComparedField> fields;
  auto add = [&](const std::string& label, Kind kind, const nlohmann::json& p, const nlohmann::json& m, const char* key,
                 bool part = false) {
    if (!p.is_object() || !p.contains(key) || !p[key].is_number() || !m.is_object() || !m.contains(key) ||
        !m[key].is_number())
      return;
    ComparedField f;
    f.label = label;
    f.part = part;
    f.predicted_value = p[key].get<double>();
    f.measured_value = m[key].get<double>();
    f.predicted = human(kind, f.predicted_value);
    f.measured = human(kind, f.measured_value);
    f.error = f.measured_value != 0 ? (f.predicted_value - f.measured_value) / f.measured_value : 0;
    fields.push_back(f);
  };
  add("step time", Kind::seconds, predicted, run, "step_time_s");
  add("tokens/s", Kind::tokens_per_s, predicted, run, "tokens_per_s");
  add("model TFLOP/s per GPU", Kind::tflops, predicted, run, "model_tflops_per_gpu");
  if (run.is_object() && run.value("mfu", 0.0) > 0 && run.value("mfu", 0.0) <= 1)
    add("MFU", Kind::fraction, predicted, run, "mfu");
  if (predicted.contains("breakdown_s") && run.contains("breakdown_s")) {
    for (const auto& [key, label] : {std::pair{"compute", "compute"},
                                     {"exposed_comm", "exposed communication"},
                                     {"bubble", "pipeline bubble"},
                                     {"optimizer", "optimizer"}}) {
      add(label, Kind::seconds, predicted["breakdown_s"], run["breakdown_s"], key, true);
    }
  }
  if (predicted.contains("memory_per_gpu_bytes") && run.contains("memory_per_gpu_bytes")) {
    add("peak memory per GPU", Kind::bytes, predicted["memory_per_gpu_bytes"], run["memory_per_gpu_bytes"], "peak");
  }
  return fields;
}

std::string measurement_verdict(double predicted_step_s, double measured_step_s) {
  if (measured_step_s <= 0) return "no verdict: the run measured no step time";
  const double error = 100 * (predicted_step_s - measured_step_s) / measured_step_s;
  const char* direction = error < 0 ? "faster" : "slower";
  char verdict[160];
  for (const double band : {1.0, 2.0, 5.0, 10.0, 20.0, 50.0}) {
    if (std::abs(error) <= band) {
      std::snprintf(verdict, sizeof verdict, "prediction within %.0f%%: %.1f%% %s than measured", band, std::abs(error),
                    direction);
      return verdict;
    }
  }
  std::snprintf(verdict, sizeof verdict, "prediction off by %.0f%%: %.1f%% %s than measured", std::abs(error),
                std::abs(error), direction);
  return verdict;
}

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
  // A measured step shorter than a microsecond is no step (its error ran to 150 digits).
  if (!number(run, "step_time_s", path, 1e-6, 1e9)) {
    throw InputError({path, 0, 0}, "step_time_s", "missing: not a trainsim-exec measurement");
  }
  // Rates a run measured are positive (a measured 0 tokens/s was compared as a 0% error).
  for (const char* key : {"tokens_per_s", "model_tflops_per_gpu", "hardware_tflops_per_gpu"}) {
    if (const auto v = number(run, key, path, 0, 1e18); v && *v <= 0)
      throw InputError({path, 0, 0}, key, "expected a positive number, found 0");
  }
  // 0: the device's peak is not known (trainsim-exec on a CPU); above 1: the run's device was
  // faster than the scenario's GPU whose peak trainsim-exec divides by. Neither is compared.
  number(run, "mfu", path, 0, 1000);
  // Each step listed is a step as step_time_s is one; warm-up counts steps.
  if (run.contains("step_times_s")) {
    if (!run["step_times_s"].is_array()) throw InputError({path, 0, 0}, "step_times_s", "expected a list of seconds");
    for (const auto& v : run["step_times_s"]) {
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 1e-6 || v.get<double>() > 1e9)
        throw InputError({path, 0, 0}, "step_times_s", "expected steps from 1e-06 to 1e+09 s, found " + v.dump());
    }
  }
  if (run.contains("warmup") && (!run["warmup"].is_number_integer() || run["warmup"].get<std::int64_t>() < 0))
    throw InputError({path, 0, 0}, "warmup", "expected a count of steps, found " + run["warmup"].dump());
  (void)text(run, "device", path);
  for (const char* section : {"breakdown_s", "memory_per_gpu_bytes", "model", "plan"}) {
    if (run.contains(section) && !run[section].is_object())
      throw InputError({path, 0, 0}, section, "expected an object");
  }
  // The parts of a step and the bytes on a GPU are never negative (a peak of -1 B was compared).
  if (run.contains("breakdown_s")) {
    for (const auto& [key, value] : run["breakdown_s"].items()) {
      if (value.is_number()) number(run["breakdown_s"], key.c_str(), path, 0, 1e9);
    }
  }
  if (run.contains("memory_per_gpu_bytes")) {
    for (const auto& [key, value] : run["memory_per_gpu_bytes"].items()) {
      if (value.is_number()) number(run["memory_per_gpu_bytes"], key.c_str(), path, 0, 1e18);
    }
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
    // The rules a scenario's model is read under: a run of another shape is priced as one.
    if (const auto problem = model_shape_problem(sc.model)) {
      throw InputError({path, 0, 0}, "model." + problem->first, problem->second);
    }
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
    for (const Recompute r : {Recompute::none, Recompute::selective, Recompute::op, Recompute::qkv, Recompute::full}) {
      if (recompute == recompute_name(r)) sc.plan.recompute = r;
    }
    if (auto v = number(p, "recompute_fraction", path, 0, 1)) sc.plan.recompute_fraction = *v;
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

namespace trainsim {

std::vector<std::string> measurement_mismatches(const Scenario& sc, const nlohmann::json& run) {
  std::vector<std::string> out;
  auto compare = [&](const std::string& key, const nlohmann::json& section, const char* field, double expected) {
    if (!section.is_object() || !section.contains(field) || !section[field].is_number()) return;
    const double measured = section[field].get<double>();
    if (measured == expected) return;
    char text[200];
    std::snprintf(text, sizeof text, "%s: scenario %.15g, measured %.15g", (key + "." + field).c_str(), expected,
                  measured);
    out.push_back(text);
  };
  auto compare_text = [&](const std::string& key, const nlohmann::json& section, const char* field,
                          const std::string& expected) {
    if (!section.is_object() || !section.contains(field) || !section[field].is_string()) return;
    std::string measured = section[field].get<std::string>();
    // "bf16 (autocast)" is bf16: the note in brackets says how, not what.
    measured = measured.substr(0, measured.find(' '));
    if (measured != expected) out.push_back(key + "." + field + ": scenario " + expected + ", measured " + measured);
  };
  if (run.contains("model")) {
    const auto& m = run["model"];
    const ModelSpec& s = sc.model;
    compare_text("model", m, "arch", arch_name(s.arch));
    compare("model", m, "layers", s.layers);
    compare("model", m, "hidden", s.hidden);
    compare("model", m, "heads", s.heads);
    compare("model", m, "kv_heads", s.kv_heads);
    compare("model", m, "ffn_hidden", s.ffn_hidden);
    compare("model", m, "seq_len", s.seq_len);
    compare("model", m, "vocab", s.vocab);
  }
  if (run.contains("plan")) {
    const auto& p = run["plan"];
    const PlanSpec& s = sc.plan;
    compare("plan", p, "dp", s.dp);
    compare("plan", p, "tp", s.tp);
    compare("plan", p, "pp", s.pp);
    compare("plan", p, "micro_batch", s.micro_batch);
    compare("plan", p, "global_batch", double(s.global_batch));
    compare("plan", p, "zero", s.zero);
    compare("plan", p, "virtual_stages", s.virtual_stages);
    compare_text("plan", p, "schedule", schedule_name(s.schedule));
    compare_text("plan", p, "recompute", recompute_name(s.recompute));
    compare("plan", p, "recompute_fraction", s.recompute_fraction);
    compare_text("plan", p, "precision", precision_name(s.precision));
    if (p.contains("sequence_parallel") && p["sequence_parallel"].is_boolean() &&
        p["sequence_parallel"].get<bool>() != s.sequence_parallel) {
      out.push_back(std::string("plan.sequence_parallel: scenario ") + (s.sequence_parallel ? "true" : "false") +
                    ", measured " + (s.sequence_parallel ? "false" : "true"));
    }
  }
  // The device: run.json names the GPU when the executor knows it ("gpu"), and always says
  // whether it ran on CUDA or on CPUs ("device").
  const std::string gpu = sc.cluster.topology.gpu.name;
  const bool cpu_scenario = gpu.rfind("cpu", 0) == 0;
  if (run.contains("gpu") && run["gpu"].is_string() && run["gpu"].get<std::string>() != gpu) {
    out.push_back("gpu: scenario " + gpu + ", measured " + run["gpu"].get<std::string>());
  } else if (run.contains("device") && run["device"].is_string()) {
    const std::string device = run["device"].get<std::string>();
    const bool cpu_run = device.rfind("cpu", 0) == 0;
    if (cpu_run != cpu_scenario) out.push_back("device: scenario " + gpu + ", measured " + device);
  }
  return out;
}

}  // namespace trainsim
