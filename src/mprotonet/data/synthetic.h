// SPDX-License-Identifier: MIT
// Synthetic BraTS-like cohort: the built-in default data of the tool.
//
// Real BraTS data needs a registration a new user does not have, so the tool generates cases
// that look like BraTS scans and whose grade is decided by tumour *biology*, never by nuisances.
// Each case is built the way brain-tumour MRI has been simulated (BrainWeb; TumorSim, Prastawa
// et al. 2009):
//   anatomy   real healthy anatomy: the MNI/ICBM152 tissue map (CSF, GM, WM fractions) placed
//             in BraTS space (data/anatomy.h), seen through a per-subject smooth random
//             diffeomorphism plus scale, rotation and shift, so no two subjects share a brain
//             (with `ageing`, also widened ventricles and sulci, thin random sulcal sheets
//             through the cortex, whose folding a template smears, a periventricular water rim);
//   tumour    reaction-diffusion (Fisher-Kolmogorov) growth of tumour cell density seeded in
//             white matter, faster in white than in grey matter (data/tumour_growth.h), with
//             mass effect pushing the surrounding tissue and ventricles away; the BraTS labels
//             derive from the same density (edema 2 = T2/FLAIR-visible, core 1/4 = T1-visible,
//             necrosis = the oldest saturated core), so the segmentation is exact;
//   grade     HGG: necrosis, an enhancing rim, larger edema, compact; LGG: non-enhancing and
//             diffuse; a fraction of atypical cases of each grade (thin incomplete rim with
//             little necrosis and edema; faint patchy enhancement);
//   physics   per-compartment T1/T2/PD through each sequence's signal equation (T1 spin echo or
//             IR-prepared, T1CE with gadolinium T1 shortening where the tumour enhances, T2 TSE,
//             FLAIR nulling CSF), partial volume, texture, bias field, scanner scale, Rician
//             noise (data/mr_physics.h).
// Head pose, brain size, ageing, scanner, bias and noise are drawn independently of the grade.
//
// Output is BraTS: skull-stripped (zero outside the brain), LPS voxel axes (affine
// diag(-s, -s, s) with the y offset of the BraTS headers), 240 x 240 x 155 at 1 mm by default,
// int16 images, uint8 segmentation. Anatomy is defined in physical mm around the centre of the
// field of view, so another shape/spacing gives the same brain at another resolution. Growth
// and deformation run on coarse grids and are interpolated. Every case is a pure function of
// (options, case index): the worker count never changes a byte of the output.
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
  /// enhancement, HGG with a small, thin, incomplete rim, little necrosis and little edema.
  double atypical_fraction = 0.15;
  /// Peak relative amplitude of the smooth multiplicative bias field (default 0.2 = about ±20 %).
  double bias_strength = 0.2;
  /// Noise standard deviation relative to the white-matter intensity (default 0.03), times
  /// U[0.6, 1.4] per scan; Rician.
  double noise_level = 0.03;
  /// Scanner-to-scanner intensity scale: each modality's white matter lands at
  /// 400 * exp(U[-j, j]) (default 0.5: 240 to 660).
  double intensity_scale_jitter = 0.5;
  /// Largest head rotation about each axis, degrees (default 6).
  double max_rotation_deg = 6.0;
  /// Largest head shift along each axis, mm (default 6).
  double max_shift_mm = 6.0;
  /// Brain size variation: scale exp(U[-j, j]) overall, plus half of that per axis (default 0.07).
  double brain_scale_jitter = 0.07;
  /// Standard deviation of the smooth random deformation's velocity field, mm (default 3).
  double deformation_mm = 3.0;
  /// Ageing (opt-in, an experiment towards real scans; see README "Sim to real"): widened
  /// ventricles (0-3.5 mm) and sulci (0-1.2 mm), thin random sulcal sheets through the cortex,
  /// a periventricular water rim, drawn per subject independently of the grade. Off (default):
  /// the cohort is byte-identical to one made without the option.
  bool ageing = false;
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
/// The code of a voxel is its largest healthy tissue fraction (under the tumour: the tissue the
/// tumour grew in).
enum class Tissue : uint8_t { kBackground = 0, kCsf = 1, kGreyMatter = 2, kWhiteMatter = 3 };

struct SyntheticCaseInfo {
  int index = 0;                          ///< 0-based case index
  std::string subject_id;                 ///< BraTS20_Training_NNN
  bool hgg = true;                        ///< grade (label 1 = HGG)
  bool atypical = false;                  ///< drawn from the atypical variant of its grade
  std::array<double, 3> tumour_centre_mm{};    ///< world (RAS mm) centroid of the labelled tumour
  std::array<int64_t, 3> tumour_centre_voxel{};  ///< the tumour voxel nearest to that centroid
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

/// Grade of case `index` without generating it (the same as generate_synthetic_case's).
struct SyntheticGrade {
  bool hgg = true;
  bool atypical = false;
};
SyntheticGrade synthetic_grade(const SyntheticOptions& options, int index);

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
