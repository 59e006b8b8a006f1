// SPDX-License-Identifier: MIT
// Deterministic preprocessing of one case (docs/method.md#preprocessing), defined in physical terms so it
// works for inputs of any voxel size:
//   1. reorient to the closest canonical RAS+ orientation (axis permutation/flip only, as
//      nibabel's as_closest_canonical);
//   2. take a field of view of fov_mm (default 192 x 192 x 144 mm) centred on the volume centre,
//   3. sampled at `spacing_mm` (default 1.5 mm -> 128 x 128 x 96): trilinear for images, nearest
//      neighbour for the segmentation, zero outside the input;
//   4. z-score each modality over the whole output volume (mean 0, unbiased std 1).
// Steps 2-3 are one resampling: the output affine maps each voxel to the physical point it was
// sampled from, so world coordinates of anatomy are preserved.
// PreprocessGrid::kReference instead follows the reference's TorchIO (0.19) pipeline literally
// (docs/method.md#reference-preprocessing): ToCanonical, CropOrPad to a voxel count, Resample
// (SimpleITK: integer images stay integer), ZNormalization, for models imported from the
// authors' checkpoints.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "mprotonet/io/volume.h"

namespace mprotonet {

/// How steps 2-3 build the output grid.
enum class PreprocessGrid {
  kMillimetre,  ///< a field of view in mm centred on the volume, one interpolation (the default)
  kReference,   ///< TorchIO's CropOrPad (voxels) then Resample(spacing), as the reference code
};

/// "mm" / "reference"; parse_preprocess_grid throws Error naming the accepted values.
std::string to_string(PreprocessGrid grid);
PreprocessGrid parse_preprocess_grid(const std::string& text);

struct PreprocessOptions {
  /// Output voxel size in mm (isotropic). Default 1.5 (the paper); 3.0 gives 64 x 64 x 48.
  double spacing_mm = 1.5;
  /// Field of view in mm along the RAS axes. Default 192 x 192 x 144 (the paper's crop).
  std::array<double, 3> fov_mm{192.0, 192.0, 144.0};
  /// Z-score each modality. Default true.
  bool zscore = true;
  /// Grid construction. Default kMillimetre.
  PreprocessGrid grid = PreprocessGrid::kMillimetre;
  /// kReference only: CropOrPad's target in voxels (the reference's 192 x 192 x 144).
  std::array<int64_t, 3> reference_crop{192, 192, 144};

  /// Output grid size: round(fov / spacing) per axis; for kReference, the reference's
  /// ceil(crop * 1 mm / spacing), the size for the 1 mm volumes the reference pipeline expects.
  std::array<int64_t, 3> output_shape() const;
  /// Text form for cache keys and run records ("spacing=1.5;fov=192,192,144;zscore=1", and
  /// ";grid=reference;crop=192,192,144" for kReference).
  std::string key() const;
};

/// Orientation of each array axis: the RAS axis (0, 1, 2) it points along and its sign.
struct AxisOrientation {
  int axis = 0;
  int sign = 1;
};

/// nibabel's io_orientation: closest RAS axis per array axis (polar decomposition of the
/// direction cosines, then greedy largest-component assignment).
std::array<AxisOrientation, 3> io_orientation(const Affine& affine);

/// Three-letter axis code ("LPS", "RAS", ...) as nibabel's aff2axcodes.
std::string axis_codes(const Affine& affine);

/// Reorients to the closest canonical RAS+ (nibabel's as_closest_canonical): data permuted and
/// flipped, affine updated; returns the input unchanged when it already is.
Volume reorient_to_ras(const Volume& in);

enum class Interpolation { kLinear, kNearest };

/// Resamples `in` onto the grid (shape, affine): each output voxel takes the value at the same
/// world point, trilinear or nearest, 0 outside the input.
Volume resample(const Volume& in, const std::array<int64_t, 3>& shape, const Affine& affine, Interpolation interp);

/// TorchIO's CropOrPad to `target` voxels about the centre: ceil(d / 2) voxels removed or added
/// before, floor(d / 2) after, zeros padded; the affine follows so world positions are unchanged.
Volume crop_or_pad(const Volume& in, const std::array<int64_t, 3>& target);

/// The reference's Resample(spacing) grid for `in` (TorchIO 0.19): ceil(n * zoom / spacing)
/// voxels per axis (1 stays 1), same directions, output voxel i at input continuous index
/// 0.5 * (r - 1) + i * r with r = spacing / zoom. Returns the shape and affine.
std::pair<std::array<int64_t, 3>, Affine> reference_resample_grid(const Volume& in, double spacing_mm);

/// Resampling as SimpleITK's ResampleImageFilter does it for TorchIO: a point whose continuous
/// index lies in [-0.5, n - 0.5) on every axis is inside (nearest: rounded half up; linear:
/// index clamped to [0, n - 1], then trilinear); other points take 0.
Volume resample_itk(const Volume& in, const std::array<int64_t, 3>& shape, const Affine& affine, Interpolation interp);

/// The output grid of steps 2-3 for a volume already in canonical orientation.
Affine output_affine(const Volume& canonical, const PreprocessOptions& options);

/// Z-scores in place (mean 0, unbiased std 1). Throws Error when the volume is constant.
void zscore(Volume& v);

/// Preprocesses one already-loaded volume (steps 1-4; no z-score for kNearest).
Volume preprocess_volume(const Volume& in, const PreprocessOptions& options, Interpolation interp);

}  // namespace mprotonet
