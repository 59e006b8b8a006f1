#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The LibTorch 2.x configuration's suite (issue 22): builds build-libtorch2/ (scripts/build-libtorch2.sh:
# PyPI's torch wheel, CUDA compiled and linked) and runs the whole suite on the CPU. The
# cross_version test compares it with build/ (LibTorch 1.13) when that exists.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-libtorch2.sh
ctest --test-dir "${MPROTONET_BUILD_DIR:-build-libtorch2}" --output-on-failure -j 2 --timeout 900 "$@"
