// SPDX-License-Identifier: MIT
// Filesystem helpers shared by every writer: atomic writes (temporary name then rename) so
// nothing already written is ever left half-replaced, checked writes that report the system's
// reason ("No space left on device") naming the file, and staged groups of outputs that appear
// together or not at all.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mprotonet {

/// A sibling temporary path for `target` ("<target>.tmp-<pid>-<n>"), same directory so the
/// final rename is atomic. PreprocessedCohort::build relies on this pattern to remove stale
/// temporaries of killed processes from its cache folder.
std::filesystem::path temporary_sibling(const std::filesystem::path& target);

/// Calls write(tmp) with a temporary sibling path, then renames tmp over target. On any
/// exception the temporary file is removed and the exception propagates with the context
/// "while writing <target>"; target is untouched. Inside a StagedOutputs scope of the calling
/// thread the rename is deferred to the scope's commit().
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& write);

/// Writes `size` bytes to a new file at `path` (created, or truncated) with POSIX writes and
/// closes it, checking every call: Error "cannot write <shown>: <strerror>" (e.g. "No space
/// left on device") names `shown` (default: path). The file is left for the caller to remove.
void write_file_checked(const std::filesystem::path& path, const void* data, size_t size,
                        const std::filesystem::path& shown = {});

/// write_file_checked through write_atomically: target appears complete or not at all.
void write_bytes_atomically(const std::filesystem::path& target, const void* data, size_t size);

/// Writes text to path atomically.
void write_text_atomically(const std::filesystem::path& target, const std::string& text);

/// A group of outputs of one command that must appear together or not at all (a prediction's
/// JSON and its maps, the five volumes of a preprocessed case). While the object lives, every
/// write_atomically on the constructing thread writes its temporary but defers the rename;
/// commit() renames them all. Destroyed without commit() (an exception), it removes every
/// temporary and the folders it created, so a failed command leaves nothing under the final
/// names and what existed before is untouched. Scopes do not nest.
class StagedOutputs {
 public:
  StagedOutputs();
  ~StagedOutputs();
  StagedOutputs(const StagedOutputs&) = delete;
  StagedOutputs& operator=(const StagedOutputs&) = delete;

  /// create_directories(dir), remembering the folders created so that a failure removes them
  /// again (when still empty). Error naming dir when it cannot be created.
  void create_directories(const std::filesystem::path& dir);
  /// Renames every staged temporary over its target, in the order written.
  void commit();

  /// Used by write_atomically: records (temporary, target) of the current thread's scope.
  /// Returns false when no scope is active.
  static bool stage(const std::filesystem::path& tmp, const std::filesystem::path& target);

 private:
  void roll_back() noexcept;
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> staged_;  // (tmp, target)
  std::vector<std::filesystem::path> created_dirs_;
  bool committed_ = false;
};

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
