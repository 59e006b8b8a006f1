// SPDX-License-Identifier: MIT
// Report section of the per-subject comparison (see comparison_section.h).
#include "mprotonet/report/comparison_section.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mprotonet/nets/model_config.h"
#include "mprotonet/report/html_detail.h"

namespace mprotonet {

using nlohmann::json;

namespace {

double number(const json& j, const char* pointer) {
  const auto p = json::json_pointer(pointer);
  return j.is_object() && j.contains(p) && j.at(p).is_number() ? j.at(p).get<double>() : std::nan("");
}

}  // namespace

std::string comparison_section_html(const json& c) {
  std::ostringstream o;
  o << "<section id=\"comparison\"><h2>Significance: MProtoNet C against every other row</h2>\n";
  if (!c.is_object() || !c.contains("rows") || !c["rows"].is_array()) {
    o << "<p class=\"note\">No comparison.json: it needs MProtoNet C (MProtoNet3D_pm5) and at least one other row, "
         "each evaluated on the same folds.</p></section>\n";
    return o.str();
  }
  const std::string ref = c.contains("reference") ? c["reference"].value("model", "") : "";
  o << "<p class=\"lead\">Each row is judged by its own map (GradCAM for the CNN, the prototype map otherwise) and "
       "paired with " << html_escape(nets::paper_row_name(ref)) << " per held-out subject over all folds (the same folds in "
       "every row). Two-sided Wilcoxon signed-rank test, zero differences dropped; <i>n</i> = subjects paired "
       "(non-zero differences in brackets). AP: activation precision of the map; IDS: the subject's area under its "
       "correctness curve under incremental deletion (lower is better); BAC: correct or not per subject (the test is "
       "then a sign test). <b>Bold</b>: p &lt; 0.05.</p>\n";
  o << "<div class=\"scroll\"><table><tr><th>Row</th>";
  static const std::vector<std::pair<std::string, std::string>> metrics{{"ap", "AP ↑"}, {"ids", "IDS ↓"}, {"bac", "BAC ↑"}};
  for (const auto& [key, label] : metrics)
    o << "<th class=\"num\">" << label << "<br><span class=\"sd\">" << html_escape(nets::paper_row_name(ref))
      << " vs row</span></th><th class=\"num\">test</th>";
  o << "</tr>\n";
  for (const auto& row : c["rows"]) {
    const std::string model = row.value("model", "");
    o << "<tr><td>" << html_escape(nets::paper_row_name(model)) << " <span class=\"sd\">(" << html_escape(model) << ", "
      << html_escape(row.value("method", "")) << ")</span></td>";
    for (const auto& [key, label] : metrics) {
      const json m = row.contains("metrics") && row["metrics"].contains(key) ? row["metrics"][key] : json();
      if (!m.is_object()) {
        o << "<td class=\"num\" colspan=\"2\"><span class=\"na\">not evaluated</span></td>";
        continue;
      }
      const double p = number(m, "/wilcoxon/p_value");
      const bool sig = std::isfinite(p) && p < 0.05;
      o << "<td class=\"num\">" << html_detail::fixed(number(m, "/a_mean")) << " vs " << html_detail::fixed(number(m, "/b_mean")) << "</td>"
        << "<td class=\"num\">" << (sig ? "<b>" : "") << "p " << html_detail::p_value(p) << (sig ? "</b>" : "")
        << "<br><span class=\"sd\">W " << html_detail::fixed(number(m, "/wilcoxon/statistic"), 1) << ", n "
        << static_cast<long long>(number(m, "/n")) << " (" << static_cast<long long>(number(m, "/wilcoxon/n_nonzero"))
        << ")</span></td>";
    }
    o << "</tr>\n";
  }
  o << "</table></div>\n<p class=\"note\">Machine-readable: <code>comparison.json</code> (also DSC and IAS, the paired "
       "t-test and the subject ids of every pair).</p>\n</section>\n";
  return o.str();
}

}  // namespace mprotonet
