// SPDX-License-Identifier: MIT
// The build's version and commit (see version.h). Compiled on its own (outside the unity batches
// and the precompiled header), so the header regenerated after a commit recompiles only this file.
#include "mprotonet/core/version.h"

#include <nlohmann/json.hpp>

#include "mprotonet_build_version.h"  // generated into the build folder by cmake/write_version.cmake

namespace mprotonet {

const char* version() { return MPROTONET_BUILD_VERSION; }

const char* git_commit() { return MPROTONET_BUILD_COMMIT; }

bool git_modified() { return MPROTONET_BUILD_MODIFIED != 0; }

nlohmann::json build_info_json() {
  return {{"version", version()}, {"commit", git_commit()}, {"modified", git_modified()}};
}

std::string version_line() { return version_line(build_info_json()); }

std::string version_line(const nlohmann::json& info) {
  if (!info.is_object() || !info.contains("version") || !info["version"].is_string() || !info.contains("commit") ||
      !info["commit"].is_string())
    return "unknown";
  const bool modified = info.contains("modified") && info["modified"].is_boolean() && info["modified"].get<bool>();
  return info["version"].get<std::string>() + " (commit " + info["commit"].get<std::string>() +
         (modified ? ", with uncommitted changes)" : ")");
}

}  // namespace mprotonet
