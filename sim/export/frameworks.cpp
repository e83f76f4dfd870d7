#include "export/frameworks.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <iomanip>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>

#include "scenario/units.hpp"
#include "workload/memory.hpp"
#include "workload/stages.hpp"

namespace trainsim {

// The sources the names below were checked against.
const char* const kMegatronVersion =
    "Megatron-LM (megatron-core 0.20.0, NVIDIA/Megatron-LM d98e8a6, 2026-08-22: megatron/training/arguments.py and "
    "the TransformerConfig/TrainingConfig/TokenizerConfig fields its flags are generated from)";
const char* const kTorchtitanVersion =
    "torchtitan 0.2.1 (pytorch/torchtitan e347b1e, 2026-02-15: torchtitan/config/job_config.py, the last release "
    "configured by TOML files)";
const char* const kNemoVersion =
    "NeMo 2 (NVIDIA/NeMo 00114ea: nemo/lightning/pytorch/strategies/megatron_strategy.py MegatronStrategy; the "
    "recipe's model.config is Megatron-Core's TransformerConfig)";

namespace {

std::string str(long long v) { return std::to_string(v); }

// Layers per model chunk when the chunks are even, else 0.
int layers_per_chunk(const Scenario& sc) {
  const int chunks = sc.plan.pp * sc.plan.virtual_stages;
  return sc.model.layers % chunks == 0 ? sc.model.layers / chunks : 0;
}

std::string fraction_text(double v) {
  std::ostringstream out;
  out << std::setprecision(4) << v;
  return out.str();
}

// Megatron-LM and NeMo recompute a share of the layers as --recompute-method block: the first N
// layers of every model chunk. The N for the plan's recompute_fraction (none when the plan
// recomputes every layer: uniform), with a note where N of a chunk is not the plan's share.
std::optional<int> block_recompute_layers(const Scenario& sc, std::vector<std::string>& notes) {
  const PlanSpec& p = sc.plan;
  if (p.recompute != Recompute::full || p.recompute_fraction >= 1) return std::nullopt;
  const std::vector<int> chunks = chunk_layers(sc.model.layers, p);
  const int per_chunk = *std::max_element(chunks.begin(), chunks.end());
  const int n = std::max(1, static_cast<int>(std::lround(p.recompute_fraction * per_chunk)));
  // The layers Megatron-LM then recomputes, against the plan's.
  int block = 0;
  for (const int layers : chunks) block += std::min(n, layers);
  if (block != p.recomputed_layers(0, sc.model.layers)) {
    notes.push_back("recompute_fraction " + fraction_text(p.recompute_fraction) + " (" +
                    std::to_string(p.recomputed_layers(0, sc.model.layers)) + " of " + std::to_string(sc.model.layers) +
                    " layers): Megatron-LM recomputes the first N layers of each chunk; N = " + std::to_string(n) +
                    " written, " + std::to_string(block) + " layers");
  }
  return n;
}

// Where a framework runs the plan otherwise (`change`: what it was written as), a note when that
// plan no longer fits in GPU memory though the scenario's did: the written plan is not the one
// priced, and the difference can be a job that does not start.
void note_fit(const Scenario& sc, const std::function<void(PlanSpec&)>& change, const std::string& written,
              std::vector<std::string>& notes) {
  const auto peak = [](Scenario s) {
    const StageSetup stages = setup_stages(s);
    if (stages.balanced) s.plan.layers_per_stage = stages.layers;
    return peak_memory(s, stages.work.front());
  };
  try {
    Scenario as_written = sc;
    change(as_written.plan);
    const MemoryBreakdown m = peak(as_written);
    if (!m.fits() && peak(sc).fits()) {
      notes.push_back(written + " does not fit: stage " + std::to_string(m.stage) + " needs " +
                      units::format_bytes(m.peak) + " per GPU of " + units::format_bytes(m.usable()) + " usable");
    }
  } catch (const InputError&) {
    // A plan the simulator would refuse is the other notes' business.
  }
}

bool uneven_layers(const Scenario& sc) {
  if (sc.plan.layers_per_stage.empty()) return false;
  for (const int n : sc.plan.layers_per_stage) {
    if (n != sc.plan.layers_per_stage.front()) return true;
  }
  return false;
}

// Megatron-Core's --pipeline-model-parallel-layout for the plan's chunk split (pp x virtual
// stages, chunk c on stage c % pp, in the model's order): "E" the embedding, "t" a layer, "m" an
// MTP module, "L" the loss, "|" between chunks ("Et*15|t*16|...|t*14mL";
// pipeline_parallel_layer_layout.py). None where the split is even, which Megatron-LM makes itself.
std::optional<std::string> megatron_layout(const Scenario& sc) {
  const std::vector<int> chunks = chunk_layers(sc.model.layers, sc.plan);
  if (std::adjacent_find(chunks.begin(), chunks.end(), std::not_equal_to<>()) == chunks.end()) return std::nullopt;
  const int mtp_layers = sc.model.mtp_layers;
  std::string layout;
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    if (c > 0) layout += "|";
    if (c == 0) layout += "E";
    if (chunks[c] == 1) layout += "t";
    if (chunks[c] > 1) layout += "t*" + std::to_string(chunks[c]);
    if (c + 1 == chunks.size()) layout += std::string(std::size_t(std::max(0, mtp_layers)), 'm') + "L";
  }
  return layout;
}

// ---- Megatron-LM ------------------------------------------------------------------------------

// Megatron-Core's rank order, innermost first (parallel_state.initialize_model_parallel).
const std::vector<Axis> kMegatronPlacement = {Axis::tp, Axis::cp, Axis::dp, Axis::pp};

PlanSpec with_placement(PlanSpec p, std::vector<Axis> placement) {
  p.placement = std::move(placement);
  return p;
}

class Flags {
 public:
  void add(const std::string& flag, const std::string& value = "") { items_.emplace_back(flag, value); }
  std::string str() const {
    std::string out;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      out += items_[i].first + (items_[i].second.empty() ? "" : " " + items_[i].second);
      out += i + 1 < items_.size() ? " \\\n" : "\n";
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Megatron-LM and NeMo run Transformer Engine, which keeps a low-precision linear layer's quantized
// input for backward: a plan that keeps the 16-bit input (fp8_saved_inputs: false) is said so.
void note_saved_inputs(const PlanSpec& p, const std::string& what, std::vector<std::string>& notes) {
  if (low_precision(p.precision) && !p.saves_low_precision_inputs()) {
    notes.push_back("fp8_saved_inputs: false (16-bit inputs kept for backward, as torchao) has no " + what +
                    ": Transformer Engine keeps the quantized ones");
  }
}

// Megatron-Core, NeMo and torchtitan build sequential blocks only: a parallel-block model
// (ModelSpec::parallel_blocks) is exported as its sequential twin, which exchanges more often.
// Megatron-Core has no zero-bubble schedule (its 1F1B and interleaved orders run each backward
// whole).
void note_zero_bubble(const PlanSpec& p, const std::string& framework, std::vector<std::string>& notes) {
  if (p.zero_bubble && p.pp > 1) {
    notes.push_back(framework +
                    " has no zero-bubble schedule: it runs each backward whole, 1F1B or interleaved (a longer "
                    "bubble, and interleaved's longer warm-up holds more activations)");
  }
}

void note_parallel_blocks(const ModelSpec& m, const char* framework, std::vector<std::string>& notes) {
  if (m.parallel_blocks)
    notes.push_back(std::string("parallel_blocks: ") + framework +
                    " runs attention and MLP in sequence: written as the sequential model (four tensor-parallel "
                    "exchanges a layer, not three)");
}

// Megatron-Core's attention backend for a family (--attention-backend, TransformerConfig's
// attention_backend: flash, fused, unfused, local, auto). None for the plan's default family:
// auto, Megatron-Core's default, lets Transformer Engine choose, cuDNN on Hopper and Blackwell.
std::optional<std::string> megatron_attention_backend(Attention a, std::vector<std::string>& notes) {
  switch (a) {
    case Attention::flash:
      return std::nullopt;
    case Attention::cudnn:
      return "fused";  // Transformer Engine's FusedAttention: cuDNN
    case Attention::unfused:
      return "unfused";
    case Attention::flash2:
      return "flash";  // TE's FlashAttention: the flash-attn package installed
    case Attention::flash3:
      // TE runs FlashAttention-3 on Hopper where the flash_attn_3 package is installed, else the
      // flash-attn package's FlashAttention-2; the flag names the backend, not the version.
      notes.push_back(
          "attention flash3: --attention-backend flash runs FlashAttention-3 only where its package "
          "(flash_attn_3) is installed; read back, the flag means FlashAttention-2");
      return "flash";
    default:
      notes.push_back(std::string("attention ") + attention_name(a) + " has no Megatron-LM backend: flash written");
      return "flash";
  }
}

const char* megatron_fp8_recipe(Fp8Recipe r) {
  switch (r) {
    case Fp8Recipe::delayed:
      return "delayed";
    case Fp8Recipe::blockwise:
      return "blockwise";
    default:
      return "tensorwise";
  }
}

// The pattern Megatron-LM takes for a model's MoE layers (ModelSpec::moe_layer).
std::string megatron_moe_layer_freq(const ModelSpec& m) {
  if (m.moe_layer_frequency == 1) {
    return "\"([0]*" + std::to_string(m.dense_layers) + "+[1]*" + std::to_string(m.layers - m.dense_layers) + ")\"";
  }
  std::string list = "\"[";
  for (int i = 0; i < m.layers; ++i) list += std::string(i > 0 ? "," : "") + (m.moe_layer(i) ? "1" : "0");
  return list + "]\"";
}

}  // namespace

ExportResult to_megatron(const Scenario& sc) {
  ExportResult r;
  const ModelSpec& m = sc.model;
  const PlanSpec& p = sc.plan;
  note_parallel_blocks(m, "Megatron-LM", r.notes);
  Flags f;
  f.add("--tensor-model-parallel-size", str(p.tp));
  f.add("--pipeline-model-parallel-size", str(p.pp));
  // Megatron-LM splits layers evenly over the chunks unless given the split: a layout where the
  // priced one is not even (uneven layers_per_stage, layers that do not divide).
  if (const auto layout = megatron_layout(sc)) {
    f.add("--pipeline-model-parallel-layout", "\"" + *layout + "\"");
  } else if (p.virtual_stages > 1) {
    f.add("--num-layers-per-virtual-pipeline-stage", str(m.layers / (p.pp * p.virtual_stages)));
  }
  if (p.schedule == Schedule::gpipe && p.pp > 1) {
    r.notes.push_back("Megatron-LM has no GPipe schedule: it runs 1F1B (a different step time and memory)");
  }
  note_zero_bubble(p, "Megatron-LM", r.notes);
  if (p.tp_comm_overlap && p.tp_overlap == TpOverlap::async)
    r.notes.push_back(
        "tp_comm_overlap async is PyTorch's async TP; Megatron-LM's --tp-comm-overlap is Transformer Engine's "
        "userbuffers overlap (tp_comm_overlap: true), written");
  // Megatron-Core lays ranks out tp, cp, (ep,) dp, then pp outermost (initialize_model_parallel's
  // order "tp-cp-ep-dp-pp"); --use-tp-pp-dp-mapping swaps dp and pp, for plans without context or
  // expert parallelism (arguments.py asserts context_parallel_size * expert_model_parallel_size <= 1).
  const auto order = placement_in_use(p);
  if (order != placement_in_use(with_placement(p, kMegatronPlacement))) {
    const bool mapping_allowed = p.cp * (m.experts > 0 ? p.ep : 1) <= 1;
    if (mapping_allowed && order == placement_in_use(with_placement(p, {Axis::tp, Axis::cp, Axis::pp, Axis::dp}))) {
      f.add("--use-tp-pp-dp-mapping");
    } else {
      r.notes.push_back(
          "placement " + placement_name(p.placement) +
          " has no Megatron-LM rank order: it runs tp-cp-dp-pp (a different step time)" +
          (mapping_allowed ? "" : "; its tp-cp-pp-dp mapping flag refuses context and expert parallelism"));
    }
  }
  f.add("--context-parallel-size", str(p.cp));
  if (m.experts > 0) {
    f.add("--expert-model-parallel-size", str(p.ep));
    f.add("--expert-tensor-parallel-size", str(p.etp > 0 ? p.etp : p.tp));
    // Megatron-Core's config: moe_token_dispatcher_type flex with moe_flex_dispatcher_backend.
    if (p.moe_dispatcher == MoeDispatcher::alltoall) {
      f.add("--moe-token-dispatcher-type", "alltoall");
    } else {
      f.add("--moe-token-dispatcher-type", "flex");
      f.add("--moe-flex-dispatcher-backend", dispatcher_name(p.moe_dispatcher));
    }
    // Transformer Engine's GroupedLinear (without the flag Megatron-Core loops over its experts).
    // The grouped_gemm package's one kernel (GroupedMLP) left Megatron-Core in March 2026 (#3410).
    f.add("--moe-grouped-gemm");
    if (p.expert_gemm == ExpertGemm::grouped) {
      r.notes.push_back(
          "expert_gemm: grouped (the grouped_gemm package's one kernel, --moe-use-legacy-grouped-gemm) left "
          "Megatron-Core with GroupedMLP (NVIDIA/Megatron-LM#3410): the experts run as Transformer Engine's "
          "GroupedLinear (expert_gemm: streams)");
    }
    if (p.moe_router_fusion) f.add("--moe-router-fusion");
  }
  if (p.sequence_parallel) f.add("--sequence-parallel");
  if (p.tp_comm_overlap) f.add("--tp-comm-overlap");
  if (p.loss == Loss::fused) f.add("--cross-entropy-loss-fusion");
  // CUDA graphs (megatron-core 0.20: --cuda-graph-impl full_iteration for the whole step; per-layer
  // graphs through Transformer Engine with the parts listed in --cuda-graph-modules).
  if (p.graphs("moe")) {
    r.notes.push_back(
        "cuda_graphs moe: Megatron-Core captures a MoE layer only with drop-and-pad routing "
        "(--moe-expert-capacity-factor, --moe-pad-expert-input-to-capacity), not written here");
  }
  if (p.graphs("full_iteration")) {
    f.add("--cuda-graph-impl", "full_iteration");
  } else if (!p.cuda_graphs.empty()) {
    f.add("--cuda-graph-impl", "transformer_engine");
    std::string modules;
    for (const auto& scope : p.cuda_graphs) modules += (modules.empty() ? "" : " ") + scope;
    f.add("--cuda-graph-modules", modules);
  }
  f.add("--micro-batch-size", str(p.micro_batch));
  f.add("--global-batch-size", str(p.global_batch));
  switch (p.recompute) {
    case Recompute::none:
      break;
    case Recompute::op:
      r.notes.push_back("recompute op (torchtitan's per-op checkpointing) has no Megatron-LM flag: selective written");
      note_fit(
          sc, [](PlanSpec& q) { q.recompute = Recompute::selective; }, "written with recompute selective", r.notes);
      [[fallthrough]];
    case Recompute::selective: {
      f.add("--recompute-granularity", "selective");
      if (p.recompute_modules != PlanSpec{}.recompute_modules) {
        std::string names;
        for (const auto& name : p.recompute_modules) names += (names.empty() ? "" : " ") + name;
        f.add("--recompute-modules", names);
      }
      break;
    }
    case Recompute::qkv:
      r.notes.push_back("recompute save_qkv_proj (MaxText's policy) has no Megatron-LM flag: full written");
      [[fallthrough]];
    case Recompute::full:
      f.add("--recompute-granularity", "full");
      if (const auto n = block_recompute_layers(sc, r.notes)) {
        f.add("--recompute-method", "block");
        f.add("--recompute-num-layers", str(*n));
      } else {
        f.add("--recompute-method", "uniform");
        f.add("--recompute-num-layers", "1");
      }
      break;
  }
  switch (p.zero) {
    case 0:
      break;
    case 1:
      f.add("--use-distributed-optimizer");
      // Hybrid sharding: one optimizer instance per shard group (Megatron-Core's
      // --num-distributed-optimizer-instances, each over dp / instances ranks).
      if (p.shard_replicas() > 1) f.add("--num-distributed-optimizer-instances", str(p.shard_replicas()));
      break;
    default:
      f.add("--use-megatron-fsdp");
      f.add("--data-parallel-sharding-strategy", p.zero == 2 ? "optim_grads" : "optim_grads_params");
      if (p.shard_replicas() > 1) {
        r.notes.push_back("dp_shard " + std::to_string(p.shard_dp()) + " (hybrid sharding) is not exported for " +
                          "Megatron FSDP: it shards over all " + std::to_string(p.dp) + " data-parallel ranks");
      }
      break;
  }
  // 16-bit moments and main params are Transformer Engine's precision-aware optimizer, which
  // Megatron-LM runs only as the distributed optimizer (megatron/core/optimizer/__init__.py).
  const bool aware_optimizer = p.optimizer_moment_bytes == 2 || p.master_weights == MasterWeights::half;
  if (aware_optimizer && p.zero == 0) {
    r.notes.push_back(
        "16-bit optimizer state or main params (optimizer_state, master_weights) need Megatron-LM's distributed "
        "optimizer (--use-precision-aware-optimizer is refused without it): not written; zero: 1 would write them");
  } else if (aware_optimizer) {
    f.add("--use-precision-aware-optimizer");
    if (p.optimizer_moment_bytes == 2) {
      f.add("--exp-avg-dtype", "bf16");
      f.add("--exp-avg-sq-dtype", "bf16");
    }
    if (p.master_weights == MasterWeights::half) f.add("--main-params-dtype", "fp16");
  }
  if (p.master_weights != MasterWeights::half && p.master_weights != MasterWeights::fp32) {
    r.notes.push_back(std::string("master_weights ") + master_weights_name(p.master_weights) +
                      " is not exported: Megatron-LM keeps fp32 main params, or fp16 ones (master_weights: 16-bit)");
  }
  switch (p.precision) {
    case Precision::fp16:
      f.add("--fp16");
      break;
    case Precision::tf32:
      // PyTorch leaves TF32 matmuls off (torch.backends.cuda.matmul.allow_tf32, since 1.12) and
      // Megatron-LM never turns them on.
      r.notes.push_back(
          "precision tf32: Megatron-LM has no TF32 switch and PyTorch keeps TF32 matmuls off, so these "
          "arguments train in fp32 math (precision: fp32), several times slower on tensor cores");
      break;
    case Precision::fp32:
      break;  // Megatron-LM's default: fp32 parameters and math
    case Precision::bf16:
      f.add("--bf16");
      break;
    case Precision::fp8:
      f.add("--bf16");
      f.add("--fp8-format", "hybrid");
      if (p.fp8_recipe == Fp8Recipe::rowwise) {
        r.notes.push_back("fp8_recipe rowwise (torchao) has no Megatron-LM recipe: tensorwise written");
      }
      f.add("--fp8-recipe", megatron_fp8_recipe(p.fp8_recipe));
      break;
    case Precision::mxfp8:
      f.add("--bf16");
      f.add("--fp8-format", "e4m3");
      f.add("--fp8-recipe", "mxfp8");
      break;
    case Precision::nvfp4:
      f.add("--bf16");
      f.add("--fp4-format", "e2m1");
      f.add("--fp4-recipe", "nvfp4");
      break;
  }
  if (p.fp8_param_gather) f.add(p.precision == Precision::nvfp4 ? "--fp4-param-gather" : "--fp8-param-gather");
  note_saved_inputs(p, "Megatron-LM flag", r.notes);
  // The count alone turns offloading on (arguments.py sets cpu_offloading from it).
  if (p.activation_offload_layers > 0) f.add("--cpu-offloading-num-layers", str(p.activation_offload_layers));
  if (const auto backend = megatron_attention_backend(p.attention, r.notes)) f.add("--attention-backend", *backend);
  if (p.overlap_grad_reduce) f.add("--overlap-grad-reduce");
  if (p.overlap_param_gather && p.zero > 0) f.add("--overlap-param-gather");
  // The model's shape.
  if (!m.causal()) r.notes.push_back("a BERT model: these are pretrain_bert.py's shape flags");
  f.add("--num-layers", str(m.layers));
  f.add("--hidden-size", str(m.hidden));
  f.add("--ffn-hidden-size", str(m.ffn_hidden));
  f.add("--num-attention-heads", str(m.heads));
  if (m.kv_heads != m.heads) {
    f.add("--group-query-attention");
    f.add("--num-query-groups", str(m.kv_heads));
  }
  if (m.head_size > 0) f.add("--kv-channels", str(m.head_size));
  f.add("--seq-length", str(m.seq_len));
  f.add("--max-position-embeddings", str(m.seq_len));
  f.add("--vocab-size", str(m.vocab));
  // Megatron-LM's defaults are GPT's (LayerNorm, GeLU, learned positions, biases, tied
  // embeddings, dropout 0.1): each way the model differs is a flag.
  if (m.swiglu()) f.add("--swiglu");
  if (m.norm_tensors() == 1) f.add("--normalization", "RMSNorm");
  if (m.rotary_positions()) f.add("--position-embedding-type", "rope");
  if (m.positions == Positions::alibi) {
    f.add("--position-embedding-type", "none");
    r.notes.push_back("positions: alibi: Megatron-LM has no ALiBi; written without positions");
  }
  if (!m.tied_embeddings()) f.add("--untie-embeddings-and-output-weights");
  if (!m.biases()) f.add("--disable-bias-linear");
  if (!m.dropout()) {
    f.add("--attention-dropout", "0.0");
    f.add("--hidden-dropout", "0.0");
  }
  if (m.sliding_window > 0) {
    f.add("--window-size", "\"(" + str(m.sliding_window) + ",0)\"");
    // Every p-th layer (p, 2p, ... from 1) attends to the whole sequence: Megatron-Core's
    // window_attn_skip_freq p (transformer/utils.py, is_layer_window_attention).
    if (m.sliding_window_pattern > 1) f.add("--window-attn-skip-freq", str(m.sliding_window_pattern));
  }
  if (m.mtp_layers > 0) f.add("--mtp-num-layers", str(m.mtp_layers));
  if (m.mla) {
    f.add("--multi-latent-attention");
    if (m.q_lora_rank > 0) f.add("--q-lora-rank", str(m.q_lora_rank));
    f.add("--kv-lora-rank", str(m.kv_lora_rank));
    f.add("--qk-head-dim", str(m.qk_nope_head_dim));
    f.add("--qk-pos-emb-head-dim", str(m.qk_rope_head_dim));
    f.add("--v-head-dim", str(m.v_head_dim));
  }
  if (m.experts > 0) {
    f.add("--num-experts", str(m.experts));
    f.add("--moe-router-topk", str(m.top_k));
    f.add("--moe-ffn-hidden-size", str(m.expert_ffn()));
    if (m.shared_experts > 0) {
      f.add("--moe-shared-expert-intermediate-size", str(std::int64_t(m.shared_experts) * m.expert_ffn()));
    }
    if (m.moe_layers() < m.layers) f.add("--moe-layer-freq", megatron_moe_layer_freq(m));
  }
  std::ostringstream out;
  out << "# " << sc.name << ": Megatron-LM pretrain_gpt.py arguments for " << sc.cluster.gpus << " GPUs (data parallel "
      << p.dp << " follows from the world size; launch with torchrun --nproc-per-node "
      << std::min(sc.cluster.topology.host_gpus(), sc.cluster.gpus) << " on "
      << (sc.cluster.gpus + sc.cluster.topology.host_gpus() - 1) / sc.cluster.topology.host_gpus()
      << " hosts)\n# flag names checked against " << kMegatronVersion << "\n";
  for (const auto& note : r.notes) out << "# note: " << note << "\n";
  r.text = out.str() + f.str();
  return r;
}

// ---- torchtitan -------------------------------------------------------------------------------

// What torchtitan's SDPA runs: FlashAttention first (FlashAttention-2 on Hopper and Ampere), cuDNN
// first only on sm100 (torchtitan#1196, torchtitan/models/attention.py).
static Attention torchtitan_attention(bool blackwell) { return blackwell ? Attention::cudnn : Attention::flash2; }

ExportResult to_torchtitan(const Scenario& sc) {
  ExportResult r;
  const ModelSpec& m = sc.model;
  const PlanSpec& p = sc.plan;
  std::ostringstream t;
  if (!m.swiglu() || !m.causal()) r.notes.push_back("torchtitan trains Llama-style models; " + m.name + " is not one");
  note_parallel_blocks(m, "torchtitan", r.notes);
  if (p.saves_low_precision_inputs()) {
    r.notes.push_back(
        "fp8_saved_inputs: true (quantized inputs kept for backward, as Transformer Engine) is not what "
        "torchao does: its linears keep the 16-bit inputs");
  }
  if (p.activation_offload_layers > 0) {
    r.notes.push_back(
        "torchtitan has no per-layer activation offloading (its CPU offload moves FSDP's weights, "
        "gradients and optimizer state): activation_offload_layers not written");
  }
  if (p.zero == 1 || p.zero == 2) {
    r.notes.push_back("torchtitan has no ZeRO-" + std::to_string(p.zero) +
                      ": data parallel is replicated (DDP) or fully sharded (FSDP); DDP written");
    note_fit(
        sc,
        [](PlanSpec& q) {
          q.zero = 0;
          q.dp_shard = 0;
        },
        "as DDP (zero 0), the plan", r.notes);
  }
  if (p.recompute == Recompute::selective) {
    r.notes.push_back(
        "recompute selective (Megatron's attention core) has no torchtitan option: per-op selective written");
    note_fit(
        sc, [](PlanSpec& q) { q.recompute = Recompute::op; }, "with per-op recomputation, the plan", r.notes);
  }
  if (p.recompute == Recompute::qkv)
    r.notes.push_back("recompute save_qkv_proj (MaxText's policy) has no torchtitan option: full written");
  if (p.precision == Precision::fp16 || p.precision == Precision::nvfp4) {
    r.notes.push_back(std::string("torchtitan has no ") + precision_name(p.precision) + " training: bf16 written");
  }
  if (p.precision == Precision::fp8 && (p.fp8_recipe == Fp8Recipe::delayed || p.fp8_recipe == Fp8Recipe::blockwise)) {
    r.notes.push_back("torchao float8 has tensorwise and rowwise recipes only: tensorwise written");
  }
  if (p.sequence_parallel != (p.tp > 1)) {
    r.notes.push_back("torchtitan's tensor parallelism always shards the sequence between blocks (sequence parallel)");
  }
  if (uneven_layers(sc)) r.notes.push_back("layers_per_stage is uneven: give module_fqns_per_model_part");
  if (p.tp_comm_overlap && p.tp_overlap == TpOverlap::userbuffers) {
    r.notes.push_back(
        "tp_comm_overlap is Transformer Engine's userbuffers overlap; torchtitan's is PyTorch's async TP "
        "(tp_comm_overlap: async), written");
  }
  if (m.experts > 0 && p.expert_gemm == ExpertGemm::streams) {
    r.notes.push_back("torchtitan runs each rank's experts in one grouped GEMM (expert_gemm: grouped)");
  }
  if (!p.cuda_graphs.empty()) {
    r.notes.push_back("torchtitan has no CUDA graph setting (cuda_graphs): not written, its kernels are launched");
  }
  if (p.zero3_keeps_embeddings) {
    r.notes.push_back(
        "zero3_keeps_embeddings is torchtitan before #1094 on PyTorch before 2.8: this release shards the "
        "embedding and the LM head on their own");
  }
  if (p.zero >= 3 && !p.sharded_master_weights) {
    r.notes.push_back(
        "FSDP2 keeps its fp32 shards as the master weights, no 16-bit shard beside them "
        "(sharded_master_weights: true)");
  }
  const GpuSpec& gpu = sc.cluster.topology.gpu;
  // A plan naming today's torchtitan (PyTorch 2.11's SDPA) runs the GPU's default family.
  const Attention sdpa =
      p.framework == Framework::torchtitan ? gpu.kernels.default_attention : torchtitan_attention(gpu.mx_formats);
  const Attention runs = p.attention == Attention::flash ? gpu.kernels.default_attention : p.attention;
  if (runs != sdpa) {
    const char* why = p.framework == Framework::torchtitan
                          ? ": PyTorch 2.11's SDPA picks the GPU's default family (attention: "
                          : ": its SDPA asks for FlashAttention first, cuDNN first on Blackwell only (attention: ";
    r.notes.push_back(std::string("attention ") + attention_name(runs) + " is not what torchtitan runs on " + gpu.name +
                      why + attention_name(sdpa) + ")");
  }
  if (p.loss == Loss::fp32 || (p.loss == Loss::decomposed && p.tp == 1)) {
    r.notes.push_back(std::string("loss ") + loss_name(p.loss) +
                      " is not torchtitan's: its uncompiled loss runs on an fp32 copy of the logits (loss: cast, "
                      "decomposed with tensor parallelism); [compile] components \"loss\" makes it fused");
  }
  // torchtitan's llama3 model is dense with full-width heads; its mixtures of experts and MLA are
  // other models (deepseek_v3, llama4, qwen3) whose flavors the user picks.
  if (m.moe() || m.mla) {
    r.notes.push_back(std::string("the model is ") + (m.moe() ? "a mixture of experts" : "") +
                      (m.moe() && m.mla ? " with " : "") + (m.mla ? "multi-head latent attention" : "") +
                      ", which torchtitan's llama3 model is not: set [model] name to its model of this family "
                      "(deepseek_v3, llama4 or qwen3) and a flavor with the fields in the comment");
  }
  if (m.moe() && p.precision == Precision::fp8) {
    r.notes.push_back(
        "quantize.linear.float8 leaves the experts' grouped GEMMs in bf16; the prediction runs them in FP8");
  }
  if (m.moe() && p.ep > 1) {
    // torchtitan's expert parallelism borrows all of cp (and of tp with etp 1) and part of the FSDP
    // shard dimension (ParallelDims._validate): etp is 1 or tp; ep a multiple of cp (cp x tp with
    // etp 1) dividing shard x cp (x tp). A replicated (DDP) plan has no shard dimension to take.
    const int etp = p.etp > 0 ? p.etp : p.tp;
    const long long taken = etp == 1 ? 1LL * p.cp * p.tp : p.cp;
    const long long borrowed = (p.zero == 3 ? p.shard_dp() : 1LL) * taken;
    if (etp != 1 && etp != p.tp) {
      r.notes.push_back("torchtitan's expert_tensor_parallel_degree is 1 or tensor_parallel_degree, not " +
                        std::to_string(etp) + ": this plan does not launch there");
    } else if (p.ep % taken != 0 || borrowed % p.ep != 0) {
      r.notes.push_back("torchtitan needs expert_parallel_degree (" + std::to_string(p.ep) +
                        ") to be a multiple of context_parallel_degree" +
                        (etp == 1 ? std::string(" x tensor_parallel_degree") : std::string()) + " (" +
                        std::to_string(taken) + ") dividing data_parallel_shard_degree times it (" +
                        std::to_string(borrowed) + "): this plan does not launch there");
    }
  }
  // torchtitan's device mesh: pp, dp_replicate, dp_shard, cp, tp, outermost first.
  if (placement_in_use(p) != placement_in_use(with_placement(p, kMegatronPlacement))) {
    r.notes.push_back("placement " + placement_name(p.placement) +
                      ": torchtitan's device mesh lays ranks out tp-cp-dp-pp (a different step time)");
  }
  // torchtitan runs PyTorch's zero-bubble order (ScheduleInterleavedZeroBubble, a multi-stage
  // schedule) with two stages a rank or more (pipeline_parallel.py refuses fewer), and PyTorch
  // runs no input/weight split under torch.compile (_check_torch_compile_compatibility).
  const bool zero_bubble = p.splits_backward() && p.virtual_stages >= 2;
  if (p.splits_backward() && !zero_bubble) {
    r.notes.push_back(
        "zero_bubble with one stage a rank (ZB-H1): torchtitan runs InterleavedZeroBubble with two stages a rank or "
        "more; written as 1F1B (a longer bubble), or give the plan virtual_stages: 2");
  }
  const bool compile_model = p.kernels == Kernels::fused && !zero_bubble;
  if (p.kernels == Kernels::fused && zero_bubble) {
    r.notes.push_back(
        "zero_bubble: PyTorch's pipelining does not split backwards under torch.compile; [compile] leaves the model "
        "out, so its element-wise kernels run eager (the plan prices them fused)");
  }
  t << "# " << sc.name << ": a torchtitan job config for " << sc.cluster.gpus << " GPUs\n# keys checked against "
    << kTorchtitanVersion << "\n";
  for (const auto& note : r.notes) t << "# note: " << note << "\n";
  t << "\n[job]\ndescription = \"" << sc.name << " (trainsim export)\"\n";
  t << "\n[model]\nname = \"llama3\"\n# flavor: a model args entry with dim = " << m.hidden
    << ", n_layers = " << m.layers << ", n_heads = " << m.heads << ", n_kv_heads = " << m.kv_heads
    << ", vocab_size = " << m.vocab;
  if (m.moe()) {
    t << ", routed experts = " << m.experts << ", top_k = " << m.top_k << ", shared experts = " << m.shared_experts
      << ", expert hidden = " << m.expert_ffn() << ", dense layers = " << m.dense_layers;
  }
  if (m.mla) {
    t << ", MLA: q_lora_rank = " << m.q_lora_rank << ", kv_lora_rank = " << m.kv_lora_rank
      << ", qk_nope_head_dim = " << m.qk_nope_head_dim << ", qk_rope_head_dim = " << m.qk_rope_head_dim
      << ", v_head_dim = " << m.v_head_dim;
  }
  t << "\n";
  const bool fp8 = p.precision == Precision::fp8;
  if (fp8) t << "converters = [\"quantize.linear.float8\"]\n";
  // The experts' grouped GEMMs take their own converter (torchao's MXFP8 grouped GEMM, applied to
  // the modules named in fqns); without it they run in bf16.
  const bool mx_experts = p.precision == Precision::mxfp8 && m.moe();
  if (p.precision == Precision::mxfp8)
    t << (mx_experts ? "converters = [\"quantize.linear.mx\", \"quantize.grouped_mm.mx\"]\n"
                     : "converters = [\"quantize.linear.mx\"]\n");

  // Sequences per data-parallel rank and step; with a pipeline, split into micro-batches.
  const std::int64_t local = p.pp > 1 ? p.global_batch / p.dp : p.micro_batch;
  if (p.precision == Precision::tf32) {
    r.notes.push_back(
        "precision tf32: torchtitan leaves PyTorch's TF32 matmuls off (its default), so float32 trains in fp32 math "
        "(precision: fp32), several times slower on tensor cores");
  }
  t << "\n[training]\nlocal_batch_size = " << local << "\nglobal_batch_size = " << p.global_batch
    << "\nseq_len = " << m.seq_len << "\nmixed_precision_param = \""
    << (p.precision == Precision::fp32 || p.precision == Precision::tf32 ? "float32" : "bfloat16") << "\"\n";
  const bool fsdp = p.zero == 3;
  // FSDP over a shard group of shard_dp() ranks, replicated across the others (HSDP).
  t << "\n[parallelism]\ndata_parallel_replicate_degree = " << (fsdp ? p.shard_replicas() : p.dp)
    << "\ndata_parallel_shard_degree = " << (fsdp ? p.shard_dp() : 1) << "\ntensor_parallel_degree = " << p.tp
    << "\npipeline_parallel_degree = " << p.pp << "\ncontext_parallel_degree = " << p.cp << "\n";
  if (p.tp_comm_overlap) t << "enable_async_tensor_parallel = true\n";
  // Its uncompiled loss runs on an fp32 copy of the logits, through loss_parallel's element-wise
  // log-softmax under tensor parallelism unless that is disabled.
  if (p.tp > 1 && p.loss == Loss::cast) t << "disable_loss_parallel = true\n";
  if (fsdp && p.reshard_after_forward != Reshard::by_default)
    t << "fsdp_reshard_after_forward = \"" << reshard_name(p.reshard_after_forward) << "\"\n";
  if (m.experts > 0) {
    t << "expert_parallel_degree = " << p.ep << "\nexpert_tensor_parallel_degree = " << (p.etp > 0 ? p.etp : p.tp)
      << "\n";
  }
  if (p.pp > 1) {
    const char* schedule = zero_bubble                           ? "InterleavedZeroBubble"
                           : p.schedule == Schedule::gpipe       ? "GPipe"
                           : p.schedule == Schedule::interleaved ? "Interleaved1F1B"
                                                                 : "1F1B";
    t << "pipeline_parallel_schedule = \"" << schedule << "\"\npipeline_parallel_microbatch_size = " << p.micro_batch
      << "\n";
    if (p.virtual_stages > 1) {
      // torchtitan counts ceil((layers + first_less + last_less) / layers_per_stage) stages, a layer
      // less on the first and the last by default: 0 and 0 keep the chunks even, as priced.
      if (const int per_chunk = layers_per_chunk(sc)) {
        t << "pipeline_parallel_layers_per_stage = " << per_chunk
          << "\npipeline_parallel_first_stage_less_layers = 0\npipeline_parallel_last_stage_less_layers = 0\n";
      }
    }
  }
  // torchtitan checkpoints a share of the layers as its layer-wise selective mode: every k-th
  // layer (selective_ac_option "k"), a share of 1/k.
  int layer_ac_every = 0;
  const bool recomputes =
      p.recompute != Recompute::none && !(p.recompute == Recompute::full && p.recompute_fraction <= 0);
  if (p.recompute == Recompute::full && p.recompute_fraction < 1 && p.recompute_fraction > 0) {
    layer_ac_every = static_cast<int>(std::lround(1 / p.recompute_fraction));
    if (std::abs(1.0 / layer_ac_every - p.recompute_fraction) > 1e-9) {
      r.notes.push_back("recompute_fraction " + fraction_text(p.recompute_fraction) +
                        ": torchtitan checkpoints every k-th layer; every " + std::to_string(layer_ac_every) +
                        " written");
    }
  }
  const char* mode = !recomputes                                                       ? "none"
                     : layer_ac_every > 0                                              ? "selective"
                     : p.recompute == Recompute::full || p.recompute == Recompute::qkv ? "full"
                                                                                       : "selective";
  t << "\n[activation_checkpoint]\nmode = \"" << mode << "\"\n";
  if (p.recompute == Recompute::op || p.recompute == Recompute::selective) t << "selective_ac_option = \"op\"\n";
  if (layer_ac_every > 0) t << "selective_ac_option = \"" << layer_ac_every << "\"\n";
  // torch.compile: the model (fused element-wise kernels) and the loss (one fused kernel).
  std::vector<std::string> compiled;
  if (compile_model) compiled.emplace_back("\"model\"");
  if (p.loss == Loss::fused) compiled.emplace_back("\"loss\"");
  t << "\n[compile]\nenable = " << (compiled.empty() ? "false" : "true");
  if (!compiled.empty()) {
    t << "\ncomponents = [";
    for (std::size_t i = 0; i < compiled.size(); ++i) t << (i > 0 ? ", " : "") << compiled[i];
    t << "]";
  }
  t << "\n";
  if (fp8) {
    t << "\n[quantize.linear.float8]\nrecipe_name = \""
      << (p.fp8_recipe == Fp8Recipe::rowwise ? "rowwise" : "tensorwise")
      << "\"\nenable_fsdp_float8_all_gather = " << (p.fp8_param_gather ? "true" : "false") << "\n";
  }
  if (mx_experts) t << "\n[quantize.grouped_mm.mx]\nfqns = [\"experts\"]\n";
  r.text = t.str();
  return r;
}

// ---- NeMo 2 ----------------------------------------------------------------------------------

ExportResult to_nemo(const Scenario& sc) {
  ExportResult r;
  const ModelSpec& m = sc.model;
  const PlanSpec& p = sc.plan;
  note_parallel_blocks(m, "NeMo", r.notes);
  note_zero_bubble(p, "NeMo (Megatron-Core)", r.notes);
  const int per_node = sc.cluster.topology.host_gpus();  // Lightning's nodes are hosts
  std::ostringstream t;
  // A recipe whose model config class has the model's attention and MLP: DeepSeek's for
  // multi-head latent attention (MLATransformerConfig), Mixtral's for other mixtures of experts.
  const char* recipe = m.mla ? "deepseek_v3" : m.moe() ? "mixtral_8x7b" : "llama3_8b";
  t << "# " << sc.name << ": overrides for a NeMo 2 pretraining recipe (nemo.collections.llm), e.g.\n"
    << "#   recipe = llm." << recipe << ".pretrain_recipe(...)  then these lines, then nemo_run\n"
    << "# names checked against " << kNemoVersion << "\n";
  t << "recipe.trainer.num_nodes = " << (sc.cluster.gpus + per_node - 1) / per_node << "\n";
  t << "recipe.trainer.devices = " << std::min(per_node, sc.cluster.gpus) << "\n";
  t << "recipe.trainer.strategy.tensor_model_parallel_size = " << p.tp << "\n";
  t << "recipe.trainer.strategy.pipeline_model_parallel_size = " << p.pp << "\n";
  t << "recipe.trainer.strategy.virtual_pipeline_model_parallel_size = "
    << (p.virtual_stages > 1 ? std::to_string(p.virtual_stages) : "None") << "\n";
  if (m.mla) {
    // DeepSeek-V3's recipe splits its 61 layers 3 / 2 on the first and last stages and builds one
    // MTP module (recipes/deepseek_v3.py): the plan's own split and MTP count replace them.
    t << "recipe.trainer.strategy.num_layers_in_first_pipeline_stage = None\n"
         "recipe.trainer.strategy.num_layers_in_last_pipeline_stage = None\n"
         "recipe.model.config.mtp_num_layers = "
      << (m.mtp_layers > 0 ? std::to_string(m.mtp_layers) : "None") << "\n";
  }
  if (const auto layout = megatron_layout(sc))
    t << "recipe.trainer.strategy.pipeline_model_parallel_layout = \"" << *layout << "\"\n";
  t << "recipe.trainer.strategy.context_parallel_size = " << p.cp << "\n";
  t << "recipe.trainer.strategy.expert_model_parallel_size = " << p.ep << "\n";
  t << "recipe.trainer.strategy.sequence_parallel = " << (p.sequence_parallel ? "True" : "False") << "\n";
  t << "recipe.data.micro_batch_size = " << p.micro_batch << "\n";
  t << "recipe.data.global_batch_size = " << p.global_batch << "\n";
  t << "recipe.data.seq_length = " << m.seq_len << "\n";
  t << "recipe.model.config.seq_length = " << m.seq_len << "\n";
  t << "recipe.model.config.num_layers = " << m.layers << "\n";
  t << "recipe.model.config.hidden_size = " << m.hidden << "\n";
  t << "recipe.model.config.ffn_hidden_size = " << m.ffn_hidden << "\n";
  t << "recipe.model.config.num_attention_heads = " << m.heads << "\n";
  if (!m.mla) t << "recipe.model.config.num_query_groups = " << m.kv_heads << "\n";
  if (m.head_size > 0) t << "recipe.model.config.kv_channels = " << m.head_size << "\n";
  // The three recipes' configs (LlamaConfig, MixtralConfig, DeepSeekConfig) are Llama-shaped:
  // RMSNorm, SwiGLU, rotary positions, no biases, untied embeddings, no dropout. A model that
  // differs says how.
  if (m.norm_tensors() != 1) t << "recipe.model.config.normalization = \"LayerNorm\"\n";
  if (!m.swiglu()) {
    t << "recipe.model.config.gated_linear_unit = False\n"
         "recipe.model.config.activation_func = F.gelu  # import torch.nn.functional as F\n";
  }
  if (!m.rotary_positions()) {
    t << "recipe.model.config.position_embedding_type = \"" << (m.learned_positions() ? "learned_absolute" : "none")
      << "\"\n";
  }
  if (m.positions == Positions::alibi)
    r.notes.push_back("positions: alibi: Megatron-Core has no ALiBi; written without positions");
  if (m.biases()) t << "recipe.model.config.add_bias_linear = True\n";
  if (m.tied_embeddings()) t << "recipe.model.config.share_embeddings_and_output_weights = True\n";
  if (m.dropout()) t << "recipe.model.config.attention_dropout = 0.1\nrecipe.model.config.hidden_dropout = 0.1\n";
  if (m.sliding_window > 0) {
    t << "recipe.model.config.window_size = (" << m.sliding_window << ", 0)\n";
    if (m.sliding_window_pattern > 1)
      t << "recipe.model.config.window_attn_skip_freq = " << m.sliding_window_pattern << "\n";
  }
  // Megatron-Core's TransformerConfig and MLATransformerConfig fields, as Megatron-LM's flags above.
  // The recipe's own config sets these for its model: each is written, None where this model has
  // none (a DeepSeek recipe's q_lora_rank 1536 would otherwise stay).
  if (m.mla) {
    t << "recipe.model.config.q_lora_rank = " << (m.q_lora_rank > 0 ? std::to_string(m.q_lora_rank) : "None") << "\n";
    t << "recipe.model.config.kv_lora_rank = " << m.kv_lora_rank
      << "\nrecipe.model.config.qk_head_dim = " << m.qk_nope_head_dim
      << "\nrecipe.model.config.qk_pos_emb_head_dim = " << m.qk_rope_head_dim
      << "\nrecipe.model.config.v_head_dim = " << m.v_head_dim << "\n";
  }
  if (m.moe()) {
    t << "recipe.model.config.num_moe_experts = " << m.experts << "\nrecipe.model.config.moe_router_topk = " << m.top_k
      << "\nrecipe.model.config.moe_ffn_hidden_size = " << m.expert_ffn() << "\n";
    t << "recipe.model.config.moe_shared_expert_intermediate_size = "
      << (m.shared_experts > 0 ? std::to_string(std::int64_t(m.shared_experts) * m.expert_ffn()) : "None") << "\n";
    if (m.moe_layers() < m.layers) {
      const std::string pattern = megatron_moe_layer_freq(m);  // a Python list expression, quoted for a shell
      t << "recipe.model.config.moe_layer_freq = " << pattern.substr(1, pattern.size() - 2) << "\n";
    } else {
      t << "recipe.model.config.moe_layer_freq = 1\n";
    }
    t << "recipe.trainer.strategy.expert_tensor_parallel_size = " << (p.etp > 0 ? p.etp : p.tp) << "\n";
    if (p.moe_dispatcher == MoeDispatcher::alltoall) {
      t << "recipe.model.config.moe_token_dispatcher_type = \"alltoall\"\n";
    } else {
      t << "recipe.model.config.moe_token_dispatcher_type = \"flex\"\nrecipe.model.config.moe_flex_dispatcher_backend "
           "= \""
        << dispatcher_name(p.moe_dispatcher) << "\"\n";
    }
    t << "recipe.model.config.moe_grouped_gemm = True\n";
    if (p.expert_gemm == ExpertGemm::grouped) t << "recipe.model.config.moe_use_legacy_grouped_gemm = True\n";
    if (p.moe_router_fusion) t << "recipe.model.config.moe_router_fusion = True\n";
  }
  if (!p.cuda_graphs.empty()) {
    t << "recipe.model.config.cuda_graph_impl = \"" << (p.graphs("full_iteration") ? "local" : "transformer_engine")
      << "\"\nrecipe.model.config.cuda_graph_scope = [";
    for (std::size_t i = 0; i < p.cuda_graphs.size(); ++i) t << (i > 0 ? ", " : "") << "\"" << p.cuda_graphs[i] << "\"";
    t << "]\n";
  }
  if (m.mtp_layers > 0 && !m.mla) t << "recipe.model.config.mtp_num_layers = " << m.mtp_layers << "\n";
  // Megatron-Core's rank order, or dp outermost with its use_tp_pp_dp_mapping.
  if (placement_in_use(p) != placement_in_use(with_placement(p, kMegatronPlacement))) {
    r.notes.push_back("placement " + placement_name(p.placement) +
                      ": NeMo runs Megatron-Core's rank order tp-cp-dp-pp, a different step time (Megatron-LM's "
                      "--use-tp-pp-dp-mapping gives tp-cp-pp-dp, without context or expert parallelism)");
  }
  if (p.recompute == Recompute::full || p.recompute == Recompute::qkv) {
    const auto block = block_recompute_layers(sc, r.notes);
    t << "recipe.model.config.recompute_granularity = \"full\"\nrecipe.model.config.recompute_method = \""
      << (block ? "block" : "uniform") << "\"\nrecipe.model.config.recompute_num_layers = " << block.value_or(1)
      << "\n";
  } else if (p.recompute != Recompute::none) {
    t << "recipe.model.config.recompute_granularity = \"selective\"\n";
    if (p.recompute == Recompute::selective && p.recompute_modules != PlanSpec{}.recompute_modules) {
      t << "recipe.model.config.recompute_modules = [";
      for (std::size_t i = 0; i < p.recompute_modules.size(); ++i)
        t << (i > 0 ? ", " : "") << "\"" << p.recompute_modules[i] << "\"";
      t << "]\n";
    }
  }
  note_saved_inputs(p, "NeMo setting", r.notes);
  if (p.activation_offload_layers > 0) {
    t << "recipe.model.config.cpu_offloading = True\nrecipe.model.config.cpu_offloading_num_layers = "
      << p.activation_offload_layers << "\n";
  }
  if (const auto backend = megatron_attention_backend(p.attention, r.notes)) {
    t << "recipe.model.config.attention_backend = AttnBackend." << *backend
      << "  # from megatron.core.transformer.enums import AttnBackend\n";
  }
  t << "recipe.optim.config.use_distributed_optimizer = " << (p.zero >= 1 ? "True" : "False") << "\n";
  if (p.optimizer_moment_bytes == 2) {
    t << "recipe.optim.config.use_precision_aware_optimizer = True\n"
         "recipe.optim.config.exp_avg_dtype = torch.bfloat16\n"
         "recipe.optim.config.exp_avg_sq_dtype = torch.bfloat16  # import torch\n";
  }
  if (p.master_weights != MasterWeights::fp32) {
    r.notes.push_back(std::string("master_weights ") + master_weights_name(p.master_weights) +
                      " is not exported: NeMo 2.0's Megatron optimizer keeps fp32 main params");
  }
  if (p.zero >= 2)
    r.notes.push_back(
        "NeMo's distributed optimizer shards optimizer state (and gradients); ZeRO-3 needs Megatron FSDP");
  switch (p.precision) {
    case Precision::bf16:
      t << "recipe.trainer.plugins = bf16_mixed()\n";
      break;
    case Precision::fp16:
      t << "recipe.trainer.plugins = fp16_mixed()\n";
      break;
    // NeMo's precision configs, one per Transformer Engine recipe
    // (nemo/collections/llm/recipes/precision/mixed_precision.py).
    case Precision::fp8:
      switch (p.fp8_recipe) {
        case Fp8Recipe::delayed:
          t << "recipe.trainer.plugins = bf16_with_fp8_mixed()\n";
          break;
        case Fp8Recipe::blockwise:
          t << "recipe.trainer.plugins = bf16_with_fp8_subchannel_scaling_mixed()\n";
          break;
        case Fp8Recipe::rowwise:
          r.notes.push_back("fp8_recipe rowwise (torchao's) has no NeMo config: written as current scaling");
          [[fallthrough]];
        case Fp8Recipe::tensorwise:
          t << "recipe.trainer.plugins = bf16_with_fp8_current_scaling_mixed()\n";
          break;
      }
      break;
    case Precision::mxfp8:
      t << "recipe.trainer.plugins = bf16_with_mxfp8_mixed()\n";
      break;
    default:
      r.notes.push_back(std::string("precision ") + precision_name(p.precision) +
                        " is not exported: NeMo's precision configs are bf16, fp16, FP8 and MXFP8");
      break;
  }
  for (const auto& note : r.notes) t << "# note: " << note << "\n";
  r.text = t.str();
  return r;
}

// ---- Reading back -----------------------------------------------------------------------------

namespace {

// Shell-like words: quotes group, a backslash at a line end continues it, '#' lines are comments.
std::vector<std::string> shell_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  bool line_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!quote && line_start && c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '\n')
      line_start = true;
    else if (!std::isspace(static_cast<unsigned char>(c)))
      line_start = false;
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
      continue;
    }
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == '\r')) {
      while (i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == '\r')) ++i;
      line_start = true;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    word += c;
    in_word = true;
  }
  if (in_word) words.push_back(word);
  return words;
}

std::int64_t whole(const std::string& source, const std::string& key, const std::string& value, std::int64_t min = 1) {
  const auto parsed = units::parse_count(value);
  if (value.empty() || !parsed || *parsed != static_cast<double>(static_cast<std::int64_t>(*parsed)) ||
      *parsed < static_cast<double>(min) || *parsed > 1e15) {
    throw InputError({source, 0, 0}, key,
                     "expected a whole number of at least " + std::to_string(min) + ", found \"" + value + "\"");
  }
  return static_cast<std::int64_t>(*parsed);
}

// A Megatron-LM layer pattern (--moe-layer-freq, --window-attn-skip-freq; `key` names it in
// errors) as a list of 0/1 per layer: a count N (every N-th layer from the first) or a Python list expression of
// brackets, '+' and '*' ("([0]*3+[1]*58)", "([0,1]*24)"). Throws InputError on anything else.
std::vector<int> layer_pattern(const std::string& source, const std::string& key, const std::string& text, int layers) {
  std::string v;
  for (const char c : text) {
    if (c != ' ' && c != '"' && c != '\'') v += c;
  }
  const auto bad = [&] {
    throw InputError({source, 0, 0}, key,
                     "expected a count or a list expression such as \"([0]*3+[1]*58)\", found \"" + text + "\"");
  };
  if (v.size() > 4096) bad();  // a layer list, not a program: also bounds the parser's recursion
  if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) {
    const std::int64_t every = whole(source, key, v);
    std::vector<int> pattern;
    for (int i = 0; i < layers; ++i) pattern.push_back(i % every == 0 ? 1 : 0);
    return pattern;
  }
  std::size_t at = 0;
  std::function<std::vector<int>()> sum;
  const auto factor = [&]() -> std::vector<int> {
    std::vector<int> list;
    if (at < v.size() && v[at] == '(') {
      ++at;
      list = sum();
      if (at >= v.size() || v[at] != ')') bad();
      ++at;
    } else if (at < v.size() && v[at] == '[') {
      ++at;
      while (at < v.size() && (v[at] == '0' || v[at] == '1')) {
        list.push_back(v[at++] - '0');
        if (at < v.size() && v[at] == ',') ++at;
      }
      if (at >= v.size() || v[at] != ']') bad();
      ++at;
    } else {
      bad();
    }
    while (at < v.size() && v[at] == '*') {
      const std::size_t end = v.find_first_not_of("0123456789", ++at);
      const std::int64_t times = whole(source, key, v.substr(at, end - at), 0);
      if (times > 65536 || double(times) * double(list.size()) > 1e6) bad();  // more layers than any model
      at = end == std::string::npos ? v.size() : end;
      std::vector<int> repeated;
      for (std::int64_t k = 0; k < times; ++k) repeated.insert(repeated.end(), list.begin(), list.end());
      list = repeated;
    }
    return list;
  };
  sum = [&] {
    std::vector<int> list = factor();
    while (at < v.size() && v[at] == '+') {
      ++at;
      const std::vector<int> more = factor();
      list.insert(list.end(), more.begin(), more.end());
    }
    return list;
  };
  std::vector<int> pattern = sum();
  if (at != v.size()) bad();
  return pattern;
}

void set_recompute(YAML::Node& plan, const std::string& granularity, const std::string& source,
                   const std::string& key) {
  if (granularity == "full")
    plan["recompute"] = "full";
  else if (granularity == "selective")
    plan["recompute"] = "selective";
  else
    throw InputError({source, 0, 0}, key, "expected full or selective, found \"" + granularity + "\"");
}

// Layers per chunk of a --pipeline-model-parallel-layout (pipeline_parallel_layer_layout.py:
// "(...)*n" and "x*n" repeat, commas are cosmetic, "|" ends a chunk; chunk c is on stage c % pp).
std::vector<int> megatron_layout_chunks(const std::string& source, const std::string& text, std::int64_t pp,
                                        std::int64_t layers) {
  const char* key = "--pipeline-model-parallel-layout";
  const auto bad = [&](const std::string& why) {
    throw InputError({source, 0, 0}, key, why + " (a layout such as \"Et*3|(t*4|)*6,t*3L\"), found \"" + text + "\"");
  };
  std::string v;
  for (const char c : text) {
    if (c != ',' && c != ' ' && c != '"' && c != '\'') v += c;
  }
  if (v.size() > 4096) bad("too long");
  const auto count_after = [&](std::size_t& at) {
    const std::size_t end = v.find_first_not_of("0123456789", at);
    const std::string digits = v.substr(at, end - at);
    if (digits.empty() || digits.size() > 5) bad("expected a count after '*'");
    at = end == std::string::npos ? v.size() : end;
    return std::stoi(digits);
  };
  // Parentheses first (Megatron-Core's own order), then single characters.
  for (std::size_t open; (open = v.find('(')) != std::string::npos;) {
    const std::size_t close = v.find(')', open);
    if (close == std::string::npos || close + 1 >= v.size() || v[close + 1] != '*') bad("expected \"(...)*N\"");
    std::size_t at = close + 2;
    const int times = count_after(at);
    std::string repeated;
    for (int k = 0; k < times && repeated.size() <= 1 << 16; ++k) repeated += v.substr(open + 1, close - open - 1);
    v = v.substr(0, open) + repeated + v.substr(at);
  }
  std::string flat;
  for (std::size_t at = 0; at < v.size();) {
    const char c = v[at++];
    if (std::string("ELtm|").find(c) == std::string::npos) bad(std::string("unknown layer character '") + c + "'");
    if (at < v.size() && v[at] == '*') {
      ++at;
      flat.append(std::size_t(count_after(at)), c);
    } else {
      flat += c;
    }
    if (flat.size() > 1 << 16) bad("too long");
  }
  std::vector<int> chunks(1, 0);
  for (const char c : flat) {
    if (c == '|') chunks.push_back(0);
    if (c == 't') ++chunks.back();
  }
  if (flat.empty() || flat.front() != 'E' || flat.back() != 'L' || std::count(flat.begin(), flat.end(), 'E') != 1 ||
      std::count(flat.begin(), flat.end(), 'L') != 1)
    bad("expected the embedding E first and the loss L last, once each");
  if (static_cast<std::int64_t>(chunks.size()) % pp != 0)
    bad(std::to_string(chunks.size()) + " chunks do not divide over " + std::to_string(pp) + " pipeline stages");
  if (std::accumulate(chunks.begin(), chunks.end(), std::int64_t{0}) != layers)
    bad("its layers do not add up to --num-layers " + std::to_string(layers));
  if (std::find(chunks.begin(), chunks.end(), 0) != chunks.end())
    bad("a chunk without layers (a stage of the embedding or loss alone), which trainsim does not price");
  return chunks;
}

// Layers per chunk as Megatron-Core builds them from the first and last stages' counts and the
// embedding or loss counted as a layer (transformer_block.py, get_num_layers_to_build).
std::vector<int> megatron_uneven_chunks(const std::string& source, const std::map<std::string, std::string>& flags,
                                        std::int64_t pp, std::int64_t v, std::int64_t layers) {
  const auto count = [&](const char* f) -> std::optional<std::int64_t> {
    const auto it = flags.find(f);
    if (it == flags.end()) return std::nullopt;
    return whole(source, f, it->second, 0);
  };
  const auto first = count("--decoder-first-pipeline-num-layers"), last = count("--decoder-last-pipeline-num-layers");
  std::vector<std::int64_t> stage(std::size_t(pp), 0);
  const char* key = first ? "--decoder-first-pipeline-num-layers" : "--decoder-last-pipeline-num-layers";
  if (first || last) {
    if (flags.count("--account-for-embedding-in-pipeline-split") || flags.count("--account-for-loss-in-pipeline-split"))
      throw InputError(
          {source, 0, 0}, key,
          "Megatron-Core takes uneven first and last stages or the embedding and loss in the split, not both");
    std::int64_t rest = layers - first.value_or(0) - last.value_or(0);
    const std::int64_t middle = pp - (first ? 1 : 0) - (last ? 1 : 0);
    if (rest < 0 || (middle > 0 && rest % middle != 0) || (middle <= 0 && rest != 0))
      throw InputError({source, 0, 0}, key,
                       "the other stages' " + std::to_string(rest) + " layers do not divide over " +
                           std::to_string(std::max<std::int64_t>(middle, 0)) + " stages");
    for (auto& n : stage) n = middle > 0 ? rest / middle : 0;
    if (first) stage.front() = *first;
    if (last) stage.back() = *last;
  } else {
    key = "--account-for-embedding-in-pipeline-split";
    const int embedding = flags.count("--account-for-embedding-in-pipeline-split") ? 1 : 0;
    const int loss = flags.count("--account-for-loss-in-pipeline-split") ? 1 : 0;
    if ((layers + embedding + loss) % pp != 0)
      throw InputError({source, 0, 0}, key,
                       std::to_string(layers + embedding + loss) + " layers and modules do not divide over " +
                           std::to_string(pp) + " stages");
    for (auto& n : stage) n = (layers + embedding + loss) / pp;
  }
  // Each stage's layers in v equal chunks; the embedding's and the loss's places in the split come
  // off the model's first and last chunks.
  std::vector<int> chunks(std::size_t(pp * v), 0);
  for (std::int64_t s = 0; s < pp; ++s) {
    if (stage[s] % v != 0)
      throw InputError({source, 0, 0}, key,
                       "stage " + std::to_string(s) + "'s " + std::to_string(stage[s]) + " layers do not divide into " +
                           std::to_string(v) + " virtual stages");
    for (std::int64_t c = 0; c < v; ++c) chunks[c * pp + s] = static_cast<int>(stage[s] / v);
  }
  if (!first && !last) {
    chunks.front() -= flags.count("--account-for-embedding-in-pipeline-split") ? 1 : 0;
    chunks.back() -= flags.count("--account-for-loss-in-pipeline-split") ? 1 : 0;
  }
  if (std::any_of(chunks.begin(), chunks.end(), [](int n) { return n < 1; }))
    throw InputError({source, 0, 0}, key, "a model chunk without layers, which trainsim does not price");
  return chunks;
}

// --window-attn-skip-freq: a count p (every p-th layer, from 1, attends to the whole sequence)
// or a list of 1 (windowed) and 0 (whole) per layer; a list is read where it is such a period.
void read_window_pattern(const std::string& source, const std::string& value, std::int64_t layers, ImportedPlan& out) {
  if (value.find_first_not_of("0123456789") == std::string::npos) {
    const std::int64_t every = whole(source, "--window-attn-skip-freq", value);
    // 1: every layer attends to the whole sequence (layer_number % 1 is never 0).
    if (every == 1)
      out.model["sliding_window"] = 0;
    else
      out.model["sliding_window_pattern"] = every;
    return;
  }
  const std::vector<int> pattern = layer_pattern(source, "--window-attn-skip-freq", value, 0);
  const int n = static_cast<int>(pattern.size());
  if (layers > 0 && n != layers)  // Megatron-Core indexes the list by layer
    throw InputError({source, 0, 0}, "--window-attn-skip-freq",
                     "the list gives " + std::to_string(n) + " layers, --num-layers " + std::to_string(layers));
  if (std::all_of(pattern.begin(), pattern.end(), [](int x) { return x == 1; })) return;  // every layer windowed
  if (std::all_of(pattern.begin(), pattern.end(), [](int x) { return x == 0; })) {
    out.model["sliding_window"] = 0;
    return;
  }
  for (int p = 2; p <= n; ++p) {
    bool periodic = true;
    for (int i = 0; i < n && periodic; ++i) periodic = pattern[i] == ((i + 1) % p != 0 ? 1 : 0);
    if (periodic) {
      out.model["sliding_window_pattern"] = p;
      return;
    }
  }
  out.notes.push_back("--window-attn-skip-freq " + value +
                      ": not every p-th layer attending to the whole sequence; priced as every layer windowed");
}

// The layer's make-up from Megatron-LM's flags, whose defaults are GPT's (LayerNorm, GeLU, learned
// positions, biases, tied embeddings, dropout 0.1): the arch from the MLP (--swiglu), and every
// field of the layer written out, so that a base scenario's model (or its preset) keeps none.
void read_megatron_shape(const std::map<std::string, std::string>& flags, const std::string& source,
                         ImportedPlan& out) {
  const auto value_of = [&](const char* f, const char* fallback) {
    const auto it = flags.find(f);
    if (it == flags.end()) return std::string(fallback);
    if (it->second.empty()) throw InputError({source, 0, 0}, f, "expected a value after the flag");
    return it->second;
  };
  const bool llama = flags.count("--swiglu") > 0;
  out.model["arch"] = llama ? "llama" : "gpt";
  // Every field of the layer is written, not only where it differs from the arch's default: the
  // line describes the model, over whatever a base scenario's model (or its preset) had.
  const std::string positions = value_of("--position-embedding-type", "learned_absolute");
  const bool rotary = positions == "rope" || positions == "yarn" || positions == "mrope";
  out.model["positions"] = rotary ? "rotary" : "learned";
  if (!rotary && positions != "learned_absolute")
    out.notes.push_back("--position-embedding-type " + positions + ": priced as learned positions");
  out.model["biases"] = flags.count("--disable-bias-linear") == 0;
  out.model["tied_embeddings"] = flags.count("--untie-embeddings-and-output-weights") == 0;
  bool dropout = false;
  for (const char* f : {"--attention-dropout", "--hidden-dropout"}) {
    const std::string v = value_of(f, "0.1");
    const auto p = units::parse_count(v);
    if (!p || *p < 0 || *p >= 1)
      throw InputError({source, 0, 0}, f, "expected a probability in [0, 1), found \"" + v + "\"");
    dropout = dropout || *p > 0;
  }
  out.model["dropout"] = dropout;
  out.model["parallel_blocks"] = false;  // Megatron-LM builds the sequential layer
  out.model["attention"] = flags.count("--multi-latent-attention") ? "mla" : "mha";
  // No window (0) and no MTP unless the flags give them (the window is read after this); as many
  // key/value heads as heads, and heads hidden / heads wide, unless given.
  out.model["sliding_window"] = 0;
  out.model["sliding_window_pattern"] = 1;
  if (!flags.count("--mtp-num-layers")) out.model["mtp_layers"] = 0;
  const auto whole_of = [&](const char* f) { return whole(source, f, value_of(f, "0"), 1); };
  if (flags.count("--num-attention-heads") &&
      !(flags.count("--group-query-attention") && flags.count("--num-query-groups")))
    out.model["kv_heads"] = whole_of("--num-attention-heads");
  if (flags.count("--num-attention-heads") && flags.count("--hidden-size") && !flags.count("--kv-channels") &&
      !flags.count("--multi-latent-attention")) {
    const std::int64_t hidden = whole_of("--hidden-size"), heads = whole_of("--num-attention-heads");
    if (hidden % heads == 0) out.model["head_dim"] = hidden / heads;
  }
  if ((value_of("--normalization", "LayerNorm") == "RMSNorm") != llama) {
    out.notes.push_back("--normalization " + value_of("--normalization", "LayerNorm") + " with" + (llama ? "" : "out") +
                        " --swiglu: priced with " + (llama ? "RMSNorm" : "LayerNorm") + ", as the " +
                        (llama ? "Llama" : "GPT") + " layer has it");
  }
}

}  // namespace

ImportedPlan from_megatron(const std::string& arguments, const std::string& source) {
  ImportedPlan out;
  out.plan = YAML::Node(YAML::NodeType::Map);
  out.model = YAML::Node(YAML::NodeType::Map);
  std::map<std::string, std::string> flags;  // flag -> value ("" for a switch)
  const auto words = shell_words(arguments);
  // A launch line (it starts with a program, not a flag) has its own flags before the script:
  // torchrun --nproc-per-node 8 pretrain_gpt.py ...; the arguments start after the first Python
  // file named as a word of its own. Arguments alone (they start with a flag) are read whole, a
  // value such as --tensorboard-dir runs/v1.py included.
  const bool launch_line = !words.empty() && words.front().rfind("--", 0) != 0;
  const auto script = std::find_if(words.begin(), words.end(), [](const std::string& w) {
    return w.size() > 3 && w.front() != '-' && w.compare(w.size() - 3, 3, ".py") == 0;
  });
  const std::size_t first =
      !launch_line || script == words.end() ? 0 : static_cast<std::size_t>(script - words.begin()) + 1;
  for (std::size_t i = first; i < words.size(); ++i) {
    std::string flag = words[i];
    if (flag.rfind("--", 0) != 0) {
      if (flags.empty()) continue;  // the launcher and script before the flags (torchrun ... pretrain_gpt.py)
      throw InputError({source, 0, 0}, words[i - 1], "unexpected \"" + flag + "\": a flag takes at most one value");
    }
    std::string value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (i + 1 < words.size() && words[i + 1].rfind("--", 0) != 0) {
      value = words[++i];
      // A list flag takes every word up to the next flag.
      while ((flag == "--recompute-modules" || flag == "--cuda-graph-scope" || flag == "--cuda-graph-modules") &&
             i + 1 < words.size() && words[i + 1].rfind("--", 0) != 0)
        value += " " + words[++i];
    }
    flags[flag] = value;
  }
  if (flags.empty())
    throw InputError({source, 0, 0}, "", "expected Megatron-LM arguments such as --tensor-model-parallel-size 8");
  const auto has = [&](const char* f) { return flags.count(f) > 0; };
  const auto get = [&](const char* f) { return flags.at(f); };
  const auto need_value = [&](const char* f) {
    if (get(f).empty()) throw InputError({source, 0, 0}, f, "expected a value after the flag");
    return get(f);
  };
  const auto number = [&](const char* f, std::int64_t min = 1) { return whole(source, f, need_value(f), min); };
  std::map<std::string, bool> used;
  const auto plan_int = [&](const char* f, const char* key) {
    if (has(f)) out.plan[key] = number(f);
    used[f] = true;
  };
  const auto model_int = [&](const char* f, const char* key) {
    if (has(f)) out.model[key] = number(f);
    used[f] = true;
  };
  plan_int("--tensor-model-parallel-size", "tp");
  plan_int("--pipeline-model-parallel-size", "pp");
  plan_int("--context-parallel-size", "cp");
  plan_int("--expert-model-parallel-size", "ep");
  plan_int("--expert-tensor-parallel-size", "etp");
  plan_int("--micro-batch-size", "micro_batch");
  plan_int("--global-batch-size", "global_batch");
  model_int("--num-layers", "layers");
  model_int("--mtp-num-layers", "mtp_layers");
  model_int("--hidden-size", "hidden");
  model_int("--ffn-hidden-size", "ffn_hidden");
  model_int("--num-attention-heads", "heads");
  model_int("--kv-channels", "head_dim");
  model_int("--seq-length", "seq_len");
  model_int("--vocab-size", "vocab");
  model_int("--q-lora-rank", "q_lora_rank");
  model_int("--kv-lora-rank", "kv_lora_rank");
  model_int("--qk-head-dim", "qk_nope_head_dim");
  model_int("--qk-pos-emb-head-dim", "qk_rope_head_dim");
  model_int("--v-head-dim", "v_head_dim");
  if (has("--num-query-groups") && has("--group-query-attention")) out.model["kv_heads"] = number("--num-query-groups");
  used["--num-query-groups"] = used["--group-query-attention"] = true;
  if (has("--multi-latent-attention")) out.model["attention"] = "mla";
  used["--multi-latent-attention"] = true;
  if (out.model.size() > 0) read_megatron_shape(flags, source, out);
  for (const char* f :
       {"--swiglu", "--normalization", "--position-embedding-type", "--untie-embeddings-and-output-weights",
        "--disable-bias-linear", "--max-position-embeddings", "--attention-dropout", "--hidden-dropout"}) {
    used[f] = true;
  }
  if (has("--window-size")) {
    // "(4096,0)" or "4096,0" (Megatron-LM's tuple_type strips the parentheses).
    const std::string v = need_value("--window-size");
    const auto open = v.find('('), comma = v.find(',');
    const std::size_t left = open == std::string::npos ? 0 : open + 1;
    if (comma == std::string::npos || comma < left) {
      throw InputError({source, 0, 0}, "--window-size",
                       "expected \"(LEFT,RIGHT)\" such as \"(4096,0)\", found \"" + v + "\"");
    }
    out.model["sliding_window"] = whole(source, "--window-size", v.substr(left, comma - left));
    if (has("--window-attn-skip-freq"))
      read_window_pattern(source, need_value("--window-attn-skip-freq"),
                          has("--num-layers") ? number("--num-layers") : 0, out);
  }
  used["--window-size"] = used["--window-attn-skip-freq"] = true;
  // The experts' settings mean something only with experts (a dense model's scenario refuses them).
  if (has("--moe-token-dispatcher-type") && has("--num-experts")) {
    const std::string type = need_value("--moe-token-dispatcher-type");
    const std::string backend =
        has("--moe-flex-dispatcher-backend") ? need_value("--moe-flex-dispatcher-backend") : "deepep";
    if (type == "flex")
      out.plan["moe_dispatcher"] = backend;
    else if (type != "alltoall")
      out.notes.push_back("--moe-token-dispatcher-type " + type + ": priced as alltoall");
  }
  used["--moe-token-dispatcher-type"] = used["--moe-flex-dispatcher-backend"] = true;
  // Mixture of experts.
  if (has("--num-experts")) {
    YAML::Node moe(YAML::NodeType::Map);
    moe["experts"] = number("--num-experts");
    if (has("--moe-router-topk")) moe["top_k"] = number("--moe-router-topk");
    std::int64_t expert_ffn = 0;
    if (has("--moe-ffn-hidden-size")) moe["expert_ffn_hidden"] = expert_ffn = number("--moe-ffn-hidden-size");
    if (has("--moe-shared-expert-intermediate-size")) {
      const std::int64_t shared = number("--moe-shared-expert-intermediate-size");
      const std::int64_t width =
          expert_ffn > 0 ? expert_ffn : (out.model["ffn_hidden"] ? number("--ffn-hidden-size") : 0);
      if (width <= 0 || shared % width != 0) {
        throw InputError({source, 0, 0}, "--moe-shared-expert-intermediate-size",
                         "expected a multiple of --moe-ffn-hidden-size (shared experts of one expert's width)");
      }
      moe["shared_experts"] = shared / width;
    }
    if (has("--moe-layer-freq")) {
      // Leading dense layers ("([0]*3+[1]*58)", DeepSeek-V3) and every p-th layer ("([0,1]*24)",
      // Llama 4 Maverick) are what ModelSpec::moe_layer describes.
      const int layers = has("--num-layers") ? static_cast<int>(number("--num-layers")) : 0;
      const std::vector<int> pattern =
          layer_pattern(source, "--moe-layer-freq", need_value("--moe-layer-freq"), layers);
      if (pattern.size() > 4096 || (layers > 0 && static_cast<int>(pattern.size()) != layers)) {
        throw InputError(
            {source, 0, 0}, "--moe-layer-freq",
            "the pattern lists " + std::to_string(pattern.size()) + " layers, --num-layers " + std::to_string(layers));
      }
      // For each frequency the dense layers are none, or all those before the first MoE layer.
      const int first_moe = static_cast<int>(std::find(pattern.begin(), pattern.end(), 1) - pattern.begin());
      bool described = false;
      for (int every = 1; every <= static_cast<int>(pattern.size()) && !described; ++every) {
        ModelSpec probe;
        probe.experts = 1;
        probe.layers = static_cast<int>(pattern.size());
        probe.moe_layer_frequency = every;
        for (const int dense : {0, first_moe}) {
          if (described || dense >= probe.layers) continue;
          probe.dense_layers = dense;
          described = std::all_of(pattern.begin(), pattern.end(),
                                  [&, i = 0](int x) mutable { return x == (probe.moe_layer(i++) ? 1 : 0); });
          if (described) {
            if (dense > 0) moe["dense_layers"] = dense;
            if (every > 1) moe["layer_frequency"] = every;
          }
        }
      }
      // One MoE layer in every p at another offset (Megatron's count form: the first of each p):
      // the same count, each p-th layer instead.
      const int n = static_cast<int>(pattern.size());
      for (int every = 2; every <= n && !described; ++every) {
        bool periodic = n % every == 0 && std::count(pattern.begin(), pattern.begin() + every, 1) == 1;
        for (int i = every; i < n && periodic; ++i) periodic = pattern[i] == pattern[i % every];
        if (periodic) {
          described = true;
          moe["layer_frequency"] = every;
          out.notes.push_back("--moe-layer-freq " + need_value("--moe-layer-freq") + ": one MoE layer in every " +
                              std::to_string(every) + ", priced as layers " + std::to_string(every) + ", " +
                              std::to_string(2 * every) + ", ... (from 1) have the experts");
        }
      }
      if (!described && !(pattern.empty() && need_value("--moe-layer-freq") == "1"))
        out.notes.push_back("--moe-layer-freq " + need_value("--moe-layer-freq") +
                            ": not leading dense layers and every p-th layer; read as all MoE");
    }
    out.model["moe"] = moe;
  }
  // Without --num-experts the experts' flags describe nothing this reader can write (the base
  // scenario's model stays as it is): said, not dropped without a word.
  std::string unread_moe;
  for (const char* f :
       {"--num-experts", "--moe-router-topk", "--moe-ffn-hidden-size", "--moe-shared-expert-intermediate-size",
        "--moe-layer-freq", "--moe-token-dispatcher-type", "--moe-flex-dispatcher-backend"}) {
    if (!has("--num-experts") && has(f)) unread_moe += std::string(unread_moe.empty() ? "" : " ") + f;
    used[f] = true;
  }
  if (!unread_moe.empty())
    out.notes.push_back(unread_moe + ": not read without --num-experts (the model's experts are kept as they are)");
  const std::int64_t pipeline = has("--pipeline-model-parallel-size") ? number("--pipeline-model-parallel-size") : 1;
  const auto split_layers = [&](const char* f) {
    if (!has("--num-layers")) throw InputError({source, 0, 0}, f, "needs --num-layers to split the layers");
    return number("--num-layers");
  };
  // The embedding and the loss counted as layers in the split (arguments.py adds them before
  // dividing; get_num_layers_to_build takes them off the first and last chunks).
  const int in_split = (has("--account-for-embedding-in-pipeline-split") ? 1 : 0) +
                       (has("--account-for-loss-in-pipeline-split") ? 1 : 0);
  // Interleaving: layers per virtual stage (current Megatron-LM) or the virtual size (older).
  if (has("--num-layers-per-virtual-pipeline-stage")) {
    const std::int64_t per_chunk = number("--num-layers-per-virtual-pipeline-stage");
    const std::int64_t layers = split_layers("--num-layers-per-virtual-pipeline-stage") + in_split;
    if (layers % (per_chunk * pipeline) != 0) {
      throw InputError({source, 0, 0}, "--num-layers-per-virtual-pipeline-stage",
                       std::to_string(layers) + " layers" + (in_split > 0 ? " (embedding and loss counted)" : "") +
                           " are not a whole number of chunks of " + std::to_string(per_chunk) + " on " +
                           std::to_string(pipeline) + " pipeline stages");
    }
    out.plan["virtual_stages"] = layers / (per_chunk * pipeline);
  }
  used["--num-layers-per-virtual-pipeline-stage"] = true;
  plan_int("--virtual-pipeline-model-parallel-size", "virtual_stages");  // Megatron-LM before core 0.10
  plan_int("--num-virtual-stages-per-pipeline-rank", "virtual_stages");
  // The split over pipeline stages: a layout, the first and last stages' counts, or even.
  if (has("--pipeline-model-parallel-layout")) {
    for (const char* f : {"--num-layers-per-virtual-pipeline-stage", "--num-virtual-stages-per-pipeline-rank",
                          "--virtual-pipeline-model-parallel-size"}) {
      if (has(f))
        throw InputError({source, 0, 0}, f, "Megatron-LM takes it or --pipeline-model-parallel-layout, not both");
    }
    const std::vector<int> chunks = megatron_layout_chunks(source, need_value("--pipeline-model-parallel-layout"),
                                                           pipeline, split_layers("--pipeline-model-parallel-layout"));
    for (const int n : chunks) out.plan["layers_per_stage"].push_back(n);
    out.plan["virtual_stages"] = static_cast<int>(chunks.size() / pipeline);
  } else if (has("--decoder-first-pipeline-num-layers") || has("--decoder-last-pipeline-num-layers") || in_split > 0) {
    const std::int64_t virtual_stages = out.plan["virtual_stages"] ? out.plan["virtual_stages"].as<std::int64_t>() : 1;
    for (const int n : megatron_uneven_chunks(source, flags, pipeline, virtual_stages,
                                              split_layers("--decoder-first-pipeline-num-layers")))
      out.plan["layers_per_stage"].push_back(n);
  }
  for (const char* f :
       {"--pipeline-model-parallel-layout", "--decoder-first-pipeline-num-layers", "--decoder-last-pipeline-num-layers",
        "--account-for-embedding-in-pipeline-split", "--account-for-loss-in-pipeline-split"})
    used[f] = true;
  // Megatron-LM runs 1F1B, interleaved with virtual stages; it has no GPipe.
  if (out.plan["virtual_stages"] && out.plan["virtual_stages"].as<int>() > 1) {
    out.plan["schedule"] = "interleaved";
  } else {
    out.plan["virtual_stages"] = 1;
    out.plan["schedule"] = "1f1b";
  }
  // The distributed optimizer's copies, each sharded over dp / instances ranks (plan.dp_shard);
  // without the distributed optimizer there is nothing to shard (read after the optimizer, below).
  used["--num-distributed-optimizer-instances"] = true;
  out.plan["sequence_parallel"] = has("--sequence-parallel");
  used["--sequence-parallel"] = true;
  if (has("--tp-comm-overlap")) out.plan["tp_comm_overlap"] = true;
  used["--tp-comm-overlap"] = true;
  if (has("--cross-entropy-loss-fusion")) out.plan["loss"] = "fused";
  used["--cross-entropy-loss-fusion"] = true;
  // Experts: Transformer Engine's GroupedLinear (the default, expert_gemm: streams), or the legacy
  // grouped_gemm package's one kernel over all experts.
  if (has("--num-experts") && has("--moe-grouped-gemm"))
    out.plan["expert_gemm"] = has("--moe-use-legacy-grouped-gemm") ? "grouped" : "streams";
  if (has("--num-experts") && !has("--moe-grouped-gemm")) {
    out.notes.push_back(
        "no --moe-grouped-gemm: Megatron-Core runs the experts one after another (SequentialMLP), "
        "priced as Transformer Engine's GroupedLinear (expert_gemm: streams), a lower bound");
  }
  used["--moe-grouped-gemm"] = used["--moe-use-legacy-grouped-gemm"] = true;
  // Megatron-Core's default is the unfused router.
  if (has("--num-experts") && !has("--moe-router-fusion")) out.plan["moe_router_fusion"] = false;
  used["--moe-router-fusion"] = true;
  // Recomputation.
  out.plan["recompute"] = "none";
  if (has("--recompute-activations")) out.plan["recompute"] = "selective";
  if (has("--recompute-granularity")) {
    set_recompute(out.plan, need_value("--recompute-granularity"), source, "--recompute-granularity");
  }
  if (has("--recompute-modules") && out.plan["recompute"].as<std::string>() == "selective") {
    std::istringstream names(need_value("--recompute-modules"));
    for (std::string name; names >> name;) {
      if (std::find(kRecomputeModules.begin(), kRecomputeModules.end(), name) == kRecomputeModules.end())
        throw InputError({source, 0, 0}, "--recompute-modules", "unknown module \"" + name + "\"");
      out.plan["recompute_modules"].push_back(name);
    }
  }
  // Megatron-Core refuses full recomputation without a method and a layer count (TransformerConfig).
  if (out.plan["recompute"].as<std::string>() == "full" &&
      (!has("--recompute-method") || !has("--recompute-num-layers")))
    throw InputError({source, 0, 0}, "--recompute-granularity",
                     "full recomputation needs --recompute-method (uniform or block) and --recompute-num-layers, as "
                     "Megatron-Core asks");
  // --recompute-method block recomputes the first N layers of every chunk: a share of them.
  if (out.plan["recompute"].as<std::string>() == "full" && has("--recompute-method") &&
      need_value("--recompute-method") == "block" && has("--recompute-num-layers") && has("--num-layers")) {
    const int chunks = out.plan["pp"].as<int>(1) * out.plan["virtual_stages"].as<int>(1);
    const double per_chunk = double(number("--num-layers")) / chunks;
    const double share = double(number("--recompute-num-layers", 0)) / per_chunk;
    if (share < 1) out.plan["recompute_fraction"] = share;
  }
  for (const char* f : {"--recompute-activations", "--recompute-granularity", "--recompute-method",
                        "--recompute-num-layers", "--recompute-modules"}) {
    used[f] = true;
  }
  // CUDA graphs (megatron-core 0.20's arguments.py and cuda_graph_config.py): none unless an
  // implementation is given (--cuda-graph-impl, or the deprecated --enable-cuda-graph: local,
  // --external-cuda-graph: transformer_engine); full_iteration (as an implementation, or the
  // deprecated module of that name) is the whole step; per-layer graphs capture the modules listed
  // (--cuda-graph-modules, or the deprecated --cuda-graph-scope), and with none listed (or the
  // deprecated "full") the whole layer: attention and the dense MLP or the MoE layer.
  out.plan["cuda_graphs"] = YAML::Node(YAML::NodeType::Sequence);
  {
    std::string impl = has("--cuda-graph-impl") ? need_value("--cuda-graph-impl") : "none";
    if (has("--enable-cuda-graph")) impl = "local";
    if (has("--external-cuda-graph")) impl = "transformer_engine";
    const char* list_flag = has("--cuda-graph-modules") ? "--cuda-graph-modules" : "--cuda-graph-scope";
    std::vector<std::string> modules;
    if (has(list_flag)) {
      std::istringstream names(need_value(list_flag));
      for (std::string name; names >> name;) {
        if (name == "full") continue;
        if (name == "full_iteration") {
          if (impl != "none") impl = "full_iteration";
          continue;
        }
        if (std::find(kCudaGraphScopes.begin(), kCudaGraphScopes.end(), name) == kCudaGraphScopes.end())
          throw InputError({source, 0, 0}, list_flag, "unknown CUDA graph module \"" + name + "\"");
        modules.push_back(name);
      }
    }
    if (impl == "full_iteration") {
      modules = {"full_iteration"};
    } else if (impl == "none") {
      modules.clear();
    } else if (impl != "local" && impl != "transformer_engine") {
      throw InputError({source, 0, 0}, "--cuda-graph-impl",
                       "expected none, local, transformer_engine or full_iteration, found \"" + impl + "\"");
    } else if (modules.empty()) {
      modules = {"attn", has("--num-experts") ? "moe" : "mlp"};
    }
    for (const auto& name : modules) out.plan["cuda_graphs"].push_back(name);
  }
  for (const char* f : {"--cuda-graph-impl", "--cuda-graph-modules", "--cuda-graph-scope", "--enable-cuda-graph",
                        "--external-cuda-graph"})
    used[f] = true;
  // Activation offloading (Transformer Engine's CPU offload context): the first N layers. Megatron-LM
  // turns it on from the count (arguments.py: cpu_offloading when cpu_offloading_num_layers > 0);
  // without the flag nothing is offloaded, whatever the base scenario said.
  out.plan["activation_offload_layers"] =
      has("--cpu-offloading-num-layers") ? number("--cpu-offloading-num-layers", 0) : std::int64_t{0};
  used["--cpu-offloading"] = used["--cpu-offloading-num-layers"] = true;
  // Sharding of optimizer state, gradients and weights.
  out.plan["zero"] = has("--use-distributed-optimizer") ? 1 : 0;
  if (has("--use-megatron-fsdp") || has("--use-torch-fsdp2")) {
    const std::string strategy = has("--data-parallel-sharding-strategy")
                                     ? need_value("--data-parallel-sharding-strategy")
                                     : "optim_grads_params";
    const std::map<std::string, int> stages = {
        {"no_shard", 0}, {"optim", 1}, {"optim_grads", 2}, {"optim_grads_params", 3}};
    if (!stages.count(strategy)) {
      throw InputError({source, 0, 0}, "--data-parallel-sharding-strategy",
                       "expected no_shard, optim, optim_grads or optim_grads_params, found \"" + strategy + "\"");
    }
    out.plan["zero"] = has("--use-torch-fsdp2") ? 3 : stages.at(strategy);
  }
  for (const char* f : {"--use-distributed-optimizer", "--use-megatron-fsdp", "--use-torch-fsdp2",
                        "--data-parallel-sharding-strategy"}) {
    used[f] = true;
  }
  // Adam's moments and the main params in 16 bits (Transformer Engine's precision-aware
  // FusedAdam): the dtypes count only with --use-precision-aware-optimizer, as in Megatron-LM.
  {
    const auto dtype = [&](const char* flag) { return has(flag) ? need_value(flag) : std::string("fp32"); };
    const std::string avg = dtype("--exp-avg-dtype"), avg_sq = dtype("--exp-avg-sq-dtype");
    const bool aware = has("--use-precision-aware-optimizer");
    out.plan["optimizer_state"] = aware && avg != "fp32" && avg_sq != "fp32" ? "bf16" : "fp32";
    out.plan["master_weights"] = aware && dtype("--main-params-dtype") == "fp16" ? "16-bit" : "fp32";
    if (aware && (avg != avg_sq || avg == "fp8")) {
      out.notes.push_back("--exp-avg-dtype " + avg + ", --exp-avg-sq-dtype " + avg_sq + ": read as optimizer_state " +
                          out.plan["optimizer_state"].as<std::string>() + " (both moments 2 bytes, or both 4)");
    }
    for (const char* f :
         {"--use-precision-aware-optimizer", "--exp-avg-dtype", "--exp-avg-sq-dtype", "--main-params-dtype"}) {
      used[f] = true;
    }
  }
  // Attention kernels: Transformer Engine's backend as --attention-backend names it; auto (the
  // default) leaves the GPU's default family.
  if (has("--attention-backend")) {
    const std::string backend = need_value("--attention-backend");
    const std::map<std::string, std::string> families = {
        {"fused", "cudnn"}, {"flash", "flash2"}, {"unfused", "unfused"}, {"local", "unfused"}};
    if (families.count(backend)) {
      out.plan["attention"] = families.at(backend);
      if (backend == "flash") {
        out.notes.push_back(
            "--attention-backend flash: read as FlashAttention-2 (flash-attn); with flash-attn 3 "
            "installed on Hopper set plan.attention: flash3");
      }
    } else if (backend != "auto") {
      throw InputError({source, 0, 0}, "--attention-backend",
                       "expected flash, fused, unfused, local or auto, found \"" + backend + "\"");
    }
  }
  // Megatron-LM's flag before --attention-backend (its legacy layers' flash-attn path).
  if (has("--use-flash-attn") && !has("--attention-backend")) out.plan["attention"] = "flash2";
  used["--attention-backend"] = used["--use-flash-attn"] = true;
  // Precision.
  if (has("--bf16") && has("--fp16")) throw InputError({source, 0, 0}, "--fp16", "give --bf16 or --fp16, not both");
  out.plan["precision"] = has("--bf16") ? "bf16" : has("--fp16") ? "fp16" : "fp32";
  if (has("--fp8-format")) {
    const std::string format = need_value("--fp8-format");
    if (format != "e4m3" && format != "hybrid") {
      throw InputError({source, 0, 0}, "--fp8-format", "expected e4m3 or hybrid, found \"" + format + "\"");
    }
    const std::string recipe = has("--fp8-recipe") ? need_value("--fp8-recipe") : "delayed";  // Megatron's default
    if (recipe == "mxfp8") {
      out.plan["precision"] = "mxfp8";
    } else if (recipe == "tensorwise" || recipe == "delayed" || recipe == "blockwise") {
      out.plan["precision"] = "fp8";
      out.plan["fp8_recipe"] = recipe;
    } else {
      throw InputError({source, 0, 0}, "--fp8-recipe",
                       "expected tensorwise, delayed, mxfp8 or blockwise, found \"" + recipe + "\"");
    }
  }
  if (has("--fp4-format")) out.plan["precision"] = "nvfp4";
  out.plan["fp8_param_gather"] = has("--fp8-param-gather") || has("--fp4-param-gather");
  // Megatron-Core's Transformer Engine layers cast the weights on a step's first micro-batch only.
  // Transformer Engine's choices where it runs the linear layers in low precision; false otherwise,
  // so that a base scenario's do not outlive its precision.
  const bool transformer_engine_low = has("--fp8-format") || has("--fp4-format");
  out.plan["fp8_weight_cache"] = transformer_engine_low;
  out.plan["fp8_saved_inputs"] = transformer_engine_low;
  // Megatron-Core's rank order, or dp outside pp with --use-tp-pp-dp-mapping (which Megatron-LM
  // refuses with context or expert parallelism).
  if (has("--use-tp-pp-dp-mapping")) {
    const auto size = [&](const char* key) { return out.plan[key] ? out.plan[key].as<std::int64_t>() : 1; };
    if (size("cp") * size("ep") > 1) {
      throw InputError({source, 0, 0}, "--use-tp-pp-dp-mapping",
                       "Megatron-LM refuses it with context or expert parallelism (context_parallel_size * "
                       "expert_model_parallel_size must be 1)");
    }
  }
  YAML::Node placement(YAML::NodeType::Sequence);
  for (const Axis a :
       has("--use-tp-pp-dp-mapping") ? std::vector<Axis>{Axis::tp, Axis::cp, Axis::pp, Axis::dp} : kMegatronPlacement)
    placement.push_back(axis_name(a));
  placement.SetStyle(YAML::EmitterStyle::Flow);
  out.plan["placement"] = placement;
  used["--use-tp-pp-dp-mapping"] = true;
  out.plan["overlap_grad_reduce"] = has("--overlap-grad-reduce");
  out.plan["overlap_param_gather"] = has("--overlap-param-gather") || out.plan["zero"].as<int>() == 0;
  if (has("--num-distributed-optimizer-instances")) {
    if (out.plan["zero"].as<int>() == 1) {
      out.shard_replicas = static_cast<int>(number("--num-distributed-optimizer-instances"));
    } else {
      out.notes.push_back("--num-distributed-optimizer-instances: not read without --use-distributed-optimizer");
    }
  }
  for (const char* f :
       {"--bf16", "--fp16", "--fp8-format", "--fp8-recipe", "--fp4-format", "--fp4-recipe", "--fp8-param-gather",
        "--fp4-param-gather", "--overlap-grad-reduce", "--overlap-param-gather"}) {
    used[f] = true;
  }
  for (const auto& [flag, value] : flags) {
    if (!used.count(flag)) out.ignored.push_back(flag);
  }
  return out;
}

// ---- torchtitan TOML ---------------------------------------------------------------------------

namespace {

// The few TOML forms a torchtitan job config uses: [section.sub], key = value (numbers, "strings",
// true/false, [lists]), # comments. Values are kept as text, strings without their quotes.
std::map<std::string, std::string> read_toml(const std::string& text, const std::string& source) {
  std::map<std::string, std::string> values;
  std::string section;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    // Drop a comment that is not inside a string.
    bool in_string = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '"') in_string = !in_string;
      if (line[i] == '#' && !in_string) {
        line.resize(i);
        break;
      }
    }
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (line.front() == '[') {
      if (line.back() != ']') throw InputError({source, number, 1}, "", "expected [section], found \"" + line + "\"");
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      throw InputError({source, number, 1}, section, "expected key = value, found \"" + line + "\"");
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    key.erase(key.find_last_not_of(" \t") + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    values[(section.empty() ? "" : section + ".") + key] = value;
  }
  return values;
}

}  // namespace

ImportedPlan from_torchtitan(const std::string& toml_text, const std::string& source) {
  ImportedPlan out;
  out.plan = YAML::Node(YAML::NodeType::Map);
  out.model = YAML::Node(YAML::NodeType::Map);
  const auto values = read_toml(toml_text, source);
  out.plan["cuda_graphs"] = YAML::Node(YAML::NodeType::Sequence);  // torchtitan launches its kernels
  std::map<std::string, bool> used;
  const auto has = [&](const std::string& k) { return values.count(k) > 0; };
  const auto number = [&](const std::string& k, std::int64_t fallback, std::int64_t min = 1) {
    used[k] = true;
    return has(k) ? whole(source, k, values.at(k), min) : fallback;
  };
  const std::int64_t tp = number("parallelism.tensor_parallel_degree", 1);
  const std::int64_t pp = number("parallelism.pipeline_parallel_degree", 1);
  out.plan["activation_offload_layers"] = 0;  // torchtitan offloads no layer's activations
  const std::int64_t cp = number("parallelism.context_parallel_degree", 1);
  if (has("parallelism.enable_async_tensor_parallel") &&
      values.at("parallelism.enable_async_tensor_parallel") == "true")
    out.plan["tp_comm_overlap"] = "async";
  used["parallelism.enable_async_tensor_parallel"] = true;
  if (has("parallelism.fsdp_reshard_after_forward")) {
    const std::string policy = values.at("parallelism.fsdp_reshard_after_forward");
    if (policy != "default" && policy != "always" && policy != "never") {
      throw InputError({source, 0, 0}, "parallelism.fsdp_reshard_after_forward",
                       "expected default, always or never, found \"" + policy + "\"");
    }
    out.plan["reshard_after_forward"] = policy;
  }
  used["parallelism.fsdp_reshard_after_forward"] = true;
  const std::int64_t replicate = number("parallelism.data_parallel_replicate_degree", 1);
  const std::int64_t shard =
      has("parallelism.data_parallel_shard_degree") && values.at("parallelism.data_parallel_shard_degree") == "-1"
          ? -1
          : number("parallelism.data_parallel_shard_degree", -1);
  used["parallelism.data_parallel_shard_degree"] = true;
  out.plan["tp"] = tp;
  out.plan["pp"] = pp;
  out.plan["cp"] = cp;
  // Expert parallelism (and its tensor parallelism, which torchtitan reads only with it): a dense
  // model's config may carry the defaults, 1, which a dense scenario would refuse as expert fields.
  const std::int64_t ep =
      has("parallelism.expert_parallel_degree") ? number("parallelism.expert_parallel_degree", 1) : 1;
  if (has("parallelism.expert_parallel_degree")) out.plan["ep"] = ep;
  if (ep > 1) {
    out.plan["expert_gemm"] = "grouped";  // torchtitan's MoE calls torch._grouped_mm
    if (has("parallelism.expert_tensor_parallel_degree")) {
      out.plan["etp"] = number("parallelism.expert_tensor_parallel_degree", 1);
    }
  }
  used["parallelism.expert_parallel_degree"] = used["parallelism.expert_tensor_parallel_degree"] = true;
  // FSDP when weights are sharded (shard degree above 1, or -1: all that is left); DDP otherwise.
  const bool fsdp = shard != 1;
  out.plan["zero"] = fsdp ? 3 : 0;
  out.plan["sharded_master_weights"] = fsdp;                     // FSDP2's fp32 shards are the master weights
  if (replicate > 1 && shard > 1) out.plan["dp_shard"] = shard;  // HSDP
  if (replicate > 1 && shard < 0) out.shard_replicas = static_cast<int>(replicate);  // HSDP over what the GPUs leave
  // torchtitan's own pipeline split (its first and last stages a layer short by default) is not
  // read: a base scenario's layers_per_stage stays.
  out.clear.erase(std::remove(out.clear.begin(), out.clear.end(), "layers_per_stage"), out.clear.end());
  if (shard > 0 || !fsdp) out.plan["dp"] = (shard > 0 ? shard : 1) * replicate;
  out.plan["sequence_parallel"] = tp > 1;
  const std::string schedule =
      has("parallelism.pipeline_parallel_schedule") ? values.at("parallelism.pipeline_parallel_schedule") : "1F1B";
  used["parallelism.pipeline_parallel_schedule"] = true;
  if (pp > 1) {
    // Single-stage schedules run one stage a rank.
    if (schedule == "GPipe" || schedule == "1F1B") out.plan["virtual_stages"] = 1;
    if (schedule == "GPipe")
      out.plan["schedule"] = "gpipe";
    else if (schedule == "1F1B")
      out.plan["schedule"] = "1f1b";
    else if (schedule == "Interleaved1F1B")
      out.plan["schedule"] = "interleaved";
    else if (schedule == "InterleavedZeroBubble" || schedule == "ZBVZeroBubble" || schedule == "DualPipeV") {
      // One stage a rank (pipeline_parallel_layers_per_stage) makes it 1F1B's (the caller's).
      out.plan["schedule"] = "interleaved";
      out.plan["zero_bubble"] = true;
      if (!has("parallelism.pipeline_parallel_layers_per_stage")) out.plan["virtual_stages"] = 2;
      if (schedule != "InterleavedZeroBubble") {
        out.notes.push_back("pipeline schedule " + schedule +
                            " is read as interleaved zero bubble with two stages a rank: its V-shaped placement "
                            "(stages r and 2p-1-r on rank r) is not modelled");
      }
    } else
      out.notes.push_back("pipeline schedule " + schedule + " is read as interleaved 1F1B");
  }
  const std::int64_t local = number("training.local_batch_size", 8);  // torchtitan's default
  const std::int64_t micro = pp > 1 ? number("parallelism.pipeline_parallel_microbatch_size", 1) : local;
  out.plan["micro_batch"] = micro;
  const std::int64_t global = number("training.global_batch_size", -1, -1);
  if (global > 0)
    out.plan["global_batch"] = global;
  else if (out.plan["dp"])
    out.plan["global_batch"] = local * out.plan["dp"].as<std::int64_t>();
  else
    out.notes.push_back("global_batch_size -1 with a data parallel degree of -1: give global_batch in the scenario");
  if (has("training.seq_len")) out.model["seq_len"] = number("training.seq_len", 2048);
  used["training.seq_len"] = true;
  if (has("parallelism.pipeline_parallel_layers_per_stage")) {
    const std::int64_t per_stage = number("parallelism.pipeline_parallel_layers_per_stage", 1);
    out.notes.push_back("pipeline_parallel_layers_per_stage " + std::to_string(per_stage) +
                        ": virtual stages follow from the model's layers");
    out.layers_per_chunk = static_cast<int>(per_stage);  // resolved by the caller against the model
    // torchtitan's stage count also adds these (1 each by default: the first and last stages a
    // layer short); its uneven split is not read, the chunks stay even.
    out.stage_less_layers = static_cast<int>(number("parallelism.pipeline_parallel_first_stage_less_layers", 1, 0) +
                                             number("parallelism.pipeline_parallel_last_stage_less_layers", 1, 0));
  }
  used["parallelism.pipeline_parallel_first_stage_less_layers"] =
      used["parallelism.pipeline_parallel_last_stage_less_layers"] = true;
  // Activation checkpointing.
  const std::string mode = has("activation_checkpoint.mode") ? values.at("activation_checkpoint.mode") : "selective";
  const std::string option =
      has("activation_checkpoint.selective_ac_option") ? values.at("activation_checkpoint.selective_ac_option") : "2";
  used["activation_checkpoint.mode"] = used["activation_checkpoint.selective_ac_option"] = true;
  if (mode == "none")
    out.plan["recompute"] = "none";
  else if (mode == "full")
    out.plan["recompute"] = "full";
  else if (mode == "selective") {
    out.plan["recompute"] = option == "op" ? "op" : "full";
    // A number k: every k-th layer checkpointed whole (torchtitan counts the layers it wraps per
    // process, so floor(layers / k) of them; this reads the share 1/k).
    if (option != "op") {
      const bool number =
          !option.empty() && option.size() <= 9 &&
          std::all_of(option.begin(), option.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; });
      if (number && std::stoll(option) > 1) {
        out.plan["recompute_fraction"] = 1.0 / double(std::stoll(option));
      } else if (!number) {
        out.notes.push_back("selective_ac_option " + option + " is neither op nor a layer interval: read as full");
      }
    }
  } else {
    throw InputError({source, 0, 0}, "activation_checkpoint.mode",
                     "expected none, selective or full, found \"" + mode + "\"");
  }
  // Precision: bf16 mixed precision unless float32; converters add float8 or MX.
  const std::string param =
      has("training.mixed_precision_param") ? values.at("training.mixed_precision_param") : "bfloat16";
  used["training.mixed_precision_param"] = true;
  out.plan["precision"] = param == "float32" ? "fp32" : "bf16";
  const std::string converters = has("model.converters") ? values.at("model.converters") : "";
  used["model.converters"] = true;
  const bool float8 = converters.find("float8") != std::string::npos;
  if (float8) {
    out.plan["precision"] = "fp8";
    const std::string recipe =
        has("quantize.linear.float8.recipe_name") ? values.at("quantize.linear.float8.recipe_name") : "tensorwise";
    out.plan["fp8_recipe"] = recipe == "rowwise" || recipe == "rowwise_with_gw_hp" ? "rowwise" : "tensorwise";
  } else if (converters.find("mx") != std::string::npos) {
    out.plan["precision"] = "mxfp8";
  }
  // Written either way, so that a base scenario's do not outlive its low precision. torchao's
  // Float8Linear and MX linears cast the weights in every forward, under any data parallelism
  // (an unset cache would follow zero 0-2 as Transformer Engine does).
  out.plan["fp8_weight_cache"] = false;
  out.plan["fp8_saved_inputs"] = false;  // Float8Linear saves the 16-bit input and casts it again
  out.plan["fp8_param_gather"] = float8 && has("quantize.linear.float8.enable_fsdp_float8_all_gather") &&
                                 values.at("quantize.linear.float8.enable_fsdp_float8_all_gather") == "true";
  used["quantize.linear.float8.recipe_name"] = used["quantize.linear.float8.enable_fsdp_float8_all_gather"] = true;
  // torch.compile (off by default; components "model" and "loss" by default when on): an
  // uncompiled model runs its element-wise work one kernel per operation; an uncompiled loss
  // runs on an fp32 copy of the logits, through loss_parallel's element-wise log-softmax under
  // tensor parallelism (unless disable_loss_parallel).
  const bool compile = has("compile.enable") && values.at("compile.enable") == "true";
  const std::string components = has("compile.components") ? values.at("compile.components") : "[\"model\", \"loss\"]";
  const auto compiled = [&](const char* part) {
    return compile && components.find(std::string("\"") + part + "\"") != std::string::npos;
  };
  if (!compiled("model")) out.plan["kernels"] = "eager";
  const bool loss_parallel =
      tp > 1 && !(has("parallelism.disable_loss_parallel") && values.at("parallelism.disable_loss_parallel") == "true");
  out.plan["loss"] = compiled("loss") ? "fused" : loss_parallel ? "decomposed" : "cast";
  used["compile.enable"] = used["compile.components"] = used["parallelism.disable_loss_parallel"] = true;
  out.plan["attention"] = attention_name(torchtitan_attention(false));
  out.attention_on_blackwell = attention_name(torchtitan_attention(true));
  for (const auto& [key, value] : values) {
    if (!used.count(key) && (key.rfind("parallelism.", 0) == 0 || key.rfind("activation_checkpoint.", 0) == 0)) {
      out.ignored.push_back(key);
    }
  }
  return out;
}

}  // namespace trainsim
