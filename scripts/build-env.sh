# SPDX-License-Identifier: MIT
# Sourced by scripts/build.sh and scripts/build-libtorch2.sh: the compiler cache's settings (one
# cache for every checkout and build folder of the project) and the CMake generator, GEN.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
GEN=()
if command -v ninja >/dev/null 2>&1; then GEN=(-G Ninja); fi
