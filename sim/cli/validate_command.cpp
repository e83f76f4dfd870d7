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

int validate(const ValidateOptions& o) {
  const std::string& scenario_file = o.scenario;
  const std::string& measured_file = o.measured;
  const std::string& profile_file = o.profile;
  const bool force = o.force;
  Scenario sc = load_with_overrides(scenario_file, o.overrides);
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
  using units::TextTable;
  TextTable table({TextTable::Align::left, TextTable::Align::right, TextTable::Align::right, TextTable::Align::right});
  table.add({"", "predicted", "measured", "error"});
  for (const auto& f : compare_with_measurement(predicted, run)) {
    table.add({(f.part ? "  " : "") + f.label, f.predicted, f.measured,
               (f.error > 0 ? "+" : "") + units::format_percent(f.error)});
  }
  std::printf("%s", table.str().c_str());
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
  std::printf("\n%s\n",
              measurement_verdict(predicted["step_time_s"].get<double>(), run["step_time_s"].get<double>()).c_str());
  return 0;
}

}  // namespace trainsim::cli
