// SPDX-License-Identifier: MIT
// Guided backpropagation, Deconvolution and Guided GradCAM (docs/method.md#explanations) via a re-run of the model's
// forward with a custom autograd ReLU standing in for each ReLU module.
#include "mprotonet/attribution/guided.h"

#include <torch/autograd.h>
#include <torch/nn/modules/activation.h>

#include "mprotonet/attribution/attribution.h"
#include "mprotonet/core/error.h"
#include "mprotonet/nets/resnet3d.h"

namespace mprotonet::attribution {

namespace tnn = torch::nn;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

// ReLU whose backward follows the guided (mask and rectify) or deconvolution (rectify only) rule.
struct RuleReLU : public torch::autograd::Function<RuleReLU> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, bool guided) {
    auto out = torch::relu(x);
    ctx->save_for_backward({out});
    ctx->saved_data["guided"] = guided;
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto grad = grad_out[0].clamp_min(0);
    if (ctx->saved_data["guided"].toBool()) {
      auto out = ctx->get_saved_variables()[0];
      grad = grad * (out > 0).to(grad.scalar_type());
    }
    return {grad, torch::Tensor()};
  }
};

torch::Tensor apply_relu(const torch::Tensor& x, ReluRule rule) { return relu_with_rule(x, rule); }

torch::Tensor run_sequential(tnn::SequentialImpl& seq, torch::Tensor x, ReluRule rule, size_t begin, size_t end);

torch::Tensor run_sequential(tnn::SequentialImpl& seq, torch::Tensor x, ReluRule rule) {
  return run_sequential(seq, std::move(x), rule, 0, seq.size());
}

torch::Tensor run_basic(nets::BasicBlock3dImpl& b, const torch::Tensor& x, ReluRule rule) {
  auto identity = b.downsample ? run_sequential(*b.downsample, x, rule) : x;
  auto out = apply_relu(b.bn1(b.conv1(x)), rule);
  out = b.bn2(b.conv2(out));
  return apply_relu(out + identity, rule);
}

torch::Tensor run_bottleneck(nets::Bottleneck3dImpl& b, const torch::Tensor& x, ReluRule rule) {
  auto identity = b.downsample ? run_sequential(*b.downsample, x, rule) : x;
  auto out = apply_relu(b.bn1(b.conv1(x)), rule);
  out = apply_relu(b.bn2(b.conv2(out)), rule);
  out = b.bn3(b.conv3(out));
  return apply_relu(out + identity, rule);
}

torch::Tensor run_sequential(tnn::SequentialImpl& seq, torch::Tensor x, ReluRule rule, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    auto& any = *(seq.begin() + static_cast<std::ptrdiff_t>(i));
    auto module = any.ptr();
    if (dynamic_cast<tnn::ReLUImpl*>(module.get())) {
      x = apply_relu(x, rule);
    } else if (auto* basic = dynamic_cast<nets::BasicBlock3dImpl*>(module.get())) {
      x = run_basic(*basic, x, rule);
    } else if (auto* bottleneck = dynamic_cast<nets::Bottleneck3dImpl*>(module.get())) {
      x = run_bottleneck(*bottleneck, x, rule);
    } else if (auto* nested = dynamic_cast<tnn::SequentialImpl*>(module.get())) {
      x = run_sequential(*nested, x, rule);
    } else {
      // Anything else must hold no ReLU module, or the rule would silently not apply to it.
      for (const auto& sub : module->modules(/*include_self=*/true))
        check(dynamic_cast<tnn::ReLUImpl*>(sub.get()) == nullptr,
              "guided backpropagation cannot reach the ReLU inside module " + module->name());
      x = any.forward(x);
    }
  }
  return x;
}

torch::Tensor proto_forward(nets::MProtoNet3DImpl& m, const torch::Tensor& input, ReluRule rule) {
  auto x = run_sequential(*m.features, input, rule);
  auto f = run_sequential(*m.add_ons, x, rule);
  torch::Tensor min_distances;
  if (m.p_mode() >= 2) {
    torch::Tensor maps;
    if (m.p_mode() == 3 || m.p_mode() == 5) {
      // The soft mask's ReLU is functional, not a module, so it keeps the standard rule.
      maps = nets::MProtoNet3DImpl::soft_mask(run_sequential(*m.p_map, x, rule, 0, m.p_map->size() - 1));
    } else {
      maps = run_sequential(*m.p_map, x, rule);
    }
    min_distances = m.pooled_distances(nets::MProtoNet3DImpl::pooled_features(f, maps));
  } else {
    min_distances = m.reduce_voxel_distances(m.voxel_distances(f));
  }
  return m.last_layer(m.distance_to_similarity(min_distances));
}


}  // namespace

torch::Tensor relu_with_rule(const torch::Tensor& x, ReluRule rule) {
  if (rule == ReluRule::Standard) return torch::relu(x);
  return RuleReLU::apply(x, rule == ReluRule::Guided);
}

torch::Tensor forward_with_relu_rule(nets::ClassifierImpl& model, const torch::Tensor& input, ReluRule rule) {
  check(input.dim() == 5, "attribution input has shape " + c10::str(input.sizes()) + "; expected [N, C, D, H, W]");
  if (auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model)) return proto_forward(*proto, input, rule);
  auto* cnn = dynamic_cast<nets::CNN3DImpl*>(&model);
  check(cnn != nullptr, "guided backpropagation supports CNN3D and MProtoNet3D, not " + model.config().model_name);
  auto x = run_sequential(*cnn->features, input, rule);
  x = run_sequential(*cnn->add_ons, x, rule);
  return cnn->fc(x);
}

torch::Tensor relu_rule_gradient(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target,
                                 ReluRule rule) {
  check(input.dim() == 5, "attribution input has shape " + c10::str(input.sizes()) + "; expected [N, C, D, H, W]");
  check(target.dim() == 1 && target.size(0) == input.size(0) && !target.is_floating_point(),
        "attribution target has shape " + c10::str(target.sizes()) + "; expected one class index per sample [" +
            std::to_string(input.size(0)) + "]");
  EvalModeGuard eval(model);
  torch::AutoGradMode grad_on(true);
  auto x = input.detach().clone().requires_grad_(true);
  auto logits = forward_with_relu_rule(model, x, rule);
  if (target.numel() > 0)
    check(target.min().item<int64_t>() >= 0 && target.max().item<int64_t>() < logits.size(1),
          "attribution target holds a class outside 0.." + std::to_string(logits.size(1) - 1));
  auto selected = logits.gather(1, target.to(torch::kLong).to(logits.device()).unsqueeze(1)).sum();
  return torch::autograd::grad({selected}, {x})[0].detach();
}

torch::Tensor guided_backprop(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target) {
  return relu_rule_gradient(model, input, target, ReluRule::Guided);
}

torch::Tensor deconvolution(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target) {
  return relu_rule_gradient(model, input, target, ReluRule::Deconvolution);
}

torch::Tensor guided_gradcam(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target) {
  return guided_backprop(model, input, target) * gradcam(model, input, target);
}

}  // namespace mprotonet::attribution
