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
#include "mprotonet/engines/precision.h"

namespace {

using namespace mprotonet;
using cli::integer_in;
using cli::number_in;

// The fields the CLI parses itself; everything else is bound to EvaluationOptions, whose defaults
// the help shows.
struct EvaluateCliOptions {
  EvaluationOptions e;
  std::string methods, folds;
  bool no_missing = false, no_faithfulness = false;
  std::string device, precision;
};

cli::CommandRegistration register_evaluate(
    "evaluate", "evaluate a training run: classification, missing modalities, AP/DSC, IDS/IAS, significance",
    [](CLI::App& sub) -> cli::Action {
      auto o = std::make_shared<EvaluateCliOptions>();
      EvaluationOptions& e = o->e;
      o->methods = attribution::map_method_list(e.methods);
      o->device = e.device.str();
      o->precision = precision_name(e.precision);
      sub.add_option("--run", e.run_dir, "run folder written by `mprotonet train`")->required();
      sub.add_option("--data", e.data_dir, "dataset folder the run was trained on (BraTS layout)")->required();
      sub.add_option("--cache", e.cache_dir, "preprocessing cache root (default $MPROTONET_CACHE or ~/.cache/mprotonet)");
      sub.add_option("--methods", o->methods,
                     cli::with_default("comma-separated attribution methods; mprotonet is skipped for CNN3D", o->methods));
      sub.add_option("--folds", o->folds, "comma-separated 0-based folds to evaluate (default all)");
      sub.add_option("--batch", e.batch_size, cli::with_default("subjects per batch", e.batch_size))
          ->check(integer_in(1, bounds::kMaxBatchSize));
      sub.add_option("--occlusion-batch", e.occlusion.batch_size,
                     cli::with_default("occluded copies per forward", e.occlusion.batch_size))
          ->check(integer_in(1, bounds::kMaxBatchSize));
      sub.add_flag("--no-missing", o->no_missing, "skip the 14 missing-modality evaluations");
      sub.add_flag("--no-faithfulness", o->no_faithfulness, "skip incremental deletion / addition");
      sub.add_option("--faithfulness-subjects", e.faithfulness_subjects,
                     cli::with_default("deletion / addition on at most N test subjects per fold, both classes; 0 = all",
                                       e.faithfulness_subjects))
          ->check(integer_in(0, 1000000));
      sub.add_option("--precision", o->precision,
                     cli::with_default("fp32, bf16 or fp16 (CUDA) autocast for the forwards", o->precision));
      sub.add_option("--threads", e.preprocess_threads,
                     cli::with_default("preprocessing threads; 0 = all cores", e.preprocess_threads))
          ->check(integer_in(0, bounds::kMaxThreads));
      sub.add_option("--device", o->device, cli::with_default("cpu or cuda[:N]", o->device));
      return [o] {
        EvaluationOptions e = o->e;
        e.methods = attribution::parse_map_methods(o->methods);
        std::stringstream ss(o->folds);
        std::string item;
        while (std::getline(ss, item, ',')) {
          if (item.empty()) continue;
          e.folds.push_back(static_cast<int>(bounds::parse_integer(item, "--folds entry", 0, bounds::kMaxFolds - 1)));
        }
        e.missing_modalities = !o->no_missing;
        e.faithfulness = !o->no_faithfulness;
        e.precision = parse_precision(o->precision);
        e.device = parse_device(o->device);
        evaluate_run(e);
        return 0;
      };
    });

}  // namespace
