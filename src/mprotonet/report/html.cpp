// SPDX-License-Identifier: MIT
// The HTML results report (see html.h).
#include "mprotonet/report/html.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "mprotonet/attribution/methods.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/core/version.h"
#include "mprotonet/metrics/missing_modalities.h"
#include "mprotonet/metrics/significance.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/report/comparison_section.h"
#include "mprotonet/report/evaluation_report.h"
#include "mprotonet/report/html_detail.h"
#include "mprotonet/report/viewer.h"

namespace mprotonet {

namespace fs = std::filesystem;
using nlohmann::json;

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string url_path(const fs::path& relative) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : relative.generic_string()) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string method_label(const std::string& m) {
  static const std::map<std::string, std::string> names{{"mprotonet", "MProtoNet map"},
                                                        {"gradcam", "GradCAM"},
                                                        {"guided-gradcam", "Guided GradCAM"},
                                                        {"deconvolution", "Deconvolution"},
                                                        {"occlusion", "Occlusion"}};
  auto it = names.find(m);
  return it != names.end() ? it->second : m;
}

namespace html_detail {

std::string native_method(const ReportRun& r) { return r.prototype_model() ? "mprotonet" : "gradcam"; }

std::string method_css_colour(const std::string& m) {
  try {
    const Rgb c = method_colour(attribution::parse_map_method(m));
    return "rgb(" + std::to_string(c.r) + "," + std::to_string(c.g) + "," + std::to_string(c.b) + ")";
  } catch (const std::exception&) {
    return "#555";
  }
}

std::string model_description(const std::string& model_name) {
  if (model_name == "CNN3D") return "CNN baseline, explained with GradCAM";
  const std::string name = nets::paper_row_name(model_name);
  if (name == model_name) return "";
  return model_name == "MProtoNet3D_pm5" ? name + ", the paper's best" : name;
}

// ---- published figures (docs/method.md#published-figures): BraTS 2020, 5-fold, not this run.
struct Published {
  std::string row;
  std::string bac, ap, ids;
  std::string source;
};

std::vector<Published> published_for(const std::string& model_name) {
  if (model_name == "CNN3D") return {{"CNN + GradCAM (re-run)", "0.855", "0.107", "0.138", "MAProtoNet's published table"}};
  if (model_name == "MProtoNet3D_pm1") return {{"ProtoPNet (re-run)", "0.843", "0.118", "0.242", "MAProtoNet's published table"}};
  if (model_name == "MProtoNet3D_pm2") return {{"XProtoNet (re-run)", "0.847", "0.169", "0.163", "MAProtoNet's published table"}};
  if (model_name == "MProtoNet3D_pm5")
    return {{"MProtoNet (paper)", "", "0.713 ± 0.058", "", "MProtoNet paper, abstract"},
            {"MProtoNet (re-run, shallower backbone)", "0.858", "0.812", "0.062", "MAProtoNet's published table"}};
  return {};
}

// ---- sections
void settings_section(Page& pg, const std::vector<ReportRun>& runs,
                      const std::vector<std::pair<std::string, std::string>>& extra) {
  auto& o = pg.o;
  o << "<section id=\"settings\"><h2>Settings and data</h2>\n";
  if (!extra.empty()) {
    o << "<table class=\"kv\">\n";
    for (const auto& [k, v] : extra) pg.kv(h(k), h(v));
    o << "</table>\n";
  }
  o << "<table class=\"settings\"><tr><th></th>";
  for (const auto& r : runs) o << "<th>" << h(r.label) << "</th>";
  o << "</tr>\n";
  auto row = [&](const std::string& name, const std::function<std::string(const ReportRun&)>& cell) {
    o << "<tr><th>" << name << "</th>";
    for (const auto& r : runs) {
      const std::string c = cell(r);
      o << "<td>" << (c.empty() ? "<span class=\"na\">—</span>" : c) << "</td>";
    }
    o << "</tr>\n";
  };
  row("Model", [](const ReportRun& r) {
    const auto d = model_description(r.model_name());
    return h(r.model_name()) + (d.empty() ? "" : " <span class=\"sd\">(" + h(d) + ")</span>");
  });
  row("Backbone", [](const ReportRun& r) {
    const auto f = at(r.run, "/model_config/features"), n = at(r.run, "/model_config/n_layers");
    return f.is_null() ? std::string() : h(text_of(f)) + (n.is_null() ? "" : ", first " + h(text_of(n)) + " children");
  });
  row("Prototypes", [](const ReportRun& r) {
    if (!r.prototype_model()) return std::string();
    const auto s = at(r.run, "/model_config/prototype_shape");
    if (!s.is_array() || s.size() < 2) return std::string();
    return h(text_of(s[0])) + " of dimension " + h(text_of(s[1])) + ", " + h(text_of(at(r.run, "/model_config/f_dist"))) +
           " distance, p_mode " + std::to_string(r.p_mode());
  });
  row("Network input", [](const ReportRun& r) {
    const auto s = at(r.run, "/preprocess/shape"), sp = at(r.run, "/preprocess/spacing_mm");
    if (s.is_null()) return std::string();
    return "4 × " + h(text_of(s, true)) + " voxels" + (sp.is_null() ? "" : " at " + h(text_of(sp)) + " mm");
  });
  row("Cases (HGG / LGG)", [](const ReportRun& r) {
    const auto n = at(r.run, "/dataset/subjects");
    if (n.is_null()) return std::string();
    return h(text_of(n)) + " (" + h(text_of(at(r.run, "/dataset/hgg"))) + " HGG / " + h(text_of(at(r.run, "/dataset/lgg"))) +
           " LGG)";
  });
  row("Data folder", [](const ReportRun& r) {
    const auto d = at(r.run, "/data_dir");
    return d.is_null() ? std::string() : "<code>" + h(text_of(d)) + "</code>";
  });
  row("Folds", [](const ReportRun& r) {
    const auto n = at(r.run, "/folds/n");
    if (n.is_null()) return std::string();
    return h(text_of(n)) + ", " + h(text_of(at(r.run, "/folds/method"))) + ", seed " + h(text_of(at(r.run, "/folds/seed")));
  });
  row("Joint epochs", [](const ReportRun& r) {
    const auto e = at(r.run, "/train/epochs");
    if (e.is_null()) return std::string();
    std::string s = h(text_of(e));
    if (r.prototype_model())
      s += "; push every " + h(text_of(at(r.run, "/train/push_interval"))) + ", then " +
           h(text_of(at(r.run, "/train/last_layer_epochs"))) + " last-layer epochs";
    return s;
  });
  row("Batch size, learning rate", [](const ReportRun& r) {
    const auto b = at(r.run, "/train/batch_size");
    return b.is_null() ? std::string() : h(text_of(b)) + ", " + h(text_of(at(r.run, "/train/lr")));
  });
  row("Device, precision", [](const ReportRun& r) {
    const auto d = at(r.run, "/train/device");
    return d.is_null() ? std::string() : h(text_of(d)) + ", " + h(text_of(at(r.run, "/train/precision")));
  });
  row("Training time (all folds)", [](const ReportRun& r) {
    if (!r.results.is_object() || !r.results.contains("folds")) return std::string("not finished");
    double t = 0;
    for (const auto& f : r.results["folds"]) t += f.value("train_seconds", 0.0);
    return duration(t);
  });
  row("Evaluation time", [](const ReportRun& r) {
    if (!r.evaluation.is_object() || !r.evaluation.contains("folds")) return std::string("not evaluated");
    double t = 0;
    for (const auto& f : r.evaluation["folds"]) t += f.value("seconds", 0.0);
    return duration(t);
  });
  row("Methods evaluated", [](const ReportRun& r) {
    const auto m = at(r.evaluation, "/methods");
    if (!m.is_array() || m.empty()) return std::string();
    std::string folds;
    const json fl = at(r.evaluation, "/folds");
    if (fl.is_array())
      for (const auto& f : fl)
        if (f.is_object()) folds += (folds.empty() ? "" : ", ") + std::to_string(f.value("fold", -1));
    return h(text_of(m)) + " <span class=\"sd\">(folds " + folds + ")</span>";
  });
  o << "</table>\n<p class=\"note\">Times are the sums of the per-fold times recorded in results.json "
       "(training) and evaluation.json (evaluation), not the wall time of the whole job, unless it is listed above.</p>\n";
  o << "</section>\n";
}

void results_section(Page& pg, const std::vector<ReportRun>& runs) {
  auto& o = pg.o;
  o << "<section id=\"results\"><h2>Results per model</h2>\n"
       "<p class=\"lead\">Mean ± standard deviation over the test folds of this run. Classification on the held-out "
       "subjects of each fold; AP and DSC: the model's own explanation (the MProtoNet map for prototype models, GradCAM "
       "for the CNN) against the whole tumour; IDS (lower is better) and IAS (higher is better): incremental deletion and "
       "addition. Rows marked <span class=\"tag pub\">published, BraTS 2020</span> are the literature's figures on real "
       "BraTS 2020 data, shown for reference only: they are <b>not</b> results of this run.</p>\n";
  o << "<div class=\"scroll\"><table class=\"results\"><tr><th>Model (explanation)</th>";
  for (const char* c : {"BAC", "Accuracy", "Sensitivity", "Specificity", "AUC", "AP", "DSC", "IDS ↓", "IAS ↑"})
    o << "<th class=\"num\">" << c << "</th>";
  o << "</tr>\n";
  for (const auto& r : runs) {
    const std::string m = native_method(r);
    const json s = at(r.evaluation, "/summary/methods").is_object() ? r.evaluation["summary"]["methods"].value(m, json())
                                                                      : json();
    const json cls_eval = at(r.evaluation, "/summary/classification/full");
    o << "<tr class=\"model\"><td>" << h(nets::paper_row_name(r.label)) << " <span class=\"sd\">(" << h(r.label) << ", "
      << h(method_label(m)) << ")</span></td>";
    for (const char* metric : {"bac", "accuracy", "sensitivity", "specificity", "auc"}) {
      std::string cell = results_cell(r.results, metric);
      if (!r.results.is_object() && cls_eval.is_object()) cell = mean_std(cls_eval.value(metric, json()));
      o << "<td class=\"num\">" << cell << "</td>";
    }
    for (const char* metric : {"ap", "dsc", "ids", "ias"})
      o << "<td class=\"num\">" << mean_std(s.is_object() ? s.value(metric, json()) : json()) << "</td>";
    o << "</tr>\n";
    for (const auto& p : published_for(r.model_name())) {
      auto c = [](const std::string& v) { return v.empty() ? std::string("—") : v; };
      o << "<tr class=\"ref\"><td>" << h(p.row) << " <span class=\"tag pub\">published, BraTS 2020</span></td><td class=\"num\">"
        << c(p.bac) << "</td><td class=\"num\">—</td><td class=\"num\">—</td><td class=\"num\">—</td><td class=\"num\">—</td>"
        << "<td class=\"num\">" << c(p.ap) << "</td><td class=\"num\">—</td><td class=\"num\">" << c(p.ids)
        << "</td><td class=\"num\">—</td></tr>\n";
    }
  }
  o << "</table></div>\n";
  for (const auto& r : runs) {
    if (!r.results.is_object()) o << "<p class=\"note\">" << h(r.label) << ": results.json not found (training not finished).</p>\n";
    if (!r.evaluation.is_object())
      o << "<p class=\"note\">" << h(r.label) << ": evaluation.json not found (run <code>mprotonet evaluate</code>).</p>\n";
  }
  o << "<h3>Published figures for reference (BraTS 2020, 5-fold; not from this run)</h3>\n"
       "<table><tr><th>Method</th><th class=\"num\">BAC</th><th class=\"num\">AP</th><th class=\"num\">IDS</th><th>Source</th></tr>\n"
       "<tr class=\"ref\"><td>MProtoNet (paper)</td><td class=\"num\">—</td><td class=\"num\">0.713 ± 0.058</td><td class=\"num\">—</td><td>MProtoNet paper, abstract</td></tr>\n"
       "<tr class=\"ref\"><td>CNN + GradCAM (re-run)</td><td class=\"num\">0.855</td><td class=\"num\">0.107</td><td class=\"num\">0.138</td><td>MAProtoNet's published table</td></tr>\n"
       "<tr class=\"ref\"><td>ProtoPNet (re-run)</td><td class=\"num\">0.843</td><td class=\"num\">0.118</td><td class=\"num\">0.242</td><td>MAProtoNet's published table</td></tr>\n"
       "<tr class=\"ref\"><td>XProtoNet (re-run)</td><td class=\"num\">0.847</td><td class=\"num\">0.169</td><td class=\"num\">0.163</td><td>MAProtoNet's published table</td></tr>\n"
       "<tr class=\"ref\"><td>MProtoNet (re-run, shallower backbone)</td><td class=\"num\">0.858</td><td class=\"num\">0.812</td><td class=\"num\">0.062</td><td>MAProtoNet's published table</td></tr>\n"
       "<tr class=\"ref\"><td>MAProtoNet</td><td class=\"num\">0.867</td><td class=\"num\">0.858</td><td class=\"num\">0.062</td><td>MAProtoNet's published table</td></tr>\n"
       "</table>\n";
  o << "</section>\n";
}

void interpretability_section(Page& pg, const std::vector<ReportRun>& runs) {
  auto& o = pg.o;
  o << "<section id=\"interpretability\"><h2>Interpretability per method</h2>\n"
       "<p class=\"lead\">Every attribution method evaluated on every model (target: the ground-truth label). AP / DSC: "
       "the min-max normalised map ≥ 0.5 against the whole tumour (labels 1, 2, 4), per modality, then averaged.</p>\n";
  bool any = false;
  std::ostringstream t;
  t << "<table><tr><th>Model</th><th>Method</th><th class=\"num\">AP</th><th class=\"num\">DSC</th><th class=\"num\">IDS ↓</th>"
       "<th class=\"num\">IAS ↑</th><th class=\"num\">AP T1</th><th class=\"num\">AP T1CE</th><th class=\"num\">AP T2</th>"
       "<th class=\"num\">AP FLAIR</th></tr>\n";
  for (const auto& r : runs) {
    const json ms = at(r.evaluation, "/summary/methods");
    if (!ms.is_object()) continue;
    for (const auto& [name, s] : ms.items()) {
      any = true;
      t << "<tr><td>" << h(r.label) << "</td><td><span class=\"swatch\" style=\"border-color:" << method_css_colour(name)
        << "\"></span>" << h(method_label(name)) << "</td>";
      for (const char* metric : {"ap", "dsc", "ids", "ias"}) t << "<td class=\"num\">" << mean_std(s.value(metric, json())) << "</td>";
      for (size_t c = 0; c < 4; ++c) {
        const json ch = s.contains("ap_per_channel") && s["ap_per_channel"].is_array() && c < s["ap_per_channel"].size()
                            ? s["ap_per_channel"][c]
                            : json();
        t << "<td class=\"num\">" << mean_std(ch) << "</td>";
      }
      t << "</tr>\n";
    }
  }
  t << "</table>\n";
  if (any) o << t.str();
  else o << "<p class=\"note\">No evaluation.json yet.</p>\n";
  for (const auto& r : runs) {
    const json notes = at(r.evaluation, "/notes");
    if (notes.is_array())
      for (const auto& n : notes) o << "<p class=\"note\">" << h(r.label) << ": " << h(text_of(n)) << "</p>\n";
  }
  o << "</section>\n";
}

void missing_section(Page& pg, const std::vector<ReportRun>& runs) {
  auto& o = pg.o;
  o << "<section id=\"missing\"><h2>Missing modalities</h2>\n"
       "<p class=\"lead\">Balanced accuracy (mean ± std over folds) when only the listed modalities are kept; each missing "
       "channel is replaced by the voxel-wise mean of the kept ones (docs/method.md#metrics).</p>\n";
  std::vector<const ReportRun*> with;
  for (const auto& r : runs)
    if (at(r.evaluation, "/summary/classification").is_object() && r.evaluation["summary"]["classification"].size() > 1)
      with.push_back(&r);
  if (with.empty()) {
    o << "<p class=\"note\">Not evaluated (no evaluation.json with missing-modality results).</p></section>\n";
    return;
  }
  o << "<table><tr><th>Modalities kept</th>";
  for (const auto* r : with) o << "<th class=\"num\">" << h(r->label) << " BAC</th>";
  o << "</tr>\n";
  std::vector<std::pair<std::string, std::string>> rows{{"full", "all four"}};
  for (const auto& s : kept_modality_subsets(4)) {
    const auto n = subset_name(s);
    std::string label;
    for (char c : n) label += c == '+' ? std::string(" + ") : std::string(1, static_cast<char>(std::toupper(c)));
    rows.emplace_back(n, label);
  }
  for (const auto& [key, label] : rows) {
    o << "<tr" << (key == "full" ? " class=\"model\"" : "") << "><td>" << h(label) << "</td>";
    for (const auto* r : with) {
      const json& c = r->evaluation["summary"]["classification"];
      o << "<td class=\"num\">" << (c.contains(key) ? mean_std(c[key].value("bac", json())) : "<span class=\"na\">n/a</span>")
        << "</td>";
    }
    o << "</tr>\n";
  }
  o << "</table></section>\n";
}

void significance_rows(std::ostream& o, const json& sig) {
  o << "<table><tr><th>Metric</th><th class=\"num\">MProtoNet map</th><th class=\"num\">GradCAM</th>"
       "<th class=\"num\">Wilcoxon p</th><th class=\"num\">paired t-test p</th><th class=\"num\">folds</th></tr>\n";
  std::string note;
  for (const auto& [key, s] : sig.items()) {
    const auto pos = key.rfind('_');
    std::string metric = pos == std::string::npos ? key : key.substr(pos + 1);
    for (auto& ch : metric) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto num = [&](const char* p) {
      const json v = at(s, p);
      return v.is_number() ? v.get<double>() : std::nan("");
    };
    o << "<tr><td>" << h(metric) << "</td><td class=\"num\">" << fixed(num("/a_mean")) << "</td><td class=\"num\">"
      << fixed(num("/b_mean")) << "</td><td class=\"num\">" << p_value(num("/wilcoxon/p_value")) << "</td><td class=\"num\">"
      << p_value(num("/t_test/p_value")) << "</td><td class=\"num\">" << h(text_of(at(s, "/n"))) << "</td></tr>\n";
    if (s.is_object() && s.contains("note") && s["note"].is_string()) note = s["note"].get<std::string>();
  }
  o << "</table>\n";
  if (!note.empty()) o << "<p class=\"note\"><b>Low power:</b> " << h(note) << ".</p>\n";
}

void significance_section(Page& pg, const std::vector<ReportRun>& runs) {
  auto& o = pg.o;
  o << "<section id=\"significance\"><h2>Within each model: MProtoNet map vs GradCAM</h2>\n"
       "<p class=\"lead\">Paired comparisons across folds (two-sided Wilcoxon signed-rank and paired t-test) of two "
       "explanations of the same model; the comparison between rows is above, paired per subject.</p>\n";
  bool any = false;
  for (const auto& r : runs) {
    const json sig = at(r.evaluation, "/significance");
    if (!sig.is_object() || sig.empty()) continue;
    any = true;
    o << "<h3>" << h(r.label) << ": its MProtoNet map vs GradCAM on the same model</h3>\n";
    significance_rows(o, sig);
  }
  if (!any) o << "<p class=\"note\">No within-model comparison (it needs the mprotonet and gradcam maps of a prototype model).</p>\n";
  o << "</section>\n";
}

std::string curve_svg(const std::vector<std::tuple<std::string, std::string, int, std::vector<double>>>& series,
                      const std::string& x_label) {
  const int W = 520, H = 330, L = 52, R = 16, T = 14, B = 46;
  auto px = [&](double t) { return L + t * (W - L - R); };
  auto py = [&](double v) { return H - B - std::clamp(v, 0.0, 1.0) * (H - T - B); };
  std::ostringstream s;
  s << std::fixed << std::setprecision(1);
  s << "<svg viewBox=\"0 0 " << W << " " << H << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">";
  for (int q = 0; q <= 4; ++q) {
    const double v = q / 4.0;
    s << "<line x1=\"" << px(0) << "\" y1=\"" << py(v) << "\" x2=\"" << px(1) << "\" y2=\"" << py(v)
      << "\" stroke=\"#e5e8ee\"/>";
    s << "<line x1=\"" << px(v) << "\" y1=\"" << py(0) << "\" x2=\"" << px(v) << "\" y2=\"" << py(1)
      << "\" stroke=\"#e5e8ee\"/>";
    s << "<text x=\"" << L - 8 << "\" y=\"" << py(v) + 4 << "\" font-size=\"12\" text-anchor=\"end\" fill=\"#5d6777\">"
      << fixed(v, 2) << "</text>";
    s << "<text x=\"" << px(v) << "\" y=\"" << H - B + 17 << "\" font-size=\"12\" text-anchor=\"middle\" fill=\"#5d6777\">"
      << static_cast<int>(q * 25) << "%</text>";
  }
  s << "<line x1=\"" << px(0) << "\" y1=\"" << py(0) << "\" x2=\"" << px(1) << "\" y2=\"" << py(0) << "\" stroke=\"#333\"/>";
  s << "<line x1=\"" << px(0) << "\" y1=\"" << py(0) << "\" x2=\"" << px(0) << "\" y2=\"" << py(1) << "\" stroke=\"#333\"/>";
  s << "<text x=\"" << (px(0) + px(1)) / 2 << "\" y=\"" << H - 8 << "\" font-size=\"12.5\" text-anchor=\"middle\" fill=\"#333\">"
    << h(x_label) << "</text>";
  s << "<text transform=\"translate(14," << (py(0) + py(1)) / 2
    << ") rotate(-90)\" font-size=\"12.5\" text-anchor=\"middle\" fill=\"#333\">balanced accuracy</text>";
  for (const auto& [label, colour, dash, ys] : series) {
    (void)label;
    std::ostringstream pts;
    pts << std::fixed << std::setprecision(1);
    auto flush = [&](std::ostringstream& p) {
      if (p.str().find(' ') != std::string::npos)
        s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2.2\"" 
          << (dash ? " stroke-dasharray=\"7 4\"" : "") << " points=\"" << p.str() << "\"/>";
      p.str("");
    };
    for (size_t i = 0; i < ys.size(); ++i) {
      if (!std::isfinite(ys[i])) {
        flush(pts);
        continue;
      }
      const double t = ys.size() > 1 ? static_cast<double>(i) / static_cast<double>(ys.size() - 1) : 0.0;
      pts << px(t) << "," << py(ys[i]) << " ";
    }
    flush(pts);
  }
  s << "</svg>";
  return s.str();
}

void curves_section(Page& pg, const std::vector<ReportRun>& runs) {
  auto& o = pg.o;
  o << "<section id=\"curves\"><h2>Deletion and addition curves</h2>\n"
       "<p class=\"lead\">Balanced accuracy of the model while the most-attributed voxels are removed (deletion: a faithful "
       "map makes it fall fast, low IDS) or are the only ones kept (addition: it rises fast, high IAS), over 51 quantile "
       "steps of the map; mean over folds. Solid and dashed lines distinguish the models.</p>\n";
  std::vector<std::tuple<std::string, std::string, int, std::vector<double>>> series[2];
  int r_index = 0;
  for (const auto& r : runs) {
    const json mc = at(r.evaluation, "/mean_curves");
    if (!mc.is_object()) continue;
    for (const auto& [m, c] : mc.items())
      for (int k = 0; k < 2; ++k) {
        const char* key = k == 0 ? "deletion_bac" : "addition_bac";
        if (!c.contains(key) || !c[key].is_array()) continue;
        std::vector<double> ys;
        for (const auto& v : c[key]) ys.push_back(v.is_number() ? v.get<double>() : std::nan(""));
        series[k].emplace_back(r.label + " · " + method_label(m), method_css_colour(m), r_index > 0, ys);
      }
    ++r_index;
  }
  if (series[0].empty() && series[1].empty()) {
    o << "<p class=\"note\">No curves (evaluation without deletion / addition, or not evaluated yet).</p></section>\n";
    return;
  }
  o << "<div class=\"plots\">";
  for (int k = 0; k < 2; ++k) {
    o << "<div class=\"plot\"><h3>" << (k == 0 ? "Incremental deletion" : "Incremental addition") << "</h3>"
      << curve_svg(series[k], k == 0 ? "voxels removed (quantile of the map)" : "voxels kept (quantile of the map)") << "</div>";
  }
  o << "</div><div class=\"legend\">";
  for (const auto& [label, colour, dash, ys] : series[0]) {
    (void)ys;
    o << "<span><span class=\"swatch\" style=\"border-color:" << colour << (dash ? ";border-top-style:dashed" : "") << "\"></span>"
      << h(label) << "</span>";
  }
  o << "</div></section>\n";
}

}  // namespace html_detail

std::string report_html(const std::vector<ReportRun>& runs, const std::vector<GallerySection>& gallery,
                        const std::vector<CaseView>& cases,
                        const std::vector<std::pair<std::string, std::string>>& extra_settings,
                        const std::vector<std::string>& notes, const std::string& title, const json& comparison) {
  using namespace html_detail;
  Page pg;
  auto& o = pg.o;
  std::string models;
  for (const auto& r : runs) models += (models.empty() ? "" : ", ") + r.label;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       "<title>" << h(title) << "</title>\n<style>" << report_css() << "</style>\n";
  const bool viewers = std::any_of(cases.begin(), cases.end(), [](const CaseView& c) { return !c.viewer.modalities.empty(); });
  if (viewers) o << viewer_style();
  o << "</head>\n<body>\n";
  o << "<header><div class=\"wrap\"><h1>" << h(title) << "</h1><p>" << h(models)
    << " — glioma grading (HGG vs LGG) from four MRI modalities, cross-validated</p><nav>"
       "<a href=\"#settings\">Settings</a><a href=\"#results\">Results</a><a href=\"#interpretability\">Methods</a>"
       "<a href=\"#comparison\">Significance</a><a href=\"#missing\">Missing modalities</a><a href=\"#curves\">Curves</a>"
       "<a href=\"#prototypes\">Prototypes</a><a href=\"#cases\">Test cases</a></nav></div></header>\n<main class=\"wrap\">\n";
  settings_section(pg, runs, extra_settings);
  results_section(pg, runs);
  o << comparison_section_html(comparison);
  interpretability_section(pg, runs);
  missing_section(pg, runs);
  significance_section(pg, runs);
  curves_section(pg, runs);
  gallery_section(pg, gallery);
  cases_section(pg, cases, notes);
  o << "</main>\n<footer><div class=\"wrap\">Generated by <code>mprotonet report</code> from run.json, results.json, "
       "evaluation.json and the fold models of: ";
  bool first = true;
  for (const auto& r : runs) {
    o << (first ? "" : ", ") << "<code>" << h(r.dir.string()) << "</code>";
    if (r.run.contains("mprotonet")) o << " (trained by mprotonet " << h(version_line(r.run.at("mprotonet"))) << ")";
    first = false;
  }
  o << ". Written by mprotonet " << h(version_line())
    << ". Cite the method, Wei, Tam, Tang: MProtoNet, Medical Imaging with Deep Learning (MIDL 2023), PMLR 227:1798-1812,"
       " and this software with its version and commit: see CITATION.cff and the README's <i>Citing</i> section."
       "</div></footer>\n";
  if (viewers) o << viewer_scripts(std::string(kReportFiles) + "/niivue.umd.js");
  o << "</body></html>\n";
  return o.str();
}

}  // namespace mprotonet
