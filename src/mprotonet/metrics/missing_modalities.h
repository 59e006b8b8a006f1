// SPDX-License-Identifier: MIT
// Missing-modality robustness (docs/method.md#metrics, as in Wei et al., MProtoNet, MIDL 2023): for each of the
// 14 non-empty proper subsets of the 4 modalities that is kept, every missing channel is replaced
// voxel-wise by the mean of the kept channels, and the classification metrics are recomputed.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace mprotonet {

/// Modality names in channel order: t1, t1ce, t2, flair.
const std::vector<std::string>& modality_names();

/// The non-empty proper subsets of `channels` channels as sorted channel lists, by size then
/// lexicographically (for 4: {0}, {1}, {2}, {3}, {0,1}, ..., {1,2,3}; 14 subsets).
std::vector<std::vector<int64_t>> kept_modality_subsets(int64_t channels = 4);

/// "t1+t1ce" style name of a kept subset (channel numbers beyond the four names print as cN).
std::string subset_name(const std::vector<int64_t>& kept);

/// input [N, C, ...]: the missing channels replaced by the voxel-wise mean of the kept ones.
/// Error for an empty subset or a channel out of range.
torch::Tensor drop_modalities(const torch::Tensor& input, const std::vector<int64_t>& kept);

}  // namespace mprotonet
