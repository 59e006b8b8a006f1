// SPDX-License-Identifier: MIT
// Class-balanced focal loss (see focal.h).
#include "mprotonet/losses/focal.h"

#include <sstream>

#include "mprotonet/core/error.h"
#include "mprotonet/core/text.h"

namespace mprotonet {

namespace {
}  // namespace

torch::Tensor class_balanced_weights(const std::vector<int64_t>& counts) {
  check(!counts.empty(), "class_balanced_weights: no class counts given");
  std::vector<float> w;
  for (size_t c = 0; c < counts.size(); ++c) {
    check(counts[c] > 0, "class_balanced_weights: class " + std::to_string(c) + " has " +
                             std::to_string(counts[c]) +
                             " training subjects; every class needs at least one");
    w.push_back(static_cast<float>(1.0 / static_cast<double>(counts[c])));
  }
  return torch::tensor(w, torch::kFloat);
}

torch::Tensor class_balanced_weights(const torch::Tensor& labels, int64_t n_classes) {
  check(labels.defined() && labels.dim() == 1,
        "class_balanced_weights: expected labels [N], got " +
            (labels.defined() ? shape_string(labels) : std::string("undefined")));
  check(n_classes >= 1, "class_balanced_weights: n_classes must be >= 1, got " + std::to_string(n_classes));
  auto l = labels.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<int64_t> counts(n_classes, 0);
  const int64_t* p = l.data_ptr<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i) {
    check(p[i] >= 0 && p[i] < n_classes, "class_balanced_weights: label " + std::to_string(p[i]) +
                                             " at index " + std::to_string(i) + " is outside [0, " +
                                             std::to_string(n_classes) + ")");
    ++counts[p[i]];
  }
  return class_balanced_weights(counts);
}

torch::Tensor focal_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                         const torch::Tensor& class_weights, double gamma) {
  check(logits.defined() && logits.dim() == 2,
        "focal_loss: expected logits [B, C], got " +
            (logits.defined() ? shape_string(logits) : std::string("undefined")));
  check(labels.defined() && labels.dim() == 1 && labels.size(0) == logits.size(0),
        "focal_loss: expected labels [" + std::to_string(logits.size(0)) + "], got " +
            (labels.defined() ? shape_string(labels) : std::string("undefined")));
  check(gamma >= 0, "focal_loss: gamma must be >= 0, got " + std::to_string(gamma));
  auto target = labels.to(logits.device(), torch::kLong);
  const auto log_p = torch::log_softmax(logits, 1).gather(1, target.unsqueeze(1)).squeeze(1);
  auto focal = -(1 - log_p.exp()).pow(gamma) * log_p;
  if (!class_weights.defined()) return focal.mean();
  check(class_weights.dim() == 1 && class_weights.size(0) == logits.size(1),
        "focal_loss: expected class weights [" + std::to_string(logits.size(1)) + "], got " +
            shape_string(class_weights));
  auto w = class_weights.to(logits.device(), logits.scalar_type()).index_select(0, target);
  return (w * focal).sum() / w.sum();
}

}  // namespace mprotonet
