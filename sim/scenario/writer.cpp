#include "scenario/writer.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "scenario/scenario.hpp"

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
  if (m.head_size > 0) out << YAML::Key << "head_dim" << YAML::Value << m.head_size;
  if (m.sliding_window > 0) out << YAML::Key << "sliding_window" << YAML::Value << m.sliding_window;
  if (m.mtp_layers > 0) out << YAML::Key << "mtp_layers" << YAML::Value << m.mtp_layers;
  if (m.sliding_window_pattern > 1)
    out << YAML::Key << "sliding_window_pattern" << YAML::Value << m.sliding_window_pattern;
  if (m.tie_embeddings >= 0) out << YAML::Key << "tied_embeddings" << YAML::Value << (m.tie_embeddings == 1);
  if (m.dropout_on >= 0) out << YAML::Key << "dropout" << YAML::Value << (m.dropout_on == 1);
  if (m.biases_on >= 0) out << YAML::Key << "biases" << YAML::Value << (m.biases_on == 1);
  if (m.positions != Positions::by_arch) out << YAML::Key << "positions" << YAML::Value << positions_name(m.positions);
  if (m.parallel_blocks) out << YAML::Key << "parallel_blocks" << YAML::Value << true;
  if (!m.mlm_masked_only) out << YAML::Key << "mlm_predictions" << YAML::Value << "all";
  if (m.mla) {
    out << YAML::Key << "attention" << YAML::Value << "mla";
    out << YAML::Key << "q_lora_rank" << YAML::Value << m.q_lora_rank;
    out << YAML::Key << "kv_lora_rank" << YAML::Value << m.kv_lora_rank;
    out << YAML::Key << "qk_rope_head_dim" << YAML::Value << m.qk_rope_head_dim;
    out << YAML::Key << "qk_nope_head_dim" << YAML::Value << m.qk_nope_head_dim;
    out << YAML::Key << "v_head_dim" << YAML::Value << m.v_head_dim;
  }
  if (m.moe()) {
    out << YAML::Key << "moe" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "experts" << YAML::Value << m.experts << YAML::Key << "top_k" << YAML::Value << m.top_k;
    if (m.shared_experts > 0) out << YAML::Key << "shared_experts" << YAML::Value << m.shared_experts;
    if (m.expert_ffn_hidden > 0) out << YAML::Key << "expert_ffn_hidden" << YAML::Value << m.expert_ffn_hidden;
    if (m.dense_layers > 0) out << YAML::Key << "dense_layers" << YAML::Value << m.dense_layers;
    if (m.moe_layer_frequency > 1) out << YAML::Key << "layer_frequency" << YAML::Value << m.moe_layer_frequency;
    if (m.imbalance != 1.0) out << YAML::Key << "imbalance" << YAML::Value << m.imbalance;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  const bool preset = c.topology.file.rfind("preset:", 0) == 0;
  out << YAML::Key << "topology" << YAML::Value << (preset ? c.topology.name : c.topology.file);
  out << YAML::Key << "gpus" << YAML::Value << c.gpus;
  if (c.topology.node_groups.empty()) out << YAML::Key << "gpu" << YAML::Value << c.topology.gpu.name;
  // What a scenario may override on its topology (the written file reloads the topology itself).
  const TopologySpec base = load_topology(preset ? c.topology.name : c.topology.file);
  if (c.topology.gpus_per_node != base.gpus_per_node) {
    out << YAML::Key << "gpus_per_node" << YAML::Value << c.topology.gpus_per_node;
  }
  if (c.topology.nic_bandwidth != base.nic_bandwidth) {
    out << YAML::Key << "nic_bandwidth" << YAML::Value << std::to_string(c.topology.nic_bandwidth) + "B/s";
  }
  if (c.topology.gpu.power_limit_watts != base.gpu.power_limit_watts && c.topology.gpu.power_limit_watts > 0) {
    out << YAML::Key << "power_limit" << YAML::Value << std::to_string(c.topology.gpu.power_limit_watts) + "W";
  }
  if (c.clock_spread != kDefaultClockSpread) {
    // As a percentage where that reads back to the same value (1.5%, not 0.014999999999999999).
    std::ostringstream percent;
    percent << std::setprecision(12) << 100 * c.clock_spread;
    const bool exact = std::stod(percent.str()) / 100 == c.clock_spread;
    out << YAML::Key << "gpu_clock_spread" << YAML::Value;
    if (exact) {
      out << percent.str() + "%";
    } else {
      out << c.clock_spread;
    }
  }
  if (c.memory_reserve) out << YAML::Key << "memory_reserve" << YAML::Value << std::to_string(*c.memory_reserve) + "B";
  out << YAML::EndMap;
  out << YAML::Key << "plan" << YAML::Value << YAML::BeginMap;
  // With a framework named, a field it may set is written where the scenario states it (even at
  // its default) and left out where the framework set it, so that reading back applies it alike.
  const auto write = [&](std::string_view key, bool unless_framework) {
    return p.framework ? states_framework_field(p, key) : unless_framework;
  };
  out << YAML::Key << "tp" << YAML::Value << p.tp << YAML::Key << "pp" << YAML::Value << p.pp;
  out << YAML::Key << "dp" << YAML::Value << p.dp << YAML::Key << "cp" << YAML::Value << p.cp;
  out << YAML::Key << "ep" << YAML::Value << p.ep;
  if (p.etp > 0) out << YAML::Key << "etp" << YAML::Value << p.etp;
  out << YAML::Key << "micro_batch" << YAML::Value << p.micro_batch;
  out << YAML::Key << "global_batch" << YAML::Value << p.global_batch;
  out << YAML::Key << "schedule" << YAML::Value << schedule_name(p.schedule);
  out << YAML::Key << "virtual_stages" << YAML::Value << p.virtual_stages;
  if (p.zero_bubble) out << YAML::Key << "zero_bubble" << YAML::Value << true;
  out << YAML::Key << "sequence_parallel" << YAML::Value << p.sequence_parallel;
  out << YAML::Key << "zero" << YAML::Value << p.zero;
  if (p.dp_shard > 0) out << YAML::Key << "dp_shard" << YAML::Value << p.dp_shard;
  out << YAML::Key << "recompute" << YAML::Value << recompute_name(p.recompute);
  if (p.recompute_fraction != 1) out << YAML::Key << "recompute_fraction" << YAML::Value << p.recompute_fraction;
  if (p.activation_offload_layers > 0)
    out << YAML::Key << "activation_offload_layers" << YAML::Value << p.activation_offload_layers;
  out << YAML::Key << "precision" << YAML::Value << precision_name(p.precision);
  if (p.precision == Precision::fp8) out << YAML::Key << "fp8_recipe" << YAML::Value << fp8_recipe_name(p.fp8_recipe);
  if (write("fp8_param_gather", p.fp8_param_gather))
    out << YAML::Key << "fp8_param_gather" << YAML::Value << p.fp8_param_gather;
  if (write("fp8_weight_cache", p.fp8_weight_cache && low_precision(p.precision)) && p.fp8_weight_cache)
    out << YAML::Key << "fp8_weight_cache" << YAML::Value << *p.fp8_weight_cache;
  if (write("fp8_saved_inputs", p.fp8_saved_inputs && low_precision(p.precision)) && p.fp8_saved_inputs)
    out << YAML::Key << "fp8_saved_inputs" << YAML::Value << *p.fp8_saved_inputs;
  if (write("attention", p.attention != Attention::flash))
    out << YAML::Key << "attention" << YAML::Value << attention_name(p.attention);
  if (write("kernels", p.kernels == Kernels::eager))
    out << YAML::Key << "kernels" << YAML::Value << (p.kernels == Kernels::eager ? "eager" : "fused");
  if (!p.layers_per_stage.empty()) {
    out << YAML::Key << "layers_per_stage" << YAML::Value << YAML::Flow << p.layers_per_stage;
  }
  if (p.recompute == Recompute::op && p.op_reruns_attention) {
    out << YAML::Key << "recompute_modules" << YAML::Value << YAML::Flow << YAML::BeginSeq << "core_attn"
        << YAML::EndSeq;
  } else if (p.recompute == Recompute::selective && p.recompute_modules != PlanSpec{}.recompute_modules) {
    // Only modules this model has (a plan kept across a change of model may name others, which
    // reading back refuses).
    std::vector<std::string> kept;
    for (const auto& name : p.recompute_modules) {
      if (has_recompute_module(sc.model, name)) kept.push_back(name);
    }
    if (!kept.empty()) {
      out << YAML::Key << "recompute_modules" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& name : kept) out << name;
      out << YAML::EndSeq;
    }
  }
  // Only scopes this model has (a plan kept across a change of model may name a MoE layer's, or a
  // dense MLP an all-MoE model lacks).
  std::vector<std::string> graphed;
  for (const auto& scope : p.cuda_graphs) {
    if (moe_graph_scope(scope) ? sc.model.moe() : scope != "mlp" || sc.model.has_dense_layers())
      graphed.push_back(scope);
  }
  if (!graphed.empty()) out << YAML::Key << "cuda_graphs" << YAML::Value << YAML::Flow << graphed;
  if (p.placement != PlanSpec{}.placement) {
    out << YAML::Key << "placement" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const Axis a : p.placement) out << axis_name(a);
    out << YAML::EndSeq;
  }
  if (p.dp_algorithm != CollectiveAlgorithm::automatic) {
    out << YAML::Key << "dp_algorithm" << YAML::Value << algorithm_name(p.dp_algorithm);
  }
  if (p.tp_algorithm != CollectiveAlgorithm::automatic) {
    out << YAML::Key << "tp_algorithm" << YAML::Value << algorithm_name(p.tp_algorithm);
  }
  // The experts' fields mean nothing to a dense model, and reading them back with one is an error.
  if (sc.model.moe() && p.moe_dispatcher != MoeDispatcher::alltoall) {
    out << YAML::Key << "moe_dispatcher" << YAML::Value << dispatcher_name(p.moe_dispatcher);
  }
  if (sc.model.moe() && p.moe_router_fusion != PlanSpec{}.moe_router_fusion) {
    out << YAML::Key << "moe_router_fusion" << YAML::Value << p.moe_router_fusion;
  }
  if (sc.model.moe() && p.expert_gemm != PlanSpec{}.expert_gemm) {
    out << YAML::Key << "expert_gemm" << YAML::Value << expert_gemm_name(p.expert_gemm);
  }
  if (p.bucket_bytes != PlanSpec{}.bucket_bytes) {
    out << YAML::Key << "bucket_size" << YAML::Value << std::to_string(p.bucket_bytes) + "B";
  }
  if (write("overlap_grad_reduce", !p.overlap_grad_reduce))
    out << YAML::Key << "overlap_grad_reduce" << YAML::Value << p.overlap_grad_reduce;
  if (write("overlap_param_gather", !p.overlap_param_gather))
    out << YAML::Key << "overlap_param_gather" << YAML::Value << p.overlap_param_gather;
  if (p.tp_comm_overlap) {
    out << YAML::Key << "tp_comm_overlap";
    if (p.tp_overlap == TpOverlap::async) {
      out << YAML::Value << tp_overlap_name(p.tp_overlap);
    } else {
      out << YAML::Value << true;
    }
  }
  if (p.collective_sms != PlanSpec{}.collective_sms)
    out << YAML::Key << "collective_sms" << YAML::Value << p.collective_sms;
  if (write("loss", p.loss != Loss::fp32)) out << YAML::Key << "loss" << YAML::Value << loss_name(p.loss);
  if (write("zero3_unit", p.zero3_unit != Zero3Unit::layer))
    out << YAML::Key << "zero3_unit" << YAML::Value << zero3_unit_name(p.zero3_unit);
  if (write("zero3_list_collectives", p.zero3_list_collectives))
    out << YAML::Key << "zero3_list_collectives" << YAML::Value << p.zero3_list_collectives;
  if (write("sharded_master_weights", p.sharded_master_weights))
    out << YAML::Key << "sharded_master_weights" << YAML::Value << p.sharded_master_weights;
  if (p.optimizer_moment_bytes != 4) out << YAML::Key << "optimizer_state" << YAML::Value << "bf16";
  if (p.master_weights != MasterWeights::fp32)
    out << YAML::Key << "master_weights" << YAML::Value << master_weights_name(p.master_weights);
  if (p.zero3_keeps_embeddings) out << YAML::Key << "zero3_keeps_embeddings" << YAML::Value << true;
  if (p.reshard_after_forward != Reshard::by_default)
    out << YAML::Key << "reshard_after_forward" << YAML::Value << reshard_name(p.reshard_after_forward);
  if (write("grad_reduce_precision", p.gradient_reduce_bytes > 0) && p.gradient_reduce_bytes > 0 &&
      p.gradient_compression == 1) {
    out << YAML::Key << "grad_reduce_precision" << YAML::Value << (p.gradient_reduce_bytes == 4 ? "fp32" : "bf16");
  }
  // Its fields are written above; the name says where they came from.
  if (p.framework) out << YAML::Key << "framework" << YAML::Value << framework_name(*p.framework);
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
