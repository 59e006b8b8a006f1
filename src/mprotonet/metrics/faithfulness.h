// SPDX-License-Identifier: MIT
// Faithfulness of attribution maps by incremental deletion and addition (docs/method.md#metrics; the IDS of
// Wei et al., MProtoNet, MIDL 2023, after the deletion/insertion game of Petsiuk et al., RISE,
// BMVC 2018). Per subject the map is averaged over channels and its quantiles at 100 %, 98 %, ...,
// 0 % give 51 thresholds; at step i > 0 the voxels with map >= threshold_i are zeroed in every
// channel (deletion) or are the only ones kept (addition); step 0 is the untouched input
// (deletion) or an all-zero input (addition). The model's prediction at every step gives, over
// the subjects, an accuracy and a BAC curve; each curve is clipped to the range spanned by its
// first and last value, min-max normalised to [0, 1], and its mean trapezoid area is the score:
// IDS (deletion, lower is better) and IAS (addition, higher is better). The headline IDS / IAS
// use the BAC curve (the cohort is imbalanced); the accuracy-curve areas are reported too.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "mprotonet/nets/models.h"

namespace mprotonet {

struct FaithfulnessOptions {
  /// Steps after step 0 (quantiles 100 %, 100 - 100/steps %, ..., 0 %); default 50 (51 points).
  int64_t steps = 50;
  /// Perturbed inputs per forward call; default 1. On the CPU batching gains little: the
  /// forwards are convolution-bound (bench_eval, 2 cores, 4 x 64 x 64 x 48, with the CLI's heap
  /// setting: 102 forwards take 4.8 s one by one and 4.3 s in batches of 17, which need 17 times
  /// the activation memory; before that setting, batches took 21 s). Raise it on a GPU. Batched
  /// forwards may round differently from single ones, so the curves can differ slightly.
  int64_t batch_size = 1;
  /// Called after each subject with (forwards done, forwards total); optional.
  std::function<void(int64_t, int64_t)> progress;
};

/// Forwards for `subjects` subjects: 2 x (steps + 1) each.
int64_t faithfulness_forward_count(int64_t subjects, const FaithfulnessOptions& options = {});

/// Thresholds of one subject: quantiles (linear interpolation, as numpy) of the channel-averaged
/// map [C, D, H, W] at 1, 1 - 1/steps, ..., 0; float64 [steps + 1].
torch::Tensor deletion_thresholds(const torch::Tensor& map, int64_t steps);

/// Perturbed copies of one subject's input [C, D, H, W] for its map [C, D, H, W]:
/// [steps + 1, C, D, H, W].
torch::Tensor deletion_inputs(const torch::Tensor& input, const torch::Tensor& map, int64_t steps);
torch::Tensor addition_inputs(const torch::Tensor& input, const torch::Tensor& map, int64_t steps);

/// Predicted class at every step, int64 [N, steps + 1] for deletion and for addition.
struct PerturbationPredictions {
  torch::Tensor deletion;
  torch::Tensor addition;
};
/// Runs the model (evaluation mode, no gradients) on both series of every subject in batches.
PerturbationPredictions perturbation_predictions(nets::ClassifierImpl& model, const torch::Tensor& input,
                                                 const torch::Tensor& maps, const FaithfulnessOptions& options = {});

/// Clip to [min(first, last), max(first, last)], min-max normalise, mean trapezoid area over
/// x in [0, 1]. NaN when first == last (the curve spans no range) or fewer than 2 points.
double normalised_curve_area(const std::vector<double>& curve);

struct FaithfulnessResult {
  std::vector<double> deletion_accuracy, deletion_bac;  ///< [steps + 1] per-step curves
  std::vector<double> addition_accuracy, addition_bac;
  double ids = 0.0;           ///< normalised_curve_area(deletion_bac)
  double ias = 0.0;           ///< normalised_curve_area(addition_bac)
  double ids_accuracy = 0.0;  ///< the same areas on the accuracy curves
  double ias_accuracy = 0.0;
  int64_t count = 0;          ///< subjects
};
/// {"ids", "ias", "ids_accuracy", "ias_accuracy", "count", "curves": {...}}; NaN -> null.
nlohmann::json to_json(const FaithfulnessResult& r);

/// Accumulates per-step predictions and labels; aggregate() computes the curves and areas.
class FaithfulnessAccumulator {
 public:
  /// deletion / addition: int [B, S] predicted class per step; labels: int [B].
  void update(const torch::Tensor& deletion, const torch::Tensor& addition, const torch::Tensor& labels);
  FaithfulnessResult aggregate() const;
  /// Per subject, in update order: (deletion, addition) area under the subject's own correctness
  /// curve (1 at a step whose prediction equals the label, else 0), as the mean trapezoid over
  /// the steps, without normalisation. Their means over subjects are the areas under the
  /// accuracy curves; they are the per-subject scores the paired comparisons use.
  std::vector<std::pair<double, double>> per_subject_areas() const;
  void reset();
  int64_t size() const { return static_cast<int64_t>(labels_.size()); }

 private:
  std::vector<std::vector<int>> deletion_, addition_;  // [subject][step]
  std::vector<int> labels_;
};

}  // namespace mprotonet
