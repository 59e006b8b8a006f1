// `mprotonet demo`: the main job on the built-in synthetic cohort — generate the cohort,
// preprocess it into the cache, check the folds, and write a summary with a picture of what
// the network sees. Training, evaluation and the report are chained here as they land.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/data/splits.h"
#include "mprotonet/data/synthetic.h"
#include "mprotonet/report/png.h"

namespace fs = std::filesystem;

namespace mprotonet::cli {
namespace {

struct DemoCommand {
  fs::path out = "demo-run";
  SyntheticOptions synth;
  double spacing = 3.0;  // preprocessed voxel size: 3 mm -> 64 x 64 x 48
  int folds = 3;
  uint32_t seed = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// One row per case: the four preprocessed modalities through the tumour with its outline.
RgbImage preview(const PreprocessedCohort& cohort, const std::vector<int64_t>& cases) {
  std::vector<RgbImage> panels;
  const auto shape = cohort.shape();
  for (int64_t c : cases) {
    const auto img = cohort.image(c);
    const auto seg = cohort.seg(c);
    Volume seg_vol = make_volume(shape, cohort.affine(c));
    int64_t best_k = shape[2] / 2, best = -1;
    if (seg.defined()) {
      const auto s = seg[0].to(torch::kFloat32).contiguous();
      std::memcpy(seg_vol.data.data(), s.data_ptr<float>(), seg_vol.data.size() * sizeof(float));
      const torch::Tensor per_slice = (s > 0).sum(torch::IntArrayRef{0, 1});
      best = per_slice.argmax().item<int64_t>();
      if (per_slice[best].item<int64_t>() > 0) best_k = best;
    }
    for (int m = 0; m < kNumModalities; ++m) {
      Volume v = make_volume(shape, cohort.affine(c));
      const auto t = img[m].contiguous();
      std::memcpy(v.data.data(), t.data_ptr<float>(), v.data.size() * sizeof(float));
      const SliceView view(v, Plane::kAxial, best_k, 3);
      RgbImage panel = render_slice(v, view);
      if (seg.defined()) overlay_label_outline(panel, seg_vol, view);
      panels.push_back(std::move(panel));
    }
  }
  return tile_images(panels, kNumModalities);
}

int run(const DemoCommand& o) {
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) throw Error("cannot create output folder " + o.out.string() + ": " + ec.message());
  const fs::path data = o.out / "data";

  std::cerr << "[demo 1/3] synthetic cohort: " << o.synth.cases << " cases, " << o.synth.shape[0] << "x" << o.synth.shape[1]
            << "x" << o.synth.shape[2] << " at " << o.synth.spacing << " mm -> " << data.string() << "\n";
  auto t = std::chrono::steady_clock::now();
  write_synthetic_cohort(data, o.synth, [&](int done, int total) {
    const double sec = seconds_since(t);
    std::cerr << "\r  " << done << "/" << total << " cases, " << static_cast<int>(sec) << " s, ETA "
              << static_cast<int>(sec / done * (total - done)) << " s   " << std::flush;
  });
  const double synth_s = seconds_since(t);
  std::cerr << "\n";

  std::cerr << "[demo 2/3] preprocessing at " << o.spacing << " mm into " << (o.out / "cache").string() << "\n";
  t = std::chrono::steady_clock::now();
  const Dataset ds = discover_brats(data);
  CohortOptions copts;
  copts.preprocess.spacing_mm = o.spacing;
  copts.cache_root = o.out / "cache";
  const auto cohort = PreprocessedCohort::build(ds, copts, [&](int64_t done, int64_t total, const std::string&, bool) {
    std::cerr << "\r  " << done << "/" << total << " subjects   " << std::flush;
  });
  const double prep_s = seconds_since(t);
  std::cerr << "\n";

  std::cerr << "[demo 3/3] folds and summary\n";
  const auto folds = stratified_k_fold(ds.labels(), o.folds, o.seed);
  std::vector<int64_t> shown;
  for (int label : {kLabelHGG, kLabelLGG})
    for (int64_t i = 0, n = 0; i < cohort.size() && n < 2; ++i)
      if (cohort.label(i) == label) {
        shown.push_back(i);
        ++n;
      }
  const fs::path png = o.out / "preview.png";
  write_png(png, preview(cohort, shown));

  const auto sh = cohort.shape();
  nlohmann::json j{{"cases", cohort.size()},
                   {"hgg", ds.count(kLabelHGG)},
                   {"lgg", ds.count(kLabelLGG)},
                   {"input_shape", {4, sh[0], sh[1], sh[2]}},
                   {"spacing_mm", o.spacing},
                   {"folds", o.folds},
                   {"seed", o.seed},
                   {"seconds", {{"synthesis", synth_s}, {"preprocessing", prep_s}, {"total", seconds_since(start)}}},
                   {"preview", png.filename().string()}};
  for (size_t f = 0; f < folds.size(); ++f) j["fold_sizes"].push_back({folds[f].train.size(), folds[f].test.size()});
  write_text_atomically(o.out / "summary.json", j.dump(2) + "\n");
  std::ostringstream md;
  md << std::fixed << std::setprecision(1);
  md << "# MProtoNet demo run\n\n"
     << "| | |\n|---|---|\n"
     << "| cases | " << cohort.size() << " (" << ds.count(kLabelHGG) << " HGG, " << ds.count(kLabelLGG) << " LGG) |\n"
     << "| network input | 4 x " << sh[0] << " x " << sh[1] << " x " << sh[2] << " at " << o.spacing << " mm |\n"
     << "| folds | " << o.folds << " (seed " << o.seed << ") |\n"
     << "| time | synthesis " << synth_s << " s, preprocessing " << prep_s << " s |\n\n"
     << "![what the network sees: T1, T1CE, T2, FLAIR with the tumour outline](" << png.filename().string() << ")\n";
  write_text_atomically(o.out / "summary.md", md.str());
  std::cout << "demo finished in " << static_cast<int>(seconds_since(start)) << " s: " << (o.out / "summary.md").string()
            << " (and summary.json, preview.png)\n";
  return 0;
}

CommandRegistration reg(
    "demo", "The main job on the built-in synthetic cohort (what scripts/quickstart.sh runs)", [](CLI::App& sub) -> Action {
      auto o = std::make_shared<DemoCommand>();
      o->synth.cases = 80;
      o->synth.shape = {120, 120, 78};
      o->synth.spacing = 2.0;
      sub.add_option("--out", o->out, "output folder (default demo-run)");
      sub.add_option("--cases", o->synth.cases, "synthetic cases (default 80)")->check(CLI::Range(6, 100000));
      sub.add_option("--seed", o->seed, "seed of the cohort and the folds (default 0)");
      sub.add_option("--synth-spacing", o->synth.spacing, "voxel size of the generated volumes in mm (default 2)")
          ->check(CLI::PositiveNumber);
      sub.add_option("--spacing", o->spacing, "preprocessed voxel size in mm (default 3 -> 64x64x48)")->check(CLI::PositiveNumber);
      sub.add_option("--folds", o->folds, "cross-validation folds (default 3)")->check(CLI::Range(2, 20));
      return [o] {
        o->synth.seed = o->seed;
        // Keep the generated field of view at BraTS size (240 x 240 x 155 mm) whatever the spacing.
        o->synth.shape = {static_cast<int64_t>(std::lround(240 / o->synth.spacing)),
                          static_cast<int64_t>(std::lround(240 / o->synth.spacing)),
                          static_cast<int64_t>(std::lround(155 / o->synth.spacing))};
        return run(*o);
      };
    });

}  // namespace
}  // namespace mprotonet::cli
