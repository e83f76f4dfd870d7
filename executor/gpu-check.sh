#!/usr/bin/env bash
# The GPU check of trainsim-exec, prepared to run in one call of the device tool (one H100/H200,
# PyTorch 2.x wheel, no apt, no internet) within 10 minutes:
#   1. build trainsim-exec against the wheel's LibTorch with CUDA + NCCL (../shared/GPU-BUILD.md),
#      carrying gpu-deps/ (scripts/gpu-deps.sh: yaml-cpp, nlohmann_json, CLI11 from Debian);
#   2. correctness at world size 1: a small GPT in fp32 on the GPU gives the CPU's losses, and
#      recomputation does not change them; the NCCL path runs (world group on NCCL);
#   3. speed: the GPT-350M and GPT-1.3B configurations of ../shared/calibration (24 layers,
#      batch 8 x 2048, bf16), trainsim-exec against eager PyTorch (executor/eager_gpt.py) in the
#      same call; then `trainsim-exec calibrate` writes an H100/H200 profile.
# Results go to $OUT (or ./gpu-check-out): logs, run JSONs, the profile, and summary.txt.
# Call:  run(command="bash executor/gpu-check.sh", carry=["gpu-deps"], timeout_s=600)
set -uo pipefail
out=${OUT:-gpu-check-out}
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
date -u +%Y-%m-%dT%H:%MZ | tee -a "$summary"

TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
NCCL_ROOT=$(python3 -c 'import nvidia.nccl as n;print(list(n.__path__)[0])')
start=$SECONDS
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRAINSIM_EXECUTOR_ONLY=ON -DTRAINSIM_EXEC_CUDA=ON \
  -DTRAINSIM_DEPS_DIR="$PWD/gpu-deps" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DTORCH_CUDA_ARCH_LIST=9.0 \
  -DCMAKE_BUILD_RPATH="$NCCL_ROOT/lib;$PWD/gpu-deps/lib" > "$out/cmake.log" 2>&1 &&
  ninja -C build-gpu trainsim-exec > "$out/build.log" 2>&1
build=$?
say "build: exit $build in $((SECONDS - start)) s"
[ $build -eq 0 ] || { tail -30 "$out/build.log" "$out/cmake.log"; exit 1; }
exe=build-gpu/bin/trainsim-exec
export LD_LIBRARY_PATH="$NCCL_ROOT/lib:$PWD/gpu-deps/lib:${LD_LIBRARY_PATH:-}"

# 2. Correctness on one GPU.
tiny="--layers 2 --hidden 64 --heads 4 --seq-len 32 --vocab 256 --steps 4 --warmup 1 --adam-eps 1e-6"
cat > "$out/tiny.yaml" <<YAML
name: gpu-tiny
model: {arch: gpt, layers: 2, hidden: 64, heads: 4, vocab: 256, seq_len: 32}
cluster: {topology: single-h200, gpus: 1}
plan: {micro_batch: 8, global_batch: 8, precision: fp32}
YAML
sed 's/precision: fp32/precision: fp32, recompute: full/' "$out/tiny.yaml" > "$out/tiny-full.yaml"
$exe "$out/tiny.yaml" $tiny --device cpu --dump-params "$out/p-cpu" --out "$out/tiny-cpu.json" > /dev/null 2>&1
$exe "$out/tiny.yaml" $tiny --device cuda --dump-params "$out/p-gpu" --out "$out/tiny-gpu.json" > "$out/tiny-gpu.log" 2>&1
$exe "$out/tiny-full.yaml" $tiny --device cuda --dump-params "$out/p-gpu-full" > /dev/null 2>&1
# TF32 and kernel choice differ between CPU and GPU: 1e-3 here; recomputation on the GPU must be exact.
say "cuda vs cpu (fp32, 4 steps):        $($exe compare-params "$out/p-cpu" "$out/p-gpu" --rtol 1e-3 | tail -1)"
say "recompute full vs none (cuda):      $($exe compare-params "$out/p-gpu" "$out/p-gpu-full" --rtol 1e-5 | tail -1)"

# 3. Speed against eager PyTorch, same call, same GPU.
for cfg in "gpt-350m 1024 16" "gpt-1.3b 2048 16"; do
  set -- $cfg
  name=$1 hidden=$2 heads=$3
  cat > "$out/$name.yaml" <<YAML
name: $name
model: {arch: gpt, layers: 24, hidden: $hidden, heads: $heads, vocab: 50304, seq_len: 2048}
cluster: {topology: single-h200, gpus: 1}
plan: {micro_batch: 8, global_batch: 8, precision: bf16}
YAML
  timeout 150 $exe "$out/$name.yaml" --device cuda --steps 12 --warmup 3 --out "$out/$name-exec.json" \
    > "$out/$name-exec.log" 2>&1
  ours=$(grep -oE '"model_tflops_per_gpu": [0-9.]+' "$out/$name-exec.json" | grep -oE '[0-9.]+$')
  ours_step=$(grep -oE '"step_time_s": [0-9.e-]+' "$out/$name-exec.json" | grep -oE '[0-9.e-]+$')
  eager=$(timeout 150 python3 executor/eager_gpt.py 24 "$hidden" "$heads" 8 2048 50304 12 2> "$out/$name-eager.log")
  echo "$eager" > "$out/$name-eager.json"
  say "$name: trainsim-exec ${ours:-?} TFLOP/s (${ours_step:-?} s/step); eager PyTorch $eager"
done

timeout 120 $exe calibrate "$out/tiny.yaml" --device cuda --out "$out/profile.json" > "$out/calibrate.log" 2>&1
say "calibrate: exit $? ($(grep -c . "$out/calibrate.log") lines)"
cat "$summary"
