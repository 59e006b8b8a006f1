#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick start, command 1: installs dependencies, builds, and runs the main job on the built-in
# synthetic cohort. Outputs go to ./demo-run (override with MPROTONET_DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
MPROTONET_BUILD_TARGET=mprotonet scripts/build.sh   # the CLI only; scripts/test.sh builds the rest
BUILD_DIR="${MPROTONET_BUILD_DIR:-build}"
OUT="${MPROTONET_DEMO_DIR:-demo-run}"
exec "$BUILD_DIR/mprotonet" demo --out "$OUT" "$@"
