"""Shared by the checks: predict published plans and compare with their measured steps.

A check writes each plan as the scenario a user would write, runs `trainsim predict --json` on it,
and compares the predicted step with the published one (or the step a published throughput
implies: global batch x sequence / (tokens/s per GPU x GPUs), step_from_throughput).
"""

import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile


def require_program(path):
    """The built program the check runs, or exit 2 saying which is missing."""
    if not os.access(path, os.X_OK):
        print(f"{path}: no such program; build first (make build) or give its path", file=sys.stderr)
        sys.exit(2)
    return path


def megatron_plan(gpus, tp, pp, cp, vp, micro_batch, global_batch, precision, zero=1, userbuffers=False,
                  recompute=None, fp8_recipe=None, fused_loss=False, fp8_param_gather=False,
                  optimizer_state=None, master_weights=None):
    """A Megatron-Core / NeMo plan as scenario lines: sequence parallelism with tp > 1, the
    interleaved schedule with vp > 1, and in low precision what Transformer Engine does under
    Megatron-Core, FSDP or not (weights cast once a step, the linear layers' quantized inputs
    kept for backward). fused_loss: the config's cross_entropy_loss_fusion; fp8_param_gather: its
    precision plugin's; optimizer_state and master_weights: how its optimizer keeps Adam's
    moments and the master weights (None: fp32 both, Megatron-Core's distributed optimizer)."""
    lines = [
        "plan:",
        f"  tp: {tp}", f"  pp: {pp}", f"  cp: {cp}", f"  dp: {gpus // (tp * pp * cp)}",
        f"  micro_batch: {micro_batch}", f"  global_batch: {global_batch}", f"  zero: {zero}",
        f"  precision: {precision}", f"  sequence_parallel: {'true' if tp > 1 else 'false'}",
    ]
    if precision != "bf16":
        lines += ["  fp8_weight_cache: true", "  fp8_saved_inputs: true"]
        if fp8_recipe:
            lines += [f"  fp8_recipe: {fp8_recipe}"]
        if fp8_param_gather:
            lines += ["  fp8_param_gather: true"]
    if pp > 1 and vp > 1:
        lines += ["  schedule: interleaved", f"  virtual_stages: {vp}"]
    if userbuffers and tp > 1:
        lines += ["  tp_comm_overlap: true"]
    if recompute:
        lines += [f"  recompute: {recompute}"]
    if fused_loss:
        lines += ["  loss: fused"]
    if optimizer_state:
        lines += [f"  optimizer_state: {optimizer_state}"]
    if master_weights:
        lines += [f"  master_weights: {master_weights}"]
    return lines


def nemo1_distributed_adam(bf16_state, fp8_params):
    """Adam's state as NeMo 1.x's setup_optimization (megatron_base_model.py) makes Apex's
    DistributedFusedAdam keep it, as optimizer_state / master_weights keyword arguments for
    megatron_plan: a bf16 state (the yaml's `optim.dtype: bf16`) is the weights themselves, or
    holds a bf16 copy of them where fp8_params is on; an fp32 state keeps only the bf16 weights'
    low 16 bits (store_param_remainders), or an fp32 copy with fp8_params."""
    if bf16_state:
        return {"optimizer_state": "bf16", "master_weights": "16-bit" if fp8_params else "none"}
    return {} if fp8_params else {"master_weights": "remainders"}


def step_from_throughput(global_batch, sequence, gpus, tokens_per_gpu):
    return global_batch * sequence / (tokens_per_gpu * gpus)


Prediction = collections.namedtuple("Prediction", "label error step launch_bound")

# trainsim's kHostBoundWarning (sim/workload/work.hpp): from this share of a layer's compute in
# kernels the host's issue rate times, a prediction warns that it is likely optimistic.
LAUNCH_BOUND = 0.05


def predict_all(trainsim, cases):
    """cases: (label, scenario text, GPUs, measured step in seconds) each.
    Prints a line per case; returns a Prediction (label, signed error in %, predicted step in
    seconds, whether trainsim calls the plan launch-bound) for each that ran."""
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, text, gpus, measured) in enumerate(cases):
            path = os.path.join(tmp, f"plan{i}.yaml")
            with open(path, "w") as f:
                f.write(text)
            run = subprocess.run([trainsim, "predict", "--json", path], capture_output=True, text=True)
            if run.returncode != 0:
                print(f"{label} failed: {run.stderr.strip()}")
                continue
            report = json.loads(run.stdout)
            error = 100 * (report["step_time_s"] - measured) / measured
            share = report["host_bound_share"]
            errors.append(Prediction(label, error, report["step_time_s"], share >= LAUNCH_BOUND))
            print(f"{label} {gpus:5d} GPUs  measured {measured:7.2f} s  predicted {report['step_time_s']:7.2f} s  "
                  f"{error:+6.1f}%  fits {report['fits_in_memory']}"
                  + (f"  launch-bound {100 * share:.0f}%" if share >= LAUNCH_BOUND else ""))
    return errors


def summarise(name, values):
    if values:
        print(f"{name:24s} {len(values):2d} plans  MAPE {statistics.mean(map(abs, values)):5.1f}%  "
              f"signed {statistics.mean(values):+5.1f}%")
