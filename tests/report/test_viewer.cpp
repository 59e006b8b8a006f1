// SPDX-License-Identifier: MIT
// Unit tests of the interactive viewer (report/viewer.h): the embedded volumes decode to the
// values they stand for, the page block escapes every string from data and keeps the embedded
// JSON inside its element, a too-large case is said so, and explain's page is complete; then the
// explain page in headless Chromium (WebGL2 through SwiftShader): it draws, and switching the
// overlay changes the picture.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/browser.h"
#include "common/test_util.h"
#include "mprotonet/core/base64.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/report/viewer.h"

using namespace mprotonet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kHostileLabel = "<script>alert('x')</script>&\"id\"";

Volume ramp(double from, double to) {
  Affine a = identity_affine();
  a[0][0] = 2.0;
  a[1][1] = 3.0;
  a[0][3] = -10.0;
  Volume v = make_volume({6, 5, 4}, a);
  for (size_t i = 0; i < v.data.size(); ++i)
    v.data[i] = static_cast<float>(from + (to - from) * static_cast<double>(i) / static_cast<double>(v.data.size() - 1));
  return v;
}

// The volume a ViewerVolume embeds, read back through the NIfTI reader.
Volume decode(const ViewerVolume& v, const test::TempDir& tmp) {
  const auto bytes = base64_decode(v.base64);
  EXPECT_GE(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], 0x1f);  // gzip
  EXPECT_EQ(bytes[1], 0x8b);
  write_bytes_atomically(tmp / "decoded.nii.gz", bytes.data(), bytes.size());
  return read_nifti(tmp / "decoded.nii.gz");
}

TEST(Viewer, EncodedNiftiCarriesTheScalingAndTheAffine) {
  test::TempDir tmp;
  Volume q = ramp(0, 200);
  for (auto& x : q.data) x = std::round(x);
  const auto bytes = encode_nifti_gz(q, DataType::kUInt8, 0.5, -3.0);
  write_bytes_atomically(tmp / "q.nii.gz", bytes.data(), bytes.size());
  const NiftiHeader hd = read_nifti_header(tmp / "q.nii.gz");
  EXPECT_EQ(hd.datatype, DataType::kUInt8);
  EXPECT_DOUBLE_EQ(hd.scl_slope, 0.5);
  EXPECT_DOUBLE_EQ(hd.scl_inter, -3.0);
  const Volume back = read_nifti(tmp / "q.nii.gz");
  EXPECT_EQ(back.shape, q.shape);
  EXPECT_EQ(back.affine, q.affine);
  for (size_t i = 0; i < q.data.size(); ++i) ASSERT_FLOAT_EQ(back.data[i], -3.0f + 0.5f * q.data[i]) << i;
  // The same bytes as write_nifti's file apart from the scaling (one header writer).
  write_nifti(tmp / "w.nii", q, DataType::kUInt8);
  const Volume plain = read_nifti(tmp / "w.nii");
  for (size_t i = 0; i < q.data.size(); ++i) ASSERT_FLOAT_EQ(plain.data[i], q.data[i]);
  EXPECT_THROW(encode_nifti_gz(q, DataType::kUInt8, 0.0, 0.0), Error);
  q.data[0] = 300;  // out of uint8 range
  EXPECT_THROW(encode_nifti_gz(q, DataType::kUInt8), Error);
}

TEST(Viewer, VolumesDecodeToTheirValuesWithinOneStep) {
  test::TempDir tmp;
  // A map: magnitudes over [0, peak], display from 15 % of the peak.
  const Volume map = ramp(-2.0, 1.0);
  const ViewerVolume m = viewer_map_volume(map, "m");
  EXPECT_DOUBLE_EQ(m.cal_max, 2.0);
  EXPECT_NEAR(m.cal_min, 0.3, 1e-12);
  const Volume md = decode(m, tmp);
  EXPECT_EQ(md.affine, map.affine);
  for (size_t i = 0; i < map.data.size(); ++i) ASSERT_NEAR(md.data[i], std::fabs(map.data[i]), 2.0 / 255 / 2 + 1e-5) << i;
  // An image: its percentile window, clamped outside it.
  const Volume img = ramp(-1.0, 3.0);
  const ViewerVolume iv = viewer_intensity(img, "T1");
  EXPECT_LT(iv.cal_min, -0.9);
  EXPECT_GT(iv.cal_max, 2.9);
  const Volume id = decode(iv, tmp);
  const double step = (iv.cal_max - iv.cal_min) / 255;
  for (size_t i = 0; i < img.data.size(); ++i)
    ASSERT_NEAR(id.data[i], std::clamp<double>(img.data[i], iv.cal_min, iv.cal_max), step / 2 + 1e-5) << i;
  // Labels: exact.
  Volume seg = make_volume({4, 4, 4}, identity_affine());
  seg.data[1] = 1;
  seg.data[2] = 2;
  seg.data[3] = 4;
  const Volume sd = decode(viewer_labels(seg, "tumour"), tmp);
  EXPECT_EQ(sd.data, seg.data);
}

TEST(Viewer, BlockEscapesDataAndKeepsTheJsonInsideItsElement) {
  CaseViewer v;
  for (const char* m : {"T1", "T1CE", "T2", "FLAIR"}) v.modalities.push_back(viewer_intensity(ramp(0, 1), m));
  v.maps.push_back({kHostileLabel, {viewer_map_volume(ramp(0, 1), kHostileLabel)}});
  v.maps.push_back({"per modality", {}});
  for (int c = 0; c < 4; ++c) v.maps.back().volumes.push_back(viewer_map_volume(ramp(0, c + 1.0), "x"));
  const std::string html = viewer_html(v, "mpv-case0");
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;id&quot;"), std::string::npos);
  // One data element, whose content has no "</" (it could close the element) and parses.
  const std::string open = "<script type=\"application/json\" class=\"mpv-data\">";
  const auto a = html.find(open);
  ASSERT_NE(a, std::string::npos);
  const auto b = html.find("</script>", a);
  ASSERT_NE(b, std::string::npos);
  const std::string payload = html.substr(a + open.size(), b - a - open.size());
  EXPECT_EQ(payload.find("</"), std::string::npos);
  const json data = json::parse(payload);
  EXPECT_EQ(data["bases"].size(), 4u);
  EXPECT_TRUE(data["labels"].is_null());
  ASSERT_EQ(data["maps"].size(), 2u);
  EXPECT_EQ(data["maps"][0].size(), 1u);
  EXPECT_EQ(data["maps"][1].size(), 4u);
  EXPECT_EQ(data["maps"][1][3]["data"], v.maps[1].volumes[3].base64);
  EXPECT_NE(html.find("id=\"mpv-case0\""), std::string::npos);
  EXPECT_THROW(viewer_html(v, "a\"b"), Error);
  // Too large: the volumes go and the page says so (never an empty viewer, never nothing).
  CaseViewer big = v;
  limit_viewer(big, 100);
  EXPECT_TRUE(big.modalities.empty() && big.maps.empty());
  const std::string said = viewer_html(big, "mpv-case1");
  EXPECT_NE(said.find("not included for this case"), std::string::npos) << said;
  EXPECT_NE(said.find("above the limit"), std::string::npos) << said;
  EXPECT_EQ(said.find("mpv-data"), std::string::npos);
  // Over the limit with prototype sources: the sources go first, said under the viewer.
  CaseViewer with_sources = v;
  with_sources.source_images.push_back({"BraTS20_Training_007", v.modalities});
  with_sources.sources.push_back({"pm5 · prototype #1 (source BraTS20_Training_007)", 0, viewer_map_volume(ramp(0, 1), "s")});
  const std::string listed = viewer_html(with_sources, "mpv-case2");
  EXPECT_NE(listed.find("<option value=\"0\">pm5 · prototype #1 (source BraTS20_Training_007)</option>"), std::string::npos);
  EXPECT_EQ(json::parse(listed.substr(listed.find('{'), listed.rfind('}') - listed.find('{') + 1))["source_images"].size(), 1u);
  limit_viewer(with_sources, v.embedded_size());
  EXPECT_TRUE(with_sources.sources.empty() && with_sources.source_images.empty());
  EXPECT_EQ(with_sources.modalities.size(), 4u);
  const std::string trimmed = viewer_html(with_sources, "mpv-case2");
  EXPECT_NE(trimmed.find("source cases are not in the 3D view"), std::string::npos) << trimmed;
  EXPECT_EQ(trimmed.find("mpv-source"), std::string::npos);
  EXPECT_NE(trimmed.find("mpv-data"), std::string::npos);
  CaseViewer same = v;
  limit_viewer(same, same.embedded_size());
  EXPECT_EQ(same.modalities.size(), 4u);
  EXPECT_TRUE(same.note.empty());
  EXPECT_NE(viewer_html(CaseViewer{}, "x").find("not available"), std::string::npos);
}

// A case folder on disk for write_explain_page.
ExplainPage explain_fixture(const fs::path& dir) {
  fs::create_directories(dir);
  ExplainPage p;
  p.case_id = kHostileLabel;
  p.predicted = "HGG";
  p.p_hgg = 0.75;
  Affine a = identity_affine();
  Volume img = make_volume({24, 28, 20}, a);
  Volume seg = make_volume({24, 28, 20}, a);
  Volume map = make_volume({24, 28, 20}, a);
  for (int64_t i = 0; i < 24; ++i)
    for (int64_t j = 0; j < 28; ++j)
      for (int64_t k = 0; k < 20; ++k) {
        const double r = std::hypot(i - 12.0, j - 14.0, k - 10.0);
        img.at(i, j, k) = r < 10 ? static_cast<float>(100 + 5 * std::sin(i + j)) : 0.0f;
        seg.at(i, j, k) = r < 3 ? 4.0f : (r < 5 ? 2.0f : 0.0f);
        map.at(i, j, k) = static_cast<float>(std::exp(-((i - 8.0) * (i - 8.0) + (j - 9.0) * (j - 9.0)) / 20.0));
      }
  for (const char* m : {"t1", "t1ce", "t2", "flair"}) {
    write_nifti(dir / (std::string(m) + ".nii.gz"), img, DataType::kFloat32);
    p.modalities.push_back(dir / (std::string(m) + ".nii.gz"));
  }
  write_nifti(dir / "seg.nii.gz", seg, DataType::kUInt8);
  p.seg = dir / "seg.nii.gz";
  p.maps.emplace_back("gradcam", map);
  Volume other = map;
  for (auto& x : other.data) x = 1.0f - x;
  p.maps.emplace_back("mprotonet", other);
  p.files = {"prediction.json", "a b.nii.gz"};
  return p;
}

TEST(Viewer, ExplainPageIsCompleteEscapedAndOffline) {
  test::TempDir tmp;
  const ExplainPage p = explain_fixture(tmp / "case");
  EXPECT_THROW(write_explain_page(tmp / "out", p), Error);  // no such folder
  fs::create_directories(tmp / "out");
  write_explain_page(tmp / "out", p);
  const std::string html = read_text_file(tmp / "out" / "index.html");
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert"), std::string::npos);
  EXPECT_NE(html.find("<script src=\"niivue.umd.js\"></script>"), std::string::npos);
  EXPECT_NE(html.find("href=\"a%20b.nii.gz\""), std::string::npos);
  EXPECT_NE(html.find("<option value=\"outline\" selected>"), std::string::npos);  // labels present
  EXPECT_EQ(html.find("http://"), std::string::npos);  // nothing from the network
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // The bundle beside it is the vendored one, byte for byte.
  EXPECT_EQ(read_text_file(tmp / "out" / "niivue.umd.js"),
            read_text_file(test::source_dir() / "third_party" / "niivue" / "niivue.umd.js"));
}

TEST(Viewer, ExplainPageDrawsAndSwitchesOverlaysInHeadlessChromium) {
  if (test::chromium_path().empty()) {
    if (std::getenv("CI")) FAIL() << "chromium is not installed (scripts/setup.sh installs it) and CI is set";
    GTEST_SKIP() << "chromium is not installed; scripts/setup.sh installs it";
  }
  test::TempDir tmp;
  fs::create_directories(tmp / "out");
  write_explain_page(tmp / "out", explain_fixture(tmp / "case"));
  const auto c = test::check_in_browser(tmp / "out" / "index.html", "#selftest");
  ASSERT_FALSE(c.viewers.empty()) << "no self-test verdict (timeout or script failure): " << c.output.substr(0, 4000);
  const json v = json::parse(c.viewers);
  ASSERT_EQ(v.size(), 1u) << c.viewers;
  EXPECT_TRUE(v[0]["ok"].get<bool>()) << c.viewers;
  EXPECT_GT(v[0]["lit"].get<int>(), 1000) << c.viewers;
  EXPECT_TRUE(v[0]["overlay_changes"].get<bool>()) << c.viewers;
  EXPECT_EQ(v[0]["volumes"].get<int>(), 4 + 1 + 2) << c.viewers;
  EXPECT_EQ(c.errors, "[]") << c.output.substr(0, 4000);
  EXPECT_EQ(c.console, "");
  // The check can fail: a page whose bundle is missing reports the failed load and no verdict.
  fs::remove(tmp / "out" / "niivue.umd.js");
  const auto b = test::check_in_browser(tmp / "out" / "index.html", "#selftest");
  EXPECT_NE(b.errors.find("resource"), std::string::npos) << b.errors;
  EXPECT_NE(b.viewers.find("\"ok\":false"), std::string::npos) << b.viewers;
}

}  // namespace
