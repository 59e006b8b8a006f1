// SPDX-License-Identifier: MIT
// One dispatcher over every attribution method of docs/method.md#explanations: the MProtoNet map and GradCAM
// (attribution.h) plus Guided GradCAM, Deconvolution (guided.h) and Occlusion (occlusion.h).
// Every method returns [N, C, D, H, W] at the input size for one target class per sample.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "mprotonet/attribution/attribution.h"
#include "mprotonet/attribution/occlusion.h"
#include "mprotonet/nets/models.h"

namespace mprotonet::attribution {

/// Options of compute_map that only some methods read.
struct MapOptions {
  /// Occlusion window, stride, baseline, batch and progress.
  OcclusionOptions occlusion;
};

/// The method's map [N, C, D, H, W] for `target` (int64 [N]); Error when the method does not apply.
torch::Tensor compute_map(nets::ClassifierImpl& model, MapMethod method, const torch::Tensor& input,
                          const torch::Tensor& target, const MapOptions& options = {});

}  // namespace mprotonet::attribution
