// SPDX-License-Identifier: MIT
// Localisation (AP, DSC), faithfulness (deletion / addition, IDS / IAS), missing modalities and
// paired significance (docs/method.md#metrics): hand-computed values on tiny volumes, scipy.stats as the oracle
// for the tests.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/metrics/faithfulness.h"
#include "mprotonet/metrics/localization.h"
#include "mprotonet/metrics/missing_modalities.h"
#include "mprotonet/metrics/significance.h"
#include "mprotonet/nets/model_config.h"

using namespace mprotonet;

namespace {

// ------------------------------------------------------------------------------ localisation
TEST(Localization, HandComputed) {
  // One subject, two channels, 1 x 1 x 4 voxels.
  // ch0 = [0, 1, 2, 4], ch1 = [4, 0, 0, 3]: joint min 0, max 4 -> ch0 [0, .25, .5, 1], ch1 [1, 0, 0, .75]
  // A0 = {2, 3}, A1 = {0, 3}; seg [0, 1, 4, 3] -> WT = {1, 2} (3 is not a tumour label).
  // ch0: |A n WT| = 1 -> AP 1/2, DSC 2/(2+2) = 1/2; ch1: AP 0, DSC 0.
  auto maps = torch::tensor({0., 1., 2., 4., 4., 0., 0., 3.}).reshape({1, 2, 1, 1, 4});
  auto seg = torch::tensor({0., 1., 4., 3.}).reshape({1, 1, 1, 1, 4});
  auto s = localization_scores(maps, seg);
  EXPECT_DOUBLE_EQ(s.ap[0][0].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(s.dsc[0][0].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(s.ap[0][1].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(s.dsc[0][1].item<double>(), 0.0);
  // Shifting and scaling the map changes nothing (per-subject min-max).
  auto s2 = localization_scores(maps * 3 - 7, seg.squeeze(1));
  EXPECT_TRUE(torch::equal(s.ap, s2.ap));
  // Second subject: everything tumour, map peaked at one voxel of ch1 -> ch0 A empty: AP 0, DSC 0;
  // ch1 A = {1}: AP 1, DSC 2 * 1 / (1 + 4) = 0.4.
  auto maps2 = torch::tensor({0., 0., 0., 0., 0., 5., 0., 0.}).reshape({1, 2, 1, 1, 4});
  auto seg2 = torch::tensor({1., 2., 4., 1.}).reshape({1, 1, 1, 1, 4});
  LocalizationAccumulator acc;
  acc.update(maps, seg);
  acc.update(maps2, seg2);
  auto sum = acc.aggregate();
  EXPECT_EQ(sum.count, 2);
  ASSERT_EQ(sum.ap_per_channel.size(), 2u);
  EXPECT_DOUBLE_EQ(sum.ap_per_channel[0], 0.25);
  EXPECT_DOUBLE_EQ(sum.ap_per_channel[1], 0.5);
  EXPECT_DOUBLE_EQ(sum.dsc_per_channel[1], 0.2);
  EXPECT_DOUBLE_EQ(sum.ap, (0.25 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(sum.dsc, (0.25 + 0.2) / 2);
  acc.reset();
  EXPECT_EQ(acc.aggregate().count, 0);
}

TEST(Localization, OneMinMaxPerSubjectAcrossChannelsWithDifferentRanges) {
  // ch0 = [0, 1, 2, 10], ch1 = [0, 1, 2, 3]: joint min 0, max 10 -> ch0 [0, .1, .2, 1] (A0 = {3}),
  // ch1 [0, .1, .2, .3] (A1 empty); seg [0, 0, 1, 2] -> WT = {2, 3}.
  // ch0: AP 1, DSC 2 / (1 + 2); ch1: AP 0, DSC 0. Normalising each channel on its own range would
  // give ch1 [0, 1/3, 2/3, 1], A1 = {2, 3}: AP 1, DSC 1.
  auto maps = torch::tensor({0., 1., 2., 10., 0., 1., 2., 3.}).reshape({1, 2, 1, 1, 4});
  auto seg = torch::tensor({0., 0., 1., 2.}).reshape({1, 1, 1, 1, 4});
  auto s = localization_scores(maps, seg);
  EXPECT_DOUBLE_EQ(s.ap[0][0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s.dsc[0][0].item<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.ap[0][1].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(s.dsc[0][1].item<double>(), 0.0);
  // Two subjects in one batch: the second's range (offset -50, 100x larger) must not leak into
  // the first's normalisation, and vice versa (one min and max per subject, not per batch).
  auto both = torch::cat({maps, maps * 100 - 50});
  auto s2 = localization_scores(both, torch::cat({seg, seg}));
  EXPECT_TRUE(torch::equal(s2.ap[0], s.ap[0]));
  EXPECT_TRUE(torch::equal(s2.ap[1], s.ap[0]));
  EXPECT_TRUE(torch::equal(s2.dsc[1], s.dsc[0]));
}

TEST(Localization, MatchesNumpyOracleOnRandomMaps) {
  // 6 subjects, 4 channels of different offsets and ranges (as attribution maps of different
  // modalities have), 3 x 4 x 5 voxels, random labels 0..4 (3 is not a tumour label).
  torch::manual_seed(23);
  const int64_t n = 6, c = 4, d = 3, h = 4, w = 5;
  auto scale = torch::tensor({1.0, 0.2, 7.0, 30.0}, torch::kDouble).reshape({1, c, 1, 1, 1});
  auto offset = torch::tensor({0.0, 3.0, -5.0, 1.0}, torch::kDouble).reshape({1, c, 1, 1, 1});
  auto maps = (torch::rand({n, c, d, h, w}, torch::kDouble).pow(2) * scale + offset).contiguous();
  maps[2][1] = 4.0;  // one constant channel inside a non-constant map
  maps[3] = -2.0;    // a constant subject: nothing activated
  auto seg = torch::randint(0, 5, {n, d, h, w}, torch::kDouble).contiguous();
  test::TempDir tmp;
  const auto write = [&](const std::string& name, const torch::Tensor& t) {
    std::ofstream(tmp / name, std::ios::binary)
        .write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * sizeof(double)));
    return test::shell_quote((tmp / name).string());
  };
  const std::string args = write("maps.f64", maps) + " " + write("seg.f64", seg) + " 6 4 3 4 5";
  for (const double threshold : {0.5, 0.3}) {
    SCOPED_TRACE("threshold " + std::to_string(threshold));
    auto r = test::run_python_helper("localization_oracle.py", args + " " + std::to_string(threshold));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto expected = nlohmann::json::parse(r.output);
    LocalizationOptions options;
    options.threshold = threshold;
    const auto s = localization_scores(maps, seg, options);
    double spread = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < c; ++k) {
        EXPECT_NEAR(s.ap[i][k].item<double>(), expected["ap"][i][k].get<double>(), 1e-12) << i << "," << k;
        EXPECT_NEAR(s.dsc[i][k].item<double>(), expected["dsc"][i][k].get<double>(), 1e-12) << i << "," << k;
        spread += std::abs(expected["ap"][i][k].get<double>() - expected["ap"][0][0].get<double>());
      }
    EXPECT_GT(spread, 0.5) << "the random maps give nearly the same AP everywhere; not a useful check";
  }
}

TEST(Localization, ConstantMapAndBadShapes) {
  auto s = localization_scores(torch::full({1, 4, 2, 2, 2}, 3.0), torch::ones({1, 1, 2, 2, 2}));
  EXPECT_EQ(s.ap.sum().item<double>(), 0.0);
  EXPECT_THROW(localization_scores(torch::rand({1, 4, 2, 2, 2}), torch::ones({1, 1, 2, 2, 3})), Error);
  EXPECT_THROW(localization_scores(torch::rand({4, 2, 2, 2}), torch::ones({1, 2, 2, 2})), Error);
  auto nan_map = torch::rand({1, 1, 2, 2, 2});
  nan_map[0][0][0][0][0] = NAN;
  EXPECT_THROW(localization_scores(nan_map, torch::ones({1, 1, 2, 2, 2})), Error);
}

// ------------------------------------------------------------------------------ faithfulness
TEST(Faithfulness, ThresholdsAndPerturbedInputs) {
  // One channel of 11 voxels holding 0..10; 10 steps: quantiles 100 %, 90 %, ..., 0 % = 10, 9, ..., 0.
  auto map = torch::arange(11, torch::kDouble).reshape({1, 1, 1, 11});
  auto thr = deletion_thresholds(map, 10);
  for (int i = 0; i <= 10; ++i) EXPECT_DOUBLE_EQ(thr[i].item<double>(), 10.0 - i);
  // Two channels averaged: ch0 0..10, ch1 constant 5 -> mean 2.5..7.5, same ordering.
  auto two = torch::cat({map, torch::full({1, 1, 1, 11}, 5.0, torch::kDouble)});
  EXPECT_DOUBLE_EQ(deletion_thresholds(two, 10)[0].item<double>(), 7.5);
  EXPECT_DOUBLE_EQ(deletion_thresholds(two, 4)[1].item<double>(), 2.5 + 0.75 * 5);  // 75 % of 2.5..7.5
  auto input = torch::ones({2, 1, 1, 11});
  auto del = deletion_inputs(input, map.to(torch::kFloat).expand({2, 1, 1, 11}), 10);
  auto add = addition_inputs(input, map.to(torch::kFloat).expand({2, 1, 1, 11}), 10);
  ASSERT_EQ(del.sizes(), (std::vector<int64_t>{11, 2, 1, 1, 11}));
  // Step 0: untouched / all zero. Step i: the i + 1 voxels with value >= 10 - i removed / kept.
  EXPECT_EQ(del[0].sum().item<double>(), 22);
  EXPECT_EQ(add[0].sum().item<double>(), 0);
  for (int i = 1; i <= 10; ++i) {
    EXPECT_EQ(del[i].sum().item<double>(), 2 * (11 - (i + 1))) << i;
    EXPECT_EQ(add[i].sum().item<double>(), 2 * (i + 1)) << i;
    EXPECT_EQ(del[i][1][0][0][10].item<double>(), 0);  // the peak goes first
  }
}

TEST(Faithfulness, CurveAreaByHand) {
  EXPECT_NEAR(normalised_curve_area({1, 1, 0.5, 0}), 2.0 / 3, 1e-12);
  // Clipped to [0.2, 0.8]: [0.8, 0.8, 0.4, 0.2] -> [1, 1, 1/3, 0]: (1 + 2/3 + 1/6) / 3.
  EXPECT_NEAR(normalised_curve_area({0.8, 0.9, 0.4, 0.2}), 11.0 / 18, 1e-12);
  // Rising (addition) curve [0, 0.5, 1]: (0.25 + 0.75) / 2.
  EXPECT_NEAR(normalised_curve_area({0, 0.5, 1}), 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(normalised_curve_area({0.5, 0.7, 0.5})));
  EXPECT_TRUE(std::isnan(normalised_curve_area({0.5})));
}

TEST(Faithfulness, AccumulatorCurvesByHand) {
  // Labels [1, 1, 1, 0]; 3 steps.
  // deletion predictions per subject: [1,1,0], [1,0,0], [1,1,1], [0,0,1]
  // step 0: all right -> acc 1, BAC 1; step 1: right on s0, s2, s3 -> acc 3/4, BAC (2/3 + 1) / 2 = 5/6;
  // step 2: right on s2 -> acc 1/4, BAC (1/3 + 0) / 2 = 1/6.
  FaithfulnessAccumulator acc;
  auto del = torch::tensor({1, 1, 0, 1, 0, 0}, torch::kLong).reshape({2, 3});
  auto del2 = torch::tensor({1, 1, 1, 0, 0, 1}, torch::kLong).reshape({2, 3});
  auto add = torch::zeros({2, 3}, torch::kLong);
  acc.update(del, add, torch::tensor({1, 1}, torch::kLong));
  acc.update(del2, add, torch::tensor({1, 0}, torch::kLong));
  auto r = acc.aggregate();
  EXPECT_EQ(r.count, 4);
  ASSERT_EQ(r.deletion_accuracy.size(), 3u);
  EXPECT_DOUBLE_EQ(r.deletion_accuracy[1], 0.75);
  EXPECT_DOUBLE_EQ(r.deletion_accuracy[2], 0.25);
  EXPECT_NEAR(r.deletion_bac[1], 5.0 / 6, 1e-12);
  EXPECT_NEAR(r.deletion_bac[2], 1.0 / 6, 1e-12);
  // BAC curve normalised: [1, 0.8, 0] -> (0.9 + 0.4) / 2 = 0.65.
  EXPECT_NEAR(r.ids, 0.65, 1e-12);
  // Addition predicts 0 everywhere: a flat curve, no area.
  EXPECT_TRUE(std::isnan(r.ias));
  EXPECT_TRUE(to_json(r)["ias"].is_null());
}

// logit 1 = mean of the input - 0.5, logit 0 = 0: predicts 1 while more than half the unit input remains.
class MeanToyImpl : public nets::ClassifierImpl {
 public:
  MeanToyImpl() : ClassifierImpl("MeanToy", config()) {}
  static nets::ModelConfig config() {
    nets::ModelConfig c;
    c.model_name = "CNN3D";
    c.in_size = {2, 32, 32, 32};
    c.features = "resnet18_ri";
    c.n_layers = 6;
    return c;
  }
  nets::ModelOutput forward_all(const torch::Tensor& input) override {
    ++calls;
    auto s = input.flatten(1).mean(1) - 0.5;
    nets::ModelOutput out;
    out.logits = torch::stack({torch::zeros_like(s), s}, 1);
    return out;
  }
  std::string gradcam_layer_name() const override { return "none"; }
  torch::nn::Conv3d gradcam_layer() const override { return torch::nn::Conv3d{nullptr}; }
  int64_t calls = 0;
};

TEST(Faithfulness, BatchedPredictions) {
  MeanToyImpl toy;
  // 100 voxels with distinct map values 0..99, unit input: after deleting a fraction f the mean is
  // 1 - f. Deletion step i removes the voxels >= quantile(1 - i/50): 2i + 1 of them (i < 50)...
  auto map = torch::arange(100, torch::kFloat).reshape({1, 1, 1, 100}).expand({2, 1, 1, 100}).unsqueeze(0);
  auto input = torch::ones({1, 2, 1, 1, 100});
  FaithfulnessOptions o;
  o.batch_size = 17;
  int64_t last = 0;
  o.progress = [&](int64_t done, int64_t total) {
    last = done;
    EXPECT_EQ(total, 102);
  };
  auto p = perturbation_predictions(toy, input, map, o);
  EXPECT_EQ(toy.calls, 6);  // 102 inputs in batches of 17
  EXPECT_EQ(last, 102);
  // The default (one input per forward, the fastest on a CPU) gives the same predictions.
  MeanToyImpl one;
  auto p1 = perturbation_predictions(one, input, map, FaithfulnessOptions{});
  EXPECT_EQ(one.calls, 102);
  EXPECT_TRUE(torch::equal(p1.deletion, p.deletion));
  EXPECT_TRUE(torch::equal(p1.addition, p.addition));
  ASSERT_EQ(p.deletion.sizes(), (std::vector<int64_t>{1, 51}));
  // quantile(q) of 0..99 = 99 q; step i deletes values >= 99 (1 - i/50): count = floor(99 i / 50) + 1.
  for (int i = 0; i <= 50; ++i) {
    const int removed = i == 0 ? 0 : static_cast<int>(std::floor(99.0 * i / 50 + 1e-9)) + 1;
    const int kept = 100 - removed;
    EXPECT_EQ(p.deletion[0][i].item<int64_t>(), kept > 50 ? 1 : 0) << i;
    const int added = i == 0 ? 0 : removed;
    EXPECT_EQ(p.addition[0][i].item<int64_t>(), added > 50 ? 1 : 0) << i;
  }
}

// ------------------------------------------------------------------------- missing modalities
TEST(MissingModalities, SubsetsAndImputation) {
  auto subsets = kept_modality_subsets();
  ASSERT_EQ(subsets.size(), 14u);
  EXPECT_EQ(subset_name(subsets.front()), "t1");
  EXPECT_EQ(subset_name(subsets[4]), "t1+t1ce");
  EXPECT_EQ(subset_name(subsets.back()), "t1ce+t2+flair");
  auto x = torch::arange(1, 5, torch::kFloat).reshape({1, 4, 1, 1, 1}).expand({2, 4, 2, 1, 1}).contiguous();
  auto y = drop_modalities(x, {0, 2});  // kept 1 and 3 -> missing ones become 2
  EXPECT_TRUE(torch::equal(y[1].flatten(1).select(1, 0), torch::tensor({1.f, 2.f, 3.f, 2.f})));
  auto z = drop_modalities(x, {3});
  EXPECT_TRUE(torch::equal(z, torch::full_like(x, 4)));
  EXPECT_THROW(drop_modalities(x, {}), Error);
  EXPECT_THROW(drop_modalities(x, {4}), Error);
}

// ------------------------------------------------------------------------------ significance
TEST(Significance, IncompleteBetaAndT) {
  EXPECT_NEAR(incomplete_beta(1, 1, 0.3), 0.3, 1e-12);
  EXPECT_NEAR(incomplete_beta(2, 3, 0.4), 0.5248, 1e-10);  // 1 - sum_{k<2} C(4,k) .4^k .6^(4-k)
  EXPECT_NEAR(student_t_two_sided_p(0, 4), 1.0, 1e-12);
  EXPECT_NEAR(student_t_two_sided_p(2.776445105, 4), 0.05, 1e-6);  // t_{0.975, 4}
  EXPECT_NEAR(wilcoxon_min_p_value(5), 0.0625, 1e-15);
}

TEST(Significance, MatchesScipy) {
  std::vector<std::pair<std::vector<double>, std::vector<double>>> cases = {
      {{0.71, 0.68, 0.75, 0.70, 0.73}, {0.10, 0.12, 0.09, 0.15, 0.11}},  // 5 folds, all one side
      {{0.5, 0.6, 0.55, 0.52, 0.58}, {0.52, 0.57, 0.56, 0.49, 0.50}},    // mixed signs, exact
      {{1, 2, 3, 4, 5, 6}, {1.5, 1, 4, 3, 5.5, 7.5}},                   // ties in |d| (exact, truncated)
      {{1, 2, 3, 4, 5, 6, 7}, {1, 2.5, 2, 4.5, 4, 6, 5}},               // zeros -> normal approximation
      {{}, {}},                                                         // 60 pairs, filled below
  };
  for (int i = 0; i < 60; ++i) {
    cases.back().first.push_back(std::sin(i * 1.3) + 0.2);
    cases.back().second.push_back(std::cos(i * 0.7));
  }
  test::TempDir tmp;
  nlohmann::json j = nlohmann::json::array();
  for (auto& [a, b] : cases) j.push_back({a, b});
  std::ofstream(tmp / "cases.json") << j.dump();
  auto r = test::run_python_helper("eval_stats_oracle.py", test::shell_quote((tmp / "cases.json").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto expected = nlohmann::json::parse(r.output);
  ASSERT_EQ(expected.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    auto w = wilcoxon_signed_rank(cases[i].first, cases[i].second);
    auto t = paired_t_test(cases[i].first, cases[i].second);
    EXPECT_NEAR(w.statistic, expected[i]["wilcoxon"][0].get<double>(), 1e-9) << i;
    EXPECT_NEAR(w.p_value, expected[i]["wilcoxon"][1].get<double>(), 1e-9) << i;
    EXPECT_NEAR(t.statistic, expected[i]["ttest"][0].get<double>(), 1e-9) << i;
    EXPECT_NEAR(t.p_value, expected[i]["ttest"][1].get<double>(), 1e-9) << i;
  }
  EXPECT_TRUE(wilcoxon_signed_rank(cases[0].first, cases[0].second).exact);
  EXPECT_FALSE(wilcoxon_signed_rank(cases[3].first, cases[3].second).exact);
  EXPECT_NEAR(wilcoxon_signed_rank(cases[0].first, cases[0].second).p_value, 0.0625, 1e-12);
}

TEST(Significance, BadInputAndNote) {
  EXPECT_THROW(paired_t_test({1, 2}, {1}), Error);
  EXPECT_THROW(wilcoxon_signed_rank({1}, {2}), Error);
  EXPECT_TRUE(std::isnan(wilcoxon_signed_rank({1, 2}, {1, 2}).p_value));
  auto j = paired_comparison_json({1, 2, 3, 4, 5}, {0, 1, 2, 3, 5});
  EXPECT_NE(j["note"].get<std::string>().find("little power"), std::string::npos);
}

}  // namespace
