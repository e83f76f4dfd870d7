#include "cli/commands.hpp"

#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "network/platform.hpp"
#include "report/prediction.hpp"
#include "scenario/overrides.hpp"
#include "scenario/scenario.hpp"
#include "scenario/units.hpp"
#include "scenario/yaml_reader.hpp"
#include "search/search.hpp"
#include "topology/graph.hpp"

namespace trainsim::cli {
namespace {

void print_warnings(const std::vector<Finding>& warnings) {
  for (const auto& w : warnings) std::cerr << "trainsim: warning: '" << w.key << "': " << w.message << "\n";
}

void write_output(const std::string& text, const std::string& out_file) {
  if (out_file.empty()) {
    std::cout << text;
    return;
  }
  // Write beside the target, then rename: an interrupted export never leaves half a file.
  const std::string partial = out_file + ".partial";
  {
    std::ofstream out(partial, std::ios::binary);
    if (!out) throw InputError({out_file, 0, 0}, "", "cannot write the file");
    out << text;
    if (!out.flush()) throw std::runtime_error("writing " + out_file + " failed");
  }
  if (std::rename(partial.c_str(), out_file.c_str()) != 0) throw std::runtime_error("cannot rename to " + out_file);
}

ClusterGraph checked_graph(const TopologySpec& spec, int nodes = 0) {
  ClusterGraph graph = build_cluster_graph(spec, nodes);
  if (const auto missing = unreachable_gpus(graph); !missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 16; ++i) list += (i ? ", " : "") + std::to_string(missing[i]);
    if (missing.size() > 16) list += ", ... (" + std::to_string(missing.size()) + " in all)";
    throw InputError({spec.file, 0, 0}, "network",
                     "GPUs unreachable from GPU 0: " + list + " (is the network missing or cut?)");
  }
  return graph;
}

}  // namespace

Scenario load_with_overrides(const std::string& file, const std::vector<std::string>& overrides) {
  return load_scenario_document(load_yaml_with_overrides(file, overrides), file);
}

int predict(const PredictOptions& options) {
  // A scenario with lists or `auto` in its plan describes many plans: that is search's job.
  const YAML::Node document = load_yaml_with_overrides(options.scenario, options.overrides);
  if (const auto searched = searched_fields(document); !searched.empty()) {
    const std::string& key = searched.front();
    throw InputError(location_of(document["plan"][key], options.scenario), "plan." + key,
                     "this scenario searches (" + key + " is " +
                         (document["plan"][key].IsSequence() ? "a list" : "auto") + "); run trainsim search " +
                         options.scenario);
  }
  const Scenario sc = load_scenario_document(document, options.scenario);
  checked_graph(sc.cluster.topology,
                (sc.cluster.gpus + sc.cluster.topology.gpus_per_node - 1) / sc.cluster.topology.gpus_per_node);
  SimulationOptions sim;
  sim.record_trace = !options.trace_file.empty();
  if (!options.profile.empty()) sim.profile = load_calibration(options.profile);
  Prediction p = trainsim::predict(sc, sim);
  if (!p.memory.fits()) {
    p.suggestions = suggest_fitting_plans(sc);
    if (p.suggestions.empty()) p.fits_from_gpus = smallest_fitting_gpus(nearby_plans(sc));
  }
  // The scenario's warnings and the prediction's (memory), the same list as --json's "warnings".
  print_warnings(p.warnings);
  if (!options.trace_file.empty()) write_output(chrome_trace(p), options.trace_file);
  if (options.json) {
    std::cout << prediction_json(p).dump(2) << "\n";
  } else {
    std::cout << prediction_table(p, sc);
  }
  return options.strict && !p.memory.fits() ? kExitDoesNotFit : 0;
}

int topology_show(const std::string& name_or_path, bool json) {
  const TopologySpec spec = load_topology(name_or_path);
  const ClusterGraph graph = checked_graph(spec);
  const GraphSummary s = summarize(graph);
  if (json) {
    nlohmann::json j = {{"name", spec.name},
                        {"gpu", spec.gpu.name},
                        {"gpus", s.gpus},
                        {"nodes", s.nodes},
                        {"gpus_per_node", spec.gpus_per_node},
                        {"switches", s.switches},
                        {"links", s.links},
                        {"fabric", fabric_name(spec.fabric)},
                        {"diameter_hops", s.diameter_hops},
                        {"diameter_latency_s", s.diameter_latency},
                        {"bisection_bandwidth_Bps", s.bisection_bandwidth},
                        {"nic_bandwidth_Bps", spec.nic_bandwidth},
                        {"nvlink_bandwidth_Bps", spec.gpu.nvlink_bandwidth}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << spec.name << ": " << spec.description << "\n\n"
            << "  GPUs            " << s.gpus << " x " << spec.gpu.name << " (" << spec.gpus_per_node << " per node)\n"
            << "  nodes           " << s.nodes << "\n"
            << "  fabric          " << fabric_name(spec.fabric) << "\n"
            << "  switches        " << s.switches << " (modelled: node switches, leaves, spine layer, routers)\n"
            << "  links           " << s.links << "\n"
            << "  NVLink / GPU    " << units::format_bandwidth(spec.gpu.nvlink_bandwidth) << " each way\n"
            << "  NIC / GPU       " << units::format_bandwidth(spec.nic_bandwidth) << " each way\n"
            << "  diameter        " << s.diameter_hops << " links, " << units::format_duration(s.diameter_latency)
            << "\n"
            << "  bisection       " << units::format_bandwidth(s.bisection_bandwidth) << " each way\n"
            << "  source          " << spec.source << "\n";
  return 0;
}

int topology_export(const std::string& name_or_path, const std::string& format, const std::string& out_file) {
  const TopologySpec spec = load_topology(name_or_path);
  const ClusterGraph graph = checked_graph(spec);
  if (format == "dot") {
    write_output(to_dot(graph), out_file);
    return 0;
  }
  write_output(platform_xml(graph), out_file);
  return 0;
}

int list_presets(bool json) {
  if (json) {
    nlohmann::json j = {{"gpus", gpu_preset_names()},
                        {"models", model_preset_names()},
                        {"topologies", topology_preset_names()},
                        {"datasets", dataset_preset_names()}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  auto print = [](const char* title, const std::vector<std::string>& names) {
    std::cout << title << ":";
    for (const auto& n : names) std::cout << " " << n;
    std::cout << "\n";
  };
  print("gpus", gpu_preset_names());
  print("models", model_preset_names());
  print("topologies", topology_preset_names());
  print("datasets", dataset_preset_names());
  return 0;
}

}  // namespace trainsim::cli
