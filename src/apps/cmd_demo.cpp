// SPDX-License-Identifier: MIT
// `mprotonet demo`: the main job. On the built-in synthetic cohort (default) or a BraTS folder
// (--data): build the cohort, preprocess it into the cache, cross-validate MProtoNet C
// (MProtoNet3D_pm5) and the CNN + GradCAM baseline (CNN3D), evaluate both (classification,
// missing modalities, AP / DSC, IDS / IAS, significance) and write report.html. Re-running the
// same command continues where it stopped (finished folds and evaluations are kept).
//
// The default settings are sized for a 2-core CPU (the whole job in about 10 minutes): 80 cases
// at 4 mm (48 x 48 x 36), resnet18_ri with n_layers 5, 3 folds, 24 epochs (12 for the CNN), bf16 autocast,
// BatchNorm recalibration, deletion / addition on 4 subjects per fold. `--full` runs the paper's
// six rows with the paper's settings (SPEC 9) on --data, for a GPU machine.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/core/version.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/data/splits.h"
#include "mprotonet/data/synthetic.h"
#include "mprotonet/engines/cross_validation.h"
#include "mprotonet/engines/evaluator.h"
#include "mprotonet/report/html.h"
#include "mprotonet/report/png.h"

namespace fs = std::filesystem;

namespace mprotonet::cli {
namespace {

struct DemoCommand {
  fs::path out = "demo-run";
  fs::path data;  // a BraTS folder instead of the synthetic cohort
  bool full = false;
  SyntheticOptions synth;
  double spacing = 4.0;
  int folds = 3;
  uint32_t seed = 0;
  int64_t epochs = 24;      // joint epochs of the prototype models
  int64_t cnn_epochs = 12;  // epochs of CNN3D (it converges faster; SPEC 9 uses 100 for every row)
  int64_t batch_size = 8;
  std::string features = "resnet18_ri";
  int64_t n_layers = 5;
  std::string precision = "bf16";
  std::string device = "cpu";
  std::string augment = "fl0";
  int64_t last_layer_epochs = 5;
  bool recalibrate_bn = true;
  std::string methods = "mprotonet,gradcam";
  int64_t faithfulness_subjects = 4;
  std::vector<std::string> models{"MProtoNet3D_pm5", "CNN3D"};
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string minutes(double s) {
  std::ostringstream o;
  o << static_cast<int>(s) / 60 << "m" << std::setw(2) << std::setfill('0') << static_cast<int>(s) % 60 << "s";
  return o.str();
}

// The paper's rows and settings (SPEC 9): resnet152_ri, n_layers 6, batch 32, 100 epochs,
// 1.5 mm (128 x 128 x 96), 5 folds, the full augmentation, all five attribution methods.
void apply_full(DemoCommand& o) {
  o.spacing = 1.5;
  o.folds = 5;
  o.epochs = 100;
  o.cnn_epochs = 100;
  o.batch_size = 32;
  o.features = "resnet152_ri";
  o.n_layers = 6;
  o.precision = o.device == "cpu" ? "fp32" : "bf16";
  o.augment = "af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0";
  o.last_layer_epochs = 10;
  o.recalibrate_bn = false;
  o.methods = "mprotonet,gradcam,guided-gradcam,deconvolution,occlusion";
  o.faithfulness_subjects = 0;
  o.models = {"CNN3D", "MProtoNet3D_pm1", "MProtoNet3D_pm2", "MProtoNet3D_pm3", "MProtoNet3D_pm4", "MProtoNet3D_pm5"};
}

CrossValidationOptions training_options(const DemoCommand& o, const fs::path& data, const std::string& model) {
  CrossValidationOptions cv;
  cv.data_dir = data;
  cv.out_dir = o.out / "runs" / model;
  cv.cache_dir = o.out / "cache";
  cv.model_name = model;
  cv.features = o.features;
  cv.n_layers = o.n_layers;
  cv.spacing_mm = o.spacing;
  cv.folds = o.folds;
  cv.seed = o.seed;
  cv.resume = true;  // a second `demo` continues an interrupted one
  cv.train.epochs = model == "CNN3D" ? o.cnn_epochs : o.epochs;
  cv.train.batch_size = o.batch_size;
  cv.train.precision = o.precision;
  cv.train.device = o.device;
  cv.train.augment = AugmentOptions::from_sequence(o.augment);
  cv.train.last_layer_epochs = o.last_layer_epochs;
  cv.train.push_interval = o.full ? 10 : 0;  // demo: one push, after the last joint epoch
  cv.train.recalibrate_bn = o.recalibrate_bn;
  cv.train.seed = o.seed;
  return cv;
}

// evaluation.json exists and is newer than every fold's model file.
bool evaluation_up_to_date(const fs::path& run_dir, int folds) {
  std::error_code ec;
  const auto evaluated = fs::last_write_time(run_dir / "evaluation.json", ec);
  if (ec) return false;
  for (int k = 0; k < folds; ++k) {
    const auto trained = fs::last_write_time(run_dir / ("fold_" + std::to_string(k)) / "model.mpn", ec);
    if (ec || trained > evaluated) return false;
  }
  return true;
}

nlohmann::json settings_json(const DemoCommand& o) {
  return {{"mode", o.full ? "full (paper settings)" : "demo (CPU-sized)"},
          {"data", o.data.empty() ? "synthetic" : o.data.string()},
          {"spacing_mm", o.spacing},
          {"folds", o.folds},
          {"seed", o.seed},
          {"epochs", o.epochs},
          {"cnn_epochs", o.cnn_epochs},
          {"batch_size", o.batch_size},
          {"features", o.features},
          {"n_layers", o.n_layers},
          {"precision", o.precision},
          {"device", o.device},
          {"augment", o.augment},
          {"last_layer_epochs", o.last_layer_epochs},
          {"recalibrate_bn", o.recalibrate_bn},
          {"methods", o.methods},
          {"faithfulness_subjects_per_fold", o.faithfulness_subjects},
          {"models", o.models}};
}

int run_demo(DemoCommand o) {
  if (o.full) apply_full(o);
  const auto start = Clock::now();
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) throw Error("cannot create output folder " + o.out.string() + ": " + ec.message());
  const int stages = 3 + 2 * static_cast<int>(o.models.size());
  int stage = 0;
  auto banner = [&](const std::string& what) {
    std::cerr << "[demo " << ++stage << "/" << stages << ", " << minutes(seconds_since(start)) << "] " << what << "\n";
  };
  nlohmann::json timing = nlohmann::json::object();

  // 1. Cohort.
  fs::path data = o.data;
  auto t = Clock::now();
  if (data.empty()) {
    data = o.out / "data";
    banner("synthetic cohort: " + std::to_string(o.synth.cases) + " cases -> " + data.string());
    write_synthetic_cohort(data, o.synth, [&](int done, int total) {
      const double sec = seconds_since(t);
      std::cerr << "\r  " << done << "/" << total << " cases, " << static_cast<int>(sec) << " s, ETA "
                << static_cast<int>(sec / done * (total - done)) << " s   " << std::flush;
    });
    std::cerr << "\n";
  } else {
    banner("dataset " + data.string());
  }
  timing["cohort"] = seconds_since(t);

  // 2. Preprocessing (the cache is shared by both models and the evaluation).
  banner("preprocessing at " + std::to_string(o.spacing).substr(0, 4) + " mm into " + (o.out / "cache").string());
  t = Clock::now();
  const Dataset ds = discover_brats(data);
  CohortOptions copts;
  copts.preprocess.spacing_mm = o.spacing;
  copts.cache_root = o.out / "cache";
  const auto cohort = PreprocessedCohort::build(ds, copts, [&](int64_t done, int64_t total, const std::string&, bool) {
    std::cerr << "\r  " << done << "/" << total << " subjects   " << std::flush;
  });
  std::cerr << "\n";
  timing["preprocessing"] = seconds_since(t);
  const auto sh = cohort.shape();
  nlohmann::json demo{{"format", "mprotonet-demo-1"},
                      {"mprotonet", build_info_json()},
                      {"settings", settings_json(o)},
                      {"dataset",
                       {{"cases", cohort.size()},
                        {"hgg", ds.count(kLabelHGG)},
                        {"lgg", ds.count(kLabelLGG)},
                        {"input_shape", {4, sh[0], sh[1], sh[2]}},
                        {"spacing_mm", o.spacing}}},
                      {"runs", nlohmann::json::array()},
                      {"seconds", timing}};
  auto save = [&] {
    demo["seconds"] = timing;
    demo["seconds"]["total"] = seconds_since(start);
    write_text_atomically(o.out / "demo.json", demo.dump(2) + "\n");
  };

  // 3. Cross-validation of each model row, then its evaluation.
  for (const auto& model : o.models) {
    banner("training " + model + ": " + std::to_string(o.folds) + " folds x " +
           std::to_string(model == "CNN3D" ? o.cnn_epochs : o.epochs) + " epochs (" +
           o.features + ", n_layers " + std::to_string(o.n_layers) + ", " + o.precision + ")");
    t = Clock::now();
    const auto result = run_cross_validation(training_options(o, data, model));
    check(result.complete, "training " + model + " did not finish every fold");
    timing["train " + model] = seconds_since(t);
    demo["runs"].push_back((fs::path("runs") / model).string());
    save();
  }
  for (const auto& model : o.models) {
    const fs::path run_dir = o.out / "runs" / model;
    if (evaluation_up_to_date(run_dir, o.folds)) {
      banner("evaluation of " + model + " is up to date (" + (run_dir / "evaluation.json").string() + ")");
      continue;
    }
    banner("evaluating " + model + " (" + o.methods + ")");
    t = Clock::now();
    EvaluationOptions e;
    e.run_dir = o.out / "runs" / model;
    e.data_dir = data;
    e.cache_dir = o.out / "cache";
    e.methods = attribution::parse_map_methods(o.methods);
    e.faithfulness_subjects = o.faithfulness_subjects;
    e.precision = parse_precision(o.precision);
    e.device = parse_device(o.device);
    e.log = [](const std::string& line) { std::cerr << "  " << line << "\n"; };
    evaluate_run(e);
    timing["evaluate " + model] = seconds_since(t);
    save();
  }

  // 4. Report.
  banner("report");
  t = Clock::now();
  ReportOptions ro;
  ro.dir = o.out;
  ro.data_dir = data;
  ro.cache_dir = o.out / "cache";
  ro.title = o.data.empty() ? "MProtoNet on the synthetic cohort" : "MProtoNet results";
  std::ostringstream job;
  job << minutes(seconds_since(start)) << " before the report (cohort " << static_cast<int>(timing["cohort"].get<double>())
      << " s, preprocessing " << static_cast<int>(timing["preprocessing"].get<double>()) << " s)";
  ro.extra_settings = {{"data", o.data.empty() ? "built-in synthetic cohort (" + std::to_string(o.synth.cases) +
                                                     " cases, seed " + std::to_string(o.seed) + ")"
                                               : o.data.string()},
                       {"job wall time", job.str()},
                       {"command", o.full ? "mprotonet demo --full" : "mprotonet demo"}};
  ro.log = [](const std::string& line) { std::cerr << "  " << line << "\n"; };
  const fs::path report = write_report(ro);
  timing["report"] = seconds_since(t);
  save();
  std::cout << "demo finished in " << minutes(seconds_since(start)) << ": open " << report.string() << "\n";
  return 0;
}

CommandRegistration register_demo(
    "demo",
    "The main job: synthetic cohort (or --data), train MProtoNet C and the CNN, evaluate both, write report.html",
    [](CLI::App& sub) -> Action {
      auto o = std::make_shared<DemoCommand>();
      o->synth.cases = 80;
      o->synth.hgg_fraction = 0.6;
      o->synth.spacing = 2.0;
      sub.add_option("--out", o->out, "output folder (default demo-run); run the command again to continue");
      sub.add_option("--data", o->data, "BraTS 2020-layout folder to use instead of the synthetic cohort")
          ->check(CLI::ExistingDirectory);
      sub.add_flag("--full", o->full,
                   "the paper's six rows with the paper's settings (1.5 mm, resnet152_ri, 5 folds, 100 epochs, all "
                   "methods); needs --data; meant for a GPU (--device cuda)");
      sub.add_option("--cases", o->synth.cases, "synthetic cases (default 80)")->check(CLI::Range(6, 100000));
      sub.add_option("--hgg-fraction", o->synth.hgg_fraction, "fraction of HGG synthetic cases (default 0.6)")
          ->check(CLI::Range(0.05, 0.95));
      sub.add_option("--seed", o->seed, "seed of the cohort, the folds and training (default 0)");
      sub.add_option("--synth-spacing", o->synth.spacing, "voxel size of the generated volumes in mm (default 2)")
          ->check(CLI::PositiveNumber);
      sub.add_option("--spacing", o->spacing, "preprocessed voxel size in mm (default 4 -> 48x48x36)")
          ->check(CLI::PositiveNumber);
      sub.add_option("--folds", o->folds, "cross-validation folds (default 3)")->check(CLI::Range(2, 20));
      sub.add_option("--epochs", o->epochs, "joint epochs per fold of MProtoNet (default 24)")->check(CLI::PositiveNumber);
      sub.add_option("--cnn-epochs", o->cnn_epochs, "epochs per fold of the CNN (default 12)")->check(CLI::PositiveNumber);
      sub.add_option("--batch-size", o->batch_size, "subjects per batch (default 8)")->check(CLI::PositiveNumber);
      sub.add_option("--precision", o->precision, "fp32 or bf16 autocast (default bf16)");
      sub.add_option("--device", o->device, "cpu or cuda (default cpu)");
      sub.add_option("--faithfulness-subjects", o->faithfulness_subjects,
                     "deletion / addition on at most N test subjects per fold (default 4; 0 = all)")
          ->check(CLI::NonNegativeNumber);
      return [o] {
        check(!o->full || !o->data.empty(), "--full needs --data: the paper's settings are meant for BraTS 2020");
        o->synth.seed = o->seed;
        // Keep the generated field of view at BraTS size (240 x 240 x 155 mm).
        o->synth.shape = {static_cast<int64_t>(std::lround(240 / o->synth.spacing)),
                          static_cast<int64_t>(std::lround(240 / o->synth.spacing)),
                          static_cast<int64_t>(std::lround(155 / o->synth.spacing))};
        return run_demo(*o);
      };
    });

}  // namespace
}  // namespace mprotonet::cli
