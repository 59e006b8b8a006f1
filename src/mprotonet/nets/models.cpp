// SPDX-License-Identifier: MIT
// CNN3D and MProtoNet3D_pmK forward passes, initialisation and the pieces the losses, push and
// explanations reuse.
#include "mprotonet/nets/models.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/normalization.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "mprotonet/core/error.h"
#include "mprotonet/nets/resnet3d.h"

namespace mprotonet::nets {

namespace tnn = torch::nn;
namespace F = torch::nn::functional;

namespace {

Conv3dOneDnn conv1x1(int64_t in, int64_t out) { return Conv3dOneDnn(in, out, 1, 1, 0, /*bias=*/false); }

// Runs children [begin, end) of a Sequential; stores child `capture_index`'s output in *capture.
torch::Tensor run_range(tnn::Sequential seq, torch::Tensor x, size_t begin, size_t end,
                        size_t capture_index = SIZE_MAX, torch::Tensor* capture = nullptr) {
  for (size_t i = begin; i < end; ++i) {
    x = (seq->begin() + static_cast<std::ptrdiff_t>(i))->forward(x);
    if (i == capture_index && capture) *capture = x;
  }
  return x;
}

constexpr size_t kSecondConv = 3;  // index of the second 1x1x1 conv in add_ons and p_map
constexpr double kSoftMaskOmega = 10.0, kSoftMaskSigma = 0.5;

void check_input(const torch::Tensor& x, const ModelConfig& c) {
  check(x.dim() == 5 && x.size(1) == c.in_size[0],
        "model input has shape " + c10::str(x.sizes()) + "; expected [N, " + std::to_string(c.in_size[0]) +
            ", D, H, W]");
}

// LibTorch's own Linear init is kaiming_uniform(a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void init_linear_default(tnn::Linear& lin, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(lin->weight.size(1)));
  lin->weight.uniform_(-bound, bound, gen);
}

}  // namespace

ClassifierImpl::ClassifierImpl(std::string name, ModelConfig config)
    : torch::nn::Module(std::move(name)), config_(std::move(config)) {
  validate(config_);
}

// ---------------------------------------------------------------------------------- CNN3D
CNN3DImpl::CNN3DImpl(const ModelConfig& config) : ClassifierImpl("CNN3D", config) {
  check(!config_.is_prototype_model(), "CNN3DImpl built from model_name " + config_.model_name);
  constexpr int64_t kWidth = 128;
  const int64_t channels = resnet3d_out_channels(config_.backbone());
  features = register_module("features", make_resnet3d(config_.backbone()));
  add_ons = register_module(
      "add_ons", tnn::Sequential(conv1x1(channels, kWidth), tnn::BatchNorm3d(kWidth), tnn::ReLU(tnn::ReLUOptions(true)),
                                 conv1x1(kWidth, kWidth), tnn::BatchNorm3d(kWidth), tnn::ReLU(tnn::ReLUOptions(true)),
                                 tnn::AdaptiveAvgPool3d(tnn::AdaptiveAvgPool3dOptions(1)),
                                 tnn::Flatten(tnn::FlattenOptions().start_dim(1))));
  fc = register_module("fc", tnn::Linear(tnn::LinearOptions(kWidth, config_.out_size).bias(false)));
}

ModelOutput CNN3DImpl::forward_all(const torch::Tensor& input) {
  check_input(input, config_);
  ModelOutput out;
  out.backbone_features = features->forward(input);
  auto pooled = run_range(add_ons, out.backbone_features, 0, add_ons->size(), kSecondConv, &out.gradcam_activation);
  out.logits = fc(pooled);
  return out;
}

tnn::Conv3d CNN3DImpl::gradcam_layer() const {
  return tnn::Conv3d(std::dynamic_pointer_cast<tnn::Conv3dImpl>(add_ons->ptr(kSecondConv)));
}

// ---------------------------------------------------------------------------- MProtoNet3D
MProtoNet3DImpl::MProtoNet3DImpl(const ModelConfig& config) : ClassifierImpl("MProtoNet3D", config) {
  check(config_.is_prototype_model(), "MProtoNet3DImpl built from model_name " + config_.model_name);
  const int64_t P = config_.prototype_shape[0], D = config_.prototype_shape[1];
  const int64_t classes = config_.out_size;
  const std::vector<int64_t> shape(config_.prototype_shape.begin(), config_.prototype_shape.end());

  // Registration order follows the reference's __init__.
  auto identity = torch::zeros({P, classes});
  const int64_t per_class = P / classes;
  for (int64_t j = 0; j < P; ++j) identity[j][j / per_class] = 1;
  prototype_class_identity = register_buffer("prototype_class_identity", identity);

  const int64_t channels = resnet3d_out_channels(config_.backbone());
  features = register_module("features", make_resnet3d(config_.backbone()));
  add_ons = register_module(
      "add_ons", tnn::Sequential(conv1x1(channels, D), tnn::BatchNorm3d(D), tnn::ReLU(tnn::ReLUOptions(true)),
                                 conv1x1(D, D), tnn::BatchNorm3d(D), tnn::Sigmoid()));
  rf_ = nets::receptive_fields(config_);
  prototype_vectors = register_parameter("prototype_vectors", torch::rand(shape));
  ones = register_buffer("ones", torch::ones(shape));
  if (p_mode() >= 1) topk_ = topk_count(config_);
  if (p_mode() >= 2)
    p_map = register_module(
        "p_map", tnn::Sequential(conv1x1(channels, D), tnn::BatchNorm3d(D), tnn::ReLU(tnn::ReLUOptions(true)),
                                 conv1x1(D, P), tnn::BatchNorm3d(P), tnn::Sigmoid()));
  last_layer = register_module("last_layer", tnn::Linear(tnn::LinearOptions(P, classes).bias(false)));
}

tnn::Conv3d MProtoNet3DImpl::gradcam_layer() const {
  const auto& seq = p_mode() >= 2 ? p_map : add_ons;
  return tnn::Conv3d(std::dynamic_pointer_cast<tnn::Conv3dImpl>(seq->ptr(kSecondConv)));
}

torch::Tensor MProtoNet3DImpl::occurrence_head_without_activation(const torch::Tensor& x, torch::Tensor* capture) {
  check(p_mode() >= 2, "the occurrence head exists only for p_mode >= 2");
  return run_range(p_map, x, 0, p_map->size() - 1, kSecondConv, capture);
}

torch::Tensor MProtoNet3DImpl::occurrence_maps(const torch::Tensor& x, torch::Tensor* capture) {
  check(p_mode() >= 2, "occurrence maps exist only for p_mode >= 2");
  if (p_mode() == 3 || p_mode() == 5) return soft_mask(occurrence_head_without_activation(x, capture));
  return run_range(p_map, x, 0, p_map->size(), kSecondConv, capture);
}

torch::Tensor MProtoNet3DImpl::soft_mask(const torch::Tensor& head) {
  auto m = torch::relu(head);
  const std::vector<int64_t> dims{1, 2, 3, 4};
  m = m - m.amin(dims, /*keepdim=*/true);
  m = m / m.amax(dims, /*keepdim=*/true).clamp_min(kEpsilon);
  return torch::sigmoid(kSoftMaskOmega * (m - kSoftMaskSigma));
}

torch::Tensor MProtoNet3DImpl::occurrence_hidden(const torch::Tensor& x) {
  check(p_mode() >= 2, "the occurrence head exists only for p_mode >= 2");
  return run_range(p_map, x, 0, kSecondConv);
}

torch::Tensor MProtoNet3DImpl::lse_pooling(const torch::Tensor& x, double r, int64_t dim) {
  const auto n = static_cast<double>(x.size(dim));
  return (torch::logsumexp(r * x, dim) - std::log(n)) / r;
}

torch::Tensor MProtoNet3DImpl::online_cam_logits(const torch::Tensor& x) {
  auto pooled = lse_pooling(occurrence_hidden(x).flatten(2));                    // [B, D]
  const auto& w = gradcam_layer()->weight;                                       // [P, D, 1, 1, 1]
  return last_layer(torch::matmul(pooled, w.flatten(1).transpose(0, 1)));        // [B, classes]
}

torch::Tensor MProtoNet3DImpl::voxel_distances(const torch::Tensor& f) {
  if (config_.f_dist == "l2") {
    auto x2 = F::conv3d(f * f, ones);
    auto xp = F::conv3d(f, prototype_vectors);
    auto p2 = (prototype_vectors * prototype_vectors).sum({1, 2, 3, 4}).reshape({-1, 1, 1, 1});
    return torch::relu(x2 - 2 * xp + p2);
  }
  auto f_unit = F::normalize(f, F::NormalizeFuncOptions().p(2).dim(1));
  auto p_unit = F::normalize(prototype_vectors, F::NormalizeFuncOptions().p(2).dim(1));
  return torch::relu(1 - F::conv3d(f_unit, p_unit));
}

torch::Tensor MProtoNet3DImpl::pooled_features(const torch::Tensor& f, const torch::Tensor& maps) {
  const auto n = static_cast<double>(f.flatten(2).size(2));
  return torch::einsum("bphwa,bchwa->bpc", {maps, f}) / n;
}

torch::Tensor MProtoNet3DImpl::pooled_distances(const torch::Tensor& g) {
  auto p = prototype_vectors.flatten(1);  // [P, D]
  if (config_.f_dist == "l2") {
    auto x2 = (g * g).sum(2);
    auto xp = (g * p).sum(2);
    auto p2 = (p * p).sum(1);
    return torch::relu(x2 - 2 * xp + p2);
  }
  auto g_unit = F::normalize(g, F::NormalizeFuncOptions().p(2).dim(2));
  auto p_unit = F::normalize(p, F::NormalizeFuncOptions().p(2).dim(1));
  return torch::relu(1 - (g_unit * p_unit).sum(2));
}

torch::Tensor MProtoNet3DImpl::distance_to_similarity(const torch::Tensor& d) const {
  if (config_.f_dist == "cos") return torch::relu(1 - d);
  if (config_.prototype_activation_function == "log") return torch::log((d + 1) / (d + kEpsilon));
  return -d;
}

torch::Tensor MProtoNet3DImpl::reduce_voxel_distances(const torch::Tensor& d) const {
  auto flat = d.flatten(2);
  if (p_mode() == 1) {
    check(flat.size(2) >= topk_, "the feature map has " + std::to_string(flat.size(2)) +
                                     " voxels, fewer than top-k k = " + std::to_string(topk_) +
                                     " fixed by in_size; use an input of the configured size");
    return std::get<0>(flat.topk(topk_, 2, /*largest=*/false)).mean(2);
  }
  return flat.amin(2);
}

ModelOutput MProtoNet3DImpl::forward_all(const torch::Tensor& input) {
  check_input(input, config_);
  ModelOutput out;
  out.backbone_features = features->forward(input);
  const bool maps = p_mode() >= 2;
  out.add_on_features = run_range(add_ons, out.backbone_features, 0, add_ons->size(), kSecondConv,
                                  maps ? nullptr : &out.gradcam_activation);
  if (maps) {
    out.occurrence_maps = occurrence_maps(out.backbone_features, &out.gradcam_activation);
    out.min_distances = pooled_distances(pooled_features(out.add_on_features, out.occurrence_maps));
  } else {
    out.min_distances = reduce_voxel_distances(voxel_distances(out.add_on_features));
  }
  out.logits = last_layer(distance_to_similarity(out.min_distances));
  return out;
}

PushOutput MProtoNet3DImpl::push_forward(const torch::Tensor& input) {
  check_input(input, config_);
  PushOutput out;
  auto x = features->forward(input);
  auto f = add_ons->forward(x);
  if (p_mode() >= 2) {
    out.occurrence_maps = occurrence_maps(x);
    out.latent = pooled_features(f, out.occurrence_maps);
    out.distances = pooled_distances(out.latent);
  } else {
    out.latent = f;
    out.distances = voxel_distances(f);
  }
  return out;
}

torch::Tensor MProtoNet3DImpl::similarity_maps(const torch::Tensor& input) {
  check(p_mode() < 2, "per-voxel similarity maps exist only for p_mode < 2");
  return distance_to_similarity(push_forward(input).distances);
}

void MProtoNet3DImpl::set_last_layer_incorrect_connection(double incorrect_strength) {
  torch::NoGradGuard no_grad;
  auto positive = prototype_class_identity.transpose(0, 1);
  last_layer->weight.copy_(positive + incorrect_strength * (1 - positive));
}

// ------------------------------------------------------------------------------- factory
Classifier build_model(const ModelConfig& config, uint64_t seed) {
  validate(config);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  if (!config.is_prototype_model()) {
    auto m = std::make_shared<CNN3DImpl>(config);
    if (config.init_weights) {
      init_kaiming_fan_out(*m->features, gen);
      init_kaiming_fan_out(*m->add_ons, gen);
      init_linear_default(m->fc, gen);
    }
    return m;
  }
  auto m = std::make_shared<MProtoNet3DImpl>(config);
  if (config.init_weights) {
    init_kaiming_fan_out(*m->features, gen);
    init_kaiming_fan_out(*m->add_ons, gen);
    if (m->p_map) init_kaiming_fan_out(*m->p_map, gen);
    m->set_last_layer_incorrect_connection(-0.5);
  }
  torch::NoGradGuard no_grad;  // the reference draws the prototypes uniform [0, 1) in any case
  m->prototype_vectors.uniform_(0.0, 1.0, gen);
  return m;
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters())
    if (p.requires_grad()) n += p.numel();
  return n;
}

}  // namespace mprotonet::nets
