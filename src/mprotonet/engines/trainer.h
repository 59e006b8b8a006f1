// SPDX-License-Identifier: MIT
// Training of one fold (docs/method.md#training) and evaluation on held-out subjects.
//
// A fold's training is a fixed sequence of steps, each one "epoch" for checkpointing:
//   joint epoch e (e = 1..E)  — prototype models: cls + 0.8 cluster - 0.08 separation
//                               [+ 0.5 mapping] [+ 0.05 online-CAM]; CNN3D: cls only;
//   push after e            — when e % push_interval == 0 or e == E (prototype models);
//   last-layer epochs 1..L  — after each push, only last_layer trains (cls + 0.01 L1).
// Joint epochs use one AdamW with two parameter groups (backbone + add-ons + occurrence head:
// lr 1e-3, wd 1e-2; prototype_vectors: lr 1e-3, wd 0) and the warm-up + cosine schedule stepped
// per joint epoch; the last layer has its own AdamW (lr 1e-3, wd 0). CNN3D: one AdamW over all.
// Every random draw derives from the seed and the step/batch position (no hidden state), and the
// complete state (model, both optimisers, next step, history, push record) is checkpointed
// atomically after every step, so `resume` continues a killed run and ends with bitwise the
// same weights as an uninterrupted run on the CPU.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/data/cohort.h"
#include "mprotonet/engines/push.h"
#include "mprotonet/losses/total_loss.h"
#include "mprotonet/metrics/classification.h"
#include "mprotonet/nets/models.h"
#include "mprotonet/transforms/augment.h"

namespace mprotonet {

/// Options of the training procedure; defaults = the paper (docs/method.md#training, #paper-rows).
struct TrainOptions {
  /// Joint epochs E. Default 100.
  int64_t epochs = 100;
  /// Subjects per batch (the last incomplete batch is dropped). Default 32.
  int64_t batch_size = 32;
  /// Peak learning rate of the joint optimiser (and of CNN3D's). Default 1e-3.
  double lr = 1e-3;
  /// Weight decay of backbone, add-ons and occurrence head (and of CNN3D). Default 1e-2.
  double weight_decay = 1e-2;
  /// Weight decay of prototype_vectors. Default 0.
  double prototype_weight_decay = 0.0;
  /// Warm-up epochs; -1 = E / 5. Default -1.
  int64_t warmup_epochs = -1;
  /// Learning rate of the last layer's own AdamW (wd 0, not scheduled). Default 1e-3.
  double last_layer_lr = 1e-3;
  /// Push after every push_interval-th joint epoch (and after the last one); 0 = only after
  /// the last. Default 10.
  int64_t push_interval = 10;
  /// Last-layer epochs after each push. Default 10.
  int64_t last_layer_epochs = 10;
  /// Loss coefficients; by default the paper's row for the model's p_mode.
  std::optional<LossOptions> loss;
  /// Training-time augmentation. Default: docs/method.md#augmentation's sequence.
  AugmentOptions augment;
  /// Seed of the model initialisation, shuffling, augmentation and mapping scales. Default 0.
  uint64_t seed = 0;
  /// "cpu", "cuda" or "cuda:N". Default "cpu".
  std::string device = "cpu";
  /// "fp32", "bf16" or "fp16" (autocast; fp16 on CUDA), or "auto" (precision.h: bf16 where the
  /// device computes it natively), which run_cross_validation resolves first. Default "fp32".
  std::string precision = "fp32";
  /// Background threads preparing (augmenting) batches. Default 1.
  int loader_workers = 1;
  /// Torch intra-op threads; 0 = all cores. Default 0.
  int threads = 0;
  /// Evaluation batch size; 0 = batch_size. Default 0.
  int64_t eval_batch_size = 0;
  /// Evaluate the held-out subjects after every n-th joint epoch (logged in epochs.jsonl);
  /// 0 = only at the end. Default 0.
  int64_t eval_interval = 0;
  /// Test hook: return normally (as if killed) after this many steps have been checkpointed;
  /// -1 = never. Default -1.
  int64_t stop_after_steps = -1;
  /// Re-estimate every BatchNorm's running statistics over the unaugmented training subjects
  /// (a cumulative average over one pass, "precise BN", Wu & Johnson, "Rethinking 'Batch' in
  /// BatchNorm", 2021) after the joint epoch before each push and after the last joint epoch.
  /// Not in the reference: with few, short epochs the exponential running averages lag behind
  /// the weights and evaluation-mode predictions drift to one class while their ranking (AUC)
  /// is good. Default false (the reference's behaviour).
  bool recalibrate_bn = false;
  /// Print one line per step on stderr (and a batch progress bar on a terminal). Default true.
  bool verbose = true;
};

nlohmann::json to_json(const TrainOptions& o);
/// Reads the fields present over `o`; unknown keys are an Error listing the valid ones; numbers
/// are checked as validate_train_options does (an integer field given 2.7 or 1e20 is an Error).
void update_from_json(TrainOptions& o, const nlohmann::json& j, const std::string& source);
/// Error naming the first option outside its range (core/bounds.h): epochs, batch sizes, learning
/// rates (finite, > 0), weight decays, warm-up (< epochs), push interval, last-layer epochs,
/// threads, workers, evaluation interval, device, precision. Called before anything is written.
void validate_train_options(const TrainOptions& o);

/// The step kinds of a fold's training.
enum class StepKind { kJoint, kPush, kLastLayer };
std::string step_kind_name(StepKind k);

struct TrainStep {
  StepKind kind = StepKind::kJoint;
  int64_t epoch = 1;      ///< joint epoch (1-based) this step belongs to
  int64_t sub_epoch = 0;  ///< last-layer epoch (1-based) after a push; 0 otherwise
};

/// The step sequence for a model kind and options, computed on demand: memory does not grow
/// with the number of epochs (a run of 10^5 epochs holds no list of its steps).
class StepPlan {
 public:
  StepPlan() = default;
  StepPlan(bool prototype_model, const TrainOptions& o);
  /// Number of steps.
  int64_t size() const { return size_; }
  /// Step s (0-based, s < size()).
  TrainStep at(int64_t s) const;
  /// Number of steps of kind k in the whole plan.
  int64_t count(StepKind k) const;

 private:
  bool prototype_ = true;
  int64_t epochs_ = 1, push_interval_ = 0, last_layer_epochs_ = 0;
  int64_t full_blocks_ = 0;  ///< pushes after a multiple of push_interval
  int64_t block_size_ = 0;   ///< push_interval joint steps + push + last-layer steps
  bool final_push_ = false;  ///< a push after the last epoch that is not a multiple
  int64_t size_ = 0;
};

/// Every step of the plan in a list (tests and small plans).
std::vector<TrainStep> training_steps(bool prototype_model, const TrainOptions& o);

/// Per-step metrics (one line of epochs.jsonl).
struct EpochRecord {
  int64_t step = 0;
  TrainStep what;
  double lr = 0.0;                        ///< learning rate of the trained parameters
  std::map<std::string, double> losses;   ///< mean over batches of each loss term
  std::optional<ClassificationMetrics> train;  ///< on the (augmented) training batches
  std::optional<ClassificationMetrics> test;   ///< held-out subjects, when evaluated
  double seconds = 0.0;
};
nlohmann::json to_json(const EpochRecord& r);

/// One subject's prediction.
struct SubjectPrediction {
  std::string id;
  int64_t index = 0;                   ///< cohort index
  int label = 0;
  std::array<double, 2> probability{};  ///< softmax of the logits
  int prediction = 0;                   ///< arg-max
};

/// Softmax probabilities of every subject (in order), model in eval mode, no augmentation.
std::vector<SubjectPrediction> predict(nets::ClassifierImpl& model, const PreprocessedCohort& cohort,
                                       const std::vector<int64_t>& indices, int64_t batch_size,
                                       const torch::Device& device, const std::string& precision = "fp32");
ClassificationMetrics metrics_of(const std::vector<SubjectPrediction>& predictions);

/// Resets every BatchNorm of `model` and re-estimates its running mean / variance as the
/// cumulative average over one pass of `indices` (unaugmented, batches of batch_size in order,
/// no gradients), as PyTorch does with momentum=None; restores the modules' momentum and the
/// model's training mode afterwards.
void recalibrate_batchnorm(nets::ClassifierImpl& model, const PreprocessedCohort& cohort,
                           const std::vector<int64_t>& indices, int64_t batch_size, const torch::Device& device,
                           const std::string& precision = "fp32");
nlohmann::json to_json(const std::vector<SubjectPrediction>& predictions);

struct FoldTrainResult {
  bool completed = false;            ///< false when stopped by stop_after_steps
  nets::Classifier model;
  std::optional<PushRecord> push;    ///< the last push (prototype models)
  std::vector<EpochRecord> history;
};

/// Trains one model on `train_indices` of `cohort`. Writes <work_dir>/checkpoint.pt after every
/// step and <work_dir>/epochs.jsonl (the history so far). With `resume` and an existing
/// checkpoint, continues after its last step (an Error when the checkpoint belongs to other
/// settings). A non-finite loss stops with an Error naming the fold, epoch, stage and batch;
/// the last checkpoint is kept. `test_indices` are evaluated when eval_interval > 0.
FoldTrainResult train_fold(const nets::ModelConfig& config, const TrainOptions& options,
                           const PreprocessedCohort& cohort, const std::vector<int64_t>& train_indices,
                           const std::vector<int64_t>& test_indices, const std::filesystem::path& work_dir,
                           int fold, bool resume);

/// Path of the checkpoint train_fold writes in work_dir.
std::filesystem::path checkpoint_path(const std::filesystem::path& work_dir);

}  // namespace mprotonet
