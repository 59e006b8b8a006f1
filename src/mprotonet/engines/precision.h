// SPDX-License-Identifier: MIT
// Device and numeric precision of training and evaluation: fp32 everywhere by default; bf16
// autocast on the CPU (LibTorch 1.13 exposes at::autocast::set_cpu_enabled in C++) or on CUDA
// (bf16 needs no gradient scaler, which LibTorch's C++ API lacks). The model's weights and
// the optimiser state stay fp32; only the forward ops autocast lists run in bf16.
#pragma once

#include <string>

#include <torch/types.h>

namespace mprotonet {

enum class Precision { kFp32, kBf16 };

/// "fp32" or "bf16"; Error listing the valid names otherwise.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision p);

/// "cpu" or "cuda" / "cuda:N"; Error when CUDA is asked for but torch::cuda::is_available() is
/// false (this LibTorch build or machine has no usable GPU), or for an unknown name.
torch::Device parse_device(const std::string& name);

/// RAII: enables autocast to bf16 for `device` while alive when precision is kBf16; a no-op for
/// kFp32. Restores the previous autocast state and clears the autocast cast cache on exit.
class AutocastGuard {
 public:
  AutocastGuard(Precision precision, const torch::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kFloat;
};

/// Sets torch's intra-op threads: n > 0 as given, 0 = every core (std::thread::hardware_concurrency).
/// Returns the number set.
int set_torch_threads(int n);

}  // namespace mprotonet
