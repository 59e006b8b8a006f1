// SPDX-License-Identifier: MIT
// Kept-modality subsets and mean imputation of the missing channels (docs/method.md#metrics).
#include "mprotonet/metrics/missing_modalities.h"

#include <algorithm>

#include "mprotonet/core/error.h"

namespace mprotonet {

const std::vector<std::string>& modality_names() {
  static const std::vector<std::string> names = {"t1", "t1ce", "t2", "flair"};
  return names;
}

std::vector<std::vector<int64_t>> kept_modality_subsets(int64_t channels) {
  check(channels >= 2 && channels <= 16, "modality subsets of " + std::to_string(channels) +
                                             " channels; expected 2..16");
  std::vector<std::vector<int64_t>> out;
  for (int64_t mask = 1; mask < (int64_t{1} << channels) - 1; ++mask) {
    std::vector<int64_t> s;
    for (int64_t c = 0; c < channels; ++c)
      if (mask & (int64_t{1} << c)) s.push_back(c);
    out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return out;
}

std::string subset_name(const std::vector<int64_t>& kept) {
  std::string s;
  for (auto c : kept) {
    if (!s.empty()) s += "+";
    s += c >= 0 && c < static_cast<int64_t>(modality_names().size()) ? modality_names()[static_cast<size_t>(c)]
                                                                      : "c" + std::to_string(c);
  }
  return s;
}

torch::Tensor drop_modalities(const torch::Tensor& input, const std::vector<int64_t>& kept) {
  check(input.dim() >= 2, "modality input has shape " + c10::str(input.sizes()) + "; expected [N, C, ...]");
  check(!kept.empty(), "the kept-modality subset is empty; keep at least one channel");
  for (auto c : kept)
    check(c >= 0 && c < input.size(1), "kept channel " + std::to_string(c) + " is outside 0.." +
                                           std::to_string(input.size(1) - 1));
  auto idx = torch::tensor(kept, torch::kLong).to(input.device());
  auto mean = input.index_select(1, idx).mean(1, /*keepdim=*/true);
  auto out = input.clone();
  for (int64_t c = 0; c < input.size(1); ++c)
    if (std::find(kept.begin(), kept.end(), c) == kept.end()) out.select(1, c).copy_(mean.select(1, 0));
  return out;
}

}  // namespace mprotonet
