// SPDX-License-Identifier: MIT
// MProtoNet map and GradCAM (docs/method.md#explanations).
#include "mprotonet/attribution/attribution.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <torch/autograd.h>
#include <torch/nn/functional/upsampling.h>

#include "mprotonet/core/error.h"

namespace mprotonet::attribution {

namespace F = torch::nn::functional;

namespace {

void check_target(const torch::Tensor& input, const torch::Tensor& target, int64_t classes) {
  check(input.dim() == 5, "attribution input has shape " + c10::str(input.sizes()) + "; expected [N, C, D, H, W]");
  check(target.dim() == 1 && target.size(0) == input.size(0) && !target.is_floating_point(),
        "attribution target has shape " + c10::str(target.sizes()) + "; expected one class index per sample [" +
            std::to_string(input.size(0)) + "]");
  if (target.numel() > 0)
    check(target.min().item<int64_t>() >= 0 && target.max().item<int64_t>() < classes,
          "attribution target holds a class outside 0.." + std::to_string(classes - 1));
}

// MProtoNet map from the per-prototype maps [N, P, d, h, w]: own-class prototypes of `target`
// kept, mean over all P, upsampled to the input.
torch::Tensor own_class_mean(const nets::MProtoNet3DImpl& model, const torch::Tensor& maps, const torch::Tensor& input,
                             const torch::Tensor& target) {
  // [P, classes] -> own-class filter per sample [N, P].
  auto filters = model.prototype_class_identity.index_select(1, target.to(torch::kLong).to(maps.device())).transpose(0, 1);
  auto masked = (maps * filters.reshape({filters.size(0), filters.size(1), 1, 1, 1})).mean(1, /*keepdim=*/true);
  return upsample_to_input(masked, input);
}

// GradCAM from a forward pass recorded with gradients: the target logits' gradient w.r.t. the
// captured conv output, spatially averaged, weights the channels; ReLU; upsampled.
torch::Tensor gradcam_from(const nets::ModelOutput& out, const torch::Tensor& input, const torch::Tensor& target) {
  const auto& act = out.gradcam_activation;
  auto selected = out.logits.gather(1, target.to(torch::kLong).to(out.logits.device()).unsqueeze(1)).sum();
  auto grad = torch::autograd::grad({selected}, {act}, /*grad_outputs=*/{}, /*retain_graph=*/false)[0];
  std::vector<int64_t> spatial;
  for (int64_t d = 2; d < grad.dim(); ++d) spatial.push_back(d);
  auto weights = grad.mean(spatial, /*keepdim=*/true);
  auto cam = torch::relu((weights * act.detach()).sum(1, /*keepdim=*/true));
  return upsample_to_input(cam.detach(), input);
}

}  // namespace

const std::vector<std::string>& map_method_names() {
  static const std::vector<std::string> names = {"mprotonet", "gradcam", "guided-gradcam", "deconvolution",
                                                 "occlusion"};
  return names;
}

std::string map_method_name(MapMethod method) { return map_method_names().at(static_cast<size_t>(method)); }

MapMethod parse_map_method(const std::string& name) {
  const auto& names = map_method_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<MapMethod>(i);
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw Error("unknown attribution method \"" + name + "\"; expected one of: " + valid);
}

std::vector<MapMethod> parse_map_methods(const std::string& list) {
  std::vector<MapMethod> out;
  std::set<MapMethod> seen;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto m = parse_map_method(item);
    check(seen.insert(m).second, "attribution method \"" + item + "\" is listed twice in \"" + list + "\"");
    out.push_back(m);
  }
  check(!out.empty(), "no attribution method in \"" + list + "\"");
  return out;
}

std::string map_method_list(const std::vector<MapMethod>& methods) {
  std::string s;
  for (const auto m : methods) s += (s.empty() ? "" : ",") + map_method_name(m);
  return s;
}

bool from_prediction_pass(MapMethod method) { return method == MapMethod::MProtoNet || method == MapMethod::GradCAM; }

bool method_applies(const nets::ClassifierImpl& model, MapMethod method) {
  return method != MapMethod::MProtoNet || model.is_prototype_model();
}

torch::Tensor upsample_to_input(const torch::Tensor& map, const torch::Tensor& input) {
  auto up = F::interpolate(map, F::InterpolateFuncOptions()
                                    .size(std::vector<int64_t>{input.size(2), input.size(3), input.size(4)})
                                    .mode(torch::kTrilinear)
                                    .align_corners(false));
  return up.expand({input.size(0), input.size(1), input.size(2), input.size(3), input.size(4)}).contiguous();
}

torch::Tensor mprotonet_map(nets::MProtoNet3DImpl& model, const torch::Tensor& input, const torch::Tensor& target) {
  check_target(input, target, model.num_classes());
  EvalModeGuard eval(model);
  torch::NoGradGuard no_grad;
  auto push = model.push_forward(input);
  auto maps = model.p_mode() >= 2 ? push.occurrence_maps : model.distance_to_similarity(push.distances);
  return own_class_mean(model, maps, input, target);
}

torch::Tensor gradcam(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target) {
  check_target(input, target, model.config().out_size);
  EvalModeGuard eval(model);
  torch::AutoGradMode grad_on(true);
  // The input requires grad so the conv output is part of the graph even if every parameter
  // is frozen.
  auto x = input.detach().clone().requires_grad_(true);
  auto out = model.forward_all(x);
  auto act = out.gradcam_activation;
  return gradcam_from(out, input, target);
}

ExplainedPrediction predict_and_explain(nets::ClassifierImpl& model, const torch::Tensor& input,
                                        const std::vector<MapMethod>& methods) {
  check(input.dim() == 5, "prediction input has shape " + c10::str(input.sizes()) + "; expected [N, C, D, H, W]");
  auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model);
  const bool wants_gradcam = std::find(methods.begin(), methods.end(), MapMethod::GradCAM) != methods.end();
  for (auto m : methods) {
    check(from_prediction_pass(m), "the prediction's pass gives the mprotonet and gradcam maps, not " +
                                       map_method_name(m) + " (compute it with compute_map)");
    check(method_applies(model, m), "the MProtoNet map needs a prototype model (MProtoNet3D_pmK), not " +
                                        model.config().model_name);
  }
  EvalModeGuard eval(model);
  torch::AutoGradMode grad_mode(wants_gradcam);
  // With GradCAM the pass is recorded; the input requires grad so the conv output is part of
  // the graph even if every parameter is frozen.
  auto x = wants_gradcam ? input.detach().clone().requires_grad_(true) : input;
  auto out = model.forward_all(x);
  ExplainedPrediction r;
  r.predicted = out.logits.detach().argmax(1);
  for (auto m : methods) {
    if (m == MapMethod::GradCAM) {
      r.maps.push_back(gradcam_from(out, input, r.predicted));
    } else if (proto->p_mode() >= 2) {
      r.maps.push_back(own_class_mean(*proto, out.occurrence_maps.detach(), input, r.predicted));
    } else {
      r.maps.push_back(mprotonet_map(*proto, input, r.predicted));
    }
  }
  r.logits = out.logits.detach().to(torch::kCPU).to(torch::kFloat);
  r.predicted = r.predicted.to(torch::kCPU);
  return r;
}

torch::Tensor attribute(nets::ClassifierImpl& model, MapMethod method, const torch::Tensor& input,
                        const torch::Tensor& target) {
  check(from_prediction_pass(method),
        "attribute() computes the mprotonet and gradcam maps, not " + map_method_name(method) + " (use compute_map)");
  if (method == MapMethod::GradCAM) return gradcam(model, input, target);
  auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model);
  check(proto != nullptr, "the MProtoNet map needs a prototype model (MProtoNet3D_pmK), not " + model.config().model_name);
  return mprotonet_map(*proto, input, target);
}

}  // namespace mprotonet::attribution
