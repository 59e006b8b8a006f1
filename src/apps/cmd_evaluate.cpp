// SPDX-License-Identifier: MIT
// `mprotonet evaluate`: classification (full and missing modalities), localisation (AP, DSC),
// faithfulness (IDS, IAS) and significance for every fold of a training run (docs/method.md#metrics). The work
// is engines/evaluator.h evaluate_run.
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/option_bounds.h"
#include "mprotonet/core/error.h"
#include "mprotonet/engines/evaluator.h"

namespace {

using namespace mprotonet;
using cli::integer_in;
using cli::number_in;

struct EvaluateCliOptions {
  std::string run, data, cache;
  std::string methods = "mprotonet,gradcam,guided-gradcam,deconvolution,occlusion";
  std::string folds;
  int64_t batch = 4;
  int64_t occlusion_batch = 8;
  bool no_missing = false, no_faithfulness = false;
  int threads = 0;
  int64_t faithfulness_subjects = 0;
  std::string device = "cpu", precision = "fp32";
};

cli::CommandRegistration register_evaluate(
    "evaluate", "evaluate a training run: classification, missing modalities, AP/DSC, IDS/IAS, significance",
    [](CLI::App& sub) -> cli::Action {
      auto o = std::make_shared<EvaluateCliOptions>();
      sub.add_option("--run", o->run, "run folder written by `mprotonet train`")->required();
      sub.add_option("--data", o->data, "dataset folder the run was trained on (BraTS layout)")->required();
      sub.add_option("--cache", o->cache, "preprocessing cache root (default $MPROTONET_CACHE or ~/.cache/mprotonet)");
      sub.add_option("--methods", o->methods,
                     "comma-separated attribution methods (default all: "
                     "mprotonet,gradcam,guided-gradcam,deconvolution,occlusion; mprotonet is skipped for CNN3D)");
      sub.add_option("--folds", o->folds, "comma-separated 0-based folds to evaluate (default all)");
      sub.add_option("--batch", o->batch, "subjects per batch (default 4)")->check(integer_in(1, bounds::kMaxBatchSize));
      sub.add_option("--occlusion-batch", o->occlusion_batch, "occluded copies per forward (default 8)")
          ->check(integer_in(1, bounds::kMaxBatchSize));
      sub.add_flag("--no-missing", o->no_missing, "skip the 14 missing-modality evaluations");
      sub.add_flag("--no-faithfulness", o->no_faithfulness, "skip incremental deletion / addition");
      sub.add_option("--faithfulness-subjects", o->faithfulness_subjects,
                     "deletion / addition on at most N test subjects per fold, both classes (default 0 = all)")
          ->check(integer_in(0, 1000000));
      sub.add_option("--precision", o->precision, "fp32, bf16 or fp16 (CUDA) autocast for the forwards (default fp32)");
      sub.add_option("--threads", o->threads, "preprocessing threads (default 0 = all cores)")
          ->check(integer_in(0, bounds::kMaxThreads));
      sub.add_option("--device", o->device, "cpu or cuda[:N] (default cpu)");
      return [o] {
        EvaluationOptions e;
        e.run_dir = o->run;
        e.data_dir = o->data;
        e.cache_dir = o->cache;
        e.methods = attribution::parse_map_methods(o->methods);
        std::stringstream ss(o->folds);
        std::string item;
        while (std::getline(ss, item, ',')) {
          if (item.empty()) continue;
          e.folds.push_back(static_cast<int>(bounds::parse_integer(item, "--folds entry", 0, bounds::kMaxFolds - 1)));
        }
        e.batch_size = o->batch;
        e.occlusion.batch_size = o->occlusion_batch;
        e.missing_modalities = !o->no_missing;
        e.faithfulness = !o->no_faithfulness;
        e.faithfulness_subjects = o->faithfulness_subjects;
        e.precision = parse_precision(o->precision);
        e.preprocess_threads = o->threads;
        e.device = parse_device(o->device);
        evaluate_run(e);
        return 0;
      };
    });

}  // namespace
