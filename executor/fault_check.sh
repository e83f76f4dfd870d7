#!/usr/bin/env bash
# Faults, tested: a rank killed mid-step, a rank that hangs, a damaged checkpoint, a full disk while
# checkpointing, an interrupt. Each must stop every rank within the timeout with a message naming
# the rank, and leave the previous checkpoint intact and resumable.
#   fault_check.sh TRAINSIM_EXEC SOURCE_DIR
set -uo pipefail
exec_bin=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scenario="$source_dir/scenarios/gpt-tiny-cpu.yaml"
small="--layers 2 --hidden 64 --heads 4 --seq-len 32 --vocab 256 --warmup 0"
fail() { echo "FAIL: $*"; cat "$work/log" 2>/dev/null | tail -5; exit 1; }
expect_in_log() { grep -q -- "$1" "$work/log" || fail "expected \"$1\" in the message"; }

echo "== 1. a rank killed mid-step"
start=$SECONDS
TRAINSIM_EXEC_FAULT=kill:1:2 "$exec_bin" "$scenario" --nproc 2 $small --steps 6 --timeout 20 --out "$work/k.json" 2> "$work/log"
code=$?
[ $code -eq 1 ] || fail "exit code $code, expected 1"
expect_in_log "rank 1 was killed by signal 9"
[ ! -e "$work/k.json" ] || fail "a measurement was written by a failed run"
echo "   stopped after $((SECONDS - start)) s: $(grep 'rank 1' "$work/log" | tail -1)"

echo "== 2. a rank that hangs (collective timeout 5 s)"
start=$SECONDS
TRAINSIM_EXEC_FAULT=hang:1:2 "$exec_bin" "$scenario" --nproc 2 $small --steps 6 --timeout 5 > /dev/null 2> "$work/log"
code=$?
elapsed=$((SECONDS - start))
[ $code -eq 1 ] || fail "exit code $code, expected 1"
expect_in_log "rank 1 stopped responding"
[ $elapsed -lt 40 ] || fail "took $elapsed s to stop"
echo "   stopped after $elapsed s: $(grep 'stopped responding' "$work/log")"

echo "== 3. checkpoints: resume equals an uninterrupted run; a damaged checkpoint falls back"
"$exec_bin" "$scenario" --nproc 2 $small --steps 6 --out "$work/straight.json" 2> "$work/log" || fail "plain run"
"$exec_bin" "$scenario" --nproc 2 $small --steps 4 --checkpoint-dir "$work/ck" --checkpoint-every 2 > /dev/null 2> "$work/log" ||
  fail "checkpointing run"
[ -e "$work/ck/step-000002/COMPLETE" ] && [ -e "$work/ck/step-000004/COMPLETE" ] || fail "checkpoints missing"
"$exec_bin" "$scenario" --nproc 2 $small --steps 6 --checkpoint-dir "$work/ck" --resume --out "$work/resumed.json" \
  2> "$work/log" || fail "resume"
expect_in_log "resumed from .*step-000004"
losses() { tr -d ' \n' < "$1" | grep -oE '"losses":\[[^]]*\]' | sed 's/.*\[//; s/\]//' | tr ',' '\n'; }
[ "$(losses "$work/straight.json" | tail -2)" = "$(losses "$work/resumed.json")" ] ||
  fail "resumed losses $(losses "$work/resumed.json" | tr '\n' ' ') differ from $(losses "$work/straight.json" | tail -2 | tr '\n' ' ')"
echo "   steps 4-5 after resuming equal the uninterrupted run bit for bit"
# Damage the newest checkpoint of rank 1: both ranks must go back to step 4's predecessor.
rm -rf "$work/ck/step-000006"
printf 'XXXX' | dd of="$work/ck/step-000004/rank-00001.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
"$exec_bin" "$scenario" --nproc 2 $small --steps 6 --checkpoint-dir "$work/ck" --resume --out "$work/fallback.json" \
  2> "$work/log" || fail "resume after damage"
expect_in_log "rank-00001.bin is damaged"
expect_in_log "resumed from .*step-000002"
[ "$(losses "$work/straight.json" | tail -4)" = "$(losses "$work/fallback.json")" ] || fail "fallback losses differ"
echo "   $(grep damaged "$work/log" | head -1)"

echo "== 4. a full disk while checkpointing (file size limit)"
rm -rf "$work/ck2"
"$exec_bin" "$scenario" --nproc 2 $small --steps 2 --checkpoint-dir "$work/ck2" --checkpoint-every 2 > /dev/null 2> "$work/log" ||
  fail "first checkpoint"
(ulimit -f 100; "$exec_bin" "$scenario" --nproc 2 $small --steps 4 --checkpoint-dir "$work/ck2" --checkpoint-every 2 \
  --resume --timeout 10 > /dev/null 2> "$work/log")
code=$?
[ $code -eq 1 ] || fail "exit code $code with a full disk, expected 1"
expect_in_log "cannot write"
expect_in_log "rank [01] "
full_disk=$(grep -m1 'cannot write' "$work/log")
[ ! -e "$work/ck2/step-000004/COMPLETE" ] || fail "a checkpoint was marked complete on a full disk"
ls "$work/ck2"/step-*/*.tmp >/dev/null 2>&1 && fail "temporary files were left behind"
"$exec_bin" "$scenario" --nproc 2 $small --steps 4 --checkpoint-dir "$work/ck2" --resume > /dev/null 2> "$work/log" ||
  fail "resume after the full disk"
expect_in_log "resumed from .*step-000002"
echo "   $full_disk; step 2 resumed afterwards"

echo "== 5. an interrupt: nothing half-written"
"$exec_bin" "$scenario" --nproc 2 $small --steps 100000 --out "$work/int.json" --checkpoint-dir "$work/ck3" \
  --checkpoint-every 5 2> "$work/log" &
pid=$!
sleep 6
kill -INT $pid
wait $pid
code=$?
[ $code -eq 130 ] || fail "exit code $code after SIGINT, expected 130"
[ ! -e "$work/int.json" ] || fail "a measurement was written by an interrupted run"
ls "$work/ck3"/step-*/*.tmp >/dev/null 2>&1 && fail "temporary files were left behind"
for d in "$work/ck3"/step-*; do
  [ -e "$d/COMPLETE" ] || [ "$d" = "$(ls -d "$work/ck3"/step-* | tail -1)" ] || fail "$d incomplete"
done
echo "   exit 130, no measurement, checkpoints complete: $(ls "$work/ck3" | tr '\n' ' ')"
echo "all fault cases passed"
