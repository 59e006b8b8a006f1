// SPDX-License-Identifier: MIT
// Run-time data lookup (see resources.h).
#include "mprotonet/core/resources.h"

#include <cstdlib>
#include <system_error>

#include "mprotonet/core/error.h"

namespace mprotonet {

namespace fs = std::filesystem;

namespace {

fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return exe.parent_path();
}

// True when `path` is `folder` or below it (both resolved: /proc/self/exe has no symlinks).
bool inside(const fs::path& path, const fs::path& folder) {
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(folder, ec);
  if (ec) return false;
  const fs::path rel = fs::weakly_canonical(path, ec).lexically_relative(root);
  return !ec && !rel.empty() && *rel.begin() != "..";
}

}  // namespace

std::vector<fs::path> resource_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("MPROTONET_DATA_DIR"); env != nullptr && *env != '\0') {
    std::error_code ec;
    check(fs::is_directory(env, ec),
          std::string("MPROTONET_DATA_DIR '") + env + "' is not a folder");
    dirs.emplace_back(env);
  }
  if (const fs::path exe = executable_dir(); !exe.empty()) {
    dirs.push_back(exe.parent_path() / "share" / "mprotonet");
  }
#if defined(MPROTONET_SOURCE_RESOURCES) && defined(MPROTONET_BUILD_TREE)
  if (const fs::path exe = executable_dir(); !exe.empty() && inside(exe, MPROTONET_BUILD_TREE)) {
    dirs.emplace_back(MPROTONET_SOURCE_RESOURCES);
#if defined(MPROTONET_SOURCE_THIRD_PARTY)
    dirs.emplace_back(MPROTONET_SOURCE_THIRD_PARTY);  // vendored code (niivue/), installed beside resources/
#endif
  }
#endif
  return dirs;
}

fs::path resource_path(const std::string& relative) {
  std::string searched;
  for (const fs::path& dir : resource_dirs()) {
    std::error_code ec;
    const fs::path candidate = dir / relative;
    if (fs::is_regular_file(candidate, ec)) return candidate;
    searched += (searched.empty() ? "" : ", ") + dir.string();
  }
  throw Error("data file '" + relative + "' not found (searched " + searched +
              "; set MPROTONET_DATA_DIR to the folder holding it)");
}

}  // namespace mprotonet
