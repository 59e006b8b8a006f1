// SPDX-License-Identifier: MIT
// The results report (issue 7): one self-contained report.html, readable offline in any browser
// (simple CSS in the page, no network; pictures as PNG files in report_files/ beside it, plots
// as inline SVG; the only script is the test cases' interactive 3D viewer, report/viewer.h, with
// its volumes embedded and NiiVue copied into report_files/), generated from the run folders' run.json, results.json,
// evaluation.json and model files, so `mprotonet report DIR` can regenerate it at any time.
//
// Content: settings and data summary; results per model row (BAC, accuracy, sensitivity,
// specificity, AUC, AP, DSC, IDS, IAS as mean ± std over folds) with the published BraTS 2020
// figures of docs/method.md#published-figures beside them, labelled as not from this run; interpretability per
// method and modality; missing modalities; MProtoNet vs GradCAM significance (with the low-power
// note); deletion / addition curves; the prototype gallery; a few test cases explained with their
// fold's model. Every string that comes from data is HTML-escaped.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "mprotonet/report/report_figures.h"

namespace mprotonet {

/// The folder beside report.html holding its pictures and the viewer's NiiVue bundle.
inline constexpr const char* kReportFiles = "report_files";

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

/// The page itself from loaded runs and precomputed figures (exposed for tests).
std::string report_html(const std::vector<ReportRun>& runs, const std::vector<GallerySection>& gallery,
                        const std::vector<CaseView>& cases,
                        const std::vector<std::pair<std::string, std::string>>& extra_settings,
                        const std::vector<std::string>& notes, const std::string& title,
                        const nlohmann::json& comparison = nlohmann::json());

/// The name a report shows for an attribution method ("gradcam" -> "GradCAM"); unknown names as given.
std::string method_label(const std::string& method);

/// Escapes & < > " ' for HTML text and attribute values.
std::string html_escape(const std::string& text);

/// A relative file path as a URL path (percent-encodes every byte outside [A-Za-z0-9-._~/]).
std::string url_path(const std::filesystem::path& relative);

}  // namespace mprotonet
