// SPDX-License-Identifier: MIT
// PNG pictures of volumes for people to look at: RGB images, slices of a Volume in display
// orientation with percentile windowing, segmentation outlines, heat-map overlays (for
// attribution maps) and panel grids, written atomically with libpng.
//
// Display convention (radiological, as PACS viewers and the BraTS literature show it), decided
// from the affine so it holds for any voxel orientation (RAS, LPS, ...):
//   axial:    anterior up,  patient left on the image right (viewed from the feet);
//   coronal:  superior up,  patient left on the image right (viewed from the front);
//   sagittal: superior up,  anterior on the image left.
// Pixels are square: one voxel becomes zoom x zoom pixels whatever the voxel size.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "mprotonet/io/volume.h"

namespace mprotonet {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

/// 8-bit RGB image, rows top to bottom, pixels left to right, 3 bytes per pixel.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  ///< size width * height * 3

  RgbImage() = default;
  RgbImage(int w, int h, Rgb fill = {});
  Rgb get(int x, int y) const;
  void set(int x, int y, Rgb c);
};

/// Writes an 8-bit RGB PNG (temporary name, then rename). Throws Error naming the file.
void write_png(const std::filesystem::path& path, const RgbImage& image);

enum class Plane { kAxial, kCoronal, kSagittal };

/// Maps image pixels of one slice to voxels of volumes that share `reference`'s grid
/// (shape and orientation), in the display convention above.
class SliceView {
 public:
  /// `index` is the array index along the array axis closest to the plane's normal
  /// (e.g. k for an axial slice of a BraTS volume). zoom >= 1 pixels per voxel.
  /// Throws Error when the affine is not close to an axis permutation or index is out of range.
  SliceView(const Volume& reference, Plane plane, int64_t index, int zoom = 1);

  /// The array axis across the plane (0, 1 or 2) for this volume's affine.
  static int normal_axis(const Volume& reference, Plane plane);

  int width() const { return width_; }
  int height() const { return height_; }
  /// Array index (i, j, k) shown at pixel (x, y).
  std::array<int64_t, 3> voxel(int x, int y) const;
  /// Linear voxel index (numpy order) shown at pixel (x, y).
  int64_t linear(int x, int y) const;
  const std::array<int64_t, 3>& shape() const { return shape_; }

 private:
  std::array<int64_t, 3> shape_{};
  int64_t index_ = 0;
  int normal_ = 2, h_axis_ = 0, v_axis_ = 1;
  bool h_flip_ = false, v_flip_ = false;
  int zoom_ = 1;
  int width_ = 0, height_ = 0;
};

/// Intensity window [low, high] mapped to black..white.
struct Window {
  double low = 0;
  double high = 1;
};

/// Window from percentiles (in %) of the non-zero voxels of v (all voxels when none is
/// non-zero). Defaults 0.5 and 99.5, which ignores the background and a few hot voxels.
Window percentile_window(const Volume& v, double low_percentile = 0.5, double high_percentile = 99.5);

/// Grayscale picture of a slice; window defaults to percentile_window(v).
RgbImage render_slice(const Volume& v, const SliceView& view, std::optional<Window> window = std::nullopt);

/// Outline colours per label; defaults follow common BraTS figures: 1 (necrotic / non-enhancing
/// core) red, 2 (edema) green, 4 (enhancing) yellow; any other non-zero label cyan.
std::map<int, Rgb> default_label_colours();

/// Draws, in place, the one-pixel outline of each non-zero label region of `seg` on the slice:
/// a pixel is drawn when its label differs from one of its 4 neighbours (inner border).
void overlay_label_outline(RgbImage& image, const Volume& seg, const SliceView& view,
                           const std::map<int, Rgb>& colours = default_label_colours());

struct HeatmapOptions {
  /// Opacity of the heat map where it is shown, 0..1 (default 0.5).
  double alpha = 0.5;
  /// Values are normalised to [0, 1] over [low, high]; when unset, low = 0 and high = the
  /// maximum of the map (default unset).
  std::optional<Window> range;
  /// Normalised values below this are not drawn, so low attributions do not tint the anatomy
  /// (default 0.1).
  double threshold = 0.1;
};

/// Perceptually uniform colour map (matplotlib's "inferno", piecewise linear over 11 stops), t in [0, 1].
Rgb inferno(double t);

/// Blends a colour-mapped heat map (same grid as the view's reference) onto the image.
void overlay_heatmap(RgbImage& image, const Volume& map, const SliceView& view, const HeatmapOptions& options = {});

/// Tiles panels into a grid of `columns` columns, cells as large as the largest panel, panels
/// centred in their cells, `gap` pixels between cells and around the border.
RgbImage tile_images(const std::vector<RgbImage>& panels, int columns, int gap = 4, Rgb background = {24, 24, 24});

}  // namespace mprotonet
