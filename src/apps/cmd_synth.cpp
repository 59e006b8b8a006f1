// SPDX-License-Identifier: MIT
// `mprotonet synth`: writes the built-in synthetic BraTS-like cohort (data/synthetic.h), with
// progress on stderr and an optional preview PNG for judging realism.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>

#include "apps/commands.h"
#include "mprotonet/core/error.h"
#include "mprotonet/data/synthetic.h"
#include "mprotonet/report/png.h"

namespace {

struct SynthCommand {
  mprotonet::SyntheticOptions synth;
  std::string out;
  std::string shape;
  std::string preview;
  int preview_cases = 4;
};

std::array<int64_t, 3> parse_shape(const std::string& text) {
  std::array<int64_t, 3> shape{};
  std::stringstream ss(text);
  std::string part;
  int n = 0;
  while (std::getline(ss, part, ',')) {
    if (n >= 3) break;
    try {
      size_t used = 0;
      shape[static_cast<size_t>(n)] = std::stoll(part, &used);
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw mprotonet::Error("--shape " + text + " is invalid: '" + part + "' is not an integer; expected X,Y,Z, e.g. 240,240,155");
    }
    ++n;
  }
  mprotonet::check(n == 3 && !ss.rdbuf()->in_avail(), "--shape " + text + " is invalid: expected three integers X,Y,Z, e.g. 240,240,155");
  return shape;
}

std::string format_duration(double seconds) {
  char buf[32];
  const long s = std::lround(seconds);
  if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

// One row per case: t1, t1ce, t2, flair, then t1ce and flair with the segmentation outline, on
// the axial slice through the tumour centre.
std::vector<mprotonet::RgbImage> preview_row(const mprotonet::SyntheticCase& c) {
  using namespace mprotonet;
  const Volume& ref = c.images[0];
  const int normal = SliceView::normal_axis(ref, Plane::kAxial);
  const int64_t largest = std::max({ref.shape[0], ref.shape[1], ref.shape[2]});
  const int zoom = std::max<int>(1, static_cast<int>((200 + largest - 1) / largest));
  const SliceView view(ref, Plane::kAxial, c.info.tumour_centre_voxel[static_cast<size_t>(normal)], zoom);
  std::vector<RgbImage> row;
  for (const auto& image : c.images) row.push_back(render_slice(image, view));
  for (int m : {1, 3}) {
    RgbImage outlined = row[static_cast<size_t>(m)];
    overlay_label_outline(outlined, c.seg, view);
    row.push_back(std::move(outlined));
  }
  return row;
}

}  // namespace

static mprotonet::cli::CommandRegistration register_synth(
    "synth", "Generate the synthetic BraTS-like cohort (BraTS 2020 layout, grade decided by tumour biology)",
    [](CLI::App& sub) -> mprotonet::cli::Action {
      auto o = std::make_shared<SynthCommand>();
      sub.add_option("--out", o->out, "output folder (new, empty, or a previous synthetic cohort, which is replaced)")
          ->required();
      sub.add_option("--cases", o->synth.cases, "number of cases (default 100)");
      sub.add_option("--seed", o->synth.seed, "cohort seed; case i depends only on (seed, i) (default 0)");
      sub.add_option("--shape", o->shape, "volume shape X,Y,Z in voxels (default 240,240,155 as BraTS)");
      sub.add_option("--spacing", o->synth.spacing, "isotropic voxel size in mm (default 1; e.g. 2 with --shape 120,120,78)");
      sub.add_option("--hgg-fraction", o->synth.hgg_fraction, "fraction of HGG cases (default 0.79 as BraTS 2020)");
      sub.add_option("--atypical-fraction", o->synth.atypical_fraction,
                     "fraction of atypical cases per grade: faintly enhancing LGG, thin-rim HGG (default 0.15)");
      sub.add_option("--noise-level", o->synth.noise_level, "Rician noise sigma relative to white matter (default 0.03)");
      sub.add_option("--bias-strength", o->synth.bias_strength, "bias field strength, relative (default 0.2)");
      sub.add_option("--threads", o->synth.threads, "worker threads; 0 = all cores (default 0); never changes the output");
      sub.add_option("--preview", o->preview,
                     "also write this PNG: axial slice through the tumour of each modality, with segmentation outlines "
                     "(1 red, 2 green, 4 yellow), one row per case");
      sub.add_option("--preview-cases", o->preview_cases, "cases shown in the preview (default 4)");
      return [o] {
        using namespace mprotonet;
        if (!o->shape.empty()) o->synth.shape = parse_shape(o->shape);
        check(o->preview_cases >= 1 && o->preview_cases <= 64,
              "--preview-cases " + std::to_string(o->preview_cases) + " is invalid: expected 1 to 64");
        validate(o->synth);

        std::mutex preview_mutex;
        std::vector<std::vector<RgbImage>> rows(static_cast<size_t>(std::min(o->preview_cases, o->synth.cases)));
        SyntheticCaseHook hook;
        if (!o->preview.empty())
          hook = [&](const SyntheticCase& c) {
            if (c.info.index >= static_cast<int>(rows.size())) return;
            auto row = preview_row(c);
            std::lock_guard<std::mutex> lock(preview_mutex);
            rows[static_cast<size_t>(c.info.index)] = std::move(row);
          };

        const auto start = std::chrono::steady_clock::now();
        auto progress = [&](int done, int total) {
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          const double per_case = done > 0 ? elapsed / done : 0;
          std::cerr << "synth: " << done << "/" << total << " cases, " << format_duration(elapsed) << " elapsed, ETA "
                    << format_duration(per_case * (total - done)) << "\n";
        };
        std::cerr << "synth: writing " << o->synth.cases << " cases of " << o->synth.shape[0] << "x" << o->synth.shape[1]
                  << "x" << o->synth.shape[2] << " at " << o->synth.spacing << " mm to " << o->out << "\n";
        const auto infos = write_synthetic_cohort(o->out, o->synth, progress, hook);
        int hgg = 0, atypical = 0;
        for (const auto& c : infos) {
          hgg += c.hgg;
          atypical += c.atypical;
        }
        std::cerr << "synth: done: " << infos.size() << " cases (" << hgg << " HGG, " << infos.size() - hgg << " LGG, "
                  << atypical << " atypical) in " << o->out << "\n";

        if (!o->preview.empty()) {
          bool complete = true;
          for (const auto& r : rows) complete &= !r.empty();
          if (!complete) {
            // The cohort was already up to date, so no case went through the hook: regenerate
            // the few preview cases in memory (deterministic, identical to the files).
            for (size_t i = 0; i < rows.size(); ++i)
              if (rows[i].empty()) rows[i] = preview_row(generate_synthetic_case(o->synth, static_cast<int>(i)));
          }
          std::vector<RgbImage> panels;
          for (auto& r : rows)
            for (auto& p : r) panels.push_back(std::move(p));
          write_png(o->preview, tile_images(panels, 6, 4));
          std::cerr << "synth: preview written to " << o->preview << "\n";
        }
        return 0;
      };
    });
