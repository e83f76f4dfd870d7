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
  const bool reduce_stated = stated("grad_reduce_precision") || stated("gradient_compression");
  const auto reduce_in_fp32 = [&] {
    if (!reduce_stated) p.gradient_reduce_bytes = 4;
  };
  // PyTorch FSDP (FSDP1 and FSDP2 under a mixed-precision policy) keeps the fp32 shard as the
  // master weight and casts it at each gather.
  const auto fsdp_shards_fp32 = [&] {
    if (p.zero >= 3) set("sharded_master_weights", p.sharded_master_weights, true);
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
      // has returned (training.py, train_step), in the parameters' dtype.
      set("attention", p.attention, Attention::unfused);
      set("overlap_grad_reduce", p.overlap_grad_reduce, false);
      break;
    case Framework::nemo:
      // GPTConfig / GPTModelProvider default cross_entropy_loss_fusion on; the FP8 and MXFP8
      // precision configs set fp8_param_gather; the performance scripts reduce in bf16
      // (scripts/performance/helpers.py: grad_reduce_in_fp32 = False), the default here.
      set("loss", p.loss, Loss::fused);
      if (low) set("fp8_param_gather", p.fp8_param_gather, true);
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
      if (f == Framework::torchtitan_2025 && !gpu.mx_formats) set("attention", p.attention, Attention::flash2);
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
      set("attention", p.attention, f == Framework::llm_foundry_2023 ? Attention::flash1 : Attention::flash2);
      break;
    case Framework::deepspeed_2021:
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

void reapply_framework(PlanSpec& p) {
  if (!p.framework) return;
  const auto& stated = p.stated_framework_fields;
  apply_framework(p, *p.framework, GpuSpec{}, [&](std::string_view key) {
    return key == "attention" || std::find(stated.begin(), stated.end(), key) != stated.end();
  });
}

}  // namespace trainsim
