// SPDX-License-Identifier: MIT
// Pieces of the HTML report shared by its source files (report/html.cpp, html_format.cpp,
// html_cases.cpp); not part of the report's interface (html.h).
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mprotonet/report/html.h"

namespace mprotonet::html_detail {

/// html_escape.
inline std::string h(const std::string& s) { return html_escape(s); }
/// Whether j[key] is a number.
bool has_number(const nlohmann::json& j, const char* key);
/// v with `digits` decimals; "n/a" when not finite.
std::string fixed(double v, int digits = 3);
/// A p-value: scientific below 0.001.
std::string p_value(double p);
/// "0.873 ± 0.041" from a {"mean", "std"} summary (evaluation.json).
std::string mean_std(const nlohmann::json& s);
/// From results.json: mean[metric] and std[metric].
std::string results_cell(const nlohmann::json& results, const std::string& metric);
/// "1 min 30 s"; "not recorded" when not positive.
std::string duration(double seconds);
/// Text of a JSON scalar or array ([64, 64, 48] -> "64 × 64 × 48" when `times`).
std::string text_of(const nlohmann::json& j, bool times = false);
/// j at a JSON pointer, null when absent.
nlohmann::json at(const nlohmann::json& j, const char* pointer);
/// "HGG" for 1, "LGG" otherwise.
std::string grade(int label);
/// The report's style sheet.
const char* report_css();

/// The page being written.
class Page {
 public:
  std::ostringstream o;
  void kv(const std::string& key_html, const std::string& value_html) {
    o << "<tr><th>" << key_html << "</th><td>" << value_html << "</td></tr>\n";
  }
};

/// The four modality labels above a picture strip, and a strip with them.
std::string modality_labels();
std::string strip(const std::string& image, const std::string& alt);

/// The prototype gallery and the test-case sections.
void gallery_section(Page& pg, const std::vector<GallerySection>& gallery);
void cases_section(Page& pg, const std::vector<CaseView>& cases, const std::vector<std::string>& notes);

}  // namespace mprotonet::html_detail
