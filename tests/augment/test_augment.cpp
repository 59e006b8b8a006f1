// SPDX-License-Identifier: MIT
// Tests of the training-time augmentation (docs/method.md#augmentation): each transform's invariants,
// geometry of the affine transform, the probabilities of the draws, determinism and the
// reference-style sequence names.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/transforms/augment.h"

using namespace mprotonet;

namespace {

torch::Tensor random_image(std::vector<int64_t> shape = {4, 10, 9, 8}, uint64_t seed = 3) {
  auto gen = Rng(seed).torch_generator();
  return torch::randn(shape, gen, torch::kFloat);
}

/// All probabilities 1 so that every step applies.
AugmentOptions always() {
  AugmentOptions o;
  o.affine_p = o.noise_p = o.blur_p = o.blur_channel_p = o.brightness_p = o.contrast_p = 1.0;
  o.anisotropy_p = o.anisotropy_channel_p = o.gamma_inverted_p = o.gamma_p = o.flip_p = 1.0;
  return o;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

/// Binomial check: k successes of n with probability p lie within 5 standard deviations.
void expect_rate(int64_t k, int64_t n, double p, const std::string& what) {
  const double sd = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(k), n * p, 5 * sd + 1e-9) << what << ": " << k << " of " << n;
}

}  // namespace

TEST(AugmentFlip, TwiceIsIdentityAndMatchesTorchFlip) {
  auto x = random_image();
  for (int mask = 1; mask < 8; ++mask) {
    FlipParams p;
    std::vector<int64_t> dims;
    for (int a = 0; a < 3; ++a)
      if (mask & (1 << a)) {
        p.axes[a] = true;
        dims.push_back(a + 1);
      }
    auto once = apply_flip(x, p);
    EXPECT_TRUE(torch::equal(once, x.flip(dims))) << "mask " << mask;
    EXPECT_FALSE(torch::equal(once, x)) << "mask " << mask;
    EXPECT_TRUE(torch::equal(apply_flip(once, p), x)) << "mask " << mask;
  }
  auto none = apply_flip(x, FlipParams{});
  EXPECT_TRUE(torch::equal(none, x));
  EXPECT_NE(none.data_ptr(), x.data_ptr());
}

TEST(AugmentAffine, IdentityParametersGiveTheInput) {
  auto x = random_image();
  EXPECT_LT(max_abs_diff(apply_affine(x, AffineParams{}), x), 1e-5);
}

TEST(AugmentAffine, RotationBy90DegreesIsAPermutationWithFlip) {
  const int64_t n = 7;
  auto x = random_image({2, n, n, n});
  auto xa = x.accessor<float, 4>();
  for (int axis = 0; axis < 3; ++axis) {
    AffineParams p;
    p.branch = 1;
    p.degrees[axis] = 90.0;
    auto y = apply_affine(x, p);
    auto ya = y.accessor<float, 4>();
    // R^T for +90 degrees: about X (x, y, z) -> (x, z, -y); about Y -> (-z, y, x);
    // about Z -> (y, -x, z).
    double worst = 0;
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
          for (int k = 0; k < n; ++k) {
            float e = axis == 0 ? xa[c][i][k][n - 1 - j]
                    : axis == 1 ? xa[c][n - 1 - k][j][i]
                                : xa[c][j][n - 1 - i][k];
            worst = std::max(worst, std::abs(static_cast<double>(ya[c][i][j][k] - e)));
          }
    EXPECT_LT(worst, 1e-4) << "rotation about axis " << axis;
    // and -90 undoes it
    AffineParams back = p;
    back.degrees[axis] = -90.0;
    EXPECT_LT(max_abs_diff(apply_affine(y, back), x), 1e-4) << "axis " << axis;
  }
}

TEST(AugmentAffine, ScaleZoomsAboutTheCentreAndPadsWithTheMinimum) {
  // A ramp along X: value = i. Zooming in by 2 maps output i to input c + (i - c) / 2.
  const int64_t n = 9;
  auto ramp = torch::arange(n, torch::kFloat).view({1, n, 1, 1}).expand({2, n, 5, 5}).contiguous();
  AffineParams zoom;
  zoom.scale = 2.0;
  auto y = apply_affine(ramp, zoom);
  const double c = (n - 1) / 2.0;
  for (int64_t i = 0; i < n; ++i)
    EXPECT_NEAR(y[0][i][2][2].item<float>(), c + (i - c) / 2.0, 1e-4) << "i=" << i;
  // Zooming out by 2 leaves the outer voxels outside the source: they get the channel minimum.
  auto x = random_image({2, 9, 9, 9}) + torch::tensor({5.0f, -3.0f}).view({2, 1, 1, 1});
  AffineParams out;
  out.scale = 0.5;
  auto z = apply_affine(x, out);
  for (int ch = 0; ch < 2; ++ch) {
    const float mn = x[ch].min().item<float>();
    EXPECT_NEAR(z[ch][0][0][0].item<float>(), mn, 1e-5);
    EXPECT_NEAR(z[ch][8][8][8].item<float>(), mn, 1e-5);
    EXPECT_GE(z[ch].min().item<float>(), mn - 1e-5);
  }
}

TEST(AugmentNoise, SameSeedSameNoiseWithTheRequestedStd) {
  auto x = torch::zeros({4, 32, 32, 16});
  NoiseParams p{0.1, 1234};
  auto a = apply_noise(x, p), b = apply_noise(x, p);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_NEAR(a.std().item<double>(), 0.1, 0.003);
  EXPECT_NEAR(a.mean().item<double>(), 0.0, 0.003);
  EXPECT_FALSE(torch::equal(a[0], a[1]));  // independent field per channel
  p.seed = 1235;
  EXPECT_FALSE(torch::equal(apply_noise(x, p), a));
}

TEST(AugmentBlur, GaussianProfileConstantPreservedAndUntouchedChannels) {
  // A delta at the centre becomes a normalised Gaussian with the requested sigma per axis.
  auto x = torch::zeros({2, 21, 21, 21});
  x[0][10][10][10] = 1.0;
  x[1][10][10][10] = 1.0;
  BlurParams p;
  p.sigma = {std::array<double, 3>{1.5, 0.8, 1.0}, std::nullopt};
  auto y = apply_blur(x, p);
  EXPECT_NEAR(y[0].sum().item<double>(), 1.0, 1e-5);
  const double s[3] = {1.5, 0.8, 1.0};
  auto g = [](double d, double sigma) { return std::exp(-d * d / (2 * sigma * sigma)); };
  const double peak = y[0][10][10][10].item<double>();
  for (int d = 1; d <= 3; ++d) {
    EXPECT_NEAR(y[0][10 + d][10][10].item<double>() / peak, g(d, s[0]), 1e-4);
    EXPECT_NEAR(y[0][10][10 - d][10].item<double>() / peak, g(d, s[1]), 1e-4);
    EXPECT_NEAR(y[0][10][10][10 + d].item<double>() / peak, g(d, s[2]), 1e-4);
  }
  EXPECT_TRUE(torch::equal(y[1], x[1]));  // channel not chosen
  // a constant image stays constant, borders included (replicated)
  auto cst = torch::full({1, 6, 7, 8}, 2.5f);
  BlurParams q;
  q.sigma = {std::array<double, 3>{1.5, 1.5, 1.5}};
  EXPECT_LT(max_abs_diff(apply_blur(cst, q), cst), 1e-5);
}

TEST(AugmentBrightnessContrast, FactorsPerChannelAndRangeKept) {
  auto x = random_image();
  auto b = apply_brightness(x, {0.7, 1.0, 1.3, 0.9});
  EXPECT_LT(max_abs_diff(b[0], x[0] * 0.7f), 1e-6);
  EXPECT_TRUE(torch::equal(b[1], x[1]));
  EXPECT_LT(max_abs_diff(b[2], x[2] * 1.3f), 1e-6);

  const std::vector<double> f{0.65, 1.0, 1.5, 1.2};
  auto c = apply_contrast(x, f);
  for (int ch = 0; ch < 4; ++ch) {
    EXPECT_GE(c[ch].min().item<float>(), x[ch].min().item<float>()) << ch;
    EXPECT_LE(c[ch].max().item<float>(), x[ch].max().item<float>()) << ch;
  }
  // f < 1 shrinks towards the mean (no clamping needed): mean kept, std scaled by f
  EXPECT_NEAR(c[0].mean().item<double>(), x[0].mean().item<double>(), 1e-5);
  EXPECT_NEAR(c[0].std().item<double>(), 0.65 * x[0].std().item<double>(), 1e-4);
  EXPECT_LT(max_abs_diff(c[1], x[1]), 1e-6);
  // f > 1 stretches, and the extremes are clamped to the old range
  auto mean2 = x[2].mean();
  auto unclamped = (x[2] - mean2) * 1.5f + mean2;
  EXPECT_GT(unclamped.max().item<float>(), x[2].max().item<float>());
  EXPECT_EQ(c[2].max().item<float>(), x[2].max().item<float>());
}

TEST(AugmentGamma, KeepsMeanAndStdPerChannel) {
  auto x = random_image({4, 12, 11, 10});
  const std::vector<double> gamma{0.7, 1.5, 0.85, 1.2};
  for (bool invert : {false, true}) {
    auto y = apply_gamma(x, gamma, invert);
    EXPECT_GT(max_abs_diff(y, x), 0.01) << "invert " << invert;
    for (int ch = 0; ch < 4; ++ch) {
      EXPECT_NEAR(y[ch].mean().item<double>(), x[ch].mean().item<double>(), 1e-5) << ch;
      EXPECT_NEAR(y[ch].std().item<double>(), x[ch].std().item<double>(), 1e-4) << ch;
    }
  }
  // gamma 1 is the identity (up to rounding); inverted and plain gamma differ
  EXPECT_LT(max_abs_diff(apply_gamma(x, {1, 1, 1, 1}, false), x), 1e-5);
  EXPECT_GT(max_abs_diff(apply_gamma(x, gamma, true), apply_gamma(x, gamma, false)), 0.01);
}

TEST(AugmentGamma, ValuesFollowTheFormulaPerChannel) {
  // docs/method.md#augmentation, computed here in float64 voxel by voxel: t' = ((t - min)/r)^g r
  // + min, then shifted and scaled to t's mean and unbiased std; on -x and negated back for gi0.
  auto x = random_image({3, 6, 5, 4}, 11);
  x[1] = x[1] * 5 + 2;  // channels with different ranges: statistics are per channel
  const std::vector<double> gamma{0.7, 1.5, 1.2};
  for (bool invert : {false, true}) {
    const auto y = apply_gamma(x, gamma, invert).to(torch::kDouble);
    for (int64_t c = 0; c < 3; ++c) {
      const auto t = (invert ? -x[c] : x[c]).to(torch::kDouble).flatten();
      const int64_t n = t.numel();
      const auto* tv = t.data_ptr<double>();
      double lo = tv[0], hi = tv[0], mean = 0;
      for (int64_t i = 0; i < n; ++i) lo = std::min(lo, tv[i]), hi = std::max(hi, tv[i]), mean += tv[i] / n;
      double var = 0;
      for (int64_t i = 0; i < n; ++i) var += (tv[i] - mean) * (tv[i] - mean) / (n - 1);
      std::vector<double> u(static_cast<size_t>(n));
      double umean = 0, uvar = 0;
      for (int64_t i = 0; i < n; ++i) {
        u[static_cast<size_t>(i)] = std::pow((tv[i] - lo) / (hi - lo), gamma[static_cast<size_t>(c)]) * (hi - lo) + lo;
        umean += u[static_cast<size_t>(i)] / n;
      }
      for (double v : u) uvar += (v - umean) * (v - umean) / (n - 1);
      const auto got = y[c].flatten();
      for (int64_t i = 0; i < n; ++i) {
        const double want = (u[static_cast<size_t>(i)] - umean) / std::sqrt(uvar) * std::sqrt(var) + mean;
        ASSERT_NEAR(got[i].item<double>(), invert ? -want : want, 2e-4 * (1 + std::abs(want)))
            << "channel " << c << " voxel " << i << " invert " << invert;
      }
    }
  }
}

TEST(Augment, ApplyAugmentComposesTheStepsInTheDrawnOrder) {
  // Every step drawn (probabilities 1): the pipeline equals the nine apply_* calls in the
  // reference's order, and differs from the same steps in another order (the order matters).
  auto x = random_image({4, 16, 14, 12}, 9);
  Rng rng(21);
  const auto p = draw_augment(always(), 4, rng);
  ASSERT_TRUE(p.affine && p.noise && p.blur && p.brightness && p.contrast && p.anisotropy && p.gamma_inverted &&
              p.gamma && p.flip);
  auto y = apply_affine(x, *p.affine);
  y = apply_noise(y, *p.noise);
  y = apply_blur(y, *p.blur);
  y = apply_brightness(y, *p.brightness);
  y = apply_contrast(y, *p.contrast);
  y = apply_anisotropy(y, *p.anisotropy);
  y = apply_gamma(y, *p.gamma_inverted, true);
  y = apply_gamma(y, *p.gamma, false);
  y = apply_flip(y, *p.flip);
  EXPECT_TRUE(torch::equal(apply_augment(x, p), y));
  EXPECT_GT(max_abs_diff(y, x), 0.1);
  auto reversed = p;
  std::reverse(reversed.order.begin(), reversed.order.end());
  EXPECT_GT(max_abs_diff(apply_augment(x, reversed), y), 1e-3);
}

TEST(AugmentAnisotropy, AxisFactorAndUntouchedChannels) {
  auto x = random_image({3, 16, 12, 10});
  AnisotropyParams p;
  p.channel = {AnisotropyChannel{0, 1.0}, AnisotropyChannel{1, 2.0}, std::nullopt};
  auto y = apply_anisotropy(x, p);
  EXPECT_LT(max_abs_diff(y[0], x[0]), 1e-6);  // factor 1 = identity
  EXPECT_GT(max_abs_diff(y[1], x[1]), 0.1);   // degraded
  EXPECT_TRUE(torch::equal(y[2], x[2]));
  // A volume constant along the degraded axis is unchanged.
  auto flat_y = x.select(2, 0).unsqueeze(2).expand_as(x).contiguous();
  EXPECT_LT(max_abs_diff(apply_anisotropy(flat_y, p)[1], flat_y[1]), 1e-5);
  // Downsampling along Y by 2 keeps every other slice's information only: pairs of
  // nearest-neighbour samples collapse, so the result has less variation along Y.
  auto dy = (y[1].narrow(1, 1, 11) - y[1].narrow(1, 0, 11)).abs().mean().item<double>();
  auto dx = (x[1].narrow(1, 1, 11) - x[1].narrow(1, 0, 11)).abs().mean().item<double>();
  EXPECT_LT(dy, 0.8 * dx);
}

TEST(Augment, ShapesDtypesAndNoAliasing) {
  auto x = random_image({4, 16, 14, 12});
  auto copy = x.clone();
  AugmentOptions o = always();
  Rng rng(9);
  for (int i = 0; i < 5; ++i) {
    auto p = draw_augment(o, 4, rng);
    ASSERT_TRUE(p.affine && p.noise && p.blur && p.brightness && p.contrast && p.anisotropy &&
                p.gamma_inverted && p.gamma && p.flip);
    std::vector<torch::Tensor> outs{apply_affine(x, *p.affine),        apply_noise(x, *p.noise),
                                    apply_blur(x, *p.blur),            apply_brightness(x, *p.brightness),
                                    apply_contrast(x, *p.contrast),    apply_anisotropy(x, *p.anisotropy),
                                    apply_gamma(x, *p.gamma, true),    apply_gamma(x, *p.gamma, false),
                                    apply_flip(x, *p.flip),            apply_augment(x, p)};
    for (size_t k = 0; k < outs.size(); ++k) {
      EXPECT_EQ(outs[k].sizes(), x.sizes()) << k;
      EXPECT_EQ(outs[k].scalar_type(), torch::kFloat) << k;
      EXPECT_TRUE(outs[k].is_contiguous()) << k;
      EXPECT_TRUE(torch::isfinite(outs[k]).all().item<bool>()) << k;
    }
  }
  EXPECT_TRUE(torch::equal(x, copy));  // input never modified
}

TEST(Augment, DeterministicForASeedAndSeedsDiffer) {
  auto x = random_image({4, 16, 14, 12});
  AugmentOptions o = always();
  Rng a(42), b(42), c(43);
  auto ya = augment(x, o, a), yb = augment(x, o, b), yc = augment(x, o, c);
  EXPECT_TRUE(torch::equal(ya, yb));
  EXPECT_FALSE(torch::equal(ya, yc));
  // the default options too, over several subjects drawn from one stream
  AugmentOptions d;
  Rng s1(7), s2(7);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(torch::equal(augment(x, d, s1), augment(x, d, s2))) << i;
  // derived streams: same keys same stream, different keys different streams
  EXPECT_EQ(Rng::derive(0, {1, 2}).next_u64(), Rng::derive(0, {1, 2}).next_u64());
  EXPECT_NE(Rng::derive(0, {1, 2}).next_u64(), Rng::derive(0, {1, 3}).next_u64());
  EXPECT_NE(Rng::derive(0, {1, 2}).next_u64(), Rng::derive(1, {1, 2}).next_u64());
}

TEST(Augment, DrawProbabilitiesAndRanges) {
  const AugmentOptions o;
  Rng rng(2024);
  const int64_t n = 20000;
  int64_t affine = 0, branch[3] = {0, 0, 0}, noise = 0, blur = 0, blur_ch = 0, bright = 0, contrast = 0,
          contrast_low = 0, aniso = 0, aniso_ch = 0, aniso_axis0 = 0, gi = 0, ga = 0, gamma_low = 0;
  int64_t flips[3] = {0, 0, 0};
  for (int64_t i = 0; i < n; ++i) {
    auto p = draw_augment(o, 4, rng);
    if (p.affine) {
      ++affine;
      ++branch[p.affine->branch];
      const bool scaled = p.affine->branch != 1, rotated = p.affine->branch != 0;
      if (scaled) {
        EXPECT_GE(p.affine->scale, 0.7);
        EXPECT_LE(p.affine->scale, 1.4);
      } else {
        EXPECT_EQ(p.affine->scale, 1.0);
      }
      for (double d : p.affine->degrees) {
        if (rotated) {
          EXPECT_GE(d, -30.0);
          EXPECT_LE(d, 30.0);
        } else {
          EXPECT_EQ(d, 0.0);
        }
      }
    }
    if (p.noise) {
      ++noise;
      EXPECT_GE(p.noise->std, 0.0);
      EXPECT_LE(p.noise->std, 0.1);
    }
    if (p.blur) {
      ++blur;
      for (const auto& s : p.blur->sigma)
        if (s) {
          ++blur_ch;
          for (double v : *s) EXPECT_TRUE(v >= 0.5 && v <= 1.5) << v;
        }
    }
    if (p.brightness) {
      ++bright;
      for (double f : *p.brightness) EXPECT_TRUE(f >= 0.7 && f <= 1.3) << f;
    }
    if (p.contrast) {
      ++contrast;
      for (double f : *p.contrast) {
        EXPECT_TRUE(f >= 0.65 && f <= 1.5) << f;
        contrast_low += f < 1.0;
      }
    }
    if (p.anisotropy) {
      ++aniso;
      for (const auto& a : p.anisotropy->channel)
        if (a) {
          ++aniso_ch;
          aniso_axis0 += a->axis == 0;
          EXPECT_TRUE(a->factor >= 1.0 && a->factor <= 2.0) << a->factor;
        }
    }
    for (auto* g : {&p.gamma_inverted, &p.gamma})
      if (*g)
        for (double v : **g) {
          EXPECT_TRUE(v >= 0.7 && v <= 1.5) << v;
          gamma_low += v < 1.0;
        }
    gi += p.gamma_inverted.has_value();
    ga += p.gamma.has_value();
    ASSERT_TRUE(p.flip.has_value());
    for (int a = 0; a < 3; ++a) flips[a] += p.flip->axes[a];
  }
  expect_rate(affine, n, 0.36, "affine");
  expect_rate(branch[0], affine, 0.16 / 0.36, "affine scale-only");
  expect_rate(branch[1], affine, 0.16 / 0.36, "affine rotation-only");
  expect_rate(branch[2], affine, 0.04 / 0.36, "affine both");
  expect_rate(noise, n, 0.15, "noise");
  expect_rate(blur, n, 0.2, "blur");
  expect_rate(blur_ch, 4 * blur, 0.5, "blur per channel");
  expect_rate(bright, n, 0.15, "brightness");
  expect_rate(contrast, n, 0.15, "contrast");
  expect_rate(contrast_low, 4 * contrast, 0.5, "contrast factor below 1");
  expect_rate(aniso, n, 0.25, "anisotropy");
  expect_rate(aniso_ch, 4 * aniso, 0.5, "anisotropy per channel");
  expect_rate(aniso_axis0, aniso_ch, 1.0 / 3, "anisotropy axis 0");
  expect_rate(gi, n, 0.15, "gamma inverted");
  expect_rate(ga, n, 0.15, "gamma");
  expect_rate(gamma_low, 4 * (gi + ga), 0.5, "gamma below 1");
  for (int a = 0; a < 3; ++a) expect_rate(flips[a], n, 0.5, "flip axis " + std::to_string(a));
}

TEST(AugmentOptions, SequenceNames) {
  const std::string def = "af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0";
  EXPECT_EQ(AugmentOptions().sequence_string(), def);
  auto o = AugmentOptions::from_sequence(def);
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(o.sequence, default_augment_sequence());
  EXPECT_EQ(o.affine_p, 0.36);

  auto partial = AugmentOptions::from_sequence("fl1-af1");
  EXPECT_EQ(partial.sequence, (std::vector<AugmentStep>{AugmentStep::kFlip, AugmentStep::kAffine}));
  EXPECT_EQ(partial.affine_p, 0.75);
  EXPECT_EQ(partial.affine_weight_both, 0.25);
  EXPECT_EQ(partial.flip_axes, (std::array<bool, 3>{true, false, false}));
  EXPECT_FALSE(partial.is_enabled(AugmentStep::kNoise));
  EXPECT_EQ(partial.sequence_string(), "fl1-af1");

  EXPECT_FALSE(AugmentOptions::from_sequence("none").enabled);
  EXPECT_FALSE(AugmentOptions::from_sequence("").enabled);
  try {
    AugmentOptions::from_sequence("af0-mo1");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("mo1"), std::string::npos) << what;
    EXPECT_NE(what.find("af0, af1, no0"), std::string::npos) << what;
  }
  EXPECT_THROW(AugmentOptions::from_sequence("af0-af1"), Error);
  EXPECT_THROW(AugmentOptions::from_sequence("af0--no0"), Error);

  AugmentOptions e;
  e.set_enabled(AugmentStep::kBlur, false);
  e.set_enabled(AugmentStep::kAffine, false);
  EXPECT_EQ(e.sequence_string(), "no0-br0-co0-an0-gi0-ga0-fl0");
  e.set_enabled(AugmentStep::kBlur, true);
  EXPECT_EQ(e.sequence_string(), "no0-bl0-br0-co0-an0-gi0-ga0-fl0");
}

TEST(AugmentOptions, MasterSwitchOffReturnsACopy) {
  auto x = random_image();
  AugmentOptions o;
  o.enabled = false;
  Rng rng(1);
  auto y = augment(x, o, rng);
  EXPECT_TRUE(torch::equal(x, y));
  EXPECT_NE(x.data_ptr(), y.data_ptr());
}

TEST(AugmentOptions, JsonRoundTripAndValidation) {
  AugmentOptions o = AugmentOptions::from_sequence("af1-no0-fl1");
  o.noise_std_max = 0.2;
  nlohmann::json j = o;
  AugmentOptions back = j.get<AugmentOptions>();
  EXPECT_EQ(back.sequence_string(), "af1-no0-fl1");
  EXPECT_EQ(back.noise_std_max, 0.2);
  EXPECT_THROW(nlohmann::json({{"noise_q", 0.1}}).get<AugmentOptions>(), Error);
  try {
    nlohmann::json({{"blur_p", 1.5}}).get<AugmentOptions>();
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blur_p"), std::string::npos) << e.what();
  }
}

TEST(Augment, BadInputIsAnError) {
  AugmentOptions o;
  Rng rng(0);
  EXPECT_THROW(augment(torch::zeros({4, 5, 5}), o, rng), Error);
  EXPECT_THROW(augment(torch::zeros({4, 5, 5, 5}, torch::kDouble), o, rng), Error);
  EXPECT_THROW(apply_brightness(torch::zeros({4, 5, 5, 5}), {1.0, 1.0}), Error);
  EXPECT_THROW(apply_affine(torch::zeros({1, 5, 5, 5}), AffineParams{0, -1.0, {0, 0, 0}}), Error);
}

TEST(Augment, FullSizeSubjectTiming) {
  // One 4 x 128 x 128 x 96 subject with every step applied: report each step's cost (no bound:
  // shared machines), and check the result is sane.
  auto x = random_image({4, 128, 128, 96});
  Rng rng(5);
  auto p = draw_augment(always(), 4, rng);
  double total = 0;
  auto timed = [&](const char* name, auto&& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::Tensor y = fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += s;
    std::cout << "[ timing ] " << name << ": " << s << " s\n";
    EXPECT_EQ(y.sizes(), x.sizes()) << name;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << name;
  };
  timed("affine", [&] { return apply_affine(x, *p.affine); });
  timed("noise", [&] {
    auto y = apply_noise(x, *p.noise);
    EXPECT_NEAR((y - x).std().item<double>(), p.noise->std, 0.01 * p.noise->std + 1e-6);
    return y;
  });
  timed("blur", [&] { return apply_blur(x, *p.blur); });
  timed("brightness", [&] {
    auto y = apply_brightness(x, *p.brightness);
    for (int64_t c = 0; c < 4; ++c)
      EXPECT_LT(max_abs_diff(y[c], x[c] * static_cast<float>((*p.brightness)[static_cast<size_t>(c)])), 1e-5) << c;
    return y;
  });
  timed("contrast", [&] { return apply_contrast(x, *p.contrast); });
  timed("anisotropy", [&] { return apply_anisotropy(x, *p.anisotropy); });
  timed("gamma inverted", [&] { return apply_gamma(x, *p.gamma_inverted, true); });
  timed("gamma", [&] { return apply_gamma(x, *p.gamma, false); });
  timed("flip", [&] {
    auto y = apply_flip(x, *p.flip);
    std::vector<int64_t> dims;
    for (int a = 0; a < 3; ++a)
      if (p.flip->axes[static_cast<size_t>(a)]) dims.push_back(a + 1);
    EXPECT_TRUE(torch::equal(y, dims.empty() ? x : x.flip(dims)));
    return y;
  });
  std::cout << "[ timing ] all nine steps on 4x128x128x96: " << total << " s\n";
}
