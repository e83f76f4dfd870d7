#!/usr/bin/env bash
# bench/fuzz: builds the libFuzzer targets with clang, AddressSanitizer and UBSan, seeds each with
# the repository's own files, runs each for SECONDS (default 60) and prints executions and findings.
# Usage: bench/fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
build=build-fuzz
cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DTRAINSIM_FUZZ=ON -DTRAINSIM_SANITIZE=ON -DTRAINSIM_GUI=OFF -DTRAINSIM_EXECUTOR=OFF >/dev/null
cmake --build $build -j "$(nproc)" --target fuzz_scenario fuzz_topology fuzz_hf_config fuzz_calibration fuzz_measurement >/dev/null
declare -A seeds=([scenario]="scenarios tests/data/bad" [topology]="topologies tests/data/bad"
                  [hf_config]="tests/data/hf" [calibration]="bench/fuzz/corpus/calibration"
                  [measurement]="bench/fuzz/corpus/measurement")
mkdir -p $build/findings
for target in scenario topology hf_config calibration measurement; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  for dir in ${seeds[$target]}; do cp -r "$dir"/. "$corpus"/ 2>/dev/null || true; done
  log=$build/findings/$target.log
  set +e
  $build/bin/fuzz_$target "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix=$build/findings/$target- >"$log" 2>&1
  status=$?
  set -e
  execs=$( (grep -o "stat::number_of_executed_units: *[0-9]*" "$log" || true) | grep -o "[0-9]*$" || true)
  [ -n "$execs" ] || execs=$( (grep -oE '#[0-9]+' "$log" || true) | tail -1 | tr -d '#')
  findings=$( (ls $build/findings/$target-* 2>/dev/null || true) | wc -l)
  echo "fuzz_$target: ${execs:-?} executions in ${seconds}s, exit $status, $findings findings"
done
