// SPDX-License-Identifier: MIT
// Optimisers, trainable sets and the per-batch objective of training (see train_step.h).
#include "mprotonet/engines/train_step.h"

#include "mprotonet/core/error.h"
#include "mprotonet/losses/focal.h"

namespace mprotonet {

using torch::optim::AdamW;
using torch::optim::AdamWOptions;

std::unique_ptr<AdamW> make_joint_optimizer(nets::ClassifierImpl& model, const TrainOptions& o) {
  auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model);
  if (!proto) return std::make_unique<AdamW>(model.parameters(), AdamWOptions(o.lr).weight_decay(o.weight_decay));
  std::vector<torch::Tensor> body;
  for (auto& p : proto->features->parameters()) body.push_back(p);
  for (auto& p : proto->add_ons->parameters()) body.push_back(p);
  if (proto->p_map)
    for (auto& p : proto->p_map->parameters()) body.push_back(p);
  check(body.size() + 2 == model.parameters().size(),
        "internal: the optimiser groups do not cover every parameter of the model");
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(body, std::make_unique<AdamWOptions>(AdamWOptions(o.lr).weight_decay(o.weight_decay)));
  groups.emplace_back(std::vector<torch::Tensor>{proto->prototype_vectors},
                      std::make_unique<AdamWOptions>(AdamWOptions(o.lr).weight_decay(o.prototype_weight_decay)));
  return std::make_unique<AdamW>(std::move(groups), AdamWOptions(o.lr));
}

std::unique_ptr<AdamW> make_last_layer_optimizer(nets::ClassifierImpl& model, const TrainOptions& o) {
  auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model);
  if (!proto) return nullptr;
  return std::make_unique<AdamW>(std::vector<torch::Tensor>{proto->last_layer->weight},
                                 AdamWOptions(o.last_layer_lr).weight_decay(0.0));
}

void set_trainable(nets::ClassifierImpl& model, StepKind kind) {
  auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model);
  if (!proto) return;
  for (auto& p : model.parameters()) p.requires_grad_(kind == StepKind::kJoint);
  proto->last_layer->weight.requires_grad_(kind == StepKind::kLastLayer);
}

BatchObjective batch_objective(nets::ClassifierImpl& model, StepKind kind, const torch::Tensor& x,
                               const torch::Tensor& y, const torch::Tensor& class_weights, const LossOptions& loss,
                               Rng& mapping_rng, Precision precision, const torch::Device& device) {
  check(kind != StepKind::kPush, "internal: a push step has no batch objective");
  BatchObjective r;
  AutocastGuard autocast(precision, device);
  auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model);
  if (!proto) {
    r.logits = model.forward_all(x).logits.to(torch::kFloat);
    r.terms.cls = focal_loss(r.logits, y, class_weights, loss.focal_gamma);
    r.terms.total = loss.cls * r.terms.cls;
    return r;
  }
  auto out = proto->forward_all(x);
  r.logits = out.logits.to(torch::kFloat);
  if (kind == StepKind::kLastLayer) {
    r.terms = last_layer_loss(r.logits, y, class_weights, proto->last_layer->weight, proto->prototype_class_identity,
                              loss);
    return r;
  }
  JointLossInputs in;
  in.logits = r.logits;
  in.labels = y;
  in.min_distances = out.min_distances.to(torch::kFloat);
  in.prototype_class_identity = proto->prototype_class_identity;
  const auto& ps = proto->config().prototype_shape;
  in.max_dist = static_cast<double>(ps[1] * ps[2] * ps[3] * ps[4]);
  if (proto->p_mode() >= 2 && loss.mapping != 0.0) {
    in.features = out.backbone_features;
    in.occurrence_maps = out.occurrence_maps;
    in.occurrence_fn = [proto](const torch::Tensor& f) { return proto->occurrence_maps(f); };
  }
  if (proto->p_mode() >= 4 && loss.online_cam != 0.0) {
    in.online_cam_h = proto->occurrence_hidden(out.backbone_features);
    in.head_conv_weight = proto->gradcam_layer()->weight;
    in.last_layer = [proto](const torch::Tensor& t) { return proto->last_layer->forward(t); };
  }
  r.terms = joint_loss(in, class_weights, loss, mapping_rng);
  return r;
}

}  // namespace mprotonet
