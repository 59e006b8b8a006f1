// SPDX-License-Identifier: MIT
// Training-time data augmentation of MProtoNet (docs/method.md#augmentation; the reference applies the
// TorchIO sequence "af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0" to every training subject).
//
// Works on one preprocessed subject: a float32 tensor [C, X, Y, Z] (C = 4 modalities, channel
// order T1, T1CE, T2, FLAIR). As in MONAI, every transform is split into
//   draw_*(options, rng)   -> parameters   (all randomness, from an explicit Rng)
//   apply_*(x, parameters) -> tensor       (deterministic, torch ops only)
// so a run is reproducible from its seed, and tests can apply chosen parameters directly.
//
// Choices where TorchIO's behaviour is not carried over literally (documented once, here):
// - affine padding: each channel is padded with its own minimum (the background level of a
//   z-scored, skull-stripped volume; TorchIO's 'otsu' estimates the same level);
// - affine geometry: rotation/scaling about the volume centre in voxel units (the volumes are
//   isotropic after preprocessing), trilinear sampling;
// - blur: sigma is in voxels (docs/method.md#augmentation), drawn independently per axis (as TorchIO draws per axis),
//   kernel truncated at 4 sigma (as scipy), borders replicated;
// - noise: one std per subject, an independent noise field per channel;
// - brightness, contrast, gamma: one factor per channel, statistics per channel (the reference
//   wraps them in tio.Lambda, which calls the function once per image = per modality);
// - anisotropy: nearest-neighbour downsampling to round(n / factor) voxels along the chosen axis,
//   linear upsampling back (as TorchIO's RandomAnisotropy).
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/core/rng.h"

namespace mprotonet {

/// One step of the augmentation sequence, named as in the reference ("af0", "no0", ...).
enum class AugmentStep {
  kAffine,         ///< "af0" (or "af1": the stronger preset)
  kNoise,          ///< "no0"
  kBlur,           ///< "bl0"
  kBrightness,     ///< "br0"
  kContrast,       ///< "co0"
  kAnisotropy,     ///< "an0"
  kGammaInverted,  ///< "gi0"
  kGamma,          ///< "ga0"
  kFlip,           ///< "fl0" (or "fl1": flip along the first axis only)
};

/// The reference's default order: af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0.
std::vector<AugmentStep> default_augment_sequence();

/// Options of the whole augmentation; defaults = docs/method.md#augmentation / the reference's default.
struct AugmentOptions {
  /// Master switch; false = augment() returns its input unchanged (a copy). Default true.
  bool enabled = true;
  /// Steps applied, in this order. Default: all nine in the reference's order. A step not listed
  /// is disabled (see set_enabled / from_sequence).
  std::vector<AugmentStep> sequence = default_augment_sequence();

  // --- random affine (one of scale / rotation / both) ---
  /// Probability that an affine transform is applied at all. Default 0.36.
  double affine_p = 0.36;
  /// Relative weight of "isotropic scaling only". Default 0.16.
  double affine_weight_scale = 0.16;
  /// Relative weight of "rotation only". Default 0.16.
  double affine_weight_rotation = 0.16;
  /// Relative weight of "scaling and rotation". Default 0.04.
  double affine_weight_both = 0.04;
  /// Isotropic scale factor range (>1 zooms in). Default [0.7, 1.4].
  double scale_min = 0.7, scale_max = 1.4;
  /// Rotation angle range about each of the three axes, degrees. Default [-30, 30].
  double degrees_min = -30.0, degrees_max = 30.0;

  // --- Gaussian noise ---
  /// Probability. Default 0.15.
  double noise_p = 0.15;
  /// Noise standard deviation range (image units, i.e. z-score units). Default [0, 0.1].
  double noise_std_min = 0.0, noise_std_max = 0.1;

  // --- Gaussian blur ---
  /// Probability of the blur step as a whole. Default 0.2.
  double blur_p = 0.2;
  /// Probability that a channel is blurred, given the step applies. Default 0.5.
  double blur_channel_p = 0.5;
  /// Gaussian sigma range per axis, voxels. Default [0.5, 1.5].
  double blur_sigma_min = 0.5, blur_sigma_max = 1.5;

  // --- brightness ---
  /// Probability. Default 0.15.
  double brightness_p = 0.15;
  /// Multiplier range. Default [0.7, 1.3].
  double brightness_min = 0.7, brightness_max = 1.3;

  // --- contrast ---
  /// Probability. Default 0.15.
  double contrast_p = 0.15;
  /// Factor range: with chance 1/2 from [contrast_min, 1], otherwise [1, contrast_max].
  /// Default [0.65, 1.5].
  double contrast_min = 0.65, contrast_max = 1.5;

  // --- simulated anisotropy (low resolution along one axis) ---
  /// Probability of the step as a whole. Default 0.25.
  double anisotropy_p = 0.25;
  /// Probability that a channel is degraded, given the step applies. Default 0.5.
  double anisotropy_channel_p = 0.5;
  /// Downsampling factor range (>= 1). Default [1, 2].
  double anisotropy_min = 1.0, anisotropy_max = 2.0;

  // --- gamma (both the inverted-image and the plain variant) ---
  /// Probability of gamma on the inverted image. Default 0.15.
  double gamma_inverted_p = 0.15;
  /// Probability of gamma on the image. Default 0.15.
  double gamma_p = 0.15;
  /// Gamma range: with chance 1/2 from [gamma_min, 1], otherwise [1, gamma_max]. Default
  /// [0.7, 1.5].
  double gamma_min = 0.7, gamma_max = 1.5;

  // --- flips ---
  /// Probability of a flip along each enabled axis, independently. Default 0.5.
  double flip_p = 0.5;
  /// Axes (X, Y, Z) that may be flipped. Default all three.
  std::array<bool, 3> flip_axes{true, true, true};

  /// Parses the reference's names joined by '-', e.g. "af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0".
  /// A listed step is enabled, in the order given; an absent one is disabled. The digit picks
  /// the reference's preset: af0 (p 0.36, weights .16/.16/.04) or af1 (p 0.75, weights
  /// .25/.25/.25); fl0 (all three axes) or fl1 (first axis only); every other step has only
  /// variant 0. "" or "none" = master switch off. Unknown or repeated names are an Error that
  /// lists the valid ones.
  static AugmentOptions from_sequence(const std::string& names);

  /// The sequence in the reference's notation (af1 / fl1 when the options equal those presets);
  /// "none" when switched off or empty.
  std::string sequence_string() const;

  bool is_enabled(AugmentStep step) const;
  /// Enables a step (inserted at its place in the default order) or removes it.
  void set_enabled(AugmentStep step, bool on);

  /// Throws Error naming the field and value when a probability is outside [0, 1] or a range
  /// is empty / invalid.
  void validate() const;
};

/// Short name of a step ("af", "no", ...) for messages.
std::string augment_step_name(AugmentStep step);

void to_json(nlohmann::json& j, const AugmentOptions& o);
/// Reads the fields present in j over the defaults; unknown keys are an Error.
void from_json(const nlohmann::json& j, AugmentOptions& o);

// ------------------------------------------------------------------------------------------
// Parameters of each transform (what draw_* returns and apply_* consumes).

struct AffineParams {
  int branch = 0;                              ///< 0 scale only, 1 rotation only, 2 both
  double scale = 1.0;                          ///< isotropic scale, >1 zooms in
  std::array<double, 3> degrees{0.0, 0.0, 0.0};  ///< rotation about X, Y, Z, degrees
};
struct NoiseParams {
  double std = 0.0;   ///< standard deviation
  uint64_t seed = 0;  ///< seed of the noise field
};
struct BlurParams {
  /// Per channel: Gaussian sigma per axis in voxels, or nullopt = channel untouched.
  std::vector<std::optional<std::array<double, 3>>> sigma;
};
struct AnisotropyChannel {
  int axis = 0;         ///< 0, 1 or 2
  double factor = 1.0;  ///< downsampling factor >= 1
};
struct AnisotropyParams {
  /// Per channel, or nullopt = channel untouched.
  std::vector<std::optional<AnisotropyChannel>> channel;
};
struct FlipParams {
  std::array<bool, 3> axes{false, false, false};  ///< flip along X, Y, Z
};

/// Everything drawn for one subject; a step that was not drawn to apply is nullopt.
struct AugmentParams {
  std::vector<AugmentStep> order;
  std::optional<AffineParams> affine;
  std::optional<NoiseParams> noise;
  std::optional<BlurParams> blur;
  std::optional<std::vector<double>> brightness;      ///< factor per channel
  std::optional<std::vector<double>> contrast;        ///< factor per channel
  std::optional<AnisotropyParams> anisotropy;
  std::optional<std::vector<double>> gamma_inverted;  ///< gamma per channel
  std::optional<std::vector<double>> gamma;           ///< gamma per channel
  std::optional<FlipParams> flip;
};

// --- draws (each assumes its step was chosen to apply; draw_augment decides that) ---
AffineParams draw_affine(const AugmentOptions& o, Rng& rng);
NoiseParams draw_noise(const AugmentOptions& o, Rng& rng);
BlurParams draw_blur(const AugmentOptions& o, int64_t channels, Rng& rng);
std::vector<double> draw_brightness(const AugmentOptions& o, int64_t channels, Rng& rng);
std::vector<double> draw_contrast(const AugmentOptions& o, int64_t channels, Rng& rng);
AnisotropyParams draw_anisotropy(const AugmentOptions& o, int64_t channels, Rng& rng);
std::vector<double> draw_gamma(const AugmentOptions& o, int64_t channels, Rng& rng);
FlipParams draw_flip(const AugmentOptions& o, Rng& rng);

/// Draws, for every step of o.sequence in order, whether it applies (its probability) and
/// then its parameters. Needs no image data. Empty parameters when o.enabled is false.
AugmentParams draw_augment(const AugmentOptions& o, int64_t channels, Rng& rng);

// --- applications: x is float32 [C, X, Y, Z]; the result has the same shape and dtype and
// does not alias x. Bad input (rank, dtype, parameter count != C) is an Error. ---
torch::Tensor apply_affine(const torch::Tensor& x, const AffineParams& p);
torch::Tensor apply_noise(const torch::Tensor& x, const NoiseParams& p);
torch::Tensor apply_blur(const torch::Tensor& x, const BlurParams& p);
torch::Tensor apply_brightness(const torch::Tensor& x, const std::vector<double>& factor);
/// (x - mean) * f + mean per channel, clamped to the channel's [min, max] before the change.
torch::Tensor apply_contrast(const torch::Tensor& x, const std::vector<double>& factor);
torch::Tensor apply_anisotropy(const torch::Tensor& x, const AnisotropyParams& p);
/// Per channel t (or -t when invert): min-max scale, power gamma, scale back, then restore the
/// mean and (unbiased) std t had before; negate back when invert.
torch::Tensor apply_gamma(const torch::Tensor& x, const std::vector<double>& gamma, bool invert);
torch::Tensor apply_flip(const torch::Tensor& x, const FlipParams& p);

/// Applies drawn parameters in their order.
torch::Tensor apply_augment(const torch::Tensor& x, const AugmentParams& p);

/// draw_augment + apply_augment: the training-time augmentation of one subject.
torch::Tensor augment(const torch::Tensor& x, const AugmentOptions& o, Rng& rng);

}  // namespace mprotonet
