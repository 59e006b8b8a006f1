// SPDX-License-Identifier: MIT
// Dispatcher over the docs/method.md#explanations attribution methods.
#include "mprotonet/attribution/methods.h"

#include "mprotonet/attribution/attribution.h"
#include "mprotonet/attribution/guided.h"
#include "mprotonet/core/error.h"

namespace mprotonet::attribution {

torch::Tensor compute_map(nets::ClassifierImpl& model, MapMethod method, const torch::Tensor& input,
                          const torch::Tensor& target, const MapOptions& options) {
  switch (method) {
    case MapMethod::MProtoNet: return attribute(model, MapMethod::MProtoNet, input, target);
    case MapMethod::GradCAM: return gradcam(model, input, target);
    case MapMethod::GuidedGradCAM: return guided_gradcam(model, input, target);
    case MapMethod::Deconvolution: return deconvolution(model, input, target);
    case MapMethod::Occlusion: return occlusion(model, input, target, options.occlusion);
  }
  throw Error("invalid attribution method value " + std::to_string(static_cast<int>(method)));
}

}  // namespace mprotonet::attribution
