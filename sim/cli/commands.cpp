#include "cli/commands.hpp"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "network/platform.hpp"
#include "report/kernel_table.hpp"
#include "report/prediction.hpp"
#include "scenario/overrides.hpp"
#include "scenario/scenario.hpp"
#include "scenario/units.hpp"
#include "scenario/yaml_reader.hpp"
#include "search/search.hpp"
#include "topology/graph.hpp"

namespace trainsim::cli {
void print_warnings(const std::vector<Finding>& warnings) {
  for (const auto& w : warnings) std::cerr << "trainsim: warning: '" << w.key << "': " << w.message << "\n";
}

namespace {

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

// A topology by preset name or file for the topology commands: an unknown name is an error about
// the command's argument, not a scenario's cluster.topology.
TopologySpec topology_named(const std::string& name_or_path) {
  try {
    return load_topology(name_or_path);
  } catch (const InputError& e) {
    if (!e.where().file.empty()) throw;  // an error inside a topology file keeps its place
    throw InputError({}, "topology", e.problem());
  }
}

}  // namespace

namespace {
// A scenario with lists or `auto` in its plan describes many plans: that is search's job.
void refuse_plan_space(const YAML::Node& document, const std::string& file) {
  if (const auto searched = searched_fields(document); !searched.empty()) {
    const std::string& key = searched.front();
    throw InputError(location_of(document["plan"][key], file), "plan." + key,
                     "this scenario searches (" + key + " is " +
                         (document["plan"][key].IsSequence() ? "a list" : "auto") + "); run trainsim search " + file +
                         " (its --export writes the best plan as a scenario)");
  }
}
}  // namespace

Scenario load_with_overrides(const std::string& file, const std::vector<std::string>& overrides) {
  const YAML::Node document = load_yaml_with_overrides(file, overrides);
  refuse_plan_space(document, file);
  return load_scenario_document(document, file);
}

int predict(const PredictOptions& options) {
  const Scenario sc = load_with_overrides(options.scenario, options.overrides);
  checked_graph(sc.cluster.topology,
                (sc.cluster.gpus + sc.cluster.topology.gpus_per_node - 1) / sc.cluster.topology.gpus_per_node);
  SimulationOptions sim;
  sim.record_trace = !options.trace_file.empty();
  sim.periodic = sim.mirror_symmetric = options.fidelity != "exhaustive";
  if (!options.profile.empty()) {
    sim.profile = load_calibration(options.profile);
    const std::string& gpu = sc.cluster.topology.gpu.name;
    if (!sim.profile->gpu.empty() && sim.profile->gpu != gpu) {
      std::cerr << "trainsim: warning: '--profile': measured on " << sim.profile->gpu << ", applied to " << gpu
                << " (its efficiencies are that GPU's)\n";
    }
  }
  sim.estimate = options.fidelity == "estimate";
  // The scenario's own warnings (a global batch that looks like tokens) before the simulation,
  // which such a mistake can make long; the prediction's (memory) after it.
  print_warnings(sc.warnings);
  Prediction p = trainsim::predict(sc, sim);
  if (!p.memory.fits()) {
    p.suggestions = suggest_fitting_plans(sc);
    if (p.suggestions.empty()) p.fits_from_gpus = smallest_fitting_gpus(nearby_plans(sc));
  }
  // --json's "warnings" lists both.
  print_warnings({p.warnings.begin() + static_cast<std::ptrdiff_t>(std::min(sc.warnings.size(), p.warnings.size())),
                  p.warnings.end()});
  if (!options.trace_file.empty()) write_output(chrome_trace(p), options.trace_file);
  if (options.json) {
    std::cout << prediction_json(p).dump(2) << "\n";
  } else {
    std::cout << prediction_table(p, sc);
  }
  if (options.kernels) std::cout << "\n" << kernel_table(sc, sim.profile.value_or(CalibrationProfile{}));
  return options.strict && !p.memory.fits() ? kExitDoesNotFit : 0;
}

int topology_show(const std::string& name_or_path, bool json, int gpus, int nodes) {
  TopologySpec spec = topology_named(name_or_path);
  const int preset_nodes = spec.nodes;
  if (gpus > 0 || nodes > 0) {
    if (!spec.resizable()) throw InputError({"", 0, 0}, gpus > 0 ? "--gpus" : "--nodes", spec.resize_refusal());
    spec.nodes = nodes > 0 ? nodes : (gpus + spec.gpus_per_node - 1) / spec.gpus_per_node;
  }
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
    if (spec.nodes != preset_nodes) j["resized_from_nodes"] = preset_nodes;
    for (const auto& group : spec.node_groups) {
      j["node_groups"].push_back({{"nodes", group.nodes},
                                  {"gpus", group.nodes * spec.gpus_per_node},
                                  {"gpu", group.gpu.name},
                                  {"memory_bytes", group.gpu.memory_bytes},
                                  {"peak_bf16_flops", group.gpu.peak_bf16},
                                  {"nvlink_bandwidth_Bps", group.gpu.nvlink_bandwidth}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  using units::TextTable;
  TextTable t({TextTable::Align::left, TextTable::Align::left});
  // A cluster of several GPU kinds: one line per node group, each with its GPU's own figures.
  if (spec.node_groups.empty()) {
    t.add({"GPUs", units::format_thousands(s.gpus) + " x " + spec.gpu.name + " (" + std::to_string(spec.gpus_per_node) +
                       " per node)"});
  } else {
    t.add({"GPUs", units::format_thousands(s.gpus) + " in " + std::to_string(spec.node_groups.size()) +
                       " node groups, " + std::to_string(spec.gpus_per_node) + " per node"});
    int first_node = 0;
    for (const auto& group : spec.node_groups) {
      const GpuSpec& g = group.gpu;
      t.add({"", "nodes " + std::to_string(first_node) + "-" + std::to_string(first_node + group.nodes - 1) + ": " +
                     units::format_thousands(group.nodes * spec.gpus_per_node) + " x " + g.name + ", " +
                     units::format_bytes(g.memory_bytes) + ", " + units::format_rate(g.peak_bf16) + " bf16, NVLink " +
                     units::format_bandwidth(g.nvlink_bandwidth) + " each way"});
      first_node += group.nodes;
    }
  }
  t.add({"nodes", units::format_thousands(s.nodes) +
                      (spec.nodes != preset_nodes
                           ? " (the preset's " + units::format_thousands(preset_nodes) + " resized on its design: " +
                                 std::to_string(spec.nodes_per_leaf) + " nodes per leaf, oversubscription " +
                                 units::format_number(spec.oversubscription) + ")"
                           : "")});
  t.add({"fabric", fabric_name(spec.fabric)});
  t.add({"switches", units::format_thousands(s.switches) + " (modelled: node switches, leaves, spine layer, routers)"});
  t.add({"links", units::format_thousands(s.links)});
  if (spec.node_groups.empty())
    t.add({"NVLink / GPU", units::format_bandwidth(spec.gpu.nvlink_bandwidth) + " each way"});
  t.add({"NIC / GPU", units::format_bandwidth(spec.nic_bandwidth) + " each way"});
  t.add({"diameter", std::to_string(s.diameter_hops) + " links, " + units::format_duration(s.diameter_latency)});
  t.add({"bisection", units::format_bandwidth(s.bisection_bandwidth) + " each way"});
  t.add({"source", spec.source});
  std::cout << spec.name << ": " << spec.description << "\n\n" << t.str();
  return 0;
}

int topology_export(const std::string& name_or_path, const std::string& format, const std::string& out_file) {
  const TopologySpec spec = topology_named(name_or_path);
  const ClusterGraph graph = checked_graph(spec);
  if (format == "dot") {
    write_output(to_dot(graph), out_file);
    return 0;
  }
  write_output(platform_xml(graph), out_file);
  return 0;
}

namespace {

// A YAML value as JSON: numbers written plainly become numbers, true/false booleans, the rest
// text as written ("80GiB": the unit is part of the value).
nlohmann::json yaml_to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& entry : node) j[entry.first.Scalar()] = yaml_to_json(entry.second);
    return j;
  }
  if (node.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& item : node) j.push_back(yaml_to_json(item));
    return j;
  }
  if (!node.IsScalar()) return nullptr;
  const std::string& s = node.Scalar();
  if (s == "true" || s == "false") return s == "true";
  const auto value = units::parse_count(s);
  if (value && s.find_first_not_of("0123456789.eE+-") == std::string::npos) return *value;
  return s;
}

// The figures trainsim reads from a GPU or model preset, in the units people use.
std::vector<std::pair<std::string, std::string>> preset_figures(const PresetText& preset, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> rows;
  if (preset.kind == "gpu") {
    const GpuSpec g = gpu_preset(name);
    rows = {{"memory", units::format_bytes(g.memory_bytes)},
            {"memory bandwidth", units::format_bandwidth(g.memory_bandwidth)},
            {"bf16 peak", units::format_rate(g.peak_bf16)},
            {"fp16 peak", units::format_rate(g.peak_fp16)},
            {"tf32 peak", units::format_rate(g.peak_tf32)},
            {"fp32 peak", units::format_rate(g.peak_fp32)}};
    if (g.peak_fp8 > 0) rows.emplace_back("fp8 peak", units::format_rate(g.peak_fp8));
    if (g.peak_fp4 > 0) rows.emplace_back("fp4 peak", units::format_rate(g.peak_fp4));
    rows.emplace_back("NVLink", units::format_bandwidth(g.nvlink_bandwidth) + " each way");
    if (g.nvls_bandwidth > 0)
      rows.emplace_back("NVLS all-reduce", units::format_bandwidth(g.nvls_bandwidth) + " bus bandwidth");
    if (g.host_link_bandwidth > 0)
      rows.emplace_back("host link", units::format_bandwidth(g.host_link_bandwidth) + " each way");
    rows.emplace_back("SMs", std::to_string(g.sm_count));
    rows.emplace_back("board power", units::format_thousands(g.power_watts) + " W");
    rows.emplace_back("kernel overhead", units::format_duration(g.kernel_overhead_s));
    if (g.kernel_interval_s > 0) rows.emplace_back("kernel interval", units::format_duration(g.kernel_interval_s));
  } else if (preset.kind == "model") {
    const ModelSpec m = model_preset(name);
    rows = {{"parameters", units::format_count(total_parameters(m))},
            {"layers", std::to_string(m.layers)},
            {"hidden", units::format_thousands(m.hidden)},
            {"attention heads",
             std::to_string(m.heads) +
                 (m.kv_heads != m.heads ? " (" + std::to_string(m.kv_heads) + " key-value)" : std::string())},
            {"MLP width", units::format_thousands(m.ffn_hidden)},
            {"vocabulary", units::format_thousands(m.vocab)},
            {"sequence length", units::format_thousands(m.seq_len)}};
    if (m.experts > 0) {
      rows.emplace_back("experts", std::to_string(m.experts) + ", " + std::to_string(m.top_k) + " per token");
      rows.emplace_back("active parameters", units::format_count(active_parameters(m)));
    }
  } else if (preset.kind == "topology") {
    const TopologySpec t = load_topology(name);
    rows = {{"GPUs", units::format_thousands(t.total_gpus()) + " x " + t.gpu.name},
            {"per node", std::to_string(t.gpus_per_node)},
            {"fabric", fabric_name(t.fabric)},
            {"NIC per GPU", units::format_bandwidth(t.nic_bandwidth)}};
    if (t.price_per_gpu_hour > 0)
      rows.emplace_back("price", units::format_money(t.price_per_gpu_hour) + " per GPU-hour");
  }
  return rows;
}

}  // namespace

int show_preset(const std::string& name, bool json) {
  const PresetText preset = preset_text(name);
  if (preset.kind.empty()) {
    std::vector<std::string> names = gpu_preset_names();
    for (const auto& list : {model_preset_names(), topology_preset_names(), dataset_preset_names()}) {
      names.insert(names.end(), list.begin(), list.end());
    }
    std::string problem = "no preset named \"" + name + "\"";
    if (const auto hint = name_hint(name, names); !hint.empty()) {
      problem += " (did you mean " + hint + "?)";
    } else {
      problem += "; presets:";
      for (const auto& n : names) problem += " " + n;
    }
    throw InputError({"", 0, 0}, "presets --show", problem);
  }
  const auto figures = preset_figures(preset, name);
  if (json) {
    const YAML::Node document = load_yaml_text(preset.text, preset.file);
    nlohmann::json j = {{"name", name},
                        {"kind", preset.kind},
                        {"file", preset.file},
                        {"fields", yaml_to_json(preset.kind == "topology" ? document : document[name])},
                        {"text", preset.text}};
    for (const auto& [label, value] : figures) j["figures"][label] = value;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << name << ": a " << preset.kind << " preset (" << preset.file << ")\n";
  if (!figures.empty()) {
    units::TextTable table;
    for (const auto& [label, value] : figures) table.add({label, value});
    std::cout << "\n" << table.str();
  }
  std::cout << "\nas written, with the source of each number:\n\n" << preset.text;
  if (!preset.text.empty() && preset.text.back() != '\n') std::cout << "\n";
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
