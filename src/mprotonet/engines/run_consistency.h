// SPDX-License-Identifier: MIT
// Integrity of a training run folder (engines/cross_validation.h) for the commands that read or
// write it: run.json has the structure `mprotonet train` writes (a stray JSON file is refused,
// not turned into an empty report), the dataset given to `evaluate`/`report` holds the run's
// subjects with the grades the run recorded (a cohort with HGG and LGG swapped would otherwise
// give inverted metrics), and one process at a time writes the run or one of its folds.
#pragma once

#include <filesystem>
#include <memory>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/core/lock.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/transforms/preprocess.h"

namespace mprotonet {

/// Error naming run_json and the first field that is missing or malformed, unless `run` has:
/// model_name (string), preprocess.spacing_mm (a positive number), folds.n (>= 2) with
/// folds.test_ids (n arrays of subject ids); format, when present, "mprotonet-run-1";
/// dataset.ids, when present, distinct strings with dataset.labels (0 or 1, one per id), and
/// every test id among them. `{"garbage": true}` is refused, not read as an empty run.
void check_run_json(const nlohmann::json& run, const std::filesystem::path& run_json);

/// check_run_json, then Error unless every subject the run recorded (dataset.ids, else the
/// folds' test ids) is in `dataset` with the grade the run recorded; the message names the
/// subjects that are missing or have another grade (the first 10, then a count). Subjects of
/// `dataset` outside the run are allowed.
/// run.json's "preprocess" record: spacing_mm, key, shape, and grid when it is not the default.
nlohmann::json preprocess_record(const PreprocessOptions& options, const std::array<int64_t, 3>& shape);

/// The preprocessing a run was trained with, read back from run.json's "preprocess" record
/// (spacing_mm, default 1.5; grid, default "mm"): evaluation and the report preprocess as training did.
PreprocessOptions run_preprocess_options(const nlohmann::json& run);

void check_dataset_matches_run(const nlohmann::json& run, const Dataset& dataset, const std::filesystem::path& run_json);

/// The locks `train` holds on a run folder. RUN_DIR/.lock: exclusive for a run of every fold
/// (fold < 0), shared for a one-fold job (`--fold K`), so jobs of different folds run side by
/// side but never beside a whole run. RUN_DIR/.lock-settings: exclusive while run.json is
/// compared or written (waits up to 60 s for another job's few milliseconds), so two jobs
/// never both find no run.json and write their own. Refused (Error naming the holder) when
/// another live process holds a conflicting lock; says on stderr when it takes over the lock of
/// a process that no longer runs.
class RunFolderLock {
 public:
  RunFolderLock(const std::filesystem::path& run_dir, int fold);
  /// run.json is settled: releases RUN_DIR/.lock-settings.
  void settings_written() { settings_.reset(); }

 private:
  std::unique_ptr<FolderLock> run_, settings_;
};

/// The exclusive lock RUN_DIR/fold_K/.lock (the folder is created) while fold K is trained and
/// its results written; Error naming the holder when another process trains that fold.
std::unique_ptr<FolderLock> lock_fold(const std::filesystem::path& run_dir, int fold);

}  // namespace mprotonet
