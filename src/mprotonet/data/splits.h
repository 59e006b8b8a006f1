// SPDX-License-Identifier: MIT
// Stratified K-fold cross-validation splits (docs/method.md#training: 5 folds, seed 0).
//
// The assignment reproduces scikit-learn's StratifiedKFold(n_splits, shuffle=True,
// random_state=seed) exactly (same round-robin allocation and the same NumPy legacy MT19937
// shuffle), so a user of the reference gets the same folds for the same subject order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mprotonet {

struct Fold {
  std::vector<int64_t> train;  ///< subject indices, ascending
  std::vector<int64_t> test;   ///< subject indices, ascending
};

/// Test-fold index (0..n_splits-1) of each sample. Throws Error when n_splits < 2, when there
/// are fewer samples than folds, or when a class has fewer samples than folds (then some test
/// fold would miss that class and its BAC/AUC would be undefined).
std::vector<int> stratified_fold_assignment(const std::vector<int>& labels, int n_splits, uint32_t seed);

/// The K folds built from stratified_fold_assignment.
std::vector<Fold> stratified_k_fold(const std::vector<int>& labels, int n_splits, uint32_t seed);

/// NumPy's legacy `RandomState(seed).shuffle` of a 1-D array (MT19937, masked rejection sampling).
void numpy_legacy_shuffle(std::vector<int>& values, uint32_t seed);

}  // namespace mprotonet
