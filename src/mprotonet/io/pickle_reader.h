// SPDX-License-Identifier: MIT
// A restricted, non-executing pickle interpreter for the `data.pkl` record of PyTorch files.
// It understands the opcodes `torch.save` emits (protocol 2, plus the few protocol 3-5 opcodes
// a newer Python may use) and resolves GLOBAL only against an allow-list:
// collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and
// the typed storages torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage.
// Any other global (os.system, builtins.eval, ...) is refused when it is named, before anything
// could call it. Objects live in a flat arena indexed by integers, so cyclic or deeply nested
// input costs bounded memory and no recursion.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace mprotonet::pickle {

/// A storage named by a persistent id ('storage', torch.XStorage, key, location, numel).
struct StorageRequest {
  std::string key;        ///< record name under <archive>/data/
  std::string location;   ///< device it was saved from ("cpu", "cuda:0"); everything loads to CPU
  torch::ScalarType dtype = torch::kFloat;
  int64_t numel = 0;      ///< number of elements (not bytes)
};

/// Returns a 1-D contiguous CPU tensor of exactly `numel` elements of `dtype` (throws Error when
/// the record is missing or too short).
using StorageLoader = std::function<torch::Tensor(const StorageRequest&)>;

/// Bounds on what an untrusted pickle may make the interpreter allocate.
struct Limits {
  /// Objects created (every opcode creates at most one); default 8 million.
  uint64_t max_objects = 8'000'000;
  /// Values on the stack at once; default 1 million.
  uint64_t max_stack = 1'000'000;
  /// Bytes of tensors materialised from storages (a stride-0 view can ask for far more than the
  /// file holds); default 1 GiB. Callers raise it with the file size.
  uint64_t max_tensor_bytes = 1ull << 30;
};

/// The top-level value of a torch.save file, as far as this reader accepts one.
struct Unpickled {
  bool is_tensor = false;
  torch::Tensor tensor;                                        ///< when is_tensor
  std::vector<std::pair<std::string, torch::Tensor>> entries;  ///< when a dict of tensors
  std::string top_level_kind;  ///< "tensor", "dict", or the kind found ("int", "list", ...)
};

/// Interprets `data` (the bytes of data.pkl). Throws mprotonet::Error, naming the byte offset and
/// opcode, on anything outside the accepted subset. A top-level dict whose values are not all
/// tensors is an Error naming the first offending key; any other top-level kind is returned
/// with is_tensor false and empty entries (the caller words the error).
Unpickled unpickle(std::string_view data, const StorageLoader& load_storage, const Limits& limits = {});

/// Escapes a string from a file for an error message (non-printable bytes as \xNN, cut at 200).
std::string printable(std::string_view s);

}  // namespace mprotonet::pickle
