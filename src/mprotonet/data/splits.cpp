// SPDX-License-Identifier: MIT
// Stratified K-fold, bit-compatible with scikit-learn 1.x StratifiedKFold(shuffle=True).
#include "mprotonet/data/splits.h"

#include <algorithm>
#include <map>
#include <random>

#include "mprotonet/core/error.h"

namespace mprotonet {

namespace {

/// NumPy's legacy random_interval: uniform integer in [0, max] by masked rejection.
uint32_t random_interval(std::mt19937& mt, uint32_t max) {
  if (max == 0) return 0;
  uint32_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  uint32_t value;
  while ((value = (static_cast<uint32_t>(mt()) & mask)) > max) {
  }
  return value;
}

/// Shuffles in place with a generator that persists across calls (as sklearn's rng does).
void shuffle_with(std::vector<int>& values, std::mt19937& mt) {
  for (size_t i = values.size(); i-- > 1;) {
    const uint32_t j = random_interval(mt, static_cast<uint32_t>(i));
    std::swap(values[i], values[j]);
  }
}

}  // namespace

void numpy_legacy_shuffle(std::vector<int>& values, uint32_t seed) {
  // RandomState(int) seeds MT19937 with init_genrand(seed), as std::mt19937(seed) does.
  std::mt19937 mt(seed);
  shuffle_with(values, mt);
}

std::vector<int> stratified_fold_assignment(const std::vector<int>& labels, int n_splits, uint32_t seed) {
  check(n_splits >= 2, "number of folds must be at least 2, got " + std::to_string(n_splits));
  const size_t n = labels.size();
  check(n >= static_cast<size_t>(n_splits),
        "cannot make " + std::to_string(n_splits) + " folds from " + std::to_string(n) + " subjects");

  // Encode classes by order of first appearance (as sklearn does).
  std::map<int, int> code;
  std::vector<int> encoded(n);
  for (size_t i = 0; i < n; ++i) {
    auto it = code.find(labels[i]);
    if (it == code.end()) it = code.emplace(labels[i], static_cast<int>(code.size())).first;
    encoded[i] = it->second;
  }
  const int n_classes = static_cast<int>(code.size());
  std::vector<int> counts(static_cast<size_t>(n_classes), 0);
  for (int e : encoded) ++counts[static_cast<size_t>(e)];
  for (const auto& [label, c] : code)
    check(counts[static_cast<size_t>(c)] >= n_splits,
          "class " + std::to_string(label) + " has only " + std::to_string(counts[static_cast<size_t>(c)]) +
              " subject(s), fewer than the " + std::to_string(n_splits) + " folds: every test fold needs both classes");

  // Round-robin allocation over the sorted encoded labels.
  std::vector<int> order = encoded;
  std::sort(order.begin(), order.end());
  std::vector<std::vector<int>> allocation(static_cast<size_t>(n_splits), std::vector<int>(static_cast<size_t>(n_classes), 0));
  for (size_t i = 0; i < n; ++i) ++allocation[i % static_cast<size_t>(n_splits)][static_cast<size_t>(order[i])];

  std::mt19937 mt(seed);
  std::vector<int> test_folds(n, 0);
  for (int k = 0; k < n_classes; ++k) {
    std::vector<int> folds_for_class;
    for (int f = 0; f < n_splits; ++f)
      folds_for_class.insert(folds_for_class.end(), static_cast<size_t>(allocation[static_cast<size_t>(f)][static_cast<size_t>(k)]), f);
    shuffle_with(folds_for_class, mt);
    size_t next = 0;
    for (size_t i = 0; i < n; ++i)
      if (encoded[i] == k) test_folds[i] = folds_for_class[next++];
  }
  return test_folds;
}

std::vector<Fold> stratified_k_fold(const std::vector<int>& labels, int n_splits, uint32_t seed) {
  const auto assignment = stratified_fold_assignment(labels, n_splits, seed);
  std::vector<Fold> folds(static_cast<size_t>(n_splits));
  for (size_t i = 0; i < assignment.size(); ++i)
    for (int f = 0; f < n_splits; ++f)
      (assignment[i] == f ? folds[static_cast<size_t>(f)].test : folds[static_cast<size_t>(f)].train).push_back(static_cast<int64_t>(i));
  return folds;
}

}  // namespace mprotonet
