// trainsim: predict the step time, memory and time to train of a distributed
// training plan.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "scenario/errors.hpp"
#include "scenario/overrides.hpp"
#include "scenario/units.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "trainsim: predict how long distributed training takes on a "
      "described cluster"};
  app.set_version_flag("--version", std::string("trainsim ") + TRAINSIM_VERSION);
  app.require_subcommand(1);

  trainsim::cli::PredictOptions predict;
  auto* predict_cmd = app.add_subcommand("predict", "Simulate one training step of a scenario and report it");
  predict_cmd->add_option("scenario", predict.scenario, "Scenario file (YAML)")->required();
  predict_cmd->add_flag("--json", predict.json, "Print one JSON object instead of the table");
  predict_cmd->add_option("--trace", predict.trace_file, "Write one simulated step as a Chrome/Perfetto trace");
  predict_cmd->add_option("--profile", predict.profile, "Calibration profile (JSON) for the GPU's compute model");
  auto* json_flag = predict_cmd->get_option("--json");
  predict_cmd
      ->add_flag("--kernels", predict.kernels, "Also print every kernel of one layer as priced: FLOPs, bytes, time")
      ->excludes(json_flag);
  predict_cmd->add_flag("--strict", predict.strict, "Exit with code 3 when the plan does not fit in GPU memory");
  predict_cmd
      ->add_option("--fidelity", predict.fidelity,
                   "full (simulated, steady state extended), exhaustive (every micro-batch and rank "
                   "simulated) or estimate (the search's closed form, milliseconds)")
      ->check(CLI::IsMember({"full", "exhaustive", "estimate"}));
  // Every command that reads a scenario takes --set; only one command runs, so they share a list.
  std::vector<std::string> overrides;
  const char* set_help = "Override a scenario key as if edited in the file: --set plan.tp=8 --set cluster.gpus=512";
  predict_cmd->add_option("--set", overrides, set_help)->allow_extra_args(false)->take_all();

  trainsim::cli::SearchCliOptions search;
  auto* search_cmd = app.add_subcommand("search", "Find the fastest plans: plan fields may be 'auto' or lists");
  search_cmd->add_option("scenario", search.scenario, "Scenario file (YAML)")->required();
  search_cmd->add_option("--top", search.top, "Plans confirmed by full simulation")->check(CLI::Range(0, 10000));
  search_cmd
      ->add_option("--fidelity", search.fidelity,
                   "full (the best plans confirmed by simulation) or estimate (closed form only: --top 0)")
      ->check(CLI::IsMember({"full", "estimate"}));
  search_cmd->add_option("--threads", search.threads, "Worker threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  search_cmd->add_flag("--json", search.json, "Print every evaluated plan as JSON");
  search_cmd->add_option("--csv", search.csv_file, "Write every evaluated plan to a CSV file");
  search_cmd->add_flag("--pareto", search.pareto, "Mark the Pareto front of step time against memory");
  // Durations with a unit ("30s", "2min", "30d"); a bare number is seconds.
  const auto duration = [](std::string text) {
    const auto seconds = trainsim::units::parse_duration(text);
    if (!seconds || *seconds < 0) throw CLI::ValidationError("expected a duration such as 30s, 5min or 30d: " + text);
    return std::to_string(*seconds);
  };
  search_cmd
      ->add_option("--time-limit", search.time_limit_s,
                   "Stop after this long (30s, 2min) with the best plans so far; 0: no limit (the default)")
      ->transform(duration);
  search_cmd->add_option("--export", search.export_file, "Write the best plan as a scenario file that predict runs");
  search_cmd->add_flag("--all", search.all, "With --json: also list refused and non-fitting plans with the reason");
  search_cmd
      ->add_option("--objective", search.objective,
                   "time: fastest step; cost: cheapest to train; gpus: fewest GPUs (with --deadline)")
      ->check(CLI::IsMember({"time", "cost", "gpus"}));
  search_cmd->add_option("--deadline", search.deadline_s, "Time to train at most this (30d), for cost and gpus")
      ->transform(duration);
  search_cmd
      ->add_option("--max-memory", search.max_memory,
                   "Refuse plan spaces that would need more memory than this (e.g. 2GiB)")
      ->transform(CLI::AsSizeValue(false));
  search_cmd->add_option("--set", overrides, set_help)->allow_extra_args(false)->take_all();

  trainsim::cli::CompareOptions compare;
  auto* compare_cmd = app.add_subcommand("compare", "Compare clusters: best plan, time, cost and energy to train");
  compare_cmd->add_option("scenarios", compare.scenarios, "Scenario files (plans may be 'auto')")->required();
  compare_cmd->add_option("--top", compare.top, "Plans confirmed by simulation per cluster")
      ->check(CLI::Range(1, 1000));
  compare_cmd
      ->add_option("--fidelity", compare.fidelity,
                   "full (the best plans confirmed by simulation) or estimate (closed form only, milliseconds a "
                   "plan; --top is not used)")
      ->check(CLI::IsMember({"full", "estimate"}));
  compare_cmd->add_flag("--json", compare.json, "Print the clusters' best plans and predictions as JSON");
  compare_cmd
      ->add_option("--time-limit", compare.time_limit_s,
                   "Stop each cluster's search after this long (30s, 2min) with its best plan so far; 0: no "
                   "limit (the default)")
      ->transform(duration);
  compare_cmd->add_option("--csv", compare.csv_file, "Write the table as CSV");
  compare_cmd->add_option("--svg", compare.svg_file, "Write a chart (SVG)");
  compare_cmd->add_option("--set", overrides, set_help)->allow_extra_args(false)->take_all();

  trainsim::cli::ValidateOptions validate;
  auto* validate_cmd = app.add_subcommand("validate", "Put a prediction next to a trainsim-exec measurement");
  validate_cmd->add_option("scenario", validate.scenario, "Scenario file (YAML)")->required();
  validate_cmd->add_option("--measured", validate.measured, "run.json written by trainsim-exec --out, or a published run by hand: "
                            "{\"step_time_s\": 8.0} (tokens_per_s, mfu, memory_per_gpu_bytes.peak optional)")->required();
  validate_cmd->add_flag("--force", validate.force,
                         "Compare even when the run's model, plan or device differ (predicts the run's job)");
  validate_cmd->add_option("--profile", validate.profile,
                           "Calibration profile (trainsim-exec calibrate) for the prediction");
  validate_cmd->add_option("--set", overrides, set_help)->allow_extra_args(false)->take_all();

  auto* topology_cmd = app.add_subcommand("topology", "Inspect and export cluster topologies");
  topology_cmd->require_subcommand(1);
  std::string topology_name;
  bool topology_json = false;
  auto* show_cmd = topology_cmd->add_subcommand("show", "GPUs, nodes, switches, links, diameter, bisection");
  show_cmd->add_option("topology", topology_name, "Preset name or topology file")->required();
  show_cmd->add_flag("--json", topology_json, "Print JSON");
  int grow_gpus = 0, grow_nodes = 0;
  show_cmd->add_option("--gpus", grow_gpus, "Size the fabric for this many GPUs (fat trees and rail-optimized grow)")
      ->check(CLI::Range(1, 1 << 22));
  show_cmd->add_option("--nodes", grow_nodes, "Size the fabric to this many nodes")->check(CLI::Range(1, 1 << 20));
  std::string export_format = "dot";
  std::string export_out;
  auto* export_cmd = topology_cmd->add_subcommand("export", "Write the topology as a SimGrid platform or Graphviz");
  export_cmd->add_option("topology", topology_name, "Preset name or topology file")->required();
  export_cmd->add_option("--format", export_format, "simgrid-xml or dot")->check(CLI::IsMember({"simgrid-xml", "dot"}));
  export_cmd->add_option("-o,--output", export_out, "Output file (default: standard output)");

  // trainsim export: plans to frameworks and back. The text after `--from FRAMEWORK` is taken
  // before CLI11 parses the line, as Megatron-LM arguments start with "--".
  trainsim::cli::ExportOptions export_options;
  std::vector<char*> arguments(argv, argv + argc);
  if (argc > 1 && std::string(argv[1]) == "export") {
    for (std::size_t i = 2; i < arguments.size(); ++i) {
      const std::string word = arguments[i];
      // "--from megatron ARGS" or "--from=megatron ARGS": ARGS is the word after the framework.
      const std::size_t source = word == "--from" ? i + 2 : word.rfind("--from=", 0) == 0 ? i + 1 : 0;
      if (source == 0) continue;
      if (source < arguments.size()) {
        export_options.from_source = arguments[source];
        arguments.erase(arguments.begin() + static_cast<std::ptrdiff_t>(source));
      }
      break;
    }
  }
  auto* plan_export_cmd = app.add_subcommand(
      "export",
      "Write the plan as Megatron-LM arguments, a torchtitan TOML or a NeMo recipe override; or read one back");
  plan_export_cmd->add_option("scenario", export_options.input, "Scenario file (YAML), with --to");
  plan_export_cmd->add_option("--to", export_options.to, "megatron, torchtitan or nemo")
      ->check(CLI::IsMember({"megatron", "torchtitan", "nemo"}));
  plan_export_cmd
      ->add_option("--from", export_options.from,
                   "megatron \"ARGS\" (or a file of them) or torchtitan FILE.toml: write a scenario")
      ->check(CLI::IsMember({"megatron", "torchtitan"}));
  plan_export_cmd->add_option("--base", export_options.base,
                              "With --from: the scenario giving cluster, model and the rest");
  plan_export_cmd->add_option("--topology", export_options.topology,
                              "With --from and no --base: the cluster's topology");
  plan_export_cmd->add_option("--gpus", export_options.gpus, "With --topology: GPUs the job uses")
      ->check(CLI::Range(1, 1 << 20));
  plan_export_cmd->add_option("--gpu", export_options.gpu, "With --topology: the GPU preset");
  plan_export_cmd->add_option("-o,--output", export_options.output, "Output file (default: standard output)");
  plan_export_cmd->add_option("--set", overrides, set_help)->allow_extra_args(false)->take_all();

  bool presets_json = false;
  auto* presets_cmd = app.add_subcommand("presets", "List the built-in GPU, model and topology presets");
  presets_cmd->add_flag("--json", presets_json, "Print JSON");
  std::string preset_shown;
  presets_cmd->add_option("--show", preset_shown,
                          "One preset (GPU, model, topology, dataset): every number and its source");

  try {
    app.parse(static_cast<int>(arguments.size()), arguments.data());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors are bad input
  }

  predict.overrides = search.overrides = compare.overrides = validate.overrides = export_options.overrides = overrides;
  try {
    if (*predict_cmd) return trainsim::cli::predict(predict);
    if (*search_cmd) return trainsim::cli::search(search);
    if (*compare_cmd) return trainsim::cli::compare(compare);
    if (*validate_cmd) return trainsim::cli::validate(validate);
    if (*show_cmd) return trainsim::cli::topology_show(topology_name, topology_json, grow_gpus, grow_nodes);
    if (*export_cmd) return trainsim::cli::topology_export(topology_name, export_format, export_out);
    if (*plan_export_cmd) return trainsim::cli::export_plan(export_options);
    if (*presets_cmd) {
      return preset_shown.empty() ? trainsim::cli::list_presets(presets_json)
                                  : trainsim::cli::show_preset(preset_shown, presets_json);
    }
  } catch (const trainsim::InputError& e) {
    std::cerr << "trainsim: error: " << trainsim::relabel_for_overrides(e, overrides).what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "trainsim: failed: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
