#!/usr/bin/env bash
# Correctness of the parallel plans on CPU (Gloo, fp32): each run's losses and final parameters
# must equal one process training on the same global batch, to 1e-5 relative.
#   parallel_check.sh TRAINSIM_EXEC SOURCE_DIR [CASE ...]
# Cases: dp2 tp2 tp2-sp pp2-1f1b pp2-gpipe pp2-interleaved pp2-uneven pp2-interleaved-uneven tp2xpp2
#        dp2xtp2 zero1 recompute-full recompute-selective llama-tp2 bert-dp2 bf16 (default: all)
set -euo pipefail
exec_bin=$1
source_dir=$2
shift 2
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(dp2 tp2 tp2-sp pp2-1f1b pp2-gpipe pp2-interleaved pp2-uneven pp2-interleaved-uneven
                                 tp2xpp2 dp2xtp2 zero1 recompute-full recompute-selective llama-tp2 bert-dp2 bf16)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Adam epsilon 1e-6 (BERT's): with 1e-8, elements whose gradient is near zero turn fp32 rounding
# differences into visible steps (see compare-params).
steps="--steps 3 --warmup 1 --adam-eps 1e-6"

# scenario NAME MODEL PLAN: a scenario file on the CPU test bed with as many ranks as the plan.
scenario() {
  local name=$1 model=$2 plan=$3
  local gpus
  gpus=$(echo "$plan" | awk -F'[{}, :]+' '{ n = 1; for (i = 1; i < NF; ++i) if ($i == "dp" || $i == "tp" || $i == "pp") n *= $(i + 1); print n }')
  cat > "$work/$name.yaml" <<YAML
name: $name
model: $model
cluster: {topology: cpu-loopback, gpus: $gpus}
plan: $plan
YAML
  echo "$gpus"
}

# run NAME MODEL PLAN [extra options]: trains and dumps the parameters into $work/NAME.
run() {
  local name=$1 model=$2 plan=$3
  shift 3
  local gpus
  gpus=$(scenario "$name" "$model" "$plan")
  local launch=""
  [ "$gpus" -gt 1 ] && launch="--nproc $gpus"
  "$exec_bin" "$work/$name.yaml" $launch $steps --timeout 120 --dump-params "$work/$name" --out "$work/$name.json" "$@" \
    > "$work/$name.log" 2>&1 || { cat "$work/$name.log"; echo "FAIL: $name did not run"; exit 1; }
}

same() {  # same A B: parameters and losses of two runs agree
  echo "== $2 against $1"
  "$exec_bin" compare-params "$work/$1" "$work/$2" --rtol 1e-5 | tail -2
}

gpt="{arch: gpt, layers: 4, hidden: 64, heads: 4, vocab: 256, seq_len: 32}"
llama="{arch: llama, layers: 2, hidden: 64, heads: 4, kv_heads: 2, ffn_hidden: 128, vocab: 256, seq_len: 32}"
fp32="precision: fp32, global_batch: 8"
need_one=false
for c in "${cases[@]}"; do case $c in llama-tp2|bert-dp2|pp2-uneven|pp2-interleaved-uneven) ;; *) need_one=true ;; esac; done
$need_one && run one "$gpt" "{dp: 1, micro_batch: 8, $fp32}"

for c in "${cases[@]}"; do
  case $c in
    dp2)        run dp2 "$gpt" "{dp: 2, micro_batch: 4, $fp32}"; same one dp2 ;;
    tp2)        run tp2 "$gpt" "{tp: 2, micro_batch: 8, $fp32}"; same one tp2 ;;
    tp2-sp)     run tp2sp "$gpt" "{tp: 2, sequence_parallel: true, micro_batch: 8, $fp32}"; same one tp2sp ;;
    pp2-1f1b)   run pp1f1b "$gpt" "{pp: 2, micro_batch: 2, schedule: 1f1b, $fp32}"; same one pp1f1b ;;
    pp2-gpipe)  run ppgpipe "$gpt" "{pp: 2, micro_batch: 2, schedule: gpipe, $fp32}"; same one ppgpipe ;;
    pp2-interleaved)
                run ppint "$gpt" "{pp: 2, micro_batch: 2, schedule: interleaved, virtual_stages: 2, $fp32}"
                same one ppint ;;
    tp2xpp2)    run tp2pp2 "$gpt" "{tp: 2, pp: 2, micro_batch: 2, $fp32}"; same one tp2pp2 ;;
    dp2xtp2)    run dp2tp2 "$gpt" "{dp: 2, tp: 2, sequence_parallel: true, micro_batch: 4, $fp32}"; same one dp2tp2 ;;
    zero1)      run dp2z0 "$gpt" "{dp: 2, micro_batch: 2, $fp32}"
                run dp2z1 "$gpt" "{dp: 2, zero: 1, micro_batch: 2, $fp32}"; same dp2z0 dp2z1 ;;
    recompute-full)
                run full "$gpt" "{dp: 1, micro_batch: 8, recompute: full, $fp32}"; same one full
                # half the layers checkpointed (recompute_fraction), the others keeping activations
                run half "$gpt" "{dp: 1, micro_batch: 8, recompute: full, recompute_fraction: 0.5, $fp32}"
                same one half ;;
    bf16)       # bf16 weights and activations, fp32 master weights, gradients accumulated in fp32 over
                # 4 micro-batches: the same training as fp32 to bf16's precision, and not the same run.
                run bf16 "$gpt" "{dp: 1, micro_batch: 2, $fp32}" --precision bf16
                grep -q '"bf16 (fp32 master weights)"' "$work/bf16.json" || { echo "FAIL: bf16 did not run"; exit 1; }
                echo "== bf16 against fp32"
                "$exec_bin" compare-params "$work/one" "$work/bf16" --rtol 5e-2 | tail -2
                if "$exec_bin" compare-params "$work/one" "$work/bf16" --rtol 1e-6 > /dev/null; then
                  echo "FAIL: the bf16 run equals the fp32 one"; exit 1
                fi ;;
    recompute-selective)
                run selective "$gpt" "{dp: 1, micro_batch: 8, recompute: selective, $fp32}"; same one selective ;;
    pp2-uneven) # 3 layers over 2 stages: the simulator's uneven split (scenario/plan.hpp)
                gpt3="{arch: gpt, layers: 3, hidden: 64, heads: 4, vocab: 256, seq_len: 32}"
                run one3 "$gpt3" "{dp: 1, micro_batch: 8, $fp32}"
                run ppuneven "$gpt3" "{pp: 2, micro_batch: 2, $fp32}"; same one3 ppuneven ;;
    pp2-interleaved-uneven)
                # 5 layers over 2 stages x 2 virtual stages: chunks of 1, 1, 2, 1 (scenario/plan.hpp's
                # chunk_layers), then a split given per chunk.
                gpt5="{arch: gpt, layers: 5, hidden: 64, heads: 4, vocab: 256, seq_len: 32}"
                run one5 "$gpt5" "{dp: 1, micro_batch: 8, $fp32}"
                run ppintuneven "$gpt5" "{pp: 2, micro_batch: 2, schedule: interleaved, virtual_stages: 2, $fp32}"
                same one5 ppintuneven
                chunks="layers_per_stage: [2, 1, 1, 1]"
                run ppintchunks "$gpt5" "{pp: 2, micro_batch: 2, schedule: interleaved, virtual_stages: 2, $chunks, $fp32}"
                same one5 ppintchunks ;;
    llama-tp2)  run llama1 "$llama" "{dp: 1, micro_batch: 8, $fp32}"
                run llama2 "$llama" "{tp: 2, sequence_parallel: true, micro_batch: 4, $fp32}"; same llama1 llama2 ;;
    bert-dp2)
      # NER fine-tuning on the shipped CoNLL sample lowers the loss.
      bert="{arch: bert, layers: 2, hidden: 64, heads: 4, vocab: 1024, seq_len: 32}"
      steps="--steps 30 --warmup 1" run bert "$bert" "{dp: 2, micro_batch: 8, precision: fp32, global_batch: 16}" \
        --data "conll:$source_dir/data/conll-sample.txt" --lr 3e-3
      losses=$(tr -d ' \n' < "$work/bert.json" | grep -oE '"losses":\[[^]]*\]' | sed 's/.*\[//; s/\]//' | tr ',' '\n')
      first=$(echo "$losses" | head -1)
      last=$(echo "$losses" | tail -3 | awk '{ s += $1 } END { print s / NR }')
      echo "== bert NER on the CoNLL sample: loss $first at step 0, $last over the last 3 steps"
      awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.5 * a) }' || { echo "FAIL: the NER loss did not halve"; exit 1; } ;;
    *) echo "unknown case $c"; exit 2 ;;
  esac
done
echo "all cases passed"
