// SPDX-License-Identifier: MIT
// End-to-end tests of `mprotonet explain`, `localization` and `evaluate` on a tiny synthetic
// cohort (6 cases, preprocessed at 12 mm to 16 x 16 x 12) and tiny models made in the test; the
// run folder imitates `mprotonet train`'s layout (run.json with folds.test_ids, fold_K/model.mpn).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/browser.h"
#include "common/test_util.h"
#include "mprotonet/attribution/methods.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/data/synthetic.h"
#include "mprotonet/engines/evaluator.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/metrics/localization.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/push_record.h"
#include "mprotonet/report/evaluation_report.h"

using namespace mprotonet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One cohort for every test of this binary's process.
const fs::path& cohort_dir() {
  static test::TempDir dir;
  static bool made = false;
  if (!made) {
    SyntheticOptions o;
    o.cases = 6;
    o.shape = {48, 48, 31};
    o.spacing = 5.0;
    o.hgg_fraction = 0.5;
    o.threads = 2;
    write_synthetic_cohort(dir / "cohort", o);
    made = true;
  }
  static fs::path p = dir / "cohort";
  return p;
}

nets::ModelConfig tiny_config(const std::string& name) {
  nets::ModelConfig c;
  c.model_name = name;
  c.in_size = {4, 16, 16, 12};
  c.features = "resnet18_ri";
  c.n_layers = 5;
  c.prototype_shape = {4, 8, 1, 1, 1};
  c.f_dist = "cos";
  c.topk_p = 10;
  return c;
}

std::vector<std::string> subject_ids() {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(synthetic_subject_id(i));
  return ids;
}

json read_json(const fs::path& p) { return json::parse(read_text_file(p)); }

// The evaluator explains each subject's ground-truth class (docs/method.md#metrics): fold 0's
// GradCAM per-subject AP recomputed here through the library with the label as the target (the
// cohort read from the evaluation's cache); the other class's maps must give other values, or the
// check could not tell the two apart.
void expect_maps_explain_the_label(const fs::path& run, const fs::path& cache, const json& fold) {
  CohortOptions copts;
  copts.preprocess.spacing_mm = 12.0;
  copts.cache_root = cache;
  copts.threads = 1;
  const auto cohort = PreprocessedCohort::build(discover_brats(cohort_dir()), copts);
  auto loaded = nets::load_model_file(run / "fold_0" / "model.mpn");
  auto& model = *loaded.model;
  model.eval();
  const auto& per = fold["methods"]["gradcam"]["per_subject"];
  ASSERT_GE(per["ids"].size(), 2u);
  double other_class_diff = 0;
  for (size_t r = 0; r < per["ids"].size(); ++r) {
    int64_t i = 0;
    while (i < cohort.size() && cohort.id(i) != per["ids"][r].get<std::string>()) ++i;
    ASSERT_LT(i, cohort.size());
    const auto x = cohort.image(i).unsqueeze(0);
    const auto seg = cohort.seg(i).to(torch::kFloat).unsqueeze(0);
    const auto ap = [&](int64_t target) {
      const auto maps = attribution::compute_map(model, attribution::MapMethod::GradCAM, x,
                                                 torch::tensor({target}, torch::kLong));
      return localization_scores(maps.to(torch::kFloat32), seg).ap.mean(1).item<double>();
    };
    const double label_ap = ap(cohort.label(i)), other_ap = ap(1 - cohort.label(i));
    EXPECT_NEAR(per["ap"][r].get<double>(), label_ap, 1e-6) << cohort.id(i);
    other_class_diff = std::max(other_class_diff, std::abs(other_ap - label_ap));
  }
  EXPECT_GT(other_class_diff, 1e-3) << "both classes' maps give the same AP here";
}

TEST(Localization, CliPtAndNifti) {
  test::TempDir tmp;
  // Sample 0: ch0 [0, 1, 2, 4], ch1 [4, 0, 0, 3]; seg [0, 1, 4, 3]: AP (1/2, 0), DSC (1/2, 0).
  auto maps = torch::tensor({0., 1., 2., 4., 4., 0., 0., 3.}, torch::kFloat).reshape({1, 2, 1, 1, 4});
  auto seg = torch::tensor({0., 1., 4., 3.}, torch::kFloat).reshape({1, 1, 1, 1, 4});
  write_tensor_file(tmp / "maps.pt", maps);
  write_tensor_file(tmp / "seg.pt", seg);
  auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " localization --maps " +
                             (tmp / "maps.pt").string() + " --seg " + (tmp / "seg.pt").string() + " --json " +
                             (tmp / "out.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = read_json(tmp / "out.json");
  EXPECT_DOUBLE_EQ(j["samples"][0]["ap"][0].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["samples"][0]["ap"][1].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(j["samples"][0]["dsc"][0].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["ap"].get<double>(), 0.25);
  // NIfTI: one channel [0, 1, 2, 4] -> AP 1/2.
  Volume mv = make_volume({1, 1, 4}, identity_affine());
  mv.data = {0, 1, 2, 4};
  Volume sv = make_volume({1, 1, 4}, identity_affine());
  sv.data = {0, 1, 4, 3};
  write_nifti(tmp / "m.nii.gz", mv, DataType::kFloat32);
  write_nifti(tmp / "s.nii.gz", sv, DataType::kFloat32);
  r = test::run_command(test::shell_quote(test::cli_path().string()) + " localization --maps " +
                        (tmp / "m.nii.gz").string() + " --seg " + (tmp / "s.nii.gz").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"ap\": 0.5"), std::string::npos) << r.output;
  // Mismatched shapes: an error naming the problem, exit 1.
  write_tensor_file(tmp / "seg_bad.pt", torch::zeros({1, 1, 1, 1, 5}));
  r = test::run_command(test::shell_quote(test::cli_path().string()) + " localization --maps " +
                        (tmp / "maps.pt").string() + " --seg " + (tmp / "seg_bad.pt").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("segmentation has shape"), std::string::npos) << r.output;
}

TEST(Explain, PrototypeModelWritesEverything) {
  test::TempDir tmp;
  auto model = nets::build_model(tiny_config("MProtoNet3D_pm5"), 3);
  PushRecord record{10, 5, {}};
  for (int64_t p = 0; p < 4; ++p) {
    PushedPrototype q;
    q.prototype = p;
    q.cls = static_cast<int>(p % 2);
    q.subject_id = "BraTS20_Training_00" + std::to_string(p + 1);
    q.subject_index = p;
    record.prototypes.push_back(q);
  }
  nets::save_model_file(tmp / "model.mpn", *model, to_json(record).dump());
  const auto case_dir = cohort_dir() / subject_ids()[0];
  auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " explain --model " +
                             (tmp / "model.mpn").string() + " --case " + case_dir.string() + " --out " +
                             (tmp / "out").string() + " --methods mprotonet,gradcam,deconvolution,occlusion --top 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("occlusion needs 33 forwards"), std::string::npos) << r.output;  // 1 + 4 x 2 x 2 x 2
  auto pred = read_json(tmp / "out" / "prediction.json");
  EXPECT_NEAR(pred["probabilities"][0][0].get<double>() + pred["probabilities"][0][1].get<double>(), 1.0, 1e-6);
  const auto t1 = read_nifti(case_dir / (subject_ids()[0] + "_t1.nii.gz"));
  for (const std::string m : {"mprotonet", "gradcam", "deconvolution", "occlusion"}) {
    auto back = read_nifti(tmp / "out" / (m + ".nii.gz"));
    EXPECT_EQ(back.shape, t1.shape) << m;
    auto pre = read_nifti(tmp / "out" / (m + "_preprocessed.nii.gz"));
    EXPECT_EQ(pre.shape, (std::array<int64_t, 3>{16, 16, 12})) << m;
    EXPECT_TRUE(fs::exists(tmp / "out" / (m + "_panels.png"))) << m;
  }
  EXPECT_TRUE(fs::exists(tmp / "out" / "deconvolution_flair_preprocessed.nii.gz"));
  // Voxel values on the case's own grid against a nibabel + SciPy resampling of the preprocessed
  // map (tests/helpers/native_map_oracle.py); tolerance 1e-5 of the map's largest magnitude.
  const auto o = test::run_python_helper(
      "native_map_oracle.py", test::shell_quote((case_dir / (subject_ids()[0] + "_t1.nii.gz")).string()) + " " +
                                  test::shell_quote((tmp / "out").string()) + " mprotonet gradcam deconvolution occlusion");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const auto oj = json::parse(o.output);
  for (const auto& [m, v] : oj.items()) {
    EXPECT_TRUE(v["shape_ok"].get<bool>() && v["affine_ok"].get<bool>()) << m << ": " << v.dump();
    EXPECT_LE(v["max_abs_diff"].get<double>(), 1e-5 * v["scale"].get<double>()) << m << ": " << v.dump();
    EXPECT_GT(v["nonzero"].get<int>(), 100) << m << ": " << v.dump();
  }
  auto protos = read_json(tmp / "out" / "prototypes.json");
  ASSERT_EQ(protos["top"].size(), 3u);
  EXPECT_GE(protos["top"][0]["similarity"].get<double>(), protos["top"][1]["similarity"].get<double>());
  ASSERT_TRUE(protos["top"][0].contains("source"));
  const int64_t top0 = protos["top"][0]["prototype"].get<int64_t>();
  EXPECT_EQ(protos["top"][0]["source"]["subject_id"], "BraTS20_Training_00" + std::to_string(top0 + 1));
  EXPECT_FALSE(protos.contains("push_record_error"));
  // index.html: the interactive viewer of the case on its own grid, with every method's map and
  // the bundle beside it (issue 21); in headless Chromium it draws and switches overlays.
  EXPECT_EQ(read_json(tmp / "out" / "explanation.json")["viewer"], "index.html");
  const std::string page = read_text_file(tmp / "out" / "index.html");
  for (const std::string m : {"mprotonet", "gradcam", "deconvolution", "occlusion"})
    EXPECT_NE(page.find(">" + m + " map</option>"), std::string::npos) << m;
  EXPECT_NE(page.find(subject_ids()[0]), std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(tmp / "out" / "niivue.umd.js"));
  if (!test::chromium_path().empty()) {
    const auto c = test::check_in_browser(tmp / "out" / "index.html", "#selftest");
    ASSERT_FALSE(c.viewers.empty()) << c.output.substr(0, 4000);
    const json v = json::parse(c.viewers);
    ASSERT_EQ(v.size(), 1u) << c.viewers;
    EXPECT_TRUE(v[0]["ok"].get<bool>()) << c.viewers;
    EXPECT_TRUE(v[0].value("overlay_changes", false)) << c.viewers;
    EXPECT_EQ(v[0].value("volumes", 0), 4 + 1 + 4) << c.viewers;  // modalities, seg, four maps
    EXPECT_EQ(c.errors, "[]") << c.output.substr(0, 4000);
    EXPECT_EQ(c.console, "");
  } else if (std::getenv("CI")) {
    ADD_FAILURE() << "chromium is not installed (scripts/setup.sh installs it) and CI is set";
  }
  // A wrong --spacing is refused with the shapes named.
  r = test::run_command(test::shell_quote(test::cli_path().string()) + " explain --model " +
                        (tmp / "model.mpn").string() + " --case " + case_dir.string() + " --out " +
                        (tmp / "out2").string() + " --spacing 6");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("is 32x32x24 voxels; the model was trained on 16x16x12"), std::string::npos) << r.output;
  // A push record that cannot be read is said, not ignored: the prototypes are listed without
  // sources, with the reason.
  nets::save_model_file(tmp / "bad_record.mpn", *model, json{{"epoch", 10}, {"prototypes", json::array({{{"prototype", 0}}})}}.dump());
  r = test::run_command(test::shell_quote(test::cli_path().string()) + " explain --model " +
                        (tmp / "bad_record.mpn").string() + " --case " + case_dir.string() + " --out " +
                        (tmp / "out3").string() + " --methods gradcam --top 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("push record cannot be read"), std::string::npos) << r.output;
  const auto bad = read_json(tmp / "out3" / "prototypes.json");
  EXPECT_NE(bad.value("push_record_error", "").find("p_mode"), std::string::npos) << bad.dump();
  EXPECT_FALSE(bad["top"][0].contains("source"));
}

TEST(Evaluate, TinyRunEndToEnd) {
  test::TempDir tmp;
  const auto run = tmp / "run";
  const auto ids = subject_ids();
  json test_ids = json::array({json::array({ids[0], ids[1], ids[2]}), json::array({ids[3], ids[4], ids[5]})});
  for (int k = 0; k < 2; ++k) {
    fs::create_directories(run / ("fold_" + std::to_string(k)));
    auto model = nets::build_model(tiny_config("MProtoNet3D_pm5"), 10 + static_cast<uint64_t>(k));
    nets::save_model_file(run / ("fold_" + std::to_string(k)) / "model.mpn", *model);
  }
  write_text_atomically(run / "run.json",
                        json{{"model_name", "MProtoNet3D_pm5"},
                             {"preprocess", {{"spacing_mm", 12.0}}},
                             {"folds", {{"n", 2}, {"test_ids", test_ids}}}}
                            .dump());
  auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " evaluate --run " + run.string() +
                             " --data " + cohort_dir().string() + " --cache " + (tmp / "cache").string() +
                             " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("deletion/addition: 306 forwards per method"), std::string::npos) << r.output;
  auto e = read_json(run / "evaluation.json");
  ASSERT_EQ(e["folds"].size(), 2u);
  for (const auto& f : e["folds"]) {
    EXPECT_EQ(f["missing_modalities"].size(), 14u);
    for (const std::string m : {"mprotonet", "gradcam", "guided-gradcam", "deconvolution", "occlusion"}) {
      ASSERT_TRUE(f["methods"].contains(m)) << m;
      const auto& loc = f["methods"][m]["localization"];
      EXPECT_GE(loc["ap"].get<double>(), 0.0);
      EXPECT_LE(loc["ap"].get<double>(), 1.0);
      EXPECT_EQ(loc["ap_per_channel"].size(), 4u);
      EXPECT_EQ(f["methods"][m]["faithfulness"]["curves"]["deletion_bac"].size(), 51u);
    }
  }
  EXPECT_TRUE(e["significance"].contains("mprotonet_vs_gradcam_ap"));
  EXPECT_NE(e["significance"]["mprotonet_vs_gradcam_ap"]["note"].get<std::string>().find("little power"),
            std::string::npos);
  const auto md = read_text_file(run / "evaluation.md");
  EXPECT_NE(md.find("| mprotonet |"), std::string::npos) << md;
  EXPECT_NE(md.find("kept: t1+t1ce"), std::string::npos);
  EXPECT_TRUE(fs::exists(run / "deletion_curves.png"));
  EXPECT_TRUE(fs::exists(run / "addition_curves.png"));
  // Every fold and summary number, and the mprotonet-vs-gradcam pairing, recomputed in Python
  // from the per-subject records (tests/helpers/evaluation_oracle.py).
  const auto oracle = test::run_python_helper("evaluation_oracle.py", test::shell_quote(run.string()));
  ASSERT_EQ(oracle.exit_code, 0) << oracle.output;
  EXPECT_NE(oracle.output.find("checked: evaluation significance"), std::string::npos) << oracle.output;
  expect_maps_explain_the_label(run, tmp / "cache", e["folds"][0]);
  // A run folder without run.json is an error naming it.
  r = test::run_command(test::shell_quote(test::cli_path().string()) + " evaluate --run " + tmp.path().string() +
                        " --data " + cohort_dir().string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("run.json does not exist"), std::string::npos) << r.output;
}

TEST(Evaluate, AfterRealTraining) {
  // `mprotonet train` (CNN3D, 2 folds, 1 epoch) then `evaluate`: the MProtoNet map is skipped with
  // a note, the other methods are scored.
  test::TempDir tmp;
  const auto cli = test::shell_quote(test::cli_path().string());
  auto r = test::run_command(cli + " train --data " + cohort_dir().string() + " --out " + (tmp / "run").string() +
                             " --cache " + (tmp / "cache").string() +
                             " --model-name CNN3D --features resnet18_ri --n-layers 5 --batch-size 2 --epochs 1"
                             " --folds 2 --spacing 12 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_command(cli + " evaluate --run " + (tmp / "run").string() + " --data " + cohort_dir().string() +
                        " --cache " + (tmp / "cache").string() + " --methods mprotonet,gradcam,occlusion --no-missing");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto e = read_json(tmp / "run" / "evaluation.json");
  ASSERT_EQ(e["folds"].size(), 2u);
  EXPECT_EQ(e["methods"], json::array({"gradcam", "occlusion"}));
  EXPECT_NE(e["notes"].dump().find("mprotonet skipped"), std::string::npos) << e["notes"].dump();
  EXPECT_FALSE(e["folds"][0].contains("missing_modalities"));
  // Every held-out subject of the run is evaluated once.
  EXPECT_EQ(e["folds"][0]["subjects"].get<int>() + e["folds"][1]["subjects"].get<int>(), 6);
  // The evaluation's numbers and the cross-validation metrics (results.json) recomputed in Python
  // from evaluation.json's per-subject records and fold_K/test_predictions.json.
  const auto oracle = test::run_python_helper("evaluation_oracle.py", test::shell_quote((tmp / "run").string()));
  ASSERT_EQ(oracle.exit_code, 0) << oracle.output;
  EXPECT_NE(oracle.output.find("checked: evaluation cv"), std::string::npos) << oracle.output;
}

TEST(Evaluate, PlotDrawsCurves) {
  auto img = plot_curves({{1.0, 0.5, 0.0}}, {Rgb{255, 0, 0}}, 100, 80);
  int red = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) red += img.get(x, y) == Rgb{255, 0, 0};
  EXPECT_GT(red, 40);
  // The curve starts top-left (y = 1 at x = 0): the pixel at the plot's top-left corner is red.
  EXPECT_EQ(img.get(40, 16), (Rgb{255, 0, 0}));
}

}  // namespace
