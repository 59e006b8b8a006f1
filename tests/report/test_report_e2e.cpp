// SPDX-License-Identifier: MIT
// End to end: a tiny real demo folder (synthetic cohort of 12 cases preprocessed at 12 mm to
// 16 x 16 x 12; MProtoNet3D_pm5 and CNN3D cross-validated over 3 folds for 2 epochs; both
// evaluated), then the report, checked in the files and in headless Chromium (every image loads,
// no console error). Also: the push record holds pictures of the right slices, `explain` writes
// the prototype pictures, and `mprotonet report DIR` regenerates the page.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/data/synthetic.h"
#include "mprotonet/engines/cross_validation.h"
#include "mprotonet/engines/evaluator.h"
#include "mprotonet/engines/explain.h"
#include "mprotonet/engines/push.h"
#include "mprotonet/engines/report_builder.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/report/html.h"
#include "report/report_test_util.h"

using namespace mprotonet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The demo folder, made once for every test of this process.
const fs::path& demo_dir() {
  static test::TempDir tmp;
  static fs::path dir = tmp / "demo";
  static bool made = false;
  if (made) return dir;
  SyntheticOptions s;
  s.cases = 12;
  s.shape = {48, 48, 31};
  s.spacing = 5.0;
  s.hgg_fraction = 0.5;
  s.threads = 2;
  write_synthetic_cohort(dir / "data", s);
  for (const std::string model : {"MProtoNet3D_pm5", "CNN3D"}) {
    CrossValidationOptions o;
    o.data_dir = dir / "data";
    o.out_dir = dir / "runs" / model;
    o.cache_dir = dir / "cache";
    o.model_name = model;
    o.features = "resnet18_ri";
    o.n_layers = 5;
    o.spacing_mm = 12.0;
    o.folds = 3;
    o.preprocess_threads = 2;
    if (model != "CNN3D") o.model_overrides = {{"prototype_shape", {4, 8, 1, 1, 1}}, {"topk_p", 10}};
    o.train.epochs = 2;
    o.train.batch_size = 2;
    o.train.push_interval = 1;
    o.train.last_layer_epochs = 1;
    o.train.threads = 2;
    o.train.verbose = false;
    const auto r = run_cross_validation(o);
    EXPECT_TRUE(r.complete);
    EvaluationOptions e;
    e.run_dir = o.out_dir;
    e.data_dir = o.data_dir;
    e.cache_dir = o.cache_dir;
    e.methods = {attribution::MapMethod::MProtoNet, attribution::MapMethod::GradCAM};
    e.preprocess_threads = 2;
    e.log = [](const std::string&) {};
    evaluate_run(e);
  }
  made = true;
  return dir;
}

std::vector<std::string> img_sources(const std::string& html) {
  std::vector<std::string> out;
  const std::regex re("<img src=\"([^\"]+)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

TEST(ReportE2E, PushRecordHoldsPicturesOfTheSourceSlices) {
  const auto model = nets::load_model_file(demo_dir() / "runs" / "MProtoNet3D_pm5" / "fold_0" / "model.mpn");
  const PushRecord rec = push_record_from_json(json::parse(model.push_record));
  ASSERT_EQ(rec.prototypes.size(), 4u);
  int checked = 0;
  // The preprocessed cohort from the run's cache, to compare with the pictures.
  const Dataset ds = discover_brats(demo_dir() / "data");
  CohortOptions co;
  co.preprocess.spacing_mm = 12.0;
  co.cache_root = demo_dir() / "cache";
  co.threads = 2;
  const auto cohort = PreprocessedCohort::build(ds, co);
  for (const auto& p : rec.prototypes) {
    ASSERT_GE(p.subject_index, 0);
    ASSERT_TRUE(p.picture.has_value()) << p.prototype;
    const auto& pic = *p.picture;
    EXPECT_EQ(pic.size, (std::array<int64_t, 2>{16, 16}));  // the whole 16 x 16 slice (crop 64)
    ASSERT_EQ(pic.map.size(), 256u);                        // p_mode 5: occurrence map
    // The map's peak over the volume is the location, so the picture shows 255 there.
    EXPECT_EQ(pic.map[static_cast<size_t>((pic.input_voxel[0] - pic.origin[0]) * 16 + pic.input_voxel[1] - pic.origin[1])], 255);
    // The modalities are the source subject's slice: same order of values (windowing is monotone).
    const int64_t idx = [&] {
      for (int64_t i = 0; i < cohort.size(); ++i)
        if (cohort.id(i) == p.subject_id) return i;
      return int64_t{-1};
    }();
    ASSERT_GE(idx, 0);
    const auto img = cohort.image(idx);
    for (int64_t c = 0; c < 4; ++c) {
      const auto slice = img[c].select(2, pic.input_voxel[2]);  // [16, 16]
      if (slice.max().item<float>() == slice.min().item<float>()) {  // outside the head: one value
        for (int64_t a = 1; a < 256; ++a)
          EXPECT_EQ(pic.modalities[static_cast<size_t>(c * 256 + a)], pic.modalities[static_cast<size_t>(c * 256)]);
        continue;
      }
      for (int64_t a = 0; a < 256; a += 3)
        for (int64_t b = 1; b < 256; b += 7) {
          const float va = slice[a / 16][a % 16].item<float>(), vb = slice[b / 16][b % 16].item<float>();
          if (va < vb) {
            EXPECT_LE(pic.modalities[static_cast<size_t>(c * 256 + a)], pic.modalities[static_cast<size_t>(c * 256 + b)]);
            ++checked;
          }
        }
    }
  }
  EXPECT_GT(checked, 1000);  // at least some prototypes come from slices through the head
}

TEST(ReportE2E, ExplainWritesPrototypePictures) {
  test::TempDir tmp;
  const auto model = demo_dir() / "runs" / "MProtoNet3D_pm5" / "fold_0" / "model.mpn";
  ExplainOptions o;
  o.model_file = model;
  o.case_dir = demo_dir() / "data" / synthetic_subject_id(0);
  o.out_dir = tmp / "explain";
  o.top_prototypes = 3;
  o.log = [](const std::string&) {};
  const json index = explain_case(o);
  ASSERT_EQ(index["prototype_pictures"].size(), 3u);
  const json protos = json::parse(read_text_file(tmp / "explain" / "prototypes.json"));
  for (const auto& e : protos["top"]) {
    ASSERT_TRUE(e.contains("picture")) << e.dump();
    EXPECT_TRUE(fs::exists(tmp / "explain" / e["picture"].get<std::string>()));
    EXPECT_FALSE(e["source"].contains("picture"));  // no base64 blobs in prototypes.json
  }
}

TEST(ReportE2E, ReportHasEverySectionAndEveryImageExists) {
  ReportOptions o;
  o.dir = demo_dir();
  o.log = [](const std::string&) {};
  o.extra_settings = {{"whole job wall time", "1 min"}};
  const fs::path html_path = write_report(o);
  const std::string html = read_text_file(html_path);
  for (const char* s : {"id=\"settings\"", "id=\"results\"", "id=\"missing\"", "id=\"significance\"", "id=\"curves\"",
                        "id=\"prototypes\"", "id=\"cases\"", "<polyline", "published, BraTS 2020", "Low power:",
                        "MProtoNet3D_pm5", "CNN3D", "12 (", "Most similar prototypes", "similarity <b>"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  const auto imgs = img_sources(html);
  // 4 gallery prototypes + 4 cases x (input + 2 pm5 maps + 1 CNN map) + top-prototype pictures.
  EXPECT_GE(imgs.size(), 4u + 4u * 4u);
  std::set<std::string> distinct;
  for (const auto& src : imgs) {
    EXPECT_TRUE(fs::exists(demo_dir() / src)) << src;
    distinct.insert(src);
  }
  int cases = 0;
  for (size_t p = html.find("<div class=\"case\">"); p != std::string::npos; p = html.find("<div class=\"case\">", p + 1)) ++cases;
  EXPECT_EQ(cases, 4);
  // Each case has its interactive viewer, with the bundle beside the page (issue 21).
  int viewers = 0;
  for (size_t p = html.find("<div class=\"mpv\""); p != std::string::npos; p = html.find("<div class=\"mpv\"", p + 1)) ++viewers;
  EXPECT_EQ(viewers, 4);
  EXPECT_EQ(read_text_file(demo_dir() / "report_files" / "niivue.umd.js"),
            read_text_file(test::source_dir() / "third_party" / "niivue" / "niivue.umd.js"));
  EXPECT_NE(html.find("<script src=\"report_files/niivue.umd.js\"></script>"), std::string::npos);
  EXPECT_NE(html.find("MProtoNet3D_pm5 · GradCAM"), std::string::npos);  // every model's maps in the viewer
  EXPECT_NE(html.find("CNN3D · GradCAM"), std::string::npos);
  EXPECT_NE(html.find("true grade HGG"), std::string::npos);
  EXPECT_NE(html.find("true grade LGG"), std::string::npos);
  // The CLI regenerates it and says where it is.
  const auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " report " +
                                   test::shell_quote(demo_dir().string()) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("report: " + html_path.string()), std::string::npos) << r.output;
  EXPECT_NE(read_text_file(html_path).find("whole job wall time"), std::string::npos);  // saved extra rows
  // A single run folder works too.
  o.dir = demo_dir() / "runs" / "CNN3D";
  o.extra_settings.clear();
  o.cases = 1;
  const std::string single = read_text_file(write_report(o));
  EXPECT_NE(single.find("No prototype model in this report."), std::string::npos);
  for (const auto& src : img_sources(single)) EXPECT_TRUE(fs::exists(o.dir / src)) << src;
}

TEST(ReportE2E, EveryImageLoadsInHeadlessChromiumWithoutConsoleErrors) {
  if (test::chromium_path().empty()) {
    if (std::getenv("CI")) FAIL() << "chromium is not installed (scripts/setup.sh installs it) and CI is set";
    GTEST_SKIP() << "chromium is not installed; scripts/setup.sh installs it";
  }
  ReportOptions o;
  o.dir = demo_dir();
  o.log = [](const std::string&) {};
  const fs::path html_path = write_report(o);
  const auto n_img = img_sources(read_text_file(html_path)).size();
  const auto c = test::check_in_browser(html_path, "#selftest");
  EXPECT_EQ(c.images, static_cast<int>(n_img)) << c.output.substr(0, 3000);
  EXPECT_EQ(c.broken, "[]") << c.output.substr(0, 3000);
  EXPECT_EQ(c.errors, "[]");
  EXPECT_EQ(c.console, "");
  // Every case's viewer (WebGL2 through SwiftShader) draws, and switching its overlay changes
  // the picture (resources/viewer/viewer.js, #selftest).
  ASSERT_FALSE(c.viewers.empty()) << "no viewer self-test verdict: " << c.output.substr(0, 3000);
  const json v = json::parse(c.viewers);
  ASSERT_EQ(v.size(), 4u) << c.viewers;
  for (const auto& e : v) {
    EXPECT_TRUE(e["ok"].get<bool>()) << e.dump();
    EXPECT_GT(e.value("lit", 0), 1000) << e.dump();
    EXPECT_EQ(e.value("overlay_changes", false), true) << e.dump();
    EXPECT_EQ(e.value("volumes", 0), 4 + 1 + 3) << e.dump();  // modalities, labels, pm5 (2 maps) + CNN (1 map)
  }
  // The check itself works: a page with a missing image is caught.
  write_text_atomically(demo_dir() / "broken.html",
                        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><img src=\"nope.png\"></body></html>");
  const auto b = test::check_in_browser(demo_dir() / "broken.html");
  EXPECT_EQ(b.images, 1);
  EXPECT_EQ(b.broken, "[\"nope.png\"]");
  EXPECT_NE(b.errors.find("resource"), std::string::npos) << b.errors;
}

}  // namespace
