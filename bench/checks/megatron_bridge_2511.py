#!/usr/bin/env python3
"""Predict the plans of NVIDIA's Megatron-Bridge performance table (25.11 NeMo container).

A check on runs outside the public set, not a calibration: nothing here feeds the model.
Source: NVIDIA-NeMo/Megatron-Bridge docs/performance-summary.md, "25.11 NeMo Container",
"Pre-Training Performance" tables (tokens/s per GPU). The dispatcher and recompute modules of
the MoE plans are those of scripts/performance/configs/{deepseek,qwen,gpt_oss}/*workload_base_configs.py,
DeepSeek-V3's optimizer keeps Adam's moments in bf16 (recipes/deepseek/deepseek_v3.py:
exp_avg_dtype and exp_avg_sq_dtype torch.bfloat16 under use_precision_aware_optimizer),
the activation offloading of the Llama 3 70B plans that of llama3_workload_base_configs.py, the
tensor-parallel overlap (userbuffers) of the Llama plans with tp > 1 that of llama3_llm_pretrain.py
and llama3.py, the fused cross-entropy loss GPTModelProvider's default, the low-precision
parameter gather of the FP8 current-scaling and MXFP8 precision configs, and the low-precision plans run Transformer Engine (fp8_weight_cache,
fp8_saved_inputs), the CUDA graph scopes those of v0.2.1's workload_base_configs.py (cuda_graphs);
every other field is the simulator's default. docs/accuracy.md ("session 26") has the results.

usage: bench/checks/megatron_bridge_2511.py [path/to/trainsim]   (default build/bin/trainsim)
"""

import sys

from published_steps import megatron_plan, predict_all, require_program, step_from_throughput, summarise

# system, model preset, GPUs, precision, GBS, MBS, sequence, FSDP, TP, PP, CP, VP, EP, tokens/s/GPU
PLANS = [
    ("gb300", "llama3-8b", 8, "fp8", 128, 2, 8192, 0, 1, 1, 1, 1, 1, 37556),
    ("gb300", "llama3-8b", 8, "mxfp8", 128, 2, 8192, 0, 1, 1, 1, 1, 1, 36108),
    ("gb300", "llama3-70b", 64, "fp8", 256, 2, 8192, 1, 1, 1, 1, 1, 1, 4520),
    ("gb300", "llama3.1-405b", 256, "fp8", 1536, 1, 8192, 0, 2, 8, 2, 4, 1, 999),
    ("gb300", "deepseek-v3", 256, "bf16", 4096, 1, 4096, 0, 1, 2, 1, 4, 32, 3848),
    ("gb300", "deepseek-v3", 256, "mxfp8", 4096, 1, 4096, 0, 1, 2, 1, 4, 32, 4357),
    ("gb300", "gpt-oss-120b", 64, "bf16", 1280, 2, 8192, 0, 1, 1, 1, 1, 64, 18347),
    ("gb300", "qwen3-30b-a3b", 8, "mxfp8", 512, 4, 4096, 0, 1, 1, 1, 1, 8, 28934),
    ("gb300", "qwen3-235b-a22b", 256, "bf16", 8192, 2, 4096, 0, 1, 4, 1, 12, 16, 6131),
    ("gb200", "llama3-8b", 8, "fp8", 128, 2, 8192, 0, 1, 1, 1, 1, 1, 31508),
    ("gb200", "llama3-8b", 8, "mxfp8", 128, 2, 8192, 0, 1, 1, 1, 1, 1, 29789),
    ("gb200", "llama3-70b", 64, "fp8", 256, 2, 8192, 1, 1, 1, 1, 1, 1, 4312),
    ("gb200", "llama3.1-405b", 256, "fp8", 1536, 1, 8192, 0, 4, 16, 1, 4, 1, 813),
    ("gb200", "deepseek-v3", 256, "bf16", 4096, 1, 4096, 0, 1, 4, 1, 4, 64, 3139),
    ("gb200", "deepseek-v3", 256, "mxfp8", 4096, 1, 4096, 0, 1, 8, 1, 4, 32, 4018),
    ("gb200", "gpt-oss-120b", 64, "bf16", 1280, 1, 8192, 0, 1, 1, 1, 1, 64, 15876),
    ("gb200", "qwen3-30b-a3b", 8, "mxfp8", 512, 4, 4096, 0, 1, 1, 1, 1, 8, 23766),
    ("gb200", "qwen3-235b-a22b", 256, "bf16", 8192, 1, 4096, 0, 1, 8, 1, 3, 32, 4916),
    ("b200", "llama3-8b", 8, "fp8", 128, 2, 8192, 0, 1, 1, 1, 1, 1, 30624),
    ("b200", "llama3-8b", 8, "mxfp8", 128, 2, 8192, 0, 1, 1, 1, 1, 1, 29521),
    ("b200", "llama3.1-405b", 128, "fp8", 64, 1, 8192, 0, 4, 8, 2, 8, 1, 661),
    ("b200", "llama3.1-405b", 128, "mxfp8", 64, 1, 8192, 0, 4, 8, 2, 8, 1, 624),
    ("b200", "deepseek-v3", 256, "mxfp8", 2048, 1, 4096, 0, 1, 16, 1, 1, 8, 2139),
    ("b200", "gpt-oss-120b", 64, "bf16", 512, 4, 4096, 0, 1, 1, 1, 1, 8, 8213),
    ("b200", "qwen3-30b-a3b", 8, "mxfp8", 512, 1, 4096, 0, 1, 1, 1, 1, 8, 9299),
    ("b200", "qwen3-235b-a22b", 64, "mxfp8", 1024, 1, 4096, 0, 1, 8, 1, 2, 8, 3269),
    ("h100", "llama3-8b", 8, "fp8", 128, 1, 8192, 1, 1, 1, 1, 1, 1, 14451),
    ("h100", "llama3-70b", 64, "fp8", 128, 1, 8192, 0, 4, 8, 1, 5, 1, 1602),
    ("h100", "llama3.1-405b", 1024, "fp8", 512, 1, 8192, 0, 8, 8, 2, 8, 1, 292),
    ("h100", "gpt-oss-120b", 64, "bf16", 512, 4, 4096, 0, 1, 4, 1, 1, 8, 5630),
    ("h100", "qwen3-30b-a3b", 16, "fp8", 512, 2, 4096, 0, 1, 2, 1, 24, 8, 5275),
    # The H100 Qwen3-235B-A22B line has its columns shifted in the source: left out.
]

# topology, GPU preset, GPUs in one NVLink domain (64 of an NVL72 rack's 72, as NVIDIA runs them)
SYSTEMS = {
    "gb300": ("gb300-nvl72-superpod", "gb300-288gb", 64),
    "gb200": ("gb200-nvl72-superpod", "gb200-186gb", 64),
    "b200": ("dgx-b200-superpod", "b200-sxm-180gb", 8),
    "h100": ("dgx-h100-superpod", "h100-sxm-80gb", 8),
}


def dispatcher(system, model):
    if model == "deepseek-v3":
        return "deepep" if system == "b200" else "hybridep"
    if model == "qwen3-30b-a3b":
        return "hybridep"
    if model == "qwen3-235b-a22b":
        return "hybridep" if system.startswith("gb") else "alltoall"
    return "alltoall"


def offloaded_layers(system, model):
    # llama3_workload_base_configs.py: the 70B Megatron-FSDP plans keep some layers' activations in
    # the Grace CPU's memory (cpu_offloading_num_layers).
    return {("gb300", "llama3-70b"): 20, ("gb200", "llama3-70b"): 40}.get((system, model), 0)


def deepseek_recompute(system, precision):
    return {("gb300", "bf16"): ["moe_act"], ("gb300", "mxfp8"): [], ("b200", "mxfp8"): ["mla_up_proj", "mlp"]}.get(
        (system, precision), ["mla_up_proj"])


def cuda_graphs(system, model, precision):
    # Megatron-Bridge v0.2.1 (the 25.11 table's release), scripts/performance/configs/*/
    # workload_base_configs.py: cuda_graph_impl "transformer_engine" with these cuda_graph_scope
    # lists, or "local" with "full_iteration" (the Llama 3 8B plans but on H100).
    if model == "llama3-8b":
        return [] if system == "h100" else ["full_iteration"]
    if model == "deepseek-v3":
        return {"gb300": ["attn", "moe_router", "moe_preprocess"], "gb200": ["moe_router", "moe_preprocess"]}.get(system, [])
    if model == "gpt-oss-120b":
        return ["attn", "moe_router", "moe_preprocess"] if system == "gb300" else []
    if model == "qwen3-235b-a22b":
        return {"gb300": ["moe_router", "moe_preprocess"], "gb200": ["attn", "moe_router", "moe_preprocess"]}.get(system, [])
    if model == "qwen3-30b-a3b":
        if system == "gb200" and precision != "mxfp8":
            return ["attn", "moe_router", "moe_preprocess"]
        return [] if (system, precision) == ("h100", "fp8") else ["moe_router", "moe_preprocess"]
    return []


def gpt_oss_recompute(system):
    # gpt_oss/workload_base_configs.py: the GB200, B200 and H100 configs recompute the norms and
    # the experts' activation function.
    return [] if system == "gb300" else ["layernorm", "moe_act"]


def scenario(plan):
    system, model, gpus, precision, gbs, mbs, seq, fsdp, tp, pp, cp, vp, ep, _ = plan
    topology, gpu, domain = SYSTEMS[system]
    mtp = ", mtp_layers: 1" if model == "deepseek-v3" else ""  # the recipes' layouts carry an 'm'
    # The Llama 3 70B and 405B configs (llama3_llm_pretrain.py, llama3.py) set a userbuffers
    # tp_comm_overlap_cfg on every system; the 8B ones turn it on whenever tp > 1. Megatron-Bridge's
    # GPTModelProvider fuses the cross-entropy loss by default (cross_entropy_loss_fusion), and its
    # FP8 current-scaling and MXFP8 precision configs gather low-precision parameters
    # (bf16_with_fp8_current_scaling_mixed and bf16_with_mxfp8_mixed: fp8_param_gather True, at
    # v0.2.0-v0.2.2 of training/mixed_precision.py).
    lines = [
        f"name: {system} {model} {precision}",
        f"model: {{preset: {model}, seq_len: {seq}{mtp}}}",
        f"cluster: {{topology: {topology}, gpus: {gpus}, gpu: {gpu}, gpus_per_node: {min(domain, gpus)}}}",
        *megatron_plan(gpus, tp, pp, cp, vp, mbs, gbs, precision, zero=3 if fsdp else 1,
                       userbuffers=model.startswith("llama"), fused_loss=True, fp8_param_gather=precision != "bf16",
                       optimizer_state="bf16" if model == "deepseek-v3" else None),
        "  placement: [tp, cp, dp, pp]",
    ]
    if offloaded_layers(system, model):
        lines += [f"  activation_offload_layers: {offloaded_layers(system, model)}"]
    if ep > 1:
        lines += [f"  ep: {ep}", f"  moe_dispatcher: {dispatcher(system, model)}"]
    modules = deepseek_recompute(system, precision) if model == "deepseek-v3" else \
        gpt_oss_recompute(system) if model == "gpt-oss-120b" else []
    if modules:
        lines += ["  recompute: selective", f"  recompute_modules: [{', '.join(modules)}]"]
    graphed = cuda_graphs(system, model, precision)
    if graphed:
        lines += [f"  cuda_graphs: [{', '.join(graphed)}]"]
    return "\n".join(lines) + "\n"


def main():
    trainsim = require_program(sys.argv[1] if len(sys.argv) > 1 else "build/bin/trainsim")
    cases = [(f"{plan[0]:6s} {plan[1]:16s} {plan[3]:6s}", scenario(plan), plan[2],
              step_from_throughput(plan[4], plan[6], plan[2], plan[-1])) for plan in PLANS]
    errors = predict_all(trainsim, cases)
    for name, models in [("all", None), ("dense", ("llama3-8b", "llama3-70b", "llama3.1-405b")),
                         ("DeepSeek-V3, Qwen3-235B", ("deepseek-v3", "qwen3-235b-a22b")),
                         ("gpt-oss-120b, Qwen3-30B", ("gpt-oss-120b", "qwen3-30b-a3b"))]:
        summarise(name, [e.error for e in errors if models is None or e.label.split()[1] in models])
    summarise("launch-bound (warned)", [e.error for e in errors if e.launch_bound])
    summarise("not launch-bound", [e.error for e in errors if not e.launch_bound])
    return 0 if len(errors) == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
