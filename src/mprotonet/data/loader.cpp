// SPDX-License-Identifier: MIT
// Batch loader over the memory-mapped cohort (see loader.h).
#include "mprotonet/data/loader.h"

#include <ATen/Parallel.h>

#include "mprotonet/core/error.h"
#include "mprotonet/core/rng.h"

namespace mprotonet {

LoaderOptions LoaderOptions::evaluation(int64_t batch_size) {
  LoaderOptions o;
  o.batch_size = batch_size;
  o.shuffle = false;
  o.drop_last = false;
  o.augment.enabled = false;
  return o;
}

std::vector<int64_t> epoch_order(const std::vector<int64_t>& indices, bool shuffle, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order = indices;
  if (!shuffle) return order;
  Rng rng = Rng::derive(seed, {static_cast<uint64_t>(epoch)});
  for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(rng.randint(i + 1))]);
  return order;
}

Batch make_batch(const PreprocessedCohort& cohort, const std::vector<int64_t>& subjects, const LoaderOptions& options,
                 int64_t epoch, int64_t first_position, int64_t batch_index) {
  check(!subjects.empty(), "make_batch: empty batch");
  Batch b;
  b.indices = subjects;
  b.batch_index = batch_index;
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  images.reserve(subjects.size());
  for (size_t k = 0; k < subjects.size(); ++k) {
    const int64_t s = subjects[k];
    torch::Tensor x = cohort.image(s);  // read-only view of the mapping; stack() copies it once
    if (options.augment.enabled) {
      Rng rng = Rng::derive(options.seed, {static_cast<uint64_t>(epoch), static_cast<uint64_t>(first_position) + k});
      x = with_context("while augmenting subject " + cohort.id(s), [&] { return augment(x, options.augment, rng); });
    }
    images.push_back(x);
    labels.push_back(cohort.label(s));
  }
  b.images = torch::stack(images).contiguous();
  if (options.pin_memory) b.images = b.images.pin_memory();
  b.labels = torch::tensor(labels, torch::kLong);
  return b;
}

BatchLoader::BatchLoader(const PreprocessedCohort& cohort, std::vector<int64_t> indices, LoaderOptions options)
    : cohort_(cohort), indices_(std::move(indices)), options_(std::move(options)) {
  check(options_.batch_size >= 1, "data loader: batch_size must be >= 1, got " + std::to_string(options_.batch_size));
  check(options_.workers >= 0, "data loader: workers must be >= 0, got " + std::to_string(options_.workers));
  check(options_.shard_count >= 1 && options_.shard_rank >= 0 && options_.shard_rank < options_.shard_count,
        "data loader: shard " + std::to_string(options_.shard_rank) + " of " + std::to_string(options_.shard_count));
  check(options_.shard_count == 1 || options_.drop_last, "data loader: shards need drop_last (full batches)");
  check(options_.batch_size % options_.shard_count == 0,
        "--batch-size " + std::to_string(options_.batch_size) + " is not divisible by the " +
            std::to_string(options_.shard_count) + " processes training together (each takes an equal part of every batch)");
  check(options_.prefetch >= 1, "data loader: prefetch must be >= 1, got " + std::to_string(options_.prefetch));
  for (int64_t i : indices_)
    check(i >= 0 && i < cohort_.size(), "data loader: subject index " + std::to_string(i) + " outside the cohort of " +
                                            std::to_string(cohort_.size()));
  if (options_.augment.enabled) options_.augment.validate();
  check(batches_per_epoch() >= 1, "data loader: " + std::to_string(indices_.size()) +
                                      " subjects give no complete batch of " + std::to_string(options_.batch_size) +
                                      " (drop_last); use a smaller --batch-size");
}

BatchLoader::~BatchLoader() { stop_workers(); }

int64_t BatchLoader::batches_per_epoch() const {
  const int64_t n = num_subjects(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

Batch BatchLoader::prepare(int64_t batch_index) const {
  int64_t begin = batch_index * options_.batch_size;
  int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(order_.size()));
  if (options_.shard_count > 1) {  // drop_last batches are full: an equal slice per rank
    const int64_t part = options_.batch_size / options_.shard_count;
    begin += options_.shard_rank * part;
    end = std::min<int64_t>(begin + part, end);
  }
  std::vector<int64_t> subjects(order_.begin() + begin, order_.begin() + end);
  return make_batch(cohort_, subjects, options_, epoch_, begin, batch_index);
}

void BatchLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = false;
  ready_.clear();
  error_ = nullptr;
}

void BatchLoader::worker_loop() {
  at::set_num_threads(options_.worker_torch_threads);
  const int64_t total = batches_per_epoch();
  for (;;) {
    int64_t b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Bounded look-ahead: never prepare more than `prefetch` batches beyond the consumer.
      cv_.wait(lock, [&] {
        return stopping_ || next_to_prepare_ >= total || next_to_prepare_ < next_to_deliver_ + options_.prefetch;
      });
      if (stopping_ || next_to_prepare_ >= total || error_) return;
      b = next_to_prepare_++;
    }
    try {
      Batch batch = prepare(b);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(b, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

void BatchLoader::start_epoch(int64_t epoch) {
  stop_workers();
  epoch_ = epoch;
  order_ = epoch_order(indices_, options_.shuffle, options_.seed, epoch);
  next_to_deliver_ = 0;
  next_to_prepare_ = 0;
  for (int w = 0; w < options_.workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

std::optional<Batch> BatchLoader::next() {
  const int64_t total = batches_per_epoch();
  if (next_to_deliver_ >= total) return std::nullopt;
  if (options_.workers == 0) return prepare(next_to_deliver_++);
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return error_ || ready_.count(next_to_deliver_) > 0; });
  if (error_) std::rethrow_exception(error_);
  Batch b = std::move(ready_.at(next_to_deliver_));
  ready_.erase(next_to_deliver_);
  ++next_to_deliver_;
  lock.unlock();
  cv_.notify_all();
  return b;
}

}  // namespace mprotonet
