// SPDX-License-Identifier: MIT
// PNG rendering of volume slices, outlines, heat maps and grids (see png.h for conventions).
#include "mprotonet/report/png.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <string>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"

namespace mprotonet {

RgbImage::RgbImage(int w, int h, Rgb fill) : width(w), height(h) {
  check(w >= 0 && h >= 0, "image size " + std::to_string(w) + " x " + std::to_string(h) + " is invalid: expected non-negative");
  pixels.resize(static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  for (size_t p = 0; p < pixels.size(); p += 3) {
    pixels[p] = fill.r;
    pixels[p + 1] = fill.g;
    pixels[p + 2] = fill.b;
  }
}

Rgb RgbImage::get(int x, int y) const {
  const size_t p = (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
  return {pixels[p], pixels[p + 1], pixels[p + 2]};
}

void RgbImage::set(int x, int y, Rgb c) {
  const size_t p = (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
  pixels[p] = c.r;
  pixels[p + 1] = c.g;
  pixels[p + 2] = c.b;
}

namespace {

struct PngErrorState {
  std::string message;
};

void on_png_error(png_structp png, png_const_charp msg) {
  auto* state = static_cast<PngErrorState*>(png_get_error_ptr(png));
  if (state) state->message = msg ? msg : "unknown libpng error";
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

// Writes with libpng; kept free of C++ objects with destructors between setjmp and longjmp.
void write_png_file(const std::filesystem::path& path, const RgbImage& image) {
  FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) throw Error(path.string() + ": cannot open for writing");
  PngErrorState state;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    std::fclose(fp);
    throw Error(path.string() + ": libpng could not allocate its structures");
  }
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  for (int y = 0; y < image.height; ++y)
    rows[static_cast<size_t>(y)] = const_cast<png_bytep>(image.pixels.data() + static_cast<size_t>(y) * static_cast<size_t>(image.width) * 3);
  volatile bool ok = false;
  if (setjmp(png_jmpbuf(png)) == 0) {
    png_init_io(png, fp);
    png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows.data());
    png_write_end(png, nullptr);
    ok = true;
  }
  png_destroy_write_struct(&png, &info);
  const bool closed = std::fclose(fp) == 0;
  if (!ok) throw Error(path.string() + ": libpng failed: " + state.message);
  if (!closed) throw Error(path.string() + ": write failed (disk full?)");
}

}  // namespace

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  check(image.width > 0 && image.height > 0,
        path.string() + ": cannot write an empty image (" + std::to_string(image.width) + " x " + std::to_string(image.height) + ")");
  check(image.pixels.size() == static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3,
        path.string() + ": image buffer has " + std::to_string(image.pixels.size()) + " bytes, expected width * height * 3");
  write_atomically(path, [&](const std::filesystem::path& tmp) { write_png_file(tmp, image); });
}

// ---- slices --------------------------------------------------------------------------------

namespace {

// World axis (0 = x/R, 1 = y/A, 2 = z/S) each array axis points along, as nibabel's aff2axcodes.
std::array<int, 3> world_axis_of_array_axis(const Affine& a) {
  std::array<int, 3> w{};
  for (int ax = 0; ax < 3; ++ax) {
    int best = 0;
    for (int r = 1; r < 3; ++r)
      if (std::fabs(a[r][ax]) > std::fabs(a[best][ax])) best = r;
    w[ax] = best;
  }
  check(w[0] != w[1] && w[1] != w[2] && w[0] != w[2],
        "affine is too oblique to show slices: two array axes point along the same world axis");
  return w;
}

int array_axis_of_world_axis(const std::array<int, 3>& w, int world) {
  for (int ax = 0; ax < 3; ++ax)
    if (w[ax] == world) return ax;
  return 0;
}

}  // namespace

int SliceView::normal_axis(const Volume& reference, Plane plane) {
  const auto w = world_axis_of_array_axis(reference.affine);
  const int normal_world = plane == Plane::kAxial ? 2 : plane == Plane::kCoronal ? 1 : 0;
  return array_axis_of_world_axis(w, normal_world);
}

SliceView::SliceView(const Volume& reference, Plane plane, int64_t index, int zoom)
    : shape_(reference.shape), index_(index), zoom_(zoom) {
  check(zoom >= 1 && zoom <= 64, "slice zoom " + std::to_string(zoom) + " is invalid: expected 1 to 64");
  const auto w = world_axis_of_array_axis(reference.affine);
  // (normal, horizontal, vertical) world axes; image x and y both run towards decreasing world
  // coordinates: radiological left-right, anterior/superior up, anterior left on sagittal.
  int hw = 0, vw = 1, nw = 2;
  if (plane == Plane::kCoronal) { nw = 1; hw = 0; vw = 2; }
  if (plane == Plane::kSagittal) { nw = 0; hw = 1; vw = 2; }
  normal_ = array_axis_of_world_axis(w, nw);
  h_axis_ = array_axis_of_world_axis(w, hw);
  v_axis_ = array_axis_of_world_axis(w, vw);
  h_flip_ = reference.affine[static_cast<size_t>(hw)][static_cast<size_t>(h_axis_)] > 0;
  v_flip_ = reference.affine[static_cast<size_t>(vw)][static_cast<size_t>(v_axis_)] > 0;
  check(index >= 0 && index < shape_[static_cast<size_t>(normal_)],
        "slice index " + std::to_string(index) + " is out of range: expected 0 to " +
            std::to_string(shape_[static_cast<size_t>(normal_)] - 1) + " along array axis " + std::to_string(normal_));
  width_ = static_cast<int>(shape_[static_cast<size_t>(h_axis_)]) * zoom;
  height_ = static_cast<int>(shape_[static_cast<size_t>(v_axis_)]) * zoom;
}

std::array<int64_t, 3> SliceView::voxel(int x, int y) const {
  std::array<int64_t, 3> v{};
  const int64_t nh = shape_[static_cast<size_t>(h_axis_)], nv = shape_[static_cast<size_t>(v_axis_)];
  const int64_t h = x / zoom_, vv = y / zoom_;
  v[static_cast<size_t>(normal_)] = index_;
  v[static_cast<size_t>(h_axis_)] = h_flip_ ? nh - 1 - h : h;
  v[static_cast<size_t>(v_axis_)] = v_flip_ ? nv - 1 - vv : vv;
  return v;
}

int64_t SliceView::linear(int x, int y) const {
  const auto v = voxel(x, y);
  return (v[0] * shape_[1] + v[1]) * shape_[2] + v[2];
}

namespace {

void check_same_grid(const Volume& v, const SliceView& view, const char* what) {
  check(v.shape == view.shape() && static_cast<int64_t>(v.data.size()) == v.numel(),
        std::string(what) + " has shape " + std::to_string(v.shape[0]) + "x" + std::to_string(v.shape[1]) + "x" +
            std::to_string(v.shape[2]) + ", expected the slice view's " + std::to_string(view.shape()[0]) + "x" +
            std::to_string(view.shape()[1]) + "x" + std::to_string(view.shape()[2]));
}

}  // namespace

Window percentile_window(const Volume& v, double low_percentile, double high_percentile) {
  check(low_percentile >= 0 && low_percentile < high_percentile && high_percentile <= 100,
        "percentile window [" + std::to_string(low_percentile) + ", " + std::to_string(high_percentile) +
            "] is invalid: expected 0 <= low < high <= 100");
  std::vector<float> values;
  values.reserve(v.data.size() / 4);
  for (float x : v.data)
    if (x != 0 && std::isfinite(x)) values.push_back(x);
  if (values.empty())
    for (float x : v.data)
      if (std::isfinite(x)) values.push_back(x);
  if (values.empty()) return {0, 1};
  auto at = [&](double pct) {
    const size_t k = static_cast<size_t>(std::llround(pct / 100.0 * static_cast<double>(values.size() - 1)));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return static_cast<double>(values[k]);
  };
  Window w{at(low_percentile), at(high_percentile)};
  if (!(w.high > w.low)) w.high = w.low + 1;
  return w;
}

RgbImage render_slice(const Volume& v, const SliceView& view, std::optional<Window> window) {
  check_same_grid(v, view, "volume");
  const Window win = window ? *window : percentile_window(v);
  const double scale = 255.0 / std::max(win.high - win.low, 1e-12);
  RgbImage img(view.width(), view.height());
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const double value = v.data[static_cast<size_t>(view.linear(x, y))];
      const double g = std::isfinite(value) ? std::clamp((value - win.low) * scale, 0.0, 255.0) : 0.0;
      const auto c = static_cast<uint8_t>(std::lround(g));
      img.set(x, y, {c, c, c});
    }
  return img;
}

std::map<int, Rgb> default_label_colours() { return {{1, {255, 40, 40}}, {2, {40, 220, 40}}, {4, {255, 235, 0}}}; }

void overlay_label_outline(RgbImage& image, const Volume& seg, const SliceView& view, const std::map<int, Rgb>& colours) {
  check_same_grid(seg, view, "segmentation");
  check(image.width == view.width() && image.height == view.height(), "image size does not match the slice view");
  const int w = view.width(), h = view.height();
  std::vector<int> labels(static_cast<size_t>(w) * static_cast<size_t>(h));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      labels[static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)] =
          static_cast<int>(std::lround(seg.data[static_cast<size_t>(view.linear(x, y))]));
  auto label_at = [&](int x, int y) { return labels[static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)]; };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int l = label_at(x, y);
      if (l == 0) continue;
      const bool edge = (x == 0 || label_at(x - 1, y) != l) || (x == w - 1 || label_at(x + 1, y) != l) ||
                        (y == 0 || label_at(x, y - 1) != l) || (y == h - 1 || label_at(x, y + 1) != l);
      if (!edge) continue;
      const auto it = colours.find(l);
      image.set(x, y, it != colours.end() ? it->second : Rgb{0, 220, 255});
    }
}

Rgb inferno(double t) {
  // matplotlib "inferno" at t = 0, 0.1, ..., 1.
  static const uint8_t stops[11][3] = {{0, 0, 4},      {22, 11, 57},   {66, 10, 104},  {106, 23, 110},
                                       {147, 38, 103}, {188, 55, 84},  {221, 81, 58},  {243, 120, 25},
                                       {252, 165, 10}, {246, 215, 70}, {252, 255, 164}};
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, 0.0, 1.0) * 10.0;
  const int i = std::min(static_cast<int>(t), 9);
  const double f = t - i;
  auto lerp = [&](int c) { return static_cast<uint8_t>(std::lround(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * f)); };
  return {lerp(0), lerp(1), lerp(2)};
}

void overlay_heatmap(RgbImage& image, const Volume& map, const SliceView& view, const HeatmapOptions& options) {
  check_same_grid(map, view, "heat map");
  check(image.width == view.width() && image.height == view.height(), "image size does not match the slice view");
  check(options.alpha >= 0 && options.alpha <= 1, "heat map alpha " + std::to_string(options.alpha) + " is invalid: expected 0 to 1");
  Window range{0, 0};
  if (options.range) {
    range = *options.range;
  } else {
    for (float x : map.data)
      if (std::isfinite(x)) range.high = std::max(range.high, static_cast<double>(x));
  }
  if (!(range.high > range.low)) return;  // an all-zero map shows nothing
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const double t = (map.data[static_cast<size_t>(view.linear(x, y))] - range.low) / (range.high - range.low);
      if (!(t >= options.threshold)) continue;
      const Rgb c = inferno(t), base = image.get(x, y);
      auto blend = [&](uint8_t b, uint8_t o) {
        return static_cast<uint8_t>(std::lround(b * (1 - options.alpha) + o * options.alpha));
      };
      image.set(x, y, {blend(base.r, c.r), blend(base.g, c.g), blend(base.b, c.b)});
    }
}

RgbImage tile_images(const std::vector<RgbImage>& panels, int columns, int gap, Rgb background) {
  check(!panels.empty(), "no panels to tile");
  check(columns >= 1, "tile columns " + std::to_string(columns) + " is invalid: expected >= 1");
  check(gap >= 0, "tile gap " + std::to_string(gap) + " is invalid: expected >= 0");
  int cw = 0, ch = 0;
  for (const auto& p : panels) {
    cw = std::max(cw, p.width);
    ch = std::max(ch, p.height);
  }
  const int n = static_cast<int>(panels.size());
  const int cols = std::min(columns, n), rows = (n + cols - 1) / cols;
  RgbImage out(cols * cw + (cols + 1) * gap, rows * ch + (rows + 1) * gap, background);
  for (int p = 0; p < n; ++p) {
    const RgbImage& panel = panels[static_cast<size_t>(p)];
    const int x0 = gap + (p % cols) * (cw + gap) + (cw - panel.width) / 2;
    const int y0 = gap + (p / cols) * (ch + gap) + (ch - panel.height) / 2;
    for (int y = 0; y < panel.height; ++y)
      std::copy_n(panel.pixels.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(y) * static_cast<size_t>(panel.width) * 3),
                  static_cast<size_t>(panel.width) * 3,
                  out.pixels.begin() + static_cast<std::ptrdiff_t>((static_cast<size_t>(y0 + y) * static_cast<size_t>(out.width) + static_cast<size_t>(x0)) * 3));
  }
  return out;
}

}  // namespace mprotonet
