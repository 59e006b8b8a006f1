// SPDX-License-Identifier: MIT
// Guided backpropagation, Deconvolution, Guided GradCAM and Occlusion (docs/method.md#explanations): the ReLU rules by
// hand, occlusion on a linear toy model whose answer is known, and parity with an independent
// PyTorch oracle (tests/helpers/eval_attribution_oracle.py) on CNN3D and MProtoNet3D models.
#include <gtest/gtest.h>

#include "common/tensors.h"
#include "common/test_util.h"
#include "mprotonet/attribution/guided.h"
#include "mprotonet/attribution/methods.h"
#include "mprotonet/attribution/occlusion.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/nets/model_file.h"

using namespace mprotonet;
using namespace mprotonet::attribution;

namespace {

// ----------------------------------------------------------------------------- ReLU rules
TEST(ReluRule, BackwardByHand) {
  // x = [-1, 2, 3, 0], incoming gradient [5, -4, 1, 7].
  auto x = torch::tensor({-1.0, 2.0, 3.0, 0.0});
  auto g = torch::tensor({5.0, -4.0, 1.0, 7.0});
  auto grad_for = [&](ReluRule rule) {
    auto xi = x.clone().requires_grad_(true);
    auto y = relu_with_rule(xi, rule);
    EXPECT_TRUE(torch::equal(y.detach(), torch::tensor({0.0, 2.0, 3.0, 0.0})));
    return torch::autograd::grad({y}, {xi}, {g})[0];
  };
  // ordinary: g * (x > 0); guided: relu(g) * (x > 0); deconvolution: relu(g).
  EXPECT_TRUE(torch::equal(grad_for(ReluRule::Standard), torch::tensor({0.0, -4.0, 1.0, 0.0})));
  EXPECT_TRUE(torch::equal(grad_for(ReluRule::Guided), torch::tensor({0.0, 0.0, 1.0, 0.0})));
  EXPECT_TRUE(torch::equal(grad_for(ReluRule::Deconvolution), torch::tensor({5.0, 0.0, 1.0, 7.0})));
}

// ------------------------------------------------------------------------- occlusion toy
// logit 1 = sum of w * x over channel 1; logit 0 = 0. For a linear model with baseline 0 the drop
// of a window is the sum of w * x inside it.
class ToyImpl : public nets::ClassifierImpl {
 public:
  explicit ToyImpl(const nets::ModelConfig& c, torch::Tensor w) : ClassifierImpl("Toy", c), w_(std::move(w)) {}
  nets::ModelOutput forward_all(const torch::Tensor& input) override {
    ++calls;
    rows += input.size(0);
    auto s = (input.select(1, 1) * w_).sum({1, 2, 3});
    nets::ModelOutput out;
    out.logits = torch::stack({torch::zeros_like(s), s}, 1);
    return out;
  }
  std::string gradcam_layer_name() const override { return "none"; }
  torch::nn::Conv3d gradcam_layer() const override { return torch::nn::Conv3d{nullptr}; }
  int64_t calls = 0, rows = 0;

 private:
  torch::Tensor w_;
};

nets::ModelConfig toy_config() {
  nets::ModelConfig c;
  c.model_name = "CNN3D";
  c.in_size = {2, 32, 32, 32};
  c.features = "resnet18_ri";
  c.n_layers = 6;
  return c;
}

TEST(Occlusion, PositionsAndForwardCount) {
  OcclusionOptions o;
  EXPECT_EQ(occlusion_positions(128, o), 25);  // ceil(117 / 5) + 1
  EXPECT_EQ(occlusion_positions(96, o), 18);   // ceil(85 / 5) + 1
  EXPECT_EQ(occlusion_positions(11, o), 1);
  EXPECT_EQ(occlusion_positions(12, o), 2);
  EXPECT_EQ(occlusion_positions(4, o), 1);     // window clipped to the axis
  EXPECT_EQ(occlusion_forward_count({4, 128, 128, 96}, o), 1 + 4 * 25 * 25 * 18);
  o.stride = 0;
  EXPECT_THROW(occlusion_positions(10, o), Error);
}

TEST(Occlusion, LinearToyKnownAnswer) {
  // Input 2 x 16 x 12 x 11, a single unit voxel at p in channel 1 with weight 3 (elsewhere 1).
  const int64_t D = 16, H = 12, W = 11;
  auto w = torch::ones({D, H, W});
  const std::array<int64_t, 3> p{7, 2, 10};
  w.index_put_({p[0], p[1], p[2]}, 3.0);
  auto toy = std::make_shared<ToyImpl>(toy_config(), w);
  auto x = torch::zeros({1, 2, D, H, W});
  x.index_put_({0, 1, p[0], p[1], p[2]}, 1.0);
  OcclusionOptions o;
  o.batch_size = 7;
  auto map = occlusion(*toy, x, torch::tensor({int64_t{1}}), o);
  ASSERT_EQ(map.sizes(), x.sizes());
  // Windows per axis: D 16 -> starts {0, 5} (ends 11, 16); H 12 -> {0, 5}->ends {11, 12}; W 11 -> {0}.
  auto starts = [&](int64_t n) {
    std::vector<std::pair<int64_t, int64_t>> v;
    const int64_t win = std::min<int64_t>(11, n);
    for (int64_t i = 0; i < (n - win + 4) / 5 + 1; ++i) v.push_back({i * 5, std::min(i * 5 + win, n)});
    return v;
  };
  auto wd = starts(D), wh = starts(H), ww = starts(W);
  ASSERT_EQ(wd.size(), 2u);
  ASSERT_EQ(wh.size(), 2u);
  ASSERT_EQ(ww.size(), 1u);
  // Expected: voxel v of channel 1 gets 3 * (#windows covering v and p) / (#windows covering v);
  // channel 0 is never used by the model: 0.
  auto in = [](int64_t i, std::pair<int64_t, int64_t> r) { return i >= r.first && i < r.second; };
  auto acc = map.accessor<float, 5>();
  double worst = 0;
  for (int64_t d = 0; d < D; ++d)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t k = 0; k < W; ++k) {
        int covering = 0, both = 0;
        for (auto a : wd)
          for (auto b : wh)
            for (auto c : ww)
              if (in(d, a) && in(h, b) && in(k, c)) {
                ++covering;
                if (in(p[0], a) && in(p[1], b) && in(p[2], c)) ++both;
              }
        ASSERT_GT(covering, 0);
        worst = std::max(worst, std::abs(acc[0][1][d][h][k] - 3.0 * both / covering));
        worst = std::max(worst, static_cast<double>(std::abs(acc[0][0][d][h][k])));
      }
  EXPECT_LT(worst, 1e-6);
  EXPECT_FLOAT_EQ(acc[0][1][p[0]][p[1]][p[2]], 3.0f);
  // Batched: 1 unoccluded + 2 channels x 4 windows = 9 rows in ceil(8 / 7) + 1 = 3 calls.
  EXPECT_EQ(toy->rows, 9);
  EXPECT_EQ(toy->calls, 3);
}

TEST(Occlusion, ReportsProgressAndRestoresMode) {
  auto toy = std::make_shared<ToyImpl>(toy_config(), torch::ones({12, 12, 12}));
  toy->train();
  OcclusionOptions o;
  int64_t last_done = 0, last_total = 0;
  o.progress = [&](int64_t done, int64_t total) { last_done = done, last_total = total; };
  occlusion(*toy, torch::rand({2, 2, 12, 12, 12}), torch::tensor({int64_t{1}, int64_t{0}}), o);
  EXPECT_EQ(last_total, 2 * occlusion_forward_count({2, 12, 12, 12}, o));
  EXPECT_EQ(last_done, last_total);
  EXPECT_TRUE(toy->is_training());
}

TEST(Methods, NamesParseAndApply) {
  EXPECT_EQ(map_method_names().size(), 5u);
  for (const auto& n : map_method_names()) EXPECT_EQ(map_method_name(parse_map_method(n)), n);
  try {
    parse_map_method("saliency");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("guided-gradcam"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_map_methods("gradcam,gradcam"), Error);
  auto ms = parse_map_methods("occlusion,mprotonet");
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0], MapMethod::Occlusion);
  auto toy = std::make_shared<ToyImpl>(toy_config(), torch::ones({12, 12, 12}));
  EXPECT_FALSE(method_applies(*toy, MapMethod::MProtoNet));
  EXPECT_TRUE(method_applies(*toy, MapMethod::Occlusion));
  // Only the MProtoNet map and GradCAM come out of the prediction's own pass.
  EXPECT_TRUE(from_prediction_pass(MapMethod::MProtoNet));
  EXPECT_TRUE(from_prediction_pass(MapMethod::GradCAM));
  for (auto m : {MapMethod::GuidedGradCAM, MapMethod::Deconvolution, MapMethod::Occlusion}) {
    EXPECT_FALSE(from_prediction_pass(m));
    try {
      predict_and_explain(*toy, torch::zeros({1, 1, 12, 12, 12}), {m});
      ADD_FAILURE() << map_method_name(m) << " was accepted by predict_and_explain";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not " + map_method_name(m)), std::string::npos) << e.what();
    }
    EXPECT_THROW(attribute(*toy, m, torch::zeros({1, 1, 12, 12, 12}), torch::zeros({1}, torch::kLong)), Error);
  }
}

// ---------------------------------------------------------------------------- oracle parity
const std::vector<std::string> kCases = {"cnn_r18",       "cnn_r50_l5", "pm0_r18_cos", "pm1_r18_cos",
                                         "pm2_r18_l2lin", "pm3_r50_l2", "pm5_r18_l2"};

struct Oracle {
  static const std::filesystem::path& dir() {
    static const auto d =
        test::cached_oracle_output("eval_attribution_oracle.py", "eval-attr-oracle", {"oracle_models.py"});
    return d;
  }
};

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, MatchesOracle) {
  const auto name = GetParam();
  const auto dir = Oracle::dir();
  NamedTensors fix_list = read_state_dict(dir / (name + ".attr.pt"));
  std::map<std::string, torch::Tensor> fix(fix_list.begin(), fix_list.end());
  auto model = nets::build_model(nets::read_model_config(dir / (name + ".config.json")), 7);
  nets::load_model_state(*model, read_state_dict(dir / (name + ".state.pt")), name);
  model->eval();
  const auto x = fix.at("input"), t = fix.at("target");
  {
    torch::NoGradGuard ng;
    auto plain = model->forward(x);
    for (auto rule : {ReluRule::Standard, ReluRule::Guided, ReluRule::Deconvolution})
      EXPECT_LT((forward_with_relu_rule(*model, x, rule) - plain).abs().max().item<double>(), 1e-6);
    EXPECT_LT((plain - fix.at("logits")).abs().max().item<double>(), 1e-4);
  }
  EXPECT_LT(test::max_relative_difference(guided_backprop(*model, x, t), fix.at("guided")), 1e-4) << name;
  EXPECT_LT(test::max_relative_difference(compute_map(*model, MapMethod::Deconvolution, x, t), fix.at("deconvolution")), 1e-4) << name;
  EXPECT_LT(test::max_relative_difference(compute_map(*model, MapMethod::GuidedGradCAM, x, t), fix.at("guided_gradcam")), 1e-4) << name;
  // The rules really change the gradient (a test that would pass with Standard is no test).
  auto plain_grad = relu_rule_gradient(*model, x, t, ReluRule::Standard);
  EXPECT_GT(test::max_relative_difference(plain_grad, fix.at("guided")), 1e-2) << name;
  if (fix.count("occlusion")) {
    OcclusionOptions o;
    o.batch_size = 32;
    MapOptions mo;
    mo.occlusion = o;
    EXPECT_LT(test::max_relative_difference(compute_map(*model, MapMethod::Occlusion, x, t, mo), fix.at("occlusion")), 1e-3) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Parity, ::testing::ValuesIn(kCases));

}  // namespace
