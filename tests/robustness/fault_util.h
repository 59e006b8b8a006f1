// SPDX-License-Identifier: MIT
// Helpers of the fault tests (issue 19): a small tmpfs the test mounts (a full disk on demand),
// waiting for a progress line of a background CLI process, temporaries left in a folder, a tiny
// model file and the CLI command line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/nets/model_config.h"
#include "robustness/robustness_util.h"

namespace mprotonet::test {

/// Mounts a tmpfs of `size` bytes on dir (created) for the object's lifetime and unmounts it
/// (lazily, so a test that fails half-way still leaves nothing mounted). Needs CAP_SYS_ADMIN
/// (root in the project's containers); mounted() is false, with the reason, otherwise.
class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& dir, long size_bytes);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string why_not_;
};

/// Fills the file system that holds dir with dir/filler until a write fails with ENOSPC, then
/// gives back `leave_free` bytes (so the next writes fail part-way).
void fill_up(const std::filesystem::path& dir, long leave_free = 0);

/// Waits until the text file `log` contains `text` (polling every 50 ms); false when the process
/// ended first or after timeout_s.
bool wait_for_text(const std::filesystem::path& log, const std::string& text, BackgroundCli& process,
                   double timeout_s = 300);

/// Every file under dir (recursively) whose name contains ".tmp-" (write_atomically's temporaries).
std::vector<std::filesystem::path> temporaries_under(const std::filesystem::path& dir);

/// A tiny model file (in_size 4 x 16 x 16 x 12, the 192 x 192 x 144 mm field of view at 12 mm).
nets::ModelConfig tiny_model_config(const std::string& model_name = "CNN3D");
void write_tiny_model(const std::filesystem::path& path, const std::string& model_name = "CNN3D");

/// The quoted CLI path followed by a space, for command lines.
std::string cli_prefix();

/// `mprotonet <args>` with stdout and stderr together.
CommandResult run_cli(const std::string& args);

/// The id of the first subject of a cohort's name_mapping.csv.
std::string first_subject(const std::filesystem::path& data);

/// The what() of the mprotonet::Error that fn throws; "" when it throws none.
template <typename Fn>
std::string refusal_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

/// Whole file as a string ("" when missing).
std::string slurp(const std::filesystem::path& path);

}  // namespace mprotonet::test
