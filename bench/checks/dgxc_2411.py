#!/usr/bin/env python3
"""Predict NVIDIA's DGX Cloud benchmarking recipes of release 24.11 (NeMo 24.09, DGX H100, bf16 and FP8).

A check on runs outside the public set, not a calibration: nothing here feeds the model.
Source: NVIDIA/dgxc-benchmarking at v24.11.1 (commit 35a9aec): llama3.1/README_8b.md and
README_70b.md, nemotron/README_15b.md and README_340b.md, nemo_megatron/README_175b.md, their
"Training step time (seconds per step)" rows at the smallest and the largest scale each table
gives (weak scaling: the global batch grows with the GPUs). Each plan is the table's columns plus
what the recipe's own config states (llama3.1_8b.yaml, llama3.1_70b.yaml,
nemotron4-15b-synth.yaml, nemotron4-340b-synth.yaml, gpt3_175b_hydra.yaml): userbuffers
tensor-parallel overlap where ub_tp_comm_overlap is true (Llama 3.1 70B, Nemotron-4 15B, GPT-3
175B), selective recomputation for Nemotron-4 340B only, FP8 delayed scaling (fp8_hybrid, amax
history 1024) under Transformer Engine, FP8 parameters for GPT-3 175B (fp8_params), dropout 0.1
for GPT-3 only, the fused cross-entropy loss in every recipe but GPT-3's
(cross_entropy_loss_fusion), and the optimizer state as NeMo 1.x's setup_optimization
(megatron_base_model.py) makes Apex's DistributedFusedAdam keep it: Nemotron-4 340B's
`optim.dtype: bf16` gives bf16 moments, with a bf16 copy of the weights where fp8_params is on
(the FP8 runs: configure.sh) and none otherwise; the other recipes' fp32 state keeps the bf16
weights' low 16 bits (store_param_remainders) in bf16, and an fp32 copy with fp8_params (FP8,
and GPT-3 175B's yaml). Every other field is the simulator's default. The 405B table is left out: its
columns' GPU counts do not match its plan (TP 8 x PP 9 x CP 2 is 144 GPUs; the first columns
say 32 and 96). Results: docs/accuracy.md.

usage: bench/checks/dgxc_2411.py [path/to/trainsim]   (default build/bin/trainsim)
"""

import sys

from published_steps import megatron_plan, nemo1_distributed_adam, predict_all, require_program, summarise

# model preset, sequence, TP, PP, CP, VP, MBS, global batch per GPU,
# {precision: ((GPUs, step s), (GPUs, step s))}: the smallest and largest scale of each table.
PLANS = [
    ("llama3.1-8b", 8192, 1, 1, 2, 1, 1, 16, {"bf16": ((8, 12.91), (128, 13.10)), "fp8": ((8, 9.67), (128, 9.82))}),
    ("llama3.1-70b", 8192, 4, 4, 2, 5, 1, 2, {"bf16": ((64, 14.72), (2048, 14.98)), "fp8": ((64, 11.01), (2048, 11.39))}),
    ("nemotron4-15b", 4096, 4, 1, 1, 1, 4, 4, {"bf16": ((16, 2.83), (2048, 2.96)), "fp8": ((16, 2.08), (2048, 2.18))}),
    ("nemotron4-340b", 4096, 8, 8, 1, 12, 1, 0.25, {"bf16": ((128, 4.61), (2048, 4.84)), "fp8": ((128, 3.16), (2048, 3.49))}),
    ("gpt3-175b", 2048, 4, 8, 1, 12, 1, 2, {"bf16": ((128, 8.91), (2048, 9.02)), "fp8": ((128, 5.92), (2048, 6.24))}),
]

USERBUFFERS = ("llama3.1-70b", "nemotron4-15b", "gpt3-175b")


def optimizer(model, precision):
    """fp8_params: the FP8 runs (configure.sh) and GPT-3's yaml; Nemotron-4 340B's yaml keeps a
    bf16 state."""
    return nemo1_distributed_adam(model == "nemotron4-340b", precision == "fp8" or model == "gpt3-175b")


def scenario(model, seq, tp, pp, cp, vp, mbs, batch_per_gpu, precision, gpus):
    lines = [
        f"name: dgxc 24.11 {model} {precision}",
        f"model: {{preset: {model}, seq_len: {seq}}}",
        f"cluster: {{topology: dgx-h100-superpod, gpus: {gpus}, gpu: h100-sxm-80gb}}",
        *megatron_plan(gpus, tp, pp, cp, vp, mbs, int(batch_per_gpu * gpus), precision,
                       fp8_recipe="delayed", userbuffers=model in USERBUFFERS,
                       recompute="selective" if model == "nemotron4-340b" else None,
                       fused_loss=model != "gpt3-175b", fp8_param_gather=model == "gpt3-175b",
                       **optimizer(model, precision)),
    ]
    return "\n".join(lines) + "\n"


def main():
    trainsim = require_program(sys.argv[1] if len(sys.argv) > 1 else "build/bin/trainsim")
    cases = []
    for model, seq, tp, pp, cp, vp, mbs, per_gpu, steps in PLANS:
        for precision, scales in steps.items():
            for gpus, step in scales:
                text = scenario(model, seq, tp, pp, cp, vp, mbs, per_gpu, precision, gpus)
                cases.append((f"{model:15s} {precision:5s}", text, gpus, step))
    errors = predict_all(trainsim, cases)
    summarise("all", [e.error for e in errors])
    for precision in ("bf16", "fp8"):
        summarise(precision, [e.error for e in errors if e.label.split()[1] == precision])
    return 0 if len(errors) == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
