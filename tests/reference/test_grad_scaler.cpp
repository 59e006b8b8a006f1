// SPDX-License-Identifier: MIT
// Dynamic loss scaling of fp16 training (engines/grad_scaler.h) against PyTorch's own
// torch.amp.GradScaler (tests/helpers/grad_scaler_oracle.py, PyTorch 2.x on the CPU): the same
// losses with overflowing (inf) and NaN gradients give the same scale, growth tracker, skipped
// steps and parameters, step by step.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/engines/grad_scaler.h"
#include "mprotonet/engines/precision.h"

namespace mprotonet {
namespace {

TEST(GradScaler, FollowsTorchAmpGradScaler) {
  test::TempDir dir;
  const auto out = dir / "scaler.json";
  ASSERT_EQ(test::run_reference_helper("grad_scaler_oracle.py", test::shell_quote(out.string())).exit_code, 0);
  const auto j = nlohmann::json::parse(std::ifstream(out));
  GradScalerOptions o;
  o.init_scale = j["init_scale"].get<double>();
  o.growth_interval = j["growth_interval"].get<int64_t>();
  GradScaler scaler(true, o);
  auto p = torch::tensor(j["params0"].get<std::vector<float>>()).requires_grad_(true);
  torch::optim::SGD opt({p}, torch::optim::SGDOptions(0.1));
  int skipped = 0;
  for (size_t t = 0; t < j["steps"].size(); ++t) {
    const auto& s = j["steps"][t];
    std::vector<float> c;
    for (const auto& x : s["coef"]) c.push_back(std::stof(x.get<std::string>()));  // "inf" / "nan" too
    opt.zero_grad();
    scaler.scale_loss((p * torch::tensor(c)).sum()).backward();
    if (scaler.unscale_and_update({p})) opt.step();
    else ++skipped;
    EXPECT_EQ(scaler.scale(), s["scale"].get<double>()) << "step " << t;
    EXPECT_EQ(scaler.growth_tracker(), s["tracker"].get<int64_t>()) << "step " << t;
    const auto want = torch::tensor(s["params"].get<std::vector<float>>());
    EXPECT_TRUE(torch::allclose(p.detach(), want, 1e-6, 1e-7)) << "step " << t << ": " << p << " vs " << want;
  }
  EXPECT_EQ(skipped, 3);  // the two overflowing steps and the NaN one
}

TEST(GradScaler, DisabledIsTheIdentityAndStateRoundTrips) {
  GradScaler off(false);
  auto p = torch::ones({3}).requires_grad_(true);
  off.scale_loss((p * 2).sum()).backward();
  EXPECT_TRUE(off.unscale_and_update({p}));
  EXPECT_TRUE(torch::equal(p.grad(), torch::full({3}, 2.0f)));
  EXPECT_EQ(off.scale(), 1.0);

  GradScaler a(true), b(true);
  auto q = torch::ones({2}).requires_grad_(true);
  a.scale_loss(q.sum()).backward();
  ASSERT_TRUE(a.unscale_and_update({q}));
  b.from_json(a.to_json());
  EXPECT_EQ(b.scale(), a.scale());
  EXPECT_EQ(b.growth_tracker(), 1);
  EXPECT_THROW(b.from_json(nlohmann::json{{"scale", -1.0}, {"growth_tracker", 0}}), Error);
}

TEST(GradScaler, Fp16IsRefusedOnTheCpuWithAClearError) {
  EXPECT_EQ(parse_precision("fp16"), Precision::kFp16);
  EXPECT_EQ(precision_name(Precision::kFp16), "fp16");
  try {
    AutocastGuard guard(Precision::kFp16, torch::kCPU);
    FAIL() << "fp16 autocast was enabled on the CPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_precision_for_device(Precision::kBf16, torch::kCPU));
}

}  // namespace
}  // namespace mprotonet
