// SPDX-License-Identifier: MIT
// Faults beyond the hostile-input corpus (issue 19), end to end through the CLI:
//  - a full disk (a small tmpfs the test mounts): every command exits 1 with "No space left on
//    device" naming the file, leaves no temporary, and what existed before is intact;
//  - two processes on one run folder: the second is refused naming the holder, jobs of
//    different folds run side by side, a lock left by a killed process is taken over;
//  - a damaged checkpoint is refused on --resume naming the record;
//  - `evaluate --data` with a cohort that is not the run's is refused naming the subjects.
// Processes are synchronised on their progress lines, never on sleeps.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/io/zip_archive.h"
#include "robustness/fault_util.h"
#include "robustness/robustness_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {
namespace {

class Faults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    test::write_tiny_cohort(dir_->path() / "data", 10);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path base() { return dir_->path(); }
  static fs::path data() { return dir_->path() / "data"; }
  static fs::path cache() { return dir_->path() / "cache"; }
  static test::TempDir* dir_;
};
test::TempDir* Faults::dir_ = nullptr;

// Tiny CNN3D run on the 10-subject cohort at 6 mm (32 x 32 x 24), batch 2, one thread.
std::string faults_train_args(const fs::path& data, const fs::path& out, const fs::path& cache, const std::string& extra) {
  return "train --data " + test::shell_quote(data.string()) + " --out " + test::shell_quote(out.string()) + " --cache " +
         test::shell_quote(cache.string()) +
         " --folds 2 --model-name CNN3D --features resnet18_ri --n-layers 5 --batch-size 2 --spacing 6 --threads 1 " + extra;
}


// ------------------------------------------------------------------------------ full disk
TEST_F(Faults, FullDiskDuringTrainingExitsCleanlyNamingTheCheckpoint) {
  const fs::path mnt = base() / "full_train";
  test::TmpfsMount tmpfs(mnt, 2 << 20);  // the first checkpoint (~6 MB with AdamW's moments) does not fit
  if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.why_not();
  const auto r = test::run_cli(faults_train_args(data(), mnt / "run", cache(), "--epochs 1 --seed 0"));
  EXPECT_EQ(r.exit_code, 1) << r.output;  // not 134 (SIGABRT from LibTorch's zip writer)
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find((mnt / "run/fold_0/checkpoint.pt").string()), std::string::npos) << r.output;
  for (const auto& t : test::temporaries_under(mnt)) ADD_FAILURE() << "temporary left: " << t;
  // What was written before the disk filled is intact.
  EXPECT_NO_THROW(json::parse(read_text_file(mnt / "run/run.json")));
}

TEST_F(Faults, FullDiskDuringPreprocessLeavesNoPartialCaseAndKeepsOldFiles) {
  const fs::path mnt = base() / "full_pp";
  test::TmpfsMount tmpfs(mnt, 1 << 20);
  if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.why_not();
  fs::create_directories(mnt / "pp");
  write_text_atomically(mnt / "pp/t1.nii.gz", "an earlier file");
  test::fill_up(mnt, 40 << 10);  // room for one of the five volumes (~26 kB each at 6 mm)
  const auto r = test::run_cli("preprocess --case " + test::shell_quote((data() / test::first_subject(data())).string()) + " --out " +
                     test::shell_quote((mnt / "pp").string()) + " --spacing 6");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find((mnt / "pp").string()), std::string::npos) << r.output;
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(mnt / "pp")) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"t1.nii.gz"}) << "a partial case or a temporary is left";
  EXPECT_EQ(read_text_file(mnt / "pp/t1.nii.gz"), "an earlier file");
  // A folder the failed command created is removed again.
  const auto r2 = test::run_cli("preprocess --case " + test::shell_quote((data() / test::first_subject(data())).string()) + " --out " +
                      test::shell_quote((mnt / "new/pp").string()) + " --spacing 6");
  EXPECT_EQ(r2.exit_code, 1) << r2.output;
  EXPECT_FALSE(fs::exists(mnt / "new")) << "the output folder of a failed command is left";
}

TEST_F(Faults, FullDiskDuringPredictKeepsTheEarlierJsonAndWritesNoMaps) {
  const fs::path model = base() / "predict_model.mpn", input = base() / "predict_input.pt";
  test::write_tiny_model(model, "MProtoNet3D_pm5");
  write_tensor_file(input, torch::randn({1, 4, 16, 16, 12}));
  const fs::path mnt = base() / "full_predict";
  test::TmpfsMount tmpfs(mnt, 64 << 10);
  if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.why_not();
  write_text_atomically(mnt / "p.json", "an earlier prediction");
  test::fill_up(mnt);
  const auto r = test::run_cli("predict --model " + model.string() + " --tensor " + input.string() + " --json " +
                     (mnt / "p.json").string() + " --maps " + (mnt / "maps").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  EXPECT_EQ(read_text_file(mnt / "p.json"), "an earlier prediction");
  EXPECT_FALSE(fs::exists(mnt / "maps"));
  for (const auto& t : test::temporaries_under(mnt)) ADD_FAILURE() << "temporary left: " << t;
}

TEST_F(Faults, FullDiskDuringSynthLeavesNoTemporaryCaseFolder) {
  const fs::path mnt = base() / "full_synth";
  test::TmpfsMount tmpfs(mnt, 256 << 10);  // one case at 6 mm (~5 x 10 kB) fits, the cohort does not
  if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.why_not();
  const auto r = test::run_cli("synth --out " + test::shell_quote((mnt / "coh").string()) + " --cases 40 --spacing 6");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  for (const auto& t : test::temporaries_under(mnt)) ADD_FAILURE() << "temporary (partial case) left: " << t;
}

// ------------------------------------------------------------------------------ locks
TEST_F(Faults, SecondTrainingOnOneRunFolderIsRefusedAndAStaleLockIsTakenOver) {
  const fs::path run = base() / "mix";
  const std::string slow = "--epochs 1000";
  const fs::path log = base() / "mix_first.log";
  test::BackgroundCli first(faults_train_args(data(), run, cache(), slow + " --seed 1"), log);
  ASSERT_TRUE(test::wait_for_text(log, "[fold 0] epoch 1/1000", first)) << test::slurp(log);

  // Other settings, and the same settings: both refused while the first runs, naming it.
  for (const std::string seed : {"--seed 2", "--seed 1"}) {
    const auto r = test::run_cli(faults_train_args(data(), run, cache(), slow + " " + seed));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("run folder " + run.string() + " is in use by pid "), std::string::npos) << r.output;
  }
  const json info = json::parse(read_text_file(run / "run.json"));
  EXPECT_EQ(info.at("seed").get<int>(), 1) << "run.json was replaced by the refused process";

  // Killed: its lock file stays behind, stale; the next run takes it over and continues.
  first.kill_and_wait();
  ASSERT_TRUE(fs::exists(run / ".lock"));
  const auto resumed = test::run_cli(faults_train_args(data(), run, cache(), slow + " --seed 1 --resume --stop-after-steps 2"));
  EXPECT_EQ(resumed.exit_code, 3) << resumed.output;  // stopped early, as asked
  EXPECT_NE(resumed.output.find("taking over the lock left by pid "), std::string::npos) << resumed.output;
  EXPECT_FALSE(fs::exists(run / ".lock")) << "a lock file is left after a normal end";
  EXPECT_FALSE(fs::exists(run / "fold_0/.lock"));
}

TEST_F(Faults, JobsOfDifferentFoldsRunSideBySideButNotOnTheSameFold) {
  const fs::path run = base() / "folds";
  const std::string slow = "--epochs 1000 --seed 0";
  const fs::path log = base() / "fold0.log";
  test::BackgroundCli fold0(faults_train_args(data(), run, cache(), slow + " --fold 0"), log);
  ASSERT_TRUE(test::wait_for_text(log, "[fold 0] epoch 1/1000", fold0)) << test::slurp(log);

  const auto other = test::run_cli(faults_train_args(data(), run, cache(), slow + " --fold 1 --stop-after-steps 1"));
  EXPECT_EQ(other.exit_code, 3) << "fold 1 beside fold 0 must run\n" << other.output;
  const auto same = test::run_cli(faults_train_args(data(), run, cache(), slow + " --fold 0 --resume --stop-after-steps 1"));
  EXPECT_EQ(same.exit_code, 1) << same.output;
  EXPECT_NE(same.output.find("fold 0 of " + run.string() + " is in use by pid "), std::string::npos) << same.output;
  const auto whole = test::run_cli(faults_train_args(data(), run, cache(), slow));
  EXPECT_EQ(whole.exit_code, 1) << whole.output;
  EXPECT_NE(whole.output.find("run folder " + run.string() + " is in use by pid "), std::string::npos) << whole.output;
  fold0.kill_and_wait();
}

// ------------------------------------------------------------------------------ integrity
TEST_F(Faults, DamagedCheckpointIsRefusedOnResumeNamingTheRecord) {
  const fs::path run = base() / "damaged";
  const auto r = test::run_cli(faults_train_args(data(), run, cache(), "--epochs 2 --seed 0 --fold 0 --stop-after-steps 1"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  const fs::path ckpt = run / "fold_0/checkpoint.pt";
  // Change one byte inside the largest record, leaving its CRC-32 stale.
  zip::Reader reader(ckpt);
  const zip::Entry* largest = nullptr;
  for (const auto& e : reader.entries())
    if (largest == nullptr || e.size > largest->size) largest = &e;
  ASSERT_NE(largest, nullptr);
  const std::string name = largest->name;
  std::string bytes = read_text_file(ckpt);
  const size_t header = largest->local_header_offset;
  const size_t name_len = static_cast<unsigned char>(bytes[header + 26]) | (static_cast<unsigned char>(bytes[header + 27]) << 8);
  const size_t extra_len = static_cast<unsigned char>(bytes[header + 28]) | (static_cast<unsigned char>(bytes[header + 29]) << 8);
  bytes[header + 30 + name_len + extra_len + largest->size / 2] ^= 0x40;
  std::ofstream(ckpt, std::ios::binary | std::ios::trunc) << bytes;

  const auto resumed = test::run_cli(faults_train_args(data(), run, cache(), "--epochs 2 --seed 0 --fold 0 --resume"));
  EXPECT_EQ(resumed.exit_code, 1) << resumed.output;
  EXPECT_NE(resumed.output.find("record '" + name + "' fails its CRC-32 check"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find(ckpt.string()), std::string::npos) << resumed.output;
}

TEST_F(Faults, EvaluateRefusesACohortThatIsNotTheRuns) {
  const fs::path run = base() / "finished";
  const auto r = test::run_cli(faults_train_args(data(), run, cache(), "--epochs 1 --seed 0"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The same images with HGG and LGG swapped in name_mapping.csv.
  const fs::path swapped = base() / "swapped";
  fs::copy(data(), swapped, fs::copy_options::recursive);
  std::string csv = read_text_file(swapped / "name_mapping.csv");
  for (size_t p = 0; (p = csv.find("GG,", p)) != std::string::npos; p += 3) csv[p - 1] = csv[p - 1] == 'H' ? 'L' : 'H';
  write_text_atomically(swapped / "name_mapping.csv", csv);
  const std::string eval = "evaluate --run " + run.string() + " --cache " + cache().string() +
                           " --methods gradcam --no-missing --no-faithfulness --threads 1 --data ";
  const auto bad = test::run_cli(eval + swapped.string());
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("is not the one the run"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find(test::first_subject(data()) + " ("), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("in the dataset, "), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(run / "evaluation.json"));
  const auto good = test::run_cli(eval + data().string());
  EXPECT_EQ(good.exit_code, 0) << good.output;
}

}  // namespace
}  // namespace mprotonet
