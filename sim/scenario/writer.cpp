#include "scenario/writer.hpp"

#include <yaml-cpp/yaml.h>

namespace trainsim {

std::string scenario_to_yaml(const Scenario& sc) {
  const auto& m = sc.model;
  const auto& c = sc.cluster;
  const auto& p = sc.plan;
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << sc.name;
  // The model is written field by field, so the file stands alone.
  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "arch" << YAML::Value << arch_name(m.arch);
  out << YAML::Key << "layers" << YAML::Value << m.layers << YAML::Key << "hidden" << YAML::Value << m.hidden;
  out << YAML::Key << "heads" << YAML::Value << m.heads << YAML::Key << "kv_heads" << YAML::Value << m.kv_heads;
  out << YAML::Key << "ffn_hidden" << YAML::Value << m.ffn_hidden << YAML::Key << "vocab" << YAML::Value << m.vocab;
  out << YAML::Key << "seq_len" << YAML::Value << m.seq_len;
  if (m.moe()) {
    out << YAML::Key << "moe" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "experts" << YAML::Value
        << m.experts << YAML::Key << "top_k" << YAML::Value << m.top_k << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  const bool preset = c.topology.file.rfind("preset:", 0) == 0;
  out << YAML::Key << "topology" << YAML::Value << (preset ? c.topology.name : c.topology.file);
  out << YAML::Key << "gpus" << YAML::Value << c.gpus;
  if (c.topology.node_groups.empty()) out << YAML::Key << "gpu" << YAML::Value << c.topology.gpu.name;
  out << YAML::EndMap;
  out << YAML::Key << "plan" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "tp" << YAML::Value << p.tp << YAML::Key << "pp" << YAML::Value << p.pp;
  out << YAML::Key << "dp" << YAML::Value << p.dp << YAML::Key << "cp" << YAML::Value << p.cp;
  out << YAML::Key << "ep" << YAML::Value << p.ep;
  out << YAML::Key << "micro_batch" << YAML::Value << p.micro_batch;
  out << YAML::Key << "global_batch" << YAML::Value << p.global_batch;
  out << YAML::Key << "schedule" << YAML::Value << schedule_name(p.schedule);
  out << YAML::Key << "virtual_stages" << YAML::Value << p.virtual_stages;
  out << YAML::Key << "sequence_parallel" << YAML::Value << p.sequence_parallel;
  out << YAML::Key << "zero" << YAML::Value << p.zero;
  out << YAML::Key << "recompute" << YAML::Value << recompute_name(p.recompute);
  out << YAML::Key << "precision" << YAML::Value << precision_name(p.precision);
  if (p.precision == Precision::fp8) out << YAML::Key << "fp8_recipe" << YAML::Value << fp8_recipe_name(p.fp8_recipe);
  if (p.fp8_param_gather) out << YAML::Key << "fp8_param_gather" << YAML::Value << true;
  if (p.attention != Attention::flash) out << YAML::Key << "attention" << YAML::Value << attention_name(p.attention);
  if (p.kernels == Kernels::eager) out << YAML::Key << "kernels" << YAML::Value << "eager";
  out << YAML::EndMap;
  if (!sc.data.full_rows()) {
    out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "lengths" << YAML::Value << sc.data.lengths;
    out << YAML::Key << "batching" << YAML::Value << batching_name(sc.data.batching);
    if (sc.data.batching == Batching::binned) out << YAML::Key << "bin_size" << YAML::Value << sc.data.bin_size;
    out << YAML::EndMap;
  }
  if (sc.training.tokens) {
    out << YAML::Key << "training" << YAML::Value << YAML::BeginMap << YAML::Key << "tokens" << YAML::Value
        << *sc.training.tokens << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace trainsim
