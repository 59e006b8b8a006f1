// SPDX-License-Identifier: MIT
// Incremental deletion / addition (docs/method.md#metrics).
#include "mprotonet/metrics/faithfulness.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "mprotonet/attribution/attribution.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/text.h"
#include "mprotonet/metrics/classification.h"

namespace mprotonet {

namespace {

void check_steps(int64_t steps) {
  check(steps >= 1, "faithfulness steps = " + std::to_string(steps) + "; expected >= 1");
}

void check_pair(const torch::Tensor& input, const torch::Tensor& map) {
  check(input.dim() == 4 && map.dim() == 4 && input.sizes().slice(1) == map.sizes().slice(1),
        "deletion input " + c10::str(input.sizes()) + " and map " + c10::str(map.sizes()) +
            " must both be [C, D, H, W] with the same spatial size");
}


nlohmann::json numbers(const std::vector<double>& v) {
  auto a = nlohmann::json::array();
  for (double x : v) a.push_back(json_number(x));
  return a;
}

}  // namespace

int64_t faithfulness_forward_count(int64_t subjects, const FaithfulnessOptions& options) {
  return subjects * 2 * (options.steps + 1);
}

torch::Tensor deletion_thresholds(const torch::Tensor& map, int64_t steps) {
  check_steps(steps);
  auto flat = map.detach().to(torch::kCPU, torch::kDouble).mean(0).flatten();
  // (steps - i) / steps rather than 1 - i / steps: exact at the data points for round grids.
  auto q = (static_cast<double>(steps) - torch::arange(steps + 1, torch::kDouble)) / static_cast<double>(steps);
  return torch::quantile(flat, q.clamp(0.0, 1.0));
}

namespace {

// Step `step` of the deletion (or addition) series of one subject; avg = channel-mean map [D, H, W].
torch::Tensor perturbed(const torch::Tensor& input, const torch::Tensor& avg, const torch::Tensor& thr, int64_t step,
                        bool deletion) {
  if (step == 0) return deletion ? input : torch::zeros_like(input);
  const double t = thr[step].item<double>();
  auto keep = (deletion ? avg < t : avg >= t).to(input.scalar_type());
  return input * keep.unsqueeze(0);
}

torch::Tensor series(const torch::Tensor& input, const torch::Tensor& map, int64_t steps, bool deletion) {
  check_pair(input, map);
  auto thr = deletion_thresholds(map, steps);
  auto avg = map.detach().to(input.device(), torch::kDouble).mean(0);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i <= steps; ++i) out.push_back(perturbed(input, avg, thr, i, deletion));
  return torch::stack(out);
}

}  // namespace

torch::Tensor deletion_inputs(const torch::Tensor& input, const torch::Tensor& map, int64_t steps) {
  return series(input, map, steps, true);
}

torch::Tensor addition_inputs(const torch::Tensor& input, const torch::Tensor& map, int64_t steps) {
  return series(input, map, steps, false);
}

PerturbationPredictions perturbation_predictions(nets::ClassifierImpl& model, const torch::Tensor& input,
                                                 const torch::Tensor& maps, const FaithfulnessOptions& options) {
  check_steps(options.steps);
  check(options.batch_size >= 1, "faithfulness batch size = " + std::to_string(options.batch_size) + "; expected >= 1");
  check(input.dim() == 5 && maps.dim() == 5 && input.size(0) == maps.size(0),
        "deletion input " + c10::str(input.sizes()) + " and maps " + c10::str(maps.sizes()) +
            " must both be [N, C, D, H, W] with the same N");
  const attribution::EvalModeGuard eval_mode(model);
  torch::NoGradGuard no_grad;
  const int64_t n = input.size(0), s = options.steps + 1;
  PerturbationPredictions out;
  out.deletion = torch::zeros({n, s}, torch::kLong);
  out.addition = torch::zeros({n, s}, torch::kLong);
  const int64_t total = faithfulness_forward_count(n, options);
  for (int64_t b = 0; b < n; ++b) {
    // Built chunk by chunk: the 2 x 51 copies of a full-size subject would need ~2.6 GB at once.
    const auto x = input[b];
    check_pair(x, maps[b]);
    const auto thr = deletion_thresholds(maps[b], options.steps);
    const auto avg = maps[b].detach().to(x.device(), torch::kDouble).mean(0);
    std::vector<torch::Tensor> preds;
    for (int64_t i = 0; i < 2 * s; i += options.batch_size) {
      std::vector<torch::Tensor> chunk;
      for (int64_t j = i; j < std::min(2 * s, i + options.batch_size); ++j)
        chunk.push_back(perturbed(x, avg, thr, j % s, j < s));
      preds.push_back(model.forward(torch::stack(chunk)).argmax(1).to(torch::kCPU, torch::kLong));
    }
    auto p = torch::cat(preds);
    out.deletion[b].copy_(p.slice(0, 0, s));
    out.addition[b].copy_(p.slice(0, s, 2 * s));
    if (options.progress) options.progress((b + 1) * 2 * s, total);
  }
  return out;
}

double normalised_curve_area(const std::vector<double>& curve) {
  if (curve.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double lo = std::min(curve.front(), curve.back()), hi = std::max(curve.front(), curve.back());
  if (!(hi > lo)) return std::numeric_limits<double>::quiet_NaN();
  double area = 0.0;
  auto norm = [&](double v) { return (std::clamp(v, lo, hi) - lo) / (hi - lo); };
  for (size_t i = 0; i + 1 < curve.size(); ++i) area += 0.5 * (norm(curve[i]) + norm(curve[i + 1]));
  return area / static_cast<double>(curve.size() - 1);
}

nlohmann::json to_json(const FaithfulnessResult& r) {
  return {{"ids", json_number(r.ids)},
          {"ias", json_number(r.ias)},
          {"ids_accuracy", json_number(r.ids_accuracy)},
          {"ias_accuracy", json_number(r.ias_accuracy)},
          {"count", r.count},
          {"curves",
           {{"deletion_accuracy", numbers(r.deletion_accuracy)},
            {"deletion_bac", numbers(r.deletion_bac)},
            {"addition_accuracy", numbers(r.addition_accuracy)},
            {"addition_bac", numbers(r.addition_bac)}}}};
}

void FaithfulnessAccumulator::update(const torch::Tensor& deletion, const torch::Tensor& addition,
                                     const torch::Tensor& labels) {
  check(deletion.dim() == 2 && addition.sizes() == deletion.sizes() && labels.dim() == 1 &&
            labels.size(0) == deletion.size(0),
        "faithfulness update: deletion " + c10::str(deletion.sizes()) + ", addition " + c10::str(addition.sizes()) +
            ", labels " + c10::str(labels.sizes()) + "; expected [B, S], [B, S], [B]");
  if (!deletion_.empty())
    check(static_cast<int64_t>(deletion_.front().size()) == deletion.size(1),
          "faithfulness update has " + std::to_string(deletion.size(1)) + " steps; earlier batches had " +
              std::to_string(deletion_.front().size()));
  auto d = deletion.to(torch::kCPU, torch::kLong), a = addition.to(torch::kCPU, torch::kLong);
  auto l = labels.to(torch::kCPU, torch::kLong);
  for (int64_t i = 0; i < d.size(0); ++i) {
    std::vector<int> dr, ar;
    for (int64_t j = 0; j < d.size(1); ++j) {
      dr.push_back(static_cast<int>(d[i][j].item<int64_t>()));
      ar.push_back(static_cast<int>(a[i][j].item<int64_t>()));
    }
    deletion_.push_back(std::move(dr));
    addition_.push_back(std::move(ar));
    labels_.push_back(static_cast<int>(l[i].item<int64_t>()));
  }
}

FaithfulnessResult FaithfulnessAccumulator::aggregate() const {
  FaithfulnessResult r;
  r.count = size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (labels_.empty()) {
    r.ids = r.ias = r.ids_accuracy = r.ias_accuracy = nan;
    return r;
  }
  const size_t steps = deletion_.front().size();
  for (size_t j = 0; j < steps; ++j) {
    std::vector<int> dp, ap;
    for (size_t i = 0; i < labels_.size(); ++i) {
      dp.push_back(deletion_[i][j]);
      ap.push_back(addition_[i][j]);
    }
    r.deletion_accuracy.push_back(accuracy(labels_, dp));
    r.deletion_bac.push_back(balanced_accuracy(labels_, dp));
    r.addition_accuracy.push_back(accuracy(labels_, ap));
    r.addition_bac.push_back(balanced_accuracy(labels_, ap));
  }
  r.ids = normalised_curve_area(r.deletion_bac);
  r.ias = normalised_curve_area(r.addition_bac);
  r.ids_accuracy = normalised_curve_area(r.deletion_accuracy);
  r.ias_accuracy = normalised_curve_area(r.addition_accuracy);
  return r;
}

std::vector<std::pair<double, double>> FaithfulnessAccumulator::per_subject_areas() const {
  auto area = [](const std::vector<int>& predictions, int label) {
    if (predictions.size() < 2) return std::numeric_limits<double>::quiet_NaN();
    double a = 0.0;
    for (size_t i = 0; i + 1 < predictions.size(); ++i)
      a += 0.5 * ((predictions[i] == label ? 1.0 : 0.0) + (predictions[i + 1] == label ? 1.0 : 0.0));
    return a / static_cast<double>(predictions.size() - 1);
  };
  std::vector<std::pair<double, double>> out;
  for (size_t i = 0; i < labels_.size(); ++i)
    out.emplace_back(area(deletion_[i], labels_[i]), area(addition_[i], labels_[i]));
  return out;
}

void FaithfulnessAccumulator::reset() {
  deletion_.clear();
  addition_.clear();
  labels_.clear();
}

}  // namespace mprotonet
