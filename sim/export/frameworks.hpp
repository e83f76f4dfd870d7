#pragma once
// From a plan to a job: a scenario's model and plan written as the launch configuration of a
// training framework, and such a configuration read back into a scenario's model and plan.
//
// Names are checked against the frameworks' sources (see kMegatronVersion and the others):
// Megatron-LM's megatron/training/arguments.py and the config dataclasses its flags are generated
// from; torchtitan's torchtitan/config/job_config.py (the last release configured by TOML); NeMo 2's
// MegatronStrategy and recipe fields.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "scenario/scenario.hpp"

namespace trainsim {

extern const char* const kMegatronVersion;
extern const char* const kTorchtitanVersion;
extern const char* const kNemoVersion;

// What a framework cannot say of the plan, or says differently (one line each, for stderr).
struct ExportResult {
  std::string text;
  std::vector<std::string> notes;
};

// pretrain_gpt.py arguments, one flag per line ending in a backslash.
ExportResult to_megatron(const Scenario& scenario);
// A torchtitan job config (TOML).
ExportResult to_torchtitan(const Scenario& scenario);
// A NeMo 2 recipe override (Python assignments on `recipe`, as in nemo.collections.llm recipes).
ExportResult to_nemo(const Scenario& scenario);

// A framework's configuration read back: the scenario's `model` map (empty when the configuration
// gives no model shape) and `plan` map, as YAML the scenario reader checks. Malformed values are
// InputErrors naming `source` ("--from megatron") and the flag or key; flags that do not bear on
// the prediction (data paths, learning rates) are listed in `ignored`.
struct ImportedPlan {
  YAML::Node model;
  YAML::Node plan;
  std::vector<std::string> ignored;
  std::vector<std::string> notes;
  int layers_per_chunk = 0;   // torchtitan's pipeline_parallel_layers_per_stage: virtual stages need the layers
  int stage_less_layers = 0;  // torchtitan's first + last stage_less_layers (stages: ceil((layers + these) / per))
  // Plan keys the configuration decides whether or not it sets them: a base scenario's go before
  // the merge (a bf16 launch line keeps no FP8 recipe, an even split no layers_per_stage, a
  // schedule other than torchtitan's zero-bubble one no zero_bubble).
  std::vector<std::string> clear = {"fp8_recipe", "recompute_modules", "recompute_fraction",
                                    "dp_shard",   "layers_per_stage",  "zero_bubble"};
  // Copies of the sharded state (Megatron-LM's --num-distributed-optimizer-instances, torchtitan's
  // data_parallel_replicate_degree beside an automatic shard degree): dp_shard is dp over it, dp
  // being what the GPUs leave.
  int shard_replicas = 0;
  // The attention family the framework runs on Blackwell GPUs (GpuSpec::mx_formats) where it
  // differs from plan.attention; empty: the same.
  std::string attention_on_blackwell;
};
ImportedPlan from_megatron(const std::string& arguments, const std::string& source);
ImportedPlan from_torchtitan(const std::string& toml_text, const std::string& source);

}  // namespace trainsim
