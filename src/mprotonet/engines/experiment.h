// SPDX-License-Identifier: MIT
// The paper's experiment as one pipeline (docs/method.md#paper-rows): cohort (the built-in synthetic
// one or a BraTS folder) -> preprocessing cache -> cross-validation of every model row on the same
// folds -> evaluation of each row -> the paired comparison of MProtoNet C with every other row ->
// report.html. This is what `mprotonet demo` runs; the CLI only fills ExperimentOptions.
//
// Output folder:
//   data/                 the synthetic cohort (when no data folder is given)
//   cache/                preprocessed subjects
//   runs/<model>/         one `mprotonet train` run folder per row, with evaluation.json / .md
//   comparison.json, .md  MProtoNet C against every other row, paired per held-out subject
//   demo.json             settings, data summary, time per stage
//   report.html           with report_files/
// Running it again continues where it stopped: finished folds, evaluations and comparisons are
// kept (a run folder holding other settings is an Error, as for `train`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/data/synthetic.h"

namespace mprotonet {

/// The paper's six rows (docs/method.md#paper-rows), in the paper's order: CNN3D (GradCAM),
/// ProtoPNet (pm1), XProtoNet (pm2), MProtoNet A, B, C (pm3, pm4, pm5).
const std::vector<std::string>& paper_model_rows();

struct ExperimentOptions {
  /// Output folder (created). Default "demo-run".
  std::filesystem::path out_dir = "demo-run";
  /// BraTS-layout data folder; empty = generate the synthetic cohort into out_dir/data. Default empty.
  std::filesystem::path data_dir;
  /// Synthetic cohort (when data_dir is empty); its seed is set from `seed`. Default: 80 cases,
  /// 60 % HGG, generated at 2 mm over the BraTS field of view.
  SyntheticOptions synth = default_synth();
  /// Preprocessed voxel size in mm. Default 4 (48 x 48 x 36 network input).
  double spacing_mm = 4.0;
  /// Cross-validation folds. Default 3.
  int folds = 3;
  /// Seed of the cohort, the folds and training. Default 0.
  uint32_t seed = 0;
  /// Joint epochs of the prototype rows. Default 16 (27 steps each at batch 2; the README's
  /// trade-off table says why).
  int64_t epochs = 16;
  /// Epochs of CNN3D (it converges faster). Default 12.
  int64_t cnn_epochs = 12;
  /// Last-layer epochs after each push. Default 5.
  int64_t last_layer_epochs = 5;
  /// Push after every n-th joint epoch and after the last; 0 = after the last only. Default 0.
  int64_t push_interval = 0;
  /// Subjects per training batch; lowered (with a note) to the smallest training fold when that
  /// is smaller, so a handful of subjects can still run the paper's settings. Default 2: on the
  /// synthetic cohort more optimiser steps matter more than larger batches (README).
  int64_t batch_size = 2;
  /// Backbone and the number of its children kept. Default resnet18_ri, 5.
  std::string features = "resnet18_ri";
  int64_t n_layers = 5;
  /// "fp32", "bf16" (autocast) or "auto" for training and evaluation: auto is bf16 where the
  /// device computes it natively (CUDA; a CPU with AVX512-BF16 or AMX), fp32 elsewhere, and is
  /// resolved before anything is recorded. Default "auto".
  std::string precision = "auto";
  /// "cpu", "cuda" or "cuda:N". Default "cpu".
  std::string device = "cpu";
  /// Training augmentation sequence (transforms/augment.h). Default "fl0" (flips only).
  std::string augment = "fl0";
  /// Re-estimate BatchNorm statistics before each push and at the end (engines/trainer.h). Default true.
  bool recalibrate_bn = true;
  /// Evaluate the 14 missing-modality subsets (one forward each per test subject). Default true.
  bool missing_modalities = true;
  /// Attribution methods evaluated (comma list). Default "mprotonet,gradcam".
  std::string methods = "mprotonet,gradcam";
  /// Deletion / addition on at most this many test subjects per fold; 0 = all. Default 4.
  int64_t faithfulness_subjects = 4;
  /// Deletion / addition steps after step 0. Default 50 (51 points, as the paper).
  int64_t faithfulness_steps = 50;
  /// Model rows, in order. Default: the paper's six rows.
  std::vector<std::string> models = paper_model_rows();
  /// The row compared with every other one. Default "MProtoNet3D_pm5" (MProtoNet C).
  std::string reference_model = "MProtoNet3D_pm5";
  /// Test cases explained in the report. Default 4.
  int report_cases = 4;
  /// Label of the settings ("demo (CPU-sized)", "full (paper settings)"). Default "demo (CPU-sized)".
  std::string mode = "demo (CPU-sized)";
  /// The command line to show in the report. Default "mprotonet demo".
  std::string command = "mprotonet demo";
  /// Progress lines (stage, row, fold, ETA); default prints to stderr.
  std::function<void(const std::string&)> log;

  /// The synthetic cohort of the default job.
  static SyntheticOptions default_synth();
  /// The paper's settings (docs/method.md#paper-rows): 1.5 mm, resnet152_ri, n_layers 6, 5 folds,
  /// 100 epochs for every row, batch 32, the full augmentation, push every 10 epochs then 10
  /// last-layer epochs, no BatchNorm recalibration, all five attribution methods on every subject,
  /// fp32 on a CPU and bf16 on a GPU.
  static ExperimentOptions paper(const std::string& device = "cpu");
};

/// Checks every field (Error naming the field, the value and what is expected).
void validate(const ExperimentOptions& options);

/// Settings as recorded in demo.json.
nlohmann::json to_json(const ExperimentOptions& options);

/// Runs the whole experiment (see the file comment) and returns the path of report.html.
std::filesystem::path run_experiment(const ExperimentOptions& options);

}  // namespace mprotonet
