// SPDX-License-Identifier: MIT
// The one conversion between a Volume (io/volume.h, numpy order) and a torch tensor [X, Y, Z].
#pragma once

#include <torch/types.h>

#include "mprotonet/io/volume.h"

namespace mprotonet {

/// A float32 CPU tensor [X, Y, Z] holding a copy of the volume's values.
torch::Tensor volume_to_tensor(const Volume& v);

/// A volume of the tensor's values (any device and floating dtype, converted to float32) with
/// the given affine. Error unless the tensor has 3 dimensions.
Volume tensor_to_volume(const torch::Tensor& t, const Affine& affine);

}  // namespace mprotonet
