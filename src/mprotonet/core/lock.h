// SPDX-License-Identifier: MIT
// Locks on output folders, so that two processes never write one run folder (or one fold of it)
// at the same time: the second is refused with a message naming the holder.
//
// A lock is a file (e.g. RUN_DIR/.lock) holding its holder's pid and host, locked with flock(2):
// exclusive, or shared among processes that write disjoint parts (jobs training different folds).
// The kernel releases a flock when its process ends in any way (also SIGKILL), so a lock file
// left by a dead process is stale by construction: the next process takes it over (and says so).
#pragma once

#include <filesystem>
#include <string>

namespace mprotonet {

class FolderLock {
 public:
  enum class Mode { kExclusive, kShared };

  /// Takes the lock file `file` (its folder must exist). Error, after waiting at most
  /// `wait_seconds`, when another live process holds it in a conflicting mode: "<what> is in
  /// use by pid <n> on <host> (lock file <file>); ...". `what` names the locked thing
  /// ("run folder runs/x", "fold 1 of runs/x").
  FolderLock(const std::filesystem::path& file, const std::string& what, Mode mode = Mode::kExclusive,
             double wait_seconds = 0);
  /// Releases the lock; the last holder removes the lock file.
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  /// The earlier holder ("pid <n> on <host>") when a lock left by a process that no longer
  /// runs was taken over; "" otherwise.
  const std::string& taken_over_from() const { return taken_over_from_; }

 private:
  bool try_lock(int fd, Mode mode);
  std::filesystem::path file_;
  std::string what_;
  int fd_ = -1;
  std::string taken_over_from_;
};

}  // namespace mprotonet
