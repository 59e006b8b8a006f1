// End-to-end tests of the `mprotonet` CLI: help and exit codes of every subcommand, the demo
// job on a tiny synthetic cohort, `dataset`, and `predict --case` on a real case with maps
// written back onto the case's own T1 grid.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/nets/inference.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/models.h"
#include "mprotonet/transforms/preprocess.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

std::string cli() { return test::cli_path().string(); }

std::vector<std::string> subcommands() {
  const auto r = test::run_command(cli() + " --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> names;
  std::istringstream in(r.output);
  bool in_list = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_list = true;
      continue;
    }
    if (in_list && line.size() > 2 && line[0] == ' ') {
      std::istringstream words(line);
      std::string name;
      words >> name;
      names.push_back(name);
    }
  }
  return names;
}

TEST(Cli, EverySubcommandHasHelpAndTheListIsComplete) {
  const auto names = subcommands();
  for (const char* expected : {"synth", "preprocess", "dataset", "demo", "import", "export", "predict"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (const auto& name : names) {
    const auto r = test::run_command(cli() + " " + name + " --help");
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.output;
    EXPECT_NE(r.output.find("Usage:"), std::string::npos) << name;
  }
}

TEST(Cli, BadUsageExitsNonZeroWithoutASignal) {
  for (const std::string args : {"", "no-such-command", "preprocess --spacing -1", "dataset", "predict --model /nonexistent.mpn --tensor x.pt --json y.json"}) {
    const auto r = test::run_command(cli() + " " + args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_LT(r.exit_code, 128) << args << ": " << r.output;
    EXPECT_FALSE(r.output.empty()) << args;
  }
  const auto missing = test::run_command(cli() + " predict --model /nonexistent.mpn --tensor x.pt --json y.json");
  EXPECT_NE(missing.output.find("/nonexistent.mpn"), std::string::npos) << missing.output;
}

TEST(Cli, DemoOnATinyCohortWritesSummaryAndPreviewAndDatasetSeesTheFolds) {
  test::TempDir dir;
  const auto r = test::run_command(cli() + " demo --out " + (dir / "run").string() + " --cases 15 --synth-spacing 4 --spacing 6");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto summary = nlohmann::json::parse(std::ifstream(dir / "run" / "summary.json"));
  EXPECT_EQ(summary["cases"], 15);
  EXPECT_EQ(summary["hgg"].get<int>() + summary["lgg"].get<int>(), 15);
  EXPECT_EQ(summary["input_shape"], nlohmann::json({4, 32, 32, 24}));
  EXPECT_TRUE(fs::exists(dir / "run" / "preview.png"));
  EXPECT_TRUE(fs::exists(dir / "run" / "summary.md"));

  const auto ds = test::run_command(cli() + " dataset --data " + (dir / "run" / "data").string() + " --folds 3 --json " +
                                    (dir / "ds.json").string());
  ASSERT_EQ(ds.exit_code, 0) << ds.output;
  EXPECT_NE(ds.output.find("15 subjects"), std::string::npos) << ds.output;
  const auto j = nlohmann::json::parse(std::ifstream(dir / "ds.json"));
  ASSERT_EQ(j["folds"].size(), 3u);
  size_t tested = 0;
  for (const auto& f : j["folds"]) tested += f["test"].size();
  EXPECT_EQ(tested, 15u);

  // A second run reuses the cohort and the cache.
  const auto again = test::run_command(cli() + " demo --out " + (dir / "run").string() + " --cases 15 --synth-spacing 4 --spacing 6");
  ASSERT_EQ(again.exit_code, 0) << again.output;
}

TEST(Cli, PredictCaseWritesProbabilitiesAndMapsOnTheCasesOwnGrid) {
  test::TempDir dir;
  nets::ModelConfig config;
  config.model_name = "MProtoNet3D_pm5";
  config.features = "resnet18_ri";
  config.n_layers = 5;
  config.in_size = {4, 32, 32, 24};  // 192 x 192 x 144 mm at 6 mm
  config.prototype_shape = {4, 16, 1, 1, 1};
  config.topk_p = 10;
  auto model = nets::build_model(config, 3);
  model->eval();
  nets::save_model_file(dir / "model.mpn", *model);

  const fs::path case_dir = test::data_path("brats/TCGA-DU-7294");
  const auto r = test::run_command(cli() + " predict --model " + (dir / "model.mpn").string() + " --case " + case_dir.string() +
                                   " --json " + (dir / "p.json").string() + " --maps " + (dir / "maps").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(std::ifstream(dir / "p.json"));
  const double p0 = j["probabilities"][0][0], p1 = j["probabilities"][0][1];
  EXPECT_NEAR(p0 + p1, 1.0, 1e-6);

  // Same numbers as preprocessing + predicting through the library.
  PreprocessOptions options;
  options.spacing_mm = 6.0;
  CaseFiles files = find_case_files(case_dir);
  files.seg.reset();
  const auto c = preprocess_case(files, options);
  auto x = torch::empty({1, 4, 32, 32, 24});
  for (int m = 0; m < 4; ++m) x[0][m].copy_(torch::from_blob(const_cast<float*>(c.images[m].data.data()), {32, 32, 24}));
  const auto p = nets::predict(*model, x);
  EXPECT_NEAR(p.probabilities[0][1].item<double>(), p1, 1e-5);

  const auto t1 = read_nifti_header(files.images[0]);
  for (const char* method : {"mprotonet", "gradcam"}) {
    const auto back = read_nifti_header(dir / "maps" / (std::string(method) + ".nii.gz"));
    for (int d = 1; d <= 3; ++d) EXPECT_EQ(back.dim[d], t1.dim[d]) << method;
    for (int r2 = 0; r2 < 3; ++r2)
      for (int c2 = 0; c2 < 4; ++c2) EXPECT_NEAR(back.affine[r2][c2], t1.affine[r2][c2], 1e-4) << method;
    const auto pre = read_nifti(dir / "maps" / (std::string(method) + "_preprocessed.nii.gz"));
    EXPECT_EQ(pre.shape, (std::array<int64_t, 3>{32, 32, 24}));
  }
  const auto both = test::run_command(cli() + " predict --model " + (dir / "model.mpn").string() + " --case " + case_dir.string() +
                                      " --tensor x.pt --json " + (dir / "q.json").string());
  EXPECT_NE(both.exit_code, 0);
}

}  // namespace
}  // namespace mprotonet
