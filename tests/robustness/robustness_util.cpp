// SPDX-License-Identifier: MIT
// Helpers for the robustness tests (see robustness_util.h).
#include "robustness/robustness_util.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "common/test_util.h"

namespace fs = std::filesystem;

namespace mprotonet::test {

void write_tiny_cohort(const fs::path& dir, int cases) {
  const auto r = run_command(shell_quote(cli_path().string()) + " synth --out " + shell_quote(dir.string()) +
                             " --cases " + std::to_string(cases) +
                             " --shape 48,48,36 --spacing 4 --hgg-fraction 0.5 --seed 3 --threads 2 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

BackgroundCli::BackgroundCli(const std::string& args, const fs::path& log) {
  const std::string cmd = "exec " + shell_quote(cli_path().string()) + " " + args + " >" + shell_quote(log.string()) + " 2>&1";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid_ < 0) ADD_FAILURE() << "fork failed";
}

BackgroundCli::~BackgroundCli() {
  if (pid_ > 0 && running()) kill_and_wait();
}

bool BackgroundCli::running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

int BackgroundCli::kill_and_wait() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
  return status_;
}

int BackgroundCli::wait() {
  if (status_ == -1 && pid_ > 0) ::waitpid(pid_, &status_, 0);
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

int count_lines(const fs::path& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

}  // namespace mprotonet::test
