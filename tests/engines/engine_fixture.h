// SPDX-License-Identifier: MIT
// A tiny synthetic BraTS-layout cohort for the engine tests: HGG subjects carry an enhancing
// blob in T1CE (and FLAIR), LGG subjects a FLAIR-only blob, at subject-dependent positions,
// over a textured ellipsoid "brain". 48 x 48 x 36 voxels of 4 mm (the 192 x 192 x 144 mm field
// of view), so preprocessing at 6 mm gives 32 x 32 x 24.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mprotonet/data/cohort.h"
#include "mprotonet/nets/model_config.h"

namespace mprotonet::test {

/// Writes `labels.size()` subjects S000.. with the given labels (1 HGG, 0 LGG) and
/// name_mapping.csv under root.
void write_synthetic_cohort(const std::filesystem::path& root, const std::vector<int>& labels, uint32_t seed = 1);

/// Discovers and preprocesses (6 mm -> 32x32x24) the cohort under root with the cache in `cache`.
PreprocessedCohort build_small_cohort(const std::filesystem::path& root, const std::filesystem::path& cache);

/// A tiny model: resnet18_ri, n_layers 5, input [4, 32, 32, 24], P prototypes of dimension 16.
nets::ModelConfig tiny_config(const std::string& model_name, int64_t prototypes = 4);

}  // namespace mprotonet::test
