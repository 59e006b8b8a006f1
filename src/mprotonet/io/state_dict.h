// SPDX-License-Identifier: MIT
// Reading and writing PyTorch `state_dict` files (the zip format of `torch.save`, PyTorch >= 1.6)
// without executing anything from the file: a restricted pickle interpreter over data.pkl that
// accepts only an allow-list of globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter, torch.*Storage types) and rebuilds tensors from the raw storage
// records. See docs/method.md#reading-checkpoints for why LibTorch's own pickle_load is not enough.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace mprotonet {

/// Ordered (name, tensor) pairs, in the file's order.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads `torch.save(net.state_dict())` (an OrderedDict, with or without _metadata) or
/// `torch.save(dict_of_tensors)`. Returned tensors are CPU, contiguous, with requires_grad false
/// (nn.Parameter is read as its data), and each owns its memory (views and tied entries are
/// copied apart). Dtypes: float32/64, float16, bfloat16, int8/16/32/64, uint8, bool.
/// Throws Error naming the file and the problem for: not a zip, no data.pkl, a global outside
/// the allow-list (named in the message), a storage record missing or shorter than its tensor,
/// a size/stride/offset reaching outside its storage, a value that is not a tensor, a key that
/// is not a string or appears twice, unknown pickle opcodes, big-endian files, CRC mismatches.
NamedTensors read_state_dict(const std::filesystem::path& path);

/// Reads a file written by `torch.save(tensor)` holding a single tensor.
torch::Tensor read_tensor_file(const std::filesystem::path& path);

/// Writes tensors so that `torch.load(path)` in Python (also with weights_only=True) returns an
/// OrderedDict with the same names, dtypes, shapes and values; tensors on any device, any
/// layout of strides. Throws Error for duplicate names, undefined tensors and dtypes outside the
/// list above. Atomic (temporary name, then rename).
void write_state_dict(const std::filesystem::path& path, const NamedTensors& tensors);

/// Writes a single tensor loadable by `torch.load(path)` in Python. Atomic.
void write_tensor_file(const std::filesystem::path& path, const torch::Tensor& tensor);

}  // namespace mprotonet
