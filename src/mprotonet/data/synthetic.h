// SPDX-License-Identifier: MIT
// Synthetic BraTS-like cohort: the built-in default data of the tool.
//
// Real BraTS data needs a registration a new user does not have, so the tool can generate
// cases whose grade is decided by tumour *biology* (enhancing rim and necrosis for HGG,
// non-enhancing homogeneous T2/FLAIR-bright tumour for LGG), never by nuisances (bias field,
// noise, intensity scale, head pose, brain size are drawn independently of the grade). A
// classifier therefore has to look at the tumour, and an explanation can be scored against the
// segmentation, as in the MProtoNet paper (Wei, Tam, Tang, MIDL 2023) on BraTS 2020.
//
// Geometry follows real BraTS files: LPS voxel axes (affine diag(-s, -s, s) with the y offset of
// the BraTS headers), 240 x 240 x 155 at 1 mm by default. Anatomy is defined in physical mm
// around the centre of the field of view, so another shape/spacing gives the same brain at a
// different resolution. Every case is a pure function of (options, case index): the worker
// count never changes a byte of the output.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mprotonet/io/volume.h"

namespace mprotonet {

struct SyntheticOptions {
  /// Number of cases to generate (default 100).
  int cases = 100;
  /// Seed of the cohort; case i is generated from (seed, i) alone (default 0).
  uint64_t seed = 0;
  /// Volume shape in voxels along the array axes i, j, k (default BraTS: 240 x 240 x 155).
  std::array<int64_t, 3> shape{240, 240, 155};
  /// Isotropic voxel size in mm (default 1, as BraTS).
  double spacing = 1.0;
  /// Fraction of HGG cases (default 0.79, as BraTS 2020: 293 of 369). Grades follow a
  /// low-discrepancy sequence, so every prefix of the cohort is close to this balance.
  double hgg_fraction = 0.79;
  /// Fraction of atypical cases in each grade (default 0.15): LGG with faint patchy
  /// enhancement, HGG with a small, thin, incomplete rim and little edema.
  double atypical_fraction = 0.15;
  /// Peak relative amplitude of the smooth multiplicative bias field (default 0.2 = ±20 %).
  double bias_strength = 0.2;
  /// Noise standard deviation relative to the white-matter intensity (default 0.03); Rician.
  double noise_level = 0.03;
  /// Per-scan intensity scale: each modality is multiplied by exp(U[-j, j]) (default 0.2).
  double intensity_scale_jitter = 0.2;
  /// Largest head rotation about each axis, degrees (default 6).
  double max_rotation_deg = 6.0;
  /// Largest head shift along each axis, mm (default 6).
  double max_shift_mm = 6.0;
  /// Brain size variation: scale exp(U[-j, j]) overall, plus half of that per axis (default 0.07).
  double brain_scale_jitter = 0.07;
  /// Worker threads for cohort writing; 0 = std::thread::hardware_concurrency() (default 0).
  int threads = 0;
};

/// Throws Error naming the bad field when an option is out of range.
void validate(const SyntheticOptions& options);

/// The BraTS 2020 subject id of case `index` (0-based): "BraTS20_Training_001" for index 0.
std::string synthetic_subject_id(int index);

/// The voxel-to-world affine used for every case: BraTS-like LPS, diag(-s, -s, s) with the
/// y translation (shape[1] - 1) * s, as the real BraTS headers (which have s = 1).
Affine synthetic_affine(const std::array<int64_t, 3>& shape, double spacing);

/// Tissue codes of SyntheticCase::tissue (normal anatomy under the tumour).
enum class Tissue : uint8_t { kBackground = 0, kCsf = 1, kGreyMatter = 2, kWhiteMatter = 3, kDeepGrey = 4 };

struct SyntheticCaseInfo {
  int index = 0;                          ///< 0-based case index
  std::string subject_id;                 ///< BraTS20_Training_NNN
  bool hgg = true;                        ///< grade (label 1 = HGG)
  bool atypical = false;                  ///< drawn from the atypical variant of its grade
  std::array<double, 3> tumour_centre_mm{};    ///< world (RAS mm) centre of the tumour
  std::array<int64_t, 3> tumour_centre_voxel{};  ///< nearest voxel, clamped into the volume
  std::map<int, int64_t> label_voxels;    ///< voxel count per label 1, 2, 4
  int64_t brain_voxels = 0;               ///< voxels with non-zero image intensity
};

/// One generated case, in memory. Images hold integer values in [0, 32767] (they are stored
/// as int16), background exactly 0; seg holds {0, 1, 2, 4}.
struct SyntheticCase {
  SyntheticCaseInfo info;
  std::array<Volume, 4> images;   ///< t1, t1ce, t2, flair (the reference's channel order)
  Volume seg;                     ///< labels 0, 1 (necrotic / non-enhancing core), 2 (edema), 4 (enhancing)
  std::vector<uint8_t> tissue;    ///< Tissue code per voxel (numpy order), for tests and reports
};

/// Names of the four modalities as in BraTS file names: t1, t1ce, t2, flair.
const std::array<std::string, 4>& synthetic_modalities();

/// Generates case `index` (0 <= index < options.cases is not required). Deterministic.
SyntheticCase generate_synthetic_case(const SyntheticOptions& options, int index);

/// Called on the main thread after each finished case: (cases done, cases total).
using SyntheticProgress = std::function<void(int done, int total)>;
/// Called on a worker thread with each generated case before it is dropped (e.g. to render a
/// preview); must be thread-safe.
using SyntheticCaseHook = std::function<void(const SyntheticCase&)>;

/// Writes the cohort in the BraTS 2020 layout:
///   dir/BraTS20_Training_NNN/BraTS20_Training_NNN_{t1,t1ce,t2,flair,seg}.nii.gz
///   dir/synthetic.json  (options and per-case grade, atypical flag, tumour centre, label volumes)
///   dir/name_mapping.csv (written last: a cohort with this file is complete)
/// Each case folder is written under a temporary name and renamed. `dir` must be missing,
/// empty, or a previous synthetic cohort (it has a synthetic.json from this generator), which
/// is then replaced; when that previous cohort is complete and was made with identical
/// options it is kept as is. Otherwise throws Error. Cases are generated in parallel.
std::vector<SyntheticCaseInfo> write_synthetic_cohort(const std::filesystem::path& dir,
                                                      const SyntheticOptions& options,
                                                      const SyntheticProgress& progress = {},
                                                      const SyntheticCaseHook& hook = {});

}  // namespace mprotonet
