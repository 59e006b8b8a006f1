// SPDX-License-Identifier: MIT
// Batches for training and evaluation, read from the memory-mapped PreprocessedCohort.
//
// Training: every epoch a permutation of the subjects drawn from Rng::derive(seed, {epoch}),
// cut into batches of batch_size with the last incomplete batch dropped (docs/method.md#training); every sample
// augmented with its own stream Rng::derive(seed, {epoch, position}) (docs/method.md#augmentation), so the batch
// contents depend only on (seed, epoch) and never on which worker thread prepared them.
// Worker threads prepare the next batches while the model computes; at most `prefetch` batches
// are held ahead. The cohort stays in its single read-only mapping: an unaugmented sample is
// copied once (into the stacked batch), an augmented one produces its own tensor.
// Evaluation: every subject once, in the given order, no augmentation, last batch kept.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "mprotonet/data/cohort.h"
#include "mprotonet/transforms/augment.h"

namespace mprotonet {

/// One batch: stacked images, labels, and which cohort subjects they are.
struct Batch {
  torch::Tensor images;          ///< float32 [B, 4, X, Y, Z], contiguous, CPU
  torch::Tensor labels;          ///< int64 [B]
  std::vector<int64_t> indices;  ///< cohort indices of the B subjects
  int64_t batch_index = 0;       ///< position of the batch within the epoch
};

struct LoaderOptions {
  /// Subjects per batch. Default 32 (the paper).
  int64_t batch_size = 32;
  /// Shuffle the subjects every epoch (training). Default true.
  bool shuffle = true;
  /// Drop the last incomplete batch (training, docs/method.md#training). Default true.
  bool drop_last = true;
  /// Augmentation applied to every sample (training); disable for evaluation. Default: docs/method.md#augmentation.
  AugmentOptions augment;
  /// Seed of the shuffling and augmentation streams. Default 0.
  uint64_t seed = 0;
  /// Threads preparing batches in the background; 0 = prepare in the caller's thread. Default 1.
  int workers = 1;
  /// Batches prepared ahead of the consumer (bounded memory). Default 2.
  int prefetch = 2;
  /// Torch intra-op threads each worker uses (augmentation kernels). Default 1, so the workers
  /// do not compete with the model's threads on small machines.
  int worker_torch_threads = 1;
  /// Data-parallel training (engines/distributed.h): this process takes positions
  /// [shard_rank * b, (shard_rank + 1) * b) of every batch of batch_size, b = batch_size /
  /// shard_count, so the ranks' shards are disjoint, equally long, and each subject is augmented
  /// exactly as in a single process. Defaults 0 of 1 (the whole batch).
  int shard_rank = 0;
  int shard_count = 1;
  /// Stack each batch in page-locked (pinned) memory, so the copy to a CUDA device can run
  /// asynchronously (`to(device, non_blocking)`), as PyTorch's DataLoader(pin_memory=True). Needs
  /// a CUDA runtime; training sets it for --device cuda. Default false.
  bool pin_memory = false;

  /// Options of an evaluation loader: in order, no augmentation, last batch kept.
  static LoaderOptions evaluation(int64_t batch_size);
};

/// Subject order of one training epoch: the permutation drawn from Rng::derive(seed, {epoch})
/// (Fisher-Yates), or `indices` unchanged when shuffle is false.
std::vector<int64_t> epoch_order(const std::vector<int64_t>& indices, bool shuffle, uint64_t seed, int64_t epoch);

/// Prepares one batch (the work a worker does): stacks the subjects' mapped images,
/// augmenting each with Rng::derive(seed, {epoch, position}) when augmentation is enabled.
Batch make_batch(const PreprocessedCohort& cohort, const std::vector<int64_t>& subjects,
                 const LoaderOptions& options, int64_t epoch, int64_t first_position, int64_t batch_index);

/// Iterates over the batches of one epoch (this rank's part of each, see LoaderOptions::shard_rank). Not copyable; destroying it stops its workers.
/// Usage: BatchLoader loader(cohort, train_indices, options);
///        for (loader.start_epoch(e); auto b = loader.next();) { ... }
class BatchLoader {
 public:
  BatchLoader(const PreprocessedCohort& cohort, std::vector<int64_t> indices, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// Batches per epoch (floor(n / B) with drop_last, else ceil(n / B)).
  int64_t batches_per_epoch() const;
  int64_t num_subjects() const { return static_cast<int64_t>(indices_.size()); }
  const LoaderOptions& options() const { return options_; }

  /// Begins epoch `epoch` (stops any unfinished previous epoch).
  void start_epoch(int64_t epoch);
  /// The next batch of the current epoch, nullopt when the epoch is exhausted. An exception
  /// thrown while preparing a batch is rethrown here.
  std::optional<Batch> next();

 private:
  void stop_workers();
  void worker_loop();
  Batch prepare(int64_t batch_index) const;

  const PreprocessedCohort& cohort_;
  std::vector<int64_t> indices_;
  LoaderOptions options_;

  // Current epoch.
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t next_to_deliver_ = 0;

  // Worker state (guarded by mutex_).
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  int64_t next_to_prepare_ = 0;
  std::map<int64_t, Batch> ready_;
  std::exception_ptr error_;
  bool stopping_ = false;
};

}  // namespace mprotonet
