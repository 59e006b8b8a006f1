// SPDX-License-Identifier: MIT
// The interactive 3D viewer of the report and of `explain` (see viewer.h).
#include "mprotonet/report/viewer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mprotonet/core/base64.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/core/resources.h"
#include "mprotonet/core/version.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/report/html.h"
#include "mprotonet/report/png.h"

namespace mprotonet {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string h(const std::string& s) { return html_escape(s); }

// Values in [low, high] -> 0..255 stored as uint8 with the scaling that gives them back.
ViewerVolume quantised(const Volume& v, double low, double high, const std::string& label, double cal_min,
                       double cal_max, bool magnitude = false) {
  check(v.numel() > 0 && static_cast<int64_t>(v.data.size()) == v.numel(),
        "viewer volume '" + label + "' is empty or inconsistent");
  const bool flat = !(high > low);
  const double scale = flat ? 0.0 : 255.0 / (high - low);
  Volume q = make_volume(v.shape, v.affine);
  for (size_t i = 0; i < v.data.size(); ++i) {
    const double x = magnitude ? std::fabs(v.data[i]) : v.data[i];
    q.data[i] = static_cast<float>(std::round(std::clamp((x - low) * scale, 0.0, 255.0)));
  }
  ViewerVolume out;
  out.label = label;
  const auto bytes = encode_nifti_gz(q, DataType::kUInt8, flat ? 1.0 : (high - low) / 255.0, low);
  out.base64 = base64_encode(bytes);
  out.cal_min = cal_min;
  out.cal_max = cal_max > cal_min ? cal_max : cal_min + 1.0;
  return out;
}

std::string number(double v) {
  std::ostringstream s;
  s << std::setprecision(6) << v;
  return s.str();
}

// JSON inside <script type="application/json">: '<', '>' and '&' only occur inside strings, where
// \u escapes keep the same value and "</script>" can never end the element early.
std::string script_json(const json& j) {
  std::string out;
  for (char c : j.dump()) {
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

json volume_json(const ViewerVolume& v, const std::string& file) {
  return json{{"file", file}, {"data", v.base64}, {"cal_min", v.cal_min}, {"cal_max", v.cal_max}};
}

bool valid_dom_id(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  });
}

}  // namespace

size_t CaseViewer::embedded_size() const {
  size_t n = 0;
  for (const auto& v : modalities) n += v.base64.size();
  if (labels) n += labels->base64.size();
  for (const auto& m : maps)
    for (const auto& v : m.volumes) n += v.base64.size();
  for (const auto& [subject, images] : source_images)
    for (const auto& v : images) n += v.base64.size();
  for (const auto& s : sources) n += s.map.base64.size();
  return n;
}

ViewerVolume viewer_intensity(const Volume& v, const std::string& label) {
  const Window w = percentile_window(v);
  return quantised(v, w.low, w.high, label, w.low, w.high);
}

ViewerVolume viewer_labels(const Volume& seg, const std::string& label) { return quantised(seg, 0, 255, label, 0, 4); }

ViewerVolume viewer_map_volume(const Volume& v, const std::string& label) {
  double peak = 0;
  for (float x : v.data) peak = std::max(peak, static_cast<double>(std::fabs(x)));
  if (!std::isfinite(peak)) throw Error("map '" + label + "' has non-finite values");
  return quantised(v, 0, peak, label, 0.15 * peak, peak, true);
}

void limit_viewer(CaseViewer& viewer, size_t limit) {
  size_t n = viewer.embedded_size();
  if (n <= limit) return;
  auto mb = [](size_t bytes) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << bytes / 1048576.0 << " MB";
    return s.str();
  };
  if (!viewer.sources.empty()) {
    viewer.sources_note = "The prototypes' source cases are not in the 3D view: with them the case's volumes need " +
                          mb(n) + " in the page, above the limit of " + mb(limit) + ".";
    viewer.sources.clear();
    viewer.source_images.clear();
    n = viewer.embedded_size();
    if (n <= limit) return;
  }
  viewer.note = "The interactive viewer is not included for this case: its volumes need " + mb(n) +
                " in the page, above the limit of " + mb(limit) + ".";
  viewer.sources_note.clear();
  viewer.modalities.clear();
  viewer.labels.reset();
  viewer.maps.clear();
  viewer.source_images.clear();
  viewer.sources.clear();
}

std::string viewer_html(const CaseViewer& viewer, const std::string& dom_id) {
  check(valid_dom_id(dom_id), "viewer id '" + dom_id + "' must be letters, digits, '-' or '_'");
  std::ostringstream o;
  if (!viewer.note.empty() || viewer.modalities.empty()) {
    o << "<p class=\"note mpv-missing\">"
      << h(viewer.note.empty() ? "The interactive viewer is not available for this case." : viewer.note) << "</p>\n";
    return o.str();
  }
  static const char* kNames[4] = {"T1", "T1CE", "T2", "FLAIR"};
  json data{{"bases", json::array()}, {"labels", nullptr}, {"maps", json::array()}};
  o << "<div class=\"mpv\" id=\"" << dom_id << "\">\n<div class=\"mpv-controls\">"
    << "<label>image <select class=\"mpv-base\">";
  for (size_t m = 0; m < viewer.modalities.size(); ++m) {
    o << "<option value=\"" << m << "\"" << (m == 3 ? " selected" : "") << ">" << h(viewer.modalities[m].label)
      << "</option>";
    data["bases"].push_back(volume_json(viewer.modalities[m], std::string(m < 4 ? kNames[m] : "image") + ".nii.gz"));
  }
  o << "</select></label>";
  if (viewer.labels) {
    o << "<label>tumour <select class=\"mpv-labels\"><option value=\"outline\" selected>outline</option>"
         "<option value=\"fill\">translucent</option><option value=\"off\">off</option></select></label>";
    data["labels"] = volume_json(*viewer.labels, "labels.nii.gz");
  }
  o << "<label>map <select class=\"mpv-map\"><option value=\"-1\">none</option>";
  for (size_t k = 0; k < viewer.maps.size(); ++k) {
    o << "<option value=\"" << k << "\"" << (k == 0 ? " selected" : "") << ">" << h(viewer.maps[k].label) << "</option>";
    json vols = json::array();
    for (size_t c = 0; c < viewer.maps[k].volumes.size(); ++c)
      vols.push_back(volume_json(viewer.maps[k].volumes[c], "map" + std::to_string(k) + "_" + std::to_string(c) + ".nii.gz"));
    data["maps"].push_back(vols);
  }
  o << "</select></label>";
  if (!viewer.sources.empty()) {
    o << "<label>case <select class=\"mpv-source\"><option value=\"-1\" selected>this case</option>";
    data["source_images"] = json::array();
    for (size_t i = 0; i < viewer.source_images.size(); ++i) {
      json vols = json::array();
      for (size_t m = 0; m < viewer.source_images[i].second.size(); ++m)
        vols.push_back(volume_json(viewer.source_images[i].second[m], "source" + std::to_string(i) + "_" + std::to_string(m) + ".nii.gz"));
      data["source_images"].push_back(vols);
    }
    data["sources"] = json::array();
    for (size_t k = 0; k < viewer.sources.size(); ++k) {
      const auto& src = viewer.sources[k];
      check(src.images < viewer.source_images.size(), "viewer source '" + src.label + "' has no images");
      o << "<option value=\"" << k << "\">" << h(src.label) << "</option>";
      data["sources"].push_back({{"images", src.images}, {"map", volume_json(src.map, "source_map" + std::to_string(k) + ".nii.gz")}});
    }
    o << "</select></label>";
  }
  o << "<label>opacity <input class=\"mpv-opacity\" type=\"range\" min=\"0\" max=\"100\" value=\"60\"></label>"
       "<label>view <select class=\"mpv-layout\"><option value=\"3\" selected>multiplanar + 3D</option>"
       "<option value=\"0\">axial</option><option value=\"1\">coronal</option><option value=\"2\">sagittal</option>"
       "<option value=\"4\">3D render</option></select></label></div>\n"
       "<div class=\"mpv-stage\"><canvas class=\"mpv-canvas\"></canvas></div>\n"
       "<div class=\"mpv-info\">Click a view to move the crosshair; its voxel's values appear here. Scroll: slices; "
       "right-drag: contrast; drag in 3D: rotate.</div>\n"
       "<div class=\"mpv-status\">Starting the viewer… (needs JavaScript and WebGL2)</div>\n"
       "<script type=\"application/json\" class=\"mpv-data\">"
    << script_json(data) << "</script>\n</div>\n";
  if (!viewer.sources_note.empty()) o << "<p class=\"note\">" << h(viewer.sources_note) << "</p>\n";
  return o.str();
}

std::string viewer_source_button(const std::string& dom_id, size_t source) {
  check(valid_dom_id(dom_id), "viewer id '" + dom_id + "' must be letters, digits, '-' or '_'");
  return "<button type=\"button\" class=\"mpv-open\" data-viewer=\"" + dom_id + "\" data-source=\"" +
         std::to_string(source) + "\">open in the 3D view</button>";
}

std::string viewer_style() { return "<style>" + read_text_file(resource_path("viewer/viewer.css")) + "</style>\n"; }

std::string viewer_scripts(const std::string& niivue_url) {
  std::string js = read_text_file(resource_path("viewer/viewer.js"));
  check(js.find("</script") == std::string::npos, "resources/viewer/viewer.js must not contain \"</script\"");
  return "<script src=\"" + h(url_path(niivue_url)) + "\"></script>\n<script>\n" + js + "</script>\n";
}

void copy_viewer_bundle(const fs::path& dir) {
  const fs::path bundle = resource_path("niivue/niivue.umd.js");
  const std::string bytes = read_text_file(bundle);
  write_bytes_atomically(dir / "niivue.umd.js", bytes.data(), bytes.size());
}

void write_explain_page(const fs::path& out_dir, const ExplainPage& page) {
  check(page.modalities.size() == 4, "the explain page needs the case's four modality files");
  check(fs::is_directory(out_dir), "cannot write the explain page: " + out_dir.string() + " is not a folder");
  CaseViewer viewer;
  static const char* kNames[4] = {"T1", "T1CE", "T2", "FLAIR"};
  for (size_t m = 0; m < 4; ++m) viewer.modalities.push_back(viewer_intensity(read_nifti(page.modalities[m]), kNames[m]));
  if (page.seg) viewer.labels = viewer_labels(read_nifti(*page.seg), "tumour labels");
  for (const auto& [method, map] : page.maps) viewer.maps.push_back({method + " map", {viewer_map_volume(map, method)}});
  limit_viewer(viewer, 8 * kMaxViewerEmbedded);

  std::ostringstream o;
  const std::string title = "MProtoNet explanation of " + page.case_id;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
    << h(title) << "</title>\n"
    << "<style>body{margin:0 auto;max-width:1180px;padding:14px 22px;font:15px/1.5 -apple-system,\"Segoe UI\",Roboto,"
       "Arial,sans-serif;color:#1d2330}h1{font-size:22px;margin:6px 0}.note{color:#5d6777;font-size:13.5px}"
       "code{background:#f5f7fa;padding:1px 5px;border-radius:4px}</style>\n"
    << viewer_style() << "</head>\n<body>\n<h1>" << h(title) << "</h1>\n<p>Predicted <b>" << h(page.predicted)
    << "</b>, p(HGG) = " << number(page.p_hgg)
    << ". The maps are on the case's own grid (the T1 file's), as the NIfTI files beside this page; each is scaled to "
       "its peak for display, and the values under the crosshair are the map's own.</p>\n"
    << viewer_html(viewer, "mpv-explain");
  if (!page.files.empty()) {
    o << "<p class=\"note\">Files: ";
    for (size_t i = 0; i < page.files.size(); ++i)
      o << (i ? ", " : "") << "<a href=\"" << h(url_path(page.files[i])) << "\"><code>" << h(page.files[i]) << "</code></a>";
    o << ".</p>\n";
  }
  o << "<p class=\"note\">Written by mprotonet " << h(version_line()) << ". Viewer: NiiVue (BSD-2-Clause).</p>\n";
  if (!viewer.modalities.empty()) {
    o << viewer_scripts("niivue.umd.js");
    copy_viewer_bundle(out_dir);
  }
  o << "</body></html>\n";
  write_text_atomically(out_dir / "index.html", o.str());
}

}  // namespace mprotonet
