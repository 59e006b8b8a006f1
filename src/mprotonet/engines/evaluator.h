// SPDX-License-Identifier: MIT
// Evaluation of a cross-validation run (docs/method.md#metrics); one case's explanation is
// engines/explain.h.
//
// evaluate_run(): per fold, the fold's model (RUN_DIR/fold_K/model.mpn) on its held-out subjects
// (run.json "folds.test_ids"): classification on the full input and on each of the 14
// kept-modality subsets; for every attribution method (target = ground-truth label) AP / DSC
// against the whole tumour and the incremental deletion / addition curves with IDS / IAS; then
// mean ± std over folds, a paired comparison of the MProtoNet map with GradCAM across folds
// (Wilcoxon and t-test, with a note on their low power for 5 folds), RUN_DIR/evaluation.json,
// RUN_DIR/evaluation.md and the mean deletion / addition curves as PNG plots (written by
// report/evaluation_report.h).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "mprotonet/attribution/methods.h"
#include "mprotonet/core/progress.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/metrics/faithfulness.h"
#include "mprotonet/transforms/preprocess.h"

namespace mprotonet {

struct EvaluationOptions {
  /// Run folder written by `mprotonet train` (run.json, fold_K/model.mpn). Required.
  std::filesystem::path run_dir;
  /// Dataset folder (BraTS layout) the run was trained on. Required.
  std::filesystem::path data_dir;
  /// Preprocessing cache root; empty = default_cache_root(). Default empty.
  std::filesystem::path cache_dir;
  /// Methods to evaluate; those that do not apply to the model (the MProtoNet map on CNN3D) are
  /// skipped with a note. Default: all five.
  std::vector<attribution::MapMethod> methods{attribution::MapMethod::MProtoNet, attribution::MapMethod::GradCAM,
                                              attribution::MapMethod::GuidedGradCAM,
                                              attribution::MapMethod::Deconvolution,
                                              attribution::MapMethod::Occlusion};
  /// Subjects per forward / attribution batch. Default 4.
  int64_t batch_size = 4;
  /// Evaluate the 14 kept-modality subsets. Default true.
  bool missing_modalities = true;
  /// Run incremental deletion / addition (2 x 51 forwards per subject and method). Default true.
  bool faithfulness = true;
  /// Deletion / addition settings.
  FaithfulnessOptions faithfulness_options;
  /// Deletion / addition on at most this many test subjects per fold (half from each class
  /// where possible, in cohort order), to bound their cost (2 x 51 forwards per subject and
  /// method); 0 = every test subject. AP / DSC always use every subject. Default 0.
  int64_t faithfulness_subjects = 0;
  /// Forward precision: kBf16 runs the forwards and maps under bf16 autocast (engines/precision.h).
  /// Default fp32.
  Precision precision = Precision::kFp32;
  /// Occlusion settings (window 11, stride 5, baseline 0).
  attribution::OcclusionOptions occlusion;
  /// Only these folds (0-based); empty = every fold of the run. Default empty.
  std::vector<int> folds;
  /// Preprocessing threads (0 = all cores). Default 0.
  int preprocess_threads = 0;
  /// Device for the models. Default CPU.
  torch::Device device = torch::kCPU;
  /// Progress lines; default prints to stdout.
  ProgressLog log;
};

/// Runs the evaluation and writes evaluation.json, evaluation.md, deletion_curves.png and
/// addition_curves.png into the run folder. Returns the evaluation.json content.
nlohmann::json evaluate_run(const EvaluationOptions& options);

}  // namespace mprotonet
