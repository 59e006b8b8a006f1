// SPDX-License-Identifier: MIT
// libFuzzer harness for the NIfTI reader (not part of the CMake build: tests/fuzz has no .cpp of
// its own, so CMake makes no test_fuzz executable). Built and run by tests/fuzz/run_fuzzers.sh.
// The input is written to a .nii file (zlib reads plain and gzip-compressed data alike, so both
// .nii and .nii.gz content is exercised) and given to read_nifti_header and read_nifti. Any
// exception other than mprotonet::Error escapes and libFuzzer reports it as a crash; ASan/UBSan
// report memory errors and undefined behaviour; -rss_limit_mb catches unbounded allocation.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "mprotonet/core/error.h"
#include "mprotonet/io/nifti.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/dev/shm/fuzz_nifti_" + std::to_string(::getpid()) + ".nii";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    mprotonet::read_nifti_header(path);
  } catch (const mprotonet::Error&) {
  }
  try {
    const mprotonet::Volume v = mprotonet::read_nifti(path);
    // Touch the result so a wrong size is seen by ASan.
    volatile float sink = v.data.empty() ? 0.0f : v.data.back();
    (void)sink;
  } catch (const mprotonet::Error&) {
  }
  return 0;
}
