// SPDX-License-Identifier: MIT
// Comparing tensors against an oracle's.
#pragma once

#include <torch/types.h>

namespace mprotonet::test {

/// max |a - b| / max |b| (b's scale floored at 1e-12); fails the current test and returns 1e30
/// when the shapes differ.
double max_relative_difference(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace mprotonet::test
