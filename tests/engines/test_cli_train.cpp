// SPDX-License-Identifier: MIT
// End-to-end: `mprotonet train` / `mprotonet merge` on a tiny synthetic cohort written here,
// checking the run folder, the folds (stratified, as data/splits.h assigns them) and the error
// messages of bad datasets and settings.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "engines/engine_fixture.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/splits.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/nets/model_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {
namespace {

const std::vector<int> kLabels{1, 0, 1, 1, 0, 1, 0, 1, 0, 1};

// Tiny settings (32x32x24 input, resnet18_ri with n_layers 5); `extra` may override
// --epochs and --spacing.
std::string train_cmd(const fs::path& data, const fs::path& out, const fs::path& cache, const std::string& extra) {
  std::string defaults = " --features resnet18_ri --n-layers 5 --prototypes 4 --batch-size 4 --push-interval 1"
                         " --last-layer-epochs 1 --threads 2";
  if (extra.find("--epochs") == std::string::npos) defaults += " --epochs 2";
  if (extra.find("--spacing") == std::string::npos) defaults += " --spacing 6";
  return test::shell_quote(test::cli_path().string()) + " train --data " + test::shell_quote(data.string()) + " --out " +
         test::shell_quote(out.string()) + " --cache " + test::shell_quote(cache.string()) + defaults + " " + extra +
         " 2>&1";
}

TEST(TrainCli, CrossValidationWritesARepeatableRunFolder) {
  test::TempDir dir;
  test::write_synthetic_cohort(dir / "data", kLabels);
  const fs::path run = dir / "run";
  const auto r = test::run_command(train_cmd(dir / "data", run, dir / "cache", "--folds 2 --model-name MProtoNet3D_pm5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[fold 1] epoch 2/2 last-layer 1/1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ETA"), std::string::npos);

  const json info = json::parse(read_text_file(run / "run.json"));
  EXPECT_EQ(info.at("model_name"), "MProtoNet3D_pm5");
  EXPECT_EQ(info.at("model_config").at("in_size"), json({4, 32, 32, 24}));
  EXPECT_EQ(info.at("model_config").at("prototype_shape"), json({4, 128, 1, 1, 1}));
  EXPECT_EQ(info.at("train").at("epochs"), 2);
  EXPECT_EQ(info.at("loss").at("online_cam"), 0.05);
  EXPECT_EQ(info.at("dataset").at("subjects"), 10);
  EXPECT_EQ(info.at("dataset").at("hgg"), 6);
  // The folds are data/splits.h's stratified folds for the seed, each holding both classes.
  const auto ids = info.at("dataset").at("ids").get<std::vector<std::string>>();
  const auto labels = info.at("dataset").at("labels").get<std::vector<int>>();
  const auto folds = stratified_k_fold(labels, 2, 0);
  std::set<std::string> tested;
  for (int k = 0; k < 2; ++k) {
    std::vector<std::string> expected;
    std::set<int> classes;
    for (int64_t i : folds[static_cast<size_t>(k)].test) {
      expected.push_back(ids[static_cast<size_t>(i)]);
      classes.insert(labels[static_cast<size_t>(i)]);
    }
    EXPECT_EQ(info.at("folds").at("test_ids").at(k).get<std::vector<std::string>>(), expected);
    EXPECT_EQ(classes.size(), 2u);

    const fs::path fd = run / ("fold_" + std::to_string(k));
    EXPECT_FALSE(fs::exists(fd / "checkpoint.pt")) << "the checkpoint of a finished fold is removed";
    const json preds = json::parse(read_text_file(fd / "test_predictions.json"));
    ASSERT_EQ(preds.at("predictions").size(), expected.size());
    for (const auto& p : preds.at("predictions")) {
      tested.insert(p.at("id").get<std::string>());
      const auto pr = p.at("probabilities").get<std::vector<double>>();
      EXPECT_NEAR(pr[0] + pr[1], 1.0, 1e-9);
    }
    // epochs.jsonl: J1 P1 L1 J2 P2 L2.
    std::ifstream lines(fd / "epochs.jsonl");
    std::vector<std::string> stages;
    for (std::string line; std::getline(lines, line);) stages.push_back(json::parse(line).at("stage"));
    EXPECT_EQ(stages, (std::vector<std::string>{"joint", "push", "last-layer", "joint", "push", "last-layer"}));
    // The model file loads, with its push record naming training subjects of the prototype's class.
    const auto loaded = nets::load_model_file(fd / "model.mpn");
    EXPECT_EQ(loaded.model->config().model_name, "MProtoNet3D_pm5");
    const json push = json::parse(loaded.push_record);
    ASSERT_EQ(push.at("prototypes").size(), 4u);
    for (const auto& p : push.at("prototypes")) {
      const auto id = p.at("subject_id").get<std::string>();
      EXPECT_EQ(std::find(expected.begin(), expected.end(), id), expected.end()) << "pushed onto a test subject";
      const auto it = std::find(ids.begin(), ids.end(), id);
      ASSERT_NE(it, ids.end());
      EXPECT_EQ(labels[static_cast<size_t>(it - ids.begin())], p.at("class").get<int>());
    }
  }
  EXPECT_EQ(tested.size(), 10u) << "every subject is tested exactly once";

  const json res = json::parse(read_text_file(run / "results.json"));
  ASSERT_EQ(res.at("folds").size(), 2u);
  for (const char* m : {"accuracy", "bac", "sensitivity", "specificity", "auc"}) {
    EXPECT_TRUE(res.at("mean").contains(m)) << m;
    EXPECT_TRUE(res.at("std").contains(m)) << m;
    EXPECT_TRUE(res.at("folds").at(0).contains(m)) << m;
  }
  const double mean_acc = res.at("mean").at("accuracy").get<double>();
  EXPECT_NEAR(mean_acc, (res.at("folds").at(0).at("accuracy").get<double>() + res.at("folds").at(1).at("accuracy").get<double>()) / 2, 1e-12);
  EXPECT_NE(read_text_file(run / "results.md").find("mean ± std"), std::string::npos);

  // Re-running into the finished folder needs --resume, which then skips both folds.
  EXPECT_NE(test::run_command(train_cmd(dir / "data", run, dir / "cache", "--folds 2 --model-name MProtoNet3D_pm5")).exit_code, 0);
  const auto again = test::run_command(train_cmd(dir / "data", run, dir / "cache", "--folds 2 --model-name MProtoNet3D_pm5 --resume"));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already finished"), std::string::npos);
  // Other settings in the same folder are refused.
  const auto other = test::run_command(train_cmd(dir / "data", run, dir / "cache", "--folds 2 --model-name CNN3D --resume"));
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.output.find("different settings"), std::string::npos) << other.output;
}

// --precision auto is resolved before the run is recorded: run.json holds what trained (bf16
// only on a CPU with native bf16, see test_precision.cpp), never "auto".
TEST(TrainCli, PrecisionAutoIsRecordedAsChosen) {
  test::TempDir dir;
  test::write_synthetic_cohort(dir / "data", kLabels);
  const auto r = test::run_command(
      train_cmd(dir / "data", dir / "run", dir / "cache", "--folds 2 --fold 0 --model-name CNN3D --epochs 1 --precision auto"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json info = json::parse(read_text_file(dir / "run" / "run.json"));
  EXPECT_EQ(info.at("train").at("precision"), cpu_has_native_bf16() ? "bf16" : "fp32");
}

TEST(TrainCli, SeparateFoldsThenMergeAndResumeAfterAKill) {
  test::TempDir dir;
  test::write_synthetic_cohort(dir / "data", kLabels);
  const fs::path run = dir / "run";
  const std::string base = "--folds 2 --model-name CNN3D --epochs 3";
  auto r = test::run_command(train_cmd(dir / "data", run, dir / "cache", base + " --fold 1"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(run / "results.json"));
  auto m = test::run_command(test::shell_quote(test::cli_path().string()) + " merge " + test::shell_quote(run.string()) + " 2>&1");
  EXPECT_NE(m.exit_code, 0);
  EXPECT_NE(m.output.find("fold(s) 0 of 2"), std::string::npos) << m.output;
  // Fold 0 "killed" after its first epoch, then resumed.
  r = test::run_command(train_cmd(dir / "data", run, dir / "cache", base + " --fold 0 --stop-after-steps 1"));
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_TRUE(fs::exists(run / "fold_0" / "checkpoint.pt"));
  r = test::run_command(train_cmd(dir / "data", run, dir / "cache", base + " --fold 0 --resume"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming after step 1/3"), std::string::npos) << r.output;
  ASSERT_TRUE(fs::exists(run / "results.json")) << "the last fold's job aggregates";
  const json direct = json::parse(read_text_file(run / "results.json"));
  fs::remove(run / "results.json");
  m = test::run_command(test::shell_quote(test::cli_path().string()) + " merge " + test::shell_quote(run.string()) + " 2>&1");
  ASSERT_EQ(m.exit_code, 0) << m.output;
  EXPECT_EQ(json::parse(read_text_file(run / "results.json")), direct);
}

TEST(TrainCli, BadDatasetsAndSettingsGiveClearErrors) {
  test::TempDir dir;
  test::write_synthetic_cohort(dir / "one_class", {1, 1, 1, 1, 1, 1});
  auto r = test::run_command(train_cmd(dir / "one_class", dir / "o1", dir / "cache", "--folds 2"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("one class only"), std::string::npos) << r.output;

  test::write_synthetic_cohort(dir / "few", {1, 0, 1});
  r = test::run_command(train_cmd(dir / "few", dir / "o2", dir / "cache", "--folds 5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("fewer than --folds 5"), std::string::npos) << r.output;

  // 48 mm voxels: a 4 x 4 x 3 input, smaller than the backbone's stride 4.
  test::write_synthetic_cohort(dir / "ok", {1, 0, 1, 0});
  r = test::run_command(train_cmd(dir / "ok", dir / "o3", dir / "cache", "--folds 2 --spacing 48"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("smaller than the stride"), std::string::npos) << r.output;

  r = test::run_command(train_cmd(dir / "ok", dir / "o4", dir / "cache", "--folds 2 --model-name ProtoPNet"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("valid: CNN3D, MProtoNet3D_pm0"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mprotonet
