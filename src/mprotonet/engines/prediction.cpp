// SPDX-License-Identifier: MIT
// A model's predictions on cohort subjects, BatchNorm recalibration, and their metrics
// (engines/trainer.h predict, recalibrate_batchnorm, metrics_of).
#include "mprotonet/engines/trainer.h"

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/data/loader.h"
#include "mprotonet/engines/precision.h"

namespace mprotonet {

std::vector<SubjectPrediction> predict(nets::ClassifierImpl& model, const PreprocessedCohort& cohort,
                                       const std::vector<int64_t>& indices, int64_t batch_size,
                                       const torch::Device& device, const std::string& precision) {
  const Precision prec = parse_precision(precision);
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  std::vector<SubjectPrediction> out;
  BatchLoader loader(cohort, indices, LoaderOptions::evaluation(batch_size));
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    torch::Tensor logits;
    {
      AutocastGuard autocast(prec, device);
      logits = model.forward(batch->images.to(device));
    }
    const auto cpu_logits = logits.to(torch::kCPU, torch::kDouble);
    // A non-finite output is a broken model (or input), never a class: softmax would turn NaN
    // into an arbitrary prediction.
    const auto finite = torch::isfinite(cpu_logits).all(1);
    for (size_t k = 0; k < batch->indices.size(); ++k)
      check(finite[static_cast<int64_t>(k)].item<bool>(),
            "the model's output for subject " + cohort.id(batch->indices[k]) +
                " is not finite (NaN or infinite logits); the weights or the input are broken");
    const auto probs = torch::softmax(cpu_logits, 1).contiguous();
    for (size_t k = 0; k < batch->indices.size(); ++k) {
      SubjectPrediction p;
      p.index = batch->indices[k];
      p.id = cohort.id(p.index);
      p.label = cohort.label(p.index);
      p.probability = {probs[static_cast<int64_t>(k)][0].item<double>(), probs[static_cast<int64_t>(k)][1].item<double>()};
      p.prediction = p.probability[1] > p.probability[0] ? 1 : 0;
      out.push_back(p);
    }
  }
  model.train(was_training);
  return out;
}

void recalibrate_batchnorm(nets::ClassifierImpl& model, const PreprocessedCohort& cohort,
                           const std::vector<int64_t>& indices, int64_t batch_size, const torch::Device& device,
                           const std::string& precision) {
  const Precision prec = parse_precision(precision);
  std::vector<std::pair<std::shared_ptr<torch::nn::BatchNorm3dImpl>, c10::optional<double>>> bns;
  for (const auto& m : model.modules(/*include_self=*/false))
    if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm3dImpl>(m)) {
      bns.emplace_back(bn, bn->options.momentum());
      bn->options.momentum(c10::nullopt);  // cumulative moving average
      bn->reset_running_stats();
    }
  if (bns.empty() || indices.empty()) return;
  const bool was_training = model.is_training();
  model.train();
  {
    torch::NoGradGuard no_grad;
    BatchLoader loader(cohort, indices, LoaderOptions::evaluation(batch_size));
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
      AutocastGuard autocast(prec, device);
      model.forward(batch->images.to(device));
    }
  }
  for (auto& [bn, momentum] : bns) bn->options.momentum(momentum);
  model.train(was_training);
}

ClassificationMetrics metrics_of(const std::vector<SubjectPrediction>& predictions) {
  ClassificationAccumulator acc;
  for (const auto& p : predictions) acc.update(p.label, p.prediction, p.probability[1]);
  return acc.aggregate();
}

nlohmann::json to_json(const std::vector<SubjectPrediction>& predictions) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : predictions)
    j.push_back({{"id", p.id},
                 {"index", p.index},
                 {"label", p.label},
                 {"probabilities", {p.probability[0], p.probability[1]}},
                 {"prediction", p.prediction}});
  return j;
}

}  // namespace mprotonet
