#include "scenario/framework.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "scenario/hardware.hpp"
#include "scenario/plan.hpp"

namespace trainsim {
namespace {

constexpr std::array<std::pair<Framework, const char*>, 8> kNames = {{
    {Framework::megatron, "megatron"},
    {Framework::megatron_2021, "megatron-2021"},
    {Framework::nemo, "nemo"},
    {Framework::torchtitan, "torchtitan"},
    {Framework::torchtitan_2025, "torchtitan-2025"},
    {Framework::llm_foundry, "llm-foundry"},
    {Framework::llm_foundry_2023, "llm-foundry-2023"},
    {Framework::deepspeed_2021, "deepspeed-2021"},
}};

}  // namespace

const char* framework_name(Framework f) {
  for (const auto& [framework, name] : kNames) {
    if (framework == f) return name;
  }
  return "?";
}

std::optional<Framework> parse_framework(std::string_view name) {
  for (const auto& [framework, spelled] : kNames) {
    if (name == spelled) return framework;
  }
  return std::nullopt;
}

std::vector<std::string> framework_names() {
  std::vector<std::string> names;
  for (const auto& entry : kNames) names.emplace_back(entry.second);
  return names;
}

void apply_framework(PlanSpec& p, Framework f, const GpuSpec& gpu,
                     const std::function<bool(std::string_view key)>& stated) {
  const auto set = [&](std::string_view key, auto& field, auto value) {
    if (!stated(key)) field = value;
  };
  const bool low = low_precision(p.precision);
  // gradient_compression other than none reduces in fp32 itself.
  const bool reduce_stated =
      stated("grad_reduce_precision") || (stated("gradient_compression") && p.gradient_compression != 1);
  const auto reduce_in_fp32 = [&] {
    if (!reduce_stated) p.gradient_reduce_bytes = 4;
  };
  // PyTorch FSDP (FSDP1 and FSDP2 under a mixed-precision policy) keeps the fp32 shard as the
  // master weight and casts it at each gather.
  const auto fsdp_shards_fp32 = [&] {
    if (p.zero >= 3 && p.master_weights == MasterWeights::fp32)
      set("sharded_master_weights", p.sharded_master_weights, true);
  };
  // A named attention family where the GPU's data has it; elsewhere the GPU's default stays
  // (FlashAttention-1 never ran on Blackwell).
  const auto attention = [&](Attention family) {
    const auto& known = gpu.kernels.attention;
    if (family == Attention::unfused || known.empty() || known.count(family)) set("attention", p.attention, family);
  };
  // torchao's Float8Linear casts the weight in every forward and saves the 16-bit input.
  const auto torchao_fp8 = [&] {
    if (!low) return;
    set("fp8_weight_cache", p.fp8_weight_cache, std::optional<bool>(false));
    set("fp8_saved_inputs", p.fp8_saved_inputs, std::optional<bool>(false));
  };
  switch (f) {
    case Framework::megatron:
      // arguments.py: with --bf16, gradients accumulate and all-reduce in fp32 unless
      // --grad-reduce-in-bf16 (accumulate_allreduce_grads_in_fp32).
      if (p.precision == Precision::bf16 || low) reduce_in_fp32();
      break;
    case Framework::megatron_2021:
      // Attention as separate score GEMM, fused scale-mask-softmax and value GEMM (no flash
      // attention before 2022), and `--DDP-impl local`: the gradient all-reduce once the backward
      // has returned (training.py, train_step), in the parameters' dtype, or in fp32 with bf16
      // (arguments.py's bf16 block, already then).
      attention(Attention::unfused);
      set("overlap_grad_reduce", p.overlap_grad_reduce, false);
      if (p.precision == Precision::bf16) reduce_in_fp32();
      break;
    case Framework::nemo:
      // GPTConfig / GPTModelProvider default cross_entropy_loss_fusion on; the FP8 and MXFP8
      // precision configs set fp8_param_gather; the performance scripts reduce in bf16
      // (scripts/performance/helpers.py: grad_reduce_in_fp32 = False), the default here.
      set("loss", p.loss, Loss::fused);
      if (low && p.zero >= 1) set("fp8_param_gather", p.fp8_param_gather, true);  // needs sharded weights
      break;
    case Framework::torchtitan:
    case Framework::torchtitan_2025:
      // No torch.compile unless [compile] enable (eager kernels); FSDP2's reduce in fp32
      // (mixed_precision_reduce); the loss on an fp32 copy of the logits (train.py), through
      // loss_parallel's element-wise log-softmax with tp > 1.
      set("kernels", p.kernels, Kernels::eager);
      set("loss", p.loss, p.tp > 1 ? Loss::decomposed : Loss::cast);
      reduce_in_fp32();
      fsdp_shards_fp32();
      torchao_fp8();
      // PyTorch's SDPA before 2.11 picks FlashAttention-2 on the A100 and Hopper, cuDNN on
      // Blackwell (torchtitan's "Add CuDNN on B200", pytorch/torchtitan#1196).
      if (f == Framework::torchtitan_2025 && !gpu.mx_formats) attention(Attention::flash2);
      break;
    case Framework::llm_foundry:
    case Framework::llm_foundry_2023:
      // MPT's blocks as PyTorch operations; flash-attn's fused cross-entropy
      // (ComposerMPTCausalLM's loss_fn 'fused_crossentropy'); Composer FSDP's DEFAULT mixed
      // precision reduces in fp32; flash-attn 2 (attn_impl: flash), the Triton kernel in 2023.
      set("kernels", p.kernels, Kernels::eager);
      set("loss", p.loss, Loss::fused);
      reduce_in_fp32();
      fsdp_shards_fp32();
      attention(f == Framework::llm_foundry_2023 ? Attention::flash1 : Attention::flash2);
      break;
    case Framework::deepspeed_2021:
      // Attention as score GEMM, softmax and value GEMM: DeepSpeed v0.5 (2021) predates flash
      // attention (Dao et al., May 2022), as Megatron-LM of the time did.
      attention(Attention::unfused);
      // ZeRO-3 before v0.6: one all-gather per parameter through torch.distributed's list API,
      // after a synchronize, with no working prefetch (PR #1188, issue #1069).
      if (p.zero >= 3) {
        set("zero3_unit", p.zero3_unit, Zero3Unit::parameter);
        set("zero3_list_collectives", p.zero3_list_collectives, true);
        set("overlap_param_gather", p.overlap_param_gather, false);
      }
      break;
  }
}

const std::vector<std::string>& framework_fields() {
  static const std::vector<std::string> keys = {"attention",
                                                "kernels",
                                                "loss",
                                                "grad_reduce_precision",
                                                "gradient_compression",
                                                "sharded_master_weights",
                                                "fp8_weight_cache",
                                                "fp8_saved_inputs",
                                                "fp8_param_gather",
                                                "overlap_grad_reduce",
                                                "overlap_param_gather",
                                                "zero3_unit",
                                                "zero3_list_collectives"};
  return keys;
}

bool states_framework_field(const PlanSpec& p, std::string_view key) {
  const auto& stated = p.stated_framework_fields;
  return std::find(stated.begin(), stated.end(), key) != stated.end();
}

void apply_framework(PlanSpec& p, Framework f, const GpuSpec& gpu) {
  apply_framework(p, f, gpu, [&](std::string_view key) { return states_framework_field(p, key); });
}

void clear_framework_fields(PlanSpec& p) {
  const PlanSpec d;
  const auto kept = [&](std::string_view key) { return states_framework_field(p, key); };
  if (!kept("attention")) p.attention = d.attention;
  if (!kept("kernels")) p.kernels = d.kernels;
  if (!kept("loss")) p.loss = d.loss;
  if (!kept("grad_reduce_precision") && !(kept("gradient_compression") && p.gradient_compression != 1))
    p.gradient_reduce_bytes = d.gradient_reduce_bytes;
  if (!kept("sharded_master_weights")) p.sharded_master_weights = d.sharded_master_weights;
  if (!kept("fp8_weight_cache")) p.fp8_weight_cache = d.fp8_weight_cache;
  if (!kept("fp8_saved_inputs")) p.fp8_saved_inputs = d.fp8_saved_inputs;
  if (!kept("fp8_param_gather")) p.fp8_param_gather = d.fp8_param_gather;
  if (!kept("overlap_grad_reduce")) p.overlap_grad_reduce = d.overlap_grad_reduce;
  if (!kept("overlap_param_gather")) p.overlap_param_gather = d.overlap_param_gather;
  if (!kept("zero3_unit")) p.zero3_unit = d.zero3_unit;
  if (!kept("zero3_list_collectives")) p.zero3_list_collectives = d.zero3_list_collectives;
}

void reapply_framework(PlanSpec& p) {
  if (!p.framework) return;
  // What the framework set for the plan's old tp, zero or precision goes first.
  const Attention attention = p.attention;
  clear_framework_fields(p);
  p.attention = attention;
  apply_framework(p, *p.framework, GpuSpec{},
                  [&](std::string_view key) { return key == "attention" || states_framework_field(p, key); });
}

}  // namespace trainsim
