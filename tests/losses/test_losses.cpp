// SPDX-License-Identifier: MIT
// Loss terms of docs/method.md#training against the independent Python oracle
// (tests/helpers/losses_oracle.py): every term and the gradients of the joint and last-layer
// totals, for both mapping scales; plus error handling and option plumbing.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/losses/focal.h"
#include "mprotonet/losses/prototype_losses.h"
#include "mprotonet/losses/total_loss.h"

using namespace mprotonet;

namespace {

using TensorMap = std::map<std::string, torch::Tensor>;

/// Runs the oracle and loads its dict of tensors. ctest starts one process per test, so the
/// output is cached under the build directory and regenerated whenever the oracle script is
/// newer than the cache (written under a temporary name and renamed: parallel tests never read
/// a partial file).
const TensorMap& oracle() {
  static TensorMap data = [] {
    namespace fs = std::filesystem;
    const fs::path script = test::source_dir() / "tests" / "helpers" / "losses_oracle.py";
    const fs::path cache = fs::path(MPROTONET_BINARY_DIR) / "test-cache" / "losses_oracle.pt";
    std::error_code ec;
    if (!fs::exists(cache) || fs::last_write_time(cache) < fs::last_write_time(script)) {
      fs::create_directories(cache.parent_path(), ec);
      const fs::path tmp = cache.string() + ".tmp-" + std::to_string(::getpid());
      auto r = test::run_python_helper("losses_oracle.py", test::shell_quote(tmp.string()));
      if (r.exit_code != 0) return TensorMap{};
      fs::rename(tmp, cache);
    }
    TensorMap m;
    std::ifstream in(cache, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto dict = torch::pickle_load(bytes).toGenericDict();
    for (const auto& kv : dict) m[kv.key().toStringRef()] = kv.value().toTensor();
    return m;
  }();
  return data;
}

torch::Tensor get(const std::string& key) {
  const auto& m = oracle();
  auto it = m.find(key);
  if (it == m.end()) throw std::runtime_error("oracle output lacks key " + key);
  return it->second;
}

/// A fresh float32 copy (never the cached tensor, so tests cannot change each other's inputs).
torch::Tensor f32(const std::string& key) { return get(key).to(torch::kFloat).clone(); }

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what,
                  double tol = 1e-5) {
  ASSERT_TRUE(actual.defined()) << what << " is undefined";
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  auto a = actual.detach().to(torch::kDouble), e = expected.to(torch::kDouble);
  const double err = (a - e).abs().max().item<double>();
  const double scale = std::max(1.0, e.abs().max().item<double>());
  EXPECT_LE(err, tol * scale) << what << ": max abs difference " << err;
}

/// The occurrence-map function shared with the oracle: sigmoid(conv3d(x, W, padding 1)).
OccurrenceMapFn occurrence_fn(const torch::Tensor& weight) {
  return [weight](const torch::Tensor& x) {
    return torch::sigmoid(torch::conv3d(x, weight, {}, 1, 1));
  };
}

constexpr double kMaxDist = 16.0;

}  // namespace

TEST(Losses, OracleRuns) { ASSERT_FALSE(oracle().empty()); }

TEST(Losses, ClassBalancedWeights) {
  auto labels = torch::cat({torch::zeros({7}, torch::kLong), torch::ones({23}, torch::kLong)});
  expect_close(class_balanced_weights(labels), f32("class_weights"), "w_c = 1/n_c");
  EXPECT_THROW(class_balanced_weights(torch::ones({5}, torch::kLong)), Error);  // class 0 empty
  EXPECT_THROW(class_balanced_weights(torch::full({3}, 2, torch::kLong)), Error);  // label 2 of 2
}

TEST(Losses, FocalMatchesOracle) {
  auto logits = f32("logits"), labels = get("labels"), w = f32("class_weights");
  expect_close(focal_loss(logits, labels, w), get("joint_cls_s0"), "focal gamma 2");
  expect_close(focal_loss(logits, labels, w, 0.0), get("focal_gamma0"), "focal gamma 0 (weighted CE)");
  expect_close(focal_loss(logits, labels, torch::Tensor()), get("focal_unweighted"), "unweighted focal");
  // and the gamma-0 case is torch's own weighted cross-entropy
  expect_close(focal_loss(logits, labels, w, 0.0),
               torch::nn::functional::cross_entropy(logits, labels,
                                                    torch::nn::functional::CrossEntropyFuncOptions().weight(w)),
               "weighted CE");
}

TEST(Losses, ClusterSeparationL1MatchOracle) {
  auto d = f32("min_distances"), labels = get("labels"), id = f32("identity"), w = f32("class_weights");
  expect_close(cluster_cost(d, labels, id, w, kMaxDist), get("joint_cluster_s0"), "cluster");
  expect_close(separation_cost(d, labels, id, w, kMaxDist), get("joint_separation_s0"), "separation");
  expect_close(last_layer_l1(f32("last_layer_weight"), id), get("last_l1"), "L1");
}

TEST(Losses, OnlineCamMatchesOracle) {
  auto last_w = f32("last_layer_weight");
  LastLayerFn last = [last_w](const torch::Tensor& s) { return torch::matmul(s, last_w.t()); };
  expect_close(online_cam_loss(f32("h"), f32("head_conv_weight"), last, get("labels"), f32("class_weights")),
               get("joint_online_cam_s0"), "online-CAM");
  // a [P, D, 1, 1, 1] conv weight and an unflattened h give the same value
  auto h5 = f32("h").view({6, 5, 4, 5, 2});
  expect_close(online_cam_loss(h5, f32("head_conv_weight").view({6, 5, 1, 1, 1}), last, get("labels"),
                               f32("class_weights")),
               get("joint_online_cam_s0"), "online-CAM (5-D inputs)");
}

class JointLossOracle : public ::testing::TestWithParam<int> {};

TEST_P(JointLossOracle, TermsAndGradientsMatch) {
  const std::string sfx = "_s" + std::to_string(GetParam());
  const double scale = get("scale" + sfx).item<double>();
  EXPECT_EQ(scale, kMappingScales[GetParam()]);

  std::map<std::string, torch::Tensor> leaf;
  for (const char* k : {"logits", "min_distances", "features", "map_conv_weight", "h",
                        "head_conv_weight", "last_layer_weight"})
    leaf[k] = f32(k).requires_grad_(true);

  JointLossInputs in;
  in.logits = leaf["logits"];
  in.labels = get("labels");
  in.min_distances = leaf["min_distances"];
  in.prototype_class_identity = f32("identity");
  in.max_dist = kMaxDist;
  in.occurrence_fn = occurrence_fn(leaf["map_conv_weight"]);
  in.features = leaf["features"];
  in.occurrence_maps = in.occurrence_fn(in.features);
  in.mapping_scale = scale;
  in.online_cam_h = leaf["h"];
  in.head_conv_weight = leaf["head_conv_weight"];
  auto last_w = leaf["last_layer_weight"];
  in.last_layer = [last_w](const torch::Tensor& s) { return torch::matmul(s, last_w.t()); };

  Rng rng(1);
  LossTerms t = joint_loss(in, f32("class_weights"), LossOptions(), rng);
  EXPECT_EQ(t.mapping_scale, scale);
  expect_close(t.cls, get("joint_cls" + sfx), "cls");
  expect_close(t.cluster, get("joint_cluster" + sfx), "cluster");
  expect_close(t.separation, get("joint_separation" + sfx), "separation");
  expect_close(t.mapping, get("joint_mapping" + sfx), "mapping");
  expect_close(t.online_cam, get("joint_online_cam" + sfx), "online-CAM");
  expect_close(t.total, get("joint_total" + sfx), "total");
  EXPECT_FALSE(t.l1.defined());

  t.total.backward();
  for (auto& [name, tensor] : leaf)
    expect_close(tensor.grad(), get("joint_grad_" + name + sfx), "d total / d " + name);

  const auto values = t.values();
  EXPECT_EQ(values.size(), 6u);
  EXPECT_NEAR(values.at("total"), get("joint_total" + sfx).item<double>(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(BothScales, JointLossOracle, ::testing::Values(0, 1));

TEST(Losses, LastLayerLossMatchesOracle) {
  auto logits = f32("logits").requires_grad_(true);
  auto w = f32("last_layer_weight").requires_grad_(true);
  LossTerms t = last_layer_loss(logits, get("labels"), f32("class_weights"), w, f32("identity"), LossOptions());
  expect_close(t.cls, get("last_cls"), "cls");
  expect_close(t.l1, get("last_l1"), "L1");
  expect_close(t.total, get("last_total"), "total");
  t.total.backward();
  expect_close(logits.grad(), get("last_grad_logits"), "d total / d logits");
  expect_close(w.grad(), get("last_grad_last_layer_weight"), "d total / d last_layer.weight");
}

TEST(Losses, MappingScaleDrawnFromGenerator) {
  // Same seed -> same scale sequence; both scales occur about half the time.
  Rng a(5), b(5);
  int n_small = 0;
  for (int i = 0; i < 2000; ++i) {
    const double s = draw_mapping_scale(a);
    EXPECT_EQ(s, draw_mapping_scale(b));
    ASSERT_TRUE(s == 0.75 || s == 0.875) << s;
    n_small += s == 0.75;
  }
  EXPECT_NEAR(n_small, 1000, 4 * std::sqrt(2000 * 0.25));

  // joint_loss without an explicit scale uses the generator and reports the scale it used.
  auto x = f32("features");
  auto fn = occurrence_fn(f32("map_conv_weight"));
  auto maps = fn(x);
  JointLossInputs in;
  in.logits = f32("logits");
  in.labels = get("labels");
  in.min_distances = f32("min_distances");
  in.prototype_class_identity = f32("identity");
  in.max_dist = kMaxDist;
  in.features = x;
  in.occurrence_maps = maps;
  in.occurrence_fn = fn;
  Rng rng(11);
  auto t = joint_loss(in, f32("class_weights"), LossOptions::for_p_mode(3), rng);
  const int idx = t.mapping_scale == 0.75 ? 0 : 1;
  ASSERT_TRUE(t.mapping_scale == 0.75 || t.mapping_scale == 0.875);
  expect_close(t.mapping, get("joint_mapping_s" + std::to_string(idx)), "mapping with drawn scale");
  EXPECT_FALSE(t.online_cam.defined());
}

TEST(Losses, OptionsForPModeAndMissingInputs) {
  EXPECT_EQ(LossOptions::for_p_mode(1).mapping, 0.0);
  EXPECT_EQ(LossOptions::for_p_mode(1).online_cam, 0.0);
  EXPECT_EQ(LossOptions::for_p_mode(2).mapping, 0.5);
  EXPECT_EQ(LossOptions::for_p_mode(3).online_cam, 0.0);
  EXPECT_EQ(LossOptions::for_p_mode(5).online_cam, 0.05);
  EXPECT_EQ(LossOptions().separation, -0.08);
  EXPECT_THROW(LossOptions::for_p_mode(6), Error);

  JointLossInputs in;
  in.logits = f32("logits");
  in.labels = get("labels");
  in.min_distances = f32("min_distances");
  in.prototype_class_identity = f32("identity");
  in.max_dist = kMaxDist;
  Rng rng(0);
  // p_mode 1 coefficients: no mapping / OC inputs needed
  auto t = joint_loss(in, f32("class_weights"), LossOptions::for_p_mode(1), rng);
  expect_close(t.total, get("joint_cls_s0") + 0.8 * get("joint_cluster_s0") - 0.08 * get("joint_separation_s0"),
               "p_mode 1 total");
  // p_mode 5 coefficients without the maps: an Error that says what is missing
  try {
    joint_loss(in, f32("class_weights"), LossOptions(), rng);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mapping"), std::string::npos) << e.what();
  }
  // shape errors name the shapes
  try {
    cluster_cost(f32("min_distances"), get("labels"), torch::ones({5, 2}), f32("class_weights"), kMaxDist);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("prototype_class_identity"), std::string::npos) << e.what();
  }
}

TEST(Losses, OptionsJsonRoundTrip) {
  LossOptions o = LossOptions::for_p_mode(2);
  o.l1 = 0.02;
  nlohmann::json j = o;
  LossOptions back = j.get<LossOptions>();
  EXPECT_EQ(back.mapping, 0.5);
  EXPECT_EQ(back.online_cam, 0.0);
  EXPECT_EQ(back.l1, 0.02);
  EXPECT_THROW(nlohmann::json({{"clst", 1.0}}).get<LossOptions>(), Error);
}
