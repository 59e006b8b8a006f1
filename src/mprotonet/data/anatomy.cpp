// SPDX-License-Identifier: MIT
// Tissue atlas loading and sampling, regular grid fields, random diffeomorphisms (anatomy.h).
#include "mprotonet/data/anatomy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "mprotonet/core/error.h"
#include "mprotonet/core/resources.h"
#include "mprotonet/io/nifti.h"

namespace mprotonet::synth {

namespace fs = std::filesystem;

GridField::GridField(const std::array<int64_t, 3>& d, const Vec3& o, double s, float fill)
    : dims(d), origin(o), spacing(s), values(static_cast<size_t>(d[0] * d[1] * d[2]), fill) {}

namespace {

// Cell and weights of a continuous grid coordinate t along an axis of n points; false beyond.
inline bool cell(double t, int64_t n, int64_t& i0, double& w) {
  if (!(t >= 0.0) || t > static_cast<double>(n - 1)) return false;
  i0 = std::min<int64_t>(static_cast<int64_t>(t), n - 2);
  w = t - static_cast<double>(i0);
  return true;
}

// Exact squared Euclidean distance along one line (Felzenszwalb & Huttenlocher 2012): f holds
// 0 at seeds and kFar elsewhere on entry (kFar + n^2 is exact in a double), out receives the
// squared distance; v and z are scratch of n and n + 1 entries.
constexpr double kFar = 1e12;
void squared_distance_1d(const std::vector<double>& f, std::vector<double>& out, std::vector<int64_t>& v,
                         std::vector<double>& z) {
  const int64_t n = static_cast<int64_t>(f.size());
  const double inf = std::numeric_limits<double>::infinity();
  auto at = [](auto& x, int64_t i) -> auto& { return x[static_cast<size_t>(i)]; };
  auto intersection = [&](int64_t q, int64_t r) {
    return ((at(f, q) + static_cast<double>(q * q)) - (at(f, r) + static_cast<double>(r * r))) / static_cast<double>(2 * (q - r));
  };
  int64_t k = 0;
  at(v, 0) = 0;
  at(z, 0) = -inf;
  at(z, 1) = inf;
  for (int64_t q = 1; q < n; ++q) {
    double s = intersection(q, at(v, k));
    while (s <= at(z, k)) {
      --k;
      s = intersection(q, at(v, k));
    }
    ++k;
    at(v, k) = q;
    at(z, k) = s;
    at(z, k + 1) = inf;
  }
  k = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (at(z, k + 1) < static_cast<double>(q)) ++k;
    const int64_t r = at(v, k);
    at(out, q) = static_cast<double>((q - r) * (q - r)) + at(f, r);
  }
}

// Euclidean distance in mm (1 mm voxels) from every voxel of a dims grid (k fastest) to the
// nearest seed voxel; 1000 when there is none.
std::vector<float> distance_to(const std::vector<char>& seed, const std::array<int64_t, 3>& dims) {
  std::vector<double> d(seed.size());
  for (size_t i = 0; i < seed.size(); ++i) d[i] = seed[i] ? 0.0 : kFar;
  const int64_t stride[3] = {dims[1] * dims[2], dims[2], 1};
  const int64_t longest = std::max({dims[0], dims[1], dims[2]});
  std::vector<double> f, out, z(static_cast<size_t>(longest) + 1);
  std::vector<int64_t> v(static_cast<size_t>(longest));
  for (int a = 0; a < 3; ++a) {
    const int b = (a + 1) % 3, c = (a + 2) % 3;
    f.resize(static_cast<size_t>(dims[a]));
    out.resize(f.size());
    for (int64_t x = 0; x < dims[b]; ++x)
      for (int64_t y = 0; y < dims[c]; ++y) {
        const int64_t base = x * stride[b] + y * stride[c];
        for (int64_t t = 0; t < dims[a]; ++t) f[static_cast<size_t>(t)] = d[static_cast<size_t>(base + t * stride[a])];
        squared_distance_1d(f, out, v, z);
        for (int64_t t = 0; t < dims[a]; ++t) d[static_cast<size_t>(base + t * stride[a])] = out[static_cast<size_t>(t)];
      }
  }
  std::vector<float> mm(d.size());
  for (size_t i = 0; i < d.size(); ++i) mm[i] = static_cast<float>(std::sqrt(std::min(d[i], 1e6)));
  return mm;
}

}  // namespace

double GridField::sample(const Vec3& p, double outside) const {
  if (values.empty() || dims[0] < 2 || dims[1] < 2 || dims[2] < 2) return outside;
  int64_t i, j, k;
  double fx, fy, fz;
  if (!cell((p[0] - origin[0]) / spacing, dims[0], i, fx) || !cell((p[1] - origin[1]) / spacing, dims[1], j, fy) ||
      !cell((p[2] - origin[2]) / spacing, dims[2], k, fz))
    return outside;
  const int64_t sj = dims[2], si = dims[1] * dims[2];
  const float* v = values.data() + index(i, j, k);
  const double c00 = v[0] + (v[si] - v[0]) * fx, c01 = v[1] + (v[si + 1] - v[1]) * fx;
  const double c10 = v[sj] + (v[si + sj] - v[sj]) * fx, c11 = v[sj + 1] + (v[si + sj + 1] - v[sj + 1]) * fx;
  const double c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy;
  return c0 + (c1 - c0) * fz;
}

double GridField::sample_clamped(const Vec3& p) const {
  Vec3 q{};
  for (int a = 0; a < 3; ++a)
    q[a] = std::clamp(p[a], origin[a], origin[a] + spacing * static_cast<double>(dims[a] - 1));
  return sample(q, 0.0);
}

GridField smooth_noise(SynthRng& rng, const Vec3& lo, const Vec3& hi, double spacing_mm) {
  std::array<int64_t, 3> dims{};
  for (int a = 0; a < 3; ++a) dims[a] = static_cast<int64_t>(std::ceil((hi[a] - lo[a]) / spacing_mm)) + 3;
  GridField f(dims, {lo[0] - spacing_mm, lo[1] - spacing_mm, lo[2] - spacing_mm}, spacing_mm);
  for (auto& v : f.values) v = static_cast<float>(rng.normal());
  const int64_t stride[3] = {dims[1] * dims[2], dims[2], 1};
  std::vector<float> tmp(f.values.size());
  for (int pass = 0; pass < 2; ++pass)
    for (int a = 0; a < 3; ++a) {
      for (int64_t i = 0; i < dims[0]; ++i)
        for (int64_t j = 0; j < dims[1]; ++j)
          for (int64_t k = 0; k < dims[2]; ++k) {
            const int64_t idx = f.index(i, j, k), pos = a == 0 ? i : a == 1 ? j : k;
            const float left = pos > 0 ? f.values[static_cast<size_t>(idx - stride[a])] : f.values[static_cast<size_t>(idx)];
            const float right = pos < dims[a] - 1 ? f.values[static_cast<size_t>(idx + stride[a])] : f.values[static_cast<size_t>(idx)];
            tmp[static_cast<size_t>(idx)] = 0.25f * left + 0.5f * f.values[static_cast<size_t>(idx)] + 0.25f * right;
          }
      f.values.swap(tmp);
    }
  double ss = 0;
  for (float v : f.values) ss += static_cast<double>(v) * v;
  const float norm = static_cast<float>(1.0 / std::sqrt(std::max(ss / static_cast<double>(f.values.size()), 1e-12)));
  for (auto& v : f.values) v *= norm;
  return f;
}

TissueAtlas TissueAtlas::load(const fs::path& dir) {
  static const char* const kNames[4] = {"csf.nii.gz", "gm.nii.gz", "wm.nii.gz", "mask.nii.gz"};
  TissueAtlas atlas;
  Volume vols[4];
  for (int c = 0; c < 4; ++c) {
    const fs::path path = dir / kNames[c];
    vols[c] = with_context("while loading the synthetic cohort's anatomy " + path.string(), [&] { return read_nifti(path); });
    const Volume& v = vols[c];
    if (c > 0 && (v.shape != vols[0].shape || v.affine != vols[0].affine))
      throw Error(path.string() + ": grid differs from " + (dir / kNames[0]).string() +
                  "; expected the four maps of scripts/make_anatomy.py on one grid");
    for (int r = 0; r < 3; ++r)
      for (int col = 0; col < 3; ++col) {
        const double a = v.affine[r][col];
        if ((r == col && std::fabs(std::fabs(a) - 1.0) > 1e-6) || (r != col && std::fabs(a) > 1e-6))
          throw Error(path.string() + ": affine is not an axis-aligned 1 mm grid; expected the output of scripts/make_anatomy.py");
      }
    for (float x : v.data)
      if (x < 0 || x > 255 || x != std::round(x))
        throw Error(path.string() + ": value " + std::to_string(x) + " is not a tissue fraction in 0..255");
  }
  const Volume& v0 = vols[0];
  atlas.dims_ = v0.shape;
  std::array<bool, 3> flip{};
  for (int a = 0; a < 3; ++a) {
    flip[a] = v0.affine[a][a] < 0;
    const double first = v0.affine[a][3], last = first + v0.affine[a][a] * static_cast<double>(v0.shape[a] - 1);
    atlas.lo_[a] = std::min(first, last);
    atlas.hi_[a] = std::max(first, last);
  }
  const int64_t n = v0.numel();
  atlas.frac_.assign(static_cast<size_t>(n), {0, 0, 0, 0});
  double sum = 0;
  Vec3 moment{0, 0, 0};
  for (int64_t i = 0; i < v0.shape[0]; ++i)
    for (int64_t j = 0; j < v0.shape[1]; ++j)
      for (int64_t k = 0; k < v0.shape[2]; ++k) {
        const int64_t src = v0.index(i, j, k);
        const int64_t ii = flip[0] ? v0.shape[0] - 1 - i : i, jj = flip[1] ? v0.shape[1] - 1 - j : j,
                      kk = flip[2] ? v0.shape[2] - 1 - k : k;
        auto& dst = atlas.frac_[static_cast<size_t>((ii * v0.shape[1] + jj) * v0.shape[2] + kk)];
        for (int c = 0; c < 4; ++c) dst[c] = static_cast<uint8_t>(vols[c].data[static_cast<size_t>(src)]);
        const double total = dst[3];
        sum += total;
        moment[0] += total * (atlas.lo_[0] + static_cast<double>(ii));
        moment[1] += total * (atlas.lo_[1] + static_cast<double>(jj));
        moment[2] += total * (atlas.lo_[2] + static_cast<double>(kk));
      }
  check(sum > 0, (dir / kNames[3]).string() + ": the brain mask is empty");
  for (int a = 0; a < 3; ++a) atlas.centre_[a] = moment[a] / sum;
  atlas.brain_ml_ = sum / 255.0 / 1000.0;
  return atlas;
}

const TissueAtlas& TissueAtlas::shared() {
  static std::once_flag once;
  static TissueAtlas atlas;
  std::call_once(once, [] { atlas = load(resource_path("anatomy/wm.nii.gz").parent_path()); });
  return atlas;
}

CsfDistances::CsfDistances(const TissueAtlas& atlas) {
  // Depth inside the mask splits the ventricles (and deep cisterns) from the sulci.
  const size_t count = atlas.frac_.size();
  std::vector<char> outside(count), deep(count), shallow(count);
  for (size_t i = 0; i < count; ++i) outside[i] = atlas.frac_[i][3] < 128;
  const std::vector<float> depth = distance_to(outside, atlas.dims_);
  for (size_t i = 0; i < count; ++i) {
    const bool csf = atlas.frac_[i][0] >= 128 && !outside[i];
    deep[i] = csf && depth[i] > kDeepCsfMm;
    shallow[i] = csf && depth[i] <= kDeepCsfMm;
  }
  ventricle_mm_ = GridField(atlas.dims_, atlas.lo_, 1.0);
  ventricle_mm_.values = distance_to(deep, atlas.dims_);
  sulcus_mm_ = GridField(atlas.dims_, atlas.lo_, 1.0);
  sulcus_mm_.values = distance_to(shallow, atlas.dims_);
}

const CsfDistances& CsfDistances::shared() {
  static const CsfDistances distances(TissueAtlas::shared());  // thread-safe initialisation
  return distances;
}

TissueFractions TissueAtlas::sample(const Vec3& p) const {
  int64_t i, j, k;
  double fx, fy, fz;
  if (!cell(p[0] - lo_[0], dims_[0], i, fx) || !cell(p[1] - lo_[1], dims_[1], j, fy) || !cell(p[2] - lo_[2], dims_[2], k, fz))
    return {};
  const int64_t sj = dims_[2], si = dims_[1] * dims_[2];
  const auto* v = frac_.data() + (i * dims_[1] + j) * dims_[2] + k;
  double out[4];
  for (int c = 0; c < 4; ++c) {
    const double c00 = v[0][c] + (v[si][c] - v[0][c]) * fx, c01 = v[1][c] + (v[si + 1][c] - v[1][c]) * fx;
    const double c10 = v[sj][c] + (v[si + sj][c] - v[sj][c]) * fx;
    const double c11 = v[sj + 1][c] + (v[si + sj + 1][c] - v[sj + 1][c]) * fx;
    const double c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy;
    out[c] = (c0 + (c1 - c0) * fz) * (1.0 / 255.0);
  }
  return {out[0], out[1], out[2], out[3]};
}

Deformation::Deformation(SynthRng& rng, const Vec3& lo, const Vec3& hi, double amplitude_mm, double grid_mm) {
  if (amplitude_mm <= 0) return;
  WaveField velocity[3];
  for (auto& f : velocity) f = WaveField(rng, 6, 40, 110);
  const double margin = 4 * amplitude_mm + grid_mm;
  std::array<int64_t, 3> dims{};
  Vec3 origin{};
  for (int a = 0; a < 3; ++a) {
    origin[a] = lo[a] - margin;
    dims[a] = static_cast<int64_t>(std::ceil((hi[a] - lo[a] + 2 * margin) / grid_mm)) + 1;
  }
  // Scaling and squaring: u = v / 2^N, then N times u(x) <- u(x) + u(x + u(x)).
  constexpr int kSquarings = 6;
  const double scale = amplitude_mm / static_cast<double>(1 << kSquarings);
  for (int c = 0; c < 3; ++c) u_[c] = GridField(dims, origin, grid_mm);
  for (int64_t i = 0; i < dims[0]; ++i)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t k = 0; k < dims[2]; ++k) {
        const Vec3 p = u_[0].position(i, j, k);
        for (int c = 0; c < 3; ++c) u_[c].values[static_cast<size_t>(u_[c].index(i, j, k))] = static_cast<float>(scale * velocity[c](p));
      }
  for (int step = 0; step < kSquarings; ++step) {
    std::array<GridField, 3> next = u_;
    for (int64_t i = 0; i < dims[0]; ++i)
      for (int64_t j = 0; j < dims[1]; ++j)
        for (int64_t k = 0; k < dims[2]; ++k) {
          const size_t idx = static_cast<size_t>(u_[0].index(i, j, k));
          const Vec3 p = u_[0].position(i, j, k);
          const Vec3 q{p[0] + u_[0].values[idx], p[1] + u_[1].values[idx], p[2] + u_[2].values[idx]};
          for (int c = 0; c < 3; ++c)
            next[c].values[idx] = static_cast<float>(u_[c].values[idx] + u_[c].sample_clamped(q));
        }
    u_ = std::move(next);
  }
}

Vec3 Deformation::operator()(const Vec3& p) const {
  if (u_[0].empty()) return p;
  return {p[0] + u_[0].sample(p), p[1] + u_[1].sample(p), p[2] + u_[2].sample(p)};
}

}  // namespace mprotonet::synth
