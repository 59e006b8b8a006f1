// SPDX-License-Identifier: MIT
// Attribution maps of docs/method.md#explanations for a target class per sample, upsampled trilinearly to the input
// size and repeated over the input channels: [N, C, D, H, W].
// - MProtoNet map (Wei et al., MIDL 2023): occurrence maps (p_mode >= 2) or per-voxel
//   similarity maps (p_mode < 2), masked to the target class's prototypes, mean over P.
// - GradCAM (Selvaraju et al., ICCV 2017) on the model's last Conv3d in registration order.
// The model is switched to evaluation mode for the call and restored afterwards.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "mprotonet/nets/models.h"

namespace mprotonet::attribution {

/// Evaluation mode for the duration of one attribution, restoring the caller's mode on exit.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& m) : module_(m), was_training_(m.is_training()) { m.eval(); }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

/// Every attribution method of docs/method.md#explanations. The MProtoNet map and GradCAM are computed here (and
/// come out of the prediction's own forward pass in predict_and_explain); the others are in
/// guided.h and occlusion.h, and methods.h dispatches over all of them.
enum class MapMethod { MProtoNet, GradCAM, GuidedGradCAM, Deconvolution, Occlusion };

/// Command-line names, in this order: mprotonet, gradcam, guided-gradcam, deconvolution, occlusion.
const std::vector<std::string>& map_method_names();
std::string map_method_name(MapMethod method);
/// Parses a name; Error listing the valid names when unknown.
MapMethod parse_map_method(const std::string& name);
/// Parses a comma-separated list ("mprotonet,gradcam"); Error on an unknown or repeated name.
std::vector<MapMethod> parse_map_methods(const std::string& list);
/// The comma-separated list parse_map_methods reads back ("mprotonet,gradcam").
std::string map_method_list(const std::vector<MapMethod>& methods);
/// Whether predict_and_explain and attribute() compute `method` (the MProtoNet map, GradCAM).
bool from_prediction_pass(MapMethod method);
/// Whether `method` applies to `model` (the MProtoNet map needs a prototype model).
bool method_applies(const nets::ClassifierImpl& model, MapMethod method);

/// [N, 1, d, h, w] map -> [N, C, D, H, W] (trilinear, align_corners false, repeated over C).
torch::Tensor upsample_to_input(const torch::Tensor& map, const torch::Tensor& input);

/// MProtoNet map; `target` is an int64 [N] class index per sample. Prototype models only.
torch::Tensor mprotonet_map(nets::MProtoNet3DImpl& model, const torch::Tensor& input, const torch::Tensor& target);

/// GradCAM at model.gradcam_layer() for the target logit of each sample (ReLU applied).
torch::Tensor gradcam(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target);

/// Probabilities and maps of a batch computed from ONE forward pass per call (the backbone runs
/// once whatever the methods), for the predicted class, as `mprotonet predict` reports them.
struct ExplainedPrediction {
  torch::Tensor logits;             ///< [N, classes] float32, CPU
  torch::Tensor predicted;          ///< int64 [N], arg-max of the logits (class 1 = HGG)
  std::vector<torch::Tensor> maps;  ///< one [N, C, D, H, W] map per requested method, in order
};
/// Equal (to float rounding) to nets::predict followed by attribute() per method with the
/// predicted class, which costs one backbone pass per output; here the MProtoNet map of
/// p_mode >= 2 and GradCAM come from the pass that gives the logits (p_mode < 2 similarity maps
/// still take a second pass). Model in evaluation mode for the call. Error for a method that is
/// not from_prediction_pass() or does not apply to the model.
ExplainedPrediction predict_and_explain(nets::ClassifierImpl& model, const torch::Tensor& input,
                                        const std::vector<MapMethod>& methods);
/// The MProtoNet map or GradCAM for `target`; Error for another method (see methods.h's
/// compute_map) or when the method does not apply to the model.
torch::Tensor attribute(nets::ClassifierImpl& model, MapMethod method, const torch::Tensor& input,
                        const torch::Tensor& target);

}  // namespace mprotonet::attribution
