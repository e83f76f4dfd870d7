#!/usr/bin/env bash
# Data parallelism on Gloo: 2 ranks give the same losses as 1 process over the same global
# batch, to 1e-5 relative; and `trainsim validate` reads the measurement.
set -euo pipefail
exec_bin=$1
trainsim=$2
source_dir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scenario="$source_dir/scenarios/gpt-tiny-cpu.yaml"
sed -e 's/dp: 2, micro_batch: 4, global_batch: 8/dp: 1, micro_batch: 8, global_batch: 8/' \
    -e 's/gpus: 2/gpus: 1/' "$scenario" > "$work/one.yaml"
common="--steps 5 --warmup 1 --layers 2 --hidden 64 --heads 4 --seq-len 32 --vocab 256"
"$exec_bin" "$work/one.yaml" $common --micro-batch 8 --out "$work/one.json"
"$exec_bin" "$scenario" --nproc 2 $common --micro-batch 4 --out "$work/two.json"
one=$(grep -A6 '"losses"' "$work/one.json" | tr -d ' \n')
two=$(grep -A6 '"losses"' "$work/two.json" | tr -d ' \n')
echo "1 process: $one"
echo "2 ranks:   $two"
# Compare the loss lists number by number.
paste <(echo "$one" | grep -oE '[0-9]+\.[0-9e+-]+') <(echo "$two" | grep -oE '[0-9]+\.[0-9e+-]+') |
  awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * $1) { print "loss differs: " $1 " vs " $2; bad = 1 } }
       END { exit bad }'
"$trainsim" validate "$scenario" --measured "$work/two.json"
