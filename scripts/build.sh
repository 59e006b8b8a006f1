#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configures and builds the project into ./build (Release, -j2, ccache, precompiled headers).
# Usage: scripts/build.sh [extra cmake args...]
# MPROTONET_BUILD_TARGET=<target> builds only that target (quickstart: the CLI alone).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${MPROTONET_BUILD_DIR:-build}"
# ccache across clones: relative paths, and accept the precompiled torch header.
source scripts/build-env.sh
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" "$@"
fi
TARGET=()
if [ -n "${MPROTONET_BUILD_TARGET:-}" ]; then TARGET=(--target "$MPROTONET_BUILD_TARGET"); fi
cmake --build "$BUILD_DIR" -j "${MPROTONET_JOBS:-2}" "${TARGET[@]}"
