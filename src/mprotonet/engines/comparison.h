// SPDX-License-Identifier: MIT
// The paired comparison of the paper's experiment (docs/method.md#significance): one reference
// row (MProtoNet C) against every other row, each explained by its own map (GradCAM for the CNN,
// the prototype map for prototype models), paired per held-out subject over all folds. With three
// or five folds a test across fold means cannot reach p < 0.05; per subject it can.
//
// Per-subject quantities (from each run's evaluation.json, see engines/evaluator.h):
//   ap, dsc    activation precision / Dice of the row's own map (subjects with a segmentation)
//   ids, ias   the subject's own deletion / addition score: the area under its correctness
//              curve (1 while the perturbed input is still classified correctly), lower is
//              better for deletion, higher for addition (subjects of the deletion subset)
//   bac        1 when the subject is classified correctly, else 0 (the per-subject basis of
//              accuracy and BAC; the Wilcoxon test on it is a two-sided sign test)
// Tests: two-sided Wilcoxon signed-rank (and the paired t-test), metrics/significance.h.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mprotonet {

/// The metrics compared, in report order: ap, ids, bac, dsc, ias.
const std::vector<std::string>& compared_metrics();

/// Per-subject values of one row's own map from its evaluation.json: metric -> subject id ->
/// value. Error naming the file when it has no per-subject records (an evaluation.json written
/// before they existed: run `mprotonet evaluate` again).
std::map<std::string, std::map<std::string, double>> per_subject_values(const nlohmann::json& evaluation,
                                                                        const std::filesystem::path& source);

/// Compares `reference` with every other run folder in `run_dirs` (each holding run.json and
/// evaluation.json); the runs must share their folds. Returns comparison.json's content.
nlohmann::json compare_runs(const std::filesystem::path& reference, const std::vector<std::filesystem::path>& run_dirs);

/// comparison.md from comparison.json's content.
std::string comparison_markdown(const nlohmann::json& comparison);

}  // namespace mprotonet
