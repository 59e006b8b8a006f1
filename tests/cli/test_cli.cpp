// SPDX-License-Identifier: MIT
// End-to-end tests of the `mprotonet` CLI: help and exit codes of every subcommand, the demo
// job on a tiny synthetic cohort, `dataset`, and `predict --case` on a real case with maps
// written back onto the case's own T1 grid.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/preprocess_case.h"
#include "mprotonet/engines/evaluator.h"
#include "mprotonet/engines/explain.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/nets/inference.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/models.h"

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

// Options bound to the library's options structs show the struct's defaults in --help (one place
// for each default): the values expected here are read from the structs, not written again.
TEST(Cli, HelpShowsTheLibrarysDefaults) {
  auto help_of = [](const std::string& command) {
    auto r = test::run_command(cli() + " " + command + " --help");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::string flat;  // CLI11 wraps long lines: compare on single spaces
    std::istringstream in(r.output);
    for (std::string w; in >> w;) flat += w + " ";
    return flat;
  };
  const EvaluationOptions ev;
  const std::string evaluate = help_of("evaluate");
  EXPECT_NE(evaluate.find("subjects per batch (default " + std::to_string(ev.batch_size) + ")"), std::string::npos) << evaluate;
  EXPECT_NE(evaluate.find("occluded copies per forward (default " + std::to_string(ev.occlusion.batch_size) + ")"),
            std::string::npos)
      << evaluate;
  EXPECT_NE(evaluate.find("(default " + ev.device.str() + ")"), std::string::npos) << evaluate;
  EXPECT_NE(evaluate.find("(default " + precision_name(ev.precision) + ")"), std::string::npos) << evaluate;
  const ExplainOptions ex;
  const std::string explain = help_of("explain");
  EXPECT_NE(explain.find("prototypes listed (default " + std::to_string(ex.top_prototypes) + ")"), std::string::npos) << explain;
  EXPECT_NE(explain.find("(default mprotonet,gradcam)"), std::string::npos) << explain;
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

// The main job end to end at toy size (24 x 24 x 18, 2 epochs), three of the six rows: cohort,
// cache, every row cross-validated on the same folds and evaluated, MProtoNet C compared with the
// other rows per subject (recomputed by a SciPy oracle from the rows' own files), the report; a
// second run finds everything done and keeps it.
TEST(Cli, DemoRunsTheWholeJobOnATinyCohortAndContinuesWhenRunAgain) {
  test::TempDir dir;
  const std::string cmd = cli() + " demo --out " + (dir / "run").string() +
                          " --cases 12 --synth-spacing 6 --spacing 8 --epochs 2 --cnn-epochs 2 --batch-size 4"
                          " --faithfulness-subjects 2 --models CNN3D,MProtoNet3D_pm1,MProtoNet3D_pm5 2>&1";
  const auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("report.html"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("row 3/3 MProtoNet C"), std::string::npos) << r.output;
  const auto demo = nlohmann::json::parse(std::ifstream(dir / "run" / "demo.json"));
  EXPECT_EQ(demo["dataset"]["cases"], 12);
  EXPECT_EQ(demo["dataset"]["hgg"].get<int>() + demo["dataset"]["lgg"].get<int>(), 12);
  EXPECT_EQ(demo["dataset"]["input_shape"], nlohmann::json({4, 24, 24, 18}));
  EXPECT_EQ(demo["runs"], nlohmann::json({"runs/CNN3D", "runs/MProtoNet3D_pm1", "runs/MProtoNet3D_pm5"}));
  for (const char* stage : {"cohort", "preprocessing", "train MProtoNet3D_pm5", "train CNN3D", "train MProtoNet3D_pm1",
                            "evaluate MProtoNet3D_pm5", "evaluate CNN3D", "evaluate MProtoNet3D_pm1", "report", "total"})
    EXPECT_TRUE(demo["seconds"].contains(stage)) << stage;
  for (const char* model : {"MProtoNet3D_pm5", "MProtoNet3D_pm1", "CNN3D"}) {
    const fs::path run = dir / "run" / "runs" / model;
    const auto results = nlohmann::json::parse(std::ifstream(run / "results.json"));
    EXPECT_EQ(results["folds"].size(), 3u) << model;
    const auto evaluation = nlohmann::json::parse(std::ifstream(run / "evaluation.json"));
    EXPECT_EQ(evaluation["folds"].size(), 3u) << model;
    EXPECT_EQ(evaluation["faithfulness_subjects_per_fold"], 2) << model;
    // Fold, summary and significance numbers and results.json recomputed from the per-subject
    // records (tests/helpers/evaluation_oracle.py).
    const auto numbers = test::run_python_helper("evaluation_oracle.py", test::shell_quote(run.string()));
    EXPECT_EQ(numbers.exit_code, 0) << model << ": " << numbers.output;
    EXPECT_NE(numbers.output.find("checked: evaluation"), std::string::npos) << numbers.output;
    EXPECT_NE(numbers.output.find(" cv"), std::string::npos) << numbers.output;
  }
  // The paired comparison: every other row against MProtoNet C, on AP, IDS and BAC, over the
  // subjects of all folds (12 with a segmentation; 6 in the deletion subsets).
  const auto comparison = nlohmann::json::parse(std::ifstream(dir / "run" / "comparison.json"));
  EXPECT_EQ(comparison["reference"]["model"], "MProtoNet3D_pm5");
  ASSERT_EQ(comparison["rows"].size(), 2u);
  for (const auto& row : comparison["rows"]) {
    EXPECT_EQ(row["metrics"]["ap"]["n"], 12) << row.dump();
    EXPECT_EQ(row["metrics"]["ids"]["n"], 6) << row.dump();
    EXPECT_TRUE(row["metrics"].contains("bac")) << row.dump();
  }
  const auto oracle = test::run_python_helper("comparison_oracle.py", (dir / "run").string());
  EXPECT_EQ(oracle.exit_code, 0) << oracle.output;
  EXPECT_NE(oracle.output.find("ok"), std::string::npos) << oracle.output;
  // MProtoNet's map and GradCAM are both evaluated on the prototype model, so the significance
  // of their difference is reported.
  const auto pm5 = nlohmann::json::parse(std::ifstream(dir / "run" / "runs" / "MProtoNet3D_pm5" / "evaluation.json"));
  EXPECT_TRUE(pm5["significance"].contains("mprotonet_vs_gradcam_ap")) << pm5["significance"].dump();
  const std::string html = read_text_file(dir / "run" / "report.html");
  for (const char* text : {"MProtoNet3D_pm5", "CNN3D", "MProtoNet3D_pm1", "ProtoPNet", "MProtoNet C against every other row"})
    EXPECT_NE(html.find(text), std::string::npos) << text;
  // The table follows the paper's row order: CNN, ProtoPNet, ..., MProtoNet C.
  EXPECT_LT(html.find("CNN <span"), html.find("ProtoPNet <span"));
  EXPECT_LT(html.find("ProtoPNet <span"), html.find("MProtoNet C <span"));

  const auto ds = test::run_command(cli() + " dataset --data " + (dir / "run" / "data").string() + " --folds 3 --json " +
                                    (dir / "ds.json").string());
  ASSERT_EQ(ds.exit_code, 0) << ds.output;
  EXPECT_NE(ds.output.find("12 subjects"), std::string::npos) << ds.output;

  // A second run reuses the cohort, the cache, the trained folds and the evaluations.
  const auto model_time = fs::last_write_time(dir / "run" / "runs" / "CNN3D" / "fold_0" / "model.mpn");
  const auto eval_time = fs::last_write_time(dir / "run" / "runs" / "CNN3D" / "evaluation.json");
  const auto again = test::run_command(cmd);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("up to date"), std::string::npos) << again.output;
  EXPECT_EQ(fs::last_write_time(dir / "run" / "runs" / "CNN3D" / "fold_0" / "model.mpn"), model_time);
  EXPECT_EQ(fs::last_write_time(dir / "run" / "runs" / "CNN3D" / "evaluation.json"), eval_time);
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
  // Voxel values on the case's own grid: the preprocessed map resampled with nibabel + SciPy
  // (tests/helpers/native_map_oracle.py). Tolerance: 1e-5 of the map's largest magnitude (float32
  // trilinear weights against float64).
  const auto o = test::run_python_helper("native_map_oracle.py", test::shell_quote(files.images[0].string()) + " " +
                                                                     test::shell_quote((dir / "maps").string()) +
                                                                     " mprotonet gradcam");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  std::cout << "[ native ] " << o.output;
  const auto oj = nlohmann::json::parse(o.output);
  for (const char* method : {"mprotonet", "gradcam"}) {
    const auto& m = oj.at(method);
    EXPECT_TRUE(m["shape_ok"].get<bool>()) << method;
    EXPECT_TRUE(m["affine_ok"].get<bool>()) << method;
    ASSERT_GT(m["scale"].get<double>(), 0) << method;
    EXPECT_LE(m["max_abs_diff"].get<double>(), 1e-5 * m["scale"].get<double>()) << method << ": " << m.dump();
    EXPECT_GT(m["nonzero"].get<int>(), 1000) << method << ": the map on the T1 grid is (nearly) empty";
  }
  const auto both = test::run_command(cli() + " predict --model " + (dir / "model.mpn").string() + " --case " + case_dir.string() +
                                      " --tensor x.pt --json " + (dir / "q.json").string());
  EXPECT_NE(both.exit_code, 0);
  // A method that does not come from the prediction's pass is refused by name, and says where it is.
  const auto occ = test::run_command(cli() + " predict --model " + (dir / "model.mpn").string() + " --case " +
                                     case_dir.string() + " --methods gradcam,occlusion --json " + (dir / "o.json").string());
  EXPECT_NE(occ.exit_code, 0);
  EXPECT_NE(occ.output.find("for \"occlusion\" use `mprotonet explain`"), std::string::npos) << occ.output;
  EXPECT_FALSE(fs::exists(dir / "o.json"));
}

}  // namespace
}  // namespace mprotonet
