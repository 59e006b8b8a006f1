// SPDX-License-Identifier: MIT
// Class-balanced focal loss, the classification loss of every MProtoNet row (docs/method.md#training;
// Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, with the reference's class
// weights w_c = 1 / n_c).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace mprotonet {

/// Focal exponent of the paper. Default 2.
constexpr double kFocalGamma = 2.0;

/// Class weights w_c = 1 / n_c from the training labels (int64 [N], values in [0, n_classes)),
/// float32 [n_classes]. A class with no subject is an Error (its weight would be infinite).
torch::Tensor class_balanced_weights(const torch::Tensor& labels, int64_t n_classes = 2);
/// Same from counts n_c.
torch::Tensor class_balanced_weights(const std::vector<int64_t>& counts);

/// focal_i = -(1 - p_i)^gamma * log p_i with p_i the softmax probability of the true class;
/// result = sum_i w_{y_i} focal_i / sum_i w_{y_i} (the weighted mean of torch's nll_loss).
/// logits float [B, C]; labels int64 [B]; class_weights [C] or undefined (all 1).
/// With gamma = 0 this is the class-weighted cross-entropy.
torch::Tensor focal_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                         const torch::Tensor& class_weights, double gamma = kFocalGamma);

}  // namespace mprotonet
