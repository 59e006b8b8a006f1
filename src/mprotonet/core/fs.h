// SPDX-License-Identifier: MIT
// Filesystem helpers shared by every writer: atomic writes (temporary name then rename) so
// nothing already written is ever left half-replaced.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace mprotonet {

/// A sibling temporary path for `target` ("<target>.tmp-<pid>-<n>"), same directory so the
/// final rename is atomic. PreprocessedCohort::build relies on this pattern to remove stale
/// temporaries of killed processes from its cache folder.
std::filesystem::path temporary_sibling(const std::filesystem::path& target);

/// Calls write(tmp) with a temporary sibling path, then renames tmp over target. On any
/// exception the temporary file is removed and the exception propagates; target is untouched.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& write);

/// Writes text to path atomically.
void write_text_atomically(const std::filesystem::path& target, const std::string& text);

/// Checks that `name` is one plain path component, so `dir / name` stays inside dir: not empty,
/// not "." or "..", no '/' or '\\' (a Windows export), no NUL or other control character.
/// Throws Error "<what> '<name>' is not a valid ... (<reason>)". Used for every file or folder
/// name derived from data (subject ids), never for paths the user typed.
void check_path_component(const std::string& name, const std::string& what);

/// dir / name after check_path_component(name, what).
std::filesystem::path child_path(const std::filesystem::path& dir, const std::string& name, const std::string& what);

/// Reads a whole file; Error naming the file when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace mprotonet
