#!/usr/bin/env bash
# The GPU check of trainsim-exec, prepared to run in one call of the device tool (one H100/H200,
# PyTorch 2.x wheel, no apt, no internet) within 10 minutes:
#   1. build trainsim-exec against the wheel's LibTorch with CUDA + NCCL (../shared/GPU-BUILD.md),
#      carrying gpu-deps/ (scripts/gpu-deps.sh: yaml-cpp, nlohmann_json, CLI11 from Debian);
#   2. correctness at world size 1: a small GPT in fp32 on the GPU gives the CPU's losses and
#      parameters, recomputation does not change them, bf16 (fp32 master weights) and autocast
#      train the same model to bf16's precision; the NCCL path runs (world group on NCCL);
#   3. speed: the GPT-350M and GPT-1.3B configurations of ../shared/calibration (24 layers,
#      batch 8 x 2048, bf16), trainsim-exec (bf16 weights, and autocast) against eager PyTorch
#      (executor/eager_gpt.py) in the same call; then `trainsim-exec calibrate` writes a profile.
# Results go to $OUT (or ./gpu-check-out): logs, run JSONs, the profile, and summary.txt.
# Call:  run(command="bash executor/gpu-check.sh", carry=["gpu-deps"], timeout_s=600)
set -uo pipefail
out=${OUT:-gpu-check-out}
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
gpu=$(nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv,noheader)
say "$gpu"
say "$(date -u +%Y-%m-%dT%H:%MZ); $(python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", ".".join(map(str, torch.cuda.nccl.version())))')"
case $gpu in *H100*) topology=single-h100 ;; *) topology=single-h200 ;; esac

TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
NCCL_ROOT=$(python3 -c 'import nvidia.nccl as n;print(list(n.__path__)[0])')
start=$SECONDS
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRAINSIM_EXECUTOR_ONLY=ON -DTRAINSIM_EXEC_CUDA=ON \
  -DTRAINSIM_DEPS_DIR="$PWD/gpu-deps" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DTORCH_CUDA_ARCH_LIST=9.0 \
  -DCMAKE_CXX_FLAGS="-I$NCCL_ROOT/include" \
  -DCMAKE_BUILD_RPATH="$NCCL_ROOT/lib;$PWD/gpu-deps/lib" > "$out/cmake.log" 2>&1 &&
  ninja -C build-gpu -k 0 trainsim-exec > "$out/build.log" 2>&1
build=$?
say "build: exit $build in $((SECONDS - start)) s"
if [ $build -ne 0 ]; then
  grep -E "error|Error" -A3 "$out/build.log" | head -80
  tail -20 "$out/cmake.log"
  exit 1
fi
exe=build-gpu/bin/trainsim-exec
export LD_LIBRARY_PATH="$NCCL_ROOT/lib:$PWD/gpu-deps/lib:${LD_LIBRARY_PATH:-}"

# 2. Correctness on one GPU.
tiny="--layers 2 --hidden 64 --heads 4 --seq-len 32 --vocab 256 --steps 4 --warmup 1 --adam-eps 1e-6"
cat > "$out/tiny.yaml" <<YAML
name: gpu-tiny
model: {arch: gpt, layers: 2, hidden: 64, heads: 4, vocab: 256, seq_len: 32}
cluster: {topology: $topology, gpus: 1}
plan: {micro_batch: 2, global_batch: 8, precision: fp32}
YAML
sed 's/precision: fp32/precision: fp32, recompute: full/' "$out/tiny.yaml" > "$out/tiny-full.yaml"
run_tiny() {  # NAME SCENARIO OPTIONS...
  local name=$1 scenario=$2
  shift 2
  timeout 120 $exe "$scenario" $tiny --dump-params "$out/p-$name" --out "$out/tiny-$name.json" "$@" > "$out/tiny-$name.log" 2>&1 ||
    say "tiny $name: FAILED ($(tail -1 "$out/tiny-$name.log"))"
}
# QUICK=1 (a second call when the first ran out of time): the recomputation check only.
compare() { $exe compare-params "$out/p-$1" "$out/p-$2" --rtol "$3" 2>&1 | tail -1; }
NCCL_DEBUG=INFO run_tiny gpu "$out/tiny.yaml" --device cuda
run_tiny gpu-full "$out/tiny-full.yaml" --device cuda
# Recomputation on the GPU must be exact.
say "recompute full vs none (cuda):      $(compare gpu gpu-full 1e-5)"
if [ -z "${QUICK:-}" ]; then
  run_tiny cpu "$out/tiny.yaml" --device cpu
  run_tiny gpu-bf16 "$out/tiny.yaml" --device cuda --precision bf16
  run_tiny gpu-autocast "$out/tiny.yaml" --device cuda --precision bf16 --autocast
  # TF32 and kernel choice differ between CPU and GPU: 1e-3 here.
  say "cuda vs cpu (fp32, 4 steps):        $(compare cpu gpu 1e-3)"
  say "bf16 master weights vs fp32 (cuda): $(compare gpu gpu-bf16 5e-2)"
  say "bf16 autocast vs fp32 (cuda):       $(compare gpu gpu-autocast 5e-2)"
fi
say "NCCL: $(grep -o '"device": "[^"]*"' "$out/tiny-gpu.json"); $(grep -c 'NCCL INFO' "$out/tiny-gpu.log") NCCL INFO lines;" \
  "$(grep -m1 -oE 'NCCL version [0-9.]+' "$out/tiny-gpu.log")"

# 3. Speed against eager PyTorch, same call, same GPU.
field() { grep -oE "\"$1\": [0-9.e+-]+" "$2" | head -1 | grep -oE '[0-9.e+-]+$'; }
for cfg in "gpt-350m 1024 16" "gpt-1.3b 2048 16"; do
  set -- $cfg
  name=$1 hidden=$2 heads=$3
  cat > "$out/$name.yaml" <<YAML
name: $name
model: {arch: gpt, layers: 24, hidden: $hidden, heads: $heads, vocab: 50304, seq_len: 2048}
cluster: {topology: $topology, gpus: 1}
plan: {micro_batch: 8, global_batch: 8, precision: bf16}
YAML
  for variant in master autocast; do
    extra=""
    [ $variant = autocast ] && extra="--autocast"
    [ $variant = autocast ] && [ $name = gpt-350m ] && continue
    timeout 90 $exe "$out/$name.yaml" --device cuda --steps 12 --warmup 3 $extra --out "$out/$name-$variant.json" \
      > "$out/$name-$variant.log" 2>&1 || say "$name $variant: FAILED ($(tail -2 "$out/$name-$variant.log" | tr '\n' ' '))"
    say "$name trainsim-exec ($variant): $(field step_time_s "$out/$name-$variant.json") s/step," \
      "$(field model_tflops_per_gpu "$out/$name-$variant.json") model TFLOP/s (trainsim's count)," \
      "peak $(field peak "$out/$name-$variant.json") B; compute $(field compute "$out/$name-$variant.json")" \
      "optimizer $(field optimizer "$out/$name-$variant.json")"
  done
  eager=$(timeout 90 python3 executor/eager_gpt.py 24 "$hidden" "$heads" 8 2048 50304 12 2> "$out/$name-eager.log")
  echo "$eager" > "$out/$name-eager.json"
  say "$name eager PyTorch: $eager"
done
[ -z "${QUICK:-}" ] && { timeout 90 $exe "$out/gpt-1.3b.yaml" --device cuda --steps 4 --warmup 1 \
  --trace "$out/gpt-1.3b-trace.json" --out "$out/gpt-1.3b-traced.json" > "$out/gpt-1.3b-traced.log" 2>&1 ||
  say "trace: FAILED"; }

timeout 60 $exe calibrate "$out/tiny.yaml" --device cuda --out "$out/profile.json" > "$out/calibrate.log" 2>&1
say "calibrate: exit $?"
cat "$out/calibrate.log" >> "$summary"
echo "---"
cat "$summary"
