// SPDX-License-Identifier: MIT
// `mprotonet explain`: one case folder explained by one model (docs/method.md#explanations):
// prediction.json, each method's map (target = predicted class) as NIfTI on the preprocessed grid
// and resampled onto the case's own T1 grid, PNG panels through the map's peak, for prototype
// models the top prototypes with their push record and a picture of each one's source region, and
// index.html, the case's 3D viewer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/attribution/methods.h"
#include "mprotonet/attribution/occlusion.h"
#include "mprotonet/core/progress.h"
#include "mprotonet/transforms/preprocess.h"

namespace mprotonet {

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
