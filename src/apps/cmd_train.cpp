// SPDX-License-Identifier: MIT
// `mprotonet train`: stratified K-fold cross-validation of one model row (docs/method.md#training, #metrics). Option
// precedence: built-in defaults (the paper) < --config FILE.json < options given on the command
// line. The library does the work (engines/cross_validation.h).
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/option_bounds.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/engines/cross_validation.h"
#include "mprotonet/engines/distributed.h"
#include "mprotonet/engines/run_folder.h"

namespace fs = std::filesystem;

namespace mprotonet::cli {
namespace {

/// Backbone children kept (nets/model_config.h checks the same range).
constexpr int64_t kMinLayers = 2, kMaxLayers = 8;

struct TrainCommand {
  CrossValidationOptions cv;
  std::string config_file;
  std::string augment = "af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0";
  int64_t prototypes = 0;  // 0 = the row's default (30)
};

// --config FILE.json: {"model_name", "features", "n_layers", "spacing", "preprocess", "folds", "seed",
// "model": {reference keywords}, "train": {training options, incl. "loss" and "augment"}}.
void apply_config_file(TrainCommand& c, const fs::path& path) {
  with_context("while reading --config " + path.string(), [&] {
    const auto j = nlohmann::json::parse(read_text_file(path));
    check(j.is_object(), "expected a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      const auto& v = it.value();
      with_context("in field '" + k + "'", [&] {
        if (k == "model_name") c.cv.model_name = v.get<std::string>();
        else if (k == "features") c.cv.features = v.get<std::string>();
        else if (k == "n_layers") c.cv.n_layers = bounds::json_integer(v, k, kMinLayers, kMaxLayers);
        else if (k == "spacing") c.cv.spacing_mm = bounds::json_number(v, k, bounds::kMinSpacingMm, bounds::kMaxSpacingMm);
        else if (k == "preprocess") c.cv.preprocess_grid = parse_preprocess_grid(v.get<std::string>());
        else if (k == "folds") c.cv.folds = static_cast<int>(bounds::json_integer(v, k, bounds::kMinFolds, bounds::kMaxFolds));
        else if (k == "seed") c.cv.seed = static_cast<uint32_t>(bounds::json_integer(v, k, 0, bounds::kMaxSeed));
        else if (k == "model") {
          check(v.is_object(), "expected an object of model keywords");
          for (auto m = v.begin(); m != v.end(); ++m) {
            if (m.key() == "model_name") c.cv.model_name = m.value().get<std::string>();
            else if (m.key() == "features") c.cv.features = m.value().get<std::string>();
            else if (m.key() == "n_layers") c.cv.n_layers = bounds::json_integer(m.value(), "n_layers", kMinLayers, kMaxLayers);
            else if (m.key() == "in_size") throw Error("in_size follows the preprocessing spacing; set \"spacing\" instead");
            else c.cv.model_overrides[m.key()] = m.value();
          }
        } else if (k == "train") {
          update_from_json(c.cv.train, v, path.string());
          if (v.contains("augment")) c.augment = c.cv.train.augment.sequence_string();
        } else
          throw Error("unknown key '" + k + "'; valid: model_name, features, n_layers, spacing, preprocess, folds, seed, model, train");
      });
    }
  });
}

CommandRegistration register_train(
    "train",
    "Cross-validate a model row: per fold train (joint, push, last-layer epochs) and test; writes RUN_DIR",
    [](CLI::App& sub) -> Action {
      auto c = std::make_shared<TrainCommand>();
      auto& cv = c->cv;
      // Parsed into temporaries first so that a --config file can sit between defaults and flags.
      auto cli = std::make_shared<TrainCommand>();
      sub.footer(
          "Data-parallel: started by torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or inside an srun step "
          "(SLURM_PROCID, SLURM_NTASKS), the processes train one model together, each on an equal part of every "
          "--batch-size batch; rank 0 writes the outputs (README, \"Scaling out\").");
      sub.add_option("--data", cli->cv.data_dir, "dataset folder (BraTS 2020 layout with name_mapping.csv)")
          ->required()
          ->check(CLI::ExistingDirectory);
      sub.add_option("--out", cli->cv.out_dir, "run folder: run.json, fold_K/, results.json, results.md")->required();
      std::vector<std::pair<std::string, CLI::Option*>> given;
      auto add = [&](const std::string& name, CLI::Option* opt) { given.emplace_back(name, opt); return opt; };
      add("model-name", sub.add_option("--model-name", cli->cv.model_name,
                                       "CNN3D or MProtoNet3D_pmK, K = 0..5 (default MProtoNet3D_pm5 = MProtoNet C)"));
      add("folds", sub.add_option("--folds", cli->cv.folds, "number of stratified folds (default 5)")->check(integer_in(bounds::kMinFolds, bounds::kMaxFolds)));
      add("fold", sub.add_option("--fold", cli->cv.fold, "run only fold K (0-based); merge later with `mprotonet merge`")
                          ->check(integer_in(0, bounds::kMaxFolds - 1)));
      add("epochs", sub.add_option("--epochs", cli->cv.train.epochs, "joint epochs (default 100)")
                        ->check(integer_in(1, bounds::kMaxEpochs)));
      add("batch-size", sub.add_option("--batch-size", cli->cv.train.batch_size, "subjects per batch (default 32)")
                            ->check(integer_in(1, bounds::kMaxBatchSize)));
      add("lr", sub.add_option("--lr", cli->cv.train.lr, "peak learning rate of the joint / CNN optimiser (default 1e-3)")
                    ->check(number_in(0, bounds::kMaxLearningRate, true)));
      add("features", sub.add_option("--features", cli->cv.features, "backbone resnet18_ri .. resnet152_ri (default resnet152_ri)"));
      add("n-layers", sub.add_option("--n-layers", cli->cv.n_layers, "backbone children kept, 2..8 (default 6)")
                          ->check(integer_in(kMinLayers, kMaxLayers)));
      add("prototypes", sub.add_option("--prototypes", cli->prototypes, "number of prototypes P, even (default 30)")
                            ->check(integer_in(2, 100000)));
      add("spacing", sub.add_option("--spacing", cli->cv.spacing_mm,
                                    "preprocessing voxel size in mm (default 1.5 -> 128x128x96; 3 -> 64x64x48)")
                         ->check(number_in(bounds::kMinSpacingMm, bounds::kMaxSpacingMm)));
      add("preprocess", add_preprocess_option(sub, &cli->cv.preprocess_grid));
      add("seed", sub.add_option("--seed", cli->cv.seed, "seed of the folds and of training (default 0)")
                     ->check(integer_in(0, bounds::kMaxSeed)));
      add("device", sub.add_option("--device", cli->cv.train.device, "cpu or cuda (default cpu)"));
      add("precision", sub.add_option("--precision", cli->cv.train.precision, "fp32, bf16, fp16 (CUDA; loss scaling) autocast, or auto (bf16 where the device computes it natively, else fp32) (default fp32)"));
      add("push-interval", sub.add_option("--push-interval", cli->cv.train.push_interval,
                                          "push after every N-th joint epoch and the last (default 10; 0 = last only)")
                               ->check(integer_in(0, bounds::kMaxEpochs)));
      add("last-layer-epochs", sub.add_option("--last-layer-epochs", cli->cv.train.last_layer_epochs,
                                              "last-layer epochs after each push (default 10)")
                                   ->check(integer_in(0, bounds::kMaxLastLayerEpochs)));
      add("augment", sub.add_option("--augment", cli->augment,
                                    "augmentation sequence, e.g. af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0 (default), or none"));
      add("cache", sub.add_option("--cache", cli->cv.cache_dir, "preprocessing cache root (default $MPROTONET_CACHE or ~/.cache/mprotonet)"));
      add("threads", sub.add_option("--threads", cli->cv.train.threads, "torch threads (default 0 = all cores)")
                         ->check(integer_in(0, bounds::kMaxThreads)));
      add("workers", sub.add_option("--workers", cli->cv.train.loader_workers, "batch-preparing threads (default 1)")
                         ->check(integer_in(0, bounds::kMaxWorkers)));
      add("eval-interval", sub.add_option("--eval-interval", cli->cv.train.eval_interval,
                                          "also test every N-th joint epoch, logged in epochs.jsonl (default 0 = end only)")
                               ->check(integer_in(0, bounds::kMaxEpochs)));
      auto* stop = sub.add_option("--stop-after-steps", cli->cv.train.stop_after_steps,
                                  "testing aid: stop (as if killed) after N checkpointed steps")
                    ->check(integer_in(0, INT64_MAX));
      stop->group("");  // hidden
      sub.add_option("--config", c->config_file, "JSON file with options (command-line options win)")->check(CLI::ExistingFile);
      auto* recal = sub.add_flag("--recalibrate-bn",
                                 "re-estimate BatchNorm statistics over the training subjects before each push and at "
                                 "the end (not in the reference; helps short runs)");
      sub.add_flag("--resume", cv.resume, "continue unfinished folds from their checkpoints, skip finished ones");
      auto* quiet = sub.add_flag("--quiet", "no per-epoch lines");
      return [c, cli, given, stop, quiet, recal] {
        TrainCommand& r = *c;
        if (!r.config_file.empty()) apply_config_file(r, r.config_file);
        r.cv.data_dir = cli->cv.data_dir;
        r.cv.out_dir = cli->cv.out_dir;
        for (const auto& [name, opt] : given) {
          if (!opt->count()) continue;
          if (name == "model-name") r.cv.model_name = cli->cv.model_name;
          else if (name == "folds") r.cv.folds = cli->cv.folds;
          else if (name == "fold") r.cv.fold = cli->cv.fold;
          else if (name == "epochs") r.cv.train.epochs = cli->cv.train.epochs;
          else if (name == "batch-size") r.cv.train.batch_size = cli->cv.train.batch_size;
          else if (name == "lr") r.cv.train.lr = cli->cv.train.lr;
          else if (name == "features") r.cv.features = cli->cv.features;
          else if (name == "n-layers") r.cv.n_layers = cli->cv.n_layers;
          else if (name == "prototypes") r.prototypes = cli->prototypes;
          else if (name == "spacing") r.cv.spacing_mm = cli->cv.spacing_mm;
          else if (name == "preprocess") r.cv.preprocess_grid = cli->cv.preprocess_grid;
          else if (name == "seed") r.cv.seed = cli->cv.seed;
          else if (name == "device") r.cv.train.device = cli->cv.train.device;
          else if (name == "precision") r.cv.train.precision = cli->cv.train.precision;
          else if (name == "push-interval") r.cv.train.push_interval = cli->cv.train.push_interval;
          else if (name == "last-layer-epochs") r.cv.train.last_layer_epochs = cli->cv.train.last_layer_epochs;
          else if (name == "augment") r.augment = cli->augment;
          else if (name == "cache") r.cv.cache_dir = cli->cv.cache_dir;
          else if (name == "threads") r.cv.train.threads = cli->cv.train.threads;
          else if (name == "workers") r.cv.train.loader_workers = cli->cv.train.loader_workers;
          else if (name == "eval-interval") r.cv.train.eval_interval = cli->cv.train.eval_interval;
        }
        if (stop->count()) r.cv.train.stop_after_steps = cli->cv.train.stop_after_steps;
        if (quiet->count()) r.cv.train.verbose = false;
        if (recal->count()) r.cv.train.recalibrate_bn = true;
        r.cv.train.augment = AugmentOptions::from_sequence(r.augment);
        if (r.prototypes > 0) {
          auto shape = r.cv.model_overrides.contains("prototype_shape")
                           ? r.cv.model_overrides["prototype_shape"]
                           : nlohmann::json{30, 128, 1, 1, 1};
          shape[0] = r.prototypes;
          r.cv.model_overrides["prototype_shape"] = shape;
        }
        const auto result = run_cross_validation(r.cv);
        if (process_rank() != 0) return result.interrupted ? 3 : 0;  // rank 0 reports (data-parallel run)
        if (result.interrupted) {
          std::cerr << "stopped early (--stop-after-steps); continue with --resume\n";
          return 3;
        }
        if (result.complete) {
          std::cout << read_text_file(RunFolder(r.cv.out_dir).results_md());
        } else {
          std::cout << "fold(s) done; the other folds are still missing: run them with --fold K, then `mprotonet merge "
                    << r.cv.out_dir.string() << "`\n";
        }
        return 0;
      };
    });

}  // namespace
}  // namespace mprotonet::cli
