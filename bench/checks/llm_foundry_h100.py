#!/usr/bin/env python3
"""Predict MosaicML's H100 throughput tables for MPT models (llm-foundry, PyTorch FSDP).

A check on runs outside the public set, not a calibration: nothing here feeds the model.
Source: mosaicml/llm-foundry scripts/train/benchmarking/README.md, the tables "H100 80GB BF16" and
"H100 80GB FP8" (added in #543, October 2023, with the A100 tables the public set holds as S17)
and "H100 80GB BF16 (Large Scale, >= 128 GPUs)" (#838, January 2024). Each plan is written as the
public set's S17 rows are (bench/accuracy.cpp): MPT's dimensions from scripts/train/yamls/pretrain,
FSDP FULL_SHARD (or SHARD_GRAD_OP where the table says so) as ZeRO-3, full activation
checkpointing where the table says True, Composer's DEFAULT mixed precision (fp32 gradient
reduction, fp32 master shards), eager element-wise kernels, MPT's configuration (no dropout; the
fused cross-entropy kernel of flash-attn, ComposerMPTCausalLM's default loss_fn), Transformer
Engine's delayed scaling for amp_fp8. The attention kernel is the one the run's script names:
- #543's submit_benchmarks.py defaults to `--attn_impl triton` (llm-foundry's 2023 Triton
  FlashAttention, which the simulator prices as `flash1`);
- #838's sweep.py passes `--attn_impl flash` (FlashAttention-2, `flash2`) for the 1B, 3B and 7B
  models and `triton` for 13B, 30B and 70B.
Steps are the tables' global batch in tokens over their tokens/s. docs/accuracy.md ("session 33")
has the results.

usage: bench/checks/llm_foundry_h100.py [path/to/trainsim]   (default build/bin/trainsim)
"""

import sys

from published_steps import predict_all, require_program, summarise

# scripts/train/yamls/pretrain/mpt-*.yaml: layers, d_model, heads (expansion_ratio 4, vocab 50368)
MPT = {
    "350m": (24, 1024, 16), "760m": (24, 1536, 12), "1b": (24, 2048, 16), "3b": (32, 2560, 20),
    "7b": (32, 4096, 32), "13b": (40, 5120, 40), "30b": (48, 7168, 56), "70b": (80, 8192, 64),
}

# table, model, sequence, GPUs, micro-batch, global batch (sequences), tokens/s, precision,
# activation checkpointing, sharding, attention as the script ran it
OCT_2023, JAN_2024 = "Oct 2023", "Jan 2024"
ROWS = [(OCT_2023, *row[:8], "FULL_SHARD", "flash1") for row in [
    ("70b", 2048, 64, 8, 2048, 66523, "bf16", True), ("70b", 2048, 32, 2, 1024, 28242, "bf16", True),
    ("30b", 8192, 8, 1, 168, 11072, "bf16", True), ("30b", 4096, 8, 1, 168, 14419, "bf16", True),
    ("30b", 2048, 32, 14, 1344, 73860, "bf16", True), ("30b", 2048, 16, 10, 480, 36209, "bf16", True),
    ("30b", 2048, 8, 3, 504, 16022, "bf16", True), ("30b", 1024, 8, 6, 1008, 16672, "bf16", True),
    ("13b", 32768, 8, 1, 24, 15812, "bf16", True), ("13b", 16384, 8, 3, 72, 23881, "bf16", True),
    ("13b", 4096, 8, 10, 240, 37740, "bf16", True), ("13b", 2048, 64, 2, 128, 307209, "bf16", False),
    ("13b", 2048, 32, 2, 64, 153960, "bf16", False), ("13b", 2048, 16, 2, 32, 76280, "bf16", False),
    ("13b", 2048, 8, 2, 16, 38336, "bf16", False), ("13b", 1024, 8, 40, 960, 44019, "bf16", True),
    ("7b", 65536, 8, 1, 16, 15654, "bf16", True), ("7b", 32768, 8, 2, 32, 26550, "bf16", True),
    ("7b", 8192, 8, 8, 128, 55481, "bf16", True), ("7b", 4096, 8, 16, 256, 68893, "bf16", True),
    ("7b", 2048, 8, 6, 48, 85144, "bf16", False), ("7b", 1024, 8, 64, 1024, 81628, "bf16", True),
    ("3b", 65536, 8, 1, 16, 26099, "bf16", True), ("3b", 32768, 8, 3, 144, 46984, "bf16", True),
    ("3b", 16384, 8, 1, 48, 89223, "bf16", False), ("3b", 8192, 8, 3, 144, 132626, "bf16", False),
    ("3b", 4096, 8, 5, 240, 167712, "bf16", False), ("3b", 2048, 64, 6, 1152, 1441663, "bf16", False),
    ("3b", 2048, 32, 6, 576, 736701, "bf16", False), ("3b", 2048, 16, 10, 480, 386285, "bf16", False),
    ("3b", 1024, 8, 20, 960, 216369, "bf16", False), ("3b", 512, 8, 40, 1920, 223721, "bf16", False),
    ("1b", 65536, 8, 1, 16, 44050, "bf16", True), ("1b", 32768, 8, 1, 32, 96203, "bf16", False),
    ("1b", 16384, 8, 2, 64, 157194, "bf16", False), ("1b", 8192, 8, 3, 96, 233256, "bf16", False),
    ("1b", 4096, 8, 7, 224, 308282, "bf16", False), ("1b", 2048, 64, 20, 1280, 2841754, "bf16", False),
    ("1b", 2048, 32, 20, 640, 1444183, "bf16", False), ("1b", 2048, 16, 20, 320, 736596, "bf16", False),
    ("1b", 2048, 8, 14, 112, 363645, "bf16", False), ("1b", 1024, 8, 18, 576, 391287, "bf16", False),
    ("1b", 512, 8, 56, 1792, 418201, "bf16", False), ("760m", 32768, 8, 1, 16, 130333, "bf16", False),
    ("760m", 16384, 8, 3, 48, 222521, "bf16", False), ("760m", 8192, 8, 6, 96, 334602, "bf16", False),
    ("760m", 4096, 8, 12, 192, 443674, "bf16", False), ("760m", 2048, 32, 24, 768, 2175091, "bf16", False),
    ("760m", 2048, 16, 24, 384, 1096819, "bf16", False), ("760m", 2048, 8, 24, 384, 505177, "bf16", False),
    ("760m", 1024, 8, 48, 768, 628648, "bf16", False), ("760m", 512, 8, 96, 1536, 669998, "bf16", False),
    ("3b", 32768, 8, 3, 144, 46853, "fp8", True), ("3b", 8192, 8, 3, 144, 153174, "fp8", False),
    ("3b", 2048, 8, 10, 480, 244692, "fp8", False), ("3b", 512, 8, 40, 1920, 292217, "fp8", False),
    ("1b", 32768, 8, 1, 32, 100643, "fp8", False), ("1b", 8192, 8, 2, 64, 256087, "fp8", False),
    ("1b", 512, 8, 56, 1792, 562523, "fp8", False), ("350m", 32768, 8, 1, 32, 195516, "fp8", False),
    ("350m", 16384, 8, 2, 64, 343435, "fp8", False), ("350m", 512, 8, 56, 1792, 1235360, "fp8", False),
]] + [(JAN_2024, model, 2048, gpus, mbs, gbs, tps, "bf16", model in ("13b", "30b", "70b"),
       "SHARD_GRAD_OP" if model in ("1b", "3b") else "FULL_SHARD", "flash1" if model in ("13b", "30b", "70b") else "flash2")
      for model, gpus, mbs, gbs, tps in [
    ("70b", 512, 8, 4096, 515636), ("70b", 256, 8, 2048, 265149), ("70b", 128, 8, 1024, 135490),
    ("30b", 512, 8, 4096, 1083366), ("30b", 256, 8, 2048, 550022), ("30b", 128, 8, 1024, 281491),
    ("13b", 512, 16, 8192, 2535811), ("13b", 256, 16, 4096, 1277214), ("13b", 128, 16, 2048, 650264),
    ("7b", 512, 6, 3072, 4951479), ("7b", 256, 6, 1536, 2590548), ("7b", 128, 6, 768, 1340830),
    ("3b", 512, 8, 4096, 11092218), ("3b", 256, 8, 2048, 5829686), ("3b", 128, 8, 1024, 2998098),
    ("1b", 512, 12, 6144, 20396905), ("1b", 256, 12, 3072, 10894207), ("1b", 128, 12, 1536, 5647854),
]]


def scenario(model, seq, gpus, mbs, gbs, precision, checkpointing, sharding, attention, name):
    layers, hidden, heads = MPT[model]
    lines = [
        f"name: {name}",
        f"model: {{arch: gpt, layers: {layers}, hidden: {hidden}, heads: {heads}, kv_heads: {heads},"
        f" ffn_hidden: {4 * hidden}, vocab: 50368, seq_len: {seq}, dropout: false}}",
        f"cluster: {{topology: dgx-h100-superpod, gpus: {gpus}, gpu: h100-sxm-80gb}}",
        "plan:",
        f"  dp: {gpus}", f"  micro_batch: {mbs}", f"  global_batch: {gbs}", "  zero: 3",
        f"  recompute: {'full' if checkpointing else 'none'}", f"  precision: {precision}",
        f"  attention: {attention}", "  kernels: eager", "  sharded_master_weights: true",
        "  grad_reduce_precision: fp32", "  loss: fused",
    ]
    if precision == "fp8":
        lines += ["  fp8_recipe: delayed", "  fp8_weight_cache: false", "  fp8_saved_inputs: true"]
    if sharding == "SHARD_GRAD_OP":
        lines += ["  reshard_after_forward: never"]
    return "\n".join(lines) + "\n"


def main():
    trainsim = require_program(sys.argv[1] if len(sys.argv) > 1 else "build/bin/trainsim")
    cases, groups = [], {}
    for table, model, seq, gpus, mbs, gbs, tps, precision, ckpt, sharding, attention in ROWS:
        label = f"{table} {model:4s} {precision} seq {seq:5d} mb {mbs:2d} {attention}"
        cases.append((label, scenario(model, seq, gpus, mbs, gbs, precision, ckpt, sharding, attention, label), gpus,
                      gbs * seq / tps))
        groups[label] = (table, precision, seq, attention)
    errors = predict_all(trainsim, cases)
    for name, keep in [
        ("all", lambda t, p, s, a: True),
        (f"{OCT_2023} bf16", lambda t, p, s, a: t == OCT_2023 and p == "bf16"),
        (f"{OCT_2023} FP8", lambda t, p, s, a: t == OCT_2023 and p == "fp8"),
        (f"{JAN_2024} (>= 128 GPUs)", lambda t, p, s, a: t == JAN_2024),
        ("sequences >= 16k", lambda t, p, s, a: s >= 16384),
        ("sequences <= 4k, flash1", lambda t, p, s, a: s <= 4096 and a == "flash1"),
        ("flash2 (Jan 2024 1B-7B)", lambda t, p, s, a: a == "flash2"),
    ]:
        summarise(name, [e.error for e in errors if keep(*groups[e.label])])
    return 0 if len(errors) == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
