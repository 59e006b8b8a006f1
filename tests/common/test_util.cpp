// SPDX-License-Identifier: MIT
// Test helpers: paths, temporary directories, child processes.
#include "common/test_util.h"

#include "mprotonet/core/fs.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace fs = std::filesystem;

namespace mprotonet::test {

fs::path source_dir() { return fs::path(MPROTONET_SOURCE_DIR); }

fs::path data_path(const std::string& relative) {
  fs::path p = source_dir() / "tests" / "data" / relative;
  EXPECT_TRUE(fs::exists(p)) << "missing test data file " << p;
  return p;
}

fs::path cli_path() { return fs::path(MPROTONET_CLI); }

std::string python() { return "/usr/bin/python3"; }

std::string reference_python() {
  const char* env = std::getenv("MPROTONET_REFERENCE_PYTHON");
  const fs::path py = env && *env ? fs::path(env) : source_dir() / ".venv-libtorch2" / "bin" / "python";
  if (!fs::exists(py)) {
    ADD_FAILURE() << "the reference oracles need the project's virtual environment " << py.string()
                  << " (TorchIO, Captum): run scripts/setup-venv.sh (scripts/test.sh does)";
    return "";
  }
  return py.string();
}

CommandResult run_reference_helper(const std::string& script, const std::string& args) {
  const std::string py = reference_python();
  if (py.empty()) return {};
  const fs::path path = source_dir() / "tests" / "helpers" / script;
  CommandResult r = run_command(shell_quote(py) + " -W ignore " + shell_quote(path.string()) + " " + args);
  if (r.exit_code != 0) ADD_FAILURE() << "reference helper " << script << " failed (exit " << r.exit_code << "):\n" << r.output;
  return r;
}

TempDir::TempDir() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  const fs::path base = fs::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = base / ("mprotonet-test-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(counter++) + "-" + std::to_string(rd() % 100000));
    std::error_code ec;
    if (fs::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  out += "'";
  return out;
}

CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  const std::string full = "( " + command_line + " ) 2>&1 < /dev/null";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) {
    result.output = "popen failed";
    return result;
  }
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  return result;
}

CommandResult run_python_helper(const std::string& script, const std::string& args) {
  const fs::path path = source_dir() / "tests" / "helpers" / script;
  CommandResult r = run_command(python() + " " + shell_quote(path.string()) + " " + args);
  if (r.exit_code != 0) ADD_FAILURE() << "python helper " << script << " failed (exit " << r.exit_code << "):\n" << r.output;
  return r;
}

namespace {

fs::path cached_output(const std::string& script, const std::string& name, const std::vector<std::string>& imports,
                       CommandResult (*run)(const std::string&, const std::string&)) {
  const fs::path helpers = source_dir() / "tests" / "helpers";
  std::string sources = read_text_file(helpers / script);
  for (const auto& h : imports) sources += read_text_file(helpers / h);
  const fs::path cache = fs::path(MPROTONET_BINARY_DIR) / "test-cache";
  const fs::path dir = cache / (name + "-" + std::to_string(std::hash<std::string>{}(sources)));
  if (fs::exists(dir)) return dir;
  fs::create_directories(cache);
  const fs::path tmp = cache / (name + ".tmp-" + std::to_string(::getpid()));
  if (run(script, shell_quote(tmp.string())).exit_code != 0) return dir;  // failure already reported
  std::error_code ec;
  fs::rename(tmp, dir, ec);
  if (ec) fs::remove_all(tmp);  // another process got there first
  return dir;
}

}  // namespace

fs::path cached_oracle_output(const std::string& script, const std::string& name, const std::vector<std::string>& imports) {
  return cached_output(script, name, imports, run_python_helper);
}

fs::path cached_reference_oracle_output(const std::string& script, const std::string& name,
                                        const std::vector<std::string>& imports) {
  // The environment's pinned versions are part of the key: new versions regenerate the output.
  auto keyed = imports;
  keyed.push_back("../../scripts/setup-venv.sh");
  return cached_output(script, name, keyed, run_reference_helper);
}

}  // namespace mprotonet::test
