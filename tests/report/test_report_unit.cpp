// SPDX-License-Identifier: MIT
// Unit tests of the report pieces: base64, prototype pictures (make, JSON round trip, render),
// HTML escaping and the page built from hand-written run.json / results.json / evaluation.json.
#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/base64.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/engines/push.h"
#include "mprotonet/engines/report_builder.h"
#include "mprotonet/report/html.h"
#include "mprotonet/report/prototype_view.h"
#include "report/report_test_util.h"

using namespace mprotonet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kHostile = "<script>alert('x')</script>&\"id\"";

TEST(Base64, RoundTripAndRfcVectors) {
  auto enc = [](const std::string& s) { return base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
  // RFC 4648 section 10 test vectors.
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  for (size_t n : {0, 1, 2, 3, 100, 256}) {
    std::vector<uint8_t> part(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(base64_decode(base64_encode(part)), part) << n;
  }
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_THROW(base64_decode("abc"), Error);       // length
  EXPECT_THROW(base64_decode("ab!d"), Error);      // character
  EXPECT_THROW(base64_decode("a=bc"), Error);      // padding in the middle
  EXPECT_THROW(base64_decode("Zg==Zg=="), Error);  // padding before the end
  try {
    base64_decode("ab$d", "picture map");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("picture map: invalid character at offset 2"), std::string::npos) << e.what();
  }
}

TEST(HtmlEscape, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(html_escape(kHostile), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;id&quot;");
  EXPECT_EQ(html_escape("plain_ID-001"), "plain_ID-001");
  EXPECT_EQ(url_path("report_files/a b#?.png"), "report_files/a%20b%23%3F.png");
}

// A [4, X, Y, Z] image where modality c at (i, j, k) is a known, distinct function.
torch::Tensor ramp_image(int64_t X, int64_t Y, int64_t Z) {
  auto i = torch::arange(X, torch::kFloat).view({X, 1, 1}).expand({X, Y, Z});
  auto j = torch::arange(Y, torch::kFloat).view({1, Y, 1}).expand({X, Y, Z});
  auto k = torch::arange(Z, torch::kFloat).view({1, 1, Z}).expand({X, Y, Z});
  return torch::stack({i + 0.01 * j, j + 0.01 * i, -i - j + 0.1 * k, i * j + k}).contiguous();
}

TEST(PrototypePicture, CropsTheSliceAroundTheLocationAndWindowsEachModality) {
  const auto img = ramp_image(20, 16, 6);
  auto pic = make_prototype_picture(img, {18, 3, 4}, torch::Tensor(), 8);
  EXPECT_EQ(pic.input_voxel, (std::array<int64_t, 3>{18, 3, 4}));
  // Centred crop clamped into the volume: x in [12, 20), y in [0, 8).
  EXPECT_EQ(pic.origin, (std::array<int64_t, 2>{12, 0}));
  EXPECT_EQ(pic.size, (std::array<int64_t, 2>{8, 8}));
  ASSERT_EQ(pic.modalities.size(), 4u * 64u);
  EXPECT_TRUE(pic.map.empty());
  // Modality 0 grows with i (then j): lowest at crop (0, 0), highest at (7, 7) -> 0 and 255.
  EXPECT_EQ(pic.modalities[0], 0);
  EXPECT_EQ(pic.modalities[63], 255);
  // Modality 2 = -i - j: the reverse.
  EXPECT_EQ(pic.modalities[2 * 64 + 0], 255);
  EXPECT_EQ(pic.modalities[2 * 64 + 63], 0);
  // Order within each modality follows the source slice (the right subject, the right slice).
  auto slice = img.index({torch::indexing::Slice(), torch::indexing::Slice(12, 20), torch::indexing::Slice(0, 8), 4});
  for (int64_t c = 0; c < 4; ++c)
    for (int64_t a = 0; a < 64; a += 7)
      for (int64_t b = 0; b < 64; b += 5) {
        const float va = slice[c][a / 8][a % 8].item<float>(), vb = slice[c][b / 8][b % 8].item<float>();
        if (va < vb) EXPECT_LE(pic.modalities[static_cast<size_t>(c * 64 + a)], pic.modalities[static_cast<size_t>(c * 64 + b)]);
      }
  // A whole slice when it is smaller than the crop size.
  auto whole = make_prototype_picture(img, {5, 5, 0}, torch::Tensor(), 64);
  EXPECT_EQ(whole.origin, (std::array<int64_t, 2>{0, 0}));
  EXPECT_EQ(whole.size, (std::array<int64_t, 2>{20, 16}));
  // The map is normalised by its maximum over the whole volume (not the slice).
  auto map = torch::zeros({20, 16, 6});
  map[10][8][2] = 4.0;  // volume peak, another slice
  map[10][8][4] = 2.0;
  auto with_map = make_prototype_picture(img, {10, 8, 4}, map, 64);
  ASSERT_EQ(with_map.map.size(), 320u);
  EXPECT_EQ(with_map.map[10 * 16 + 8], 128);  // 2 / 4 * 255 rounded
  EXPECT_THROW(make_prototype_picture(img, {20, 0, 0}, torch::Tensor(), 8), Error);
  EXPECT_THROW(make_prototype_picture(img, {0, 0, 0}, torch::zeros({20, 16, 5}), 8), Error);
}

PushRecord record_with_pictures() {
  PushRecord r;
  r.epoch = 3;
  r.p_mode = 1;
  const auto img = ramp_image(12, 10, 4);
  for (int p = 0; p < 2; ++p) {
    PushedPrototype q;
    q.prototype = p;
    q.cls = p;
    q.subject_id = "S" + std::to_string(p);
    q.subject_index = p;
    q.distance = 0.25 * p;
    q.voxel = {1, 1, 0};
    q.receptive_field = {{{2, 7}, {3, 8}, {0, 4}}};
    q.picture = make_prototype_picture(img, {4, 5, 2}, torch::Tensor(), 64);
    r.prototypes.push_back(q);
  }
  return r;
}

TEST(PrototypePicture, JsonRoundTripAndOlderRecords) {
  const PushRecord r = record_with_pictures();
  const json j = to_json(r);
  EXPECT_EQ(j["prototypes"][0]["picture"]["encoding"], "uint8, numpy order, base64");
  const PushRecord back = push_record_from_json(json::parse(j.dump()));
  ASSERT_EQ(back.prototypes.size(), 2u);
  ASSERT_TRUE(back.prototypes[1].picture.has_value());
  EXPECT_EQ(back.prototypes[1].picture->modalities, r.prototypes[1].picture->modalities);
  EXPECT_EQ(back.prototypes[1].picture->origin, r.prototypes[1].picture->origin);
  EXPECT_EQ(back.prototypes[1].picture->size, r.prototypes[1].picture->size);
  // A record written before pictures existed still loads, without pictures.
  json old = j;
  for (auto& q : old["prototypes"]) q.erase("picture");
  const PushRecord o = push_record_from_json(old);
  EXPECT_FALSE(o.prototypes[0].picture.has_value());
  // A truncated payload is an error naming the problem.
  json bad = j;
  bad["prototypes"][0]["picture"]["modalities"] = base64_encode(std::vector<uint8_t>(10, 1));
  try {
    push_record_from_json(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("modalities hold 10 bytes; expected 4 x 12 x 10"), std::string::npos) << e.what();
  }
}

TEST(PrototypeView, DrawsTheReceptiveFieldBoxOrTheMap) {
  PushRecord r = record_with_pictures();
  const auto& p = r.prototypes[0];
  PrototypeViewOptions o;
  o.zoom = 2;
  o.gap = 0;
  o.columns = 4;
  const RgbImage img = render_prototype(p, o);
  // Four 12x10 panels at zoom 2 in a row: 4 x 24 wide, 20 high.
  EXPECT_EQ(img.width, 4 * 24);
  EXPECT_EQ(img.height, 20);
  // The box covers i in [2, 7), j in [3, 8) of the crop (origin 0): in display orientation
  // (identity affine = RAS: x runs towards decreasing i, y towards decreasing j) its corner
  // voxel i = 6 (x = (11 - 6) * 2 = 10), j = 7 (y = (9 - 7) * 2 = 4) is on the border.
  int cyan = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < 24; ++x) cyan += img.get(x, y) == o.box_colour;
  EXPECT_GT(cyan, 20);
  EXPECT_EQ(img.get(10, 4), o.box_colour);
  EXPECT_FALSE(img.get(0, 0) == o.box_colour);  // voxel i = 11, j = 9: outside the box
  // With a map, no box; the map's peak is coloured (not grey).
  PushedPrototype q = p;
  q.picture->map.assign(static_cast<size_t>(12 * 10), 0);
  q.picture->map[4 * 10 + 5] = 255;
  const RgbImage m = render_prototype(q, o);
  const Rgb peak = m.get((11 - 4) * 2, (9 - 5) * 2);
  EXPECT_FALSE(peak.r == peak.g && peak.g == peak.b);
  int cyan2 = 0;
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x) cyan2 += m.get(x, y) == o.box_colour;
  EXPECT_EQ(cyan2, 0);
  // Default: 2 x 2.
  PrototypeViewOptions square;
  square.zoom = 2;
  square.gap = 0;
  const RgbImage sq = render_prototype(q, square);
  EXPECT_EQ(sq.width, 2 * 24);
  EXPECT_EQ(sq.height, 2 * 20);
  q.picture.reset();
  EXPECT_THROW(render_prototype(q, o), Error);
}

TEST(ReportHtml, TablesFromHandWrittenJsonAndEscaping) {
  test::TempDir tmp;
  const fs::path dir = tmp / "demo";
  test::write_fake_demo(dir, kHostile);
  ReportOptions o;
  o.dir = dir;
  o.log = [](const std::string&) {};
  o.extra_settings = {{"whole job wall time", "7 min <b>"}};
  // A hand-written comparison.json (the per-subject tests of the experiment), with a hostile name.
  const nlohmann::json metric{{"n", 12}, {"a_mean", 0.64}, {"b_mean", 0.11},
                              {"wilcoxon", {{"statistic", 3.0}, {"p_value", 0.0123}, {"n_nonzero", 10}}}};
  const nlohmann::json comparison{
      {"reference", {{"model", "MProtoNet3D_pm5"}}},
      {"rows", {{{"model", "CNN3D"}, {"method", "gradcam"}, {"metrics", {{"ap", metric}}}},
                {{"model", "<i>odd"}, {"method", "mprotonet"}, {"metrics", nlohmann::json::object()}}}}};
  write_text_atomically(dir / "comparison.json", comparison.dump());
  const fs::path out = write_report(o);
  EXPECT_EQ(out, fs::absolute(dir / "report.html").lexically_normal());
  const std::string html = read_text_file(out);
  // No markup from data: the hostile id appears only escaped.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("7 min <b>"), std::string::npos);
  EXPECT_NE(html.find("7 min &lt;b&gt;"), std::string::npos);
  // Results table: classification from results.json, AP of the model's own map from evaluation.json.
  EXPECT_NE(html.find("0.875 <span class=\"sd\">± 0.125</span>"), std::string::npos);  // pm5 BAC
  EXPECT_NE(html.find("0.640 <span class=\"sd\">± 0.020</span>"), std::string::npos);  // pm5 mprotonet AP
  EXPECT_NE(html.find("0.110 <span class=\"sd\">± 0.010</span>"), std::string::npos);  // CNN gradcam AP
  // Published figures beside them, labelled as not from this run.
  EXPECT_NE(html.find("0.713 ± 0.058"), std::string::npos);
  EXPECT_NE(html.find("published, BraTS 2020"), std::string::npos);
  EXPECT_NE(html.find("<b>not</b> results of this run"), std::string::npos);
  // Missing modalities, significance with its low-power note, paired cross-model comparison.
  EXPECT_NE(html.find("T1 + T1CE"), std::string::npos);
  EXPECT_NE(html.find("Low power:"), std::string::npos);
  // The per-subject comparison: means, p in bold when below 0.05, W and n; rows not evaluated said so.
  EXPECT_NE(html.find("Significance: MProtoNet C against every other row"), std::string::npos);
  EXPECT_NE(html.find("0.640 vs 0.110</td><td class=\"num\"><b>p 0.012</b><br><span class=\"sd\">W 3.0, n 12 (10)"),
            std::string::npos);
  EXPECT_NE(html.find("&lt;i&gt;odd"), std::string::npos);
  EXPECT_EQ(html.find("<i>odd"), std::string::npos);
  EXPECT_NE(html.find("not evaluated"), std::string::npos);
  // Curves as inline SVG polylines.
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  // Settings: cases per class, folds, epochs, device, precision, times.
  for (const char* s : {"12 (6 HGG / 6 LGG)", "3, StratifiedKFold", "bf16", "1 min 30 s", "7 min &lt;b&gt;"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  // No models and no data: the gallery and the test cases say why, escaped.
  EXPECT_NE(html.find("does not exist (fold not trained yet?)"), std::string::npos);
  EXPECT_NE(html.find("test cases not shown"), std::string::npos);
  // Every <img> points to an existing file (none here) and the extra rows were saved.
  EXPECT_TRUE(fs::exists(dir / "report_settings.json"));
  o.extra_settings.clear();
  write_report(o);
  EXPECT_NE(read_text_file(dir / "report.html").find("7 min &lt;b&gt;"), std::string::npos);
}

TEST(ReportHtml, MalformedFilesAreErrorsNamingTheProblem) {
  test::TempDir tmp;
  const fs::path dir = tmp / "demo";
  test::write_fake_demo(dir, "S00");
  ReportOptions o;
  o.dir = dir;
  o.log = [](const std::string&) {};
  write_text_atomically(dir / "runs" / "CNN3D" / "results.json", R"({"folds": [1, 2], "mean": {}, "std": {}})");
  try {
    write_report(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected structure"), std::string::npos) << e.what();
  }
  write_text_atomically(dir / "runs" / "CNN3D" / "evaluation.json", "{not json");
  try {
    write_report(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CNN3D/evaluation.json: not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(ReportHtml, ChoosesCorrectAndWrongCasesOfBothClasses) {
  test::TempDir tmp;
  test::write_fake_demo(tmp / "demo", kHostile);
  const auto runs = load_report_runs(tmp / "demo");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].label, "CNN3D");  // the paper's row order: CNN, then p_mode 0..5
  EXPECT_EQ(runs[1].label, "MProtoNet3D_pm5");
  EXPECT_EQ(runs[0].fold_of(kHostile), 0);
  const auto cases = choose_cases(runs[1], 4);
  ASSERT_EQ(cases.size(), 4u);
  EXPECT_EQ(cases[0].second, "correct HGG");
  EXPECT_EQ(cases[1].second, "correct LGG");
  EXPECT_EQ(cases[2].second, "misclassified HGG");
  EXPECT_EQ(cases[3].second, "correct HGG");  // no misclassified LGG: the next most confident correct one
  EXPECT_EQ(cases[0].first, kHostile);        // the most confident correct HGG
  EXPECT_THROW(load_report_runs(tmp.path()), Error);
}

}  // namespace
