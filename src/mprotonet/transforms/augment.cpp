// SPDX-License-Identifier: MIT
// Training-time augmentation (docs/method.md#augmentation): parameter draws from an explicit Rng and their
// application with torch ops. See augment.h for the deviations from TorchIO and why.
#include "mprotonet/transforms/augment.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mprotonet/core/error.h"
#include "mprotonet/core/text.h"

namespace mprotonet {
namespace F = torch::nn::functional;

namespace {

struct StepName {
  const char* token;
  AugmentStep step;
  int variant;
};
// The reference's names (utils.py transform_augs) that this implementation knows.
const StepName kStepNames[] = {
    {"af0", AugmentStep::kAffine, 0},     {"af1", AugmentStep::kAffine, 1},
    {"no0", AugmentStep::kNoise, 0},      {"bl0", AugmentStep::kBlur, 0},
    {"br0", AugmentStep::kBrightness, 0}, {"co0", AugmentStep::kContrast, 0},
    {"an0", AugmentStep::kAnisotropy, 0}, {"gi0", AugmentStep::kGammaInverted, 0},
    {"ga0", AugmentStep::kGamma, 0},      {"fl0", AugmentStep::kFlip, 0},
    {"fl1", AugmentStep::kFlip, 1},
};

std::string valid_step_list() {
  std::string s;
  for (const auto& n : kStepNames) s += (s.empty() ? "" : ", ") + std::string(n.token);
  return s;
}

bool is_af1(const AugmentOptions& o) {
  return o.affine_p == 0.75 && o.affine_weight_scale == 0.25 && o.affine_weight_rotation == 0.25 &&
         o.affine_weight_both == 0.25;
}


void check_image(const torch::Tensor& x, const char* what) {
  check(x.defined(), std::string(what) + ": the image tensor is undefined");
  check(x.dim() == 4, std::string(what) + ": expected an image tensor [C, X, Y, Z], got shape " +
                          shape_string(x));
  check(x.scalar_type() == torch::kFloat,
        std::string(what) + ": expected a float32 image, got " +
            std::string(c10::toString(x.scalar_type())));
  check(x.numel() > 0, std::string(what) + ": the image is empty, shape " + shape_string(x));
}

void check_count(size_t n, const torch::Tensor& x, const char* what) {
  check(static_cast<int64_t>(n) == x.size(0),
        std::string(what) + ": " + std::to_string(n) + " per-channel parameters for an image with " +
            std::to_string(x.size(0)) + " channels");
}

/// Per-channel values as a [C, 1, 1, 1] float tensor for broadcasting.
torch::Tensor per_channel(const std::vector<double>& v) {
  return torch::tensor(v, torch::kDouble).to(torch::kFloat).view({-1, 1, 1, 1});
}

/// Factor from [lo, 1] or [1, hi] with equal chance (the reference's augment_contrast /
/// augment_gamma draw; the first interval only exists when lo < 1).
double draw_below_or_above_one(double lo, double hi, Rng& rng) {
  if (rng.bernoulli(0.5) && lo < 1.0) return rng.uniform(lo, 1.0);
  return rng.uniform(std::max(lo, 1.0), hi);
}

void check_probability(double p, const char* field) {
  check(p >= 0.0 && p <= 1.0, std::string("augmentation option ") + field +
                                  " must be a probability in [0, 1], got " + std::to_string(p));
}
void check_range(double lo, double hi, const char* field) {
  check(std::isfinite(lo) && std::isfinite(hi) && lo <= hi,
        std::string("augmentation option ") + field + " must be a range lo <= hi, got [" +
            std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

torch::Tensor gaussian_kernel_1d(double sigma) {
  // Truncated at 4 sigma, the scipy.ndimage.gaussian_filter default TorchIO relies on.
  const int64_t radius = static_cast<int64_t>(4.0 * sigma + 0.5);
  auto t = torch::arange(-radius, radius + 1, torch::kDouble);
  auto k = torch::exp(-0.5 * (t / sigma).pow(2));
  return (k / k.sum()).to(torch::kFloat);
}

}  // namespace

std::vector<AugmentStep> default_augment_sequence() {
  return {AugmentStep::kAffine,     AugmentStep::kNoise,         AugmentStep::kBlur,
          AugmentStep::kBrightness, AugmentStep::kContrast,      AugmentStep::kAnisotropy,
          AugmentStep::kGammaInverted, AugmentStep::kGamma,      AugmentStep::kFlip};
}

std::string augment_step_name(AugmentStep step) {
  switch (step) {
    case AugmentStep::kAffine: return "af";
    case AugmentStep::kNoise: return "no";
    case AugmentStep::kBlur: return "bl";
    case AugmentStep::kBrightness: return "br";
    case AugmentStep::kContrast: return "co";
    case AugmentStep::kAnisotropy: return "an";
    case AugmentStep::kGammaInverted: return "gi";
    case AugmentStep::kGamma: return "ga";
    case AugmentStep::kFlip: return "fl";
  }
  return "?";
}

AugmentOptions AugmentOptions::from_sequence(const std::string& names) {
  AugmentOptions o;
  o.sequence.clear();
  if (names.empty() || names == "none") {
    o.enabled = false;
    return o;
  }
  std::stringstream ss(names);
  std::string token;
  while (std::getline(ss, token, '-')) {
    const StepName* found = nullptr;
    for (const auto& n : kStepNames)
      if (token == n.token) found = &n;
    check(found != nullptr, "augmentation sequence '" + names + "': unknown step '" + token +
                                "'; valid steps: " + valid_step_list() +
                                " (the reference's mo1 and bi1 are not implemented)");
    check(!o.is_enabled(found->step), "augmentation sequence '" + names + "': step '" + token +
                                          "' repeats an earlier " +
                                          augment_step_name(found->step) + " step");
    o.sequence.push_back(found->step);
    if (found->step == AugmentStep::kAffine && found->variant == 1) {
      o.affine_p = 0.75;
      o.affine_weight_scale = o.affine_weight_rotation = o.affine_weight_both = 0.25;
    }
    if (found->step == AugmentStep::kFlip && found->variant == 1) o.flip_axes = {true, false, false};
  }
  return o;
}

std::string AugmentOptions::sequence_string() const {
  if (!enabled || sequence.empty()) return "none";
  std::string s;
  for (AugmentStep step : sequence) {
    std::string variant = "0";
    if (step == AugmentStep::kAffine && is_af1(*this)) variant = "1";
    if (step == AugmentStep::kFlip && flip_axes == std::array<bool, 3>{true, false, false})
      variant = "1";
    s += (s.empty() ? "" : "-") + augment_step_name(step) + variant;
  }
  return s;
}

bool AugmentOptions::is_enabled(AugmentStep step) const {
  return std::find(sequence.begin(), sequence.end(), step) != sequence.end();
}

void AugmentOptions::set_enabled(AugmentStep step, bool on) {
  if (!on) {
    sequence.erase(std::remove(sequence.begin(), sequence.end(), step), sequence.end());
    return;
  }
  if (is_enabled(step)) return;
  // Insert before the first listed step that comes later in the default order.
  const auto order = default_augment_sequence();
  auto rank = [&order](AugmentStep s) { return std::find(order.begin(), order.end(), s) - order.begin(); };
  auto pos = std::find_if(sequence.begin(), sequence.end(),
                          [&](AugmentStep s) { return rank(s) > rank(step); });
  sequence.insert(pos, step);
}

void AugmentOptions::validate() const {
  check_probability(affine_p, "affine_p");
  check(affine_weight_scale >= 0 && affine_weight_rotation >= 0 && affine_weight_both >= 0 &&
            affine_weight_scale + affine_weight_rotation + affine_weight_both > 0,
        "augmentation options affine_weight_scale/rotation/both must be >= 0 with a positive sum, got " +
            std::to_string(affine_weight_scale) + ", " + std::to_string(affine_weight_rotation) +
            ", " + std::to_string(affine_weight_both));
  check_range(scale_min, scale_max, "scale_min/scale_max");
  check(scale_min > 0, "augmentation option scale_min must be > 0, got " + std::to_string(scale_min));
  check_range(degrees_min, degrees_max, "degrees_min/degrees_max");
  check_probability(noise_p, "noise_p");
  check_range(noise_std_min, noise_std_max, "noise_std_min/noise_std_max");
  check(noise_std_min >= 0, "augmentation option noise_std_min must be >= 0, got " +
                                std::to_string(noise_std_min));
  check_probability(blur_p, "blur_p");
  check_probability(blur_channel_p, "blur_channel_p");
  check_range(blur_sigma_min, blur_sigma_max, "blur_sigma_min/blur_sigma_max");
  check(blur_sigma_min > 0, "augmentation option blur_sigma_min must be > 0 voxels, got " +
                                std::to_string(blur_sigma_min));
  check_probability(brightness_p, "brightness_p");
  check_range(brightness_min, brightness_max, "brightness_min/brightness_max");
  check_probability(contrast_p, "contrast_p");
  check_range(contrast_min, contrast_max, "contrast_min/contrast_max");
  check(contrast_min >= 0 && contrast_max >= 1,
        "augmentation options contrast_min/contrast_max must satisfy 0 <= min and max >= 1, got [" +
            std::to_string(contrast_min) + ", " + std::to_string(contrast_max) + "]");
  check_probability(anisotropy_p, "anisotropy_p");
  check_probability(anisotropy_channel_p, "anisotropy_channel_p");
  check_range(anisotropy_min, anisotropy_max, "anisotropy_min/anisotropy_max");
  check(anisotropy_min >= 1, "augmentation option anisotropy_min must be >= 1, got " +
                                 std::to_string(anisotropy_min));
  check_probability(gamma_inverted_p, "gamma_inverted_p");
  check_probability(gamma_p, "gamma_p");
  check_range(gamma_min, gamma_max, "gamma_min/gamma_max");
  check(gamma_min > 0 && gamma_max >= 1,
        "augmentation options gamma_min/gamma_max must satisfy 0 < min and max >= 1, got [" +
            std::to_string(gamma_min) + ", " + std::to_string(gamma_max) + "]");
  check_probability(flip_p, "flip_p");
}

// ---------------------------------------------------------------------------------- JSON

void to_json(nlohmann::json& j, const AugmentOptions& o) {
  std::vector<std::string> seq;
  for (AugmentStep s : o.sequence) seq.push_back(augment_step_name(s));
  j = nlohmann::json{{"enabled", o.enabled},
                     {"sequence", seq},
                     {"sequence_string", o.sequence_string()},
                     {"affine_p", o.affine_p},
                     {"affine_weight_scale", o.affine_weight_scale},
                     {"affine_weight_rotation", o.affine_weight_rotation},
                     {"affine_weight_both", o.affine_weight_both},
                     {"scale_min", o.scale_min},
                     {"scale_max", o.scale_max},
                     {"degrees_min", o.degrees_min},
                     {"degrees_max", o.degrees_max},
                     {"noise_p", o.noise_p},
                     {"noise_std_min", o.noise_std_min},
                     {"noise_std_max", o.noise_std_max},
                     {"blur_p", o.blur_p},
                     {"blur_channel_p", o.blur_channel_p},
                     {"blur_sigma_min", o.blur_sigma_min},
                     {"blur_sigma_max", o.blur_sigma_max},
                     {"brightness_p", o.brightness_p},
                     {"brightness_min", o.brightness_min},
                     {"brightness_max", o.brightness_max},
                     {"contrast_p", o.contrast_p},
                     {"contrast_min", o.contrast_min},
                     {"contrast_max", o.contrast_max},
                     {"anisotropy_p", o.anisotropy_p},
                     {"anisotropy_channel_p", o.anisotropy_channel_p},
                     {"anisotropy_min", o.anisotropy_min},
                     {"anisotropy_max", o.anisotropy_max},
                     {"gamma_inverted_p", o.gamma_inverted_p},
                     {"gamma_p", o.gamma_p},
                     {"gamma_min", o.gamma_min},
                     {"gamma_max", o.gamma_max},
                     {"flip_p", o.flip_p},
                     {"flip_axes", o.flip_axes}};
}

void from_json(const nlohmann::json& j, AugmentOptions& o) {
  check(j.is_object(), "augmentation options: expected a JSON object, got " + j.dump());
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    with_context("while reading augmentation option '" + key + "'", [&] {
      if (key == "enabled") o.enabled = v.get<bool>();
      else if (key == "sequence_string") {}  // informative; "sequence" and the numbers rule
      else if (key == "sequence") {
        o.sequence.clear();
        for (const auto& name : v) {
          const std::string s = name.get<std::string>();
          bool known = false;
          for (AugmentStep step : default_augment_sequence())
            if (augment_step_name(step) == s) {
              check(!o.is_enabled(step), "step '" + s + "' is listed twice");
              o.sequence.push_back(step);
              known = true;
            }
          check(known, "unknown step '" + s + "'; valid: af, no, bl, br, co, an, gi, ga, fl");
        }
      } else if (key == "flip_axes") o.flip_axes = v.get<std::array<bool, 3>>();
#define MPROTONET_AUG_FIELD(name) else if (key == #name) o.name = v.get<double>();
      MPROTONET_AUG_FIELD(affine_p) MPROTONET_AUG_FIELD(affine_weight_scale)
      MPROTONET_AUG_FIELD(affine_weight_rotation) MPROTONET_AUG_FIELD(affine_weight_both)
      MPROTONET_AUG_FIELD(scale_min) MPROTONET_AUG_FIELD(scale_max)
      MPROTONET_AUG_FIELD(degrees_min) MPROTONET_AUG_FIELD(degrees_max)
      MPROTONET_AUG_FIELD(noise_p) MPROTONET_AUG_FIELD(noise_std_min)
      MPROTONET_AUG_FIELD(noise_std_max) MPROTONET_AUG_FIELD(blur_p)
      MPROTONET_AUG_FIELD(blur_channel_p) MPROTONET_AUG_FIELD(blur_sigma_min)
      MPROTONET_AUG_FIELD(blur_sigma_max) MPROTONET_AUG_FIELD(brightness_p)
      MPROTONET_AUG_FIELD(brightness_min) MPROTONET_AUG_FIELD(brightness_max)
      MPROTONET_AUG_FIELD(contrast_p) MPROTONET_AUG_FIELD(contrast_min)
      MPROTONET_AUG_FIELD(contrast_max) MPROTONET_AUG_FIELD(anisotropy_p)
      MPROTONET_AUG_FIELD(anisotropy_channel_p) MPROTONET_AUG_FIELD(anisotropy_min)
      MPROTONET_AUG_FIELD(anisotropy_max) MPROTONET_AUG_FIELD(gamma_inverted_p)
      MPROTONET_AUG_FIELD(gamma_p) MPROTONET_AUG_FIELD(gamma_min)
      MPROTONET_AUG_FIELD(gamma_max) MPROTONET_AUG_FIELD(flip_p)
#undef MPROTONET_AUG_FIELD
      else throw Error("unknown augmentation option '" + key + "'");
    });
  }
  o.validate();
}

// ---------------------------------------------------------------------------------- draws

AffineParams draw_affine(const AugmentOptions& o, Rng& rng) {
  AffineParams p;
  const double w = o.affine_weight_scale + o.affine_weight_rotation + o.affine_weight_both;
  const double r = rng.uniform(0.0, w);
  p.branch = r < o.affine_weight_scale ? 0 : (r < o.affine_weight_scale + o.affine_weight_rotation ? 1 : 2);
  if (p.branch != 1) p.scale = rng.uniform(o.scale_min, o.scale_max);
  if (p.branch != 0)
    for (double& d : p.degrees) d = rng.uniform(o.degrees_min, o.degrees_max);
  return p;
}

NoiseParams draw_noise(const AugmentOptions& o, Rng& rng) {
  NoiseParams p;
  p.std = rng.uniform(o.noise_std_min, o.noise_std_max);
  p.seed = rng.next_u64();
  return p;
}

BlurParams draw_blur(const AugmentOptions& o, int64_t channels, Rng& rng) {
  BlurParams p;
  for (int64_t c = 0; c < channels; ++c) {
    if (!rng.bernoulli(o.blur_channel_p)) {
      p.sigma.emplace_back(std::nullopt);
      continue;
    }
    std::array<double, 3> s{};
    for (double& v : s) v = rng.uniform(o.blur_sigma_min, o.blur_sigma_max);
    p.sigma.emplace_back(s);
  }
  return p;
}

std::vector<double> draw_brightness(const AugmentOptions& o, int64_t channels, Rng& rng) {
  std::vector<double> f(channels);
  for (double& v : f) v = rng.uniform(o.brightness_min, o.brightness_max);
  return f;
}

std::vector<double> draw_contrast(const AugmentOptions& o, int64_t channels, Rng& rng) {
  std::vector<double> f(channels);
  for (double& v : f) v = draw_below_or_above_one(o.contrast_min, o.contrast_max, rng);
  return f;
}

AnisotropyParams draw_anisotropy(const AugmentOptions& o, int64_t channels, Rng& rng) {
  AnisotropyParams p;
  for (int64_t c = 0; c < channels; ++c) {
    if (!rng.bernoulli(o.anisotropy_channel_p)) {
      p.channel.emplace_back(std::nullopt);
      continue;
    }
    AnisotropyChannel a;
    a.axis = static_cast<int>(rng.randint(3));
    a.factor = rng.uniform(o.anisotropy_min, o.anisotropy_max);
    p.channel.emplace_back(a);
  }
  return p;
}

std::vector<double> draw_gamma(const AugmentOptions& o, int64_t channels, Rng& rng) {
  std::vector<double> g(channels);
  for (double& v : g) v = draw_below_or_above_one(o.gamma_min, o.gamma_max, rng);
  return g;
}

FlipParams draw_flip(const AugmentOptions& o, Rng& rng) {
  FlipParams p;
  for (int a = 0; a < 3; ++a) p.axes[a] = o.flip_axes[a] && rng.bernoulli(o.flip_p);
  return p;
}

AugmentParams draw_augment(const AugmentOptions& o, int64_t channels, Rng& rng) {
  AugmentParams p;
  if (!o.enabled) return p;
  o.validate();
  check(channels >= 1, "draw_augment: the image must have at least one channel, got " +
                           std::to_string(channels));
  p.order = o.sequence;
  for (AugmentStep step : o.sequence) {
    switch (step) {
      case AugmentStep::kAffine:
        if (rng.bernoulli(o.affine_p)) p.affine = draw_affine(o, rng);
        break;
      case AugmentStep::kNoise:
        if (rng.bernoulli(o.noise_p)) p.noise = draw_noise(o, rng);
        break;
      case AugmentStep::kBlur:
        if (rng.bernoulli(o.blur_p)) p.blur = draw_blur(o, channels, rng);
        break;
      case AugmentStep::kBrightness:
        if (rng.bernoulli(o.brightness_p)) p.brightness = draw_brightness(o, channels, rng);
        break;
      case AugmentStep::kContrast:
        if (rng.bernoulli(o.contrast_p)) p.contrast = draw_contrast(o, channels, rng);
        break;
      case AugmentStep::kAnisotropy:
        if (rng.bernoulli(o.anisotropy_p)) p.anisotropy = draw_anisotropy(o, channels, rng);
        break;
      case AugmentStep::kGammaInverted:
        if (rng.bernoulli(o.gamma_inverted_p)) p.gamma_inverted = draw_gamma(o, channels, rng);
        break;
      case AugmentStep::kGamma:
        if (rng.bernoulli(o.gamma_p)) p.gamma = draw_gamma(o, channels, rng);
        break;
      case AugmentStep::kFlip:
        p.flip = draw_flip(o, rng);
        break;
    }
  }
  return p;
}

// ---------------------------------------------------------------------------------- apply

torch::Tensor apply_affine(const torch::Tensor& x, const AffineParams& p) {
  check_image(x, "apply_affine");
  check(p.scale > 0 && std::isfinite(p.scale),
        "apply_affine: the scale must be a positive number, got " + std::to_string(p.scale));
  // Output offset q (voxels from the centre) samples the input at A^-1 q with A = s * R,
  // R = Rz * Ry * Rx; A^-1 = R^T / s.
  double rot[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  auto mul = [&rot](const double m[3][3]) {
    double r[3][3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) r[i][j] = m[i][0] * rot[0][j] + m[i][1] * rot[1][j] + m[i][2] * rot[2][j];
    std::copy(&r[0][0], &r[0][0] + 9, &rot[0][0]);
  };
  const double k = M_PI / 180.0;
  const double cx = std::cos(p.degrees[0] * k), sx = std::sin(p.degrees[0] * k);
  const double cy = std::cos(p.degrees[1] * k), sy = std::sin(p.degrees[1] * k);
  const double cz = std::cos(p.degrees[2] * k), sz = std::sin(p.degrees[2] * k);
  const double rx[3][3] = {{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}};
  const double ry[3][3] = {{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}};
  const double rz[3][3] = {{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}};
  mul(rx);  // rot = Rx
  mul(ry);  // rot = Ry Rx
  mul(rz);  // rot = Rz Ry Rx

  // Offsets from the centre along each axis, shaped to broadcast to [X, Y, Z]; the sampling
  // position is built by broadcasting (no meshgrid copies).
  std::vector<torch::Tensor> q;
  for (int a = 0; a < 3; ++a) {
    const int64_t n = x.size(a + 1);
    std::vector<int64_t> shape{1, 1, 1};
    shape[a] = n;
    q.push_back((torch::arange(n, torch::kFloat) - static_cast<float>((n - 1) / 2.0)).view(shape));
  }
  std::vector<torch::Tensor> normalised(3);
  for (int a = 0; a < 3; ++a) {
    // row a of R^T / s = column a of R / s, then scaled to grid_sample's [-1, 1]
    const int64_t n = x.size(a + 1);
    const double k_norm = n > 1 ? 2.0 / ((n - 1) * p.scale) : 0.0;
    normalised[a] = (q[0] * (rot[0][a] * k_norm) + q[1] * (rot[1][a] * k_norm) + q[2] * (rot[2][a] * k_norm))
                        .expand({x.size(1), x.size(2), x.size(3)});
  }
  // grid_sample wants (W, H, D) = (Z, Y, X) in the last dimension.
  auto grid = torch::stack({normalised[2], normalised[1], normalised[0]}, -1).unsqueeze(0).to(x.device());
  // Sampling x - background with zero padding and adding the background back pads with the
  // background level and blends towards it at the border, like a constant-value pad.
  auto background = x.amin({1, 2, 3}, /*keepdim=*/true);
  auto out = F::grid_sample((x - background).unsqueeze(0), grid,
                            F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(true));
  return (out.squeeze(0) + background).contiguous();
}

torch::Tensor apply_noise(const torch::Tensor& x, const NoiseParams& p) {
  check_image(x, "apply_noise");
  check(p.std >= 0 && std::isfinite(p.std), "apply_noise: std must be >= 0, got " + std::to_string(p.std));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(p.seed);
  auto noise = torch::randn(x.sizes(), gen, x.options().device(torch::kCPU)).to(x.device());
  return x + noise * p.std;
}

torch::Tensor apply_blur(const torch::Tensor& x, const BlurParams& p) {
  check_image(x, "apply_blur");
  check_count(p.sigma.size(), x, "apply_blur");
  auto out = x.clone();
  for (int64_t c = 0; c < x.size(0); ++c) {
    if (!p.sigma[c]) continue;
    auto v = x[c];  // [X, Y, Z]
    for (int a = 0; a < 3; ++a) {
      const double sigma = (*p.sigma[c])[a];
      check(sigma > 0 && std::isfinite(sigma),
            "apply_blur: sigma must be > 0 voxels, got " + std::to_string(sigma));
      const auto kernel = gaussian_kernel_1d(sigma);
      const int64_t r = (kernel.size(0) - 1) / 2, n = v.size(a);
      if (r == 0) continue;
      // Replicate-pad along the axis, then sum the 2r + 1 shifted copies with their weights:
      // a separable 1-D convolution without the [k, N] unfolded buffer conv3d would build.
      std::vector<int64_t> pad(6, 0);
      pad[2 * (2 - a)] = r;  // F::pad lists the last dimension first
      pad[2 * (2 - a) + 1] = r;
      auto padded = F::pad(v.unsqueeze(0).unsqueeze(0), F::PadFuncOptions(pad).mode(torch::kReplicate))
                        .squeeze(0)
                        .squeeze(0);
      const auto w = kernel.accessor<float, 1>();
      auto acc = padded.narrow(a, 0, n) * w[0];
      for (int64_t k = 1; k < kernel.size(0); ++k) acc.add_(padded.narrow(a, k, n), w[k]);
      v = acc;
    }
    out[c] = v.squeeze(0).squeeze(0);
  }
  return out;
}

torch::Tensor apply_brightness(const torch::Tensor& x, const std::vector<double>& factor) {
  check_image(x, "apply_brightness");
  check_count(factor.size(), x, "apply_brightness");
  return x * per_channel(factor).to(x.device());
}

torch::Tensor apply_contrast(const torch::Tensor& x, const std::vector<double>& factor) {
  check_image(x, "apply_contrast");
  check_count(factor.size(), x, "apply_contrast");
  auto mean = x.mean({1, 2, 3}, /*keepdim=*/true);
  auto lo = x.amin({1, 2, 3}, true), hi = x.amax({1, 2, 3}, true);
  auto y = (x - mean) * per_channel(factor).to(x.device()) + mean;
  return torch::max(torch::min(y, hi), lo);
}

torch::Tensor apply_anisotropy(const torch::Tensor& x, const AnisotropyParams& p) {
  check_image(x, "apply_anisotropy");
  check_count(p.channel.size(), x, "apply_anisotropy");
  auto out = x.clone();
  const std::vector<int64_t> full{x.size(1), x.size(2), x.size(3)};
  for (int64_t c = 0; c < x.size(0); ++c) {
    if (!p.channel[c]) continue;
    const auto& a = *p.channel[c];
    check(a.axis >= 0 && a.axis < 3, "apply_anisotropy: axis must be 0, 1 or 2, got " + std::to_string(a.axis));
    check(a.factor >= 1 && std::isfinite(a.factor),
          "apply_anisotropy: the downsampling factor must be >= 1, got " + std::to_string(a.factor));
    std::vector<int64_t> low = full;
    low[a.axis] = std::max<int64_t>(1, std::llround(full[a.axis] / a.factor));
    auto v = x[c].unsqueeze(0).unsqueeze(0);
    auto down = F::interpolate(v, F::InterpolateFuncOptions().size(low).mode(torch::kNearest));
    auto up = F::interpolate(down, F::InterpolateFuncOptions().size(full).mode(torch::kTrilinear).align_corners(false));
    out[c] = up.squeeze(0).squeeze(0);
  }
  return out;
}

torch::Tensor apply_gamma(const torch::Tensor& x, const std::vector<double>& gamma, bool invert) {
  check_image(x, "apply_gamma");
  check_count(gamma.size(), x, "apply_gamma");
  for (double g : gamma)
    check(g > 0 && std::isfinite(g), "apply_gamma: gamma must be > 0, got " + std::to_string(g));
  constexpr double kEps = 1e-12;  // the reference's epsilon against a flat channel
  const std::vector<int64_t> dims{1, 2, 3};
  auto t = invert ? -x : x;
  auto mean = t.mean(dims, true);
  auto stdev = t.std(dims, /*unbiased=*/true, /*keepdim=*/true);
  auto lo = t.amin(dims, true);
  auto range = (t.amax(dims, true) - lo).clamp_min(kEps);
  auto y = ((t - lo) / range).pow(per_channel(gamma).to(x.device())) * range + lo;
  y = (y - y.mean(dims, true)) / y.std(dims, true, true).clamp_min(kEps) * stdev + mean;
  return invert ? -y : y;
}

torch::Tensor apply_flip(const torch::Tensor& x, const FlipParams& p) {
  check_image(x, "apply_flip");
  std::vector<int64_t> dims;
  for (int a = 0; a < 3; ++a)
    if (p.axes[a]) dims.push_back(a + 1);
  return dims.empty() ? x.clone() : x.flip(dims);
}

torch::Tensor apply_augment(const torch::Tensor& x, const AugmentParams& p) {
  check_image(x, "apply_augment");
  auto y = x;
  for (AugmentStep step : p.order) {
    switch (step) {
      case AugmentStep::kAffine: if (p.affine) y = apply_affine(y, *p.affine); break;
      case AugmentStep::kNoise: if (p.noise) y = apply_noise(y, *p.noise); break;
      case AugmentStep::kBlur: if (p.blur) y = apply_blur(y, *p.blur); break;
      case AugmentStep::kBrightness: if (p.brightness) y = apply_brightness(y, *p.brightness); break;
      case AugmentStep::kContrast: if (p.contrast) y = apply_contrast(y, *p.contrast); break;
      case AugmentStep::kAnisotropy: if (p.anisotropy) y = apply_anisotropy(y, *p.anisotropy); break;
      case AugmentStep::kGammaInverted:
        if (p.gamma_inverted) y = apply_gamma(y, *p.gamma_inverted, /*invert=*/true);
        break;
      case AugmentStep::kGamma: if (p.gamma) y = apply_gamma(y, *p.gamma, /*invert=*/false); break;
      case AugmentStep::kFlip: if (p.flip) y = apply_flip(y, *p.flip); break;
    }
  }
  return y.is_same(x) ? x.clone() : y.contiguous();
}

torch::Tensor augment(const torch::Tensor& x, const AugmentOptions& o, Rng& rng) {
  check_image(x, "augment");
  return apply_augment(x, draw_augment(o, x.size(0), rng));
}

}  // namespace mprotonet
