#!/usr/bin/env python3
"""Predict the FP8 runs of NVIDIA's DGX Cloud benchmarking release 25.07 whose bf16 twins are public rows.

A check on runs outside the public set, not a calibration: nothing here feeds the model.
Source: NVIDIA/dgxc-benchmarking at commit 6be5ea0 (release 25.07, NeMo 25.04): llama3.1/README.md
and nemotron/README.md, the FP8 tables beside the bf16 ones that ../shared/validation holds as
rows 672-689 (S31). Each FP8 plan is the bench's scenario of its bf16 row (`bench_accuracy
--write`) with the precision changed as the recipe runs it: Transformer Engine's FP8 with delayed
scaling (NeMo 25.04's scripts/performance default, `--fp8_recipe ds`; the recipe's launch.sh sets
no other), whose precision plugin (bf16_with_fp8_mixed) also gathers FP8 parameters
(fp8_param_gather), weights cast once a step and quantized inputs kept for backward. It prints each plan's
FP8 step error and the FP8 gain over bf16, measured and predicted, so that what the FP8 pricing
adds can be read apart from the bf16 row's own error. Needs ../shared/validation/public_runs.csv.

usage: bench/checks/dgxc_2507_fp8.py [build/bin]   (the directory of trainsim and bench_accuracy)
"""

import os
import re
import subprocess
import sys
import tempfile

from published_steps import predict_all, require_program, summarise

# public bf16 row: (label, bf16 step measured, FP8 step measured), both from the same README table
TWINS = {
    672: ("llama3.1-405b gb200", 9.347, 6.131),
    673: ("llama3.1-405b gb200", 9.484, 6.183),
    674: ("llama3.1-405b gb200", 9.508, 6.244),
    678: ("llama3.1-405b h100 ", 19.810, 13.020),
    680: ("nemotron4-15b h100 ", 2.746, 1.988),
    682: ("nemotron4-340b h100", 4.606, 3.107),
    684: ("nemotron4-340b gb200", 2.189, 1.483),
    685: ("nemotron4-340b gb200", 2.229, 1.549),
    688: ("nemotron4-340b gb200", 32.66, 21.83),
    689: ("nemotron4-340b gb200", 8.468, 5.668),
}

FP8 = ("  precision: fp8\n  fp8_recipe: delayed\n  fp8_weight_cache: true\n  fp8_saved_inputs: true\n"
       "  fp8_param_gather: true")


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else "build/bin"
    bench_accuracy = require_program(os.path.join(bin_dir, "bench_accuracy"))
    trainsim = require_program(os.path.join(bin_dir, "trainsim"))
    with tempfile.TemporaryDirectory() as tmp:
        first = min(TWINS)
        # The rows between the twins are not in the public set: the first len(TWINS) rows from the
        # first twin are the twins.
        bench = subprocess.run([bench_accuracy, "--from", str(first), "--limit", str(len(TWINS)), "--write", tmp],
                               capture_output=True, text=True)
        missing = [row for row in TWINS if not os.path.exists(os.path.join(tmp, f"row-{row}.yaml"))]
        if bench.returncode != 0 or missing:
            print(f"bench_accuracy wrote no scenario for rows {missing} (it reads "
                  f"../shared/validation/public_runs.csv): {bench.stderr.strip()[-300:]}", file=sys.stderr)
            return 2
        bf16, fp8 = [], []
        for row, (label, bf16_step, fp8_step) in TWINS.items():
            with open(os.path.join(tmp, f"row-{row}.yaml")) as f:
                text = f.read()
            gpus = int(text.split("gpus: ")[1].split()[0])
            as_fp8, replaced = re.subn(r"(?m)^  precision: bf16$", FP8, text)
            if replaced != 1:
                print(f"row {row}: the bench's scenario is not a bf16 plan", file=sys.stderr)
                return 2
            bf16.append((f"row {row} {label} bf16", text, gpus, bf16_step))
            fp8.append((f"row {row} {label} fp8 ", as_fp8, gpus, fp8_step))
    bf16_runs = {r.label: r for r in predict_all(trainsim, bf16)}
    fp8_runs = {r.label: r for r in predict_all(trainsim, fp8)}
    print("FP8 gain over bf16 (bf16 step / FP8 step), measured and predicted:")
    gain_errors = []
    for (label, _, _, bf16_step), (fp8_label, _, _, fp8_step) in zip(bf16, fp8):
        if label in bf16_runs and fp8_label in fp8_runs:
            measured = bf16_step / fp8_step
            predicted = bf16_runs[label].step / fp8_runs[fp8_label].step
            gain_errors.append(100 * (predicted - measured) / measured)
            print(f"{fp8_label}  measured {measured:5.2f}x  predicted {predicted:5.2f}x  {gain_errors[-1]:+6.1f}%")
    summarise("bf16 (public rows)", [r.error for r in bf16_runs.values()])
    summarise("FP8", [r.error for r in fp8_runs.values()])
    summarise("FP8 gain", gain_errors)
    return 0 if len(fp8_runs) == len(fp8) and len(bf16_runs) == len(bf16) else 1

if __name__ == "__main__":
    sys.exit(main())
