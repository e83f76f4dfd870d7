#!/usr/bin/env python3
"""Predict the FlashAttention repository's end-to-end GPT training speeds on one 8 x A100 node.

A check on runs outside the public set, not a calibration: nothing here feeds the model.
Source: Dao-AILab/flash-attention at 4a6eaa9f ("Update configs, add results", November 2022),
training/README.md "Training speed" and its figures assets/gpt3_training_efficiency.jpg (GPT-3
sizes, sequence 2048, The Pile) and assets/gpt2_training_efficiency.jpg (GPT-2 sizes, sequence
1024, OpenWebText): TFLOP/s per A100 of the repository's own GPT (the "FlashAttention" bars) on
"8 x A100 80GB SXM4 (400W) with NVLink". The figure's label for GPT2-125M is hidden behind the
legend; its bar reads 147 on the axis.

Each plan is the repository's experiment config at that commit (training/configs/experiment/
pile/gpt3*-flash.yaml, owt/gpt2*-flash.yaml; the README's 2.7B command runs gpt3-2.7B-flash-hdim128,
20 heads of 128):
- per-GPU batch from the config's gpu_mem rule (nvidia-smi's 81920 MiB / 1000 = 82, so the
  "80 GB or more" batch), global batch 256 (GPT-3 125M-760M), 512 (1.3B, 2.7B, every GPT-2);
- plain DDP with apex's FusedAdam for the two smallest of each family, DDP with PyTorch's
  ZeroRedundancyOptimizer (ZeRO-1) from 760M on;
- bf16 autocast (GPT-3) or fp16 (GPT-2) under Lightning, whose weights and gradients stay fp32:
  gradients all-reduced in fp32;
- FlashAttention-1 with GPT-2's dropout 0.1; the fused MLP, bias and dropout-add-LayerNorm
  kernels (`kernels: fused`) and the apex cross-entropy kernel (`loss: fused`); no activation
  checkpointing; GPT-2's learned positions and tied embeddings; vocabulary padded to 50264.
The figures' "Megatron-LM" bars are the same models in Megatron-LM on the same node, whose plan the
README does not give. They are written as a user would guess it: data parallel, ZeRO as above,
Megatron's fused kernels and its fused scale-mask-softmax (`attention: unfused`), no activation
checkpointing, and the largest micro-batch (the FlashAttention config's, halved until it does)
that the simulator finds to fit in the GPU's memory. A weaker check than the first group for that.
The published rate counts FLOPs as Megatron-LM's formula x 3/4 (the README): 72 B s l h^2
(1 + s / 6h + V / 16 l h) a step of B sequences, so the measured step is that over 8 x the rate.
docs/accuracy.md ("session 34") has the results.

usage: bench/checks/flash_attention_a100.py [path/to/trainsim]   (default build/bin/trainsim)
"""

import sys

from published_steps import predict_all, require_program, summarise

VOCAB = 50264  # 50257 padded to a multiple of 8 (pad_vocab_size_multiple: 8)

# family, name, layers, hidden, heads, sequence, micro-batch, global batch, ZeRO-1, TFLOP/s per GPU
ROWS = [
    ("GPT-3", "125M", 12, 768, 12, 2048, 32, 256, False, 149),
    ("GPT-3", "355M", 24, 1024, 16, 2048, 32, 256, False, 167),
    ("GPT-3", "760M", 24, 1536, 16, 2048, 16, 256, True, 163),
    ("GPT-3", "1.3B", 24, 2048, 16, 2048, 8, 512, True, 189),
    ("GPT-3", "2.7B", 32, 2560, 20, 2048, 4, 512, True, 189),
    ("GPT-2", "125M", 12, 768, 12, 1024, 64, 512, False, 147),
    ("GPT-2", "355M", 24, 1024, 16, 1024, 64, 512, False, 159),
    ("GPT-2", "760M", 36, 1280, 20, 1024, 32, 512, True, 170),
    ("GPT-2", "1.6B", 48, 1600, 25, 1024, 16, 512, True, 164),
]


# The Megatron-LM bars (TFLOP/s per GPU) and the micro-batch the rule above picks, by row of ROWS.
MEGATRON = [(70, 16), (82, 4), (115, 4), (142, 4), (149, 2), (81, 32), (99, 16), (109, 8), (114, 4)]


def published_step(layers, hidden, seq, global_batch, tflops):
    flops = 72 * global_batch * seq * layers * hidden**2 * (1 + seq / (6 * hidden) + VOCAB / (16 * layers * hidden))
    return flops / (8 * tflops * 1e12)


def scenario(name, layers, hidden, heads, seq, micro_batch, global_batch, zero, precision, attention="flash1"):
    return "\n".join([
        f"name: {name}",
        f"model: {{arch: gpt, layers: {layers}, hidden: {hidden}, heads: {heads}, kv_heads: {heads},"
        f" ffn_hidden: {4 * hidden}, vocab: {VOCAB}, seq_len: {seq}, dropout: true}}",
        "cluster: {topology: dgx-a100-superpod, gpus: 8, gpu: a100-80gb-sxm}",
        "plan:",
        "  dp: 8", f"  micro_batch: {micro_batch}", f"  global_batch: {global_batch}", f"  zero: {1 if zero else 0}",
        "  recompute: none", f"  precision: {precision}", f"  attention: {attention}", "  kernels: fused",
        "  loss: fused", "  grad_reduce_precision: fp32",
    ]) + "\n"


def main():
    trainsim = require_program(sys.argv[1] if len(sys.argv) > 1 else "build/bin/trainsim")
    cases, group = [], {}
    for (fam, size, layers, hidden, heads, seq, mb, gbs, zero, tflops), (megatron, megatron_mb) in zip(ROWS, MEGATRON):
        precision = "bf16" if fam == "GPT-3" else "fp16"
        for framework, attention, micro_batch, rate in [("FlashAttention", "flash1", mb, tflops),
                                                        ("Megatron-LM", "unfused", megatron_mb, megatron)]:
            label = f"{framework:14s} {fam} {size:4s} seq {seq} mb {micro_batch:2d} {rate} TFLOP/s"
            cases.append((label, scenario(label, layers, hidden, heads, seq, micro_batch, gbs, zero, precision, attention),
                          8, published_step(layers, hidden, seq, gbs, rate)))
            group[label] = (framework, fam)
    errors = predict_all(trainsim, cases)
    for framework in ("FlashAttention", "Megatron-LM"):
        summarise(framework, [e.error for e in errors if group[e.label][0] == framework])
        for fam in ("GPT-3", "GPT-2"):
            summarise(f"  {fam} sizes", [e.error for e in errors if group[e.label] == (framework, fam)])
    return 0 if len(errors) == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
