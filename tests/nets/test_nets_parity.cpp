// SPDX-License-Identifier: MIT
// Parity of the C++ models with an independent PyTorch oracle (tests/helpers/oracle_models.py,
// written from docs/method.md): logits to 1e-5 absolute, MProtoNet maps and GradCAM to 1e-4 relative to
// the map's maximum, for CNN3D and every p_mode, BasicBlock and Bottleneck backbones, both
// distances; plus the import / export / predict commands on the oracle's checkpoints.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <set>


#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/attribution/attribution.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/models.h"

using namespace mprotonet;
using nlohmann::json;

namespace {

// Must match oracle_models.py's CASES.
const std::vector<std::string> kCases = {"cnn_r18",     "cnn_r50_l5",    "pm0_r18_cos", "pm0_r18_l2",
                                         "pm1_r18_cos", "pm1_r50_l2",    "pm2_r18_cos", "pm2_r18_l2lin",
                                         "pm3_r50_l2",  "pm4_r18_cos",   "pm5_r152_cos", "pm5_r18_l2"};

// Oracle output, generated once per build tree (see test::cached_oracle_output).
struct Oracle {
  static const std::filesystem::path& dir() {
    static const auto d = test::cached_oracle_output("oracle_models.py", "nets-oracle");
    return d;
  }
};

std::map<std::string, torch::Tensor> fixture(const std::string& name) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [k, v] : read_state_dict(Oracle::dir() / (name + ".fixture.pt"))) out[k] = v;
  return out;
}

nets::Classifier imported(const std::string& name) {
  auto config = nets::read_model_config(Oracle::dir() / (name + ".config.json"));
  auto model = nets::build_model(config, 99);
  nets::load_model_state(*model, read_state_dict(Oracle::dir() / (name + ".state.pt")), name + ".state.pt");
  model->eval();
  return model;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

void expect_map_close(const torch::Tensor& ours, const torch::Tensor& oracle, const std::string& what) {
  const double scale = oracle.abs().max().item<double>();
  ASSERT_GT(scale, 0.0) << what << ": the oracle's map is all zero, the comparison would prove nothing";
  EXPECT_LE(max_abs_diff(ours, oracle), 1e-4 * scale) << what;
}

class Parity : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Parity, LogitsAndMapsMatchTheOracle) {
  const std::string name = GetParam();
  auto model = imported(name);
  auto fx = fixture(name);
  const auto& x = fx.at("input");
  {
    torch::NoGradGuard no_grad;
    auto logits = model->forward(x);
    EXPECT_LE(max_abs_diff(logits, fx.at("logits")), 1e-5) << name << "\nours " << logits << "\noracle " << fx.at("logits");
  }
  const auto& target = fx.at("target");
  expect_map_close(attribution::gradcam(*model, x, target), fx.at("map_gradcam"), name + " gradcam");
  if (model->is_prototype_model())
    expect_map_close(attribution::attribute(*model, attribution::MapMethod::MProtoNet, x, target),
                     fx.at("map_mprotonet"), name + " mprotonet map");
  EXPECT_FALSE(model->is_training());  // attribution restores evaluation mode
}

// predict's one-pass path: the logits and every map from one forward pass must equal the
// oracle's logits, and the maps must equal the separate per-method calls (themselves checked
// against the oracle above) for the predicted class, and the oracle's own map wherever the
// oracle's target is the predicted class.
TEST_P(Parity, OnePassPredictionAndMapsMatch) {
  const std::string name = GetParam();
  auto model = imported(name);
  auto fx = fixture(name);
  const auto& x = fx.at("input");
  std::vector<attribution::MapMethod> methods = {attribution::MapMethod::GradCAM};
  if (model->is_prototype_model()) methods.insert(methods.begin(), attribution::MapMethod::MProtoNet);
  const auto e = attribution::predict_and_explain(*model, x, methods);
  EXPECT_LE(max_abs_diff(e.logits, fx.at("logits")), 1e-5) << name;
  EXPECT_TRUE(torch::equal(e.predicted, fx.at("logits").argmax(1))) << name;
  ASSERT_EQ(e.maps.size(), methods.size());
  for (size_t k = 0; k < methods.size(); ++k) {
    const auto method = attribution::map_method_name(methods[k]);
    expect_map_close(e.maps[k], attribution::attribute(*model, methods[k], x, e.predicted), name + " " + method);
    const auto& oracle = fx.at(method == "gradcam" ? "map_gradcam" : "map_mprotonet");
    for (int64_t i = 0; i < x.size(0); ++i)
      if (e.predicted[i].item<int64_t>() == fx.at("target")[i].item<int64_t>() && oracle[i].abs().max().item<double>() > 0)
        expect_map_close(e.maps[k].slice(0, i, i + 1), oracle.slice(0, i, i + 1), name + " " + method + " vs oracle");
  }
  EXPECT_FALSE(model->is_training());
}

TEST_P(Parity, StateNamesEqualTheOracleKeys) {
  const std::string name = GetParam();
  auto keys = json::parse(read_text_file(Oracle::dir() / (name + ".keys.json"))).get<std::vector<std::string>>();
  auto config = nets::read_model_config(Oracle::dir() / (name + ".config.json"));
  std::set<std::string> ours;
  for (const auto& [k, v] : nets::model_state(*nets::build_model(config, 0))) ours.insert(k);
  EXPECT_EQ(ours, std::set<std::string>(keys.begin(), keys.end()));
  EXPECT_EQ(ours.size(), keys.size());
}

INSTANTIATE_TEST_SUITE_P(Oracle, Parity, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(NetsCli, ImportPredictExportRoundTrip) {
  const std::string name = "pm5_r18_l2";
  test::TempDir tmp;
  const auto d = Oracle::dir();
  const auto model = tmp / "model.mpn";
  auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " import --config " +
                             test::shell_quote((d / (name + ".config.json")).string()) + " --state-dict " +
                             test::shell_quote((d / (name + ".state.pt")).string()) + " --out " +
                             test::shell_quote(model.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  r = test::run_command(test::shell_quote(test::cli_path().string()) + " predict --model " +
                        test::shell_quote(model.string()) + " --tensor " +
                        test::shell_quote((d / (name + ".input.pt")).string()) + " --json " +
                        test::shell_quote((tmp / "out.json").string()) + " --maps " +
                        test::shell_quote((tmp / "maps").string()) + " --methods mprotonet,gradcam");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto fx = fixture(name);
  auto j = json::parse(read_text_file(tmp / "out.json"));
  ASSERT_EQ(j["logits"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    for (int c = 0; c < 2; ++c) {
      EXPECT_NEAR(j["logits"][i][c].get<double>(), fx.at("logits")[i][c].item<double>(), 1e-5);
      EXPECT_NEAR(j["probabilities"][i][c].get<double>(), fx.at("probabilities")[i][c].item<double>(), 1e-5);
    }
    EXPECT_EQ(j["predicted"][i].get<int64_t>(), fx.at("predicted")[i].item<int64_t>());
  }
  // Full precision: a printed float reads back to exactly the float32 value.
  const double v = j["logits"][0][0].get<double>();
  EXPECT_EQ(static_cast<double>(static_cast<float>(v)), v);
  expect_map_close(read_tensor_file(tmp / "maps" / "mprotonet.pt"), fx.at("predicted_map_mprotonet"), "predict mprotonet");
  expect_map_close(read_tensor_file(tmp / "maps" / "gradcam.pt"), fx.at("predicted_map_gradcam"), "predict gradcam");

  r = test::run_command(test::shell_quote(test::cli_path().string()) + " export --model " +
                        test::shell_quote(model.string()) + " --state-dict " +
                        test::shell_quote((tmp / "exported.pt").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::run_python_helper("nets_compare_state.py", test::shell_quote((d / (name + ".state.pt")).string()) + " " +
                                                       test::shell_quote((tmp / "exported.pt").string()));
}

TEST(NetsCli, ImportListsMissingUnexpectedAndMisshapedKeys) {
  const std::string name = "pm2_r18_cos";
  test::TempDir tmp;
  const auto d = Oracle::dir();
  auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " import --config " +
                             test::shell_quote((d / (name + ".config.json")).string()) + " --state-dict " +
                             test::shell_quote((d / (name + ".broken.pt")).string()) + " --out " +
                             test::shell_quote((tmp / "m.mpn").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("pm2_r18_cos.broken.pt"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing: last_layer.weight [2, 6]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unexpected: extra_head.weight [3]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("features.conv1.weight (file [64, 4, 3, 3, 3]"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(tmp / "m.mpn"));
}

TEST(NetsCli, PredictRefusesMProtoNetMapsForTheCnn) {
  test::TempDir tmp;
  const auto d = Oracle::dir();
  auto cli = test::shell_quote(test::cli_path().string());
  auto r = test::run_command(cli + " import --config " + test::shell_quote((d / "cnn_r18.config.json").string()) +
                             " --state-dict " + test::shell_quote((d / "cnn_r18.state.pt").string()) + " --out " +
                             test::shell_quote((tmp / "cnn.mpn").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_command(cli + " predict --model " + test::shell_quote((tmp / "cnn.mpn").string()) + " --tensor " +
                        test::shell_quote((d / "cnn_r18.input.pt").string()) + " --json " +
                        test::shell_quote((tmp / "o.json").string()) + " --maps " +
                        test::shell_quote((tmp / "maps").string()) + " --methods mprotonet");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("needs a prototype model"), std::string::npos) << r.output;
  r = test::run_command(cli + " model-info --model " + test::shell_quote((tmp / "cnn.mpn").string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("feature map: [4, 4, 3]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("GradCAM layer: add_ons.3"), std::string::npos) << r.output;
}
