// SPDX-License-Identifier: MIT
// Numeric options and refused commands (issue 19): every numeric option is checked for range
// and for being an integer where one is expected, the same way on the command line and in a
// --config file (2.7 is not 2, 1e20 is not a negative number, NaN is not a learning rate); a
// refused command writes nothing; the step plan of a training does not grow with --epochs; a
// model is fed only the input size it was trained on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/bounds.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/engines/trainer.h"
#include "mprotonet/transforms/preprocess.h"
#include "robustness/fault_util.h"
#include "robustness/robustness_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {
namespace {



// ------------------------------------------------------------------------------ bounds
TEST(Options, IntegersMustBeIntegersInRange) {
  using namespace bounds;
  EXPECT_EQ(parse_integer("42", "epochs", 1, 100), 42);
  EXPECT_NE(test::refusal_of([] { parse_integer("2.7", "epochs", 1, 100); }).find("epochs is \"2.7\" (not an integer)"),
            std::string::npos);
  EXPECT_NE(test::refusal_of([] { parse_integer("1e20", "epochs", 1, 100); }).find("not an integer"), std::string::npos);
  EXPECT_NE(test::refusal_of([] { parse_integer("99999999999999999999", "epochs", 1, 100); }).find("expected an integer from 1 to 100"),
            std::string::npos);
  EXPECT_EQ(test::refusal_of([] { parse_integer("-3", "", 0, 1024); }), "-3 is out of range; expected an integer from 0 to 1024");
  EXPECT_NE(test::refusal_of([] { parse_integer("", "x", 0, 1); }).find("not a number"), std::string::npos);
  EXPECT_NE(test::refusal_of([] { parse_number("nan", "lr", 0, 10, true); }).find("lr is \"nan\" (not a finite number)"),
            std::string::npos);
  EXPECT_NE(test::refusal_of([] { parse_number("0", "lr", 0, 10, true); }).find("expected a number above 0 up to 10"),
            std::string::npos);
  EXPECT_DOUBLE_EQ(parse_number("1e-3", "lr", 0, 10, true), 1e-3);

  EXPECT_EQ(json_integer(json(2.0), "epochs", 1, 10), 2);
  EXPECT_NE(test::refusal_of([] { json_integer(json(2.7), "epochs", 1, 10); }).find("epochs is 2.7 (not an integer)"),
            std::string::npos);
  EXPECT_NE(test::refusal_of([] { json_integer(json(1e20), "epochs", 1, 10); }).find("epochs is 1e+20; expected an integer from 1 to 10"),
            std::string::npos);
  EXPECT_NE(test::refusal_of([] { json_integer(json("3"), "epochs", 1, 10); }).find("a JSON string"), std::string::npos);
  EXPECT_NE(test::refusal_of([] { json_integer(json(true), "epochs", 1, 10); }).find("a JSON boolean"), std::string::npos);
}

TEST(Options, ConfigFileNumbersAreCheckedNotCoerced) {
  TrainOptions o;
  EXPECT_NE(test::refusal_of([&] { update_from_json(o, json{{"epochs", 1e20}}, "cfg.json"); }).find("epochs is 1e+20"),
            std::string::npos);
  EXPECT_NE(test::refusal_of([&] { update_from_json(o, json{{"epochs", 2.7}}, "cfg.json"); }).find("not an integer"),
            std::string::npos);
  EXPECT_NE(test::refusal_of([&] { update_from_json(o, json{{"lr", -1}}, "cfg.json"); }).find("lr is -1"), std::string::npos);
  EXPECT_EQ(o.epochs, 100) << "a refused value must not be stored";
  update_from_json(o, json{{"epochs", 3.0}}, "cfg.json");
  EXPECT_EQ(o.epochs, 3);
  o.warmup_epochs = 3;
  EXPECT_NE(test::refusal_of([&] { validate_train_options(o); }).find("warmup_epochs is 3; expected an integer from -1 to 2"),
            std::string::npos);
  o.warmup_epochs = -1;
  o.lr = std::nan("");
  EXPECT_NE(test::refusal_of([&] { validate_train_options(o); }).find("lr is nan"), std::string::npos);
}

// ------------------------------------------------------------------------------ step plan
// The step sequence as trainer.h defines it, built naively: the oracle of StepPlan.
std::vector<TrainStep> naive_steps(bool proto, int64_t epochs, int64_t push_interval, int64_t last_layer_epochs) {
  std::vector<TrainStep> steps;
  for (int64_t e = 1; e <= epochs; ++e) {
    steps.push_back({StepKind::kJoint, e, 0});
    if (!proto) continue;
    if ((push_interval > 0 && e % push_interval == 0) || e == epochs) {
      steps.push_back({StepKind::kPush, e, 0});
      for (int64_t k = 1; k <= last_layer_epochs; ++k) steps.push_back({StepKind::kLastLayer, e, k});
    }
  }
  return steps;
}

TEST(Options, StepPlanEqualsTheStepListWithoutStoringIt) {
  for (const bool proto : {true, false})
    for (int64_t e = 1; e <= 13; ++e)
      for (int64_t p = 0; p <= 6; ++p)
        for (int64_t l = 0; l <= 3; ++l) {
          TrainOptions o;
          o.epochs = e;
          o.push_interval = p;
          o.last_layer_epochs = l;
          const StepPlan plan(proto, o);
          const auto expected = naive_steps(proto, e, p, l);
          ASSERT_EQ(plan.size(), static_cast<int64_t>(expected.size())) << e << " " << p << " " << l;
          int64_t counts[3] = {0, 0, 0};
          for (int64_t s = 0; s < plan.size(); ++s) {
            const TrainStep got = plan.at(s), want = expected[static_cast<size_t>(s)];
            ASSERT_TRUE(got.kind == want.kind && got.epoch == want.epoch && got.sub_epoch == want.sub_epoch)
                << "step " << s << " of E=" << e << " P=" << p << " L=" << l;
            ++counts[static_cast<int>(want.kind)];
          }
          EXPECT_EQ(plan.count(StepKind::kJoint), counts[0]);
          EXPECT_EQ(plan.count(StepKind::kPush), counts[1]);
          EXPECT_EQ(plan.count(StepKind::kLastLayer), counts[2]);
        }
  // The largest plan the bounds allow: 10^9 steps (24 GB as a list) answered in constant memory.
  TrainOptions o;
  o.epochs = bounds::kMaxEpochs;
  o.push_interval = 1;
  o.last_layer_epochs = bounds::kMaxLastLayerEpochs;
  const StepPlan plan(true, o);
  EXPECT_EQ(plan.size(), bounds::kMaxEpochs * (2 + bounds::kMaxLastLayerEpochs));
  const TrainStep last = plan.at(plan.size() - 1);
  EXPECT_TRUE(last.kind == StepKind::kLastLayer && last.epoch == bounds::kMaxEpochs &&
              last.sub_epoch == bounds::kMaxLastLayerEpochs);
}

// ------------------------------------------------------------------------------ CLI
class OptionsCli : public ::testing::Test {
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
  static std::string train(const std::string& out, const std::string& extra) {
    return "train --data " + (base() / "data").string() + " --out " + (base() / out).string() + " --cache " +
           (base() / "cache").string() +
           " --folds 2 --model-name CNN3D --features resnet18_ri --n-layers 5 --batch-size 2 --spacing 6 --threads 1 " + extra;
  }
  static test::TempDir* dir_;
};
test::TempDir* OptionsCli::dir_ = nullptr;

TEST_F(OptionsCli, OutOfRangeOptionsAreUsageErrorsNamingTheRange) {
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"--epochs 99999999999", "--epochs: 99999999999 is out of range; expected an integer from 1 to 100000"},
      {"--epochs 2.7", "--epochs: \"2.7\" is not an integer"},
      {"--threads -3", "--threads: -3 is out of range; expected an integer from 0 to 1024"},
      {"--lr nan", "--lr: \"nan\" is not a finite number"},
      {"--fold -1", "--fold: -1 is out of range; expected an integer from 0 to 999"},
      {"--spacing 1e-300", "--spacing: 1e-300 is out of range; expected a number from 0.1 to 192"},
  };
  for (const auto& c : cases) {
    const auto r = test::run_cli(train("refused", c.args));
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(base() / "refused")) << c.args << " left an output folder";
  }
  const auto p = test::run_cli("preprocess --data " + (base() / "data").string() + " --threads -3");
  EXPECT_EQ(p.exit_code, 2) << p.output;
  EXPECT_NE(p.output.find("--threads: -3 is out of range"), std::string::npos) << p.output;
  const auto e = test::run_cli("evaluate --run x --data x --folds 0,2.7");
  EXPECT_EQ(e.exit_code, 1) << e.output;
  EXPECT_NE(e.output.find("--folds entry is \"2.7\" (not an integer)"), std::string::npos) << e.output;
}

TEST_F(OptionsCli, ConfigNumbersAreRefusedNotCoerced) {
  for (const auto& [value, message] : std::vector<std::pair<std::string, std::string>>{
           {"1e20", "epochs is 1e+20; expected an integer from 1 to 100000"}, {"2.7", "epochs is 2.7 (not an integer)"}}) {
    const fs::path cfg = base() / "cfg.json";
    write_text_atomically(cfg, "{\"train\": {\"epochs\": " + value + "}}");
    const auto r = test::run_cli(train("refused", "--config " + cfg.string()));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(cfg.string()), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(base() / "refused"));
  }
}

TEST_F(OptionsCli, ARefusedTrainingWritesNothingSoTheCorrectedRetryRuns) {
  // warmup_epochs must be below epochs: refused before run.json is written, so the retry into
  // the same folder is not taken for "a run with different settings".
  const fs::path cfg = base() / "warmup.json";
  write_text_atomically(cfg, R"({"train": {"warmup_epochs": 5}})");
  const auto bad = test::run_cli(train("retry", "--epochs 3 --seed 0 --config " + cfg.string()));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("warmup_epochs is 5; expected an integer from -1 to 2"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(base() / "retry" / "run.json")) << "a refused run wrote run.json";
  const auto good = test::run_cli(train("retry", "--epochs 3 --seed 0 --fold 0 --stop-after-steps 1"));
  EXPECT_EQ(good.exit_code, 3) << good.output;  // stopped after one step, as asked
}

TEST_F(OptionsCli, PredictRefusesAnInputSizeOtherThanTheModels) {
  const fs::path model = base() / "model12mm.mpn";
  test::write_tiny_model(model);
  std::ifstream in(base() / "data/name_mapping.csv");
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  const fs::path case_dir = base() / "data" / line.substr(line.rfind(',') + 1);
  const std::string predict = "predict --model " + model.string() + " --case " + case_dir.string() + " --json " +
                              (base() / "p.json").string();
  const auto fine = test::run_cli(predict + " --spacing 0.5");  // a 12 mm model fed 384 x 384 x 288
  EXPECT_EQ(fine.exit_code, 1) << fine.output;
  EXPECT_NE(fine.output.find("is 384x384x288 voxels; the model was trained on 16x16x12"), std::string::npos) << fine.output;
  const auto finer = test::run_cli(predict + " --spacing 0.2");
  EXPECT_EQ(finer.exit_code, 1) << finer.output;
  EXPECT_NE(finer.output.find("spacing 0.2 mm is too fine"), std::string::npos) << finer.output;
  EXPECT_FALSE(fs::exists(base() / "p.json"));
  const auto right = test::run_cli(predict);  // the spacing follows from the model
  EXPECT_EQ(right.exit_code, 0) << right.output;
}

TEST(Options, PreprocessingGridIsBoundedWithAReadableMessage) {
  PreprocessOptions o;
  o.spacing_mm = 1e-300;
  const std::string msg = test::refusal_of([&] { o.output_shape(); });
  EXPECT_NE(msg.find("spacing 1e-300 mm is too fine"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("0.000000"), std::string::npos) << msg;
  o.spacing_mm = 500;
  EXPECT_NE(test::refusal_of([&] { o.output_shape(); }).find("spacing 500 mm is larger than the 192 mm field of view"),
            std::string::npos);
  o.spacing_mm = 1.5;
  EXPECT_EQ(o.output_shape(), (std::array<int64_t, 3>{128, 128, 96}));
}

}  // namespace
}  // namespace mprotonet
