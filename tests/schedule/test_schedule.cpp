// SPDX-License-Identifier: MIT
// Tests of the warm-up + cosine learning-rate schedule: values worked out by hand and parity
// with PyTorch's schedulers chained as the reference chains them (tests/helpers/schedule_oracle.py).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/engines/schedule.h"

using namespace mprotonet;

TEST(Schedule, HandValuesPaperSetting) {
  LrScheduleOptions o;  // E = 100, warm-up 20, base 1e-3
  EXPECT_EQ(resolved_warmup_epochs(o), 20);
  EXPECT_DOUBLE_EQ(learning_rate(0, o), 1e-3 / 20);
  EXPECT_DOUBLE_EQ(learning_rate(9, o), 1e-3 * 10 / 20);
  EXPECT_DOUBLE_EQ(learning_rate(19, o), 1e-3);
  EXPECT_DOUBLE_EQ(learning_rate(20, o), 1e-3);             // cosine starts at the peak
  EXPECT_NEAR(learning_rate(60, o), 0.5e-3, 1e-15);          // half-way through 80 epochs
  EXPECT_NEAR(learning_rate(99, o), 1e-3 * (1 + std::cos(M_PI * 79 / 80)) / 2, 1e-15);
  EXPECT_GT(learning_rate(99, o), 0.0);
}

TEST(Schedule, HandValuesShortRun) {
  LrScheduleOptions o;
  o.epochs = 10;  // warm-up 2, cosine over 8
  const std::vector<double> expected{0.5e-3, 1e-3, 1e-3, 0.9619397662556434e-3, 0.8535533905932737e-3,
                                     0.6913417161825449e-3, 0.5e-3, 0.3086582838174551e-3,
                                     0.1464466094067262e-3, 0.0380602337443566e-3};
  const auto lrs = learning_rates(o);
  ASSERT_EQ(lrs.size(), expected.size());
  for (size_t e = 0; e < lrs.size(); ++e) EXPECT_NEAR(lrs[e], expected[e], 1e-15) << "epoch " << e;
}

TEST(Schedule, NoWarmupBelowFiveEpochs) {
  LrScheduleOptions o;
  o.epochs = 4;  // 4 / 5 = 0: plain cosine over 4 epochs
  EXPECT_EQ(resolved_warmup_epochs(o), 0);
  EXPECT_DOUBLE_EQ(learning_rate(0, o), 1e-3);
  EXPECT_NEAR(learning_rate(2, o), 0.5e-3, 1e-15);
}

TEST(Schedule, MatchesTorchSchedulers) {
  // Every (E, warm-up) case in one oracle run (importing torch dominates its cost).
  std::vector<LrScheduleOptions> cases;
  std::string specs;
  for (int64_t epochs : {100, 23, 10, 7, 5, 4, 1}) {
    for (int64_t warmup : {int64_t{-1}, int64_t{3}}) {
      LrScheduleOptions o;
      o.epochs = epochs;
      o.warmup_epochs = warmup;
      o.base_lr = 2e-3;
      if (warmup >= epochs) continue;
      cases.push_back(o);
      specs += " " + std::to_string(epochs) + ":" + std::to_string(resolved_warmup_epochs(o));
    }
  }
  auto r = test::run_python_helper("schedule_oracle.py", "2e-3" + specs);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = nlohmann::json::parse(r.output);
  for (const auto& o : cases) {
    const std::string key = std::to_string(o.epochs) + ":" + std::to_string(resolved_warmup_epochs(o));
    const auto expected = json.at(key).get<std::vector<double>>();
    const auto lrs = learning_rates(o);
    ASSERT_EQ(lrs.size(), expected.size()) << key;
    for (size_t e = 0; e < lrs.size(); ++e)
      EXPECT_NEAR(lrs[e], expected[e], 1e-12 * 2e-3) << "E:warm-up " << key << ", epoch " << e;
  }
}

TEST(Schedule, InvalidOptionsAreErrors) {
  LrScheduleOptions o;
  o.epochs = 0;
  EXPECT_THROW(learning_rate(0, o), Error);
  o.epochs = 10;
  o.warmup_epochs = 10;
  EXPECT_THROW(resolved_warmup_epochs(o), Error);
  o.warmup_epochs = -1;
  EXPECT_THROW(learning_rate(10, o), Error);
  EXPECT_THROW(learning_rate(-1, o), Error);
  o.base_lr = 0;
  try {
    learning_rate(0, o);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("base_lr"), std::string::npos) << e.what();
  }
}
