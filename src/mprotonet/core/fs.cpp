// SPDX-License-Identifier: MIT
// Atomic, checked and staged file writing.
#include "mprotonet/core/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mprotonet/core/error.h"

namespace mprotonet {

namespace fs = std::filesystem;

namespace {
thread_local StagedOutputs* current_scope = nullptr;
}  // namespace

fs::path temporary_sibling(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  fs::path tmp = target;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  // Keep the extension chain out of the temporary name's end so writers that dispatch on the
  // suffix (".nii.gz") can be told the real format explicitly.
  return tmp;
}

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  const fs::path tmp = temporary_sibling(target);
  try {
    write(tmp);
    if (StagedOutputs::stage(tmp, target)) return;  // renamed by the scope's commit()
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) throw Error("cannot rename " + tmp.string() + " to " + target.string() + ": " + ec.message());
  } catch (Error& e) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    e.add_context("while writing " + target.string());
    throw;
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    Error wrapped(e.what());
    wrapped.add_context("while writing " + target.string());
    throw wrapped;
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_file_checked(const fs::path& path, const void* data, size_t size, const fs::path& shown) {
  const std::string name = (shown.empty() ? path : shown).string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot open " + name + " for writing: " + std::strerror(errno));
  const auto* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, std::min<size_t>(left, size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;  // a 0-byte write makes no progress: the device is full
      ::close(fd);
      throw Error("cannot write " + name + ": " + std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // Some file systems (NFS, quotas) report a failed write only when the file is closed.
  if (::close(fd) != 0) throw Error("cannot write " + name + ": " + std::strerror(errno));
}

void write_bytes_atomically(const fs::path& target, const void* data, size_t size) {
  write_atomically(target, [&](const fs::path& tmp) { write_file_checked(tmp, data, size, target); });
}

void write_text_atomically(const fs::path& target, const std::string& text) {
  write_bytes_atomically(target, text.data(), text.size());
}

// ------------------------------------------------------------------------------ StagedOutputs
StagedOutputs::StagedOutputs() {
  if (current_scope != nullptr) throw Error("internal error: StagedOutputs scopes do not nest");
  current_scope = this;
}

StagedOutputs::~StagedOutputs() {
  if (current_scope == this) current_scope = nullptr;
  if (!committed_) roll_back();
}

bool StagedOutputs::stage(const fs::path& tmp, const fs::path& target) {
  if (current_scope == nullptr) return false;
  auto& staged = current_scope->staged_;
  for (auto it = staged.begin(); it != staged.end(); ++it)
    if (it->second == target) {  // written twice: the later version wins
      std::error_code ignored;
      fs::remove(it->first, ignored);
      staged.erase(it);
      break;
    }
  staged.emplace_back(tmp, target);
  return true;
}

void StagedOutputs::create_directories(const fs::path& dir) {
  // Record every missing ancestor, outermost first, so roll_back removes them innermost first.
  std::vector<fs::path> missing;
  for (fs::path p = dir; !p.empty() && !fs::exists(p); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create folder " + dir.string() + ": " + ec.message());
  created_dirs_.insert(created_dirs_.end(), missing.rbegin(), missing.rend());
}

void StagedOutputs::commit() {
  if (current_scope == this) current_scope = nullptr;
  for (size_t i = 0; i < staged_.size(); ++i) {
    std::error_code ec;
    fs::rename(staged_[i].first, staged_[i].second, ec);
    if (ec) {
      const std::string msg = "cannot rename " + staged_[i].first.string() + " to " + staged_[i].second.string() +
                              ": " + ec.message();
      staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(i));
      throw Error(msg);
    }
  }
  staged_.clear();
  committed_ = true;
}

void StagedOutputs::roll_back() noexcept {
  std::error_code ignored;
  for (const auto& [tmp, target] : staged_) fs::remove(tmp, ignored);
  staged_.clear();
  for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it)
    if (fs::is_empty(*it, ignored)) fs::remove(*it, ignored);
  created_dirs_.clear();
}

// ------------------------------------------------------------------------------ names, reading
void check_path_component(const std::string& name, const std::string& what) {
  std::string reason;
  if (name.empty()) reason = "it is empty";
  else if (name == "." || name == "..") reason = "'.' and '..' name no folder of their own";
  else if (name.find_first_of("/\\") != std::string::npos) reason = "it contains a path separator ('/' or '\\')";
  else if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    reason = "it contains a control character";
  if (!reason.empty()) {
    std::string shown = name;  // control characters (a NUL would cut the message) shown as '?'
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    throw Error(what + " '" + shown + "' is not a valid " + what + " (" + reason +
                "); it becomes a file name, which must stay inside its output folder");
  }
}

fs::path child_path(const fs::path& dir, const std::string& name, const std::string& what) {
  check_path_component(name, what);
  return dir / name;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open file (" + (fs::exists(path) ? "permission denied?" : "no such file") + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace mprotonet
