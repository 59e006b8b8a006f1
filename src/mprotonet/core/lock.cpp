// SPDX-License-Identifier: MIT
// flock-based folder locks (see lock.h).
#include "mprotonet/core/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "mprotonet/core/error.h"

namespace mprotonet {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

std::string holder_line() { return "pid " + std::to_string(::getpid()) + " on " + host_name(); }

// The holder lines a lock file carries ("pid <n> on <host>", one per shared holder).
std::string read_holders(int fd) {
  char buf[1024] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ',';
    else if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return s;
}

}  // namespace

bool FolderLock::try_lock(int fd, Mode mode) {
  if (::flock(fd, (mode == Mode::kExclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return true;
  if (errno != EWOULDBLOCK) throw Error("cannot lock " + file_.string() + ": " + std::strerror(errno));
  return false;
}

FolderLock::FolderLock(const std::filesystem::path& file, const std::string& what, Mode mode, double wait_seconds)
    : file_(file), what_(what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
  // The last holder removes the file when it releases the lock, so a process that opened the
  // old file just before may lock an unlinked inode: lock, then check that the path still names
  // the locked inode, else start again.
  for (int attempt = 0;; ++attempt) {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("cannot create the lock file " + file.string() + ": " + std::strerror(errno));
    if (!try_lock(fd, mode)) {
      const std::string holders = read_holders(fd);
      ::close(fd);
      if (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      throw Error(what + " is in use by " + (holders.empty() ? std::string("another process") : holders) +
                  " (lock file " + file.string() + "); wait until it has finished, or choose another output folder");
    }
    struct stat by_fd {}, by_path {};
    if (::fstat(fd, &by_fd) != 0 || ::stat(file.c_str(), &by_path) != 0 || by_fd.st_ino != by_path.st_ino ||
        by_fd.st_dev != by_path.st_dev) {
      ::close(fd);  // removed or replaced meanwhile
      if (attempt > 1000) throw Error("cannot lock " + file.string() + ": it keeps being replaced");
      continue;
    }
    fd_ = fd;
    break;
  }
  // An exclusive holder finds only lines of processes that ended without releasing (killed):
  // stale, taken over. A shared holder appends its line beside the other live holders'.
  const std::string line = holder_line() + "\n";
  if (mode == Mode::kExclusive) {
    taken_over_from_ = read_holders(fd_);
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size()))
      throw Error("cannot write the lock file " + file_.string() + ": " + std::strerror(errno));
  } else {
    struct stat st {};
    if (::fstat(fd_, &st) == 0)
      if (::pwrite(fd_, line.data(), line.size(), st.st_size) < 0) {
        // The holder line is for messages only; a lock without it still works.
      }
  }
}

FolderLock::~FolderLock() {
  if (fd_ < 0) return;
  // Remove the file only when no one else holds it (an exclusive lock succeeds only then);
  // unlinked while locked, so nobody can lock the old inode and believe it current.
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) ::unlink(file_.c_str());
  ::close(fd_);  // releases the flock
}

}  // namespace mprotonet
