// SPDX-License-Identifier: MIT
// 3D ResNet backbones (docs/method.md#backbone) and their receptive-field bookkeeping.
#include "mprotonet/nets/resnet3d.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include <torch/nn/init.h>

#include "mprotonet/core/error.h"
#include "mprotonet/core/torch_compat.h"
#include "mprotonet/nets/max_pool3d.h"

namespace mprotonet::nets {

namespace tnn = torch::nn;

const std::vector<BackboneSpec>& backbone_specs() {
  static const std::vector<BackboneSpec> specs = {
      {"resnet18_ri", BlockKind::Basic, {2, 2, 2, 2}},
      {"resnet34_ri", BlockKind::Basic, {3, 4, 6, 3}},
      {"resnet50_ri", BlockKind::Bottleneck, {3, 4, 6, 3}},
      {"resnet101_ri", BlockKind::Bottleneck, {3, 4, 23, 3}},
      {"resnet152_ri", BlockKind::Bottleneck, {3, 8, 36, 3}},
  };
  return specs;
}

const BackboneSpec& backbone_spec(const std::string& name) {
  std::ostringstream valid;
  for (const auto& spec : backbone_specs()) {
    if (spec.name == name) return spec;
    valid << (valid.tellp() > 0 ? ", " : "") << spec.name;
  }
  throw Error("unknown backbone \"" + name + "\"; expected one of: " + valid.str());
}

namespace {

Conv3dOneDnn conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return Conv3dOneDnn(in, out, kernel, stride, padding, /*bias=*/false);
}

tnn::Sequential make_downsample(int64_t in, int64_t out, int64_t stride) {
  tnn::Sequential seq;
  seq->push_back(conv(in, out, 1, stride, 0));
  seq->push_back(tnn::BatchNorm3d(out));
  return seq;
}

bool needs_downsample(int64_t in_planes, int64_t planes, int64_t expansion, int64_t stride) {
  return stride != 1 || in_planes != planes * expansion;
}

constexpr int64_t kStemChannels = 64;
constexpr std::array<int64_t, 4> kLayerPlanes = {64, 128, 256, 512};
constexpr int64_t kMaxChildren = 8;  // conv1, bn1, relu, maxpool, layer1..layer4

void check_options(const ResNet3dOptions& o) {
  backbone_spec(o.name);
  check(o.n_layers >= 2 && o.n_layers <= kMaxChildren,
        "n_layers = " + std::to_string(o.n_layers) +
            " is out of range; expected 2..8 (children conv1, bn1, relu, maxpool, layer1..layer4; "
            "at least conv1 and bn1 so the backbone ends with a BatchNorm)");
  check(o.in_channels >= 1, "in_channels = " + std::to_string(o.in_channels) + "; expected >= 1");
}

}  // namespace

Conv3dOneDnnImpl::Conv3dOneDnnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                                   bool bias)
    : torch::nn::Conv3dImpl(tnn::Conv3dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias)),
      stride_(3, stride),
      padding_(3, padding) {}

bool onednn_conv_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("MPROTONET_CONV");
    return !(v && std::string(v) == "torch");
  }();
  return enabled;
}

torch::Tensor Conv3dOneDnnImpl::forward(const torch::Tensor& input) {
  if (onednn_conv_enabled() && at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() && input.is_cpu() && input.dim() == 5 &&
      input.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat && !compat::cpu_autocast_enabled()) {
    return at::mkldnn_convolution(input.is_contiguous() ? input : input.contiguous(), weight,
                                  bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt, padding_, stride_,
                                  /*dilation=*/{1, 1, 1}, /*groups=*/1);
  }
  return torch::nn::Conv3dImpl::forward(input);
}

BasicBlock3dImpl::BasicBlock3dImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in_planes, planes, 3, stride, 1));
  bn1 = register_module("bn1", tnn::BatchNorm3d(planes));
  relu = register_module("relu", tnn::ReLU(tnn::ReLUOptions(true)));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
  bn2 = register_module("bn2", tnn::BatchNorm3d(planes));
  if (needs_downsample(in_planes, planes, expansion, stride))
    downsample = register_module("downsample", make_downsample(in_planes, planes * expansion, stride));
}

torch::Tensor BasicBlock3dImpl::forward(torch::Tensor x) {
  auto identity = downsample ? downsample->forward(x) : x;
  auto out = relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  out += identity;
  return relu(out);
}

Bottleneck3dImpl::Bottleneck3dImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in_planes, planes, 1, 1, 0));
  bn1 = register_module("bn1", tnn::BatchNorm3d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
  bn2 = register_module("bn2", tnn::BatchNorm3d(planes));
  conv3 = register_module("conv3", conv(planes, planes * expansion, 1, 1, 0));
  bn3 = register_module("bn3", tnn::BatchNorm3d(planes * expansion));
  relu = register_module("relu", tnn::ReLU(tnn::ReLUOptions(true)));
  if (needs_downsample(in_planes, planes, expansion, stride))
    downsample = register_module("downsample", make_downsample(in_planes, planes * expansion, stride));
}

torch::Tensor Bottleneck3dImpl::forward(torch::Tensor x) {
  auto identity = downsample ? downsample->forward(x) : x;
  auto out = relu(bn1(conv1(x)));
  out = relu(bn2(conv2(out)));
  out = bn3(conv3(out));
  out += identity;
  return relu(out);
}

torch::nn::Sequential make_resnet3d(const ResNet3dOptions& o) {
  check_options(o);
  const BackboneSpec& spec = backbone_spec(o.name);
  tnn::Sequential seq;
  seq->push_back("conv1", conv(o.in_channels, kStemChannels, 7, 2, 3));
  seq->push_back("bn1", tnn::BatchNorm3d(kStemChannels));
  if (o.n_layers >= 3) seq->push_back("relu", tnn::ReLU(tnn::ReLUOptions(true)));
  if (o.n_layers >= 4)
    seq->push_back("maxpool", MaxPool3d(3, 2, 1));
  int64_t in_planes = kStemChannels;
  for (int layer = 0; layer < 4 && 5 + layer <= o.n_layers; ++layer) {
    const int64_t planes = kLayerPlanes[layer];
    const int64_t stride = layer == 0 ? 1 : 2;
    ResLayer blocks;
    for (int64_t b = 0; b < spec.blocks[layer]; ++b) {
      const int64_t s = b == 0 ? stride : 1;
      if (spec.block == BlockKind::Basic) {
        blocks->push_back(BasicBlock3d(in_planes, planes, s));
        in_planes = planes * BasicBlock3dImpl::expansion;
      } else {
        blocks->push_back(Bottleneck3d(in_planes, planes, s));
        in_planes = planes * Bottleneck3dImpl::expansion;
      }
    }
    seq->push_back("layer" + std::to_string(layer + 1), blocks);
  }
  return seq;
}

int64_t resnet3d_out_channels(const ResNet3dOptions& o) {
  check_options(o);
  const BackboneSpec& spec = backbone_spec(o.name);
  const int64_t expansion = spec.block == BlockKind::Basic ? 1 : 4;
  const int64_t layers = o.n_layers - 4;
  return layers <= 0 ? kStemChannels : kLayerPlanes[layers - 1] * expansion;
}

namespace {

struct KernelStep {
  int64_t kernel, stride, padding;
};

// The reference's conv_info: convs and pools in module order, without 1x1 stride-2 convs.
std::vector<KernelStep> main_path_steps(const ResNet3dOptions& o) {
  check_options(o);
  const BackboneSpec& spec = backbone_spec(o.name);
  std::vector<KernelStep> steps{{7, 2, 3}};
  if (o.n_layers >= 4) steps.push_back({3, 2, 1});
  int64_t in_planes = kStemChannels;
  for (int layer = 0; layer < 4 && 5 + layer <= o.n_layers; ++layer) {
    const int64_t planes = kLayerPlanes[layer];
    for (int64_t b = 0; b < spec.blocks[layer]; ++b) {
      const int64_t s = b == 0 ? (layer == 0 ? 1 : 2) : 1;
      const int64_t expansion = spec.block == BlockKind::Basic ? 1 : 4;
      if (spec.block == BlockKind::Basic) {
        steps.push_back({3, s, 1});
        steps.push_back({3, 1, 1});
      } else {
        steps.push_back({1, 1, 0});
        steps.push_back({3, s, 1});
        steps.push_back({1, 1, 0});
      }
      if (needs_downsample(in_planes, planes, expansion, s) && s != 2) steps.push_back({1, s, 0});
      in_planes = planes * expansion;
    }
  }
  return steps;
}

}  // namespace

AxisReceptiveField receptive_field_axis(const ResNet3dOptions& o, int64_t input_size) {
  AxisReceptiveField rf;
  rf.size = input_size;
  for (const KernelStep& st : main_path_steps(o)) {
    // ProtoPNet's compute_layer_rf_info with an integer padding on each side.
    const int64_t pad = 2 * st.padding;
    const auto n_out = static_cast<int64_t>(
        std::floor(static_cast<double>(rf.size - st.kernel + pad) / static_cast<double>(st.stride))) + 1;
    rf.start += ((st.kernel - 1) / 2.0 - std::floor(pad / 2.0)) * static_cast<double>(rf.jump);
    rf.rf_size += (st.kernel - 1) * rf.jump;
    rf.jump *= st.stride;
    rf.size = n_out;
  }
  // The prototype layer itself (1x1x1, 'VALID') leaves the record unchanged.
  return rf;
}

std::pair<int64_t, int64_t> receptive_field_span(const AxisReceptiveField& rf, int64_t index,
                                                 int64_t input_size) {
  check(index >= 0 && index < rf.size, "feature voxel index " + std::to_string(index) +
                                           " is outside the feature map of size " + std::to_string(rf.size));
  const double centre = rf.start + static_cast<double>(index * rf.jump);
  const auto begin = std::max<int64_t>(static_cast<int64_t>(centre - rf.rf_size / 2.0), 0);
  const auto end = std::min<int64_t>(static_cast<int64_t>(centre + rf.rf_size / 2.0), input_size);
  return {begin, end};
}

void init_kaiming_fan_out(torch::nn::Module& module, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto* c = m->as<tnn::Conv3d>()) {
      const auto& w = c->weight;
      const double fan_out = static_cast<double>(w.size(0) * (w.numel() / (w.size(0) * w.size(1))));
      const double std = std::sqrt(2.0) / std::sqrt(fan_out);
      w.normal_(0.0, std, generator);
      if (c->bias.defined()) c->bias.zero_();
    }
  }
}

}  // namespace mprotonet::nets
