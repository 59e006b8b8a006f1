// SPDX-License-Identifier: MIT
// Classification metrics of docs/method.md#metrics: accuracy, balanced accuracy (BAC), sensitivity (HGG
// recall), specificity (LGG recall) and ROC AUC, as free functions over whole label/score
// vectors and as a MONAI-style accumulator (update per batch, aggregate, reset).
//
// Conventions (those of scikit-learn, which the reference uses):
// - labels are 1 = HGG (positive) and 0 = LGG (negative); a prediction is the arg-max class;
// - a recall whose class is absent is NaN, and balanced accuracy is the mean of the recalls
//   that are defined (sklearn's balanced_accuracy_score drops the undefined one with a warning);
// - AUC is the Mann-Whitney statistic: the fraction of (positive, negative) pairs whose scores
//   are ordered correctly, ties counted 1/2 (equal to sklearn's roc_auc_score); NaN when one
//   class is absent.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

namespace mprotonet {

/// The five numbers of docs/method.md#metrics for one set of subjects.
struct ClassificationMetrics {
  double accuracy = 0.0;           ///< fraction of correct predictions
  double balanced_accuracy = 0.0;  ///< mean of sensitivity and specificity (defined ones)
  double sensitivity = 0.0;        ///< recall of class 1 (HGG); NaN without HGG subjects
  double specificity = 0.0;        ///< recall of class 0 (LGG); NaN without LGG subjects
  double auc = 0.0;                ///< ROC AUC of the class-1 score; NaN with one class only
  int64_t count = 0;               ///< number of subjects
};

/// Names of the metrics in the order of reports: accuracy, bac, sensitivity, specificity, auc.
const std::vector<std::string>& metric_names();
/// Value of a metric by its report name (Error for an unknown name, listing the valid ones).
double metric_value(const ClassificationMetrics& m, const std::string& name);

/// JSON object {"accuracy", "bac", "sensitivity", "specificity", "auc", "count"}; NaN -> null.
nlohmann::json to_json(const ClassificationMetrics& m);
/// Inverse of to_json (null -> NaN).
ClassificationMetrics metrics_from_json(const nlohmann::json& j);

/// Fraction of predictions equal to labels. Error on size mismatch or empty input.
double accuracy(const std::vector<int>& labels, const std::vector<int>& predictions);
/// Recall of class `cls` (NaN when no label equals cls).
double recall(const std::vector<int>& labels, const std::vector<int>& predictions, int cls);
double sensitivity(const std::vector<int>& labels, const std::vector<int>& predictions);
double specificity(const std::vector<int>& labels, const std::vector<int>& predictions);
double balanced_accuracy(const std::vector<int>& labels, const std::vector<int>& predictions);
/// Mann-Whitney AUC of scores (higher = more HGG); ties count 1/2. O(n log n).
double roc_auc(const std::vector<int>& labels, const std::vector<double>& scores);

/// All five from labels, predicted classes and class-1 scores. Labels must be 0 or 1.
ClassificationMetrics classification_metrics(const std::vector<int>& labels,
                                             const std::vector<int>& predictions,
                                             const std::vector<double>& scores);
/// From labels and class probabilities [N][2] (prediction = arg-max, first index on ties).
ClassificationMetrics classification_metrics(const std::vector<int>& labels,
                                             const std::vector<std::array<double, 2>>& probabilities);

/// Accumulates batches of (logits or probabilities [B, 2], labels [B]) and computes the metrics
/// over everything seen since the last reset (MONAI's Cumulative metric idea).
class ClassificationAccumulator {
 public:
  /// scores [B, 2] (logits or probabilities: only their order within a row and the softmax of
  /// logits matter; probabilities are stored as softmax(scores) when `are_logits`, else as
  /// given) and labels int [B]. Tensors may live on any device and have any float dtype.
  void update(const torch::Tensor& scores, const torch::Tensor& labels, bool are_logits = true);
  /// Plain-vector form: one subject's class-1 probability, predicted class and label.
  void update(int label, int prediction, double score);
  ClassificationMetrics aggregate() const;
  void reset();
  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  const std::vector<int>& labels() const { return labels_; }
  const std::vector<int>& predictions() const { return predictions_; }
  /// Class-1 probability (or score) of each subject, in update order.
  const std::vector<double>& scores() const { return scores_; }

 private:
  std::vector<int> labels_, predictions_;
  std::vector<double> scores_;
};

/// Mean and standard deviation over folds, ignoring NaN values. The std is numpy's default
/// (population, ddof 0), as the reference's summaries use np.std.
struct MetricSummary {
  double mean = 0.0;
  double std = 0.0;
  int64_t n = 0;  ///< number of non-NaN values
};
MetricSummary summarize(const std::vector<double>& values);

}  // namespace mprotonet
