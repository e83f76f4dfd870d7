#!/usr/bin/env bash
# Nothing listens on a network port: ranks started by `--nproc`, and ranks started by an external
# launcher with a loopback MASTER_ADDR (here: this script, torchrun style), meet through a private
# file store. Checked with ss while a run is going.
#   exposure_check.sh TRAINSIM_EXEC SOURCE_DIR
set -uo pipefail
exec_bin=$1
source_dir=$2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
scenario="$source_dir/scenarios/gpt-tiny-cpu.yaml"
small="--layers 2 --hidden 64 --heads 4 --seq-len 32 --vocab 256 --warmup 1"
# Sockets of ours listening on anything but loopback (Gloo's pairs accept on 127.0.0.1: allowed).
listening() { ss -Hltnp 2>/dev/null | grep "trainsim-exec\|\"exe\"" | awk '$4 !~ /^(127\.0\.0\.1|\[::1\]):/' | grep -c . || true; }
command -v ss >/dev/null || { echo "ss (iproute2) is missing"; exit 1; }

echo "== --nproc 2"
"$exec_bin" "$scenario" --nproc 2 $small --steps 400 > /dev/null 2> "$work/a.log" &
sleep 5
n=$(listening)
wait
echo "   listening sockets of trainsim-exec during the run: $n"
[ "$n" -eq 0 ] || { ss -ltnp; echo "FAIL: a port is open"; exit 1; }

echo "== an external launcher, MASTER_ADDR=127.0.0.1"
port=$((20000 + RANDOM % 20000))
for rank in 0 1; do
  RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$exec_bin" "$scenario" $small --steps 400 --out "$work/run$rank.json" > /dev/null 2> "$work/r$rank.log" &
done
sleep 5
n=$(listening)
wait
echo "   listening sockets of trainsim-exec during the run: $n"
[ "$n" -eq 0 ] || { ss -ltnp; echo "FAIL: a port is open"; exit 1; }
[ -s "$work/run0.json" ] || { cat "$work"/r*.log; echo "FAIL: the run did not finish"; exit 1; }
echo "nothing listened"
