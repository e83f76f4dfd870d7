// `trainsim validate SCENARIO --measured run.json`: the prediction next to what
// trainsim-exec measured, field by field, with the error and a one-line verdict. A run of
// another model, plan or device is refused unless --force: the numbers would not describe the
// same job. With --force, the model shape and batch the run used (it may scale the scenario
// down) are applied to the scenario first, so both describe the same job.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "report/measurement.hpp"
#include "report/prediction.hpp"
#include "scenario/units.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim::cli {
namespace {

// A value in the units people read it in.
std::string human(const std::string& key, double v) {
  char text[64];
  if (key.find("memory") != std::string::npos) return units::format_bytes(v);
  if (key == "tokens_per_s") return units::format_count(v) + "/s";
  if (key == "mfu") {
    std::snprintf(text, sizeof text, "%.1f%%", 100 * v);
    return text;
  }
  if (key.find("tflops") != std::string::npos) {
    std::snprintf(text, sizeof text, "%.1f TFLOP/s", v);
    return text;
  }
  return units::format_duration(v);  // step time and its breakdown, in seconds
}

}  // namespace

int validate(const std::string& scenario_file, const std::string& measured_file, const std::string& profile_file,
             bool force) {
  Scenario sc = load_scenario(scenario_file);
  const nlohmann::json run = parse_measurement(read_input_file(measured_file, "the measurement"), measured_file);
  const auto mismatches = measurement_mismatches(sc, run);
  if (!mismatches.empty()) {
    std::string list;
    for (const auto& m : mismatches) list += "\n  " + m;
    if (!force) {
      throw InputError({measured_file, 0, 0}, "",
                       "the measured run is not the scenario's job (" + scenario_file + "):" + list +
                           "\nmeasure the scenario's job, or pass --force to predict the measured one instead");
    }
    std::cerr << "trainsim: WARNING: --force: the measured run is not the scenario's job; predicting the run's "
                 "model and plan instead:"
              << list << "\n";
  }
  apply_measurement(sc, run, measured_file);
  SimulationOptions options;
  if (!profile_file.empty()) options.profile = load_calibration(profile_file);
  const nlohmann::json predicted = prediction_json(predict(sc, options));
  std::printf("%s: predicted (trainsim predict) against measured (%s, %s)%s\n\n", sc.name.c_str(),
              measured_file.c_str(), run.value("device", "?").c_str(),
              mismatches.empty() ? "" : " [--force: not the scenario's job]");
  std::printf("  %-28s %16s %16s %9s\n", "field", "predicted", "measured", "error");
  auto row = [&](const std::string& label, const nlohmann::json& p, const nlohmann::json& m, const char* key) {
    if (!p.contains(key) || !m.is_object() || !m.contains(key) || !m[key].is_number()) return;
    const double pv = p[key].get<double>(), mv = m[key].get<double>();
    const double error = mv != 0 ? 100 * (pv - mv) / mv : 0;
    std::printf("  %-28s %16s %16s %+8.1f%%\n", label.c_str(), human(label, pv).c_str(), human(label, mv).c_str(),
                error);
  };
  for (const char* key : {"step_time_s", "tokens_per_s", "model_tflops_per_gpu", "mfu"}) row(key, predicted, run, key);
  if (run.contains("breakdown_s")) {
    for (const char* key : {"compute", "exposed_comm", "bubble", "optimizer"}) {
      row(std::string("breakdown_s.") + key, predicted["breakdown_s"], run["breakdown_s"], key);
    }
  }
  if (run.contains("memory_per_gpu_bytes")) {
    row("memory_per_gpu_bytes.peak", predicted["memory_per_gpu_bytes"], run["memory_per_gpu_bytes"], "peak");
  }
  // The spread of the measured steps (after warm-up), when the run lists them: an error inside it
  // is noise, not the model.
  if (run.contains("step_times_s") && run["step_times_s"].is_array() && !run["step_times_s"].empty()) {
    std::vector<double> steps;
    for (const auto& v : run["step_times_s"]) {
      if (v.is_number()) steps.push_back(v.get<double>());
    }
    const std::size_t warmup = std::min<std::size_t>(run.value("warmup", 0), steps.size() - 1);
    steps.erase(steps.begin(), steps.begin() + warmup);
    std::sort(steps.begin(), steps.end());
    if (!steps.empty()) {
      const double median = steps[steps.size() / 2];
      std::printf(
          "\n  measured steps: %zu after %zu warm-up, min %s, median %s, max %s (spread %.1f%% of the median)\n",
          steps.size(), warmup, units::format_duration(steps.front()).c_str(), units::format_duration(median).c_str(),
          units::format_duration(steps.back()).c_str(),
          median > 0 ? 100 * (steps.back() - steps.front()) / median : 0.0);
    }
  }
  const double p = predicted["step_time_s"].get<double>(), m = run["step_time_s"].get<double>();
  const double error = m > 0 ? 100 * (p - m) / m : 0;
  const double band = [&] {
    for (const double b : {1.0, 2.0, 5.0, 10.0, 20.0, 50.0}) {
      if (std::abs(error) <= b) return b;
    }
    return 0.0;
  }();
  char verdict[160];
  const char* direction = error < 0 ? "faster" : "slower";
  if (band > 0)
    std::snprintf(verdict, sizeof verdict, "prediction within %.0f%%: %.1f%% %s than measured", band, std::abs(error),
                  direction);
  else
    std::snprintf(verdict, sizeof verdict, "prediction off by %.0f%%: %.1f%% %s than measured", std::abs(error),
                  std::abs(error), direction);
  std::printf("\n%s\n", verdict);
  return 0;
}

}  // namespace trainsim::cli
