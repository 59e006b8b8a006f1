// SPDX-License-Identifier: MIT
// Occlusion attribution (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
// ECCV 2014) as the reference runs it through captum.attr.Occlusion: a window of 1 channel x
// 11 x 11 x 11 voxels slides with stride 1 x 5 x 5 x 5 (docs/method.md#explanations); each position is replaced by the
// baseline (0) and the drop of the target logit, (unoccluded - occluded), is credited to every
// voxel of the window; each voxel's attribution is the mean over the windows covering it. Window
// positions per axis: ceil((n - w) / s) + 1 starting at i * s, the last one clipped at the border
// (captum's count), so every voxel is covered. The occluded copies are evaluated in batches.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include <torch/types.h>

#include "mprotonet/nets/models.h"

namespace mprotonet::attribution {

struct OcclusionOptions {
  /// Window edge along each spatial axis, voxels; default 11 (docs/method.md#explanations). Clipped to the axis size.
  int64_t window = 11;
  /// Stride along each spatial axis, voxels; default 5.
  int64_t stride = 5;
  /// Value written into the occluded window; default 0.
  double baseline = 0.0;
  /// Occluded copies per forward call; default 8.
  int64_t batch_size = 8;
  /// Called after each batch with (forwards done, forwards total) over the whole call; optional.
  std::function<void(int64_t, int64_t)> progress;
};

/// Window positions along an axis of `size` voxels.
int64_t occlusion_positions(int64_t size, const OcclusionOptions& options);

/// Forwards one sample needs: 1 unoccluded + C x positions(D) x positions(H) x positions(W).
/// (A 4 x 128 x 128 x 96 input needs 1 + 4 x 25 x 25 x 18 = 45001.)
int64_t occlusion_forward_count(const std::array<int64_t, 4>& sample_shape, const OcclusionOptions& options);

/// Occlusion map [N, C, D, H, W] for the target class of each sample (int64 [N]), evaluation mode.
torch::Tensor occlusion(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target,
                        const OcclusionOptions& options = {});

}  // namespace mprotonet::attribution
