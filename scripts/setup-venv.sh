#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The project-local virtual environment .venv-libtorch2 (gitignored), from PyPI, pinned:
#   - torch: its wheel carries LibTorch 2.x with CUDA, the second build configuration
#     (scripts/build-libtorch2.sh), and is the PyTorch of the oracles below;
#   - torchio and captum: the libraries the reference code uses, as test oracles
#     (tests/reference: preprocessing against TorchIO, attribution maps against Captum).
# Idempotent: does nothing when the pinned versions are installed. The downloaded wheels (~3.5 GB,
# torch and its nvidia-* CUDA libraries) are kept in ~/.cache/mprotonet-pip/wheels and installed
# from there offline; only a missing or new version downloads.
# Environment: MPROTONET_TORCH_VERSION, MPROTONET_WHEEL_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${MPROTONET_TORCH_VERSION:-2.12.1}"
# TorchIO and Captum at the versions of the reference code's environment (its environment.yml:
# torchio 0.19.2, captum 0.6.0), with the NumPy 1.x they were written for.
PINS=("torch==$TORCH_VERSION" "torchio==0.19.2" "captum==0.6.0" "numpy==1.26.4")
VENV=".venv-libtorch2"
WHEELS="${MPROTONET_WHEEL_CACHE:-$HOME/.cache/mprotonet-pip/wheels}"

if [ ! -x "$VENV/bin/python" ]; then
  /usr/bin/python3 -m venv "$VENV"
fi
have=$("$VENV/bin/python" -W ignore -c 'import torch, torchio, captum, numpy; print(torch.__version__.split("+")[0], torchio.__version__, captum.__version__, numpy.__version__)' 2>/dev/null || true)
if [ "$have" = "$TORCH_VERSION 0.19.2 0.6.0 1.26.4" ]; then
  exit 0
fi
mkdir -p "$WHEELS"
if ! "$VENV/bin/pip" install --quiet --no-index --find-links "$WHEELS" "${PINS[@]}" 2>/dev/null; then
  echo "setup-venv: downloading ${PINS[*]} and their dependencies into $WHEELS"
  "$VENV/bin/pip" download --quiet -d "$WHEELS" "${PINS[@]}"
  "$VENV/bin/pip" install --quiet --no-index --find-links "$WHEELS" "${PINS[@]}"
fi
echo "setup-venv: $VENV has ${PINS[*]}"
