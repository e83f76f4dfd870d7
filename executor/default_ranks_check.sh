#!/usr/bin/env bash
# trainsim-exec without --nproc starts the plan's ranks (tp x pp x dp x cp), says what it wrote and
# prints a one-line summary; the run it writes has the plan's rank count.
#   default_ranks_check.sh TRAINSIM_EXEC SOURCE_DIR
set -euo pipefail
exec_bin=$1 source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$exec_bin" "$source_dir/scenarios/gpt-tiny-cpu.yaml" --steps 4 --warmup 1 --out "$work/run.json" 2> "$work/stderr.log"
cat "$work/stderr.log"
grep -q "starting the plan's 2 ranks" "$work/stderr.log" || { echo "FAIL: the plan's ranks were not started"; exit 1; }
grep -q "wrote $work/run.json" "$work/stderr.log" || { echo "FAIL: no line saying what was written"; exit 1; }
grep -qE "gpt-tiny-cpu: 4 steps on 2 ranks \(cpu\), step time .* tokens/s, loss [0-9.]+ -> [0-9.]+" "$work/stderr.log" ||
  { echo "FAIL: no one-line summary"; exit 1; }
grep -q '"gpus": 2' "$work/run.json" || { echo "FAIL: the run did not use 2 ranks"; exit 1; }
# --nproc still decides when given.
"$exec_bin" "$source_dir/scenarios/gpt-tiny-cpu.yaml" --steps 2 --warmup 1 --nproc 2 --out "$work/run2.json" 2> "$work/stderr2.log"
! grep -q "starting the plan's" "$work/stderr2.log" || { echo "FAIL: --nproc given, yet the default was announced"; exit 1; }
# A model feature the executor does not build (experts) is refused before any rank starts, not
# measured as a dense model.
cat > "$work/moe.yaml" <<'YAML'
name: moe-tiny
model: {arch: llama, layers: 2, hidden: 64, heads: 4, ffn_hidden: 128, vocab: 256, seq_len: 32, moe: {experts: 4, top_k: 2}}
cluster: {topology: cpu-loopback, gpus: 2}
plan: {dp: 2, micro_batch: 4, global_batch: 8, precision: fp32}
YAML
set +e
"$exec_bin" "$work/moe.yaml" --steps 2 --warmup 0 > "$work/moe.out" 2> "$work/moe.log"
code=$?
set -e
cat "$work/moe.log"
[ "$code" -eq 2 ] || { echo "FAIL: an MoE scenario exited $code, not 2"; exit 1; }
grep -q "a mixture of experts (model.moe) is not implemented" "$work/moe.log" || { echo "FAIL: no reason given"; exit 1; }
! grep -q "starting the plan's" "$work/moe.log" || { echo "FAIL: ranks were started"; exit 1; }
echo "ok"
