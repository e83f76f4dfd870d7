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
# --force: on a machine busy with other work (CI) the repeats may spread by more than 10%; the
# spreads are reported either way.
"$exec_bin" calibrate "$work/tiny.yaml" --out "$work/profile.json" --force > "$work/calibrate.log"
grep -q '"spread"' "$work/profile.json" || { echo "FAIL: the profile reports no spreads"; exit 1; }
grep -q 'spread' "$work/calibrate.log" || { echo "FAIL: calibrate printed no spreads"; exit 1; }
for key in gemm_max_efficiency gemm_k_half memory_efficiency kernel_overhead_s attention_max_efficiency gemm_flops; do
  grep -q "\"$key\"" "$work/profile.json" || { echo "FAIL: the profile has no $key"; exit 1; }
done
with=$("$trainsim" predict "$work/tiny.yaml" --profile "$work/profile.json" --json | grep -oE '"step_time_s": [0-9.e+-]+')
without=$("$trainsim" predict "$work/tiny.yaml" --json | grep -oE '"step_time_s": [0-9.e+-]+')
echo "with the measured profile: $with; with the defaults: $without"
[ "$with" != "$without" ] || { echo "FAIL: the profile changed nothing"; exit 1; }

# A GPU whose datasheet claims far less than this CPU does: every efficiency is above 1, so the
# profile is refused (exit 2, nothing written) unless --force.
cat > "$work/implausible.yaml" <<YAML
name: calibrate-implausible
model: {arch: gpt, layers: 2, hidden: 64, heads: 4, vocab: 256, seq_len: 32}
cluster:
  topology: cpu-loopback
  gpus: 1
  gpu: {memory: 24GiB, memory_bandwidth: 1MB/s, peak: {fp32: 1MFLOP/s, bf16: 1MFLOP/s}}
plan: {micro_batch: 8, global_batch: 8, precision: fp32}
YAML
set +e
"$exec_bin" calibrate "$work/implausible.yaml" --out "$work/refused.json" --repeats 1 > /dev/null 2> "$work/refused.err"
code=$?
set -e
[ "$code" = 2 ] || { echo "FAIL: an implausible profile exited $code, not 2"; cat "$work/refused.err"; exit 1; }
[ ! -e "$work/refused.json" ] || { echo "FAIL: an implausible profile was written"; exit 1; }
grep -q "above 1" "$work/refused.err" || { echo "FAIL: the refusal does not say why"; cat "$work/refused.err"; exit 1; }
"$exec_bin" calibrate "$work/implausible.yaml" --out "$work/forced.json" --repeats 1 --force > /dev/null 2>&1
grep -q '"warnings"' "$work/forced.json" || { echo "FAIL: a forced profile does not carry its warnings"; exit 1; }
echo "implausible profile refused (exit 2), written with --force"
