// SPDX-License-Identifier: MIT
// Gradient attributions with a modified ReLU backward (docs/method.md#explanations):
// - Guided backpropagation (Springenberg et al., "Striving for Simplicity", ICLR 2015 workshop):
//   at every ReLU module, grad_in = (x > 0) * relu(grad_out).
// - Deconvolution (Zeiler & Fergus, ECCV 2014): grad_in = relu(grad_out), ignoring the forward mask.
// - Guided GradCAM (Selvaraju et al., ICCV 2017): guided backpropagation x upsampled GradCAM.
// As in the reference (captum hooks on nn.ReLU modules), only the networks' ReLU *modules*
// (backbone, add-ons, occurrence head) follow the rule; the functional ReLUs of the prototype
// head (distances, similarities, soft masking) keep their ordinary gradient. LibTorch modules
// have no backward hooks, so the pass re-runs the model's forward with a custom autograd ReLU in
// place of each ReLU module (forward_with_relu_rule); with ReluRule::Standard it reproduces
// model.forward exactly, which the tests check for every model kind.
#pragma once

#include <torch/types.h>

#include "mprotonet/nets/models.h"

namespace mprotonet::attribution {

/// Backward rule of the ReLU modules during one attribution pass.
enum class ReluRule { Standard, Guided, Deconvolution };

/// relu(x) whose backward follows `rule` (the building block, exposed for tests).
torch::Tensor relu_with_rule(const torch::Tensor& x, ReluRule rule);

/// Logits [N, classes] of `model` (in its current train/eval mode) with the ReLU modules' backward
/// replaced by `rule`. Handles CNN3D and MProtoNet3D with BasicBlock / Bottleneck backbones.
torch::Tensor forward_with_relu_rule(nets::ClassifierImpl& model, const torch::Tensor& input, ReluRule rule);

/// d(target logit)/d(input) under `rule`, [N, C, D, H, W]; `target` int64 [N]. Evaluation mode
/// for the call (restored afterwards).
torch::Tensor relu_rule_gradient(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target,
                                 ReluRule rule);

/// Guided backpropagation map [N, C, D, H, W] (signed, not rectified, as captum returns it).
torch::Tensor guided_backprop(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target);

/// Deconvolution map [N, C, D, H, W] (signed).
torch::Tensor deconvolution(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target);

/// Guided GradCAM: guided_backprop * gradcam (GradCAM upsampled trilinearly and repeated over C).
torch::Tensor guided_gradcam(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target);

}  // namespace mprotonet::attribution
