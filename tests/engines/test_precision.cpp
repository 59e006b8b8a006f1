// SPDX-License-Identifier: MIT
// Precision "auto": bf16 only where the device computes it natively. On a CPU without
// avx512_bf16/amx_bf16, oneDNN falls back to slow bf16 convolutions (a training epoch took 24x
// as long as fp32 on a 2-core AVX2 EPYC), so the main job must not pick bf16 there.
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "mprotonet/core/error.h"
#include "mprotonet/engines/precision.h"

namespace mprotonet {
namespace {

TEST(Precision, NativeBf16IsReadFromTheFlagsLineOnly) {
  EXPECT_TRUE(cpuinfo_has_native_bf16("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 avx512bw\n"));
  EXPECT_TRUE(cpuinfo_has_native_bf16("flags\t\t: fpu amx_tile amx_bf16\n"));
  // AVX-512 without its bf16 extension, AVX2 only, a look-alike flag, and bf16 outside the flags.
  EXPECT_FALSE(cpuinfo_has_native_bf16("flags\t\t: fpu avx512f avx512bw avx512_vnni\n"));
  EXPECT_FALSE(cpuinfo_has_native_bf16("flags\t\t: fpu avx2 fma\n"));
  EXPECT_FALSE(cpuinfo_has_native_bf16("flags\t\t: fpu xavx512_bf16 avx512_bf16x\n"));
  EXPECT_FALSE(cpuinfo_has_native_bf16("model name\t: avx512_bf16 amx_bf16\nflags\t\t: fpu avx2\n"));
  EXPECT_FALSE(cpuinfo_has_native_bf16(""));
}

TEST(Precision, AutoResolvesByDeviceAndOtherNamesPassThrough) {
  EXPECT_EQ(resolve_precision("auto", "cuda"), "bf16");
  EXPECT_EQ(resolve_precision("auto", "cuda:1"), "bf16");
  for (const char* name : {"fp32", "bf16", "fp16", "nonsense"}) EXPECT_EQ(resolve_precision(name, "cpu"), name);
  // A misspelt name is refused with the list of valid ones, auto among them.
  try {
    parse_precision("atuo");
    ADD_FAILURE() << "a misspelt precision was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'atuo'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("auto"), std::string::npos) << e.what();
  }

  // This machine: an independent reading of /proc/cpuinfo (a regular expression over the whole
  // file) says which answer "auto" must give on the CPU.
  std::ifstream in("/proc/cpuinfo");
  std::ostringstream text;
  text << in.rdbuf();
  const bool native = std::regex_search(text.str(), std::regex("flags\\s*:.*\\b(avx512_bf16|amx_bf16)\\b"));
  EXPECT_EQ(cpu_has_native_bf16(), native);
  EXPECT_EQ(resolve_precision("auto", "cpu"), native ? "bf16" : "fp32");
  std::cout << "[ precision ] auto on this CPU: " << resolve_precision("auto", "cpu") << "\n";
}

}  // namespace
}  // namespace mprotonet
