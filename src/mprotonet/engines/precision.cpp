// SPDX-License-Identifier: MIT
// Device / precision selection and the autocast guard (see precision.h).
#include "mprotonet/engines/precision.h"

#include <fstream>
#include <sstream>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "mprotonet/core/error.h"
#include "mprotonet/core/torch_compat.h"

namespace mprotonet {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "fp16") return Precision::kFp16;
  throw Error("unknown precision '" + name + "'; valid: fp32, bf16, fp16 (train and demo also take auto)");
}

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::kBf16: return "bf16";
    case Precision::kFp16: return "fp16";
    case Precision::kFp32: break;
  }
  return "fp32";
}

bool cpuinfo_has_native_bf16(const std::string& cpuinfo) {
  std::istringstream lines(cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') == std::string::npos ? line.size() : line.find(':') + 1));
    std::string flag;
    while (words >> flag)
      if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
  }
  return false;
}

bool cpu_has_native_bf16() {
  std::ifstream in("/proc/cpuinfo");
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  return cpuinfo_has_native_bf16(text.str());
}

std::string resolve_precision(const std::string& name, const std::string& device) {
  if (name != "auto") return name;
  const bool cuda = device == "cuda" || device.rfind("cuda:", 0) == 0;
  return cuda || cpu_has_native_bf16() ? "bf16" : "fp32";
}

void check_precision_for_device(Precision precision, const torch::Device& device) {
  check(precision != Precision::kFp16 || device.is_cuda(),
        "fp16 autocast needs a CUDA device (--device cuda); on the CPU use bf16 or fp32");
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    check(torch::cuda::is_available(),
          "--device " + name + " was asked for but CUDA is not available (this LibTorch build has no CUDA "
          "support or no GPU is visible); use --device cpu");
    return torch::Device(name);
  }
  throw Error("unknown device '" + name + "'; valid: cpu, cuda, cuda:N");
}

AutocastGuard::AutocastGuard(Precision precision, const torch::Device& device) {
  if (precision == Precision::kFp32) return;
  check_precision_for_device(precision, device);
  active_ = true;
  cuda_ = device.is_cuda();
  prev_enabled_ = compat::autocast_enabled(cuda_);
  prev_dtype_ = compat::autocast_dtype(cuda_);
  compat::set_autocast_enabled(cuda_, true);
  compat::set_autocast_dtype(cuda_, precision == Precision::kFp16 ? at::kHalf : at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  compat::set_autocast_enabled(cuda_, prev_enabled_);
  compat::set_autocast_dtype(cuda_, prev_dtype_);
}

int set_torch_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return n;
}

}  // namespace mprotonet
