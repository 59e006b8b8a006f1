// Atomic file writing.
#include "mprotonet/core/fs.h"

#include <unistd.h>

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

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open file (" + (fs::exists(path) ? "permission denied?" : "no such file") + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace mprotonet
