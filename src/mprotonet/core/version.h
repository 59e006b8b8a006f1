// SPDX-License-Identifier: MIT
// The tool's version and the git commit it was built from, so every result (run.json,
// evaluation.json, the report, `mprotonet --version`) can be traced to the code that made it.
// The values come from a header generated at build time (cmake/write_version.cmake); only
// version.cpp includes it, so a new commit recompiles that one file.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace mprotonet {

/// Release version of the project ("0.1.0", CMake's project version).
const char* version();

/// Full hash of the git commit the binary was built from, or "unknown" when the source tree
/// was not a git checkout (a tarball) and no MPROTONET_GIT_COMMIT was given to CMake.
const char* git_commit();

/// True when tracked files differed from that commit at build time (uncommitted changes).
bool git_modified();

/// One line for humans: "0.1.0 (commit <40 hex digits>)", with ", with uncommitted changes"
/// inside the parentheses when git_modified().
std::string version_line();

/// The same line for a build recorded in a file (build_info_json() read back from a run.json);
/// "unknown" for anything that is not such a record (a hand-edited file).
std::string version_line(const nlohmann::json& build_info);

/// {"version": "0.1.0", "commit": "<hash>|unknown", "modified": false}: the "mprotonet" entry
/// of run.json, evaluation.json and demo.json.
nlohmann::json build_info_json();

}  // namespace mprotonet
