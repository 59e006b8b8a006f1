// SPDX-License-Identifier: MIT
// `mprotonet preprocess`: one case -> the NIfTI volumes the network sees, or a whole cohort ->
// the preprocessing cache.
#include <chrono>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "apps/option_bounds.h"
#include "apps/preprocess_option.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/data/preprocess_case.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;

namespace mprotonet::cli {
namespace {

struct PreprocessCommand {
  fs::path case_dir;
  fs::path data_dir;
  fs::path out_dir;
  fs::path cache_dir;
  double spacing = 1.5;
  PreprocessGrid grid = PreprocessGrid::kMillimetre;
  int threads = 0;
  bool skip_bad = false;
};

int run_case(const PreprocessCommand& o) {
  check(!o.out_dir.empty(), "--out is required with --case");
  PreprocessOptions options;
  options.spacing_mm = o.spacing;
  options.grid = o.grid;
  const CaseFiles files = find_case_files(o.case_dir);
  const PreprocessedCase c = preprocess_case(files, options);
  // The volumes appear together or not at all (a full disk leaves neither a partial set nor
  // temporaries, and earlier files of the same names stay as they were).
  StagedOutputs outputs;
  outputs.create_directories(o.out_dir);
  for (int m = 0; m < kNumModalities; ++m)
    write_nifti(o.out_dir / (std::string(kModalityNames[static_cast<size_t>(m)]) + ".nii.gz"), c.images[static_cast<size_t>(m)],
                DataType::kFloat32);
  if (c.seg) write_nifti(o.out_dir / "seg.nii.gz", *c.seg, DataType::kUInt8);
  outputs.commit();
  const auto& s = c.images[0].shape;
  std::cout << "preprocessed " << files.id << " (" << axis_codes(read_nifti_header(files.images[0]).affine) << " -> RAS, "
            << s[0] << "x" << s[1] << "x" << s[2] << " at " << o.spacing << " mm, " << to_string(o.grid) << " grid) into " << o.out_dir.string() << "\n";
  return 0;
}

int run_cohort(const PreprocessCommand& o) {
  DatasetOptions dopts;
  dopts.require_labels = false;
  dopts.skip_bad = o.skip_bad;
  const Dataset ds = discover_brats(o.data_dir, dopts);
  for (const auto& s : ds.skipped) std::cerr << "skipped " << s << "\n";
  CohortOptions copts;
  copts.preprocess.spacing_mm = o.spacing;
  copts.preprocess.grid = o.grid;
  copts.cache_root = o.cache_dir;
  copts.threads = o.threads;
  const auto start = std::chrono::steady_clock::now();
  const auto cohort = PreprocessedCohort::build(ds, copts, [&](int64_t done, int64_t total, const std::string& id, bool cached) {
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double eta = done > 0 ? sec / static_cast<double>(done) * static_cast<double>(total - done) : 0.0;
    std::cerr << "[preprocess] " << done << "/" << total << " " << id << (cached ? " (cached)" : "") << "  elapsed "
              << static_cast<int>(sec) << " s, ETA " << static_cast<int>(eta) << " s\n";
  });
  const auto sh = cohort.shape();
  std::cout << cohort.size() << " subjects (" << ds.count(kLabelHGG) << " HGG, " << ds.count(kLabelLGG) << " LGG), "
            << cohort.computed() << " preprocessed now, " << cohort.size() - cohort.computed() << " from cache; "
            << sh[0] << "x" << sh[1] << "x" << sh[2] << " voxels; cache " << cohort.cache_dir().string() << "\n";
  return 0;
}

CommandRegistration register_preprocess(
    "preprocess",
    "Preprocess one case to NIfTI (what the network sees) or a whole cohort into the cache",
    [](CLI::App& sub) -> Action {
      auto o = std::make_shared<PreprocessCommand>();
      auto* case_opt = sub.add_option("--case", o->case_dir, "case folder with the four modalities (and seg)")->check(CLI::ExistingDirectory);
      auto* data_opt = sub.add_option("--data", o->data_dir, "BraTS training folder: preprocess every subject into the cache")
                           ->check(CLI::ExistingDirectory);
      case_opt->excludes(data_opt);
      sub.add_option("--out", o->out_dir, "output folder for --case (t1, t1ce, t2, flair .nii.gz float32; seg uint8)");
      sub.add_option("--spacing", o->spacing, "output voxel size in mm (default 1.5 -> 128x128x96; 3 -> 64x64x48)")
          ->check(number_in(bounds::kMinSpacingMm, bounds::kMaxSpacingMm));
      add_preprocess_option(sub, &o->grid);
      sub.add_option("--cache", o->cache_dir, "cache root for --data (default $MPROTONET_CACHE or ~/.cache/mprotonet)");
      sub.add_option("--threads", o->threads, "worker threads for --data (default 0 = all cores)")
          ->check(integer_in(0, bounds::kMaxThreads));
      sub.add_flag("--skip-bad", o->skip_bad, "with --data: leave out subjects with problems instead of failing");
      return [o, case_opt, data_opt] {
        if (case_opt->count()) return run_case(*o);
        if (data_opt->count()) return run_cohort(*o);
        throw Error("give --case CASE_DIR --out OUT_DIR, or --data DIR (see --help)");
      };
    });

}  // namespace
}  // namespace mprotonet::cli
