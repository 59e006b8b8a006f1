#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The second build configuration (issue 22): LibTorch 2.x from PyPI's torch wheel, CUDA enabled.
#   1. the project-local virtual environment .venv-libtorch2 (scripts/setup-venv.sh) with a pinned
#      torch from PyPI (the default Linux wheel: LibTorch 2.x built for CUDA 13, its CUDA runtime
#      libraries in nvidia-* wheels); the downloaded wheels are kept between runs (~/.cache/mprotonet-pip);
#   2. configures the project into build-libtorch2/ against torch.utils.cmake_prefix_path, with the
#      CUDA toolkit (nvcc, cuDNN, NCCL) found under /usr/local/cuda (or MPROTONET_CUDA_HOME);
#   3. builds the CLI, the tests and the benchmarks (-j2).
# No GPU is needed to build; running on CUDA needs one (README, "GPU and LibTorch 2.x").
# Usage: scripts/build-libtorch2.sh [extra cmake args...]
# Environment: MPROTONET_TORCH_VERSION (default below), MPROTONET_CUDA_HOME, MPROTONET_JOBS,
#              MPROTONET_NO_CUDA=1 (configure without the CUDA toolkit: CPU code paths only).
set -euo pipefail
cd "$(dirname "$0")/.."

# torch 2.12.1: the default PyPI wheel for Python 3.11 is built against CUDA 13.0 (runtime
# 13.0.96), the version of the toolkit installed here (nvcc 13.0), and with the C++11 ABI.
TORCH_VERSION="${MPROTONET_TORCH_VERSION:-2.12.1}"
VENV=".venv-libtorch2"
BUILD_DIR="${MPROTONET_BUILD_DIR:-build-libtorch2}"


MPROTONET_TORCH_VERSION="$TORCH_VERSION" scripts/setup-venv.sh
read -r TORCH_PREFIX TORCH_LIB TORCH_ABI TORCH_CUDA < <("$VENV/bin/python" -W ignore -c \
  'import os, torch; print(torch.utils.cmake_prefix_path, os.path.join(os.path.dirname(torch.__file__), "lib"),
                          int(torch._C._GLIBCXX_USE_CXX11_ABI), torch.version.cuda)')
echo "build-libtorch2: torch $TORCH_VERSION, CUDA $TORCH_CUDA, C++11 ABI $TORCH_ABI, $TORCH_PREFIX"

CUDA_ARGS=()
if [ "${MPROTONET_NO_CUDA:-0}" != 1 ]; then
  CUDA_HOME="${MPROTONET_CUDA_HOME:-/usr/local/cuda}"
  if [ ! -x "$CUDA_HOME/bin/nvcc" ]; then
    echo "build-libtorch2: no nvcc under $CUDA_HOME (set MPROTONET_CUDA_HOME, or MPROTONET_NO_CUDA=1)" >&2
    exit 1
  fi
  # libtorch_cuda.so finds its CUDA libraries (NCCL 2.30, cuDNN, cuBLAS, ... of the nvidia-*
  # wheels) through its own RUNPATH at run time; at link time ld would take the toolkit's older
  # libnccl.so.2 from /usr/local/cuda/lib (on the link's -rpath for libcudart) and miss symbols:
  # point ld at the wheels' folders first.
  WHEEL_LIBS=$(find "$(dirname "$TORCH_LIB")/../nvidia" -mindepth 2 -maxdepth 2 -name lib -type d 2>/dev/null | sort | paste -sd:)
  CUDA_ARGS=(-DCUDAToolkit_ROOT="$CUDA_HOME" -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc"
             -DMPROTONET_REQUIRE_CUDA=ON -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$WHEEL_LIBS")
fi

source scripts/build-env.sh
# TorchConfig looks for libtorch and libc10 with plain find_library calls, which would find
# Debian's LibTorch 1.13 in /usr/lib first: name the wheel's.
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
        -DTORCH_LIBRARY="$TORCH_LIB/libtorch.so" -Dc10_LIBRARY="$TORCH_LIB/libc10.so" \
        "${CUDA_ARGS[@]}" "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" "$@"
fi
cmake --build "$BUILD_DIR" -j "${MPROTONET_JOBS:-2}"
