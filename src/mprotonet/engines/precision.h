// SPDX-License-Identifier: MIT
// Device and numeric precision of training and evaluation: fp32 everywhere by default; bf16
// autocast on the CPU or on CUDA (no loss scaling needed); fp16 autocast on CUDA, trained with
// dynamic loss scaling (engines/grad_scaler.h). The model's weights and the optimiser state stay
// fp32; only the forward ops autocast lists run in the lower precision. The autocast state is
// set through core/torch_compat.h, whose API differs between LibTorch 1.13 and 2.x.
#pragma once

#include <string>

#include <torch/types.h>

namespace mprotonet {

enum class Precision { kFp32, kBf16, kFp16 };

/// "fp32", "bf16" or "fp16"; Error listing the valid names otherwise.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision p);

/// Whether /proc/cpuinfo-style text lists a native bf16 instruction set (the flags avx512_bf16
/// or amx_bf16). Without one, oneDNN has no fast bf16 convolution on this CPU: measured on a
/// 2-core AVX2 EPYC, a bf16 training epoch took 24x as long as fp32.
bool cpuinfo_has_native_bf16(const std::string& cpuinfo);

/// Whether this machine's CPU computes bf16 natively (reads /proc/cpuinfo; false elsewhere).
bool cpu_has_native_bf16();

/// Resolves "auto" for `device` ("cpu", "cuda", "cuda:N"): bf16 on CUDA or on a CPU with native
/// bf16 (cpu_has_native_bf16), fp32 otherwise. Any other name is returned unchanged.
std::string resolve_precision(const std::string& name, const std::string& device);

/// "cpu" or "cuda" / "cuda:N"; Error when CUDA is asked for but torch::cuda::is_available() is
/// false (this LibTorch build or machine has no usable GPU), or for an unknown name.
torch::Device parse_device(const std::string& name);

/// Error unless `precision` runs on `device`: fp16 autocast is for CUDA (on the CPU, LibTorch's
/// convolutions have no fast fp16 kernels; bf16 is the CPU's lower precision).
void check_precision_for_device(Precision precision, const torch::Device& device);

/// RAII: enables autocast to bf16 / fp16 for `device` while alive; a no-op for kFp32. Restores the previous autocast state and clears the autocast cast cache on exit.
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
