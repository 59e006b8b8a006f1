// SPDX-License-Identifier: MIT
// Atomic file writing.
#include "mprotonet/core/fs.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

#include "mprotonet/core/error.h"

namespace mprotonet {

namespace fs = std::filesystem;

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
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) throw Error("cannot rename " + tmp.string() + " to " + target.string() + ": " + ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_text_atomically(const fs::path& target, const std::string& text) {
  write_atomically(target, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error("cannot open " + tmp.string() + " for writing");
    out << text;
    out.close();
    if (!out) throw Error("write failed for " + tmp.string() + " (disk full?)");
  });
}

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
