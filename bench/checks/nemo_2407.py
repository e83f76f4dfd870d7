#!/usr/bin/env python3
"""Predict the plans of NeMo's 24.07 pre-training performance table (DGX H100, FP8).

A check on runs outside the public set, not a calibration: nothing here feeds the model.
Source: NVIDIA/NeMo docs/source/performance/performance_summary.md ("Container: NeMo24.07",
"System: DGX-H100", pre-training at FP8 precision; tokens/s per GPU). Each plan is the table's
columns plus what NeMo-Framework-Launcher's training configs of the table's date (commit
1ab2c781, August 2024: conf/training/{gpt3,llama,nemotron}/*.yaml) state: Transformer Engine
with FP8 delayed scaling (fp8_hybrid, an amax history of 1024), sequence parallelism with tp > 1,
userbuffers tensor-parallel overlap where ub_tp_comm_overlap is true (GPT-3 20B, Llama 2 and 3
70B, Nemotron 8B and 22B), no recomputation but Nemotron-340B's selective, dropout 0.1 in the
GPT-3 models only, the fused cross-entropy loss where cross_entropy_loss_fusion is true (the Llama
and Nemotron 8B/22B configs), and Adam's state as Apex's DistributedFusedAdam (every config's
`optim.name: distributed_fused_adam`, none sets fp8_params) keeps it: bf16 for Nemotron-340B
(`optim.dtype: bf16`), fp32 moments beside the weights' low 16 bits for the rest. Every other
field is the simulator's default. Results:
docs/accuracy.md.

usage: bench/checks/nemo_2407.py [path/to/trainsim]   (default build/bin/trainsim)
"""

import sys

from published_steps import megatron_plan, nemo1_distributed_adam, predict_all, require_program, step_from_throughput, summarise

# NeMo's GPTConfig5B and GPTConfig20B (nemo/collections/llm/gpt/model/base.py) and
# Nemotron3Config8B / 22B (nemotron.py): shapes the model presets do not carry.
NEMO_MODELS = {
    "gpt3-5b": "{arch: gpt, layers: 24, hidden: 4096, heads: 32, vocab: 50257, seq_len: 2048}",
    "gpt3-20b": "{arch: gpt, layers: 44, hidden: 6144, heads: 48, vocab: 50257, seq_len: 2048}",
    "nemotron3-8b": "{arch: gpt, layers: 32, hidden: 4096, heads: 32, ffn_hidden: 16384, vocab: 256000, "
                    "seq_len: 4096, tied_embeddings: false, positions: rotary, biases: false, dropout: false}",
    "nemotron3-22b": "{arch: gpt, layers: 40, hidden: 6144, heads: 48, ffn_hidden: 24576, vocab: 256000, "
                     "seq_len: 4096, tied_embeddings: false, positions: rotary, biases: false, dropout: false}",
}

# model, GPUs, GBS, MBS, sequence, TP, PP, CP, VP, tokens/s/GPU
PLANS = [
    ("gpt3-5b", 64, 2048, 4, 2048, 1, 1, 1, 1, 22521),
    ("gpt3-20b", 64, 256, 2, 2048, 2, 1, 1, 1, 5851),
    ("gpt3-175b", 128, 256, 1, 2048, 4, 8, 1, 6, 726),
    ("gpt3-175b", 512, 2048, 2, 2048, 4, 8, 1, 6, 782),
    ("llama2-7b", 8, 128, 1, 4096, 1, 1, 1, 1, 16847),
    ("llama2-13b", 16, 128, 1, 4096, 1, 4, 1, 10, 8646),
    ("llama2-70b", 64, 128, 1, 4096, 4, 4, 1, 20, 1707),
    ("nemotron3-8b", 64, 256, 4, 4096, 2, 1, 1, 1, 12701),
    ("nemotron3-22b", 64, 256, 2, 4096, 2, 4, 1, 10, 4256),
    ("nemotron4-340b", 128, 32, 1, 4096, 8, 8, 1, 12, 322),
    ("llama3-8b", 8, 128, 1, 8192, 1, 1, 2, 1, 12036),
    ("llama3-70b", 64, 128, 1, 8192, 4, 4, 2, 5, 1533),
]

USERBUFFERS = ("gpt3-20b", "llama2-70b", "llama3-70b", "nemotron3-8b", "nemotron3-22b")
# cross_entropy_loss_fusion: true in the Llama and Nemotron 8B/22B configs, absent (off) in GPT-3's and 340B's.
FUSED_LOSS = ("llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "nemotron3-8b", "nemotron3-22b")


def scenario(plan):
    model, gpus, gbs, mbs, seq, tp, pp, cp, vp, _ = plan
    shape = NEMO_MODELS.get(model, f"{{preset: {model}, seq_len: {seq}}}")
    lines = [
        f"name: nemo 24.07 {model}",
        f"model: {shape}",
        f"cluster: {{topology: dgx-h100-superpod, gpus: {gpus}, gpu: h100-sxm-80gb}}",
        *megatron_plan(gpus, tp, pp, cp, vp, mbs, gbs, "fp8", fp8_recipe="delayed", userbuffers=model in USERBUFFERS,
                       recompute="selective" if model == "nemotron4-340b" else None, fused_loss=model in FUSED_LOSS,
                       **nemo1_distributed_adam(model == "nemotron4-340b", fp8_params=False)),
    ]
    return "\n".join(lines) + "\n"


def main():
    trainsim = require_program(sys.argv[1] if len(sys.argv) > 1 else "build/bin/trainsim")
    cases = [(f"{plan[0]:15s}", scenario(plan), plan[1], step_from_throughput(plan[2], plan[4], plan[1], plan[-1]))
             for plan in PLANS]
    errors = predict_all(trainsim, cases)
    summarise("all", [e.error for e in errors])
    return 0 if len(errors) == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
