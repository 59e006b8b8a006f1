// SPDX-License-Identifier: MIT
// Every difference between the LibTorch versions this project builds against (Debian's 1.13 and
// PyPI's 2.x, scripts/build-libtorch2.sh) lives here, as thin inline wrappers; the rest of the
// sources call these and stay free of version tests.
//
// - Autocast state: 1.13 has per-device functions (is_cpu_enabled, get_autocast_cpu_dtype, and
//   is_enabled / get_autocast_gpu_dtype for CUDA); 2.4 added the device-type API
//   (is_autocast_enabled(at::kCPU), get_autocast_dtype(at::kCPU), ...) and deprecated the old one.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#define MPROTONET_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace mprotonet::compat {

/// The LibTorch version compiled against, "major.minor.patch".
inline const char* torch_version() { return TORCH_VERSION; }

// ---- autocast ------------------------------------------------------------------------------
// `cuda` selects the CUDA autocast state, otherwise the CPU one.

inline bool autocast_enabled(bool cuda) {
#if MPROTONET_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline void set_autocast_enabled(bool cuda, bool enabled) {
#if MPROTONET_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, enabled);
#else
  if (cuda) {
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

inline at::ScalarType autocast_dtype(bool cuda) {
#if MPROTONET_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

inline void set_autocast_dtype(bool cuda, at::ScalarType dtype) {
#if MPROTONET_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
#else
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

/// CPU autocast on? (max_pool3d and the oneDNN convolution pick their path by it.)
inline bool cpu_autocast_enabled() { return autocast_enabled(/*cuda=*/false); }

}  // namespace mprotonet::compat
