#!/usr/bin/env bash
# `trainsim-exec calibrate` on the CPU writes a profile that `trainsim predict --profile` reads, and
# the prediction with it differs from the one with the preset's defaults (the profile is used).
#   calibrate_check.sh TRAINSIM_EXEC TRAINSIM
set -euo pipefail
exec_bin=$1 trainsim=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/tiny.yaml" <<YAML
name: calibrate-tiny
model: {arch: gpt, layers: 2, hidden: 64, heads: 4, vocab: 256, seq_len: 32}
cluster: {topology: cpu-loopback, gpus: 1}
plan: {micro_batch: 8, global_batch: 8, precision: fp32}
YAML
"$exec_bin" calibrate "$work/tiny.yaml" --out "$work/profile.json" > "$work/calibrate.log"
for key in gemm_max_efficiency gemm_k_half memory_efficiency kernel_overhead_s attention_max_efficiency gemm_flops; do
  grep -q "\"$key\"" "$work/profile.json" || { echo "FAIL: the profile has no $key"; exit 1; }
done
with=$("$trainsim" predict "$work/tiny.yaml" --profile "$work/profile.json" --json | grep -oE '"step_time_s": [0-9.e+-]+')
without=$("$trainsim" predict "$work/tiny.yaml" --json | grep -oE '"step_time_s": [0-9.e+-]+')
echo "with the measured profile: $with; with the defaults: $without"
[ "$with" != "$without" ] || { echo "FAIL: the profile changed nothing"; exit 1; }
