// SPDX-License-Identifier: MIT
// `mprotonet dataset`: inspect a BraTS folder — subjects, grades, problems, and the
// cross-validation folds a training run would use.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/option_bounds.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/splits.h"

namespace fs = std::filesystem;

namespace mprotonet::cli {
namespace {

struct DatasetCommand {
  fs::path data_dir;
  fs::path json_out;
  fs::path labels;
  int folds = 5;
  uint32_t seed = 0;
  bool skip_bad = false;
  bool require_seg = false;
};

int run_dataset(const DatasetCommand& o) {
  DatasetOptions opts;
  opts.skip_bad = o.skip_bad;
  opts.require_seg = o.require_seg;
  if (!o.labels.empty()) opts.labels_csv = o.labels;
  const Dataset ds = discover_brats(o.data_dir, opts);
  std::cout << ds.subjects.size() << " subjects: " << ds.count(kLabelHGG) << " HGG, " << ds.count(kLabelLGG)
            << " LGG (grades from " << ds.grade_source << ")\n";
  for (const auto& s : ds.skipped) std::cout << "skipped " << s << "\n";
  nlohmann::json j;
  j["root"] = fs::absolute(ds.root).string();
  j["grade_source"] = ds.grade_source;
  j["skipped"] = ds.skipped;
  for (const auto& s : ds.subjects)
    j["subjects"].push_back({{"id", s.files.id}, {"grade", s.grade}, {"label", s.label}, {"has_seg", s.files.seg.has_value()}});
  if (o.folds > 0) {
    const auto folds = stratified_k_fold(ds.labels(), o.folds, o.seed);
    for (size_t f = 0; f < folds.size(); ++f) {
      int hgg = 0;
      nlohmann::json test_ids = nlohmann::json::array();
      for (auto i : folds[f].test) {
        hgg += ds.subjects[static_cast<size_t>(i)].label == kLabelHGG;
        test_ids.push_back(ds.subjects[static_cast<size_t>(i)].files.id);
      }
      std::cout << "fold " << f << ": " << folds[f].train.size() << " train, " << folds[f].test.size() << " test (" << hgg
                << " HGG, " << folds[f].test.size() - static_cast<size_t>(hgg) << " LGG)\n";
      j["folds"].push_back({{"fold", f}, {"test", test_ids}});
    }
    j["n_folds"] = o.folds;
    j["seed"] = o.seed;
  }
  if (!o.json_out.empty()) write_text_atomically(o.json_out, j.dump(2) + "\n");
  return 0;
}

CommandRegistration register_dataset("dataset", "Check a BraTS folder: subjects, grades, problems and cross-validation folds",
                        [](CLI::App& sub) -> Action {
                          auto o = std::make_shared<DatasetCommand>();
                          sub.add_option("--data", o->data_dir, "BraTS training folder")->required();
                          sub.add_option("--labels", o->labels, "grade table to use instead of DIR/name_mapping.csv");
                          sub.add_option("--folds", o->folds, "number of stratified folds to show (default 5; 0 = none)")
                              ->check(integer_in(0, bounds::kMaxFolds));
                          sub.add_option("--seed", o->seed, "fold seed (default 0, as the paper)")
                              ->check(integer_in(0, bounds::kMaxSeed));
                          sub.add_option("--json", o->json_out, "also write subjects and folds as JSON to this file");
                          sub.add_flag("--skip-bad", o->skip_bad, "leave out subjects with problems instead of failing");
                          sub.add_flag("--require-seg", o->require_seg, "treat a missing segmentation as a problem");
                          return [o] { return run_dataset(*o); };
                        });

}  // namespace
}  // namespace mprotonet::cli
