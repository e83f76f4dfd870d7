// `trainsim validate SCENARIO --measured run.json`: the prediction next to what
// trainsim-exec measured, field by field, with the error. The model shape and
// batch the run used (it may scale the scenario down) are applied to the
// scenario first, so both describe the same job.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "report/measurement.hpp"
#include "report/prediction.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim::cli {

int validate(const std::string& scenario_file, const std::string& measured_file, const std::string& profile_file) {
  Scenario sc = load_scenario(scenario_file);
  const nlohmann::json run = parse_measurement(read_input_file(measured_file, "the measurement"), measured_file);
  apply_measurement(sc, run, measured_file);
  SimulationOptions options;
  if (!profile_file.empty()) options.profile = load_calibration(profile_file);
  const nlohmann::json predicted = prediction_json(predict(sc, options));
  std::printf("%s: predicted (trainsim predict) against measured (%s, %s)\n\n", sc.name.c_str(), measured_file.c_str(),
              run.value("device", "?").c_str());
  std::printf("  %-28s %14s %14s %9s\n", "field", "predicted", "measured", "error");
  auto row = [&](const std::string& label, const nlohmann::json& p, const nlohmann::json& m, const char* key) {
    if (!p.contains(key) || !m.is_object() || !m.contains(key) || !m[key].is_number()) return;
    const double pv = p[key].get<double>(), mv = m[key].get<double>();
    const double error = mv != 0 ? 100 * (pv - mv) / mv : 0;
    std::printf("  %-28s %14.6g %14.6g %+8.1f%%\n", label.c_str(), pv, mv, error);
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
  return 0;
}

}  // namespace trainsim::cli
