// SPDX-License-Identifier: MIT
// The layout of a training run folder (`mprotonet train --out RUN_DIR`), in one place: every
// command that writes or reads a run names its files through this.
//   RUN_DIR/run.json                      settings, dataset, folds (engines/cross_validation.h)
//   RUN_DIR/results.json, results.md      the cross-validated test metrics
//   RUN_DIR/evaluation.json, .md          `mprotonet evaluate` (engines/evaluator.h)
//   RUN_DIR/fold_K/model.mpn              the fold's trained model
//   RUN_DIR/fold_K/test_predictions.json  its predictions on the held-out subjects
#pragma once

#include <filesystem>
#include <string>

namespace mprotonet {

struct RunFolder {
  std::filesystem::path root;

  explicit RunFolder(std::filesystem::path dir) : root(std::move(dir)) {}

  std::filesystem::path run_json() const { return root / "run.json"; }
  std::filesystem::path results_json() const { return root / "results.json"; }
  std::filesystem::path results_md() const { return root / "results.md"; }
  std::filesystem::path evaluation_json() const { return root / "evaluation.json"; }
  std::filesystem::path evaluation_md() const { return root / "evaluation.md"; }
  std::filesystem::path fold_dir(int k) const { return root / ("fold_" + std::to_string(k)); }
  std::filesystem::path fold_model(int k) const { return fold_dir(k) / "model.mpn"; }
  std::filesystem::path fold_predictions(int k) const { return fold_dir(k) / "test_predictions.json"; }
};

}  // namespace mprotonet
