// SPDX-License-Identifier: MIT
// Batch prediction and its JSON form.
#include "mprotonet/nets/inference.h"

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"

namespace mprotonet::nets {

Prediction predict(ClassifierImpl& model, const torch::Tensor& input) {
  check(input.dim() == 5, "prediction input has shape " + c10::str(input.sizes()) + "; expected [N, C, D, H, W]");
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> rows;
  try {
    for (int64_t i = 0; i < input.size(0); ++i) rows.push_back(model.forward(input.slice(0, i, i + 1)));
  } catch (...) {
    model.train(was_training);
    throw;
  }
  model.train(was_training);
  Prediction p;
  p.logits = rows.empty() ? torch::zeros({0, model.config().out_size}) : torch::cat(rows).to(torch::kCPU).to(torch::kFloat);
  p.probabilities = torch::softmax(p.logits, 1);
  p.predicted = p.logits.argmax(1);
  return p;
}

nlohmann::json prediction_to_json(const Prediction& p) {
  auto matrix = [](const torch::Tensor& t) {
    nlohmann::json rows = nlohmann::json::array();
    auto c = t.contiguous();
    auto a = c.accessor<float, 2>();
    for (int64_t i = 0; i < c.size(0); ++i) {
      nlohmann::json row = nlohmann::json::array();
      for (int64_t j = 0; j < c.size(1); ++j) row.push_back(static_cast<double>(a[i][j]));
      rows.push_back(row);
    }
    return rows;
  };
  nlohmann::json j;
  j["logits"] = matrix(p.logits);
  j["probabilities"] = matrix(p.probabilities);
  j["predicted"] = nlohmann::json::array();
  for (int64_t i = 0; i < p.predicted.size(0); ++i) j["predicted"].push_back(p.predicted[i].item<int64_t>());
  return j;
}

}  // namespace mprotonet::nets
