// SPDX-License-Identifier: MIT
// Interrupted work: `mprotonet train` killed with SIGKILL in the middle of an epoch and resumed
// ends with exactly the weights of an uninterrupted run (CPU, fixed seed); `mprotonet preprocess
// --data` killed while it writes the preprocessing cache never leaves a cache file that is read
// back corrupt — every file afterwards is either rebuilt or byte-identical to a clean build.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/nets/model_file.h"
#include "robustness/robustness_util.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace mprotonet {
namespace {

class Interrupted : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    test::write_tiny_cohort(dir_->path() / "data", 10);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path data() { return dir_->path() / "data"; }
  static test::TempDir* dir_;
};
test::TempDir* Interrupted::dir_ = nullptr;

// Tiny CPU run: fold 0 of 2 (5 training subjects, batch 2 = 3 steps per epoch), resnet18_ri
// with 5 children, 32x32x24 input, 4 prototypes; 3 joint epochs + push + last layer each.
std::string train_args(const fs::path& data, const fs::path& run, const fs::path& cache) {
  return "train --data " + test::shell_quote(data.string()) + " --out " + test::shell_quote(run.string()) +
         " --cache " + test::shell_quote(cache.string()) +
         " --folds 2 --fold 0 --model-name MProtoNet3D_pm5 --features resnet18_ri --n-layers 5 --prototypes 4"
         " --batch-size 2 --push-interval 1 --last-layer-epochs 1 --epochs 3 --spacing 6 --threads 1 --seed 0";
}

void expect_same_weights(const fs::path& a, const fs::path& b) {
  const auto ma = nets::load_model_file(a), mb = nets::load_model_file(b);
  const auto pa = ma.model->named_parameters(true), pb = mb.model->named_parameters(true);
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    const torch::Tensor* other = pb.find(item.key());
    ASSERT_NE(other, nullptr) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), *other)) << item.key() << " differs after resume";
  }
  const auto ba = ma.model->named_buffers(true), bb = mb.model->named_buffers(true);
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& item : ba) {
    const torch::Tensor* other = bb.find(item.key());
    ASSERT_NE(other, nullptr) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), *other)) << item.key() << " (buffer) differs after resume";
  }
  EXPECT_EQ(ma.push_record, mb.push_record);
}

TEST_F(Interrupted, TrainingKilledMidEpochResumesToTheSameWeights) {
  const fs::path base = dir_->path();
  const fs::path cache = base / "cache";
  // Reference: uninterrupted.
  const auto ref = test::run_command(test::shell_quote(test::cli_path().string()) + " " +
                                     train_args(data(), base / "run_ref", cache) + " 2>&1");
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const int total_steps = test::count_lines(base / "run_ref/fold_0/epochs.jsonl");
  ASSERT_GE(total_steps, 6);

  // Killed on an event, not after a delay: SIGKILL as soon as the first step is checkpointed
  // (epochs.jsonl has a line), while the next step runs. The run has at least 5 steps left then,
  // so it cannot have ended; the line count at the kill says where it was stopped.
  const fs::path run = base / "run_killed";
  const fs::path jsonl = run / "fold_0/epochs.jsonl";
  int lines_at_kill = 0;
  {
    test::BackgroundCli p(train_args(data(), run, cache), base / "killed.log");
    while (p.running() && test::count_lines(jsonl) < 1) std::this_thread::sleep_for(2ms);
    p.kill_and_wait();
    lines_at_kill = test::count_lines(jsonl);
  }
  ASSERT_GE(lines_at_kill, 1) << "the run ended before its first step:\n" << read_text_file(base / "killed.log");
  ASSERT_LT(lines_at_kill, total_steps) << "the run ended before it was killed";
  EXPECT_FALSE(fs::exists(run / "fold_0/model.mpn")) << "a killed fold must not look finished";

  const auto resumed = test::run_command(test::shell_quote(test::cli_path().string()) + " " +
                                         train_args(data(), run, cache) + " --resume 2>&1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(test::count_lines(jsonl), total_steps);
  expect_same_weights(base / "run_ref/fold_0/model.mpn", run / "fold_0/model.mpn");
  // The resumed run's history equals the reference's, epoch for epoch, except for timings.
  std::ifstream a(base / "run_ref/fold_0/epochs.jsonl"), b(jsonl);
  for (std::string la, lb; std::getline(a, la) && std::getline(b, lb);) {
    auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
    for (auto* j : {&ja, &jb})
      for (const char* k : {"seconds", "elapsed_s", "time_s", "wall_s"}) j->erase(k);
    EXPECT_EQ(ja.dump(), jb.dump());
  }
}

std::map<std::string, std::string> mpc_files(const fs::path& cache_root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(cache_root))
    if (e.is_regular_file() && e.path().extension() == ".mpc")
      out[fs::relative(e.path(), cache_root).string()] = read_text_file(e.path());
  return out;
}

std::string preprocess_args(const fs::path& data, const fs::path& cache) {
  return "preprocess --data " + test::shell_quote(data.string()) + " --cache " + test::shell_quote(cache.string()) +
         " --spacing 3 --threads 1";
}

TEST_F(Interrupted, CacheWritingKilledIsNeverReadBackCorrupt) {
  const fs::path base = dir_->path();
  const fs::path clean = base / "cache_clean", cache = base / "cache_killed";
  const std::string cli = test::shell_quote(test::cli_path().string()) + " ";
  ASSERT_EQ(test::run_command(cli + preprocess_args(data(), clean) + " 2>&1").exit_code, 0);
  const auto reference = mpc_files(clean);
  ASSERT_EQ(reference.size(), 10u);

  // Kill the writer on events, not after delays: run k (k = 1, 2, 3) is killed as soon as it
  // has reported k subjects preprocessed now (progress lines "[preprocess] i/10 <id>" without
  // "(cached)"), i.e. while it works on the next one. Each run continues the same cache; the
  // three runs preprocess 1 + 2 + 3 = 6 of the 10 subjects, so each is killed before its end,
  // and the cache holds fewer subjects than a full run (the count checks the kills landed).
  const auto fresh_lines = [&] {
    const std::string log = read_text_file(base / "pp.log");
    int n = 0;  // complete lines only: a line being written may not show its "(cached)" yet
    for (size_t begin = 0, end; (end = log.find('\n', begin)) != std::string::npos; begin = end + 1) {
      const std::string line = log.substr(begin, end - begin);
      n += line.rfind("[preprocess] ", 0) == 0 && line.find("(cached)") == std::string::npos ? 1 : 0;
    }
    return n;
  };
  for (int k = 1; k <= 3; ++k) {
    fs::remove(base / "pp.log");
    test::BackgroundCli p(preprocess_args(data(), cache), base / "pp.log");
    while (p.running() && (!fs::exists(base / "pp.log") || fresh_lines() < k)) std::this_thread::sleep_for(2ms);
    p.kill_and_wait();
    EXPECT_GE(fresh_lines(), k) << read_text_file(base / "pp.log");
  }
  EXPECT_LT(mpc_files(cache).size(), reference.size()) << "the killed runs preprocessed every subject";

  // Simulate the worst a crash or a foreign writer can leave under the final name: a truncated
  // file and a file with one flipped payload byte.
  auto files = mpc_files(cache);
  ASSERT_GE(files.size(), 1u);
  const fs::path first = cache / files.begin()->first;
  {
    const std::string bytes = files.begin()->second;
    std::ofstream(first, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  }
  if (files.size() >= 2) {
    const fs::path second = cache / std::next(files.begin())->first;
    std::string bytes = std::next(files.begin())->second;
    bytes[bytes.size() - 7] ^= 0x10;
    std::ofstream(second, std::ios::binary | std::ios::trunc) << bytes;
  }

  const auto r = test::run_command(cli + preprocess_args(data(), cache) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto after = mpc_files(cache);
  ASSERT_EQ(after.size(), reference.size());
  for (const auto& [name, bytes] : reference) {
    ASSERT_TRUE(after.count(name)) << name;
    EXPECT_TRUE(after.at(name) == bytes) << name << " differs from a clean build";
  }
  // And a run that only reads the cache (everything valid now) agrees.
  const auto again = test::run_command(cli + preprocess_args(data(), cache) + " 2>&1");
  EXPECT_NE(again.output.find("0 preprocessed now"), std::string::npos) << again.output;
}

}  // namespace
}  // namespace mprotonet
