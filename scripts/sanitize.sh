#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the project with AddressSanitizer + UndefinedBehaviorSanitizer (MPROTONET_SANITIZE=ON)
# into ./build-asan and runs the whole ctest suite under it (the tests start the sanitized CLI
# too, which inherits the options below). Slow: about 2-3x the normal suite plus a full build;
# not part of .ci/run for that reason.
# Usage: scripts/sanitize.sh [ctest args, e.g. -L io]      MPROTONET_JOBS=2 (build parallelism)
#   MPROTONET_ASAN_TARGETS="mprotonet test_io" builds only those targets (default: everything);
#   SKIP_BUILD=1 runs the tests on what build-asan holds. Prints the wall time of both steps.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BUILD_DIR="${MPROTONET_ASAN_DIR:-build-asan}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
GEN=()
if command -v ninja >/dev/null 2>&1; then GEN=(-G Ninja); fi
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPROTONET_SANITIZE=ON \
        -DMPROTONET_BUILD_BENCH=OFF
fi
read -r -a TARGETS <<< "${MPROTONET_ASAN_TARGETS:-}"
start=$(date +%s)
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ ${#TARGETS[@]} -gt 0 ]; then
    cmake --build "$BUILD_DIR" -j "${MPROTONET_JOBS:-2}" --target "${TARGETS[@]}"
  else
    cmake --build "$BUILD_DIR" -j "${MPROTONET_JOBS:-2}"
  fi
fi
echo "sanitize.sh: build took $(( $(date +%s) - start )) s"

# detect_odr_violation=0: Debian's libtorch links its own copies of some globals (protobuf,
# onnx) into several of its shared libraries; ASan reports those as ODR violations at load time
# although no project code is involved.
export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:halt_on_error=1:detect_stack_use_after_return=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/scripts/sanitize/ubsan.supp:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/sanitize/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
# The oracles run Debian's (unsanitized) python3; keep the sanitizer runtime out of them.
unset LD_PRELOAD
start=$(date +%s)
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 3000 "$@" || status=$?
echo "sanitize.sh: tests took $(( $(date +%s) - start )) s (ctest exit status $status)"
exit "$status"
