// SPDX-License-Identifier: MIT
// GradCAM, Guided GradCAM, Deconvolution and Occlusion (docs/method.md#explanations) against Captum
// itself, called as the reference code calls it (tests/helpers/captum_attribution_oracle.py, in the
// project's virtual environment), on CNN3D and MProtoNet3D models whose weights the oracle wrote
// under the reference's parameter names.
#include <gtest/gtest.h>

#include <map>

#include "common/tensors.h"
#include "common/test_util.h"
#include "mprotonet/attribution/guided.h"
#include "mprotonet/attribution/methods.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/nets/model_file.h"

using namespace mprotonet;
using namespace mprotonet::attribution;

namespace {

const std::filesystem::path& captum_dir() {
  static const auto d =
      test::cached_reference_oracle_output("captum_attribution_oracle.py", "captum-attr-oracle", {"oracle_models.py"});
  return d;
}

class Captum : public ::testing::TestWithParam<std::string> {};

TEST_P(Captum, MapsEqualCaptums) {
  const auto name = GetParam();
  const auto dir = captum_dir();
  ASSERT_TRUE(std::filesystem::exists(dir / "done")) << "the Captum oracle did not finish";
  NamedTensors fix_list = read_state_dict(dir / (name + ".attr.pt"));
  std::map<std::string, torch::Tensor> fix(fix_list.begin(), fix_list.end());
  auto model = nets::build_model(nets::read_model_config(dir / (name + ".config.json")), 7);
  nets::load_model_state(*model, read_state_dict(dir / (name + ".state.pt")), name);
  model->eval();
  const auto x = fix.at("input"), t = fix.at("target");
  {
    torch::NoGradGuard ng;
    EXPECT_LT((model->forward(x) - fix.at("logits")).abs().max().item<double>(), 1e-4) << name;
  }
  const double cam = test::max_relative_difference(compute_map(*model, MapMethod::GradCAM, x, t), fix.at("gradcam"));
  EXPECT_LT(cam, 1e-4) << name;
  EXPECT_LT(test::max_relative_difference(compute_map(*model, MapMethod::GuidedGradCAM, x, t), fix.at("guided_gradcam")), 1e-4) << name;
  EXPECT_LT(test::max_relative_difference(compute_map(*model, MapMethod::Deconvolution, x, t), fix.at("deconvolution")), 1e-4) << name;
  // Not a vacuous comparison: the other class's GradCAM and the plain gradient differ from Captum's maps.
  EXPECT_GT(test::max_relative_difference(compute_map(*model, MapMethod::GradCAM, x, 1 - t), fix.at("gradcam")), 1e-2) << name;
  EXPECT_GT(test::max_relative_difference(relu_rule_gradient(*model, x, t, ReluRule::Standard), fix.at("deconvolution")), 1e-2) << name;
  if (fix.count("occlusion")) {
    MapOptions mo;
    mo.occlusion.batch_size = 32;
    EXPECT_LT(test::max_relative_difference(compute_map(*model, MapMethod::Occlusion, x, t, mo), fix.at("occlusion")), 1e-3) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Captum, ::testing::Values("cnn_r18", "pm0_r18_cos", "pm2_r18_l2lin", "pm5_r18_l2"));

}  // namespace
