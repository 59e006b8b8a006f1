// SPDX-License-Identifier: MIT
// 3D ResNet backbones with random initialisation ("resnet18_ri" ... "resnet152_ri", docs/method.md#backbone):
// the torchvision ResNet topology (He et al., "Deep Residual Learning for Image Recognition",
// CVPR 2016) with every 2D op replaced by its 3D counterpart, truncated to the first n_layers
// children (conv1, bn1, relu, maxpool, layer1..layer4), plus the ProtoPNet-style receptive-field
// bookkeeping per spatial axis. Module names equal the reference's state_dict keys.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace mprotonet::nets {

/// Which residual block a backbone uses.
enum class BlockKind { Basic, Bottleneck };

/// Description of one of the five backbones (torchvision's layer counts).
struct BackboneSpec {
  std::string name;                  ///< e.g. "resnet152_ri"
  BlockKind block = BlockKind::Basic;
  std::array<int64_t, 4> blocks{};   ///< residual blocks in layer1..layer4
};

/// The valid backbone names, in order ("resnet18_ri, resnet34_ri, ...").
const std::vector<BackboneSpec>& backbone_specs();
/// Looks up a backbone by name; Error listing the valid names when unknown.
const BackboneSpec& backbone_spec(const std::string& name);

/// Options of a truncated 3D ResNet feature extractor.
struct ResNet3dOptions {
  /// Backbone name, one of backbone_specs(); default "resnet152_ri" (the paper's).
  std::string name = "resnet152_ri";
  /// Children kept in the order conv1, bn1, relu, maxpool, layer1..layer4; 2..8; default 6.
  int64_t n_layers = 6;
  /// Input channels (T1, T1CE, T2, FLAIR); default 4.
  int64_t in_channels = 4;
};

/// A bias-free-or-not Conv3d (zero padding) whose CPU fp32 forward always runs oneDNN's
/// convolution. LibTorch 1.13 picks the convolution backend with a heuristic written for 2D:
/// it multiplies the first four sizes of the input and, for most 3D convs of one case (and for
/// 1x1x1 convs on one thread), falls back to slow_conv3d (vol2col + GEMM), which is 10x slower
/// on this project's CPUs. Same parameters and state_dict names as torch::nn::Conv3d and the same
/// numbers to float rounding; other devices, dtypes and autocast regions take LibTorch's path.
class Conv3dOneDnnImpl : public torch::nn::Conv3dImpl {
 public:
  Conv3dOneDnnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool bias);
  torch::Tensor forward(const torch::Tensor& input);

 private:
  std::vector<int64_t> stride_, padding_;
};
TORCH_MODULE(Conv3dOneDnn);

/// False when the environment sets MPROTONET_CONV=torch (LibTorch's own backend choice, for
/// benchmarks and diagnosis); read once.
bool onednn_conv_enabled();

/// torchvision BasicBlock in 3D: two 3x3x3 convs, stride on the first.
class BasicBlock3dImpl : public torch::nn::Module {
 public:
  BasicBlock3dImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);
  static constexpr int64_t expansion = 1;

  Conv3dOneDnn conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm3d bn1{nullptr}, bn2{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Sequential downsample{nullptr};  ///< 1x1x1 conv + BN, or null
};
TORCH_MODULE(BasicBlock3d);

/// torchvision Bottleneck (v1.5) in 3D: 1x1x1 -> 3x3x3 (with the stride) -> 1x1x1, expansion 4.
class Bottleneck3dImpl : public torch::nn::Module {
 public:
  Bottleneck3dImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);
  static constexpr int64_t expansion = 4;

  Conv3dOneDnn conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm3d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck3d);

/// A Sequential of residual blocks (layer1..layer4) with a concrete forward, so it can itself
/// sit inside the backbone's Sequential (LibTorch cannot nest plain Sequentials).
class ResLayerImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(ResLayer);

/// Builds the truncated backbone as a Sequential whose children are named conv1, bn1, relu,
/// maxpool, layer1, ..., so parameter names read "conv1.weight", "layer2.0.downsample.0.weight".
/// Weights keep LibTorch's default init; call init_kaiming_fan_out() for the reference's.
torch::nn::Sequential make_resnet3d(const ResNet3dOptions& options);

/// Channels of the backbone output (the last BatchNorm's feature count, as the reference does).
int64_t resnet3d_out_channels(const ResNet3dOptions& options);

/// Receptive-field record of one spatial axis (ProtoPNet's [n, j, r, start]).
struct AxisReceptiveField {
  int64_t size = 0;      ///< feature-map size n along this axis
  int64_t jump = 1;      ///< input voxels between neighbouring feature voxels (j)
  int64_t rf_size = 1;   ///< receptive-field size r in input voxels
  double start = 0.5;    ///< centre of the first feature voxel's field, in input voxels
};

/// Walks the main-path convs and pools of the backbone (skipping 1x1x1 stride-2 downsample convs,
/// as the reference's conv_info does) for an input of `input_size` voxels along one axis.
AxisReceptiveField receptive_field_axis(const ResNet3dOptions& options, int64_t input_size);

/// Input region [begin, end) along one axis seen by feature voxel `index` (ProtoPNet's
/// compute_rf_protoL_at_spatial_location, clipped to [0, input_size]).
std::pair<int64_t, int64_t> receptive_field_span(const AxisReceptiveField& rf, int64_t index,
                                                 int64_t input_size);

/// Re-initialises every Conv3d under `module` Kaiming-normal (fan_out, ReLU gain) and zeroes
/// conv biases, drawing from `generator` (the reference's init_conv).
void init_kaiming_fan_out(torch::nn::Module& module, at::Generator& generator);

}  // namespace mprotonet::nets
