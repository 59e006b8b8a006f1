// SPDX-License-Identifier: MIT
// AP and DSC of attribution maps against the whole tumour (docs/method.md#metrics).
#include "mprotonet/metrics/localization.h"

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"

namespace mprotonet {

torch::Tensor tumour_mask(const torch::Tensor& seg, const std::vector<int64_t>& labels) {
  auto s = seg.round().to(torch::kLong);
  auto mask = torch::zeros(s.sizes(), s.options().dtype(torch::kBool));
  for (auto l : labels) mask = mask | (s == l);
  return mask;
}

LocalizationScores localization_scores(const torch::Tensor& maps, const torch::Tensor& seg,
                                       const LocalizationOptions& options) {
  check(maps.dim() == 5, "localisation maps have shape " + c10::str(maps.sizes()) + "; expected [N, C, D, H, W]");
  auto s = seg.dim() == 4 ? seg.unsqueeze(1) : seg;
  check(s.dim() == 5 && s.size(1) == 1 && s.size(0) == maps.size(0) && s.sizes().slice(2) == maps.sizes().slice(2),
        "segmentation has shape " + c10::str(seg.sizes()) + "; expected [N, 1, D, H, W] or [N, D, H, W] matching maps " +
            c10::str(maps.sizes()));
  const int64_t n = maps.size(0), c = maps.size(1);
  auto m = maps.detach().to(torch::kCPU, torch::kDouble).reshape({n, -1});
  check(!torch::isnan(m).any().item<bool>(), "localisation maps contain NaN");
  auto lo = std::get<0>(m.min(1, true)), hi = std::get<0>(m.max(1, true));
  auto range = hi - lo;
  // Constant map: nothing activated.
  auto norm = torch::where(range > 0, (m - lo) / torch::where(range > 0, range, torch::ones_like(range)),
                           torch::zeros_like(m));
  auto active = (norm >= options.threshold).reshape(maps.sizes());
  auto wt = tumour_mask(s.to(torch::kCPU), options.tumour_labels);  // [N, 1, D, H, W]
  auto inter = (active & wt).flatten(2).sum(2).to(torch::kDouble);  // [N, C]
  auto a = active.flatten(2).sum(2).to(torch::kDouble);
  auto w = wt.flatten(2).sum(2).to(torch::kDouble).expand({n, c});
  LocalizationScores out;
  out.ap = inter / a.clamp_min(1);
  out.dsc = 2 * inter / (a + w).clamp_min(1);
  return out;
}

nlohmann::json to_json(const LocalizationSummary& s) {
  return {{"ap", s.ap}, {"dsc", s.dsc}, {"ap_per_channel", s.ap_per_channel},
          {"dsc_per_channel", s.dsc_per_channel}, {"count", s.count}};
}

LocalizationScores LocalizationAccumulator::update(const torch::Tensor& maps, const torch::Tensor& seg) {
  auto scores = localization_scores(maps, seg, options_);
  if (!ap_.empty())
    check(ap_.front().size(1) == scores.ap.size(1), "localisation batch has " + std::to_string(scores.ap.size(1)) +
                                                        " channels; earlier batches had " +
                                                        std::to_string(ap_.front().size(1)));
  ap_.push_back(scores.ap);
  dsc_.push_back(scores.dsc);
  return scores;
}

torch::Tensor LocalizationAccumulator::ap() const { return ap_.empty() ? torch::Tensor() : torch::cat(ap_); }
torch::Tensor LocalizationAccumulator::dsc() const { return dsc_.empty() ? torch::Tensor() : torch::cat(dsc_); }

LocalizationSummary LocalizationAccumulator::aggregate() const {
  LocalizationSummary s;
  if (ap_.empty()) return s;
  auto ap = this->ap(), dsc = this->dsc();
  s.count = ap.size(0);
  if (s.count == 0) return s;
  auto apc = ap.mean(0), dscc = dsc.mean(0);
  for (int64_t i = 0; i < apc.size(0); ++i) {
    s.ap_per_channel.push_back(apc[i].item<double>());
    s.dsc_per_channel.push_back(dscc[i].item<double>());
  }
  s.ap = ap.mean(1).mean().item<double>();
  s.dsc = dsc.mean(1).mean().item<double>();
  return s;
}

void LocalizationAccumulator::reset() {
  ap_.clear();
  dsc_.clear();
}

}  // namespace mprotonet
