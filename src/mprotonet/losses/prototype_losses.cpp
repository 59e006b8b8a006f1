// SPDX-License-Identifier: MIT
// Prototype loss terms (see prototype_losses.h).
#include "mprotonet/losses/prototype_losses.h"

#include <torch/nn/functional.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "mprotonet/core/error.h"
#include "mprotonet/core/text.h"
#include "mprotonet/losses/focal.h"

namespace mprotonet {
namespace F = torch::nn::functional;

namespace {


/// [B, P] mask: 1 where prototype p belongs to sample i's class.
torch::Tensor own_class_mask(const torch::Tensor& min_distances, const torch::Tensor& labels,
                             const torch::Tensor& identity, const char* what) {
  check(min_distances.defined() && min_distances.dim() == 2,
        std::string(what) + ": expected min_distances [B, P], got " + shape_string(min_distances));
  check(identity.defined() && identity.dim() == 2 && identity.size(0) == min_distances.size(1),
        std::string(what) + ": expected prototype_class_identity [" +
            std::to_string(min_distances.size(1)) + ", classes], got " + shape_string(identity));
  check(labels.defined() && labels.dim() == 1 && labels.size(0) == min_distances.size(0),
        std::string(what) + ": expected labels [" + std::to_string(min_distances.size(0)) +
            "], got " + shape_string(labels));
  auto target = labels.to(min_distances.device(), torch::kLong);
  return identity.to(min_distances.device(), min_distances.scalar_type()).index_select(1, target).t();
}

/// sum_i t_i (m - max_{p in mask_i} (m - d_ip)) = sum_i t_i min_{p in mask_i} d_ip.
torch::Tensor masked_min_cost(const torch::Tensor& d, const torch::Tensor& mask,
                              const torch::Tensor& labels, const torch::Tensor& class_weights,
                              const char* what) {
  auto has = mask.sum(1);
  check((has > 0).all().item<bool>(),
        std::string(what) + ": a sample has no prototype in the required class set "
                            "(check prototype_class_identity)");
  auto masked = d.masked_fill(mask <= 0, std::numeric_limits<float>::infinity());
  auto nearest = std::get<0>(masked.min(1));
  return (sample_weights(labels, class_weights).to(d.device(), d.scalar_type()) * nearest).sum();
}

}  // namespace

torch::Tensor sample_weights(const torch::Tensor& labels, const torch::Tensor& class_weights) {
  auto target = labels.to(torch::kLong);
  torch::Tensor w;
  if (class_weights.defined())
    w = class_weights.to(labels.device(), torch::kFloat).index_select(0, target);
  else
    w = torch::ones({labels.size(0)}, torch::TensorOptions().device(labels.device()));
  return w / w.sum();
}

torch::Tensor cluster_cost(const torch::Tensor& min_distances, const torch::Tensor& labels,
                           const torch::Tensor& identity, const torch::Tensor& class_weights,
                           double max_dist) {
  (void)max_dist;  // cancels exactly: m - max(m - d) = min d
  auto own = own_class_mask(min_distances, labels, identity, "cluster_cost");
  return masked_min_cost(min_distances, own, labels, class_weights, "cluster_cost");
}

torch::Tensor separation_cost(const torch::Tensor& min_distances, const torch::Tensor& labels,
                              const torch::Tensor& identity, const torch::Tensor& class_weights,
                              double max_dist) {
  (void)max_dist;
  auto own = own_class_mask(min_distances, labels, identity, "separation_cost");
  return masked_min_cost(min_distances, 1 - own, labels, class_weights, "separation_cost");
}

torch::Tensor last_layer_l1(const torch::Tensor& weight, const torch::Tensor& identity) {
  check(weight.defined() && identity.defined() && weight.dim() == 2 && identity.dim() == 2 &&
            weight.size(0) == identity.size(1) && weight.size(1) == identity.size(0),
        "last_layer_l1: expected last_layer.weight [classes, P] and prototype_class_identity "
        "[P, classes], got " + shape_string(weight) + " and " + shape_string(identity));
  auto mask = 1 - identity.to(weight.device(), weight.scalar_type()).t();
  return (weight * mask).abs().sum();
}

torch::Tensor rescale_trilinear(const torch::Tensor& t, double scale) {
  check(t.defined() && t.dim() == 5, "rescale_trilinear: expected a tensor [B, C, X, Y, Z], got " +
                                         shape_string(t));
  check(scale > 0, "rescale_trilinear: scale must be > 0, got " + std::to_string(scale));
  return F::interpolate(t, F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{scale, scale, scale})
                               .mode(torch::kTrilinear)
                               .align_corners(true)
                               // use the scale as given (PyTorch's default since 1.6; with
                               // align_corners only the output size depends on it)
                               .recompute_scale_factor(false));
}

torch::Tensor mapping_loss(const torch::Tensor& x, const torch::Tensor& maps,
                           const OccurrenceMapFn& occurrence_maps, double scale) {
  check(static_cast<bool>(occurrence_maps), "mapping_loss: no occurrence-map function given");
  check(maps.defined() && maps.dim() == 5 && x.defined() && x.dim() == 5 &&
            maps.size(0) == x.size(0) && maps.sizes().slice(2) == x.sizes().slice(2),
        "mapping_loss: expected features x [B, C, X, Y, Z] and maps M(x) [B, P, X, Y, Z] of the "
        "same batch and spatial size, got " + shape_string(x) + " and " + shape_string(maps));
  auto equivariance = (rescale_trilinear(maps, scale) - occurrence_maps(rescale_trilinear(x, scale))).abs().mean();
  return equivariance + maps.abs().mean();
}

double draw_mapping_scale(Rng& rng) { return kMappingScales[rng.randint(2)]; }

torch::Tensor mapping_loss(const torch::Tensor& x, const torch::Tensor& maps,
                           const OccurrenceMapFn& occurrence_maps, Rng& rng) {
  return mapping_loss(x, maps, occurrence_maps, draw_mapping_scale(rng));
}

torch::Tensor lse_pooling(const torch::Tensor& h, double r) {
  check(h.defined() && h.dim() >= 3, "lse_pooling: expected h [B, D, N...], got " + shape_string(h));
  check(r > 0, "lse_pooling: r must be > 0, got " + std::to_string(r));
  auto flat = h.flatten(2);
  return (torch::logsumexp(r * flat, -1) - std::log(static_cast<double>(flat.size(2)))) / r;
}

torch::Tensor online_cam_loss(const torch::Tensor& h, const torch::Tensor& head_conv_weight,
                              const LastLayerFn& last_layer, const torch::Tensor& labels,
                              const torch::Tensor& class_weights, double focal_gamma) {
  check(static_cast<bool>(last_layer), "online_cam_loss: no last-layer function given");
  check(head_conv_weight.defined() && head_conv_weight.dim() >= 2,
        "online_cam_loss: expected the head's second conv weight [P, D(, 1, 1, 1)], got " +
            shape_string(head_conv_weight));
  auto w = head_conv_weight.flatten(1);  // [P, D]
  auto pooled = lse_pooling(h);          // [B, D]
  check(pooled.size(1) == w.size(1), "online_cam_loss: h has " + std::to_string(pooled.size(1)) +
                                         " channels but the conv weight expects " +
                                         std::to_string(w.size(1)));
  auto logits = last_layer(torch::matmul(pooled, w.t()));
  return focal_loss(logits, labels, class_weights, focal_gamma);
}

}  // namespace mprotonet
