// SPDX-License-Identifier: MIT
// The paper's experiment pipeline (see experiment.h).
#include "mprotonet/engines/experiment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mprotonet/attribution/attribution.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/core/version.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/data/splits.h"
#include "mprotonet/engines/comparison.h"
#include "mprotonet/engines/cross_validation.h"
#include "mprotonet/engines/distributed.h"
#include "mprotonet/engines/evaluator.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/engines/report_builder.h"
#include "mprotonet/engines/run_folder.h"
#include "mprotonet/nets/model_config.h"

namespace mprotonet {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string>& paper_model_rows() {
  static const std::vector<std::string> rows{"CNN3D",           "MProtoNet3D_pm1", "MProtoNet3D_pm2",
                                             "MProtoNet3D_pm3", "MProtoNet3D_pm4", "MProtoNet3D_pm5"};
  return rows;
}

SyntheticOptions ExperimentOptions::default_synth() {
  SyntheticOptions s;
  s.cases = 80;
  s.hgg_fraction = 0.6;
  s.spacing = 2.0;
  return s;
}

ExperimentOptions ExperimentOptions::paper(const std::string& device) {
  ExperimentOptions o;
  o.device = device;
  o.spacing_mm = 1.5;
  o.folds = 5;
  o.epochs = 100;
  o.cnn_epochs = 100;
  o.last_layer_epochs = 10;
  o.push_interval = 10;
  o.batch_size = 32;
  o.features = "resnet152_ri";
  o.n_layers = 6;
  o.precision = device == "cpu" ? "fp32" : "bf16";
  o.augment = "af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0";
  o.recalibrate_bn = false;
  o.methods = "mprotonet,gradcam,guided-gradcam,deconvolution,occlusion";
  o.faithfulness_subjects = 0;
  o.mode = "full (paper settings)";
  o.command = "mprotonet demo --full";
  return o;
}

void validate(const ExperimentOptions& o) {
  auto positive = [](int64_t v, const char* name) {
    check(v >= 1, std::string(name) + " = " + std::to_string(v) + "; expected >= 1");
  };
  check(!o.out_dir.empty(), "experiment: no output folder");
  check(std::isfinite(o.spacing_mm) && o.spacing_mm > 0,
        "spacing = " + std::to_string(o.spacing_mm) + " mm; expected a positive number");
  check(o.folds >= 2 && o.folds <= 20, "folds = " + std::to_string(o.folds) + "; expected 2 to 20");
  positive(o.epochs, "epochs");
  positive(o.cnn_epochs, "cnn-epochs");
  positive(o.batch_size, "batch-size");
  check(o.last_layer_epochs >= 0, "last-layer-epochs = " + std::to_string(o.last_layer_epochs) + "; expected >= 0");
  check(o.push_interval >= 0, "push-interval = " + std::to_string(o.push_interval) + "; expected >= 0");
  check(o.faithfulness_subjects >= 0,
        "faithfulness-subjects = " + std::to_string(o.faithfulness_subjects) + "; expected >= 0");
  positive(o.faithfulness_steps, "faithfulness-steps");
  check(!o.models.empty(), "no model rows given");
  for (size_t i = 0; i < o.models.size(); ++i) {
    const auto& m = o.models[i];
    check(std::find(paper_model_rows().begin(), paper_model_rows().end(), m) != paper_model_rows().end() ||
              m == "MProtoNet3D_pm0",
          "unknown model row '" + m + "'; valid: CNN3D, MProtoNet3D_pm0 .. MProtoNet3D_pm5");
    check(std::find(o.models.begin(), o.models.begin() + static_cast<std::ptrdiff_t>(i), m) ==
              o.models.begin() + static_cast<std::ptrdiff_t>(i),
          "model row '" + m + "' is listed twice");
  }
  attribution::parse_map_methods(o.methods);  // Error listing the valid names
  parse_precision(resolve_precision(o.precision, o.device));
  parse_device(o.device);
  if (o.data_dir.empty()) validate(o.synth);
}

json to_json(const ExperimentOptions& o) {
  return {{"mode", o.mode},
          {"data", o.data_dir.empty() ? "synthetic" : o.data_dir.string()},
          {"synthetic_cases", o.data_dir.empty() ? json(o.synth.cases) : json()},
          {"spacing_mm", o.spacing_mm},
          {"folds", o.folds},
          {"seed", o.seed},
          {"epochs", o.epochs},
          {"cnn_epochs", o.cnn_epochs},
          {"last_layer_epochs", o.last_layer_epochs},
          {"push_interval", o.push_interval},
          {"batch_size", o.batch_size},
          {"features", o.features},
          {"n_layers", o.n_layers},
          {"precision", o.precision},
          {"device", o.device},
          {"augment", o.augment},
          {"recalibrate_bn", o.recalibrate_bn},
          {"methods", o.methods},
          {"missing_modalities", o.missing_modalities},
          {"faithfulness_subjects_per_fold", o.faithfulness_subjects},
          {"faithfulness_steps", o.faithfulness_steps},
          {"models", o.models},
          {"reference_model", o.reference_model}};
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string minutes(double s) {
  std::ostringstream o;
  const int total = static_cast<int>(std::max(0.0, s));
  o << total / 60 << "m" << std::setw(2) << std::setfill('0') << total % 60 << "s";
  return o.str();
}

bool prototype_row(const std::string& model) { return model != "CNN3D"; }

int64_t row_epochs(const ExperimentOptions& o, const std::string& model) {
  return prototype_row(model) ? o.epochs : o.cnn_epochs;
}

// Training cost of a row in "epoch units" (joint epochs plus last-layer epochs, which cost about
// a forward pass each, counted at a third of a joint epoch), for the ETA.
double row_cost(const ExperimentOptions& o, const std::string& model) {
  const double joint = static_cast<double>(row_epochs(o, model));
  if (!prototype_row(model)) return joint * o.folds;
  const double pushes = o.push_interval > 0 ? std::ceil(joint / static_cast<double>(o.push_interval)) : 1.0;
  return (joint + pushes * (0.3 + static_cast<double>(o.last_layer_epochs) / 3.0)) * o.folds;
}

CrossValidationOptions row_options(const ExperimentOptions& o, const fs::path& data, const std::string& model,
                                   int64_t batch_size) {
  CrossValidationOptions cv;
  cv.data_dir = data;
  cv.out_dir = o.out_dir / "runs" / model;
  cv.cache_dir = o.out_dir / "cache";
  cv.model_name = model;
  cv.features = o.features;
  cv.n_layers = o.n_layers;
  cv.spacing_mm = o.spacing_mm;
  cv.folds = o.folds;
  cv.seed = o.seed;
  cv.resume = true;  // a second run continues an interrupted one
  cv.train.epochs = row_epochs(o, model);
  cv.train.batch_size = batch_size;
  cv.train.precision = o.precision;
  cv.train.device = o.device;
  cv.train.augment = AugmentOptions::from_sequence(o.augment);
  cv.train.last_layer_epochs = o.last_layer_epochs;
  cv.train.push_interval = o.push_interval;
  cv.train.recalibrate_bn = o.recalibrate_bn;
  cv.train.seed = o.seed;
  return cv;
}

// evaluation.json exists and is newer than every fold's model file.
bool evaluation_up_to_date(const fs::path& run_dir, int folds) {
  std::error_code ec;
  const auto evaluated = fs::last_write_time(RunFolder(run_dir).evaluation_json(), ec);
  if (ec) return false;
  for (int k = 0; k < folds; ++k) {
    const auto trained = fs::last_write_time(RunFolder(run_dir).fold_model(k), ec);
    if (ec || trained > evaluated) return false;
  }
  return true;
}

// The training batch: the requested size, or the smallest training fold when that is smaller
// (drop-last batching would otherwise leave a fold with no batch at all).
int64_t effective_batch_size(const ExperimentOptions& o, const Dataset& ds, std::string& note) {
  int64_t smallest = -1;
  for (const auto& f : stratified_k_fold(ds.labels(), o.folds, o.seed))
    smallest = smallest < 0 ? static_cast<int64_t>(f.train.size()) : std::min(smallest, static_cast<int64_t>(f.train.size()));
  if (smallest >= o.batch_size) return o.batch_size;
  note = "batch size " + std::to_string(o.batch_size) + " is larger than the smallest training fold (" +
         std::to_string(smallest) + " subjects): training uses batches of " + std::to_string(smallest);
  return smallest;
}

}  // namespace

fs::path run_experiment(const ExperimentOptions& options) {
  ExperimentOptions o = options;
  o.precision = resolve_precision(o.precision, o.device);
  validate(o);
  // Data-parallel (distributed.h): every rank trains every row together; rank 0 alone writes the
  // cohort, the cache, the evaluations, the comparison and the report while the others wait.
  ProcessGroup* const group = process_group();
  const bool root = group == nullptr || group->is_root();
  std::function<void(const std::string&)> log = [](const std::string& line) { std::cerr << line << "\n"; };
  if (o.log) log = o.log;
  if (!root) log = [](const std::string&) {};
  if (options.precision == "auto")
    log("precision auto: " + o.precision +
        (o.precision == "bf16" ? " (the device computes bf16 natively)"
                               : " (this CPU has no native bf16, avx512_bf16 or amx_bf16: bf16 would be many times slower)"));
  std::ostream discard(nullptr);  // no buffer: output is dropped
  std::ostream& progress = root ? std::cerr : discard;
  const auto start = Clock::now();
  std::error_code ec;
  if (root) fs::create_directories(o.out_dir, ec);
  if (ec) throw Error("cannot create output folder " + o.out_dir.string() + ": " + ec.message());
  const int rows = static_cast<int>(o.models.size());
  const int stages = 4 + 2 * rows;
  int stage = 0;
  auto banner = [&](const std::string& what) {
    log("[demo " + std::to_string(++stage) + "/" + std::to_string(stages) + ", " + minutes(seconds_since(start)) + "] " +
        what);
  };
  json timing = json::object();

  // 1. Cohort.
  fs::path data = o.data_dir;
  auto t = Clock::now();
  if (group && !root) group->barrier(kWaitForRankZero);  // rank 0 writes the cohort and the cache
  if (data.empty()) {
    data = o.out_dir / "data";
    SyntheticOptions synth = o.synth;
    synth.seed = o.seed;
    banner("synthetic cohort: " + std::to_string(synth.cases) + " cases -> " + data.string());
    if (root) write_synthetic_cohort(data, synth, [&](int done, int total) {
      const double sec = seconds_since(t);
      std::cerr << "\r  " << done << "/" << total << " cases, " << static_cast<int>(sec) << " s, ETA "
                << static_cast<int>(sec / done * (total - done)) << " s   " << std::flush;
    });
    progress << "\n";
  } else {
    banner("dataset " + data.string());
  }
  timing["cohort"] = seconds_since(t);

  // 2. Preprocessing, shared by every row, the evaluations and the report.
  std::ostringstream sp;
  sp << o.spacing_mm;
  banner("preprocessing at " + sp.str() + " mm into " + (o.out_dir / "cache").string());
  t = Clock::now();
  const Dataset ds = discover_brats(data);
  CohortOptions copts;
  copts.preprocess.spacing_mm = o.spacing_mm;
  copts.cache_root = o.out_dir / "cache";
  const auto cohort = PreprocessedCohort::build(ds, copts, [&](int64_t done, int64_t total, const std::string&, bool) {
    progress << "\r  " << done << "/" << total << " subjects   " << std::flush;
  });
  progress << "\n";
  if (group && root) group->barrier(kWaitForRankZero);
  timing["preprocessing"] = seconds_since(t);
  std::string batch_note;
  const int64_t batch_size = effective_batch_size(o, ds, batch_note);
  if (!batch_note.empty()) log("  note: " + batch_note);
  const auto sh = cohort.shape();
  json demo{{"format", "mprotonet-demo-1"},
            {"mprotonet", build_info_json()},
            {"settings", to_json(o)},
            {"effective_batch_size", batch_size},
            {"notes", batch_note.empty() ? json::array() : json::array({batch_note})},
            {"dataset",
             {{"cases", cohort.size()},
              {"hgg", ds.count(kLabelHGG)},
              {"lgg", ds.count(kLabelLGG)},
              {"input_shape", {4, sh[0], sh[1], sh[2]}},
              {"spacing_mm", o.spacing_mm}}},
            {"runs", json::array()},
            {"seconds", timing}};
  auto save = [&] {
    if (!root) return;
    demo["seconds"] = timing;
    demo["seconds"]["total"] = seconds_since(start);
    write_text_atomically(o.out_dir / "demo.json", demo.dump(2) + "\n");
  };
  save();

  // 3. Each row: cross-validation, then its evaluation. The ETA of the rows left is the time
  // per epoch unit measured on the rows trained so far in this process.
  double total_cost = 0.0, cost_done = 0.0, train_seconds = 0.0;
  for (const auto& m : o.models) total_cost += row_cost(o, m);
  std::vector<fs::path> run_dirs;
  for (int r = 0; r < rows; ++r) {
    const auto& model = o.models[static_cast<size_t>(r)];
    const fs::path run_dir = o.out_dir / "runs" / model;
    run_dirs.push_back(run_dir);
    std::string eta;
    if (cost_done > 0 && train_seconds > 1.0)
      eta = ", ETA of the training left " + minutes(train_seconds / cost_done * (total_cost - cost_done));
    banner("row " + std::to_string(r + 1) + "/" + std::to_string(rows) + " " + nets::paper_row_name(model) + " (" + model +
           "): training " + std::to_string(o.folds) + " folds x " + std::to_string(row_epochs(o, model)) + " epochs (" +
           o.features + ", n_layers " + std::to_string(o.n_layers) + ", " + o.precision + ")" + eta);
    t = Clock::now();
    const auto result = run_cross_validation(row_options(o, data, model, batch_size));
    if (!root) continue;  // the next row's training (or the end); rank 0 evaluates meanwhile
    check(result.complete, "training " + model + " did not finish every fold");
    const double row_seconds = seconds_since(t);
    timing["train " + model] = row_seconds;
    // Rows found finished on disk took no time here; they do not enter the rate.
    if (row_seconds > 5.0) {
      train_seconds += row_seconds;
      cost_done += row_cost(o, model);
    } else {
      total_cost -= row_cost(o, model);
    }
    demo["runs"].push_back((fs::path("runs") / model).string());
    save();

    if (evaluation_up_to_date(run_dir, o.folds)) {
      banner("evaluation of " + model + " is up to date (" + RunFolder(run_dir).evaluation_json().string() + ")");
      continue;
    }
    banner("row " + std::to_string(r + 1) + "/" + std::to_string(rows) + ": evaluating " + model + " (" + o.methods + ")");
    t = Clock::now();
    EvaluationOptions e;
    e.run_dir = run_dir;
    e.data_dir = data;
    e.cache_dir = o.out_dir / "cache";
    e.methods = attribution::parse_map_methods(o.methods);
    e.faithfulness_subjects = o.faithfulness_subjects;
    e.missing_modalities = o.missing_modalities;
    e.faithfulness_options.steps = o.faithfulness_steps;
    e.precision = parse_precision(o.precision);
    e.device = parse_device(o.device);
    e.log = [&](const std::string& line) { log("  " + line); };
    evaluate_run(e);
    timing["evaluate " + model] = seconds_since(t);
    save();
  }

  if (!root) return o.out_dir / "report.html";  // written by rank 0

  // 4. MProtoNet C against every other row, paired per subject.
  const fs::path reference = o.out_dir / "runs" / o.reference_model;
  if (rows >= 2 && std::find(o.models.begin(), o.models.end(), o.reference_model) != o.models.end()) {
    banner("comparison: " + nets::paper_row_name(o.reference_model) + " against every other row, paired per subject");
    const json comparison = compare_runs(reference, run_dirs);
    write_text_atomically(o.out_dir / "comparison.json", comparison.dump(2) + "\n");
    write_text_atomically(o.out_dir / "comparison.md", comparison_markdown(comparison));
  } else {
    banner("comparison skipped (it needs " + o.reference_model + " and another row)");
    fs::remove(o.out_dir / "comparison.json", ec);
    fs::remove(o.out_dir / "comparison.md", ec);
  }

  // 5. Report.
  banner("report");
  t = Clock::now();
  ReportOptions ro;
  ro.dir = o.out_dir;
  ro.data_dir = data;
  ro.cache_dir = o.out_dir / "cache";
  ro.cases = o.report_cases;
  ro.title = o.data_dir.empty() ? "MProtoNet on the synthetic cohort" : "MProtoNet results";
  std::ostringstream job;
  job << minutes(seconds_since(start)) << " before the report (cohort " << static_cast<int>(timing["cohort"].get<double>())
      << " s, preprocessing " << static_cast<int>(timing["preprocessing"].get<double>()) << " s)";
  ro.extra_settings = {{"data", o.data_dir.empty() ? "built-in synthetic cohort (" + std::to_string(o.synth.cases) +
                                                         " cases, seed " + std::to_string(o.seed) + ")"
                                                   : o.data_dir.string()},
                       {"job wall time", job.str()},
                       {"command", o.command}};
  if (!batch_note.empty()) ro.extra_settings.emplace_back("note", batch_note);
  ro.log = [&](const std::string& line) { log("  " + line); };
  const fs::path report = write_report(ro);
  timing["report"] = seconds_since(t);
  save();
  log("demo finished in " + minutes(seconds_since(start)));
  return report;
}

}  // namespace mprotonet
