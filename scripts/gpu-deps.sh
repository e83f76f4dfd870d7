#!/usr/bin/env bash
# Copies the headers and libraries an executor-only build needs besides LibTorch (yaml-cpp,
# nlohmann_json, CLI11: Debian's packages, installed by scripts/setup.sh) into gpu-deps/, a folder
# git ignores, so the device tool can carry it to the GPU machine, which has no apt.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf gpu-deps
mkdir -p gpu-deps/include gpu-deps/lib
cp -r /usr/include/yaml-cpp /usr/include/nlohmann /usr/include/CLI gpu-deps/include/
cp -P /usr/lib/x86_64-linux-gnu/libyaml-cpp.so.0.7* gpu-deps/lib/
du -sh gpu-deps
