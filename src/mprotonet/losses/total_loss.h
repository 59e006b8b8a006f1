// SPDX-License-Identifier: MIT
// Composition of MProtoNet's training objective (docs/method.md#training):
//   joint epochs:      total = cls + 0.8 cluster - 0.08 separation [+ 0.5 mapping] [+ 0.05 OC]
//   last-layer epochs: total = cls + 0.01 ||W ⊙ (1 - identity^T)||_1
// Each term is returned unweighted beside the total so the trainer can log it.
#pragma once

#include <torch/types.h>

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/losses/prototype_losses.h"
#include "mprotonet/core/rng.h"

namespace mprotonet {

/// Loss coefficients; defaults = the paper's MProtoNet C row (p_mode 5). Use for_p_mode for
/// the other rows.
struct LossOptions {
  /// Classification (focal) loss. Default 1.
  double cls = 1.0;
  /// Cluster cost. Default 0.8.
  double cluster = 0.8;
  /// Separation cost (negative: separation is rewarded). Default -0.08.
  double separation = -0.08;
  /// Mapping loss, p_mode >= 2 rows. Default 0.5.
  double mapping = 0.5;
  /// Online-CAM loss, p_mode 4 and 5 rows. Default 0.05.
  double online_cam = 0.05;
  /// L1 on the last layer's wrong-class weights, last-layer epochs. Default 0.01.
  double l1 = 0.01;
  /// Focal exponent of every classification term. Default 2.
  double focal_gamma = 2.0;

  /// The paper's coefficients for p_mode 0..5: mapping 0.5 for p_mode >= 2 else 0, online-CAM
  /// 0.05 for p_mode >= 4 else 0; the others as the defaults. p_mode outside 0..5 is an Error.
  static LossOptions for_p_mode(int p_mode);
};

void to_json(nlohmann::json& j, const LossOptions& o);
/// Reads the fields present over the defaults; unknown keys are an Error.
void from_json(const nlohmann::json& j, LossOptions& o);

/// Inputs of one joint-epoch batch. The mapping term is computed when occurrence_fn is set,
/// the online-CAM term when online_cam_h is defined; a non-zero coefficient without its inputs
/// is an Error (so a p_mode >= 2 model cannot silently train without its mapping loss).
struct JointLossInputs {
  torch::Tensor logits;                    ///< [B, classes]
  torch::Tensor labels;                    ///< int64 [B]
  torch::Tensor min_distances;             ///< [B, P]
  torch::Tensor prototype_class_identity;  ///< [P, classes]
  double max_dist = 0.0;                   ///< m = D = product of prototype_shape[1:]
  // --- mapping (p_mode >= 2) ---
  torch::Tensor features;         ///< x fed to the occurrence head, [B, C, X, Y, Z]
  torch::Tensor occurrence_maps;  ///< M(x) from the forward pass, [B, P, X, Y, Z]
  OccurrenceMapFn occurrence_fn;  ///< M
  /// Rescaling factor; nullopt = drawn from kMappingScales with the rng (the reference's way).
  std::optional<double> mapping_scale;
  // --- online-CAM (p_mode >= 4) ---
  torch::Tensor online_cam_h;      ///< head up to its first ReLU, [B, D, N] or [B, D, X, Y, Z]
  torch::Tensor head_conv_weight;  ///< the head's second conv weight, [P, D(, 1, 1, 1)]
  LastLayerFn last_layer;          ///< [B, P] -> logits
};

/// The objective and its terms (unweighted). A term not computed is undefined.
struct LossTerms {
  torch::Tensor total;
  torch::Tensor cls, cluster, separation, mapping, online_cam, l1;
  /// The scale the mapping term used (0 when no mapping term).
  double mapping_scale = 0.0;
  /// name -> value of every defined tensor (for progress lines and metrics JSON).
  std::map<std::string, double> values() const;
};

/// The joint-epoch objective. class_weights: w_c = 1 / n_c of the training set (see
/// class_balanced_weights). rng supplies the mapping scale when inputs.mapping_scale is unset.
LossTerms joint_loss(const JointLossInputs& inputs, const torch::Tensor& class_weights,
                     const LossOptions& options, Rng& rng);

/// The last-layer-epoch objective: cls * focal + l1 * ||W ⊙ (1 - identity^T)||_1.
LossTerms last_layer_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                          const torch::Tensor& class_weights,
                          const torch::Tensor& last_layer_weight,
                          const torch::Tensor& prototype_class_identity, const LossOptions& options);

}  // namespace mprotonet
