// SPDX-License-Identifier: MIT
// `mprotonet demo`: the main job, the paper's experiment (engines/experiment.h). On the built-in
// synthetic cohort (default) or a BraTS folder (--data): six model rows cross-validated on the
// same folds, each evaluated, MProtoNet C compared with every other row per subject, report.html.
// Default settings are sized for a 2-core CPU; `--full` starts from the paper's settings instead.
// Options given on the command line always win over the preset.
#include <cmath>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "apps/commands.h"
#include "mprotonet/core/error.h"
#include "mprotonet/engines/distributed.h"
#include "mprotonet/engines/experiment.h"

namespace fs = std::filesystem;

namespace mprotonet::cli {
namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

struct DemoCommand {
  ExperimentOptions given;  // the values parsed from the command line (over the demo defaults)
  bool full = false;
  std::string models = join(paper_model_rows());
  // Each option's transfer of its parsed value (from `given`) into the options actually run. The
  // functions take `given` as an argument: capturing the command itself would make a cycle of
  // shared pointers that is never freed.
  std::vector<std::pair<CLI::Option*, std::function<void(ExperimentOptions&, const ExperimentOptions&)>>> explicit_options;
};

// Declares an option bound to a field of `given` and remembers how to copy it over the preset.
template <typename T>
CLI::Option* declare(CLI::App& sub, const std::shared_ptr<DemoCommand>& c, const std::string& name, T ExperimentOptions::*field,
                  const std::string& help) {
  CLI::Option* opt = sub.add_option(name, c->given.*field, help);
  c->explicit_options.emplace_back(opt, [field](ExperimentOptions& o, const ExperimentOptions& given) { o.*field = given.*field; });
  return opt;
}

int run_demo(DemoCommand& c) {
  ExperimentOptions o = c.given;
  o.models = split_list(c.models);
  if (c.full) {
    o = ExperimentOptions::paper(c.given.device);
    for (auto& [opt, copy] : c.explicit_options)
      if (opt->count() > 0) copy(o, c.given);
    o.synth = c.given.synth;
    o.models = split_list(c.models);
  }
  o.synth.seed = o.seed;
  // The generated field of view stays at BraTS size (240 x 240 x 155 mm).
  o.synth.shape = {static_cast<int64_t>(std::lround(240 / o.synth.spacing)),
                   static_cast<int64_t>(std::lround(240 / o.synth.spacing)),
                   static_cast<int64_t>(std::lround(155 / o.synth.spacing))};
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  const fs::path report = run_experiment(o);
  if (process_rank() != 0) return 0;  // data-parallel: rank 0 reports
  std::cout << "demo finished: open " << report.string() << "\n";
  return 0;
}

CommandRegistration register_demo(
    "demo",
    "The main job, the paper's experiment: synthetic cohort (or --data), six model rows cross-validated and "
    "evaluated, MProtoNet C compared with each, report.html",
    [](CLI::App& sub) -> Action {
      auto c = std::make_shared<DemoCommand>();
      declare(sub, c, "--out", &ExperimentOptions::out_dir, "output folder (default demo-run); run again to continue");
      declare(sub, c, "--data", &ExperimentOptions::data_dir, "BraTS 2020-layout folder instead of the synthetic cohort")
          ->check(CLI::ExistingDirectory);
      sub.add_flag("--full", c->full,
                   "start from the paper's settings (1.5 mm, resnet152_ri, n_layers 6, 5 folds, 100 epochs, batch 32, "
                   "full augmentation, push every 10 epochs, all five methods on every subject); options given "
                   "explicitly win; meant for a GPU (--device cuda)");
      sub.add_option("--models", c->models,
                     "comma list of model rows (default: all six: " + join(paper_model_rows()) + ")");
      sub.add_option("--cases", c->given.synth.cases, "synthetic cases (default 80)")->check(CLI::Range(6, 100000));
      sub.add_option("--hgg-fraction", c->given.synth.hgg_fraction, "fraction of HGG synthetic cases (default 0.6)")
          ->check(CLI::Range(0.05, 0.95));
      sub.add_option("--synth-spacing", c->given.synth.spacing, "voxel size of the generated volumes in mm (default 2)")
          ->check(CLI::Range(0.5, 8.0));
      declare(sub, c, "--seed", &ExperimentOptions::seed, "seed of the cohort, the folds and training (default 0)");
      declare(sub, c, "--spacing", &ExperimentOptions::spacing_mm, "preprocessed voxel size in mm (default 4 -> 48x48x36)")
          ->check(CLI::Range(0.5, 16.0));
      declare(sub, c, "--folds", &ExperimentOptions::folds, "cross-validation folds (default 3)")->check(CLI::Range(2, 20));
      declare(sub, c, "--epochs", &ExperimentOptions::epochs, "joint epochs per fold of the prototype rows (default 16)")
          ->check(CLI::Range(int64_t{1}, int64_t{100000}));
      declare(sub, c, "--cnn-epochs", &ExperimentOptions::cnn_epochs, "epochs per fold of CNN3D (default 12)")
          ->check(CLI::Range(int64_t{1}, int64_t{100000}));
      declare(sub, c, "--last-layer-epochs", &ExperimentOptions::last_layer_epochs,
           "last-layer epochs after each push (default 5)")
          ->check(CLI::Range(int64_t{0}, int64_t{100000}));
      declare(sub, c, "--push-interval", &ExperimentOptions::push_interval,
           "push after every N-th joint epoch and after the last; 0 = after the last only (default 0)")
          ->check(CLI::Range(int64_t{0}, int64_t{100000}));
      declare(sub, c, "--batch-size", &ExperimentOptions::batch_size,
           "subjects per batch (default 2; lowered to the smallest training fold when larger)")
          ->check(CLI::Range(int64_t{1}, int64_t{4096}));
      declare(sub, c, "--features", &ExperimentOptions::features, "backbone (default resnet18_ri)");
      declare(sub, c, "--n-layers", &ExperimentOptions::n_layers, "backbone children kept (default 5)")
          ->check(CLI::Range(int64_t{1}, int64_t{8}));
      declare(sub, c, "--precision", &ExperimentOptions::precision, "fp32, bf16, fp16 (CUDA; loss scaling) autocast, or auto: bf16 where the device computes it natively (CUDA, a CPU with AVX512-BF16/AMX), else fp32 (default auto)");
      declare(sub, c, "--device", &ExperimentOptions::device, "cpu, cuda or cuda:N (default cpu)");
      declare(sub, c, "--augment", &ExperimentOptions::augment, "training augmentation sequence (default fl0: flips)");
      declare(sub, c, "--methods", &ExperimentOptions::methods,
           "attribution methods evaluated (default mprotonet,gradcam; also guided-gradcam, deconvolution, occlusion)");
      declare(sub, c, "--faithfulness-subjects", &ExperimentOptions::faithfulness_subjects,
           "deletion / addition on at most N test subjects per fold (default 4; 0 = all)")
          ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
      declare(sub, c, "--faithfulness-steps", &ExperimentOptions::faithfulness_steps,
           "deletion / addition steps after step 0 (default 50)")
          ->check(CLI::Range(int64_t{1}, int64_t{1000}));
      declare(sub, c, "--report-cases", &ExperimentOptions::report_cases, "test cases explained in the report (default 4)")
          ->check(CLI::Range(0, 100));
      auto* recal = sub.add_option("--recalibrate-bn", c->given.recalibrate_bn,
                                   "re-estimate BatchNorm statistics before each push and at the end (default true)");
      c->explicit_options.emplace_back(recal, [](ExperimentOptions& o, const ExperimentOptions& given) { o.recalibrate_bn = given.recalibrate_bn; });
      auto* missing = sub.add_option("--missing-modalities", c->given.missing_modalities,
                                     "evaluate the 14 missing-modality subsets (default true)");
      c->explicit_options.emplace_back(missing,
                                       [](ExperimentOptions& o, const ExperimentOptions& given) { o.missing_modalities = given.missing_modalities; });
      return [c] { return run_demo(*c); };
    });

}  // namespace
}  // namespace mprotonet::cli
