// SPDX-License-Identifier: MIT
// The classifiers of docs/method.md#networks: CNN3D (backbone + add-ons + linear head) and MProtoNet3D with
// p_mode 0-5 (Wei, Tam, Tang, "MProtoNet", MIDL 2023; p_mode 1 is ProtoPNet, Chen et al.
// NeurIPS 2019; p_mode 2 is XProtoNet, Kim et al. CVPR 2021). Parameters and buffers are
// registered under the reference's state_dict names (docs/method.md#checkpoints) so its checkpoints load as-is.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "mprotonet/nets/model_config.h"

namespace mprotonet::nets {

/// Everything one forward pass produces. Fields a model does not have stay undefined.
struct ModelOutput {
  torch::Tensor logits;              ///< [B, classes]
  torch::Tensor min_distances;       ///< [B, P]: per-prototype distance used for the logits
  torch::Tensor backbone_features;   ///< x = features(input), [B, C, d, h, w]
  torch::Tensor add_on_features;     ///< f(x) in [0, 1], [B, D, d, h, w] (prototype models)
  torch::Tensor occurrence_maps;     ///< M(x), [B, P, d, h, w] (p_mode >= 2)
  torch::Tensor gradcam_activation;  ///< output of gradcam_layer() in this pass (for GradCAM)
};

/// What push (prototype projection) needs from one batch.
struct PushOutput {
  /// p_mode < 2: f(x) [B, D, d, h, w] (a prototype is replaced by one voxel's vector);
  /// p_mode >= 2: g_p, the map-weighted mean features [B, P, D].
  torch::Tensor latent;
  /// p_mode < 2: [B, P, d, h, w] distances per feature voxel; p_mode >= 2: [B, P].
  torch::Tensor distances;
  /// [B, P, d, h, w] occurrence maps (p_mode >= 2 only).
  torch::Tensor occurrence_maps;
};

/// Common base: "a model" that training, evaluation and explanations can hold.
class ClassifierImpl : public torch::nn::Module {
 public:
  ClassifierImpl(std::string name, ModelConfig config);
  /// Runs the whole model and returns every intermediate the losses and explanations use.
  virtual ModelOutput forward_all(const torch::Tensor& input) = 0;
  /// Logits only.
  torch::Tensor forward(const torch::Tensor& input) { return forward_all(input).logits; }
  /// Module name (e.g. "add_ons.3") and handle of the last Conv3d in registration order (GradCAM).
  virtual std::string gradcam_layer_name() const = 0;
  virtual torch::nn::Conv3d gradcam_layer() const = 0;
  const ModelConfig& config() const { return config_; }
  /// -1 for CNN3D.
  int p_mode() const { return config_.p_mode(); }
  bool is_prototype_model() const { return config_.is_prototype_model(); }

  torch::nn::Sequential features{nullptr};  ///< the truncated 3D ResNet
  torch::nn::Sequential add_ons{nullptr};

 protected:
  ModelConfig config_;
};
using Classifier = std::shared_ptr<ClassifierImpl>;

/// CNN3D: features -> add_ons (conv-BN-ReLU x2, global average pool, flatten) -> fc (docs/method.md#cnn3d).
class CNN3DImpl : public ClassifierImpl {
 public:
  explicit CNN3DImpl(const ModelConfig& config);
  ModelOutput forward_all(const torch::Tensor& input) override;
  std::string gradcam_layer_name() const override { return "add_ons.3"; }
  torch::nn::Conv3d gradcam_layer() const override;

  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(CNN3D);

/// MProtoNet3D_pmK (docs/method.md#prototype-models).
class MProtoNet3DImpl : public ClassifierImpl {
 public:
  explicit MProtoNet3DImpl(const ModelConfig& config);
  ModelOutput forward_all(const torch::Tensor& input) override;
  std::string gradcam_layer_name() const override { return p_mode() >= 2 ? "p_map.3" : "add_ons.3"; }
  torch::nn::Conv3d gradcam_layer() const override;

  /// Occurrence maps M(x) from backbone features x (with soft masking for p_mode 3 and 5).
  torch::Tensor occurrence_maps(const torch::Tensor& x, torch::Tensor* gradcam_activation = nullptr);
  /// Soft masking of MProtoNet A/C (p_mode 3 and 5) applied to the occurrence head's output
  /// without its Sigmoid: ReLU, min-max scale per sample over prototypes and voxels, then a steep
  /// sigmoid centred at 0.5 (omega 10). [B, P, d, h, w].
  static torch::Tensor soft_mask(const torch::Tensor& head);
  /// The occurrence head without its final Sigmoid (p_map[:-1](x)), [B, P, d, h, w].
  torch::Tensor occurrence_head_without_activation(const torch::Tensor& x,
                                                   torch::Tensor* gradcam_activation = nullptr);
  /// The occurrence head up to and including its first ReLU (p_map[:3](x)), [B, D, d, h, w].
  torch::Tensor occurrence_hidden(const torch::Tensor& x);
  /// Online-CAM logits (MProtoNet B/C): LSE-pool occurrence_hidden over space, project with
  /// p_map.3's weight [P, D], then last_layer. [B, classes].
  torch::Tensor online_cam_logits(const torch::Tensor& x);
  /// (logsumexp(r * x, dim) - log N) / r, N = x.size(dim).
  static torch::Tensor lse_pooling(const torch::Tensor& x, double r = 10.0, int64_t dim = -1);

  /// p_mode < 2: distance of every prototype at every voxel of f(x): [B, P, d, h, w].
  torch::Tensor voxel_distances(const torch::Tensor& f);
  /// p_mode >= 2: g_p = (1/N) sum_v M_p(v) f(v), [B, P, D].
  static torch::Tensor pooled_features(const torch::Tensor& f, const torch::Tensor& maps);
  /// p_mode >= 2: distance between g_p and prototype p only: [B, P].
  torch::Tensor pooled_distances(const torch::Tensor& g);
  /// cos: relu(1 - d); l2: log((d + 1) / (d + 1e-4)) or -d (prototype_activation_function).
  torch::Tensor distance_to_similarity(const torch::Tensor& d) const;
  /// Reduces [B, P, d, h, w] voxel distances to [B, P]: minimum (p_mode 0) or mean of the
  /// k smallest (p_mode 1).
  torch::Tensor reduce_voxel_distances(const torch::Tensor& d) const;

  /// Push forward (eval-mode callers use NoGradGuard themselves).
  PushOutput push_forward(const torch::Tensor& input);
  /// p_mode < 2: similarity of every prototype at every feature voxel, [B, P, d, h, w].
  torch::Tensor similarity_maps(const torch::Tensor& input);

  /// Sets last_layer to +1 for a prototype's own class and `incorrect_strength` elsewhere.
  void set_last_layer_incorrect_connection(double incorrect_strength);

  int64_t num_prototypes() const { return config_.prototype_shape[0]; }
  int64_t prototype_dim() const { return config_.prototype_shape[1]; }
  int64_t num_classes() const { return config_.out_size; }
  /// k of the top-k mean (p_mode >= 1; computed from config.in_size as the reference does).
  int64_t topk() const { return topk_; }
  /// Receptive-field records (D, H, W axes) for config.in_size.
  const std::array<AxisReceptiveField, 3>& receptive_fields() const { return rf_; }

  torch::Tensor prototype_class_identity;  ///< buffer [P, classes], one-hot
  torch::Tensor prototype_vectors;         ///< parameter [P, D, 1, 1, 1]
  torch::Tensor ones;                      ///< buffer [P, D, 1, 1, 1] of ones
  torch::nn::Sequential p_map{nullptr};    ///< occurrence head (p_mode >= 2)
  torch::nn::Linear last_layer{nullptr};   ///< P -> classes, no bias

  static constexpr double kEpsilon = 1e-4;

 private:
  int64_t topk_ = 0;
  std::array<AxisReceptiveField, 3> rf_;
};
TORCH_MODULE(MProtoNet3D);

/// Builds CNN3D or MProtoNet3D_pmK from a validated configuration. With init_weights, every
/// random draw (Kaiming convs, uniform prototypes, the CNN's linear head) comes from a CPU
/// generator seeded with `seed`.
Classifier build_model(const ModelConfig& config, uint64_t seed = 0);

/// Trainable parameters count.
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace mprotonet::nets
