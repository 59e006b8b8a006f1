// SPDX-License-Identifier: MIT
// Number and text formatting, the style sheet and picture strips of the HTML report
// (report/html_detail.h).
#include <cmath>
#include <iomanip>
#include <sstream>

#include "mprotonet/report/html_detail.h"

namespace mprotonet::html_detail {

using nlohmann::json;

// ---- numbers
bool has_number(const json& j, const char* key) { return j.is_object() && j.contains(key) && j[key].is_number(); }

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string p_value(double p) {
  if (!std::isfinite(p)) return "n/a";
  std::ostringstream s;
  if (p < 0.001) s << std::scientific << std::setprecision(1) << p;
  else s << std::fixed << std::setprecision(3) << p;
  return s.str();
}

// "0.873 ± 0.041" from a {"mean", "std"} summary (evaluation.json).
std::string mean_std(const json& s) {
  if (!has_number(s, "mean")) return "<span class=\"na\">n/a</span>";
  std::string out = fixed(s["mean"].get<double>());
  if (has_number(s, "std")) out += " <span class=\"sd\">± " + fixed(s["std"].get<double>()) + "</span>";
  return out;
}

// From results.json: mean[metric] and std[metric].
std::string results_cell(const json& results, const std::string& metric) {
  if (!results.is_object() || !results.contains("mean")) return "<span class=\"na\">n/a</span>";
  json s{{"mean", results["mean"].value(metric, json())}, {"std", results.contains("std") ? results["std"].value(metric, json()) : json()}};
  return mean_std(s);
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds <= 0) return "not recorded";
  std::ostringstream s;
  if (seconds < 60) s << std::fixed << std::setprecision(1) << seconds << " s";
  else if (seconds < 3600) s << static_cast<int>(seconds / 60) << " min " << static_cast<int>(std::fmod(seconds, 60)) << " s";
  else s << static_cast<int>(seconds / 3600) << " h " << static_cast<int>(std::fmod(seconds, 3600) / 60) << " min";
  return s.str();
}

// Text of a JSON scalar or array ([64, 64, 48] -> "64 × 64 × 48" when `times`).
std::string text_of(const json& j, bool times) {
  if (j.is_null()) return "";
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::string s;
    for (const auto& e : j) s += (s.empty() ? "" : (times ? " × " : ", ")) + text_of(e);
    return s;
  }
  if (j.is_number_float()) {
    std::ostringstream s;
    s << j.get<double>();
    return s.str();
  }
  return j.dump();
}

json at(const json& j, const char* pointer) {
  const auto p = json::json_pointer(pointer);
  return j.is_object() && j.contains(p) ? j.at(p) : json();
}

std::string grade(int label) { return label == 1 ? "HGG" : "LGG"; }

std::string modality_labels() {
  return "<div class=\"labels\"><span>T1</span><span>T1CE</span><span>T2</span><span>FLAIR</span></div>";
}

std::string strip(const std::string& image, const std::string& alt) {
  return "<div class=\"strip\">" + modality_labels() + "<img src=\"" + h(url_path(image)) + "\" alt=\"" + h(alt) +
         "\"></div>";
}

namespace {
const char* kCss = R"CSS(
:root { --ink:#1d2330; --muted:#5d6777; --line:#dfe3ea; --soft:#f5f7fa; --accent:#2f5fb3; --ok:#1d7a46; --bad:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--ink); background:#eef1f5; }
header { background: linear-gradient(120deg,#1f3b73,#2f5fb3); color:#fff; padding: 28px 0 22px; }
header .wrap { padding-top:0; padding-bottom:0; }
header h1 { margin:0 0 4px; font-size: 28px; font-weight: 650; letter-spacing: .2px; }
header p { margin: 0; opacity: .88; }
nav { margin-top: 14px; display:flex; flex-wrap:wrap; gap:6px; }
nav a { color:#fff; text-decoration:none; font-size:13px; padding:3px 10px; border:1px solid rgba(255,255,255,.35); border-radius: 999px; }
nav a:hover { background: rgba(255,255,255,.15); }
.wrap { max-width: 1180px; margin: 0 auto; padding: 0 22px; }
section { background:#fff; border:1px solid var(--line); border-radius: 10px; margin: 20px 0; padding: 6px 24px 20px; box-shadow: 0 1px 2px rgba(20,30,50,.04); }
h2 { font-size: 20px; margin: 18px 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--soft); }
h3 { font-size: 16px; margin: 18px 0 8px; }
p.lead, .note { color: var(--muted); font-size: 13.5px; }
.note { margin: 6px 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 6px; font-size: 13.5px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; color: #333b4a; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.model td { font-weight: 600; }
tr.ref td { color: #6b7280; font-style: italic; background: #fbfbfd; font-weight: 400; }
tr.ref td:first-child { padding-left: 26px; }
.sd { color: var(--muted); font-weight: 400; }
.na { color: #a0a7b4; }
.tag { display:inline-block; white-space: nowrap; font-size: 11.5px; font-style: normal; padding: 0 7px; border-radius: 999px; background:#eceff4; color:#4b5563; margin-left: 6px; }
.tag.pub { background:#fff4d6; color:#7a5a00; }
.tag.hgg { background:#fde3e1; color:#8a1c14; }
.tag.lgg { background:#e0ecfd; color:#1d4a8a; }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.kv { width:auto; min-width: 60%; }
.kv th { width: 220px; }
.plots { display:flex; flex-wrap:wrap; gap: 24px; }
.plot { flex: 1 1 460px; }
.plot svg { width: 100%; height: auto; background:#fff; }
.legend { display:flex; flex-wrap:wrap; gap: 4px 16px; font-size: 13px; color: var(--muted); }
.swatch { display:inline-block; width: 22px; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: 6px; }
.scroll { overflow-x: auto; }
table.results th, table.results td { padding: 6px 6px; font-size: 13px; }
.gallery { display:grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.card { border:1px solid var(--line); border-radius: 8px; padding: 8px; background: #fff; }
.card img { width: 100%; display:block; border-radius: 4px; background:#000; image-rendering: pixelated; }
.card .cap { font-size: 12.5px; color: var(--muted); margin-top: 6px; line-height: 1.4; word-break: break-all; }
.card .cap b { color: var(--ink); }
.case { border:1px solid var(--line); border-radius: 10px; padding: 12px 16px 14px; margin: 16px 0; background: #fcfdfe; }
.case h3 { margin: 2px 0 8px; }
.strip { display:inline-block; max-width: 100%; margin: 4px 0 2px; }
.strip img { max-width: 100%; display:block; image-rendering: pixelated; border-radius: 4px; }
.strip .labels { display:grid; grid-template-columns: repeat(4, 1fr); font-size: 12px; color: var(--muted); text-align:center; }
.model-view { border-top: 1px dashed var(--line); margin-top: 10px; padding-top: 8px; }
.maps { display:flex; flex-direction: column; gap: 6px; }
.maplabel { font-size: 13px; font-weight: 600; margin-top: 6px; }
.protos { display:flex; flex-wrap: wrap; gap: 10px; margin-top: 6px; }
.protos .card { width: 210px; }
table.settings th:first-child { width: 230px; }
footer { color: var(--muted); font-size: 12.5px; padding: 10px 0 30px; }
code { font-size: 12.5px; background: var(--soft); padding: 1px 5px; border-radius: 4px; word-break: break-all; }
)CSS";
}  // namespace

const char* report_css() { return kCss; }

}  // namespace mprotonet::html_detail
