// SPDX-License-Identifier: MIT
// libFuzzer harness for the checkpoint reader (not part of the CMake build: this folder is not
// globbed). Build and run with build_fuzzers.sh beside it. Two targets from one file:
//  - default: the input is a whole file given to read_state_dict and read_tensor_file;
//  - FUZZ_PICKLE: the input is a data.pkl given straight to the restricted unpickler, with a
//    storage loader that returns zeros (bounded), so the fuzzer spends its time in the pickle VM.
// Any exception other than mprotonet::Error escapes and is reported by libFuzzer as a crash.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "mprotonet/core/error.h"
#include "mprotonet/io/pickle_reader.h"
#include "mprotonet/io/state_dict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef FUZZ_PICKLE
  auto loader = [](const mprotonet::pickle::StorageRequest& r) {
    if (r.numel > 4096) throw mprotonet::Error("fuzz loader: storage too large");
    return torch::zeros({r.numel}, torch::TensorOptions().dtype(r.dtype));
  };
  mprotonet::pickle::Limits limits;
  limits.max_tensor_bytes = 1 << 20;
  try {
    mprotonet::pickle::unpickle(std::string_view(reinterpret_cast<const char*>(data), size), loader, limits);
  } catch (const mprotonet::Error&) {
  }
#else
  static const std::string path = "/dev/shm/fuzz_state_dict_" + std::to_string(::getpid()) + ".pt";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    mprotonet::read_state_dict(path);
  } catch (const mprotonet::Error&) {
  }
  try {
    mprotonet::read_tensor_file(path);
  } catch (const mprotonet::Error&) {
  }
#endif
  return 0;
}
