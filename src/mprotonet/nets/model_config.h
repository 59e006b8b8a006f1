// SPDX-License-Identifier: MIT
// Model configuration in the reference's own keyword names (docs/method.md#checkpoints): what `getattr(models,
// model_name)(**kwargs)` receives in the authors' code, read from / written to JSON.
// {"model_name": "MProtoNet3D_pm5", "in_size": [4,128,128,96], "out_size": 2,
//  "features": "resnet152_ri", "n_layers": 6, "prototype_shape": [30,128,1,1,1],
//  "f_dist": "cos", "topk_p": 1}
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/nets/resnet3d.h"

namespace mprotonet::nets {

/// Keyword configuration of CNN3D / MProtoNet3D_pmK. Defaults are the reference constructor's
/// defaults (used when a key is absent from the JSON); ModelConfig::paper() gives docs/method.md#paper-rows's rows.
struct ModelConfig {
  /// "CNN3D" or "MProtoNet3D_pmK" with K = p_mode in 0..5. Required in JSON.
  std::string model_name = "MProtoNet3D_pm0";
  /// Input size [channels, D, H, W] in voxels; default [4, 240, 240, 155].
  std::array<int64_t, 4> in_size{4, 240, 240, 155};
  /// Number of classes; default 2 (class 1 = HGG).
  int64_t out_size = 2;
  /// Backbone name (resnet18_ri .. resnet152_ri); default "resnet50_ri".
  std::string features = "resnet50_ri";
  /// Backbone children kept (2..8); default 7.
  int64_t n_layers = 7;
  /// [P, D, kd, kh, kw]; default [20, 128, 1, 1, 1]. Prototype models only.
  std::array<int64_t, 5> prototype_shape{20, 128, 1, 1, 1};
  /// Distance: "cos" or "l2"; default "l2". Prototype models only.
  std::string f_dist = "l2";
  /// Top-k percentage of feature voxels for p_mode 1 (k = floor(N * topk_p / 100)); default 1.
  double topk_p = 1.0;
  /// Reference init (Kaiming fan-out convs, last layer +1/-0.5) when true; default true.
  bool init_weights = true;
  /// l2 similarity: "log" (log((d+1)/(d+1e-4))) or "linear" (-d); default "log".
  std::string prototype_activation_function = "log";

  /// True for MProtoNet3D_pmK.
  bool is_prototype_model() const;
  /// K of the _pmK suffix; -1 for CNN3D.
  int p_mode() const;
  ResNet3dOptions backbone() const;

  /// The paper's configuration (docs/method.md#paper-rows): resnet152_ri, n_layers 6, [4,128,128,96], P 30, D 128,
  /// cos, topk_p 1. p_mode < 0 gives CNN3D.
  static ModelConfig paper(int p_mode);
};

/// Checks every value and their combination; Error saying what is wrong and what was expected
/// (P not divisible by the class count, top-k rounding to 0, input smaller than the backbone's
/// stride, unknown backbone with the valid list, ...).
void validate(const ModelConfig& config);

/// The paper's name of a model row: "CNN" (CNN3D), "ProtoPNet" (pm1), "XProtoNet" (pm2),
/// "MProtoNet A" / "B" / "C" (pm3 / pm4 / pm5); other names are returned unchanged.
std::string paper_row_name(const std::string& model_name);

/// Parses the reference keywords; unknown keys, wrong types and invalid values are Errors
/// naming `source` (a file name or "<json>") and the field. Validates the result.
ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& source = "<json>");
/// The reference keywords (p_mode is implied by model_name and not written).
nlohmann::json model_config_to_json(const ModelConfig& config);

/// Reads and validates a JSON configuration file.
ModelConfig read_model_config(const std::filesystem::path& path);
/// Writes the configuration as pretty JSON, atomically.
void write_model_config(const std::filesystem::path& path, const ModelConfig& config);

/// Per-axis receptive-field records of the backbone output for config.in_size (D, H, W).
std::array<AxisReceptiveField, 3> receptive_fields(const ModelConfig& config);
/// Feature-map voxel count N = d*h*w for config.in_size.
int64_t feature_voxels(const ModelConfig& config);
/// k of p_mode 1's top-k: floor(N * topk_p / 100), computed as the reference does.
int64_t topk_count(const ModelConfig& config);

}  // namespace mprotonet::nets
