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

#include "mprotonet/report/report_model.h"

namespace mprotonet {

/// The folder beside report.html holding its pictures and the viewer's NiiVue bundle.
inline constexpr const char* kReportFiles = "report_files";

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
