#!/usr/bin/env bash
# Installs, from Debian 12's archive, every package trainsim needs to build and test.
# Safe to run again: it only installs what is missing. Needs root (or sudo) the first time.
set -euo pipefail

core=(build-essential cmake pkg-config ninja-build
      libsimgrid-dev libyaml-cpp-dev nlohmann-json3-dev libboost-graph-dev libcli11-dev
      libgtest-dev libgmock-dev libopenmpi-dev openmpi-bin python3)
gui=(qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libgl-dev libegl-dev libglx-dev libxkbcommon-dev)
executor=(libtorch-dev libgloo-dev libopenblas0-pthread iproute2)  # iproute2: ss, for the exposure test

missing=()
for p in "${core[@]}" "${gui[@]}" "${executor[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
