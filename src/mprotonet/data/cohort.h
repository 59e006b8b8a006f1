// SPDX-License-Identifier: MIT
// The preprocessed cohort: every subject preprocessed once (docs/method.md#preprocessing: "should be cached"),
// stored as one binary file per subject under a cache folder, and memory-mapped read-only so
// training and evaluation share one copy without loading it all into RAM.
//
// Cache layout: <cache_root>/<settings-hash>/<subject-id>-<inputs-hash>.mpc plus settings.json.
// The settings hash covers the preprocessing options and the format version; the inputs hash
// covers each input file's absolute path, size and modification time, so a changed file is
// preprocessed again and a second run with the same inputs skips the work. Each file is written
// to a temporary name and renamed, and carries a checksum that is verified when it is opened: a
// file left by a killed process can never be read back as valid. A killed process also leaves
// its temporary (<name>.tmp-<pid>-<n>); build() removes those of the cache folder once they are
// more than an hour old (younger ones may belong to a concurrent builder).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "mprotonet/data/brats.h"
#include "mprotonet/data/preprocess_case.h"

namespace mprotonet {

struct CohortOptions {
  PreprocessOptions preprocess;
  /// Cache root folder. Default: $MPROTONET_CACHE, else $XDG_CACHE_HOME/mprotonet, else
  /// ~/.cache/mprotonet (see default_cache_root()).
  std::filesystem::path cache_root;
  /// Worker threads preprocessing subjects in parallel. Default 0 = all cores.
  int threads = 0;
  /// Store the segmentation when the subject has one. Default true.
  bool with_seg = true;
};

/// Called after each subject is ready: (done, total, subject id, was it read from the cache).
using CohortProgress = std::function<void(int64_t, int64_t, const std::string&, bool)>;

/// $MPROTONET_CACHE, else $XDG_CACHE_HOME/mprotonet, else $HOME/.cache/mprotonet, else the
/// account's home (password database)/.cache/mprotonet; Error when there is none (never a
/// shared, world-writable folder such as /tmp, where another user could plant entries).
std::filesystem::path default_cache_root();

/// One memory-mapped cache file.
class MappedCase;

class PreprocessedCohort {
 public:
  /// Preprocesses what is not cached yet (in parallel), then maps every subject.
  static PreprocessedCohort build(const Dataset& dataset, const CohortOptions& options,
                                  const CohortProgress& progress = {});

  int64_t size() const { return static_cast<int64_t>(cases_.size()); }
  const std::string& id(int64_t i) const;
  int label(int64_t i) const;
  std::vector<int> labels() const;
  bool has_seg(int64_t i) const;
  /// Spatial shape of every subject (X, Y, Z).
  std::array<int64_t, 3> shape() const { return shape_; }
  Affine affine(int64_t i) const;
  /// [4, X, Y, Z] float32, a read-only view of the mapped file (clone() before writing).
  torch::Tensor image(int64_t i) const;
  /// [1, X, Y, Z] uint8 labels; undefined tensor when the subject has no segmentation.
  torch::Tensor seg(int64_t i) const;
  /// Stacks images of the given subjects into [N, 4, X, Y, Z] (a copy).
  torch::Tensor images(const std::vector<int64_t>& indices) const;
  /// Folder holding this cohort's cache files.
  const std::filesystem::path& cache_dir() const { return cache_dir_; }
  /// How many subjects were preprocessed now (the rest came from the cache).
  int64_t computed() const { return computed_; }

 private:
  std::vector<std::shared_ptr<MappedCase>> cases_;
  std::vector<std::string> ids_;
  std::vector<int> labels_;
  std::array<int64_t, 3> shape_{0, 0, 0};
  std::filesystem::path cache_dir_;
  int64_t computed_ = 0;
};

/// Writes one preprocessed case in the cache format (atomic). Exposed for tests.
void write_cache_file(const std::filesystem::path& path, const PreprocessedCase& c);

/// Opens and verifies a cache file; throws Error naming the file when it is corrupt.
std::shared_ptr<MappedCase> open_cache_file(const std::filesystem::path& path);

/// Volume of a cached case as a tensor view (exposed for tests).
torch::Tensor mapped_image(const MappedCase& c);

/// 64-bit FNV-1a hash, hex-encoded (16 characters).
std::string hash_hex(const std::string& text);

}  // namespace mprotonet
