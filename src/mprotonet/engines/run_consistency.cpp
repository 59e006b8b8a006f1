// SPDX-License-Identifier: MIT
// Run folder integrity: run.json structure, dataset vs run, writer locks (see run_consistency.h).
#include "mprotonet/engines/run_consistency.h"

#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/engines/run_folder.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {

namespace {

constexpr const char* kRunFormat = "mprotonet-run-1";

const json& field(const json& j, const std::string& path, const std::string& where) {
  const json* cur = &j;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    check(cur->is_object() && cur->contains(key), where + ": no field \"" + path + "\"");
    cur = &cur->at(key);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *cur;
}

std::string grade_name(int label) { return label == kLabelHGG ? "HGG" : label == kLabelLGG ? "LGG" : "no grade"; }

}  // namespace

void check_run_json(const json& run, const fs::path& run_json) {
  const std::string where = run_json.string() + " is not a run.json written by `mprotonet train`";
  check(run.is_object(), where + " (not a JSON object)");
  if (run.contains("format")) {
    const json& format = run.at("format");
    check(format.is_string() && format.get<std::string>() == kRunFormat,
          where + " (format is " + format.dump() + ", expected \"" + kRunFormat + "\")");
  }
  check(field(run, "model_name", where).is_string(), where + ": \"model_name\" is not a string");
  const json& spacing = field(run, "preprocess.spacing_mm", where);
  check(spacing.is_number() && spacing.get<double>() > 0, where + ": \"preprocess.spacing_mm\" is not a positive number");
  std::set<std::string> known;
  const bool has_subjects = run.contains("dataset") && run.at("dataset").is_object() && run.at("dataset").contains("ids");
  if (has_subjects) {
    const json& ids = field(run, "dataset.ids", where);
    const json& labels = field(run, "dataset.labels", where);
    check(ids.is_array() && labels.is_array() && ids.size() == labels.size() && !ids.empty(),
          where + ": \"dataset.ids\" and \"dataset.labels\" are not two arrays of the same, non-zero length");
    for (size_t i = 0; i < ids.size(); ++i) {
      check(ids[i].is_string() && known.insert(ids[i].get<std::string>()).second,
            where + ": dataset.ids[" + std::to_string(i) + "] is not a distinct subject id");
      check(labels[i].is_number_integer() && (labels[i].get<int64_t>() == kLabelHGG || labels[i].get<int64_t>() == kLabelLGG),
            where + ": dataset.labels[" + std::to_string(i) + "] is " + labels[i].dump() + ", expected 0 (LGG) or 1 (HGG)");
    }
  }
  const json& n = field(run, "folds.n", where);
  const json& tests = field(run, "folds.test_ids", where);
  check(n.is_number_integer() && n.get<int64_t>() >= 2, where + ": \"folds.n\" is not an integer >= 2");
  check(tests.is_array() && static_cast<int64_t>(tests.size()) == n.get<int64_t>(),
        where + ": \"folds.test_ids\" does not hold folds.n = " + n.dump() + " arrays");
  for (size_t k = 0; k < tests.size(); ++k) {
    check(tests[k].is_array(), where + ": folds.test_ids[" + std::to_string(k) + "] is not an array");
    for (const auto& id : tests[k])
      check(id.is_string() && (!has_subjects || known.count(id.get<std::string>())),
            where + ": folds.test_ids[" + std::to_string(k) + "] holds " + id.dump() +
                (has_subjects ? ", which is not in dataset.ids" : ", not a subject id"));
  }
}

void check_dataset_matches_run(const json& run, const Dataset& dataset, const fs::path& run_json) {
  check_run_json(run, run_json);
  std::map<std::string, int> grade_in_data;
  for (const auto& s : dataset.subjects) grade_in_data[s.files.id] = s.label;
  // The subjects and grades the run recorded (`train` records all; a run.json written by other
  // means may list only the test subjects, whose grades are then unknown).
  std::vector<std::pair<std::string, int>> recorded;
  if (run.contains("dataset") && run.at("dataset").is_object() && run.at("dataset").contains("ids")) {
    const json& ids = run.at("dataset").at("ids");
    for (size_t i = 0; i < ids.size(); ++i) recorded.emplace_back(ids[i].get<std::string>(), run.at("dataset").at("labels")[i].get<int>());
  } else {
    for (const auto& fold : run.at("folds").at("test_ids"))
      for (const auto& id : fold) recorded.emplace_back(id.get<std::string>(), kLabelUnknown);
  }
  std::vector<std::string> differing;
  for (const auto& [id, grade] : recorded) {
    const auto it = grade_in_data.find(id);
    if (it == grade_in_data.end())
      differing.push_back(id + " (not in the dataset)");
    else if (grade != kLabelUnknown && it->second != grade)
      differing.push_back(id + " (" + grade_name(it->second) + " in the dataset, " + grade_name(grade) + " in the run)");
  }
  if (differing.empty()) return;
  std::string list;
  for (size_t i = 0; i < differing.size() && i < 10; ++i) list += (i ? ", " : "") + differing[i];
  if (differing.size() > 10) list += " and " + std::to_string(differing.size() - 10) + " more";
  throw Error("the dataset " + dataset.root.string() + " is not the one the run " + run_json.string() + " was trained on: " +
              std::to_string(differing.size()) + " of its " + std::to_string(recorded.size()) +
              " subjects differ: " + list + "; give --data the run's dataset");
}

RunFolderLock::RunFolderLock(const fs::path& run_dir, int fold) {
  const std::string what = "run folder " + run_dir.string();
  run_ = std::make_unique<FolderLock>(run_dir / ".lock", what + (fold < 0 ? "" : " (needed for fold " + std::to_string(fold) + ")"),
                                      fold < 0 ? FolderLock::Mode::kExclusive : FolderLock::Mode::kShared);
  if (!run_->taken_over_from().empty())
    std::cerr << "[lock] " << what << ": taking over the lock left by " << run_->taken_over_from()
              << ", which no longer runs\n";
  settings_ = std::make_unique<FolderLock>(run_dir / ".lock-settings", "run.json of " + run_dir.string(),
                                           FolderLock::Mode::kExclusive, 60.0);
}

std::unique_ptr<FolderLock> lock_fold(const fs::path& run_dir, int fold) {
  const fs::path dir = RunFolder(run_dir).fold_dir(fold);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create folder " + dir.string() + ": " + ec.message());
  auto lock = std::make_unique<FolderLock>(dir / ".lock", "fold " + std::to_string(fold) + " of " + run_dir.string());
  if (!lock->taken_over_from().empty())
    std::cerr << "[lock] fold " << fold << " of " << run_dir.string() << ": taking over the lock left by "
              << lock->taken_over_from() << ", which no longer runs\n";
  return lock;
}

json preprocess_record(const PreprocessOptions& options, const std::array<int64_t, 3>& shape) {
  json record{{"spacing_mm", options.spacing_mm}, {"key", options.key()}, {"shape", shape}};
  if (options.grid != PreprocessGrid::kMillimetre) record["grid"] = to_string(options.grid);
  return record;
}

PreprocessOptions run_preprocess_options(const json& run) {
  PreprocessOptions options;
  options.spacing_mm = run.value(json::json_pointer("/preprocess/spacing_mm"), options.spacing_mm);
  options.grid = parse_preprocess_grid(run.value(json::json_pointer("/preprocess/grid"), to_string(options.grid)));
  return options;
}

}  // namespace mprotonet
