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
echo "ok"
