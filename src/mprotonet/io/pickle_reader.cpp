// SPDX-License-Identifier: MIT
// Restricted pickle interpreter (opcode semantics as in CPython's Lib/pickle.py and
// Lib/pickletools.py) specialised to what torch.save writes.
#include "mprotonet/io/pickle_reader.h"

#include <cstring>
#include <limits>
#include <unordered_map>

#include "mprotonet/core/error.h"
#include "mprotonet/io/pickle_opcodes.h"

namespace mprotonet::pickle {

std::string printable(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  const size_t n = std::min<size_t>(s.size(), 200);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > n) out += "...";
  return out;
}

namespace {

enum class Kind : uint8_t { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

/// "a tuple", "an int": for messages.
std::string a_kind(Kind k) {
  const std::string name = kind_name(k);
  return (name == "int" ? "an " : "a ") + name;
}

enum class Callable : uint8_t { OrderedDict, RebuildTensorV2, RebuildParameter, StorageType };

struct Node {
  Kind kind = Kind::None;
  int64_t i = 0;     // Int/Bool value; Float bits; Global: Callable
  uint32_t aux = 0;  // String/Bytes: strings_; Tuple/List/Dict: seqs_; Storage: storages_;
                     // Tensor: tensors_; Global of a storage type: the ScalarType
};

struct StorageEntry {
  StorageRequest request;
  torch::Tensor data;       // 1-D, request.numel elements
  bool handed_out = false;  // `data` itself was returned as a tensor; later views must copy
};

struct StorageTypeName {
  const char* name;
  torch::ScalarType dtype;
};
constexpr StorageTypeName kStorageTypes[] = {
    {"FloatStorage", torch::kFloat},   {"DoubleStorage", torch::kDouble},
    {"HalfStorage", torch::kHalf},     {"BFloat16Storage", torch::kBFloat16},
    {"LongStorage", torch::kLong},     {"IntStorage", torch::kInt},
    {"ShortStorage", torch::kShort},   {"CharStorage", torch::kChar},
    {"ByteStorage", torch::kByte},     {"BoolStorage", torch::kBool},
};

/// Largest number of dimensions accepted for a tensor (PyTorch itself caps at 64 in places).
constexpr size_t kMaxDims = 64;
/// Longest module or attribute name accepted in GLOBAL.
constexpr size_t kMaxGlobalName = 256;


class Unpickler {
 public:
  Unpickler(std::string_view data, const StorageLoader& loader, const Limits& limits)
      : data_(data), loader_(loader), limits_(limits) {}

  Unpickled run();

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error("data.pkl, byte " + std::to_string(op_pos_) + " (opcode " + opcode_name(op_) + "): " + msg);
  }
  const unsigned char* take(size_t n) {
    if (n > data_.size() - pos_) fail("pickle ends early (needs " + std::to_string(n) + " more bytes; truncated file?)");
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data()) + pos_;
    pos_ += n;
    return p;
  }
  uint64_t take_le(size_t n) {
    const unsigned char* p = take(n);
    uint64_t v = 0;
    for (size_t b = 0; b < n; ++b) v |= static_cast<uint64_t>(p[b]) << (8 * b);
    return v;
  }
  std::string_view take_line() {
    const size_t start = pos_;
    const size_t nl = data_.find('\n', start);
    if (nl == std::string_view::npos || nl - start > kMaxGlobalName) fail("GLOBAL name is unterminated or longer than 256 bytes");
    pos_ = nl + 1;
    return data_.substr(start, nl - start);
  }

  uint32_t add(Node n) {
    if (nodes_.size() >= limits_.max_objects) fail("more than " + std::to_string(limits_.max_objects) + " objects");
    nodes_.push_back(n);
    return static_cast<uint32_t>(nodes_.size() - 1);
  }
  uint32_t add_int(int64_t v, Kind k = Kind::Int) { return add({k, v, 0}); }
  uint32_t add_string(std::string s, Kind k) {
    strings_.push_back(std::move(s));
    return add({k, 0, static_cast<uint32_t>(strings_.size() - 1)});
  }
  uint32_t add_seq(Kind k, std::vector<uint32_t> items) {
    seqs_.push_back(std::move(items));
    return add({k, 0, static_cast<uint32_t>(seqs_.size() - 1)});
  }
  void push(uint32_t id) {
    if (stack_.size() >= limits_.max_stack) fail("stack deeper than " + std::to_string(limits_.max_stack));
    stack_.push_back(id);
  }
  uint32_t pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    const uint32_t id = stack_.back();
    stack_.pop_back();
    return id;
  }
  uint32_t top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<uint32_t> pop_to_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  const Node& node(uint32_t id) const { return nodes_[id]; }
  const std::string& str(uint32_t id) const { return strings_[nodes_[id].aux]; }
  std::vector<uint32_t>& seq(uint32_t id) { return seqs_[nodes_[id].aux]; }
  void expect(uint32_t id, Kind k, const std::string& what) {
    if (node(id).kind != k) fail(what + " must be " + a_kind(k) + ", found " + a_kind(node(id).kind));
  }

  void memo_put(uint64_t index) {
    if (memo_.size() >= limits_.max_objects) fail("memo too large");
    memo_[index] = top();
  }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  void op_global(std::string_view module, std::string_view name);
  void op_reduce(bool newobj);
  void op_build();
  void op_persid();
  void set_items(uint32_t dict, const std::vector<uint32_t>& kv);
  uint32_t rebuild_tensor(const std::vector<uint32_t>& args);
  std::vector<int64_t> int_tuple(uint32_t id, const std::string& what);
  Unpickled finish(uint32_t root);

  std::string_view data_;
  const StorageLoader& loader_;
  Limits limits_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  unsigned char op_ = 0;

  std::vector<Node> nodes_;
  std::vector<std::string> strings_;
  std::vector<std::vector<uint32_t>> seqs_;
  std::vector<StorageEntry> storages_;
  std::unordered_map<std::string, uint32_t> storage_by_key_;
  std::vector<torch::Tensor> tensors_;
  uint64_t tensor_bytes_ = 0;

  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
};

void Unpickler::op_global(std::string_view module, std::string_view name) {
  auto refuse = [&] {
    fail("refused global '" + printable(module) + "." + printable(name) +
         "': only collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
         "torch._utils._rebuild_parameter and torch.<Type>Storage may appear in a checkpoint "
         "(the file may try to run code)");
  };
  if (module == "collections" && name == "OrderedDict") {
    push(add({Kind::Global, static_cast<int64_t>(Callable::OrderedDict), 0}));
  } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    push(add({Kind::Global, static_cast<int64_t>(Callable::RebuildTensorV2), 0}));
  } else if (module == "torch._utils" && name == "_rebuild_parameter") {
    push(add({Kind::Global, static_cast<int64_t>(Callable::RebuildParameter), 0}));
  } else if (module == "torch") {
    for (const auto& t : kStorageTypes) {
      if (name == t.name) {
        push(add({Kind::Global, static_cast<int64_t>(Callable::StorageType), static_cast<uint32_t>(t.dtype)}));
        return;
      }
    }
    refuse();
  } else {
    refuse();
  }
}

void Unpickler::set_items(uint32_t dict, const std::vector<uint32_t>& kv) {
  expect(dict, Kind::Dict, "target of SETITEM(S)");
  if (kv.size() % 2 != 0) fail("odd number of items for a dict");
  auto& items = seq(dict);
  items.insert(items.end(), kv.begin(), kv.end());
}

std::vector<int64_t> Unpickler::int_tuple(uint32_t id, const std::string& what) {
  expect(id, Kind::Tuple, what);
  const auto& items = seq(id);
  if (items.size() > kMaxDims) fail(what + " has " + std::to_string(items.size()) + " dimensions (at most 64)");
  std::vector<int64_t> out;
  for (uint32_t item : items) {
    expect(item, Kind::Int, "every element of " + what);
    out.push_back(node(item).i);
  }
  return out;
}

void Unpickler::op_persid() {
  const uint32_t pid = pop();
  expect(pid, Kind::Tuple, "persistent id");
  if (seq(pid).size() != 5) fail("persistent id must have 5 fields ('storage', type, key, location, numel), found " + std::to_string(seq(pid).size()));
  const std::vector<uint32_t> items = seq(pid);
  if (items.size() != 5) fail("persistent id must have 5 fields ('storage', type, key, location, numel), found " + std::to_string(items.size()));
  expect(items[0], Kind::String, "persistent id field 0");
  if (str(items[0]) != "storage") fail("persistent id of kind '" + printable(str(items[0])) + "' (expected 'storage')");
  const Node& type = node(items[1]);
  if (type.kind != Kind::Global || type.i != static_cast<int64_t>(Callable::StorageType)) {
    fail("persistent id field 1 must be a torch.<Type>Storage, found " + a_kind(type.kind));
  }
  expect(items[2], Kind::String, "storage key");
  expect(items[3], Kind::String, "storage location");
  expect(items[4], Kind::Int, "storage size");
  StorageRequest req;
  req.dtype = static_cast<torch::ScalarType>(type.aux);
  req.key = str(items[2]);
  req.location = str(items[3]);
  req.numel = node(items[4]).i;
  if (req.numel < 0) fail("storage '" + printable(req.key) + "' has negative size " + std::to_string(req.numel));

  const auto it = storage_by_key_.find(req.key);
  if (it != storage_by_key_.end()) {
    const StorageRequest& prev = storages_[it->second].request;
    if (prev.dtype != req.dtype || prev.numel != req.numel) {
      fail("storage '" + printable(req.key) + "' is named twice with different types or sizes");
    }
    push(add({Kind::Storage, 0, it->second}));
    return;
  }
  StorageEntry entry;
  entry.request = req;
  entry.data = loader_(req);
  if (!entry.data.defined() || entry.data.numel() != req.numel || entry.data.scalar_type() != req.dtype) {
    fail("storage loader returned a wrong tensor for '" + printable(req.key) + "'");
  }
  storages_.push_back(std::move(entry));
  const auto idx = static_cast<uint32_t>(storages_.size() - 1);
  storage_by_key_.emplace(req.key, idx);
  push(add({Kind::Storage, 0, idx}));
}

uint32_t Unpickler::rebuild_tensor(const std::vector<uint32_t>& args) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.size() != 6 && args.size() != 7) {
    fail("_rebuild_tensor_v2 takes 6 or 7 arguments, found " + std::to_string(args.size()));
  }
  expect(args[0], Kind::Storage, "argument 1 of _rebuild_tensor_v2");
  expect(args[1], Kind::Int, "storage offset");
  StorageEntry& st = storages_[node(args[0]).aux];
  const int64_t offset = node(args[1]).i;
  const std::vector<int64_t> sizes = int_tuple(args[2], "tensor size");
  const std::vector<int64_t> strides = int_tuple(args[3], "tensor stride");
  expect(args[4], Kind::Bool, "requires_grad");
  expect(args[5], Kind::Dict, "backward_hooks");
  if (args.size() == 7) expect(args[6], Kind::Dict, "tensor metadata");
  if (sizes.size() != strides.size()) {
    fail("tensor size has " + std::to_string(sizes.size()) + " dimensions but stride has " + std::to_string(strides.size()));
  }
  const std::string where = " (storage '" + printable(st.request.key) + "' of " + std::to_string(st.request.numel) + " elements)";
  if (offset < 0) fail("negative storage offset " + std::to_string(offset) + where);
  // numel and the largest element index, in 128-bit so hostile values cannot overflow.
  __int128 numel = 1, last = offset;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0) fail("negative size " + std::to_string(sizes[d]) + " in dimension " + std::to_string(d));
    if (strides[d] < 0) fail("negative stride " + std::to_string(strides[d]) + " in dimension " + std::to_string(d));
    numel *= sizes[d];
    if (numel > (static_cast<__int128>(1) << 62)) fail("tensor has more than 2^62 elements");
  }
  const int64_t elem = static_cast<int64_t>(c10::elementSize(st.request.dtype));
  torch::Tensor t;
  if (numel == 0) {
    if (offset > st.request.numel) fail("storage offset " + std::to_string(offset) + " lies outside the storage" + where);
    t = torch::empty(sizes, torch::TensorOptions().dtype(st.request.dtype));
  } else {
    for (size_t d = 0; d < sizes.size(); ++d) last += static_cast<__int128>(sizes[d] - 1) * strides[d];
    if (last >= st.request.numel) {
      fail("tensor (offset " + std::to_string(offset) + ", size " + c10::str(c10::IntArrayRef(sizes)) +
           ", stride " + c10::str(c10::IntArrayRef(strides)) + ") reaches outside its storage" + where);
    }
    const __int128 bytes = numel * elem;
    if (bytes > static_cast<__int128>(limits_.max_tensor_bytes - tensor_bytes_)) {
      fail("tensors built from this file would take more than " + std::to_string(limits_.max_tensor_bytes) +
           " bytes (a view repeating its storage?)");
    }
    tensor_bytes_ += static_cast<uint64_t>(bytes);
    torch::Tensor view = st.data.as_strided(sizes, strides, offset);
    if (!st.handed_out && offset == 0 && numel == st.request.numel && view.is_contiguous()) {
      // The usual case (one tensor per storage): hand the storage over without a copy.
      t = st.data.view(sizes);
      st.handed_out = true;
    } else {
      // Copy out so every tensor owns compact memory, independent of shared storages.
      t = view.clone(at::MemoryFormat::Contiguous);
    }
  }
  tensors_.push_back(t);
  return add({Kind::Tensor, 0, static_cast<uint32_t>(tensors_.size() - 1)});
}

void Unpickler::op_reduce(bool newobj) {
  const uint32_t args_id = pop();
  const uint32_t fn = pop();
  expect(args_id, Kind::Tuple, "arguments of REDUCE");
  if (node(fn).kind != Kind::Global) fail("cannot call " + a_kind(node(fn).kind));
  // Checked before copying, so a huge tuple referenced many times cannot make this quadratic.
  if (seq(args_id).size() > 7) fail("too many arguments (" + std::to_string(seq(args_id).size()) + ")");
  const std::vector<uint32_t> args = seq(args_id);
  switch (static_cast<Callable>(node(fn).i)) {
    case Callable::OrderedDict:
      if (!args.empty()) fail("OrderedDict must be created with no arguments");
      push(add_seq(Kind::Dict, {}));
      return;
    case Callable::RebuildTensorV2:
      if (newobj) break;
      push(rebuild_tensor(args));
      return;
    case Callable::RebuildParameter:
      if (newobj) break;
      // _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself is all we keep.
      if (args.size() != 3) fail("_rebuild_parameter takes 3 arguments, found " + std::to_string(args.size()));
      expect(args[0], Kind::Tensor, "argument 1 of _rebuild_parameter");
      expect(args[1], Kind::Bool, "argument 2 of _rebuild_parameter");
      expect(args[2], Kind::Dict, "argument 3 of _rebuild_parameter");
      push(args[0]);
      return;
    case Callable::StorageType:
      break;
  }
  fail("this global cannot be called here");
}

void Unpickler::op_build() {
  const uint32_t state = pop();
  const uint32_t obj = top();
  // The only BUILD torch.save writes sets a state_dict's `_metadata` attribute; it is ignored.
  if (node(obj).kind != Kind::Dict) fail("BUILD on " + a_kind(node(obj).kind) + " is not supported");
  if (node(state).kind != Kind::Dict && node(state).kind != Kind::None) {
    fail("BUILD state must be a dict, found " + a_kind(node(state).kind));
  }
}

Unpickled Unpickler::finish(uint32_t root) {
  Unpickled out;
  const Node& r = node(root);
  out.top_level_kind = kind_name(r.kind);
  if (r.kind == Kind::Tensor) {
    out.is_tensor = true;
    out.tensor = tensors_[r.aux];
    return out;
  }
  if (r.kind != Kind::Dict) return out;
  const auto& items = seq(root);
  std::unordered_map<std::string, size_t> seen;
  std::vector<bool> tensor_used(tensors_.size(), false);
  for (size_t k = 0; k + 1 < items.size(); k += 2) {
    const Node& key = node(items[k]);
    if (key.kind != Kind::String) {
      throw Error("data.pkl: dict key number " + std::to_string(k / 2) + " is " + a_kind(key.kind) + ", expected a str");
    }
    const std::string& name = strings_[key.aux];
    const Node& value = node(items[k + 1]);
    if (value.kind != Kind::Tensor) {
      throw Error("data.pkl: entry '" + printable(name) + "' is " + a_kind(value.kind) +
                  ", not a tensor (expected a state_dict: a dict of tensors only)");
    }
    if (!seen.emplace(name, k).second) throw Error("data.pkl: entry '" + printable(name) + "' appears twice");
    // The same tensor object under two names (tied weights, memoised by the pickler) gets a
    // copy, so that every returned tensor owns its memory.
    out.entries.emplace_back(name, tensor_used[value.aux] ? tensors_[value.aux].clone() : tensors_[value.aux]);
    tensor_used[value.aux] = true;
  }
  return out;
}

Unpickled Unpickler::run() {
  while (true) {
    op_pos_ = pos_;
    op_ = 0;
    const unsigned char op = *take(1);
    op_ = op;
    switch (op) {
      case 0x80: {  // PROTO
        const unsigned v = *take(1);
        if (v > 5) fail("pickle protocol " + std::to_string(v) + " is not supported (at most 5)");
        break;
      }
      case 0x95: take(8); break;  // FRAME: only a read-ahead hint
      case '.': {
        const uint32_t root = pop();
        return finish(root);
      }
      case '(':
        if (marks_.size() >= limits_.max_stack) fail("too many MARKs");
        marks_.push_back(stack_.size());
        break;
      case '0':
        if (stack_.size() == floor() && !marks_.empty()) {
          marks_.pop_back();  // POP of a mark, as in CPython
        } else {
          pop();
        }
        break;
      case '1': pop_to_mark(); break;
      case '2': push(top()); break;
      case 'N': push(add({Kind::None, 0, 0})); break;
      case 0x88: push(add_int(1, Kind::Bool)); break;
      case 0x89: push(add_int(0, Kind::Bool)); break;
      case 'J': push(add_int(static_cast<int32_t>(static_cast<uint32_t>(take_le(4))))); break;
      case 'K': push(add_int(static_cast<int64_t>(take_le(1)))); break;
      case 'M': push(add_int(static_cast<int64_t>(take_le(2)))); break;
      case 0x8a:
      case 0x8b: {  // LONG1 / LONG4: little-endian two's complement of n bytes
        const uint64_t n = op == 0x8a ? take_le(1) : take_le(4);
        if (n > 8) fail("integer of " + std::to_string(n) + " bytes is too large (at most 8)");
        uint64_t v = take_le(static_cast<size_t>(n));
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1u) v |= ~0ull << (8 * n);  // sign-extend
        push(add_int(static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // big-endian IEEE double
        const unsigned char* p = take(8);
        uint64_t bits = 0;
        for (int b = 0; b < 8; ++b) bits = (bits << 8) | p[b];
        push(add_int(static_cast<int64_t>(bits), Kind::Float));
        break;
      }
      case 'X': case 0x8c: case 0x8d: case 'T': case 'U': case 'B': case 'C': case 0x8e: {
        uint64_t n = 0;
        if (op == 0x8c || op == 'U' || op == 'C') {
          n = take_le(1);
        } else if (op == 0x8d || op == 0x8e) {
          n = take_le(8);
        } else {
          n = take_le(4);
          if (op == 'T' && n > 0x7FFFFFFFu) fail("negative string length");
        }
        if (n > data_.size() - pos_) fail("string of " + std::to_string(n) + " bytes runs past the end of the pickle");
        const char* p = reinterpret_cast<const char*>(take(static_cast<size_t>(n)));
        const bool bytes = op == 'B' || op == 'C' || op == 0x8e;
        push(add_string(std::string(p, static_cast<size_t>(n)), bytes ? Kind::Bytes : Kind::String));
        break;
      }
      case ')': push(add_seq(Kind::Tuple, {})); break;
      case 't': push(add_seq(Kind::Tuple, pop_to_mark())); break;
      case 0x85: case 0x86: case 0x87: {
        const size_t n = static_cast<size_t>(op - 0x84);
        std::vector<uint32_t> items(n);
        for (size_t k = n; k-- > 0;) items[k] = pop();
        push(add_seq(Kind::Tuple, std::move(items)));
        break;
      }
      case ']': push(add_seq(Kind::List, {})); break;
      case 'l': push(add_seq(Kind::List, pop_to_mark())); break;
      case 'a': {
        const uint32_t v = pop();
        const uint32_t list = top();
        expect(list, Kind::List, "target of APPEND");
        seq(list).push_back(v);
        break;
      }
      case 'e': {
        const std::vector<uint32_t> items = pop_to_mark();
        const uint32_t list = top();
        expect(list, Kind::List, "target of APPENDS");
        auto& s = seq(list);
        s.insert(s.end(), items.begin(), items.end());
        break;
      }
      case '}': push(add_seq(Kind::Dict, {})); break;
      case 'd': {
        const std::vector<uint32_t> kv = pop_to_mark();
        const uint32_t d = add_seq(Kind::Dict, {});
        set_items(d, kv);
        push(d);
        break;
      }
      case 's': {
        const uint32_t v = pop();
        const uint32_t k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {
        const std::vector<uint32_t> kv = pop_to_mark();
        set_items(top(), kv);
        break;
      }
      case 'q': memo_put(take_le(1)); break;
      case 'r': memo_put(take_le(4)); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'h': memo_get(take_le(1)); break;
      case 'j': memo_get(take_le(4)); break;
      case 'c': {
        const std::string_view module = take_line();
        const std::string_view name = take_line();
        op_global(module, name);
        break;
      }
      case 0x93: {
        const uint32_t name = pop();
        const uint32_t module = pop();
        expect(name, Kind::String, "STACK_GLOBAL name");
        expect(module, Kind::String, "STACK_GLOBAL module");
        op_global(str(module), str(name));
        break;
      }
      case 'R': op_reduce(false); break;
      case 0x81: op_reduce(true); break;
      case 'b': op_build(); break;
      case 'Q': op_persid(); break;
      default:
        fail("unsupported pickle opcode (not written by torch.save, or the file is corrupt)");
    }
  }
}

}  // namespace

Unpickled unpickle(std::string_view data, const StorageLoader& load_storage, const Limits& limits) {
  Unpickler u(data, load_storage, limits);
  return u.run();
}

}  // namespace mprotonet::pickle
