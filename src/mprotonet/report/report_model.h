// SPDX-License-Identifier: MIT
// What the HTML report (report/html.h) shows, as data: the run folders it covers, the prototype
// gallery and the explained test cases. engines/report_builder.h fills these from run folders
// and models; report_html renders them. Picture paths are relative to the report.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

}  // namespace mprotonet
