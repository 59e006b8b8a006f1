// SPDX-License-Identifier: MIT
// Healthy anatomy of the synthetic cohort: the MNI/ICBM152 tissue map placed in BraTS space
// (resources/anatomy/, made by scripts/make_anatomy.py), and the per-subject smooth random
// diffeomorphism that makes every subject's brain different.
//
// Coordinates are world millimetres of the BraTS 240 x 240 x 155 grid (affine diag(-1, -1, 1),
// y offset 239): "atlas space". A subject is the atlas seen through pose (rotation, scale,
// shift about the brain centre) and a deformation; see data/synthetic.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "mprotonet/data/synth_random.h"

namespace mprotonet::synth {

/// Partial-volume tissue fractions at a point, each in [0, 1], summing to at most 1 (the rest
/// is outside the brain), and how much of the point lies inside the skull-stripping mask.
struct TissueFractions {
  double csf = 0, gm = 0, wm = 0;
  double mask = 0;
  double brain() const { return csf + gm + wm; }
};

/// A scalar field on a regular axis-aligned grid: value[i, j, k] sits at world
/// origin + spacing * (i, j, k) (k fastest in memory). Trilinear sampling, `outside` beyond
/// the grid.
struct GridField {
  std::array<int64_t, 3> dims{0, 0, 0};
  Vec3 origin{};
  double spacing = 1;
  std::vector<float> values;

  GridField() = default;
  GridField(const std::array<int64_t, 3>& dims, const Vec3& origin, double spacing, float fill = 0.0f);
  int64_t index(int64_t i, int64_t j, int64_t k) const { return (i * dims[1] + j) * dims[2] + k; }
  Vec3 position(int64_t i, int64_t j, int64_t k) const {
    return {origin[0] + spacing * static_cast<double>(i), origin[1] + spacing * static_cast<double>(j),
            origin[2] + spacing * static_cast<double>(k)};
  }
  bool empty() const { return values.empty(); }
  /// Trilinear value at p; `outside` when p lies beyond the outer grid points.
  double sample(const Vec3& p, double outside = 0.0) const;
  /// Trilinear value at p with p clamped into the grid.
  double sample_clamped(const Vec3& p) const;
};

/// Smooth random texture over the box [lo, hi]: white noise on a grid of `spacing_mm`, blurred
/// by two passes of a [1 2 1] / 4 kernel along each axis, scaled to unit standard deviation.
/// Sampled trilinearly it has no stripes (unlike a few plane waves) and costs one lookup.
GridField smooth_noise(SynthRng& rng, const Vec3& lo, const Vec3& hi, double spacing_mm);

/// The tissue map: CSF, GM and WM fractions and the skull-stripping mask on a 1 mm grid in
/// atlas space.
class TissueAtlas {
 public:
  /// Loads resources/anatomy/{csf,gm,wm,mask}.nii.gz once per process (thread-safe).
  static const TissueAtlas& shared();
  /// Loads the four files from `dir`. Error naming the file when one is missing, unreadable,
  /// not uint8-valued or on a different grid from the others.
  static TissueAtlas load(const std::filesystem::path& dir);

  /// Trilinear fractions at an atlas-space point (zero outside the map).
  TissueFractions sample(const Vec3& p) const;

  /// Atlas-space bounding box of the map (outer voxel centres).
  const Vec3& lower() const { return lo_; }
  const Vec3& upper() const { return hi_; }
  /// Centroid of the brain mask, atlas space.
  const Vec3& brain_centre() const { return centre_; }
  /// Volume of the brain mask, ml.
  double brain_ml() const { return brain_ml_; }
  /// Centre of the BraTS field of view in atlas space (voxel (119.5, 119.5, 77)).
  static Vec3 brats_fov_centre() { return {-119.5, 119.5, 77.0}; }

 private:
  // Stored with every axis increasing along world x, y, z: cell (i, j, k) at lo_ + (i, j, k) mm.
  std::array<int64_t, 3> dims_{};
  Vec3 lo_{}, hi_{}, centre_{};
  double brain_ml_ = 0;
  std::vector<std::array<uint8_t, 4>> frac_;  // csf, gm, wm, mask in 1/255
  friend class CsfDistances;
};

/// Distances (mm) from atlas-space points to the atlas's CSF spaces, with which a subject's
/// ventricles and sulci widen (SyntheticOptions::ageing). Ventricular CSF: voxels of at least
/// half CSF, deeper than kDeepCsfMm inside the brain mask (the ventricles and deep cisterns);
/// sulcal CSF: the rest of the CSF inside the mask. Exact Euclidean distance transforms on the
/// atlas's 1 mm grid, sampled trilinearly (clamped to the grid).
class CsfDistances {
 public:
  static constexpr double kDeepCsfMm = 12.0;
  explicit CsfDistances(const TissueAtlas& atlas);
  /// Those of TissueAtlas::shared(), computed on first use (thread-safe): a cohort without
  /// ageing never pays for them.
  static const CsfDistances& shared();

  double ventricle(const Vec3& p) const { return ventricle_mm_.sample_clamped(p); }
  double sulcus(const Vec3& p) const { return sulcus_mm_.sample_clamped(p); }

 private:
  GridField ventricle_mm_, sulcus_mm_;
};

/// A smooth random diffeomorphism of atlas space: the exponential of a stationary velocity
/// field (sum of random plane waves, wavelengths 40-110 mm), integrated by scaling and
/// squaring (Arsigny et al., MICCAI 2006) on a coarse grid over a box and interpolated
/// trilinearly. Displacement is zero outside the box. Default-constructed: the identity.
class Deformation {
 public:
  Deformation() = default;
  /// `amplitude_mm`: standard deviation of each velocity component; `grid_mm`: node spacing.
  Deformation(SynthRng& rng, const Vec3& lo, const Vec3& hi, double amplitude_mm, double grid_mm);
  /// p + u(p).
  Vec3 operator()(const Vec3& p) const;

 private:
  std::array<GridField, 3> u_;
};

}  // namespace mprotonet::synth
