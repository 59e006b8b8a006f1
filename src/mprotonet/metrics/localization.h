// SPDX-License-Identifier: MIT
// Localisation coherence of attribution maps (docs/method.md#metrics; Wei et al., MProtoNet, MIDL 2023): each
// subject's map is min-max normalised jointly over all its channels and voxels (one min, one
// max), the voxels >= 0.5 form the activated set A of each channel, and against the whole tumour
// WT (labels 1, 2, 4):  AP = |A n WT| / max(|A|, 1),  DSC = 2 |A n WT| / max(|A| + |WT|, 1),
// per channel (modality), then averaged over channels. A constant map (max = min) activates
// nothing (AP = DSC = 0) rather than dividing by zero.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

namespace mprotonet {

struct LocalizationOptions {
  /// Threshold on the normalised map, in [0, 1]; default 0.5.
  double threshold = 0.5;
  /// Segmentation labels counted as tumour; default {1, 2, 4} (whole tumour).
  std::vector<int64_t> tumour_labels{1, 2, 4};
};

/// Per subject and channel, float64 [N, C].
struct LocalizationScores {
  torch::Tensor ap;
  torch::Tensor dsc;
};

/// Boolean whole-tumour mask of a label volume (any shape).
torch::Tensor tumour_mask(const torch::Tensor& seg, const std::vector<int64_t>& labels = {1, 2, 4});

/// maps [N, C, D, H, W]; seg [N, 1, D, H, W] or [N, D, H, W] label values. Error on shape mismatch.
LocalizationScores localization_scores(const torch::Tensor& maps, const torch::Tensor& seg,
                                       const LocalizationOptions& options = {});

/// Means over the subjects seen.
struct LocalizationSummary {
  std::vector<double> ap_per_channel;   ///< [C] mean AP of each modality
  std::vector<double> dsc_per_channel;  ///< [C]
  double ap = 0.0;                      ///< mean over subjects of the channel-averaged AP
  double dsc = 0.0;
  int64_t count = 0;                    ///< subjects
};
/// {"ap", "dsc", "ap_per_channel", "dsc_per_channel", "count"}.
nlohmann::json to_json(const LocalizationSummary& s);

/// MONAI-style accumulator: update per batch, aggregate, reset.
class LocalizationAccumulator {
 public:
  explicit LocalizationAccumulator(LocalizationOptions options = {}) : options_(std::move(options)) {}
  /// Scores one batch and keeps its rows; returns them.
  LocalizationScores update(const torch::Tensor& maps, const torch::Tensor& seg);
  LocalizationSummary aggregate() const;
  void reset();
  /// Every row seen: [count, C] (undefined before the first update).
  torch::Tensor ap() const;
  torch::Tensor dsc() const;

 private:
  LocalizationOptions options_;
  std::vector<torch::Tensor> ap_, dsc_;
};

}  // namespace mprotonet
