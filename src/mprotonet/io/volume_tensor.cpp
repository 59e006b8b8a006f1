// SPDX-License-Identifier: MIT
#include "mprotonet/io/volume_tensor.h"

#include <cstring>

#include "mprotonet/core/error.h"

namespace mprotonet {

torch::Tensor volume_to_tensor(const Volume& v) {
  check(static_cast<int64_t>(v.data.size()) == v.numel(), "volume holds " + std::to_string(v.data.size()) +
                                                              " values for " + std::to_string(v.numel()) + " voxels");
  return torch::from_blob(const_cast<float*>(v.data.data()), {v.shape[0], v.shape[1], v.shape[2]}, torch::kFloat).clone();
}

Volume tensor_to_volume(const torch::Tensor& t, const Affine& affine) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  check(c.dim() == 3, "map volume has shape " + c10::str(c.sizes()) + "; expected [D, H, W]");
  Volume v = make_volume({c.size(0), c.size(1), c.size(2)}, affine);
  std::memcpy(v.data.data(), c.data_ptr<float>(), v.data.size() * sizeof(float));
  return v;
}

}  // namespace mprotonet
