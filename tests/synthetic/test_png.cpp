// SPDX-License-Identifier: MIT
// Tests of report/png: PNG bytes decoded by an independent stdlib-only Python decoder, display
// orientation from the affine (RAS and LPS give the same picture), outlines, heat maps, tiling.
#include <gtest/gtest.h>

#include <sstream>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/report/png.h"

namespace fs = std::filesystem;
using namespace mprotonet;
using mprotonet::test::TempDir;

TEST(Png, WrittenPixelsReadBackByPython) {
  TempDir tmp;
  RgbImage img(5, 3, {10, 20, 30});
  img.set(0, 0, {255, 0, 0});
  img.set(4, 0, {0, 255, 0});
  img.set(2, 0, {1, 2, 3});
  img.set(4, 2, {0, 0, 255});
  const fs::path path = tmp / "x.png";
  write_png(path, img);
  const auto r = test::run_python_helper("synthetic_check.py", "png " + test::shell_quote(path.string()));
  EXPECT_NE(r.output.find("\"width\": 5, \"height\": 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[[[255, 0, 0], [10, 20, 30], [1, 2, 3], [10, 20, 30], [0, 255, 0]], "
                          "[[10, 20, 30], [10, 20, 30], [10, 20, 30], [10, 20, 30], [10, 20, 30]], "
                          "[[10, 20, 30], [10, 20, 30], [10, 20, 30], [10, 20, 30], [0, 0, 255]]]"),
            std::string::npos)
      << r.output;
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename(), "x.png") << "temporary file left behind";
}

TEST(Png, WriteErrorsNameTheFile) {
  TempDir tmp;
  const fs::path bad = tmp / "missing-dir" / "x.png";
  try {
    write_png(bad, RgbImage(2, 2));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing-dir"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_png(tmp / "empty.png", RgbImage()), Error);
}

namespace {

// 4 x 5 x 3 volume whose value encodes nothing but a marker at a given world direction.
Volume marker_volume(const Affine& affine, std::array<int64_t, 3> marker) {
  Volume v = make_volume({4, 5, 3}, affine);
  for (auto& x : v.data) x = 10;
  v.at(marker[0], marker[1], marker[2]) = 100;
  return v;
}

}  // namespace

TEST(Png, AxialDisplayIsRadiologicalForRasAndLps) {
  // RAS: i -> right, j -> anterior. Marker at patient left (i = 0) and anterior (j = 4), k = 1.
  Affine ras = identity_affine();
  Volume a = marker_volume(ras, {0, 4, 1});
  SliceView va(a, Plane::kAxial, 1);
  ASSERT_EQ(va.width(), 4);
  ASSERT_EQ(va.height(), 5);
  const RgbImage ia = render_slice(a, va, Window{0, 100});
  // Patient left -> image right; anterior -> top.
  EXPECT_EQ(ia.get(3, 0), (Rgb{255, 255, 255}));
  EXPECT_EQ(ia.get(0, 4), (Rgb{26, 26, 26}));

  // LPS (BraTS): i -> left, j -> posterior. Same physical point: i = 3 (most left), j = 0 (most anterior).
  Affine lps = identity_affine();
  lps[0][0] = -1;
  lps[1][1] = -1;
  Volume b = marker_volume(lps, {3, 0, 1});
  const RgbImage ib = render_slice(b, SliceView(b, Plane::kAxial, 1), Window{0, 100});
  EXPECT_EQ(ib.pixels, ia.pixels) << "same anatomy must give the same picture whatever the voxel order";

  // Coronal: superior up, patient left right. Sagittal: superior up, anterior left.
  Volume c = make_volume({4, 5, 3}, ras);
  c.at(0, 2, 2) = 100;  // left, superior
  const RgbImage ic = render_slice(c, SliceView(c, Plane::kCoronal, 2), Window{0, 100});
  EXPECT_EQ(ic.width, 4);
  EXPECT_EQ(ic.height, 3);
  EXPECT_EQ(ic.get(3, 0).r, 255);
  Volume s = make_volume({4, 5, 3}, ras);
  s.at(1, 4, 2) = 100;  // anterior, superior
  const RgbImage is = render_slice(s, SliceView(s, Plane::kSagittal, 1), Window{0, 100});
  EXPECT_EQ(is.width, 5);
  EXPECT_EQ(is.get(0, 0).r, 255);

  EXPECT_THROW(SliceView(a, Plane::kAxial, 3), Error);
  EXPECT_THROW(SliceView(a, Plane::kAxial, 0, 0), Error);
}

TEST(Png, ZoomRepeatsVoxels) {
  Volume a = marker_volume(identity_affine(), {0, 4, 1});
  const RgbImage img = render_slice(a, SliceView(a, Plane::kAxial, 1, 3), Window{0, 100});
  ASSERT_EQ(img.width, 12);
  ASSERT_EQ(img.height, 15);
  for (int y = 0; y < 3; ++y)
    for (int x = 9; x < 12; ++x) EXPECT_EQ(img.get(x, y).r, 255);
  EXPECT_EQ(img.get(8, 0).r, 26);
  EXPECT_EQ(img.get(9, 3).r, 26);
}

TEST(Png, PercentileWindowIgnoresBackground) {
  Volume v = make_volume({10, 10, 1}, identity_affine());
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j) v.at(i, j, 0) = (i < 5) ? 0.0f : static_cast<float>(100 + j);
  const Window w = percentile_window(v, 0, 100);
  EXPECT_EQ(w.low, 100);
  EXPECT_EQ(w.high, 109);
}

TEST(Png, LabelOutlineDrawsOnlyTheBorder) {
  Volume seg = make_volume({7, 7, 1}, identity_affine());
  for (int i = 1; i <= 5; ++i)
    for (int j = 1; j <= 5; ++j) seg.at(i, j, 0) = 4;
  seg.at(3, 3, 0) = 1;
  const SliceView view(seg, Plane::kAxial, 0);
  RgbImage img(view.width(), view.height());
  overlay_label_outline(img, seg, view);
  const Rgb yellow = default_label_colours().at(4), red = default_label_colours().at(1);
  int yellow_count = 0, red_count = 0, black = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const Rgb c = img.get(x, y);
      yellow_count += c == yellow;
      red_count += c == red;
      black += c == Rgb{};
    }
  // Label 4 square 5x5: its 16 border pixels plus the 4 neighbours of the label-1 hole.
  EXPECT_EQ(yellow_count, 16 + 4);
  EXPECT_EQ(red_count, 1);
  EXPECT_EQ(black, 49 - 21);
}

TEST(Png, HeatmapBlendsInfernoAboveThreshold) {
  Volume map = make_volume({3, 1, 1}, identity_affine());
  map.data = {0.0f, 0.05f, 2.0f};
  const SliceView view(map, Plane::kAxial, 0);
  RgbImage img(view.width(), view.height(), {100, 100, 100});
  HeatmapOptions opt;
  opt.alpha = 0.5;
  overlay_heatmap(img, map, view, opt);
  // Values 0 and 0.025 (normalised) are below the 0.1 threshold: untouched. The maximum maps
  // to inferno(1) = (252, 255, 164), blended half and half.
  int changed = 0;
  for (int x = 0; x < img.width; ++x) {
    const Rgb c = img.get(x, 0);
    if (c == Rgb{100, 100, 100}) continue;
    ++changed;
    EXPECT_EQ(c, (Rgb{176, 178, 132}));
  }
  EXPECT_EQ(changed, 1);
  EXPECT_EQ(inferno(0), (Rgb{0, 0, 4}));
  EXPECT_EQ(inferno(0.5), (Rgb{188, 55, 84}));
}

TEST(Png, TileLaysOutCellsWithGaps) {
  std::vector<RgbImage> panels{RgbImage(4, 2, {255, 0, 0}), RgbImage(2, 2, {0, 255, 0}), RgbImage(4, 4, {0, 0, 255})};
  const RgbImage t = tile_images(panels, 2, 1, {0, 0, 0});
  EXPECT_EQ(t.width, 2 * 4 + 3);
  EXPECT_EQ(t.height, 2 * 4 + 3);
  EXPECT_EQ(t.get(0, 0), (Rgb{0, 0, 0}));
  EXPECT_EQ(t.get(1, 2), (Rgb{255, 0, 0}));  // first panel centred vertically in a 4-high cell
  EXPECT_EQ(t.get(7, 2), (Rgb{0, 255, 0}));  // second panel centred horizontally: x0 = 6 + 1
  EXPECT_EQ(t.get(1, 6), (Rgb{0, 0, 255}));
  EXPECT_THROW(tile_images({}, 2), Error);
}
