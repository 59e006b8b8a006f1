// SPDX-License-Identifier: MIT
// Helpers for the robustness tests: a tiny synthetic cohort made with `mprotonet synth`, and a
// CLI process started in the background that a test can kill with SIGKILL.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace mprotonet::test {

/// Writes a 48x48x36 (4 mm) synthetic BraTS cohort of `cases` subjects under dir (6 mm
/// preprocessing gives 32x32x24). Fails the test when synth fails.
void write_tiny_cohort(const std::filesystem::path& dir, int cases);

/// `mprotonet <args>` started in the background, stdout+stderr to `log`.
class BackgroundCli {
 public:
  BackgroundCli(const std::string& args, const std::filesystem::path& log);
  ~BackgroundCli();  ///< kills (SIGKILL) and reaps the process when it still runs
  /// True while the process runs (reaps it when it has ended).
  bool running();
  /// Sends SIGKILL and waits; returns the wait status.
  int kill_and_wait();
  /// Waits for the end; returns the exit code (128 + signal when killed).
  int wait();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

/// Number of lines of a text file (0 when it does not exist).
int count_lines(const std::filesystem::path& path);

}  // namespace mprotonet::test
