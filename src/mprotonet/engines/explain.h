// SPDX-License-Identifier: MIT
// One case explained by one model (docs/method.md#explanations), in one place for every command
// that shows a case: prepare_case reads and preprocesses a case folder for a model's input grid
// (`predict --case`, `explain`); explain_input gives the prediction, each method's map for the
// predicted class and the top prototypes with their push-record source (`explain`, the report's
// test cases). explain_case is `mprotonet explain`: prediction.json, each method's map (target =
// predicted class) as NIfTI on the preprocessed grid and resampled onto the case's own T1 grid,
// PNG panels through the map's peak, for prototype models the top prototypes with their push
// record and a picture of each one's source region, and index.html, the case's 3D viewer.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/attribution/methods.h"
#include "mprotonet/attribution/occlusion.h"
#include "mprotonet/core/progress.h"
#include "mprotonet/data/preprocess_case.h"
#include "mprotonet/nets/inference.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/nets/models.h"
#include "mprotonet/nets/push_record.h"
#include "mprotonet/transforms/preprocess.h"

namespace mprotonet {

/// Voxel size (mm) at which the 192 x 192 x 144 mm field of view gives the model's input size;
/// `requested` > 0 is returned as given. Error when the model's in_size is not that field of view
/// at one isotropic spacing.
double spacing_for_model(const nets::ModelConfig& config, double requested = 0.0);

/// Error unless `shape` is the model's input size (a model is only meaningful on the input size it
/// was trained on, and a larger one costs memory without bound); the message names `input` and
/// ends with `hint`.
void check_input_size(const std::array<int64_t, 3>& shape, const nets::ModelConfig& config, const std::string& input,
                      const std::string& hint);

/// A case folder ready for a model.
struct CaseInput {
  CaseFiles files;
  PreprocessedCase preprocessed;
  torch::Tensor x;  ///< [1, 4, D, H, W] float32, the model's input
};

/// Finds and preprocesses the case in `dir` for a model with `config`: at spacing_for_model(config,
/// spacing_mm) on `grid`, its size checked against the model before any file is read; the
/// segmentation too when `with_seg` (and the case has one). Errors name the case and the problem.
CaseInput prepare_case(const std::filesystem::path& dir, const nets::ModelConfig& config, double spacing_mm,
                       PreprocessGrid grid, bool with_seg);

/// A prototype ranked for one case.
struct RankedPrototype {
  int64_t prototype = 0;
  int cls = 0;              ///< the prototype's class
  double similarity = 0.0;  ///< its similarity to the case (max over locations)
  double contribution = 0.0;  ///< similarity x its last-layer weight to the predicted class
  std::optional<PushedPrototype> source;  ///< where it was pushed from, when the model records it
};

/// What a model says about one case.
struct CaseExplanation {
  nets::Prediction prediction;
  int64_t predicted = 0;  ///< 1 = HGG
  double p_hgg = 0.0;
  /// Per method that applies to the model, in the order given: its map for the predicted class,
  /// [4, D, H, W] (signed as the method gives it).
  std::vector<std::pair<attribution::MapMethod, torch::Tensor>> maps;
  /// Prototype models: the `top` most similar prototypes, most similar first; else empty.
  std::vector<RankedPrototype> top;
};

/// Predicts `x` ([1, 4, D, H, W]) and explains the prediction: each applicable method's map for
/// the predicted class and, for prototype models, the top prototypes with their source in `record`
/// (may be null). The model is left in evaluation mode.
CaseExplanation explain_input(nets::ClassifierImpl& model, const torch::Tensor& x,
                              const std::vector<attribution::MapMethod>& methods, int64_t top,
                              const PushRecord* record, const attribution::MapOptions& options = {});

struct ExplainOptions {
  /// Model file (nets/model_file.h). Required.
  std::filesystem::path model_file;
  /// Case folder with <id>_{t1,t1ce,t2,flair}.nii.gz (a seg is not needed). Required.
  std::filesystem::path case_dir;
  /// Output folder (created). Required.
  std::filesystem::path out_dir;
  /// Methods; those not applicable to the model are skipped. Default: mprotonet, gradcam.
  std::vector<attribution::MapMethod> methods{attribution::MapMethod::MProtoNet, attribution::MapMethod::GradCAM};
  /// Preprocessing voxel size in mm; 0 = derived from the model's in_size (192 mm / D). Default 0.
  double spacing_mm = 0.0;
  /// Grid of the preprocessing (--preprocess); kReference for models imported from the reference.
  PreprocessGrid preprocess_grid = PreprocessGrid::kMillimetre;
  /// Prototypes listed for prototype models. Default 5.
  int64_t top_prototypes = 5;
  /// Occlusion settings.
  attribution::OcclusionOptions occlusion;
  /// Progress lines; default prints to stdout.
  ProgressLog log;
};

/// Writes prediction.json, <method>.nii.gz (T1 grid), <method>_preprocessed.nii.gz,
/// <method>_panels.png, prototypes.json (prototype models), prototype_P.png for each listed
/// prototype whose push record has a picture (report/prototype_view.h) and explanation.json (an
/// index of the files) into out_dir. Returns explanation.json's content.
nlohmann::json explain_case(const ExplainOptions& options);

}  // namespace mprotonet
