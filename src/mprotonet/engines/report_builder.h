// SPDX-License-Identifier: MIT
// Builds the HTML report (report/html.h) from run folders: reads each run's run.json,
// results.json and evaluation.json, draws the prototype gallery from the fold models' push
// records, explains a few test cases with the fold model that held them out, and writes
// report.html with its pictures. `mprotonet report DIR` and the demo call write_report.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "mprotonet/core/progress.h"
#include "mprotonet/report/html.h"
#include "mprotonet/report/report_model.h"

namespace mprotonet {

/// The run folders under `dir`: dir itself when it holds run.json, else every dir/runs/<name>
/// holding run.json, in the paper's row order (CNN3D, then p_mode 0..5). Error when there is none or a JSON
/// file is unreadable.
std::vector<ReportRun> load_report_runs(const std::filesystem::path& dir);

/// Gallery of every prototype run: the prototypes of `fold`'s model with their pictures written
/// to files_dir (named proto_R_fK_pP.png); `rel` is files_dir relative to the report.
std::vector<GallerySection> make_gallery(const std::vector<ReportRun>& runs, int fold,
                                         const std::filesystem::path& files_dir, const std::string& rel);

struct CaseOptions {
  /// Cases to show. Default 4.
  int cases = 4;
  /// Top prototypes per case and model. Default 3.
  int top_prototypes = 3;
  /// Dataset folder; empty = run.json's data_dir, else REPORT_DIR/data. Default empty.
  std::filesystem::path data_dir;
  /// Cache root; empty = the root run.json's cache lives in, else default_cache_root(). Default empty.
  std::filesystem::path cache_dir;
  /// Fallback folder searched for "data" when run.json's data_dir is gone (the report folder).
  std::filesystem::path report_dir;
  /// Methods never computed at report time (too slow on a CPU). Default: occlusion.
  std::vector<std::string> skip_methods{"occlusion"};
  ProgressLog log;
};

/// Chooses up to `cases` test subjects of the first run (correct and misclassified, both classes
/// where available: correct HGG, correct LGG, misclassified HGG, misclassified LGG, repeated),
/// the most confident of each kind first.
std::vector<std::pair<std::string, std::string>> choose_cases(const ReportRun& run, int cases);

/// Explains the chosen cases with each run's model of the fold that held them out (target: the
/// model's predicted class, docs/method.md#explanations) and writes the pictures to files_dir. `notes` receives what
/// could not be shown and why.
std::vector<CaseView> make_cases(const std::vector<ReportRun>& runs, const CaseOptions& options,
                                 const std::filesystem::path& files_dir, const std::string& rel,
                                 std::vector<std::string>& notes);

struct ReportOptions {
  /// A run folder (run.json, results.json, evaluation.json, fold_K/) or a folder holding run
  /// folders under runs/<name>/ (what `mprotonet demo` writes). The report goes here. Required.
  std::filesystem::path dir;
  /// Dataset folder for the test cases; empty = run.json's data_dir, else DIR/data. Default empty.
  std::filesystem::path data_dir;
  /// Preprocessing cache root; empty = the root of the cache recorded in run.json. Default empty.
  std::filesystem::path cache_dir;
  /// Test cases explained at report time (correct and misclassified, both classes where
  /// available); 0 = none. Default 4.
  int cases = 4;
  /// Top prototypes listed per test case. Default 3.
  int top_prototypes = 3;
  /// Fold whose model's prototypes fill the gallery (each fold has its own). Default 0.
  int gallery_fold = 0;
  /// Extra rows for the job summary (e.g. {"whole job wall time", "7 min 40 s"}). Saved to
  /// DIR/report_settings.json, which a later regeneration without extra rows reads back.
  /// Default none.
  std::vector<std::pair<std::string, std::string>> extra_settings;
  /// Page title. Default "MProtoNet results".
  std::string title = "MProtoNet results";
  /// Progress lines; default prints to stdout.
  ProgressLog log;
};

/// Writes DIR/report.html and its pictures in DIR/report_files/ (replaced as a whole) and
/// returns the absolute path of report.html. Errors: no run folder under DIR, unreadable JSON.
/// Parts that cannot be shown (no evaluation yet, dataset gone, model file without pictures)
/// are left out with a note on the page.
std::filesystem::path write_report(const ReportOptions& options);

}  // namespace mprotonet
