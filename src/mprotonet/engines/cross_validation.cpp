// SPDX-License-Identifier: MIT
// Cross-validation driver and result aggregation (see cross_validation.h).
#include "mprotonet/engines/cross_validation.h"

#include <chrono>
#include <cmath>
#include <map>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/core/version.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/data/splits.h"
#include "mprotonet/engines/distributed.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/engines/run_consistency.h"
#include "mprotonet/engines/run_folder.h"
#include "mprotonet/nets/model_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {

CrossValidationOptions::CrossValidationOptions() : model_overrides(json::object()) {}

namespace {

constexpr const char* kRunFormat = "mprotonet-run-1";


int p_mode_of(const std::string& model_name) {
  if (model_name == "CNN3D") return -1;
  const std::string prefix = "MProtoNet3D_pm";
  if (model_name.size() == prefix.size() + 1 && model_name.rfind(prefix, 0) == 0) {
    const char d = model_name.back();
    if (d >= '0' && d <= '5') return d - '0';
  }
  throw Error("unknown --model-name '" + model_name +
              "'; valid: CNN3D, MProtoNet3D_pm0 .. MProtoNet3D_pm5 (pm5 = MProtoNet C, the paper's best)");
}

// The part of run.json that must agree between jobs writing into the same run folder.
json comparable_run_info(json info) {
  for (const char* k : {"device", "loader_workers", "threads", "eval_batch_size", "eval_interval"}) info["train"].erase(std::string(k));
  info.erase(std::string("cache_dir"));
  info.erase(std::string("distributed"));  // a run may continue on another number of processes
  info.erase(std::string("mprotonet"));  // the build that started the run; a later build may resume it
  return info;
}

FoldResult read_fold_result(const fs::path& run_dir, int k) {
  const fs::path path = RunFolder(run_dir).fold_predictions(k);
  return with_context("while reading " + path.string(), [&] {
    const json j = json::parse(read_text_file(path));
    FoldResult r;
    r.fold = j.at("fold").get<int>();
    check(r.fold == k, "fold field is " + std::to_string(r.fold) + "; expected " + std::to_string(k));
    r.train_seconds = j.value("train_seconds", 0.0);
    for (const auto& p : j.at("predictions")) {
      SubjectPrediction s;
      s.id = p.at("id").get<std::string>();
      s.index = p.at("index").get<int64_t>();
      s.label = p.at("label").get<int>();
      s.probability = p.at("probabilities").get<std::array<double, 2>>();
      s.prediction = p.at("prediction").get<int>();
      r.predictions.push_back(s);
    }
    r.metrics = metrics_of(r.predictions);
    return r;
  });
}

std::string fmt3(double v) {
  if (std::isnan(v)) return "n/a";
  std::ostringstream s;
  s << std::fixed << std::setprecision(3) << v;
  return s.str();
}

void write_results(const fs::path& run_dir, const std::vector<FoldResult>& folds, const json& run_info) {
  const json results = results_json(folds, run_info);
  write_text_atomically(RunFolder(run_dir).results_json(), results.dump(2) + "\n");
  write_text_atomically(RunFolder(run_dir).results_md(), results_markdown(results));
}

}  // namespace

nets::ModelConfig run_model_config(const CrossValidationOptions& o, const std::array<int64_t, 3>& shape) {
  return with_context("while configuring model " + o.model_name, [&] {
    const int p_mode = p_mode_of(o.model_name);
    json j = nets::model_config_to_json(nets::ModelConfig::paper(p_mode));
    j["model_name"] = o.model_name;
    j["features"] = o.features;
    j["n_layers"] = o.n_layers;
    if (!o.model_overrides.is_null()) {
      check(o.model_overrides.is_object(), "model overrides must be a JSON object, got " + o.model_overrides.dump());
      for (auto it = o.model_overrides.begin(); it != o.model_overrides.end(); ++it) j[it.key()] = it.value();
    }
    j["in_size"] = {kNumModalities, shape[0], shape[1], shape[2]};
    return nets::model_config_from_json(j, "the run options");
  });
}

json results_json(const std::vector<FoldResult>& folds, const json& run_info) {
  json per_fold = json::array();
  std::map<std::string, std::vector<double>> values;
  for (const auto& f : folds) {
    json m = to_json(f.metrics);
    m["fold"] = f.fold;
    m["train_seconds"] = f.train_seconds;
    per_fold.push_back(m);
    for (const auto& name : metric_names()) values[name].push_back(metric_value(f.metrics, name));
  }
  json mean = json::object(), sd = json::object();
  for (const auto& name : metric_names()) {
    const auto s = summarize(values[name]);
    mean[name] = std::isfinite(s.mean) ? json(s.mean) : json(nullptr);
    sd[name] = std::isfinite(s.std) ? json(s.std) : json(nullptr);
  }
  json r{{"model_name", run_info.value("model_name", "")},
         {"n_folds", folds.size()},
         {"folds", per_fold},
         {"mean", mean},
         {"std", sd},
         {"std_kind", "population (numpy default, ddof 0)"}};
  return r;
}

std::string results_markdown(const json& results) {
  std::ostringstream md;
  md << "# Cross-validation results: " << results.value("model_name", "") << "\n\n";
  md << "| fold | subjects | accuracy | BAC | sensitivity | specificity | AUC |\n";
  md << "|---|---|---|---|---|---|---|\n";
  auto cell = [](const json& j, const char* k) { return j.at(k).is_null() ? std::string("n/a") : fmt3(j.at(k).get<double>()); };
  for (const auto& f : results.at("folds"))
    md << "| " << f.at("fold").get<int>() << " | " << f.at("count").get<int64_t>() << " | " << cell(f, "accuracy") << " | "
       << cell(f, "bac") << " | " << cell(f, "sensitivity") << " | " << cell(f, "specificity") << " | " << cell(f, "auc")
       << " |\n";
  md << "| mean ± std | |";
  for (const auto& name : metric_names())
    md << " " << cell(results.at("mean"), name.c_str()) << " ± " << cell(results.at("std"), name.c_str()) << " |";
  md << "\n";
  return md.str();
}

json merge_run(const fs::path& run_dir) {
  return with_context("while merging the folds of " + run_dir.string(), [&] {
    const fs::path run_json = RunFolder(run_dir).run_json();
    check(fs::exists(run_json), run_json.string() + " does not exist; expected a run folder written by `mprotonet train`");
    const json info = json::parse(read_text_file(run_json));
    const int n = info.at("folds").at("n").get<int>();
    std::vector<FoldResult> folds;
    std::string missing;
    for (int k = 0; k < n; ++k) {
      if (!fs::exists(RunFolder(run_dir).fold_predictions(k))) {
        missing += (missing.empty() ? "" : ", ") + std::to_string(k);
        continue;
      }
      folds.push_back(read_fold_result(run_dir, k));
    }
    check(missing.empty(), "fold(s) " + missing + " of " + std::to_string(n) +
                               " have no test_predictions.json yet; run `mprotonet train ... --fold K` for them first");
    write_results(run_dir, folds, info);
    return results_json(folds, info);
  });
}

namespace {

// A rank other than 0 of a data-parallel run: trains the folds rank 0 trains (rank 0 says which,
// fold by fold), writes nothing. Errors of rank 0 (a run folder with other settings, a finished
// fold without --resume) reach this rank as a lost connection.
CrossValidationResult train_other_rank(const CrossValidationOptions& o, ProcessGroup& group, const nets::ModelConfig& config,
                                       const TrainOptions& topts, const PreprocessedCohort& cohort,
                                       const std::vector<Fold>& folds) {
  CrossValidationResult result;
  for (int k = 0; k < o.folds; ++k) {
    if (o.fold >= 0 && k != o.fold) continue;
    if (group.broadcast_value(0) != 0) continue;  // finished before: rank 0 skips it too
    const auto& f = folds[static_cast<size_t>(k)];
    FoldTrainResult tr = with_context("while training fold " + std::to_string(k), [&] {
      return train_fold(config, topts, cohort, f.train, f.test, RunFolder(o.out_dir).fold_dir(k), k, o.resume);
    });
    if (!tr.completed) {
      result.interrupted = true;
      return result;
    }
    check_same_weights(group, *tr.model);
  }
  return result;
}

}  // namespace

CrossValidationResult run_cross_validation(const CrossValidationOptions& options) {
  CrossValidationOptions o = options;
  o.train.precision = resolve_precision(o.train.precision, o.train.device);  // "auto", recorded as chosen
  check(!o.data_dir.empty(), "train: --data is required");
  check(!o.out_dir.empty(), "train: --out is required");
  check(o.folds >= 2, "train: --folds must be >= 2, got " + std::to_string(o.folds));
  check(o.fold >= -1 && o.fold < o.folds,
        "train: --fold " + std::to_string(o.fold) + " is outside 0.." + std::to_string(o.folds - 1) + " (folds count from 0)");
  validate_train_options(o.train);  // before anything is written (a refused run leaves no run.json)
  // Data-parallel (distributed.h): every rank trains; rank 0 alone preprocesses first, evaluates
  // and writes; the others only train, each on its part of every batch.
  ProcessGroup* const group = process_group();
  // Several processes on one machine share its cores (torchrun's LOCAL_WORLD_SIZE).
  const int threads = set_torch_threads(
      o.train.threads == 0 && group != nullptr
          ? std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / group->environment().local_world_size)
          : o.train.threads);
  TrainOptions topts = o.train;
  topts.seed = o.seed;
  const bool root = group == nullptr || group->is_root();
  if (!root) topts.verbose = false;
  const bool verbose = topts.verbose;
  const int p_mode = p_mode_of(o.model_name);

  // Dataset and the cached, preprocessed cohort.
  const Dataset ds = with_context("while discovering the dataset in " + o.data_dir.string(),
                                  [&] { return discover_brats(o.data_dir, DatasetOptions{}); });
  const int n_hgg = ds.count(kLabelHGG), n_lgg = ds.count(kLabelLGG);
  check(n_hgg > 0 && n_lgg > 0, "the dataset " + o.data_dir.string() + " has one class only (" + std::to_string(n_hgg) +
                                    " HGG, " + std::to_string(n_lgg) + " LGG); training and the metrics need both classes");
  check(static_cast<int>(ds.subjects.size()) >= o.folds,
        "the dataset " + o.data_dir.string() + " has " + std::to_string(ds.subjects.size()) + " subjects, fewer than --folds " +
            std::to_string(o.folds));
  check(std::min(n_hgg, n_lgg) >= o.folds,
        "the dataset " + o.data_dir.string() + " has " + std::to_string(std::min(n_hgg, n_lgg)) + " " +
            (n_hgg < n_lgg ? "HGG" : "LGG") + " subjects, fewer than --folds " + std::to_string(o.folds) +
            "; every test fold needs both classes");
  CohortOptions copts;
  copts.preprocess.spacing_mm = o.spacing_mm;
  copts.preprocess.grid = o.preprocess_grid;
  copts.cache_root = o.cache_dir.empty() ? default_cache_root() : o.cache_dir;
  copts.threads = o.preprocess_threads;
  copts.with_seg = true;
  const auto t_pre = std::chrono::steady_clock::now();
  // Rank 0 fills the cache; the others then find it complete (no duplicated preprocessing).
  if (group && !root) group->barrier(kWaitForRankZero);
  const PreprocessedCohort cohort = PreprocessedCohort::build(ds, copts);
  if (group && root) group->barrier(kWaitForRankZero);
  const auto shape = cohort.shape();
  if (verbose)
    std::cerr << "[data] " << cohort.size() << " subjects (" << n_hgg << " HGG, " << n_lgg << " LGG), " << shape[0] << "x"
              << shape[1] << "x" << shape[2] << " at " << o.spacing_mm << " mm; " << cohort.computed()
              << " preprocessed now ("
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t_pre).count() << " s), cache "
              << cohort.cache_dir().string() << "; torch threads " << threads << "\n";
  const nets::ModelConfig config = run_model_config(o, shape);
  const std::vector<Fold> folds = stratified_k_fold(cohort.labels(), o.folds, o.seed);

  // run.json: every setting, the dataset and the folds.
  json ids = json::array(), labels = json::array();
  for (int64_t i = 0; i < cohort.size(); ++i) {
    ids.push_back(cohort.id(i));
    labels.push_back(cohort.label(i));
  }
  json fold_ids = json::array();
  for (const auto& f : folds) {
    json t = json::array();
    for (int64_t i : f.test) t.push_back(cohort.id(i));
    fold_ids.push_back(t);
  }
  LossOptions effective_loss = topts.loss ? *topts.loss : (p_mode >= 0 ? LossOptions::for_p_mode(p_mode) : LossOptions{});
  json loss_j;
  to_json(loss_j, effective_loss);
  json info{{"format", kRunFormat},
            {"model_name", o.model_name},
            {"model_config", nets::model_config_to_json(config)},
            {"train", to_json(topts)},
            {"loss", loss_j},
            {"seed", o.seed},
            {"preprocess", preprocess_record(copts.preprocess, shape)},
            {"cache_dir", cohort.cache_dir().string()},
            {"data_dir", fs::absolute(o.data_dir).lexically_normal().string()},
            {"dataset",
             {{"subjects", cohort.size()},
              {"hgg", n_hgg},
              {"lgg", n_lgg},
              {"grade_source", ds.grade_source},
              {"ids", ids},
              {"labels", labels}}},
            {"folds", {{"n", o.folds}, {"seed", o.seed}, {"method", "StratifiedKFold(shuffle=True)"}, {"test_ids", fold_ids}}},
            {"distributed", distributed_info(topts.batch_size)}};
  if (!root) return train_other_rank(o, *group, config, topts, cohort, folds);
  fs::create_directories(o.out_dir);
  RunFolderLock run_lock(o.out_dir, o.fold);  // one writer per run / fold (run_consistency.h)
  const fs::path run_json = RunFolder(o.out_dir).run_json();
  if (fs::exists(run_json)) {
    const json old = json::parse(read_text_file(run_json));
    const json a = comparable_run_info(old), b = comparable_run_info(info);
    if (a != b) {
      std::string diff;
      for (auto it = b.begin(); it != b.end(); ++it)
        if (!a.contains(it.key()) || a.at(it.key()) != it.value()) diff += (diff.empty() ? "" : ", ") + it.key();
      throw Error(run_json.string() + " holds a run with different settings (" + diff +
                  " differ); choose another --out or repeat the original options");
    }
  } else {
    info["mprotonet"] = build_info_json();  // the code that started the run (core/version.h)
    write_text_atomically(run_json, info.dump(2) + "\n");
  }
  run_lock.settings_written();

  CrossValidationResult result;
  for (int k = 0; k < o.folds; ++k) {
    if (o.fold >= 0 && k != o.fold) continue;
    const fs::path dir = RunFolder(o.out_dir).fold_dir(k);
    const bool finished = fs::exists(RunFolder(o.out_dir).fold_predictions(k));
    if (group) group->broadcast_value(finished ? 1 : 0);  // the other ranks follow rank 0 (train_other_rank)
    if (finished) {
      check(o.resume, "fold " + std::to_string(k) + " in " + o.out_dir.string() +
                          " is already finished; use --resume to skip finished folds, or choose another --out");
      if (o.train.verbose) std::cerr << "[fold " << k << "] already finished, skipped\n";
      result.folds.push_back(read_fold_result(o.out_dir, k));
      continue;
    }
    const auto fold_lock = lock_fold(o.out_dir, k);
    const auto& f = folds[static_cast<size_t>(k)];
    if (o.train.verbose)
      std::cerr << "[fold " << k << "] " << f.train.size() << " training, " << f.test.size() << " test subjects; "
                << o.model_name << " (" << config.features << ", n_layers " << config.n_layers << ", input "
                << shape[0] << "x" << shape[1] << "x" << shape[2] << ")\n";
    const auto t0 = std::chrono::steady_clock::now();
    FoldTrainResult tr = with_context("while training fold " + std::to_string(k), [&] {
      return train_fold(config, topts, cohort, f.train, f.test, dir, k, o.resume);
    });
    if (!tr.completed) {
      result.interrupted = true;
      return result;
    }
    json dist = distributed_info(topts.batch_size);
    if (group) dist["weights_digests"] = check_same_weights(*group, *tr.model);  // bitwise equal on every rank
    FoldResult fr;
    fr.fold = k;
    for (const auto& h : tr.history) fr.train_seconds += h.seconds;
    (void)t0;
    const int64_t eval_bs = topts.eval_batch_size > 0 ? topts.eval_batch_size : topts.batch_size;
    fr.predictions = predict(*tr.model, cohort, f.test, eval_bs, parse_device(topts.device), topts.precision);
    fr.metrics = metrics_of(fr.predictions);
    nets::save_model_file(RunFolder(o.out_dir).fold_model(k), *tr.model, tr.push ? to_json(*tr.push).dump() : "null");
    json pj{{"fold", k},
            {"model_name", o.model_name},
            {"metrics", to_json(fr.metrics)},
            {"train_seconds", fr.train_seconds},
            {"distributed", dist},
            {"predictions", to_json(fr.predictions)}};
    write_text_atomically(RunFolder(o.out_dir).fold_predictions(k), pj.dump(2) + "\n");
    std::error_code ec;
    fs::remove(checkpoint_path(dir), ec);
    if (o.train.verbose)
      std::cerr << "[fold " << k << "] test: accuracy " << fmt3(fr.metrics.accuracy) << ", BAC "
                << fmt3(fr.metrics.balanced_accuracy) << ", sensitivity " << fmt3(fr.metrics.sensitivity)
                << ", specificity " << fmt3(fr.metrics.specificity) << ", AUC " << fmt3(fr.metrics.auc) << " ("
                << fmt3(fr.train_seconds) << " s training)\n";
    result.folds.push_back(fr);
  }

  // Aggregate when every fold is finished (also folds run earlier as separate jobs).
  bool all = true;
  for (int k = 0; k < o.folds; ++k) all = all && fs::exists(RunFolder(o.out_dir).fold_predictions(k));
  if (all) {
    std::vector<FoldResult> every;
    for (int k = 0; k < o.folds; ++k) every.push_back(read_fold_result(o.out_dir, k));
    write_results(o.out_dir, every, info);
    result.complete = true;
  }
  return result;
}

}  // namespace mprotonet
