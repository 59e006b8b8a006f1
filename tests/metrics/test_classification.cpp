// SPDX-License-Identifier: MIT
// Classification metrics against values computed by hand (docs/method.md#metrics).
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/metrics/classification.h"

using namespace mprotonet;

// 6 subjects: labels 1 1 1 1 0 0; predictions 1 1 0 1 0 1.
// HGG recall 3/4, LGG recall 1/2, accuracy 4/6, BAC (0.75 + 0.5) / 2 = 0.625.
TEST(Metrics, HandComputedRecallsAndAccuracy) {
  const std::vector<int> y{1, 1, 1, 1, 0, 0};
  const std::vector<int> p{1, 1, 0, 1, 0, 1};
  EXPECT_DOUBLE_EQ(accuracy(y, p), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(sensitivity(y, p), 0.75);
  EXPECT_DOUBLE_EQ(specificity(y, p), 0.5);
  EXPECT_DOUBLE_EQ(balanced_accuracy(y, p), 0.625);
}

// Positives scores {0.9, 0.4, 0.6}, negatives {0.4, 0.2}: pairs (pos, neg) ordered correctly:
// 0.9>0.4 1, 0.9>0.2 1, 0.4=0.4 1/2, 0.4>0.2 1, 0.6>0.4 1, 0.6>0.2 1 -> 5.5 / 6.
TEST(Metrics, AucCountsTiesAsHalf) {
  const std::vector<int> y{1, 1, 1, 0, 0};
  const std::vector<double> s{0.9, 0.4, 0.6, 0.4, 0.2};
  EXPECT_DOUBLE_EQ(roc_auc(y, s), 5.5 / 6.0);
  // All scores equal: every pair is a tie -> 0.5.
  EXPECT_DOUBLE_EQ(roc_auc(y, std::vector<double>(5, 0.3)), 0.5);
  // Perfectly reversed ranking -> 0.
  EXPECT_DOUBLE_EQ(roc_auc({1, 1, 0}, {0.1, 0.2, 0.9}), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc({0, 1, 0, 1}, {0.1, 0.8, 0.3, 0.35}), 1.0);
}

TEST(Metrics, AucMatchesBruteForcePairCount) {
  // Many ties and a random order: the rank formula must equal the O(n^2) definition.
  std::vector<int> y;
  std::vector<double> s;
  uint32_t state = 12345;
  for (int i = 0; i < 200; ++i) {
    state = state * 1664525u + 1013904223u;
    y.push_back(static_cast<int>((state >> 16) & 1));
    s.push_back(static_cast<double>((state >> 20) % 7) / 7.0);  // 7 distinct values
  }
  double good = 0.0, pairs = 0.0;
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t j = 0; j < y.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1.0;
        good += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
      }
  EXPECT_NEAR(roc_auc(y, s), good / pairs, 1e-12);
}

TEST(Metrics, OneClassGivesNaNWhereUndefined) {
  const std::vector<int> y{1, 1, 1};
  const std::vector<int> p{1, 0, 1};
  EXPECT_TRUE(std::isnan(specificity(y, p)));
  EXPECT_TRUE(std::isnan(roc_auc(y, {0.1, 0.2, 0.3})));
  // sklearn's balanced_accuracy_score drops the undefined recall.
  EXPECT_DOUBLE_EQ(balanced_accuracy(y, p), 2.0 / 3.0);
}

TEST(Metrics, AccumulatorOverBatchesEqualsWholeSet) {
  // Logits: softmax keeps the order, prediction = argmax.
  ClassificationAccumulator acc;
  acc.update(torch::tensor({{2.0, 0.0}, {0.0, 1.0}, {0.5, 0.4}}), torch::tensor({0, 1, 1}));
  acc.update(torch::tensor({{0.0, 3.0}, {1.0, 1.5}}), torch::tensor({0, 1}));
  ASSERT_EQ(acc.size(), 5);
  EXPECT_EQ(acc.predictions(), (std::vector<int>{0, 1, 0, 1, 1}));
  const auto m = acc.aggregate();
  // labels 0 1 1 0 1 / preds 0 1 0 1 1: acc 3/5, sens 2/3, spec 1/2.
  EXPECT_DOUBLE_EQ(m.accuracy, 0.6);
  EXPECT_DOUBLE_EQ(m.sensitivity, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.specificity, 0.5);
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, (2.0 / 3.0 + 0.5) / 2.0);
  // Class-1 logit margins: 0 -> -2, 1 -> 1, 1 -> -0.1, 0 -> 3, 1 -> 0.5. Pos {1, -0.1, 0.5} vs
  // neg {-2, 3}: each positive beats -2 and loses to 3 -> 3 / 6.
  EXPECT_DOUBLE_EQ(m.auc, 0.5);
  EXPECT_NEAR(acc.scores()[1], 1.0 / (1.0 + std::exp(-1.0)), 1e-12);
  acc.reset();
  EXPECT_EQ(acc.size(), 0);
  EXPECT_THROW(acc.aggregate(), Error);
}

TEST(Metrics, JsonRoundTripAndSummary) {
  ClassificationMetrics m;
  m.accuracy = 0.5;
  m.balanced_accuracy = 0.25;
  m.sensitivity = std::nan("");
  m.specificity = 1.0;
  m.auc = 0.75;
  m.count = 4;
  const auto j = to_json(m);
  EXPECT_TRUE(j.at("sensitivity").is_null());
  const auto back = metrics_from_json(j);
  EXPECT_DOUBLE_EQ(back.auc, 0.75);
  EXPECT_TRUE(std::isnan(back.sensitivity));
  const auto s = summarize({0.8, 0.9, std::nan(""), 1.0});
  EXPECT_EQ(s.n, 3);
  EXPECT_DOUBLE_EQ(s.mean, 0.9);
  EXPECT_NEAR(s.std, std::sqrt(0.02 / 3.0), 1e-12);
}

TEST(Metrics, BadInputIsAnError) {
  EXPECT_THROW(accuracy({1, 0}, {1}), Error);
  EXPECT_THROW(accuracy({}, {}), Error);
  EXPECT_THROW(accuracy({2, 0}, {1, 0}), Error);
  EXPECT_THROW(metric_value(ClassificationMetrics{}, "f1"), Error);
  ClassificationAccumulator acc;
  EXPECT_THROW(acc.update(torch::zeros({3, 3}), torch::zeros({3}, torch::kLong)), Error);
}
