// SPDX-License-Identifier: MIT
// Helpers of the fault tests (see fault_util.h).
#include "robustness/fault_util.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/test_util.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/models.h"

namespace fs = std::filesystem;

namespace mprotonet::test {

TmpfsMount::TmpfsMount(const fs::path& dir, long size_bytes) : dir_(dir) {
  fs::create_directories(dir);
  const std::string options = "size=" + std::to_string(size_bytes) + ",mode=0755";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0) {
    mounted_ = true;
  } else {
    why_not_ = std::string("cannot mount a tmpfs here (") + std::strerror(errno) +
               "; mounting needs CAP_SYS_ADMIN, e.g. root in a container); the full-disk case is not tested";
  }
}

TmpfsMount::~TmpfsMount() {
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
}

void fill_up(const fs::path& dir, long leave_free) {
  const int fd = ::open((dir / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  std::vector<char> block(4096, 'x');
  off_t size = 0;
  for (size_t chunk : {size_t{4096}, size_t{512}, size_t{1}})
    while (::write(fd, block.data(), chunk) == static_cast<ssize_t>(chunk)) size += static_cast<off_t>(chunk);
  if (leave_free > 0 && ::ftruncate(fd, std::max<off_t>(0, size - leave_free)) != 0) {
    // the file stays full; the test then fails on its first write, still a full-disk case
  }
  ::close(fd);
}

bool wait_for_text(const fs::path& log, const std::string& text, BackgroundCli& process, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (slurp(log).find(text) != std::string::npos) return true;
    if (!process.running()) return slurp(log).find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::vector<fs::path> temporaries_under(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().find(".tmp-") != std::string::npos) out.push_back(it->path());
  return out;
}

nets::ModelConfig tiny_model_config(const std::string& model_name) {
  nets::ModelConfig c;
  c.model_name = model_name;
  c.in_size = {4, 16, 16, 12};
  c.features = "resnet18_ri";
  c.n_layers = 5;
  c.prototype_shape = {4, 8, 1, 1, 1};
  c.f_dist = "cos";
  c.topk_p = 10;
  return c;
}

void write_tiny_model(const fs::path& path, const std::string& model_name) {
  auto model = nets::build_model(tiny_model_config(model_name), 7);
  nets::save_model_file(path, *model);
}

std::string cli_prefix() { return shell_quote(cli_path().string()) + " "; }

CommandResult run_cli(const std::string& args) { return run_command(cli_prefix() + args + " 2>&1"); }

std::string first_subject(const fs::path& data) {
  std::ifstream in(data / "name_mapping.csv");
  std::string line;
  std::getline(in, line);  // header
  std::getline(in, line);
  return line.substr(line.rfind(',') + 1);
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace mprotonet::test
