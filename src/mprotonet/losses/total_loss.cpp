// SPDX-License-Identifier: MIT
// Composition of the joint and last-layer objectives (see total_loss.h).
#include "mprotonet/losses/total_loss.h"

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/losses/focal.h"

namespace mprotonet {

LossOptions LossOptions::for_p_mode(int p_mode) {
  check(p_mode >= 0 && p_mode <= 5, "LossOptions::for_p_mode: p_mode must be 0..5, got " +
                                        std::to_string(p_mode));
  LossOptions o;
  o.mapping = p_mode >= 2 ? 0.5 : 0.0;
  o.online_cam = p_mode >= 4 ? 0.05 : 0.0;
  return o;
}

void to_json(nlohmann::json& j, const LossOptions& o) {
  j = nlohmann::json{{"cls", o.cls},           {"cluster", o.cluster}, {"separation", o.separation},
                     {"mapping", o.mapping},   {"online_cam", o.online_cam}, {"l1", o.l1},
                     {"focal_gamma", o.focal_gamma}};
}

void from_json(const nlohmann::json& j, LossOptions& o) {
  check(j.is_object(), "loss options: expected a JSON object, got " + j.dump());
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    with_context("while reading loss option '" + k + "'", [&] {
      double v = it.value().get<double>();
      if (k == "cls") o.cls = v;
      else if (k == "cluster") o.cluster = v;
      else if (k == "separation") o.separation = v;
      else if (k == "mapping") o.mapping = v;
      else if (k == "online_cam") o.online_cam = v;
      else if (k == "l1") o.l1 = v;
      else if (k == "focal_gamma") o.focal_gamma = v;
      else throw Error("unknown loss option '" + k +
                       "'; valid: cls, cluster, separation, mapping, online_cam, l1, focal_gamma");
    });
  }
}

std::map<std::string, double> LossTerms::values() const {
  std::map<std::string, double> v;
  auto put = [&v](const char* name, const torch::Tensor& t) {
    if (t.defined()) v[name] = t.detach().to(torch::kCPU, torch::kDouble).item<double>();
  };
  put("total", total);
  put("cls", cls);
  put("cluster", cluster);
  put("separation", separation);
  put("mapping", mapping);
  put("online_cam", online_cam);
  put("l1", l1);
  return v;
}

LossTerms joint_loss(const JointLossInputs& in, const torch::Tensor& class_weights,
                     const LossOptions& o, Rng& rng) {
  check(in.max_dist > 0, "joint_loss: max_dist (m = prototype dimension D) must be > 0, got " +
                             std::to_string(in.max_dist));
  LossTerms t;
  t.cls = focal_loss(in.logits, in.labels, class_weights, o.focal_gamma);
  t.cluster = cluster_cost(in.min_distances, in.labels, in.prototype_class_identity, class_weights, in.max_dist);
  t.separation = separation_cost(in.min_distances, in.labels, in.prototype_class_identity, class_weights, in.max_dist);
  t.total = o.cls * t.cls + o.cluster * t.cluster + o.separation * t.separation;

  const bool have_mapping = static_cast<bool>(in.occurrence_fn);
  check(have_mapping || o.mapping == 0.0,
        "joint_loss: the mapping coefficient is " + std::to_string(o.mapping) +
            " but no occurrence maps were given (a p_mode < 2 model needs mapping = 0)");
  if (have_mapping) {
    t.mapping_scale = in.mapping_scale ? *in.mapping_scale : draw_mapping_scale(rng);
    t.mapping = mapping_loss(in.features, in.occurrence_maps, in.occurrence_fn, t.mapping_scale);
    t.total = t.total + o.mapping * t.mapping;
  }
  const bool have_oc = in.online_cam_h.defined();
  check(have_oc || o.online_cam == 0.0,
        "joint_loss: the online-CAM coefficient is " + std::to_string(o.online_cam) +
            " but no occurrence-head activations were given (a p_mode < 4 model needs "
            "online_cam = 0)");
  if (have_oc) {
    t.online_cam = online_cam_loss(in.online_cam_h, in.head_conv_weight, in.last_layer, in.labels,
                                   class_weights, o.focal_gamma);
    t.total = t.total + o.online_cam * t.online_cam;
  }
  return t;
}

LossTerms last_layer_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                          const torch::Tensor& class_weights, const torch::Tensor& weight,
                          const torch::Tensor& identity, const LossOptions& o) {
  LossTerms t;
  t.cls = focal_loss(logits, labels, class_weights, o.focal_gamma);
  t.l1 = last_layer_l1(weight, identity);
  t.total = o.cls * t.cls + o.l1 * t.l1;
  return t;
}

}  // namespace mprotonet
