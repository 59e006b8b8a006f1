#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick start, command 2: installs dependencies, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-venv.sh  # PyTorch 2.x, TorchIO, Captum from PyPI: the reference oracles (tests/reference)
scripts/build.sh
BUILD_DIR="${MPROTONET_BUILD_DIR:-build}"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 --timeout 900 "$@"
