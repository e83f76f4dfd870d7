#pragma once
// What a training framework runs, as plan fields: `plan.framework: torchtitan` sets the attention
// kernels, element-wise kernels, loss, gradient reduce precision, ZeRO-3 and FP8 details that
// framework uses, each from its own code or documentation (docs/scenario-format.md, "Naming your
// framework"). A field the plan states itself wins over the framework's. The defaults without a
// framework are today's Megatron-Core with Transformer Engine, so `megatron` changes little.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trainsim {

struct GpuSpec;
struct PlanSpec;

enum class Framework {
  megatron,          // Megatron-LM / Megatron-Core with Transformer Engine (2023 on)
  megatron_2021,     // Megatron-LM of 2020-2022: no flash attention, local DDP
  nemo,              // NeMo 2.0 and Megatron-Bridge performance recipes
  torchtitan,        // torchtitan on PyTorch 2.11 and later
  torchtitan_2025,   // torchtitan on PyTorch 2.5-2.10
  llm_foundry,       // MosaicML Composer / llm-foundry with flash-attn 2
  llm_foundry_2023,  // llm-foundry's 2023 Triton attention
  deepspeed_2021,    // DeepSpeed before v0.6 (ZeRO-3 per parameter)
};

const char* framework_name(Framework f);  // as the scenario spells it: "torchtitan-2025"
std::optional<Framework> parse_framework(std::string_view name);
std::vector<std::string> framework_names();

// Sets the plan fields `f` runs on `gpu`, except those `stated` says the scenario sets itself
// (by their plan key: "attention", "kernels", "loss", "grad_reduce_precision", ...). Reads the
// plan's precision, tp and zero, so call it once those are final.
void apply_framework(PlanSpec& plan, Framework f, const GpuSpec& gpu,
                     const std::function<bool(std::string_view key)>& stated);

// apply_framework keeping the fields the plan states itself (PlanSpec::stated_framework_fields).
void apply_framework(PlanSpec& plan, Framework f, const GpuSpec& gpu);

// Whether the scenario states `key` itself (PlanSpec::stated_framework_fields).
bool states_framework_field(const PlanSpec& plan, std::string_view key);

// The plan keys apply_framework may set.
const std::vector<std::string>& framework_fields();

// Puts the fields a framework may set back to their defaults, except those the scenario states
// (PlanSpec::stated_framework_fields): before another framework is applied (the GUI's editor).
void clear_framework_fields(PlanSpec& plan);

// Applies the plan's framework again after its tp, zero or precision changed (the search's
// candidates, the plans suggested when one does not fit), keeping its stated fields and its
// attention kernels (they follow the GPU, which does not change); nothing without a framework.
void reapply_framework(PlanSpec& plan);

}  // namespace trainsim
