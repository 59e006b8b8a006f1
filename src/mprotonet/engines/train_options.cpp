// SPDX-License-Identifier: MIT
// Training options (engines/trainer.h TrainOptions): JSON form, reading with unknown keys refused,
// validation against core/bounds.h.
#include "mprotonet/engines/trainer.h"

#include <string>

#include <nlohmann/json.hpp>

#include "mprotonet/core/bounds.h"
#include "mprotonet/core/error.h"
#include "mprotonet/engines/precision.h"

namespace mprotonet {

nlohmann::json to_json(const TrainOptions& o) {
  nlohmann::json j{{"epochs", o.epochs},
                   {"batch_size", o.batch_size},
                   {"lr", o.lr},
                   {"weight_decay", o.weight_decay},
                   {"prototype_weight_decay", o.prototype_weight_decay},
                   {"warmup_epochs", o.warmup_epochs},
                   {"last_layer_lr", o.last_layer_lr},
                   {"push_interval", o.push_interval},
                   {"last_layer_epochs", o.last_layer_epochs},
                   {"seed", o.seed},
                   {"device", o.device},
                   {"precision", o.precision},
                   {"loader_workers", o.loader_workers},
                   {"threads", o.threads},
                   {"eval_batch_size", o.eval_batch_size},
                   {"eval_interval", o.eval_interval},
                   {"recalibrate_bn", o.recalibrate_bn}};
  nlohmann::json aug;
  to_json(aug, o.augment);
  j["augment"] = aug;
  if (o.loss) {
    nlohmann::json l;
    to_json(l, *o.loss);
    j["loss"] = l;
  } else {
    j["loss"] = nullptr;
  }
  return j;
}

void update_from_json(TrainOptions& o, const nlohmann::json& j, const std::string& source) {
  using namespace bounds;
  with_context("while reading training options from " + source, [&] {
    check(j.is_object(), "expected a JSON object, got " + j.dump());
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      const auto& v = it.value();
      with_context("in field '" + k + "'", [&] {
        if (k == "epochs") o.epochs = json_integer(v, k, 1, kMaxEpochs);
        else if (k == "batch_size") o.batch_size = json_integer(v, k, 1, kMaxBatchSize);
        else if (k == "lr") o.lr = json_number(v, k, 0, kMaxLearningRate, true);
        else if (k == "weight_decay") o.weight_decay = json_number(v, k, 0, kMaxWeightDecay);
        else if (k == "prototype_weight_decay") o.prototype_weight_decay = json_number(v, k, 0, kMaxWeightDecay);
        else if (k == "warmup_epochs") o.warmup_epochs = json_integer(v, k, -1, kMaxEpochs);
        else if (k == "last_layer_lr") o.last_layer_lr = json_number(v, k, 0, kMaxLearningRate, true);
        else if (k == "push_interval") o.push_interval = json_integer(v, k, 0, kMaxEpochs);
        else if (k == "last_layer_epochs") o.last_layer_epochs = json_integer(v, k, 0, kMaxLastLayerEpochs);
        else if (k == "seed") o.seed = static_cast<uint64_t>(json_integer(v, k, 0, kMaxSeed));
        else if (k == "device") o.device = v.get<std::string>();
        else if (k == "precision") o.precision = v.get<std::string>();
        else if (k == "loader_workers") o.loader_workers = static_cast<int>(json_integer(v, k, 0, kMaxWorkers));
        else if (k == "threads") o.threads = static_cast<int>(json_integer(v, k, 0, kMaxThreads));
        else if (k == "eval_batch_size") o.eval_batch_size = json_integer(v, k, 0, kMaxBatchSize);
        else if (k == "eval_interval") o.eval_interval = json_integer(v, k, 0, kMaxEpochs);
        else if (k == "recalibrate_bn") o.recalibrate_bn = v.get<bool>();
        else if (k == "augment") {
          if (v.is_string()) o.augment = AugmentOptions::from_sequence(v.get<std::string>());
          else from_json(v, o.augment);
        } else if (k == "loss") {
          if (v.is_null()) o.loss.reset();
          else {
            LossOptions l = o.loss.value_or(LossOptions{});
            from_json(v, l);
            o.loss = l;
          }
        } else
          throw Error("unknown training option '" + k +
                      "'; valid: epochs, batch_size, lr, weight_decay, prototype_weight_decay, warmup_epochs, "
                      "last_layer_lr, push_interval, last_layer_epochs, seed, device, precision, loader_workers, "
                      "threads, eval_batch_size, eval_interval, recalibrate_bn, augment, loss");
      });
    }
  });
}

void validate_train_options(const TrainOptions& o) {
  using namespace bounds;
  with_context("invalid training options", [&] {
    check_integer(o.epochs, "epochs", 1, kMaxEpochs);
    check_integer(o.batch_size, "batch_size", 1, kMaxBatchSize);
    check_number(o.lr, "lr", 0, kMaxLearningRate, true);
    check_number(o.weight_decay, "weight_decay", 0, kMaxWeightDecay);
    check_number(o.prototype_weight_decay, "prototype_weight_decay", 0, kMaxWeightDecay);
    check_integer(o.warmup_epochs, "warmup_epochs", -1, o.epochs - 1);
    check_number(o.last_layer_lr, "last_layer_lr", 0, kMaxLearningRate, true);
    check_integer(o.push_interval, "push_interval", 0, kMaxEpochs);
    check_integer(o.last_layer_epochs, "last_layer_epochs", 0, kMaxLastLayerEpochs);
    check_integer(static_cast<int64_t>(o.seed), "seed", 0, kMaxSeed);
    check_integer(o.loader_workers, "loader_workers", 0, kMaxWorkers);
    check_integer(o.threads, "threads", 0, kMaxThreads);
    check_integer(o.eval_batch_size, "eval_batch_size", 0, kMaxBatchSize);
    check_integer(o.eval_interval, "eval_interval", 0, kMaxEpochs);
    check_integer(o.stop_after_steps, "stop_after_steps", -1, INT64_MAX);
    check_precision_for_device(parse_precision(o.precision), parse_device(o.device));
  });
}

}  // namespace mprotonet
