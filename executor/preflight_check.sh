#!/usr/bin/env bash
# What trainsim-exec cannot run is refused once, with exit code 2 and the reason, before any rank
# starts: plans, overrides, data and output paths alike. A resumed run with no steps left says so
# and exits 0; tensor parallelism runs in bf16 on CPUs (Gloo's collectives in fp32); ranks started
# with different options refuse to train together.
#   preflight_check.sh TRAINSIM_EXEC SOURCE_DIR
set -euo pipefail
exec_bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
base='model: {arch: gpt, layers: 4, hidden: 64, heads: 4, vocab: 256, seq_len: 32}'
scenario() {  # NAME GPUS PLAN
  printf 'name: %s\n%s\ncluster: {topology: cpu-loopback, gpus: %s}\nplan: %s\n' "$1" "$base" "$2" "$3" > "$1.yaml"
}
scenario dp2 2 '{dp: 2, micro_batch: 4, global_batch: 8, precision: fp32}'
scenario zero2 2 '{dp: 2, zero: 2, micro_batch: 4, global_batch: 8, precision: fp32}'
scenario op 2 '{dp: 2, recompute: op, micro_batch: 4, global_batch: 8, precision: fp32}'
scenario pp2i 2 '{pp: 2, schedule: interleaved, virtual_stages: 2, micro_batch: 2, global_batch: 8, precision: fp32}'
scenario split 2 '{pp: 2, layers_per_stage: [1, 3], micro_batch: 2, global_batch: 8, precision: fp32}'
scenario tp2 2 '{tp: 2, micro_batch: 4, global_batch: 8, precision: fp32}'

refused() {  # REASON ARGS...: exit 2, the reason, no rank started
  local reason=$1
  shift
  set +e
  "$exec_bin" "$@" --steps 3 --warmup 1 > out.log 2> err.log
  local code=$?
  set -e
  cat err.log
  [ "$code" -eq 2 ] || { echo "FAIL: $* exited $code, not 2"; exit 1; }
  grep -qF -- "$reason" err.log || { echo "FAIL: $*: no \"$reason\""; exit 1; }
  ! grep -q "starting the plan's\|rank [0-9]" err.log || { echo "FAIL: $*: ranks were started"; exit 1; }
}
refused "ZeRO stage 2 is not implemented" zero2.yaml
refused "recompute: op is not implemented" op.yaml
refused "micro-batches per step (3) divisible by pp (2)" pp2i.yaml --global-batch 6
refused "plan.layers_per_stage splits 4 layers, the model run has 8" split.yaml --layers 8
refused "--trace /nonexistent/t.json: no folder /nonexistent" dp2.yaml --trace /nonexistent/t.json
refused "--out $work: a directory" dp2.yaml --out "$work"
refused "--data bogus: expected synthetic" dp2.yaml --data bogus
refused "--resume needs --checkpoint-dir" dp2.yaml --resume
refused "needs dp*tp*pp = 2 ranks, but 3 were started" dp2.yaml --nproc 3

# A checkpoint that already reached --steps: nothing to run, said, exit 0, no measurement.
"$exec_bin" dp2.yaml --steps 3 --warmup 1 --checkpoint-dir ck --checkpoint-every 3 2> first.log
"$exec_bin" dp2.yaml --steps 3 --warmup 1 --checkpoint-dir ck --resume --out again.json 2> again.log
cat again.log
grep -q "nothing left to run" again.log || { echo "FAIL: a finished run resumed without saying so"; exit 1; }
[ ! -e again.json ] || { echo "FAIL: a measurement was written for no steps"; exit 1; }

# Tensor parallelism in bf16 on CPUs.
"$exec_bin" tp2.yaml --steps 3 --warmup 1 --precision bf16 --out tp2.json 2> tp2.log
cat tp2.log
grep -q '"precision": "bf16' tp2.json || { echo "FAIL: the tp2 bf16 run did not report bf16"; exit 1; }
# Ranks a launcher started with different options refuse to train together, each saying how.
scenario pp2 2 '{pp: 2, micro_batch: 2, global_batch: 8, precision: fp32}'
set +e
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29731 RANK=0 LOCAL_RANK=0 "$exec_bin" pp2.yaml --steps 3 --timeout 60 2> r0.log &
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29731 RANK=1 LOCAL_RANK=1 "$exec_bin" pp2.yaml --steps 3 --timeout 60 \
  --layers 6 2> r1.log &
wait %1; code0=$?
wait %2; code1=$?
set -e
cat r0.log r1.log
[ "$code0" -eq 2 ] && [ "$code1" -eq 2 ] || { echo "FAIL: mismatched ranks exited $code0 and $code1, not 2"; exit 1; }
grep -q "started with different scenarios or options" r0.log || { echo "FAIL: rank 0 gave no reason"; exit 1; }
grep -q "layers 6" r1.log || { echo "FAIL: rank 1 did not show the difference"; exit 1; }
echo "ok"
