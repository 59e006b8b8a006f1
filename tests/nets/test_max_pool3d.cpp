// SPDX-License-Identifier: MIT
// nets/max_pool3d: the separable kernel against LibTorch's own max_pool3d (forward values and
// gradients, bit for bit), with ties, NaN, odd sizes, views, autocast and bad arguments.
#include <gtest/gtest.h>

#include <tuple>

#include <torch/torch.h>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/torch_compat.h"
#include "mprotonet/nets/max_pool3d.h"
#include "mprotonet/nets/resnet3d.h"

using namespace mprotonet;

namespace {

struct Pool {
  int64_t k, s, p;
};

/// LibTorch's forward and input gradient for `grad_out`, the oracle.
std::pair<torch::Tensor, torch::Tensor> torch_pool(const torch::Tensor& x, const Pool& o, const torch::Tensor& grad_out) {
  auto in = x.detach().clone().requires_grad_(true);
  auto y = torch::max_pool3d(in, {o.k, o.k, o.k}, {o.s, o.s, o.s}, {o.p, o.p, o.p});
  y.backward(grad_out);
  return {y.detach(), in.grad()};
}

std::pair<torch::Tensor, torch::Tensor> our_pool(const torch::Tensor& x, const Pool& o, const torch::Tensor& grad_out) {
  auto in = x.detach().clone().requires_grad_(true);
  auto y = nets::max_pool3d(in, o.k, o.s, o.p);
  y.backward(grad_out);
  return {y.detach(), in.grad()};
}

void expect_same_as_torch(const torch::Tensor& x, const Pool& o, const std::string& what) {
  SCOPED_TRACE(what + " k" + std::to_string(o.k) + " s" + std::to_string(o.s) + " p" + std::to_string(o.p));
  const auto ref_y = torch::max_pool3d(x, {o.k, o.k, o.k}, {o.s, o.s, o.s}, {o.p, o.p, o.p});
  const auto g = torch::randn(ref_y.sizes(), x.options());
  const auto [want_y, want_g] = torch_pool(x, o, g);
  const auto [got_y, got_g] = our_pool(x, o, g);
  ASSERT_EQ(got_y.sizes(), want_y.sizes());
  EXPECT_TRUE(torch::equal(got_y, want_y)) << "forward differs; max |diff| " << (got_y - want_y).abs().max().item<double>();
  EXPECT_TRUE(torch::equal(got_g, want_g)) << "gradient differs; max |diff| " << (got_g - want_g).abs().max().item<double>();
}

/// Expects `fn` to throw an mprotonet::Error whose message contains `part`.
template <typename F>
void expect_pool_error(F&& fn, const std::string& part) {
  std::string message = "(no error)";
  try {
    fn();
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find(part), std::string::npos) << "message: " << message;
}

const std::vector<Pool> kPools = {{3, 2, 1}, {2, 2, 0}, {3, 1, 1}, {3, 3, 0}, {1, 1, 0}, {4, 2, 2}, {5, 2, 1}};

}  // namespace

TEST(MaxPool3d, EqualsLibTorchOnRandomInputs) {
  torch::manual_seed(1);
  const auto x = torch::randn({2, 3, 9, 7, 11});  // odd sizes: partial windows at every border
  for (const auto& o : kPools) expect_same_as_torch(x, o, "float");
  for (const auto& o : kPools) expect_same_as_torch(x.to(torch::kDouble), o, "double");
}

TEST(MaxPool3d, RandomShapesAndOptions) {
  // A sweep over kernel 1..5, stride 1..3, every valid padding and small odd sizes (windows
  // clipped at both ends, outputs of one voxel), a third of them with ties. (The same sweep of
  // 300 cases also ran clean under ASan + UBSan.)
  torch::manual_seed(5);
  for (int trial = 0; trial < 120; ++trial) {
    const int64_t k = 1 + torch::randint(5, {1}).item<int64_t>();
    const int64_t s = 1 + torch::randint(3, {1}).item<int64_t>();
    const int64_t p = torch::randint(k / 2 + 1, {1}).item<int64_t>();
    std::vector<int64_t> sizes{1 + torch::randint(3, {1}).item<int64_t>(), 1 + torch::randint(3, {1}).item<int64_t>()};
    for (int d = 0; d < 3; ++d) sizes.push_back(std::max<int64_t>(k - 2 * p, 1) + torch::randint(9, {1}).item<int64_t>());
    const auto x = trial % 3 == 0 ? torch::randint(0, 3, sizes).to(torch::kFloat) : torch::randn(sizes);
    expect_same_as_torch(x, {k, s, p}, "trial " + std::to_string(trial));
  }
}

TEST(MaxPool3d, TiesGoToTheFirstMaximumInDepthHeightWidthOrder) {
  // Values from {0, 1, 2} (and ReLU-like zeros): most windows hold several equal maxima, and only
  // the scan order decides which voxel receives the gradient.
  torch::manual_seed(2);
  const auto x = torch::randint(0, 3, {2, 2, 8, 8, 8}).to(torch::kFloat);
  for (const auto& o : kPools) expect_same_as_torch(x, o, "ties");
  expect_same_as_torch(torch::zeros({1, 1, 5, 6, 7}), {3, 2, 1}, "all zero");
}

TEST(MaxPool3d, StemSizeAndViews) {
  torch::manual_seed(3);
  // The backbone's stem at the cpu preset (64 channels after conv1 of a 64 x 64 x 48 input).
  expect_same_as_torch(torch::relu(torch::randn({2, 64, 32, 32, 24})), {3, 2, 1}, "stem");
  // A non-contiguous view (permuted and sliced) pools like its contiguous copy.
  const auto base = torch::randn({3, 2, 10, 12, 9});
  expect_same_as_torch(base.permute({1, 0, 2, 3, 4}).slice(4, 1, 8), {3, 2, 1}, "view");
}

TEST(MaxPool3d, NaNPropagatesLikeLibTorch) {
  auto x = torch::randn({1, 2, 6, 6, 6});
  x.index_put_({0, 1, 2, 3, 4}, std::numeric_limits<float>::quiet_NaN());
  const auto want = torch::max_pool3d(x, {3, 3, 3}, {2, 2, 2}, {1, 1, 1});
  const auto got = nets::max_pool3d(x, 3, 2, 1);
  EXPECT_TRUE(torch::equal(torch::isnan(got), torch::isnan(want)));
  EXPECT_GT(torch::isnan(got).sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(got.nan_to_num(0.0), want.nan_to_num(0.0)));
}

TEST(MaxPool3d, BFloat16UnderAutocastPoolsInFloat) {
  torch::manual_seed(4);
  const auto x = torch::randn({2, 4, 8, 8, 6}).to(torch::kBFloat16);
  torch::Tensor got;
  {
    compat::set_autocast_enabled(/*cuda=*/false, true);
    got = nets::max_pool3d(x, 3, 2, 1);
    compat::set_autocast_enabled(/*cuda=*/false, false);
  }
  EXPECT_EQ(got.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(got, torch::max_pool3d(x.to(torch::kFloat), {3, 3, 3}, {2, 2, 2}, {1, 1, 1})));
  // Outside autocast a bfloat16 tensor is pooled in bfloat16 (LibTorch 1.13 has no CPU kernel
  // for it); the maxima are the same values.
  const auto native = nets::max_pool3d(x, 3, 2, 1);
  EXPECT_EQ(native.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(native.to(torch::kFloat), got));
}

TEST(MaxPool3d, EmptyBatchGivesAnEmptyOutput) {
  const auto y = nets::max_pool3d(torch::zeros({0, 3, 4, 4, 4}), 3, 2, 1);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{0, 3, 2, 2, 2}));
}

TEST(MaxPool3d, BadArgumentsAreErrors) {
  const auto x = torch::zeros({1, 1, 4, 4, 4});
  expect_pool_error([&] { nets::max_pool3d(torch::zeros({1, 4, 4, 4}), 3, 2, 1); }, "4 dimensions; expected 5");
  expect_pool_error([&] { nets::max_pool3d(x, 0, 1, 0); }, "expected kernel >= 1");
  expect_pool_error([&] { nets::max_pool3d(x, 3, 0, 0); }, "stride 0");
  expect_pool_error([&] { nets::max_pool3d(x, 3, 2, 2); }, "padding <= kernel / 2");
  expect_pool_error([&] { nets::max_pool3d(torch::zeros({1, 1, 4, 1, 4}), 3, 1, 0); }, "smaller than the kernel 3");
}

TEST(MaxPool3d, SecondDerivativesAreRefusedNotSilentlyZero) {
  auto x = torch::randn({1, 1, 4, 4, 4}, torch::requires_grad());
  auto y = nets::max_pool3d(x, 3, 2, 1).pow(2).sum();
  expect_pool_error([&] { torch::autograd::grad({y}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true); },
                    "second derivatives");
}

TEST(MaxPool3d, BackboneStemUsesIt) {
  nets::ResNet3dOptions o;
  o.name = "resnet18_ri";
  o.n_layers = 4;
  auto seq = nets::make_resnet3d(o);
  ASSERT_EQ(seq->size(), 4u);
  EXPECT_NE(seq[3]->as<nets::MaxPool3dImpl>(), nullptr);
  EXPECT_TRUE(nets::separable_max_pool_enabled());  // the test environment does not set MPROTONET_MAXPOOL
}
