// `trainsim export SCENARIO --to megatron|torchtitan|nemo`: the plan as a framework's launch
// configuration; `trainsim export --from megatron "ARGS" | --from torchtitan FILE.toml` with
// `--base SCENARIO` or `--topology T --gpus N`: a framework's configuration as a scenario.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "export/frameworks.hpp"
#include "scenario/overrides.hpp"
#include "scenario/yaml_reader.hpp"

namespace trainsim::cli {
namespace {

void write_text(const std::string& text, const std::string& out_file) {
  if (out_file.empty()) {
    std::cout << text;
    return;
  }
  std::ofstream out(out_file, std::ios::binary);
  if (!out) throw InputError({out_file, 0, 0}, "", "cannot write the file");
  out << text;
  if (!out.flush()) throw std::runtime_error("writing " + out_file + " failed");
  std::cerr << "trainsim: wrote " << out_file << "\n";
}

// Sets every key of `from` in `into`, map into map (model.moe stays a map of its own keys).
void merge(YAML::Node into, const YAML::Node& from) {
  for (const auto& entry : from) {
    const std::string key = entry.first.Scalar();
    if (entry.second.IsMap() && into[key] && into[key].IsMap()) {
      merge(into[key], entry.second);
    } else {
      into[key] = entry.second;
    }
  }
}

int export_to(const ExportOptions& o) {
  if (o.input.empty())
    throw InputError({"", 0, 0}, "export", "give the scenario to export (trainsim export SCENARIO --to megatron)");
  const Scenario sc = load_with_overrides(o.input, o.overrides);
  ExportResult r = o.to == "megatron" ? to_megatron(sc) : o.to == "torchtitan" ? to_torchtitan(sc) : to_nemo(sc);
  for (const auto& note : r.notes) std::cerr << "trainsim: note: " << note << "\n";
  write_text(r.text, o.output);
  return 0;
}

int export_from(const ExportOptions& o) {
  const std::string source = "--from " + o.from;
  if (o.from_source.empty()) {
    throw InputError({source, 0, 0}, "",
                     o.from == "megatron"
                         ? "expected the arguments: --from megatron \"--tensor-model-parallel-size 8 ...\""
                         : "expected a TOML file: --from torchtitan FILE.toml");
  }
  ImportedPlan imported;
  if (o.from == "megatron") {
    // The arguments, or a file holding them (a launch script).
    std::error_code not_a_file;  // a long argument line is no name the system can look up
    const bool file = o.from_source.rfind("--", 0) != 0 && std::filesystem::is_regular_file(o.from_source, not_a_file);
    imported = from_megatron(file ? read_input_file(o.from_source, "the arguments file") : o.from_source,
                             file ? o.from_source : source);
  } else {
    imported = from_torchtitan(read_input_file(o.from_source, "the torchtitan config"), o.from_source);
  }
  YAML::Node doc;
  if (!o.base.empty()) {
    doc = YAML::Clone(load_yaml_with_overrides(o.base, o.overrides));
    make_paths_absolute(doc, o.base);
  } else {
    if (o.topology.empty()) {
      throw InputError(
          {source, 0, 0}, "--topology",
          "give the cluster: --base SCENARIO, or --topology NAME (with --gpus and --gpu if not all of it)");
    }
    if (imported.model.size() == 0) {
      throw InputError(
          {source, 0, 0}, "model",
          "the configuration gives no model shape (--num-layers, --hidden-size, ...): give --base SCENARIO");
    }
    doc = YAML::Node(YAML::NodeType::Map);
    doc["name"] = "job";
    doc["cluster"]["topology"] = o.topology;
    if (o.gpus > 0) doc["cluster"]["gpus"] = o.gpus;
    if (!o.gpu.empty()) doc["cluster"]["gpu"] = o.gpu;
    apply_overrides(doc, o.overrides);
  }
  doc["name"] = (doc["name"] && doc["name"].IsScalar() ? doc["name"].Scalar() : std::string("job")) + "-from-" + o.from;
  if (imported.model.size() > 0) {
    // "gpt" is what arguments without --swiglu say; a BERT base stays BERT (pretrain_bert.py's
    // arguments are GPT's), any other base takes the line's arch.
    if (doc["model"] && doc["model"].IsMap() && imported.model["arch"] && imported.model["arch"].Scalar() == "gpt" &&
        load_scenario_unchecked(doc, o.base).model.arch == Arch::bert) {
      imported.model.remove("arch");
    }
    if (!doc["model"] || !doc["model"].IsMap()) doc["model"] = YAML::Node(YAML::NodeType::Map);
    merge(doc["model"], imported.model);
  }
  if (!doc["plan"] || !doc["plan"].IsMap()) doc["plan"] = YAML::Node(YAML::NodeType::Map);
  if (!imported.plan["dp"]) doc["plan"].remove("dp");  // what the GPUs leave, as the framework derives it
  for (const auto& key : imported.clear) doc["plan"].remove(key);
  merge(doc["plan"], imported.plan);
  // Errors of the merged job name where its fields came from: the base, or the configuration read
  // (not the output file, which does not exist yet).
  const std::string label = o.base.empty() ? source : o.base + " (under " + source + ")";
  // What depends on the merged job: the GPUs' kind, the layers per pipeline rank.
  if (!imported.attention_on_blackwell.empty() || imported.layers_per_chunk > 0 || imported.shard_replicas > 1) {
    const Scenario shape = load_scenario_unchecked(doc, label);
    if (!imported.attention_on_blackwell.empty() && shape.cluster.topology.gpu.mx_formats) {
      doc["plan"]["attention"] = imported.attention_on_blackwell;
    }
    if (imported.layers_per_chunk > 0) {
      // torchtitan's count (pipeline_parallel.py): ceil((layers + first_less + last_less) / per)
      // stages, a whole number a rank; one a rank for 1F1B and GPipe, two or more otherwise.
      const int pp = shape.plan.pp, per = imported.layers_per_chunk;
      const int stages = (shape.model.layers + imported.stage_less_layers + per - 1) / per;
      const bool multi = doc["plan"]["schedule"] && doc["plan"]["schedule"].as<std::string>() == "interleaved";
      const auto refuse = [&](const std::string& problem) {
        throw InputError({o.from_source, 0, 0}, "parallelism.pipeline_parallel_layers_per_stage",
                         std::to_string(shape.model.layers) + " layers, " + std::to_string(per) + " a stage (and " +
                             std::to_string(imported.stage_less_layers) + " less on the first and last) make " +
                             std::to_string(stages) + " stages: " + problem);
      };
      if (stages % pp != 0)
        refuse("not a whole number on " + std::to_string(pp) + " pipeline ranks, which torchtitan refuses");
      if (multi && stages / pp < 2) refuse("fewer than the two a rank torchtitan's multi-stage schedules need");
      if (!multi && stages / pp != 1) refuse("not the one a rank torchtitan's single-stage schedules need");
      doc["plan"]["virtual_stages"] = stages / pp;
    }
    if (imported.shard_replicas > 1) {
      const int instances = imported.shard_replicas, dp = shape.plan.dp;
      if (dp % instances != 0) {
        throw InputError({source, 0, 0},
                         o.from == "megatron" ? "--num-distributed-optimizer-instances"
                                              : "parallelism.data_parallel_replicate_degree",
                         std::to_string(instances) + " copies do not divide the " + std::to_string(dp) +
                             " data-parallel ranks the GPUs leave (trainsim shards over whole data-parallel "
                             "groups, with their context-parallel ranks)");
      }
      doc["plan"]["dp_shard"] = dp / instances;
    }
  }
  // The result goes through every check a scenario file gets before it is written. Without a base,
  // a model field it lacks is the configuration's to give.
  try {
    load_scenario_document(doc, label);
  } catch (const InputError& e) {
    if (!o.base.empty() || e.key().rfind("model.", 0) != 0 || e.problem().find("needs") == std::string::npos) throw;
    static const std::map<std::string, std::string> kMegatronFlags = {
        {"model.vocab", "--vocab-size"},          {"model.seq_len", "--seq-length"},
        {"model.heads", "--num-attention-heads"}, {"model.hidden", "--hidden-size"},
        {"model.layers", "--num-layers"},         {"model.ffn_hidden", "--ffn-hidden-size"}};
    const auto flag = kMegatronFlags.find(e.key());
    const std::string give = o.from == "megatron" && flag != kMegatronFlags.end() ? "add " + flag->second + " to it"
                                                                                  : "give --base SCENARIO";
    throw InputError({source, 0, 0}, e.key(),
                     e.problem() + " (the " + o.from + " configuration does not say: " + give + ")");
  }
  for (const auto& note : imported.notes) std::cerr << "trainsim: note: " << note << "\n";
  if (!imported.ignored.empty()) {
    std::string list;
    for (const auto& flag : imported.ignored) list += " " + flag;
    std::cerr << "trainsim: not read (no bearing on the prediction):" << list << "\n";
  }
  YAML::Emitter out;
  out << doc;
  write_text("# A scenario read from a " + o.from + " configuration (trainsim export --from " + o.from + ")\n" +
                 out.c_str() + "\n",
             o.output);
  return 0;
}

}  // namespace

int export_plan(const ExportOptions& options) {
  if (!options.from.empty() && !options.to.empty()) {
    throw InputError({"", 0, 0}, "--from",
                     "give --to (scenario to framework) or --from (framework to scenario), not both");
  }
  if (!options.from.empty()) return export_from(options);
  if (options.to.empty())
    throw InputError({"", 0, 0}, "--to", "give --to megatron|torchtitan|nemo or --from megatron|torchtitan");
  return export_to(options);
}

}  // namespace trainsim::cli
