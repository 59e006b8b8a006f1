// SPDX-License-Identifier: MIT
// `mprotonet synth`: writes the built-in synthetic BraTS-like cohort (data/synthetic.h), with
// progress on stderr and an optional preview PNG for judging realism, optionally with a real
// BraTS-space case shown first in the same layout.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>

#include "apps/commands.h"
#include "mprotonet/core/error.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/synthetic.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/report/png.h"

namespace {

struct SynthCommand {
  mprotonet::SyntheticOptions synth;
  std::string out;
  std::string shape;
  std::string preview;
  std::string preview_real;
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
// the axial slice through `centre` (a tumour voxel).
std::vector<mprotonet::RgbImage> preview_row(const std::array<mprotonet::Volume, 4>& images, const mprotonet::Volume& seg,
                                             const std::array<int64_t, 3>& centre) {
  using namespace mprotonet;
  const Volume& ref = images[0];
  const int normal = SliceView::normal_axis(ref, Plane::kAxial);
  const int64_t largest = std::max({ref.shape[0], ref.shape[1], ref.shape[2]});
  const int zoom = std::max<int>(1, static_cast<int>((200 + largest - 1) / largest));
  const SliceView view(ref, Plane::kAxial, centre[static_cast<size_t>(normal)], zoom);
  std::vector<RgbImage> row;
  for (const auto& image : images) row.push_back(render_slice(image, view));
  for (int m : {1, 3}) {
    RgbImage outlined = row[static_cast<size_t>(m)];
    overlay_label_outline(outlined, seg, view);
    row.push_back(std::move(outlined));
  }
  return row;
}

std::vector<mprotonet::RgbImage> preview_row(const mprotonet::SyntheticCase& c) {
  return preview_row(c.images, c.seg, c.info.tumour_centre_voxel);
}

// The same row for a real case folder: its tumour voxel nearest the tumour's centroid (the
// middle of the volume when it has no segmentation or no tumour).
std::vector<mprotonet::RgbImage> real_preview_row(const std::string& dir) {
  using namespace mprotonet;
  return with_context("while rendering the real case " + dir + " for --preview-real", [&] {
    const CaseFiles files = find_case_files(dir);
    std::array<Volume, 4> images;
    for (size_t m = 0; m < 4; ++m) images[m] = read_nifti(files.images[m]);
    Volume seg = files.seg ? read_nifti(*files.seg) : make_volume(images[0].shape, images[0].affine);
    check(seg.shape == images[0].shape, (files.seg ? files.seg->string() : dir) + ": segmentation shape differs from the images'");
    for (size_t m = 1; m < 4; ++m)
      check(images[m].shape == images[0].shape, files.images[m].string() + ": shape differs from " + files.images[0].string());
    double sum[3] = {0, 0, 0};
    int64_t n = 0;
    for (int64_t i = 0; i < seg.shape[0]; ++i)
      for (int64_t j = 0; j < seg.shape[1]; ++j)
        for (int64_t k = 0; k < seg.shape[2]; ++k)
          if (seg.at(i, j, k) != 0) {
            sum[0] += double(i), sum[1] += double(j), sum[2] += double(k);
            ++n;
          }
    std::array<int64_t, 3> centre{seg.shape[0] / 2, seg.shape[1] / 2, seg.shape[2] / 2};
    if (n > 0) {
      double best = 1e300;
      for (int64_t i = 0; i < seg.shape[0]; ++i)
        for (int64_t j = 0; j < seg.shape[1]; ++j)
          for (int64_t k = 0; k < seg.shape[2]; ++k) {
            if (seg.at(i, j, k) == 0) continue;
            const double di = double(i) - sum[0] / n, dj = double(j) - sum[1] / n, dk = double(k) - sum[2] / n;
            if (di * di + dj * dj + dk * dk < best) {
              best = di * di + dj * dj + dk * dk;
              centre = {i, j, k};
            }
          }
    }
    return preview_row(images, seg, centre);
  });
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
      sub.add_flag("--ageing", o->synth.ageing,
                   "age the template's young-adult anatomy: widened ventricles and sulci, cortical sulcal sheets, "
                   "periventricular water rim (an experiment towards real scans; default off)");
      sub.add_option("--threads", o->synth.threads, "worker threads; 0 = all cores (default 0); never changes the output");
      sub.add_option("--preview", o->preview,
                     "also write this PNG: axial slice through the tumour of each modality, with segmentation outlines "
                     "(1 red, 2 green, 4 yellow), one row per case");
      sub.add_option("--preview-cases", o->preview_cases, "cases shown in the preview (default 4)");
      sub.add_option("--preview-real", o->preview_real,
                     "a real BraTS-space case folder (four modalities and a segmentation) shown as the preview's "
                     "first row, in the same layout, for comparison")
          ->check(CLI::ExistingDirectory);
      return [o] {
        using namespace mprotonet;
        if (!o->shape.empty()) o->synth.shape = parse_shape(o->shape);
        check(o->preview_cases >= 1 && o->preview_cases <= 64,
              "--preview-cases " + std::to_string(o->preview_cases) + " is invalid: expected 1 to 64");
        validate(o->synth);
        check(o->preview_real.empty() || !o->preview.empty(), "--preview-real needs --preview FILE.png");
        // Read the real case first: a bad folder fails before minutes of generation.
        std::vector<RgbImage> real_row;
        if (!o->preview_real.empty()) real_row = real_preview_row(o->preview_real);

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
          std::vector<RgbImage> panels = std::move(real_row);
          for (auto& r : rows)
            for (auto& p : r) panels.push_back(std::move(p));
          write_png(o->preview, tile_images(panels, 6, 4));
          std::cerr << "synth: preview written to " << o->preview << "\n";
        }
        return 0;
      };
    });
