// SPDX-License-Identifier: MIT
// The pieces of the HTML report (report/html.h) that need models and data: the run folders a
// report covers, the prototype gallery (pictures from each model file's push record) and a few
// test cases explained at report time with their fold's model (input with the tumour outline,
// each method's map, prediction, top prototypes). Pictures are PNG files under the report's
// files folder; the structures hold their paths relative to the report.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mprotonet/core/progress.h"
#include "mprotonet/engines/evaluator.h"
#include "mprotonet/report/viewer.h"

namespace mprotonet {

/// A JSON file's content; Error naming the file when it is not valid JSON.
nlohmann::json read_json_file(const std::filesystem::path& path);
/// read_json_file(path), or null when the file does not exist.
nlohmann::json read_optional_json(const std::filesystem::path& path);

/// One cross-validation run folder as the report reads it.
struct ReportRun {
  std::filesystem::path dir;
  std::string label;           ///< the model name (run.json "model_name"), else the folder name
  nlohmann::json run;          ///< run.json
  nlohmann::json results;      ///< results.json; null when absent
  nlohmann::json evaluation;   ///< evaluation.json; null when absent

  std::string model_name() const;
  /// -1 for CNN3D.
  int p_mode() const;
  bool prototype_model() const { return p_mode() >= 0; }
  /// Number of folds (run.json folds.n).
  int folds() const;
  /// The fold whose test set holds `subject_id`; -1 when none.
  int fold_of(const std::string& subject_id) const;
};

/// The run folders under `dir`: dir itself when it holds run.json, else every dir/runs/<name>
/// holding run.json, in the paper's row order (CNN3D, then p_mode 0..5). Error when there is none or a JSON
/// file is unreadable.
std::vector<ReportRun> load_report_runs(const std::filesystem::path& dir);

struct GalleryItem {
  int64_t prototype = 0;
  int cls = 0;
  std::string subject_id;  ///< source case ("" when the prototype was not pushed)
  double distance = 0.0;
  std::string image;       ///< picture path relative to the report; "" when there is none
};

struct GallerySection {
  std::string run_label;
  int fold = 0;
  int p_mode = 0;
  std::vector<GalleryItem> items;
  std::string note;  ///< why pictures are missing, if they are
};

/// Gallery of every prototype run: the prototypes of `fold`'s model with their pictures written
/// to files_dir (named proto_R_fK_pP.png); `rel` is files_dir relative to the report.
std::vector<GallerySection> make_gallery(const std::vector<ReportRun>& runs, int fold,
                                         const std::filesystem::path& files_dir, const std::string& rel);

struct CaseMap {
  std::string method;  ///< attribution method name
  std::string image;
};

struct CasePrototype {
  int64_t prototype = 0;
  int cls = 0;
  double similarity = 0.0;
  std::string source;  ///< source case of the prototype
  std::string image;   ///< "" when the push record has no picture
  int viewer_source = -1;  ///< index into the case's CaseViewer::sources; -1 when not in the viewer
};

struct CaseModel {
  std::string run_label;
  int fold = -1;             ///< the fold whose test set holds the case (-1: none; see note)
  bool has_prediction = false;  ///< predicted / p_hgg are set
  int predicted = 0;
  double p_hgg = 0.0;
  std::vector<CaseMap> maps;
  std::vector<CasePrototype> top;
  std::string note;
};

struct CaseView {
  std::string id;
  int label = 0;
  std::string kind;          ///< "correct HGG", "misclassified LGG", ...
  int64_t slice = 0;         ///< axial slice shown (preprocessed grid)
  std::string input_image;   ///< four modalities with the tumour outline
  std::vector<CaseModel> models;
  CaseViewer viewer;         ///< the interactive viewer's volumes (model-input grid), or a note why not
};

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

}  // namespace mprotonet
