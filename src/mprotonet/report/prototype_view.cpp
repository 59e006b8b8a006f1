// SPDX-License-Identifier: MIT
// Rendering of stored prototype pictures (see prototype_view.h).
#include "mprotonet/report/prototype_view.h"

#include <algorithm>

#include "mprotonet/core/error.h"

namespace mprotonet {

RgbImage render_prototype(const PushedPrototype& p, const PrototypeViewOptions& o) {
  check(p.picture.has_value(), "prototype " + std::to_string(p.prototype) +
                                   " has no picture in its push record (model file written before pictures were "
                                   "recorded, or the prototype was never pushed)");
  const PrototypePicture& pic = *p.picture;
  const int64_t nx = pic.size[0], ny = pic.size[1];
  const auto n = static_cast<size_t>(nx * ny);
  check(nx >= 1 && ny >= 1 && pic.modalities.size() == 4 * n && (pic.map.empty() || pic.map.size() == n),
        "prototype " + std::to_string(p.prototype) + ": picture of " + std::to_string(nx) + "x" + std::to_string(ny) +
            " holds " + std::to_string(pic.modalities.size()) + " modality and " + std::to_string(pic.map.size()) +
            " map bytes; expected 4 x " + std::to_string(n) + " and 0 or " + std::to_string(n));
  const int zoom = o.zoom > 0 ? o.zoom : std::max<int>(1, (o.min_panel + static_cast<int>(nx) - 1) / static_cast<int>(nx));
  // The preprocessed grid is canonical RAS+, so a slice is shown with an identity-oriented affine.
  Volume ref = make_volume({nx, ny, 1}, identity_affine());
  const SliceView view(ref, Plane::kAxial, 0, zoom);
  Volume map = make_volume({nx, ny, 1}, identity_affine());
  for (size_t i = 0; i < pic.map.size(); ++i) map.data[i] = pic.map[i];

  // Receptive-field box in crop coordinates (p_mode < 2 shows the box instead of a map).
  const bool box = pic.map.empty();
  const int64_t bi0 = p.receptive_field[0][0] - pic.origin[0], bi1 = p.receptive_field[0][1] - pic.origin[0];
  const int64_t bj0 = p.receptive_field[1][0] - pic.origin[1], bj1 = p.receptive_field[1][1] - pic.origin[1];
  auto inside = [&](int x, int y) {
    if (x < 0 || y < 0 || x >= view.width() || y >= view.height()) return false;
    const auto v = view.voxel(x, y);
    return v[0] >= bi0 && v[0] < bi1 && v[1] >= bj0 && v[1] < bj1;
  };
  const int thick = std::max(1, zoom / 2);

  std::vector<RgbImage> panels;
  for (size_t c = 0; c < 4; ++c) {
    Volume m = make_volume({nx, ny, 1}, identity_affine());
    for (size_t i = 0; i < n; ++i) m.data[i] = pic.modalities[c * n + i];
    RgbImage img = render_slice(m, view, Window{0, 255});
    if (!box) {
      HeatmapOptions h;
      h.alpha = o.map_alpha;
      h.range = Window{0, 255};
      h.threshold = o.map_threshold;
      overlay_heatmap(img, map, view, h);
    } else {
      for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) {
          if (!inside(x, y)) continue;
          bool edge = false;
          for (int d = 1; d <= thick && !edge; ++d)
            edge = !inside(x - d, y) || !inside(x + d, y) || !inside(x, y - d) || !inside(x, y + d);
          // Box sides on the crop's border are drawn too: the region may extend beyond the crop.
          if (edge) img.set(x, y, o.box_colour);
        }
    }
    panels.push_back(std::move(img));
  }
  check(o.columns >= 1 && o.columns <= 4, "prototype view: columns " + std::to_string(o.columns) + "; expected 1 to 4");
  return tile_images(panels, o.columns, o.gap, Rgb{0, 0, 0});
}

}  // namespace mprotonet
