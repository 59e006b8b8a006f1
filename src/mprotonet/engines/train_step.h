// SPDX-License-Identifier: MIT
// One training step's pieces, shared by the trainer and the training benchmark: the optimisers
// of docs/method.md#training, which parameters train in a step kind, and the forward pass + objective of a batch.
#pragma once

#include <memory>

#include <torch/optim/adamw.h>
#include <torch/types.h>

#include "mprotonet/engines/precision.h"
#include "mprotonet/engines/trainer.h"
#include "mprotonet/losses/total_loss.h"
#include "mprotonet/nets/models.h"

namespace mprotonet {

/// The optimiser of joint epochs. Prototype models: one AdamW with two groups (backbone +
/// add-ons + occurrence head: lr o.lr, wd o.weight_decay; prototype_vectors: lr o.lr, wd
/// o.prototype_weight_decay); CNN3D: one AdamW over everything (lr o.lr, wd o.weight_decay).
std::unique_ptr<torch::optim::AdamW> make_joint_optimizer(nets::ClassifierImpl& model, const TrainOptions& o);
/// The last layer's own AdamW (lr o.last_layer_lr, wd 0); nullptr for CNN3D.
std::unique_ptr<torch::optim::AdamW> make_last_layer_optimizer(nets::ClassifierImpl& model, const TrainOptions& o);

/// Joint steps train everything but last_layer; last-layer steps train last_layer only.
/// CNN3D: everything always trains.
void set_trainable(nets::ClassifierImpl& model, StepKind kind);

/// The forward pass and objective of one batch.
struct BatchObjective {
  LossTerms terms;       ///< total and each term (see total_loss.h)
  torch::Tensor logits;  ///< float32 [B, classes], attached to the graph
};

/// Runs `model` (in whatever mode the caller set) on x [B, 4, D, H, W] under `precision`'s
/// autocast and computes the objective of step `kind` (kJoint or kLastLayer) for labels y.
/// CNN3D: class-weighted focal loss only. `mapping_rng` draws the mapping term's scale.
BatchObjective batch_objective(nets::ClassifierImpl& model, StepKind kind, const torch::Tensor& x,
                               const torch::Tensor& y, const torch::Tensor& class_weights, const LossOptions& loss,
                               Rng& mapping_rng, Precision precision, const torch::Device& device);

}  // namespace mprotonet
