// SPDX-License-Identifier: MIT
// Cross-version test (issue 22): the CLI of this build and the CLI of the other LibTorch
// configuration (build/ on Debian's LibTorch 1.13, build-libtorch2/ on PyPI's LibTorch 2.x,
// scripts/build-libtorch2.sh) train the same tiny model with the same seed on the same synthetic
// cohort, and
//   - the two trained models give the same logits, within kTrainedTolerance;
//   - each CLI reads the model file (.mpn) the other wrote and gives the same logits for it as
//     the writer does, within kSameWeightsTolerance.
// Skipped, with the reason, when the other build's CLI does not exist (MPROTONET_OTHER_CLI
// names it explicitly).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {
namespace {

// Measured (2026-12-02, LibTorch 1.13.1 against 2.12.1, 2-core x86-64): the same weights give
// logits equal to 2.4e-7, the two trainings (two joint epochs of one step, a push, a last-layer
// epoch) 4.2e-7, while the logits of the four cases spread over 1.5e-3. The tolerances leave a
// 40x margin and stay 100x below that spread, so a real difference (a changed op, a misread
// tensor) cannot hide in them.
constexpr double kSameWeightsTolerance = 1e-5;
constexpr double kTrainedTolerance = 1e-5;

fs::path other_cli() {
  if (const char* env = std::getenv("MPROTONET_OTHER_CLI"); env && *env) return env;
  const fs::path self = fs::weakly_canonical(fs::path(MPROTONET_BINARY_DIR));
  const fs::path src = test::source_dir();
  const fs::path a = src / "build", b = src / "build-libtorch2";
  const bool self_is_b = fs::exists(b) && fs::equivalent(self, b);
  return (self_is_b ? a : b) / "mprotonet";
}

std::vector<std::vector<double>> logits_of(const fs::path& json_file) {
  return json::parse(read_text_file(json_file)).at("logits").get<std::vector<std::vector<double>>>();
}

double max_abs_diff(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    EXPECT_EQ(a[i].size(), b[i].size());
    for (size_t j = 0; j < a[i].size() && j < b[i].size(); ++j) {
      const double d = std::abs(a[i][j] - b[i][j]);
      m = std::isnan(d) ? INFINITY : std::max(m, d);
    }
  }
  return m;
}

TEST(CrossVersion, TrainedLogitsAndModelFilesAgreeAcrossLibTorchVersions) {
  const fs::path self = test::cli_path(), other = other_cli();
  if (!fs::exists(other)) {
    GTEST_SKIP() << "the other LibTorch configuration's CLI (" << other.string()
                 << ") is not built: build both (scripts/build.sh and scripts/build-libtorch2.sh), "
                    "or set MPROTONET_OTHER_CLI";
  }
  const std::vector<fs::path> clis{self, other};
  test::TempDir dir;
  const fs::path data = dir / "data";
  auto r = test::run_command(test::shell_quote(self.string()) + " synth --out " + test::shell_quote(data.string()) +
                             " --cases 8 --seed 3 --shape 48,48,36 --spacing 4 --hgg-fraction 0.5 --threads 2 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(data))
    if (e.is_directory()) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 8u);
  cases.resize(4);  // predicted by both CLIs with both models: 16 processes

  // Train with each CLI: same data, seed and settings; one thread, so neither side's
  // reductions depend on scheduling.
  std::vector<fs::path> models;
  for (size_t v = 0; v < clis.size(); ++v) {
    const fs::path run = dir / ("run" + std::to_string(v));
    r = test::run_command(test::shell_quote(clis[v].string()) + " train --data " + test::shell_quote(data.string()) +
                          " --out " + test::shell_quote(run.string()) + " --cache " +
                          test::shell_quote((dir / ("cache" + std::to_string(v))).string()) +
                          " --folds 2 --fold 0 --seed 5 --epochs 2 --batch-size 4 --features resnet18_ri --n-layers 5"
                          " --prototypes 4 --push-interval 1 --last-layer-epochs 1 --spacing 6 --threads 1 --quiet 2>&1");
    ASSERT_EQ(r.exit_code, 0) << clis[v] << "\n" << r.output;
    models.push_back(run / "fold_0" / "model.mpn");
    ASSERT_TRUE(fs::exists(models.back())) << r.output;
  }

  // Every CLI predicts every case with every model: logits[cli][model].
  std::vector<std::vector<std::vector<std::vector<double>>>> logits(2, std::vector<std::vector<std::vector<double>>>(2));
  for (size_t c = 0; c < 2; ++c) {
    for (size_t m = 0; m < 2; ++m) {
      for (size_t k = 0; k < cases.size(); ++k) {
        const fs::path out = dir / ("pred_" + std::to_string(c) + std::to_string(m) + "_" + std::to_string(k) + ".json");
        r = test::run_command(test::shell_quote(clis[c].string()) + " predict --model " +
                              test::shell_quote(models[m].string()) + " --case " + test::shell_quote(cases[k].string()) +
                              " --json " + test::shell_quote(out.string()) + " 2>&1");
        ASSERT_EQ(r.exit_code, 0) << clis[c] << " reading " << models[m] << "\n" << r.output;
        const auto l = logits_of(out);
        ASSERT_EQ(l.size(), 1u);
        logits[c][m].push_back(l[0]);
      }
    }
  }
  // A model file read by the other version gives the writer's logits.
  const double read0 = max_abs_diff(logits[0][0], logits[1][0]);
  const double read1 = max_abs_diff(logits[1][1], logits[0][1]);
  EXPECT_LE(read0, kSameWeightsTolerance) << "model written by " << clis[0] << ", read by " << clis[1];
  EXPECT_LE(read1, kSameWeightsTolerance) << "model written by " << clis[1] << ", read by " << clis[0];
  // The two trainings agree.
  const double trained = max_abs_diff(logits[0][0], logits[1][1]);
  EXPECT_LE(trained, kTrainedTolerance) << "models trained by " << clis[0] << " and " << clis[1];
  // The logits are not trivially equal (a constant model would pass the comparisons above).
  double spread = 0.0;
  for (const auto& row : logits[0][0]) spread = std::max(spread, std::abs(row[1] - logits[0][0][0][1]));
  EXPECT_GT(spread, 10 * kTrainedTolerance) << "the cases' logits barely differ: the comparisons above say little";
  std::printf("cross-version: max |logit difference|: same weights %.3g / %.3g, trained %.3g (spread %.3g)\n", read0,
              read1, trained, spread);
}

}  // namespace
}  // namespace mprotonet
