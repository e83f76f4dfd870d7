#!/usr/bin/env python3
"""Predict Megatron-LM's H100 weak-scaling table (Megatron-Core r0.8.0, 48 to 6144 GPUs).

A check on runs outside the public set, not a calibration: nothing here feeds the model.
Source: NVIDIA/Megatron-LM README.md and images/model_table.png at f2e5db402c ("New scaling
figures on H100 GPUs", July 2024): nine GPT models of 1.7B to 462B parameters, each with its
heads, hidden size, layers, tensor- and pipeline-parallel sizes, data-parallel size 48, global
batch and the measured teraFLOP/s per GPU; "a vocabulary size of 131,072 and a sequence length
of 4096", "--overlap-grad-reduce --overlap-param-gather", "--tp-comm-overlap", throughput "for
end-to-end training [...] including data loading, optimizer steps, communication, and even
logging"; MFU against the bf16 peak (989 TFLOP/s), so bf16.

What the README does not say is left at the simulator's defaults, as a user would: micro-batch 1,
no interleaved pipeline, no recomputation, Megatron's distributed optimizer (ZeRO-1), sequence
parallelism and the userbuffers overlap with tp > 1, GPT's 4h GeLU MLP and learned positions, the
H100's default attention (cuDNN, as Transformer Engine picks on Hopper). A weaker check than one
whose plans are published: the interleaved schedule NVIDIA's runs usually add would shorten the
pipelined plans' bubbles, which is where the prediction runs slow.

The measured step: the FLOPs Megatron-LM counts (megatron/training/training.py,
num_floating_point_operations: 12 B s L h^2 (2 + s / h + 4 + V / 2 L h) for these models) over
the GPUs x the teraFLOP/s per GPU. docs/accuracy.md ("session 34") has the results.

usage: bench/checks/megatron_core_h100.py [path/to/trainsim]   (default build/bin/trainsim)
"""

import sys

from published_steps import megatron_plan, predict_all, require_program, summarise

VOCAB, SEQ = 131072, 4096

# model, heads, hidden, layers, TP, PP, DP, global batch, teraFLOP/s per GPU
ROWS = [
    ("1.7B", 16, 2048, 24, 1, 1, 48, 192, 408.8), ("7.1B", 32, 4096, 30, 2, 1, 48, 192, 465.9),
    ("16B", 48, 6144, 32, 4, 1, 48, 192, 489.1), ("32B", 56, 7168, 48, 8, 1, 48, 192, 459.6),
    ("70B", 64, 8192, 84, 8, 2, 48, 384, 419.7), ("119B", 80, 10240, 92, 8, 4, 48, 768, 420.5),
    ("177B", 96, 12288, 96, 8, 6, 48, 1152, 432.8), ("314B", 128, 16384, 96, 8, 8, 48, 1536, 474.4),
    ("462B", 144, 18432, 112, 8, 16, 48, 3072, 459.9),
]


def measured_step(heads, hidden, layers, gpus, batch, tflops):
    flops = 12 * batch * SEQ * layers * hidden**2 * (2 + SEQ / hidden + 4 + VOCAB / (2 * layers * hidden))
    return flops / (gpus * tflops * 1e12)


def scenario(name, heads, hidden, layers, tp, pp, dp, batch):
    gpus = tp * pp * dp
    return "\n".join([
        f"name: megatron-core {name}",
        f"model: {{arch: gpt, layers: {layers}, hidden: {hidden}, heads: {heads}, kv_heads: {heads},"
        f" ffn_hidden: {4 * hidden}, vocab: {VOCAB}, seq_len: {SEQ}}}",
        f"cluster: {{topology: dgx-h100-superpod, gpus: {gpus}, gpu: h100-sxm-80gb}}",
        *megatron_plan(gpus, tp, pp, 1, 1, 1, batch, "bf16", userbuffers=True),
    ]) + "\n"


def main():
    trainsim = require_program(sys.argv[1] if len(sys.argv) > 1 else "build/bin/trainsim")
    cases, piped = [], {}
    for name, heads, hidden, layers, tp, pp, dp, batch, tflops in ROWS:
        label = f"{name:5s} tp {tp} pp {pp:2d} batch {batch:4d} {tflops} TFLOP/s"
        gpus = tp * pp * dp
        cases.append((label, scenario(name, heads, hidden, layers, tp, pp, dp, batch), gpus,
                      measured_step(heads, hidden, layers, gpus, batch, tflops)))
        piped[label] = pp > 1
    errors = predict_all(trainsim, cases)
    summarise("all", [e.error for e in errors])
    summarise("no pipeline (pp 1)", [e.error for e in errors if not piped[e.label]])
    summarise("pipelined (pp 2-16)", [e.error for e in errors if piped[e.label]])
    return 0 if len(errors) == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
