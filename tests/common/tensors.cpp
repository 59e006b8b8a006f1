// SPDX-License-Identifier: MIT
#include "common/tensors.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace mprotonet::test {

double max_relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  const double scale = std::max(b.abs().max().item<double>(), 1e-12);
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>() / scale;
}

}  // namespace mprotonet::test
