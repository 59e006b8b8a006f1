// SPDX-License-Identifier: MIT
// PyTorch state_dict / tensor files: the zip layout of torch.save (<archive>/data.pkl,
// <archive>/data/<key> raw little-endian storages, <archive>/version) read through the
// restricted unpickler and written with a pickle that uses only the same allow-listed globals.
#include "mprotonet/io/state_dict.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/pickle_reader.h"
#include "mprotonet/io/zip_archive.h"

namespace mprotonet {

namespace fs = std::filesystem;

namespace {

/// data.pkl of a state_dict is about 100 bytes per tensor; anything beyond this is hostile.
constexpr uint64_t kMaxPickleBytes = 64ull << 20;
/// Floor of the bound on bytes materialised from storage views (see pickle::Limits).
constexpr uint64_t kMinTensorBudget = 1ull << 30;
/// Archive folder name used on writing (Python uses the file's stem; any name loads).
constexpr const char* kArchiveName = "archive";
/// File-format version PyTorch 1.13 writes into <archive>/version.
constexpr const char* kFormatVersion = "3\n";

/// Runs fn and turns any failure into an Error whose outermost context is the file.
template <typename Fn>
auto in_file(const fs::path& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (Error& e) {
    e.add_context(path.string());
    throw;
  } catch (const c10::Error& e) {
    Error wrapped(e.what_without_backtrace());
    wrapped.add_context(path.string());
    throw wrapped;
  } catch (const std::bad_alloc&) {
    Error wrapped("out of memory while reading (a size in the file is implausible?)");
    wrapped.add_context(path.string());
    throw wrapped;
  } catch (const std::exception& e) {
    Error wrapped(e.what());
    wrapped.add_context(path.string());
    throw wrapped;
  }
}

pickle::Unpickled load_file(const fs::path& path) {
  zip::Reader zip(path);
  // The archive folder is whatever precedes "/data.pkl" (torch.save uses the file's stem).
  const zip::Entry* pkl = nullptr;
  for (const zip::Entry& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && slash > 0 && e.name.substr(slash) == "/data.pkl") {
      if (pkl) throw Error("zip archive holds more than one data.pkl record");
      pkl = &e;
    }
  }
  if (!pkl) {
    throw Error("zip archive has no <archive>/data.pkl record (not a file written by torch.save?)");
  }
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - std::string("data.pkl").size());

  if (const zip::Entry* bo = zip.find(prefix + "byteorder")) {
    const std::string order = zip.read(*bo, 16);
    if (order == "big") throw Error("big-endian PyTorch files are not supported (byteorder record says 'big')");
    if (order != "little") throw Error("byteorder record holds '" + pickle::printable(order) + "', expected 'little'");
  }

  const std::string pickle_bytes = zip.read(*pkl, kMaxPickleBytes);

  auto load_storage = [&](const pickle::StorageRequest& req) {
    const std::string name = prefix + "data/" + req.key;
    const zip::Entry* rec = zip.find(name);
    if (!rec) throw Error("storage record '" + pickle::printable(name) + "' is missing from the archive");
    const uint64_t elem = c10::elementSize(req.dtype);
    if (static_cast<uint64_t>(req.numel) > rec->size / elem) {
      throw Error("storage record '" + pickle::printable(name) + "' holds " + std::to_string(rec->size) +
                  " bytes, but its tensor storage needs " + std::to_string(req.numel) + " elements of " +
                  std::to_string(elem) + " bytes (record too short)");
    }
    torch::Tensor t = torch::empty({req.numel}, torch::TensorOptions().dtype(req.dtype));
    zip.read_into(*rec, t.data_ptr(), static_cast<uint64_t>(req.numel) * elem);
    if (req.dtype == torch::kBool) {
      // Any byte other than 0/1 in a bool tensor is undefined behaviour in C++.
      const auto* p = static_cast<const unsigned char*>(t.data_ptr());
      if (std::any_of(p, p + req.numel, [](unsigned char c) { return c > 1; })) {
        throw Error("storage record '" + pickle::printable(name) + "' holds a bool other than 0 or 1");
      }
    }
    return t;
  };

  pickle::Limits limits;
  limits.max_tensor_bytes = std::max<uint64_t>(kMinTensorBudget, 4 * zip.file_size());
  return pickle::unpickle(pickle_bytes, load_storage, limits);
}

// --- writing ------------------------------------------------------------------------------

const char* storage_type_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return "FloatStorage";
    case torch::kDouble: return "DoubleStorage";
    case torch::kHalf: return "HalfStorage";
    case torch::kBFloat16: return "BFloat16Storage";
    case torch::kLong: return "LongStorage";
    case torch::kInt: return "IntStorage";
    case torch::kShort: return "ShortStorage";
    case torch::kChar: return "CharStorage";
    case torch::kByte: return "ByteStorage";
    case torch::kBool: return "BoolStorage";
    default: return nullptr;
  }
}

/// Emits the protocol-2 pickle Python's torch.save would write for these objects.
class PickleWriter {
 public:
  PickleWriter() { out_ += "\x80\x02"; }
  void op(char c) { out_ += c; }
  void le(uint64_t v, int n) {
    for (int b = 0; b < n; ++b) out_ += static_cast<char>((v >> (8 * b)) & 0xFF);
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      op('\x8a');  // LONG1, 8-byte two's complement
      le(8, 1);
      le(static_cast<uint64_t>(v), 8);
    }
  }
  void string(const std::string& s) {
    op('X');
    le(s.size(), 4);
    out_ += s;
  }
  void global(const std::string& module, const std::string& name) { out_ += "c" + module + "\n" + name + "\n"; }
  void int_tuple(c10::IntArrayRef v) {
    if (v.empty()) {
      op(')');
      return;
    }
    op('(');
    for (int64_t x : v) integer(x);
    op('t');
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }
  /// _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict()) for a contiguous tensor.
  void tensor(const torch::Tensor& t, const std::string& key) {
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(');
    string("storage");
    global("torch", storage_type_name(t.scalar_type()));
    string(key);
    string("cpu");
    integer(t.numel());
    op('t');
    op('Q');
    integer(0);
    int_tuple(t.sizes());
    int_tuple(t.strides());
    op('\x89');
    empty_ordered_dict();
    op('t');
    op('R');
  }
  std::string finish() {
    op('.');
    return std::move(out_);
  }

 private:
  std::string out_;
};

torch::Tensor prepare_for_writing(const torch::Tensor& t, const std::string& name) {
  check(t.defined(), "tensor '" + name + "' is undefined");
  check(storage_type_name(t.scalar_type()) != nullptr,
        "tensor '" + name + "' has dtype " + std::string(c10::toString(t.scalar_type())) +
            ", which cannot be written (supported: float32/64, float16, bfloat16, int8/16/32/64, uint8, bool)");
  return t.detach().to(torch::kCPU).contiguous();
}

void write_archive(const fs::path& path, const std::string& pickle_bytes, const std::vector<torch::Tensor>& storages) {
  // Built in memory, then written with checked writes (the system's reason, e.g. "No space
  // left on device", naming the file).
  std::ostringstream out(std::ios::binary);
  zip::Writer zip(out);
  const std::string prefix = std::string(kArchiveName) + "/";
  zip.add(prefix + "data.pkl", pickle_bytes.data(), pickle_bytes.size());
  for (size_t k = 0; k < storages.size(); ++k) {
    const torch::Tensor& t = storages[k];
    zip.add(prefix + "data/" + std::to_string(k), t.data_ptr(), t.numel() * t.element_size());
  }
  zip.add(prefix + "version", kFormatVersion, std::strlen(kFormatVersion));
  zip.finish();
  const std::string bytes = out.str();
  write_bytes_atomically(path, bytes.data(), bytes.size());
}

}  // namespace

NamedTensors read_state_dict(const fs::path& path) {
  return in_file(path, [&] {
    pickle::Unpickled u = load_file(path);
    if (u.is_tensor) throw Error("holds a single tensor, not a state_dict (a dict of tensors)");
    if (u.top_level_kind != "dict") {
      throw Error("top-level object is a " + u.top_level_kind + ", expected a state_dict (a dict of tensors)");
    }
    return std::move(u.entries);
  });
}

torch::Tensor read_tensor_file(const fs::path& path) {
  return in_file(path, [&] {
    pickle::Unpickled u = load_file(path);
    if (!u.is_tensor) throw Error("top-level object is a " + u.top_level_kind + ", expected a single tensor");
    return u.tensor;
  });
}

void write_state_dict(const fs::path& path, const NamedTensors& tensors) {
  in_file(path, [&] {
    PickleWriter w;
    w.empty_ordered_dict();
    std::vector<torch::Tensor> storages;
    std::unordered_set<std::string> names;
    if (!tensors.empty()) w.op('(');
    for (const auto& [name, tensor] : tensors) {
      check(names.insert(name).second, "tensor name '" + name + "' appears twice");
      storages.push_back(prepare_for_writing(tensor, name));
      w.string(name);
      w.tensor(storages.back(), std::to_string(storages.size() - 1));
    }
    if (!tensors.empty()) w.op('u');
    write_archive(path, w.finish(), storages);
  });
}

void write_tensor_file(const fs::path& path, const torch::Tensor& tensor) {
  in_file(path, [&] {
    PickleWriter w;
    std::vector<torch::Tensor> storages{prepare_for_writing(tensor, "tensor")};
    w.tensor(storages[0], "0");
    write_archive(path, w.finish(), storages);
  });
}

}  // namespace mprotonet
