#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian package the project needs (idempotent: does nothing when all are present).
# Run as root or with sudo available.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev            # LibTorch C++ API 1.13.1 (CPU, oneDNN)
  libgloo-dev             # headers of Gloo, the transport of c10d's CPU process group (scale-out)
  libnifti2-dev           # nifticlib: NIfTI-1/NIfTI-2 I/O
  zlib1g-dev libpng-dev   # gzip streams, PNG figures
  libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-venv python3-torch python3-nibabel python3-numpy python3-scipy python3-sklearn   # test oracles and baselines
  chromium                # headless browser: report.html renders, and its 3D viewers draw (WebGL2 via SwiftShader)
  python3-yaml python3-jsonschema   # tests/release: CITATION.cff against the CFF 1.2.0 schema
  help2man                # the man page, written from --help at install time (cmake/Install.cmake)
  dpkg-dev file           # cpack -G DEB: dpkg-shlibdeps (and file) find the package's dependencies
  slurmctld slurmd slurm-client munge iproute2   # scale-out tests: a one-node Slurm in a private network namespace
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
