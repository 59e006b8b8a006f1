// SPDX-License-Identifier: MIT
// evaluation.md and the curve plots (see evaluation_report.h).
#include "mprotonet/report/evaluation_report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/core/text.h"
#include "mprotonet/metrics/missing_modalities.h"

namespace mprotonet {

using nlohmann::json;
using attribution::MapMethod;

namespace {

double value_of(const json& j) { return j.is_number() ? j.get<double>() : kNaN; }

// Draws a line segment (integer Bresenham) clipped to the image.
void draw_line(RgbImage& img, int x0, int y0, int x1, int y1, Rgb c, int thickness = 1) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  while (true) {
    for (int ox = 0; ox < thickness; ++ox)
      for (int oy = 0; oy < thickness; ++oy) {
        const int x = x0 + ox - thickness / 2, y = y0 + oy - thickness / 2;
        if (x >= 0 && y >= 0 && x < img.width && y < img.height) img.set(x, y, c);
      }
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

}  // namespace

Rgb method_colour(MapMethod method) {
  switch (method) {
    case MapMethod::MProtoNet: return {214, 39, 40};      // red
    case MapMethod::GradCAM: return {31, 119, 180};       // blue
    case MapMethod::GuidedGradCAM: return {44, 160, 44};  // green
    case MapMethod::Deconvolution: return {148, 103, 189};  // purple
    case MapMethod::Occlusion: return {255, 127, 14};     // orange
  }
  return {0, 0, 0};
}

RgbImage plot_curves(const std::vector<std::vector<double>>& curves, const std::vector<Rgb>& colours, int width,
                     int height) {
  check(curves.size() == colours.size(), "plot_curves: " + std::to_string(curves.size()) + " curves but " +
                                             std::to_string(colours.size()) + " colours");
  check(width >= 64 && height >= 64, "plot size " + std::to_string(width) + "x" + std::to_string(height) +
                                         " is too small; expected at least 64x64");
  RgbImage img(width, height, Rgb{255, 255, 255});
  const int left = 40, right = width - 16, top = 16, bottom = height - 32;
  auto px = [&](double t) { return left + static_cast<int>(std::lround(t * (right - left))); };
  auto py = [&](double v) { return bottom - static_cast<int>(std::lround(std::clamp(v, 0.0, 1.0) * (bottom - top))); };
  const Rgb grid{225, 225, 225}, axis{0, 0, 0};
  for (int q = 1; q <= 4; ++q) {
    draw_line(img, left, py(q / 4.0), right, py(q / 4.0), grid);
    draw_line(img, px(q / 4.0), top, px(q / 4.0), bottom, grid);
  }
  draw_line(img, left, bottom, right, bottom, axis);
  draw_line(img, left, top, left, bottom, axis);
  for (int q = 0; q <= 4; ++q) {  // ticks
    draw_line(img, px(q / 4.0), bottom, px(q / 4.0), bottom + 5, axis);
    draw_line(img, left - 5, py(q / 4.0), left, py(q / 4.0), axis);
  }
  for (size_t c = 0; c < curves.size(); ++c) {
    const auto& y = curves[c];
    for (size_t i = 0; i + 1 < y.size(); ++i) {
      if (!std::isfinite(y[i]) || !std::isfinite(y[i + 1])) continue;
      const double t0 = static_cast<double>(i) / static_cast<double>(y.size() - 1);
      const double t1 = static_cast<double>(i + 1) / static_cast<double>(y.size() - 1);
      draw_line(img, px(t0), py(y[i]), px(t1), py(y[i + 1]), colours[c], 2);
    }
  }
  return img;
}

std::string evaluation_markdown(const json& e) {
  std::ostringstream md;
  md << std::fixed << std::setprecision(3);
  auto ms = [&](const json& s) {
    std::ostringstream t;
    t << std::fixed << std::setprecision(3);
    if (!s.contains("mean") || s["mean"].is_null()) return std::string("n/a");
    t << value_of(s["mean"]) << " ± " << value_of(s["std"]);
    return t.str();
  };
  md << "# Evaluation of " << e.value("model_name", "") << "\n\n";
  md << "Run: `" << e.value("run_dir", "") << "`, " << e["folds"].size()
     << " fold(s); mean ± std over folds (population std). Attribution target: the ground-truth label.\n\n";
  const auto& sum = e["summary"];
  md << "## Classification\n\n| input | accuracy | BAC | sensitivity | specificity | AUC |\n|---|---|---|---|---|---|\n";
  auto row = [&](const std::string& name, const json& s) {
    md << "| " << name;
    for (const char* m : {"accuracy", "bac", "sensitivity", "specificity", "auc"}) md << " | " << ms(s[m]);
    md << " |\n";
  };
  if (sum["classification"].contains("full")) row("all four modalities", sum["classification"]["full"]);
  for (const auto& s : kept_modality_subsets(4)) {
    const auto n = subset_name(s);
    if (sum["classification"].contains(n)) row("kept: " + n, sum["classification"][n]);
  }
  md << "\nMissing modalities are replaced by the voxel-wise mean of the kept ones.\n\n";
  if (!sum["methods"].empty()) {
    md << "## Interpretability\n\n| method | AP | DSC | IDS (lower better) | IAS (higher better) |\n|---|---|---|---|---|\n";
    for (const auto& [name, s] : sum["methods"].items()) {
      md << "| " << name << " | " << ms(s["ap"]) << " | " << ms(s["dsc"]) << " | "
         << (s.contains("ids") ? ms(s["ids"]) : "n/a") << " | " << (s.contains("ias") ? ms(s["ias"]) : "n/a") << " |\n";
    }
    md << "\n### AP per modality\n\n| method | T1 | T1CE | T2 | FLAIR |\n|---|---|---|---|---|\n";
    for (const auto& [name, s] : sum["methods"].items()) {
      md << "| " << name;
      for (const auto& c : s["ap_per_channel"]) md << " | " << ms(c);
      md << " |\n";
    }
    md << "\nAP / DSC: min-max normalised map >= 0.5 against the whole tumour (labels 1, 2, 4), per modality then "
          "averaged. IDS / IAS: normalised area under the BAC curve of incremental deletion / addition over "
       << e.value("faithfulness_steps", 50) + 1 << " quantile steps";
    if (e.value("faithfulness_subjects_per_fold", 0) > 0)
      md << ", on at most " << e.value("faithfulness_subjects_per_fold", 0) << " test subjects per fold (both classes)";
    md << ".\n\n";
    md << "Curves: `deletion_curves.png`, `addition_curves.png` (x: fraction of steps, y: BAC from 0 to 1; colours: ";
    bool first = true;
    for (const auto& n : e["methods"]) {
      auto c = method_colour(attribution::parse_map_method(n.get<std::string>()));
      md << (first ? "" : ", ") << n.get<std::string>() << " rgb(" << int(c.r) << "," << int(c.g) << "," << int(c.b)
         << ")";
      first = false;
    }
    md << ").\n\n";
  }
  if (!e["significance"].empty()) {
    md << "## MProtoNet maps vs GradCAM (paired across folds)\n\n| metric | MProtoNet | GradCAM | Wilcoxon p | t-test p |\n"
          "|---|---|---|---|---|\n";
    std::string note;
    for (const auto& [key, s] : e["significance"].items()) {
      md << "| " << key.substr(std::string("mprotonet_vs_gradcam_").size()) << " | " << value_of(s["a_mean"]) << " | "
         << value_of(s["b_mean"]) << " | " << value_of(s["wilcoxon"]["p_value"]) << " | "
         << value_of(s["t_test"]["p_value"]) << " |\n";
      note = s.value("note", "");
    }
    md << "\nNote: " << note << ".\n\n";
  }
  for (const auto& n : e["notes"]) md << "- " << n.get<std::string>() << "\n";
  return md.str();
}

}  // namespace mprotonet
