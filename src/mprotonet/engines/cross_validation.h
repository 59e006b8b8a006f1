// SPDX-License-Identifier: MIT
// Stratified K-fold cross-validation of one model row (docs/method.md#training, #metrics): discover the cohort,
// preprocess it once into the cache, split it (sklearn-compatible StratifiedKFold, seed), and per
// fold train on the training subjects and test on the held-out ones. Everything needed to repeat
// the run is written to the run folder:
//   run.json                     all options, the model configuration, the dataset summary, folds
//   fold_K/model.mpn             the trained model with its push record (nets/model_file.h)
//   fold_K/epochs.jsonl          per-step metrics
//   fold_K/test_predictions.json subject id, label, probabilities, prediction
//   fold_K/checkpoint.pt         the training state while the fold is unfinished (for --resume)
//   results.json, results.md     metrics per fold and mean ± std, once every fold is done
// Folds are numbered from 0. `fold` = K runs one fold only, so folds can run as separate jobs;
// merge_run() (or the next full run) aggregates them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // a json member (model_overrides)

#include "mprotonet/engines/trainer.h"
#include "mprotonet/metrics/classification.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/transforms/preprocess.h"

namespace mprotonet {

struct CrossValidationOptions {
  /// Dataset folder (BraTS layout). Required.
  std::filesystem::path data_dir;
  /// Run folder (created). Required.
  std::filesystem::path out_dir;
  /// Preprocessing cache root; empty = default_cache_root(). Default empty.
  std::filesystem::path cache_dir;
  /// Model row: "CNN3D" or "MProtoNet3D_pmK". Default "MProtoNet3D_pm5" (MProtoNet C).
  std::string model_name = "MProtoNet3D_pm5";
  /// Backbone. Default "resnet152_ri".
  std::string features = "resnet152_ri";
  /// Backbone children kept. Default 6.
  int64_t n_layers = 6;
  /// Preprocessing voxel size in mm (the input size follows: 1.5 -> 128x128x96). Default 1.5.
  double spacing_mm = 1.5;
  /// Grid of the preprocessing (docs/method.md#preprocessing). Default kMillimetre.
  PreprocessGrid preprocess_grid = PreprocessGrid::kMillimetre;
  /// Number of folds. Default 5.
  int folds = 5;
  /// Run only this fold (0-based); -1 = all. Default -1.
  int fold = -1;
  /// Seed of the split (sklearn's random_state) and of training. Default 0.
  uint32_t seed = 0;
  /// Continue unfinished folds from their checkpoints and skip finished ones. Default false.
  bool resume = false;
  /// Model keywords overriding the row's defaults (reference names, docs/method.md#checkpoints), e.g.
  /// {"prototype_shape": [10, 64, 1, 1, 1]}; in_size is always set from the preprocessing.
  nlohmann::json model_overrides;
  /// Training options (its seed is set from `seed`).
  TrainOptions train;
  /// Preprocessing threads (0 = all cores). Default 0.
  int preprocess_threads = 0;

  CrossValidationOptions();
};

/// The model configuration of a run: the paper's row for model_name, with backbone, n_layers,
/// in_size = [4, preprocessed shape] and the overrides applied; validated (an input too small for
/// the backbone is an Error saying so).
nets::ModelConfig run_model_config(const CrossValidationOptions& o, const std::array<int64_t, 3>& spatial_shape);

struct FoldResult {
  int fold = 0;
  ClassificationMetrics metrics;
  std::vector<SubjectPrediction> predictions;
  double train_seconds = 0.0;
};

struct CrossValidationResult {
  std::vector<FoldResult> folds;  ///< the folds run or found finished
  bool complete = false;          ///< all folds finished: results.json written
  bool interrupted = false;       ///< stopped by TrainOptions::stop_after_steps
};

/// Runs the cross-validation described by the options (see the file comment). Errors: a
/// dataset with one class only, fewer subjects (or subjects of a class) than folds, an input too
/// small for the backbone, a non-finite loss, a run folder holding a run with other settings.
CrossValidationResult run_cross_validation(const CrossValidationOptions& options);

/// Aggregates the finished folds of run_dir (as listed in its run.json) into results.json and
/// results.md. Error listing the folds whose test_predictions.json is missing.
nlohmann::json merge_run(const std::filesystem::path& run_dir);

/// results.json content from per-fold metrics: {"folds": [...], "mean": {...}, "std": {...}}.
nlohmann::json results_json(const std::vector<FoldResult>& folds, const nlohmann::json& run_info);
/// The Markdown table of results.md.
std::string results_markdown(const nlohmann::json& results);

}  // namespace mprotonet
