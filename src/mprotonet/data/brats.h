// SPDX-License-Identifier: MIT
// Discovery of BraTS-style cohorts (docs/method.md#data): the BraTS 2020 training layout
// (name_mapping.csv + one folder per subject with <id>_{t1,t1ce,t2,flair,seg}.nii[.gz]), the
// BraTS 2021+ modality names (t1n, t1c, t2w, t2f), and the BraTS 2018/2019 layout with HGG/ and
// LGG/ sub-folders (the grade is then the folder name). Every problem is collected and reported
// together, not just the first.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mprotonet {

/// Channel order of every network input: T1, T1CE, T2, FLAIR (docs/method.md#task).
inline constexpr int kNumModalities = 4;
inline constexpr std::array<const char*, kNumModalities> kModalityNames{"t1", "t1ce", "t2", "flair"};

/// Label of a subject: 1 = HGG, 0 = LGG, -1 = unknown (no grade source).
inline constexpr int kLabelHGG = 1;
inline constexpr int kLabelLGG = 0;
inline constexpr int kLabelUnknown = -1;

/// The NIfTI files of one case.
struct CaseFiles {
  std::string id;                                        ///< subject id (folder name)
  std::filesystem::path dir;                             ///< the case folder
  std::array<std::filesystem::path, kNumModalities> images;  ///< t1, t1ce, t2, flair
  std::optional<std::filesystem::path> seg;              ///< segmentation, when present
};

/// Finds the four modalities (and the segmentation) in one case folder. Accepts
/// <id>_t1.nii.gz-style (BraTS 2020) and <id>-t1n.nii.gz-style (BraTS 2021+) names, .nii or
/// .nii.gz. Throws Error listing every missing or ambiguous modality.
CaseFiles find_case_files(const std::filesystem::path& case_dir);

struct Subject {
  CaseFiles files;
  int label = kLabelUnknown;  ///< kLabelHGG, kLabelLGG or kLabelUnknown
  std::string grade;          ///< "HGG", "LGG" or "" when unknown
};

struct DatasetOptions {
  /// Require a segmentation for every subject (evaluation needs it). Default: false.
  bool require_seg = false;
  /// Require a grade for every subject (training needs it). Default: true.
  bool require_labels = true;
  /// Check that all modalities (and seg) of a subject have equal shapes and affines by reading
  /// their headers. Default: true.
  bool check_geometry = true;
  /// Skip subjects with problems (listed in Dataset::skipped) instead of failing. Default: false.
  bool skip_bad = false;
  /// Grade table to use instead of DIR/name_mapping.csv (same format). Default: none.
  std::optional<std::filesystem::path> labels_csv;
};

struct Dataset {
  std::filesystem::path root;
  std::vector<Subject> subjects;      ///< in name_mapping.csv order (else sorted by id)
  std::string grade_source;           ///< "name_mapping.csv", "HGG/LGG folders" or "none"
  std::vector<std::string> skipped;   ///< "<id>: <problem>" for subjects left out (skip_bad)

  int count(int label) const;
  std::vector<int> labels() const;
};

/// Discovers a cohort under root. Throws Error listing every problem found (missing modality,
/// unknown grade, duplicate ids, shape/affine mismatch, CSV rows without folder, ...) unless
/// options.skip_bad is set, in which case bad subjects are left out and listed in `skipped`
/// (an Error is still thrown when no subject remains).
Dataset discover_brats(const std::filesystem::path& root, const DatasetOptions& options = {});

/// One row of a grade table.
struct GradeRow {
  std::string grade;  ///< as written ("HGG"/"LGG")
  std::string id;     ///< last column
  int line = 0;       ///< 1-based line number in the file
};

/// Parses a name_mapping.csv-style table: a header line, grade in the first column, subject id
/// in the last. Handles CRLF, a UTF-8 BOM and quoted fields. Throws Error naming the file and the
/// line for malformed rows, unknown grades and duplicate ids.
std::vector<GradeRow> read_grade_table(const std::filesystem::path& csv);

}  // namespace mprotonet
