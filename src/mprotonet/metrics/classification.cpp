// SPDX-License-Identifier: MIT
// Classification metrics (see classification.h).
#include "mprotonet/metrics/classification.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/core/text.h"

namespace mprotonet {

namespace {


void check_labels(const std::vector<int>& labels, size_t n_other, const char* what) {
  check(!labels.empty(), std::string(what) + ": no subjects (empty label vector)");
  check(labels.size() == n_other, std::string(what) + ": " + std::to_string(labels.size()) + " labels but " +
                                      std::to_string(n_other) + " predictions/scores; expected equal counts");
  for (size_t i = 0; i < labels.size(); ++i)
    check(labels[i] == 0 || labels[i] == 1, std::string(what) + ": label " + std::to_string(i) + " is " +
                                                std::to_string(labels[i]) + "; expected 0 (LGG) or 1 (HGG)");
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double number_or_nan(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return kNaN;
  return j.at(key).get<double>();
}

}  // namespace

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names{"accuracy", "bac", "sensitivity", "specificity", "auc"};
  return names;
}

double metric_value(const ClassificationMetrics& m, const std::string& name) {
  if (name == "accuracy") return m.accuracy;
  if (name == "bac") return m.balanced_accuracy;
  if (name == "sensitivity") return m.sensitivity;
  if (name == "specificity") return m.specificity;
  if (name == "auc") return m.auc;
  throw Error("unknown metric '" + name + "'; valid: accuracy, bac, sensitivity, specificity, auc");
}

nlohmann::json to_json(const ClassificationMetrics& m) {
  return nlohmann::json{{"accuracy", number_or_null(m.accuracy)},
                        {"bac", number_or_null(m.balanced_accuracy)},
                        {"sensitivity", number_or_null(m.sensitivity)},
                        {"specificity", number_or_null(m.specificity)},
                        {"auc", number_or_null(m.auc)},
                        {"count", m.count}};
}

ClassificationMetrics metrics_from_json(const nlohmann::json& j) {
  return with_context("while reading classification metrics", [&] {
    check(j.is_object(), "expected a JSON object, got " + j.dump());
    ClassificationMetrics m;
    m.accuracy = number_or_nan(j, "accuracy");
    m.balanced_accuracy = number_or_nan(j, "bac");
    m.sensitivity = number_or_nan(j, "sensitivity");
    m.specificity = number_or_nan(j, "specificity");
    m.auc = number_or_nan(j, "auc");
    m.count = j.value("count", int64_t{0});
    return m;
  });
}

double accuracy(const std::vector<int>& labels, const std::vector<int>& predictions) {
  check_labels(labels, predictions.size(), "accuracy");
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += labels[i] == predictions[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double recall(const std::vector<int>& labels, const std::vector<int>& predictions, int cls) {
  check_labels(labels, predictions.size(), "recall");
  int64_t n = 0, hit = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != cls) continue;
    ++n;
    hit += predictions[i] == cls;
  }
  return n == 0 ? kNaN : static_cast<double>(hit) / static_cast<double>(n);
}

double sensitivity(const std::vector<int>& labels, const std::vector<int>& predictions) {
  return recall(labels, predictions, 1);
}

double specificity(const std::vector<int>& labels, const std::vector<int>& predictions) {
  return recall(labels, predictions, 0);
}

double balanced_accuracy(const std::vector<int>& labels, const std::vector<int>& predictions) {
  const double r[2] = {specificity(labels, predictions), sensitivity(labels, predictions)};
  double sum = 0.0;
  int n = 0;
  for (double v : r)
    if (!std::isnan(v)) sum += v, ++n;
  return n == 0 ? kNaN : sum / n;
}

double roc_auc(const std::vector<int>& labels, const std::vector<double>& scores) {
  check_labels(labels, scores.size(), "roc_auc");
  for (size_t i = 0; i < scores.size(); ++i)
    check(!std::isnan(scores[i]), "roc_auc: score " + std::to_string(i) + " is NaN");
  // Mann-Whitney U via mid-ranks: U = sum of positive ranks - n1 (n1 + 1) / 2; tied groups get
  // their average rank, which is what counting a tied pair 1/2 amounts to.
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0.0;
  int64_t n_pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // ranks i+1..j
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]] == 1) positive_rank_sum += mid_rank, ++n_pos;
    i = j;
  }
  const int64_t n_neg = static_cast<int64_t>(labels.size()) - n_pos;
  if (n_pos == 0 || n_neg == 0) return kNaN;
  const double u = positive_rank_sum - static_cast<double>(n_pos) * static_cast<double>(n_pos + 1) / 2.0;
  return u / (static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

ClassificationMetrics classification_metrics(const std::vector<int>& labels, const std::vector<int>& predictions,
                                             const std::vector<double>& scores) {
  ClassificationMetrics m;
  m.count = static_cast<int64_t>(labels.size());
  m.accuracy = accuracy(labels, predictions);
  m.sensitivity = sensitivity(labels, predictions);
  m.specificity = specificity(labels, predictions);
  m.balanced_accuracy = balanced_accuracy(labels, predictions);
  m.auc = roc_auc(labels, scores);
  return m;
}

ClassificationMetrics classification_metrics(const std::vector<int>& labels,
                                             const std::vector<std::array<double, 2>>& probabilities) {
  std::vector<int> pred;
  std::vector<double> score;
  for (const auto& p : probabilities) {
    pred.push_back(p[1] > p[0] ? 1 : 0);
    score.push_back(p[1]);
  }
  return classification_metrics(labels, pred, score);
}

void ClassificationAccumulator::update(const torch::Tensor& scores, const torch::Tensor& labels, bool are_logits) {
  check(scores.dim() == 2 && scores.size(1) == 2,
        "ClassificationAccumulator::update: scores have shape " + c10::str(scores.sizes()) + "; expected [B, 2]");
  check(labels.dim() == 1 && labels.size(0) == scores.size(0),
        "ClassificationAccumulator::update: labels have shape " + c10::str(labels.sizes()) + "; expected [" +
            std::to_string(scores.size(0)) + "]");
  auto s = scores.detach().to(torch::kCPU, torch::kDouble);
  // A NaN output would become an arbitrary class through argmax: a broken model, not a result.
  const int64_t bad = s.size(0) - torch::isfinite(s).all(1).sum().item<int64_t>();
  check(bad == 0, "the model's outputs are not finite (NaN or infinite) for " + std::to_string(bad) + " of " +
                      std::to_string(s.size(0)) + " subjects; the weights or the inputs are broken");
  if (are_logits) s = torch::softmax(s, 1);
  const auto pred = s.argmax(1).to(torch::kLong).contiguous();
  const auto lab = labels.detach().to(torch::kCPU, torch::kLong).contiguous();
  s = s.contiguous();
  const double* ps = s.data_ptr<double>();
  for (int64_t i = 0; i < s.size(0); ++i)
    update(static_cast<int>(lab.data_ptr<int64_t>()[i]), static_cast<int>(pred.data_ptr<int64_t>()[i]), ps[2 * i + 1]);
}

void ClassificationAccumulator::update(int label, int prediction, double score) {
  check(label == 0 || label == 1, "ClassificationAccumulator: label " + std::to_string(label) + "; expected 0 or 1");
  labels_.push_back(label);
  predictions_.push_back(prediction);
  scores_.push_back(score);
}

ClassificationMetrics ClassificationAccumulator::aggregate() const {
  check(!labels_.empty(), "ClassificationAccumulator::aggregate: nothing accumulated since the last reset");
  return classification_metrics(labels_, predictions_, scores_);
}

void ClassificationAccumulator::reset() {
  labels_.clear();
  predictions_.clear();
  scores_.clear();
}

MetricSummary summarize(const std::vector<double>& values) {
  MetricSummary s;
  double sum = 0.0;
  for (double v : values)
    if (!std::isnan(v)) sum += v, ++s.n;
  if (s.n == 0) {
    s.mean = s.std = kNaN;
    return s;
  }
  s.mean = sum / static_cast<double>(s.n);
  double sq = 0.0;
  for (double v : values)
    if (!std::isnan(v)) sq += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(sq / static_cast<double>(s.n));
  return s;
}

}  // namespace mprotonet
