// SPDX-License-Identifier: MIT
// The prototype-specific loss terms of MProtoNet's joint and last-layer epochs (docs/method.md#training):
// cluster and separation costs (Chen et al., "This Looks Like That", NeurIPS 2019, with the
// reference's class-balanced sample weights), the L1 penalty on the last layer's wrong-class
// connections, the mapping loss of occurrence maps (Kim et al., "XProtoNet", CVPR 2021) and the
// online-CAM loss (Wei et al., MProtoNet, MIDL 2023). They work on plain tensors and callables,
// so they need no network type.
#pragma once

#include <torch/types.h>

#include <functional>

#include "mprotonet/core/rng.h"

namespace mprotonet {

/// x -> occurrence maps M(x) [B, P, X, Y, Z] (the network's occurrence-map head).
using OccurrenceMapFn = std::function<torch::Tensor(const torch::Tensor&)>;
/// similarities / projected features [B, P] -> logits [B, classes] (the network's last layer).
using LastLayerFn = std::function<torch::Tensor(const torch::Tensor&)>;

/// The two rescaling factors the mapping loss chooses from.
constexpr double kMappingScales[2] = {0.75, 0.875};
/// LSE pooling sharpness of the online-CAM loss. Default 10.
constexpr double kLsePoolingR = 10.0;

/// Per-sample weights t_i = w_{y_i} / sum_j w_{y_j}, [B]. Undefined class_weights = uniform.
torch::Tensor sample_weights(const torch::Tensor& labels, const torch::Tensor& class_weights);

/// cluster = sum_i t_i (m - max_{p of class y_i} (m - d_ip)) with m = max_dist (= D).
/// min_distances [B, P]; labels int64 [B]; prototype_class_identity [P, classes] (one-hot).
/// Computed as sum_i t_i min_{p of class y_i} d_ip, which is the same value without the
/// cancellation of subtracting from m = 128 in float32.
torch::Tensor cluster_cost(const torch::Tensor& min_distances, const torch::Tensor& labels,
                           const torch::Tensor& prototype_class_identity,
                           const torch::Tensor& class_weights, double max_dist);

/// separation = sum_i t_i (m - max_{p not of class y_i} (m - d_ip)).
torch::Tensor separation_cost(const torch::Tensor& min_distances, const torch::Tensor& labels,
                              const torch::Tensor& prototype_class_identity,
                              const torch::Tensor& class_weights, double max_dist);

/// ||W ⊙ (1 - identity^T)||_1 for last_layer_weight W [classes, P].
torch::Tensor last_layer_l1(const torch::Tensor& last_layer_weight,
                            const torch::Tensor& prototype_class_identity);

/// R(t): trilinear rescale of a [B, C, X, Y, Z] tensor by `scale` with align_corners = true
/// (output size floor(n * scale) per axis).
torch::Tensor rescale_trilinear(const torch::Tensor& t, double scale);

/// mapping = mean|R(M(x)) - M(R(x))| + mean|M(x)|, with maps = M(x) as computed in the forward
/// pass (passed in so it is not recomputed and its graph is shared).
torch::Tensor mapping_loss(const torch::Tensor& x, const torch::Tensor& maps,
                           const OccurrenceMapFn& occurrence_maps, double scale);
/// Same with the scale picked from kMappingScales by rng (one draw).
torch::Tensor mapping_loss(const torch::Tensor& x, const torch::Tensor& maps,
                           const OccurrenceMapFn& occurrence_maps, Rng& rng);
/// The scale mapping_loss(..., rng) uses: kMappingScales[rng.randint(2)].
double draw_mapping_scale(Rng& rng);

/// (logsumexp(r * h, last axis) - log N) / r for h [B, D, N] (or [B, D, X, Y, Z], flattened).
torch::Tensor lse_pooling(const torch::Tensor& h, double r = kLsePoolingR);

/// Online-CAM loss: logits = last_layer(lse_pooling(h) @ W^T) with W = the occurrence head's
/// second conv weight [P, D] (or [P, D, 1, 1, 1]); returns the focal loss of those logits.
/// h = the occurrence head up to and including its first ReLU, [B, D, N] or [B, D, X, Y, Z].
torch::Tensor online_cam_loss(const torch::Tensor& h, const torch::Tensor& head_conv_weight,
                              const LastLayerFn& last_layer, const torch::Tensor& labels,
                              const torch::Tensor& class_weights, double focal_gamma = 2.0);

}  // namespace mprotonet
