// SPDX-License-Identifier: MIT
// Fisher-Kolmogorov glioma growth on a coarse grid (see tumour_growth.h).
#include "mprotonet/data/tumour_growth.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "mprotonet/core/error.h"

namespace mprotonet::synth {

namespace {

// D_wm dt / h^2 of the explicit scheme: below the 3D stability bound 1/6 for the largest D.
constexpr double kAlphaWm = 0.16;
// Cells below this density are outside the region that needs updating.
constexpr float kNegligible = 1e-5f;
// The active region is recomputed every this many steps (it may grow one cell per step).
constexpr int kBoxInterval = 8;

struct Box {
  std::array<int64_t, 3> lo, hi;  // inclusive
};

}  // namespace

TumourFields grow_tumour(const TissueAtlas& atlas, const GrowthOptions& o) {
  check(o.grid_mm > 0 && o.reach_mm > 4 * o.grid_mm, "tumour growth: grid_mm and reach_mm are inconsistent");
  check(o.front_width_mm > 0 && o.diffusion_ratio >= 1, "tumour growth: front width and diffusion ratio must be positive");
  const double h = o.grid_mm;
  const int64_t half = static_cast<int64_t>(std::ceil(o.reach_mm / h));
  const int64_t n = 2 * half + 1;
  const std::array<int64_t, 3> dims{n, n, n};
  const Vec3 origin{o.seed[0] - static_cast<double>(half) * h, o.seed[1] - static_cast<double>(half) * h,
                    o.seed[2] - static_cast<double>(half) * h};
  TumourFields out;
  out.density = GridField(dims, origin, h);
  GridField& c = out.density;
  const size_t cells = c.values.size();

  // Tissue: diffusivity (in units of the scheme's alpha) and capacity for proliferation.
  std::vector<float> diff(cells, 0.0f), capacity(cells, 0.0f);
  for (int64_t i = 1; i < n - 1; ++i)  // outer shell stays 0: no flux across the grid's border
    for (int64_t j = 1; j < n - 1; ++j)
      for (int64_t k = 1; k < n - 1; ++k) {
        const TissueFractions f = atlas.sample(c.position(i, j, k));
        const size_t idx = static_cast<size_t>(c.index(i, j, k));
        diff[idx] = static_cast<float>(kAlphaWm * (f.wm + f.gm / o.diffusion_ratio));
        capacity[idx] = static_cast<float>(f.wm + f.gm);
      }
  // Face coefficients towards +i, +j, +k: harmonic mean (zero when either side is CSF).
  const int64_t stride[3] = {n * n, n, 1};
  std::vector<float> face[3];
  for (int a = 0; a < 3; ++a) {
    face[a].assign(cells, 0.0f);
    for (size_t idx = 0; idx + static_cast<size_t>(stride[a]) < cells; ++idx) {
      const float d0 = diff[idx], d1 = diff[idx + static_cast<size_t>(stride[a])];
      face[a][idx] = d0 + d1 > 0 ? 2 * d0 * d1 / (d0 + d1) : 0.0f;
    }
  }
  const float beta = static_cast<float>(kAlphaWm * (h / o.front_width_mm) * (h / o.front_width_mm));

  // Seed: a small Gaussian blob of cells at the seed point.
  const double sigma = std::max(h, 3.0);
  for (int64_t i = half - 3; i <= half + 3; ++i)
    for (int64_t j = half - 3; j <= half + 3; ++j)
      for (int64_t k = half - 3; k <= half + 3; ++k) {
        const double d2 = static_cast<double>((i - half) * (i - half) + (j - half) * (j - half) + (k - half) * (k - half)) * h * h;
        const size_t idx = static_cast<size_t>(c.index(i, j, k));
        c.values[idx] = static_cast<float>(0.8 * std::exp(-d2 / (2 * sigma * sigma)) * capacity[idx]);
      }

  std::vector<float> next = c.values;
  // When each cell joined the core: the oldest core is the necrotic one.
  std::vector<float> core_since(cells, std::numeric_limits<float>::infinity());
  const double cell_ml = h * h * h / 1000.0;
  Box box{{half - 4, half - 4, half - 4}, {half + 4, half + 4, half + 4}};
  auto update_box = [&] {
    // Union of the previous box and every non-negligible cell, plus the distance the density
    // can travel before the next update.
    Box b = box;
    for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i)
      for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j)
        for (int64_t k = box.lo[2]; k <= box.hi[2]; ++k)
          if (c.values[static_cast<size_t>(c.index(i, j, k))] > kNegligible) {
            const int64_t p[3] = {i, j, k};
            for (int a = 0; a < 3; ++a) {
              b.lo[a] = std::min(b.lo[a], p[a] - kBoxInterval - 1);
              b.hi[a] = std::max(b.hi[a], p[a] + kBoxInterval + 1);
            }
          }
    for (int a = 0; a < 3; ++a) {
      b.lo[a] = std::max<int64_t>(b.lo[a], 1);
      b.hi[a] = std::min<int64_t>(b.hi[a], n - 2);
    }
    box = b;
  };
  auto volume_above = [&](float threshold) {
    int64_t count = 0;
    for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i)
      for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j)
        for (int64_t k = box.lo[2]; k <= box.hi[2]; ++k) count += c.values[static_cast<size_t>(c.index(i, j, k))] >= threshold;
    return static_cast<double>(count) * cell_ml;
  };

  const float visible = static_cast<float>(o.visible_threshold);
  const float core = static_cast<float>(o.core_threshold);
  int step = 0;
  bool near_target = false;
  for (; step < o.max_steps; ++step) {
    if (step % kBoxInterval == 0) update_box();
    // Near the target the volume is checked every step, so fast growth does not overshoot.
    if (step % kBoxInterval == 0 || near_target) {
      const double v = volume_above(core);
      if (v >= o.target_core_ml) break;
      near_target = v >= 0.7 * o.target_core_ml;
    }
    const float* cv = c.values.data();
    for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i)
      for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j) {
        const size_t row = static_cast<size_t>(c.index(i, j, 0));
        for (int64_t k = box.lo[2]; k <= box.hi[2]; ++k) {
          const size_t idx = row + static_cast<size_t>(k);
          const float x = cv[idx];
          float flux = 0;
          for (int a = 0; a < 3; ++a) {
            const size_t s = static_cast<size_t>(stride[a]);
            flux += face[a][idx] * (cv[idx + s] - x) + face[a][idx - s] * (cv[idx - s] - x);
          }
          float y = x + flux + beta * capacity[idx] * x * (1.0f - x);
          y = std::min(1.0f, std::max(0.0f, y));
          next[idx] = y;
          if (y >= core && !(core_since[idx] <= static_cast<float>(step))) core_since[idx] = static_cast<float>(step);
        }
      }
    c.values.swap(next);
    // Keep both buffers equal inside the box so a cell's stale copy is never read.
    for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i)
      for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j) {
        const size_t row = static_cast<size_t>(c.index(i, j, box.lo[2]));
        std::copy(c.values.begin() + static_cast<std::ptrdiff_t>(row),
                  c.values.begin() + static_cast<std::ptrdiff_t>(row + static_cast<size_t>(box.hi[2] - box.lo[2] + 1)),
                  next.begin() + static_cast<std::ptrdiff_t>(row));
      }
  }
  out.steps = step;
  update_box();
  out.visible_ml = volume_above(visible);
  out.core_ml = volume_above(core);

  Vec3 sum{0, 0, 0};
  double count = 0;
  std::vector<float> core_ages;
  for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i)
    for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j)
      for (int64_t k = box.lo[2]; k <= box.hi[2]; ++k) {
        const size_t idx = static_cast<size_t>(c.index(i, j, k));
        if (c.values[idx] >= visible) {
          const Vec3 p = c.position(i, j, k);
          for (int a = 0; a < 3; ++a) sum[a] += p[a];
          count += 1;
        }
        if (c.values[idx] >= core) core_ages.push_back(core_since[idx]);
      }
  for (int a = 0; a < 3; ++a) out.centroid[a] = count > 0 ? sum[a] / count : o.seed[a];

  // Necrosis: the cells that joined the core first, `necrotic_fraction` of the core, with a
  // smooth edge (a few steps of age) so the interpolated boundary is not blocky.
  if (o.necrotic_fraction > 0 && !core_ages.empty()) {
    std::sort(core_ages.begin(), core_ages.end());
    const size_t cut = std::min(core_ages.size() - 1, static_cast<size_t>(o.necrotic_fraction * static_cast<double>(core_ages.size())));
    const float t_cut = core_ages[cut];
    if (std::isfinite(t_cut)) {
      const float soft = std::max(2.0f, 0.04f * static_cast<float>(step));
      out.necrosis = GridField(dims, origin, h);
      int64_t necrotic = 0;
      for (size_t idx = 0; idx < cells; ++idx) {
        const float t = core_since[idx];
        if (!std::isfinite(t)) continue;
        const float v = std::min(1.0f, std::max(0.0f, 0.5f + (t_cut - t) / soft));
        out.necrosis.values[idx] = v;
        necrotic += v >= 0.5f;
      }
      out.necrotic_ml = static_cast<double>(necrotic) * cell_ml;
    }
  }
  return out;
}

}  // namespace mprotonet::synth
