// SPDX-License-Identifier: MIT
// One BraTS case read from its files and preprocessed (transforms/preprocess.h): the four
// modalities on one grid, z-scored, and the segmentation when present.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "mprotonet/data/brats.h"
#include "mprotonet/io/volume.h"
#include "mprotonet/transforms/preprocess.h"

namespace mprotonet {

struct PreprocessedCase {
  std::string id;
  std::array<Volume, kNumModalities> images;  ///< float, z-scored, on the output grid
  std::optional<Volume> seg;                  ///< labels {0,1,2,4} on the same grid
};

/// Reads and preprocesses one case. Errors name the file and the problem (segmentation labels
/// outside {0, 1, 2, 4}, constant modality, unreadable file, ...).
PreprocessedCase preprocess_case(const CaseFiles& files, const PreprocessOptions& options);

}  // namespace mprotonet
