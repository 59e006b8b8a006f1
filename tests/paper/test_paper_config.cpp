// SPDX-License-Identifier: MIT
// The paper's configuration exercised end to end (the closest this CPU machine gets to the GPU
// run): `demo --full` on a handful of synthetic BraTS-size subjects runs the paper's network at
// the paper's input size (resnet152_ri, n_layers 6, 128 x 128 x 96 at 1.5 mm), the full
// augmentation sequence, a push and last-layer epochs, for one epoch and two rows, and writes the
// report, the evaluations and the comparison. Explicit options win over the --full preset.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {
namespace {

std::string cli() { return test::cli_path().string(); }

json read_json(const fs::path& p) { return json::parse(std::ifstream(p)); }

std::vector<json> read_lines(const fs::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

TEST(PaperConfig, FullPresetRunsTheNetworkAtThePapersSizeEndToEnd) {
  test::TempDir dir;
  const auto synth = test::run_command(cli() + " synth --out " + (dir / "cohort").string() + " --cases 4 --hgg-fraction 0.5 2>&1");
  ASSERT_EQ(synth.exit_code, 0) << synth.output;
  // The command of the issue, plus what keeps the evaluation to a few forwards per subject (the 14
  // missing-modality forwards per subject were most of this test's time).
  const std::string cmd = cli() + " demo --full --data " + (dir / "cohort").string() + " --out " + (dir / "x").string() +
                          " --epochs 1 --cnn-epochs 1 --last-layer-epochs 1 --folds 2 --models CNN3D,MProtoNet3D_pm5"
                          " --methods mprotonet,gradcam --faithfulness-subjects 1 --faithfulness-steps 4"
                          " --report-cases 1 --missing-modalities false 2>&1";
  const auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const json demo = read_json(dir / "x" / "demo.json");
  const json& s = demo["settings"];
  // The preset where nothing was given...
  EXPECT_EQ(s["mode"], "full (paper settings)");
  EXPECT_EQ(s["features"], "resnet152_ri");
  EXPECT_EQ(s["n_layers"], 6);
  EXPECT_EQ(s["spacing_mm"], 1.5);
  EXPECT_EQ(s["push_interval"], 10);
  EXPECT_EQ(s["augment"], "af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0");
  EXPECT_EQ(s["precision"], "fp32");
  EXPECT_EQ(s["batch_size"], 32);
  EXPECT_EQ(s["recalibrate_bn"], false);
  // ...and every explicit option over it.
  EXPECT_EQ(s["epochs"], 1);
  EXPECT_EQ(s["cnn_epochs"], 1);
  EXPECT_EQ(s["last_layer_epochs"], 1);
  EXPECT_EQ(s["folds"], 2);
  EXPECT_EQ(s["models"], json({"CNN3D", "MProtoNet3D_pm5"}));
  EXPECT_EQ(s["methods"], "mprotonet,gradcam");
  EXPECT_EQ(s["faithfulness_steps"], 4);
  EXPECT_EQ(s["missing_modalities"], false);
  // 4 subjects in 2 folds: 2 training subjects, so the batch of 32 becomes 2 (said, not silent).
  EXPECT_EQ(demo["effective_batch_size"], 2);
  ASSERT_EQ(demo["notes"].size(), 1u);
  EXPECT_NE(r.output.find("larger than the smallest training fold"), std::string::npos) << r.output;
  EXPECT_EQ(demo["dataset"]["input_shape"], json({4, 128, 128, 96}));

  for (const char* model : {"CNN3D", "MProtoNet3D_pm5"}) {
    const fs::path run = dir / "x" / "runs" / model;
    const json rj = read_json(run / "run.json");
    EXPECT_EQ(rj["model_config"]["features"], "resnet152_ri") << model;
    EXPECT_EQ(rj["model_config"]["n_layers"], 6) << model;
    EXPECT_EQ(rj["model_config"]["in_size"], json({4, 128, 128, 96})) << model;
    EXPECT_EQ(rj["train"]["augment"]["sequence_string"], "af0-no0-bl0-br0-co0-an0-gi0-ga0-fl0") << model;
    EXPECT_EQ(read_json(run / "results.json")["folds"].size(), 2u) << model;
    const json ev = read_json(run / "evaluation.json");
    EXPECT_EQ(ev["folds"].size(), 2u) << model;
    EXPECT_EQ(ev["faithfulness_steps"], 4) << model;
    EXPECT_FALSE(ev["folds"][0].contains("missing_modalities")) << model;
    // The step sequence of a prototype row: joint epoch 1, push, one last-layer epoch.
    std::vector<std::string> kinds;
    for (const auto& line : read_lines(run / "fold_0" / "epochs.jsonl")) kinds.push_back(line["stage"].get<std::string>());
    if (std::string(model) == "MProtoNet3D_pm5")
      EXPECT_EQ(kinds, (std::vector<std::string>{"joint", "push", "last-layer"}));
    else
      EXPECT_EQ(kinds, (std::vector<std::string>{"joint"}));
  }
  const json comparison = read_json(dir / "x" / "comparison.json");
  ASSERT_EQ(comparison["rows"].size(), 1u);
  EXPECT_EQ(comparison["rows"][0]["model"], "CNN3D");
  EXPECT_EQ(comparison["rows"][0]["metrics"]["ap"]["n"], 4);
  const auto oracle = test::run_python_helper("comparison_oracle.py", (dir / "x").string());
  EXPECT_EQ(oracle.exit_code, 0) << oracle.output;
  const std::string html = read_text_file(dir / "x" / "report.html");
  for (const char* text : {"resnet152_ri", "128 × 128 × 96", "MProtoNet C against every other row", "mprotonet demo --full"})
    EXPECT_NE(html.find(text), std::string::npos) << text;
}

TEST(PaperConfig, ExplicitOptionsWinOverThePresetAndBadRowsAreRefused) {
  test::TempDir dir;
  const auto bad = test::run_command(cli() + " demo --full --data " + dir.path().string() + " --out " +
                                     (dir / "x").string() + " --models CNN3D,NotAModel 2>&1");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("unknown model row 'NotAModel'"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "x")) << "a refused command must not create its output folder";
  const auto twice = test::run_command(cli() + " demo --out " + (dir / "y").string() + " --models CNN3D,CNN3D 2>&1");
  EXPECT_EQ(twice.exit_code, 1) << twice.output;
  EXPECT_NE(twice.output.find("listed twice"), std::string::npos) << twice.output;
}

}  // namespace
}  // namespace mprotonet
