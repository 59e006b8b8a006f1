// SPDX-License-Identifier: MIT
// Helpers shared by every test area: paths to the source tree and test data, temporary
// directories, and running child processes (the CLI, the Python oracles).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mprotonet::test {

/// Root of the source checkout.
std::filesystem::path source_dir();

/// tests/data/<relative> inside the checkout (fails the test if missing).
std::filesystem::path data_path(const std::string& relative);

/// Path of the built CLI executable.
std::filesystem::path cli_path();

/// Python interpreter used for the oracles (Debian's /usr/bin/python3).
std::string python();

/// A fresh, empty directory removed when the object goes out of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;    ///< exit status; 128 + signal number when killed by a signal
  std::string output;    ///< stdout and stderr together
};

/// Runs a shell command line (via /bin/sh -c), capturing stdout+stderr.
CommandResult run_command(const std::string& command_line);

/// Runs a Python helper script under tests/helpers with the given arguments; fails the current
/// test (ADD_FAILURE) with its output when the script exits non-zero.
CommandResult run_python_helper(const std::string& script, const std::string& args);

/// Python of the project's virtual environment (scripts/setup-venv.sh: PyTorch 2.x, TorchIO,
/// Captum), for the oracles that are the reference code's own libraries; $MPROTONET_REFERENCE_PYTHON
/// overrides. Fails the current test (ADD_FAILURE, with the command that creates it) and returns
/// "" when it is missing.
std::string reference_python();

/// Runs a helper under tests/helpers with reference_python(); fails the test when it exits non-zero.
CommandResult run_reference_helper(const std::string& script, const std::string& args);

/// The output folder of a Python oracle that writes its files into the folder given as its only
/// argument, generated once per build tree: build/test-cache/<name>-<hash of `script` and of the
/// helper scripts it imports, `imports`>, so a changed oracle regenerates. ctest runs every area in its own process, possibly
/// in parallel, so the oracle writes to a temporary folder that is renamed into place (the loser
/// of a race removes its copy). Fails the current test (ADD_FAILURE) when the oracle fails.
std::filesystem::path cached_oracle_output(const std::string& script, const std::string& name,
                                           const std::vector<std::string>& imports = {});

/// cached_oracle_output for an oracle that runs with reference_python().
std::filesystem::path cached_reference_oracle_output(const std::string& script, const std::string& name,
                                                     const std::vector<std::string>& imports = {});

/// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace mprotonet::test
