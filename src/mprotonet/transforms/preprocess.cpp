// SPDX-License-Identifier: MIT
// Preprocessing: canonical reorientation, FOV + resampling on one physical grid, z-score.
#include "mprotonet/transforms/preprocess.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "mprotonet/core/error.h"
#include "mprotonet/io/nifti.h"

namespace mprotonet {

namespace {

using Mat3 = std::array<std::array<double, 3>, 3>;

Mat3 inverse3(const Mat3& m) {
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  if (std::fabs(det) < 1e-300) throw Error("affine direction matrix is singular");
  Mat3 inv;
  inv[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det;
  inv[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det;
  inv[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det;
  inv[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det;
  inv[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det;
  inv[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det;
  inv[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det;
  inv[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det;
  inv[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det;
  return inv;
}

/// Orthogonal polar factor of m (the closest rotation/reflection), by Newton iteration
/// R <- (R + R^-T) / 2; equals U V^T of the SVD that nibabel uses.
Mat3 polar_orthogonal(Mat3 r) {
  for (int iter = 0; iter < 100; ++iter) {
    const Mat3 inv = inverse3(r);
    Mat3 next;
    double change = 0;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        next[i][j] = 0.5 * (r[i][j] + inv[j][i]);
        change = std::max(change, std::fabs(next[i][j] - r[i][j]));
      }
    r = next;
    if (change < 1e-14) break;
  }
  return r;
}

}  // namespace

std::string to_string(PreprocessGrid grid) { return grid == PreprocessGrid::kReference ? "reference" : "mm"; }

PreprocessGrid parse_preprocess_grid(const std::string& text) {
  if (text == "mm") return PreprocessGrid::kMillimetre;
  if (text == "reference") return PreprocessGrid::kReference;
  throw Error("unknown preprocessing '" + text + "'; expected 'mm' (field of view in mm) or 'reference' (TorchIO's voxel crop)");
}

namespace {

/// The reference's Resample output size for n voxels of `zoom` mm: ceil(n * zoom / spacing), 1 stays 1.
double reference_size(int64_t n, double zoom, double spacing_mm) {
  return n == 1 ? 1.0 : std::ceil(static_cast<double>(n) * zoom / spacing_mm);
}

/// Voxels SimpleITK holds in an integer pixel type (the reference reads files with it): an
/// integer datatype on disk without scl_slope / scl_inter rescaling.
bool integer_pixels(const Volume& v) {
  return v.source_dtype != DataType::kFloat32 && v.source_dtype != DataType::kFloat64 && !v.rescaled;
}

}  // namespace

std::array<int64_t, 3> PreprocessOptions::output_shape() const {
  // %g-style numbers: std::to_string prints 1e-300 as "0.000000".
  auto mm = [](double v) {
    std::ostringstream o;
    o << v;
    return o.str();
  };
  check(spacing_mm > 0 && std::isfinite(spacing_mm), "spacing must be a positive number of mm, got " + mm(spacing_mm));
  std::array<int64_t, 3> s{};
  double voxels = 1;
  for (int a = 0; a < 3; ++a) {
    check(fov_mm[a] > 0 && std::isfinite(fov_mm[a]), "field of view must be positive, got " + mm(fov_mm[a]) + " mm");
    if (grid == PreprocessGrid::kReference)
      check(reference_crop[a] >= 1 && reference_crop[a] <= 4096,
            "the reference crop must be 1 to 4096 voxels per axis, got " + std::to_string(reference_crop[a]));
    const double n = grid == PreprocessGrid::kReference ? reference_size(reference_crop[a], 1.0, spacing_mm)
                                                         : std::round(fov_mm[a] / spacing_mm);
    check(n >= 1, "spacing " + mm(spacing_mm) + " mm is larger than the " + mm(fov_mm[a]) + " mm field of view");
    voxels *= n;
    // Bounded like a volume read from disk (io/nifti.h kMaxVoxels), before llround (which
    // overflows for 1e-300 mm) and before anything is allocated.
    check(n <= 4096 && voxels <= static_cast<double>(kMaxVoxels),
          "spacing " + mm(spacing_mm) + " mm is too fine: the " + mm(fov_mm[0]) + " x " + mm(fov_mm[1]) + " x " + mm(fov_mm[2]) +
              " mm field of view would need more than " + std::to_string(kMaxVoxels) + " voxels per volume");
    s[a] = static_cast<int64_t>(n);
  }
  return s;
}

std::string PreprocessOptions::key() const {
  std::ostringstream s;
  s.precision(17);
  s << "spacing=" << spacing_mm << ";fov=" << fov_mm[0] << "," << fov_mm[1] << "," << fov_mm[2] << ";zscore=" << zscore;
  // Only the non-default grid is named, so the caches and run records of mm runs keep their keys.
  if (grid == PreprocessGrid::kReference)
    s << ";grid=reference;crop=" << reference_crop[0] << "," << reference_crop[1] << "," << reference_crop[2];
  return s.str();
}

std::array<AxisOrientation, 3> io_orientation(const Affine& affine) {
  Mat3 rs;
  for (int c = 0; c < 3; ++c) {
    const double zoom = std::sqrt(affine[0][c] * affine[0][c] + affine[1][c] * affine[1][c] + affine[2][c] * affine[2][c]);
    if (zoom == 0) throw Error("affine column " + std::to_string(c) + " is zero: voxel size 0 along array axis " + std::to_string(c));
    for (int r = 0; r < 3; ++r) rs[r][c] = affine[r][c] / zoom;
  }
  Mat3 r = polar_orthogonal(rs);
  std::array<AxisOrientation, 3> out{};
  for (int in_ax = 0; in_ax < 3; ++in_ax) {
    int best = 0;
    for (int k = 1; k < 3; ++k)
      if (std::fabs(r[k][in_ax]) > std::fabs(r[best][in_ax])) best = k;
    out[in_ax] = {best, r[best][in_ax] < 0 ? -1 : 1};
    for (int c = 0; c < 3; ++c) r[best][c] = 0;  // this world axis is taken
  }
  return out;
}

std::string axis_codes(const Affine& affine) {
  static const char* kPos = "RAS";
  static const char* kNeg = "LPI";
  std::string codes;
  for (const auto& o : io_orientation(affine)) codes += o.sign > 0 ? kPos[o.axis] : kNeg[o.axis];
  return codes;
}

Volume reorient_to_ras(const Volume& in) {
  const auto ornt = io_orientation(in.affine);
  bool identity = true;
  for (int a = 0; a < 3; ++a) identity = identity && ornt[a].axis == a && ornt[a].sign == 1;
  if (identity) return in;

  Volume out;
  out.source_dtype = in.source_dtype;
  // T maps output index -> input index.
  Affine t{};
  t[3][3] = 1;
  for (int in_ax = 0; in_ax < 3; ++in_ax) {
    const int out_ax = ornt[in_ax].axis;
    out.shape[out_ax] = in.shape[in_ax];
    t[in_ax][out_ax] = ornt[in_ax].sign;
    t[in_ax][3] = ornt[in_ax].sign < 0 ? static_cast<double>(in.shape[in_ax] - 1) : 0.0;
  }
  out.affine = multiply_affine(in.affine, t);
  out.data.resize(in.data.size());
  // Strides of the input expressed per output axis.
  std::array<int64_t, 3> in_stride{in.shape[1] * in.shape[2], in.shape[2], 1};
  std::array<int64_t, 3> step{}, origin{};
  int64_t base = 0;
  for (int in_ax = 0; in_ax < 3; ++in_ax) {
    const int out_ax = ornt[in_ax].axis;
    step[out_ax] = ornt[in_ax].sign * in_stride[in_ax];
    if (ornt[in_ax].sign < 0) base += (in.shape[in_ax] - 1) * in_stride[in_ax];
  }
  (void)origin;
  size_t o = 0;
  for (int64_t i = 0; i < out.shape[0]; ++i)
    for (int64_t j = 0; j < out.shape[1]; ++j) {
      int64_t src = base + i * step[0] + j * step[1];
      for (int64_t k = 0; k < out.shape[2]; ++k, src += step[2]) out.data[o++] = in.data[static_cast<size_t>(src)];
    }
  return out;
}

Affine output_affine(const Volume& canonical, const PreprocessOptions& options) {
  const auto shape = options.output_shape();
  const auto zooms = voxel_sizes(canonical.affine);
  Affine a = identity_affine();
  for (int c = 0; c < 3; ++c)
    for (int r = 0; r < 3; ++r) a[r][c] = canonical.affine[r][c] / zooms[c] * options.spacing_mm;
  const auto centre = apply_affine(canonical.affine, {(canonical.shape[0] - 1) / 2.0, (canonical.shape[1] - 1) / 2.0,
                                                      (canonical.shape[2] - 1) / 2.0});
  for (int r = 0; r < 3; ++r) {
    double offset = 0;
    for (int c = 0; c < 3; ++c) offset += a[r][c] * (shape[c] - 1) / 2.0;
    a[r][3] = centre[r] - offset;
  }
  return a;
}

Volume resample(const Volume& in, const std::array<int64_t, 3>& shape, const Affine& affine, Interpolation interp) {
  Volume out = make_volume(shape, affine);
  out.source_dtype = in.source_dtype;
  // Output index -> input continuous index: inv(in.affine) * affine.
  const Affine m = multiply_affine(invert_affine(in.affine), affine);
  const int64_t nx = in.shape[0], ny = in.shape[1], nz = in.shape[2];
  const float* src = in.data.data();
  auto value = [&](int64_t x, int64_t y, int64_t z) -> float {
    if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) return 0.0f;
    return src[(x * ny + y) * nz + z];
  };
  size_t o = 0;
  for (int64_t i = 0; i < shape[0]; ++i)
    for (int64_t j = 0; j < shape[1]; ++j)
      for (int64_t k = 0; k < shape[2]; ++k, ++o) {
        const double px = m[0][0] * i + m[0][1] * j + m[0][2] * k + m[0][3];
        const double py = m[1][0] * i + m[1][1] * j + m[1][2] * k + m[1][3];
        const double pz = m[2][0] * i + m[2][1] * j + m[2][2] * k + m[2][3];
        if (interp == Interpolation::kNearest) {
          out.data[o] = value(static_cast<int64_t>(std::floor(px + 0.5)), static_cast<int64_t>(std::floor(py + 0.5)),
                              static_cast<int64_t>(std::floor(pz + 0.5)));
          continue;
        }
        const double fx = std::floor(px), fy = std::floor(py), fz = std::floor(pz);
        if (fx < -1 || fy < -1 || fz < -1 || fx > nx || fy > ny || fz > nz) {
          out.data[o] = 0.0f;
          continue;
        }
        const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy), z0 = static_cast<int64_t>(fz);
        const double wx = px - fx, wy = py - fy, wz = pz - fz;
        double acc = 0;
        acc += (1 - wx) * (1 - wy) * (1 - wz) * value(x0, y0, z0);
        acc += (1 - wx) * (1 - wy) * wz * value(x0, y0, z0 + 1);
        acc += (1 - wx) * wy * (1 - wz) * value(x0, y0 + 1, z0);
        acc += (1 - wx) * wy * wz * value(x0, y0 + 1, z0 + 1);
        acc += wx * (1 - wy) * (1 - wz) * value(x0 + 1, y0, z0);
        acc += wx * (1 - wy) * wz * value(x0 + 1, y0, z0 + 1);
        acc += wx * wy * (1 - wz) * value(x0 + 1, y0 + 1, z0);
        acc += wx * wy * wz * value(x0 + 1, y0 + 1, z0 + 1);
        out.data[o] = static_cast<float>(acc);
      }
  return out;
}

Volume crop_or_pad(const Volume& in, const std::array<int64_t, 3>& target) {
  // Output index i takes input index i + offset; offset = ceil(d / 2) for a crop of d voxels and
  // -ceil(d / 2) for a pad of d voxels.
  std::array<int64_t, 3> offset{};
  for (int a = 0; a < 3; ++a) {
    check(target[a] >= 1, "crop or pad target must be at least 1 voxel, got " + std::to_string(target[a]));
    const int64_t d = in.shape[a] - target[a];
    offset[a] = d >= 0 ? (d + 1) / 2 : -((-d + 1) / 2);
  }
  Affine shift = identity_affine();
  for (int a = 0; a < 3; ++a) shift[a][3] = static_cast<double>(offset[a]);
  Volume out = make_volume(target, multiply_affine(in.affine, shift));
  out.source_dtype = in.source_dtype;
  size_t o = 0;
  for (int64_t i = 0; i < target[0]; ++i)
    for (int64_t j = 0; j < target[1]; ++j)
      for (int64_t k = 0; k < target[2]; ++k, ++o) {
        const int64_t x = i + offset[0], y = j + offset[1], z = k + offset[2];
        if (x >= 0 && y >= 0 && z >= 0 && x < in.shape[0] && y < in.shape[1] && z < in.shape[2])
          out.data[o] = in.data[static_cast<size_t>((x * in.shape[1] + y) * in.shape[2] + z)];
      }
  return out;
}

std::pair<std::array<int64_t, 3>, Affine> reference_resample_grid(const Volume& in, double spacing_mm) {
  check(spacing_mm > 0 && std::isfinite(spacing_mm), "spacing must be a positive number of mm");
  const auto zooms = voxel_sizes(in.affine);
  std::array<int64_t, 3> shape{};
  for (int a = 0; a < 3; ++a) {
    const double n = reference_size(in.shape[a], zooms[a], spacing_mm);
    check(n >= 1 && n <= 4096, "resampling " + std::to_string(in.shape[a]) + " voxels of " + std::to_string(zooms[a]) +
                                   " mm at " + std::to_string(spacing_mm) + " mm gives " + std::to_string(n) + " voxels");
    shape[a] = static_cast<int64_t>(n);
  }
  // Output voxel i sits at input continuous index 0.5 * (r - 1) + i * r, r = spacing / zoom.
  Affine step = identity_affine();
  for (int c = 0; c < 3; ++c) {
    const double r = spacing_mm / zooms[c];
    step[c][c] = r;
    step[c][3] = 0.5 * (r - 1.0);
  }
  return {shape, multiply_affine(in.affine, step)};
}

Volume resample_itk(const Volume& in, const std::array<int64_t, 3>& shape, const Affine& affine, Interpolation interp) {
  Volume out = make_volume(shape, affine);
  out.source_dtype = in.source_dtype;
  // As ITK computes it: the output voxel's physical point, then the input's continuous index
  // through the inverse of the input's direction x spacing matrix.
  Mat3 in_m;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) in_m[r][c] = in.affine[r][c];
  const Mat3 to_index = inverse3(in_m);
  const std::array<int64_t, 3> n{in.shape[0], in.shape[1], in.shape[2]};
  const float* src = in.data.data();
  auto at = [&](int64_t x, int64_t y, int64_t z) { return static_cast<double>(src[(x * n[1] + y) * n[2] + z]); };
  size_t o = 0;
  for (int64_t i = 0; i < shape[0]; ++i)
    for (int64_t j = 0; j < shape[1]; ++j)
      for (int64_t k = 0; k < shape[2]; ++k, ++o) {
        std::array<double, 3> q{};
        for (int r = 0; r < 3; ++r)
          q[r] = affine[r][3] + affine[r][0] * static_cast<double>(i) + affine[r][1] * static_cast<double>(j) +
                 affine[r][2] * static_cast<double>(k) - in.affine[r][3];
        std::array<double, 3> p{};
        bool inside = true;
        for (int r = 0; r < 3; ++r) {
          p[r] = to_index[r][0] * q[0] + to_index[r][1] * q[1] + to_index[r][2] * q[2];
          inside = inside && p[r] >= -0.5 && p[r] < static_cast<double>(n[r]) - 0.5;
        }
        if (!inside) continue;  // make_volume zero-fills: ITK's default pixel value
        if (interp == Interpolation::kNearest) {
          std::array<int64_t, 3> nearest{};
          for (int r = 0; r < 3; ++r) nearest[r] = std::min(n[r] - 1, static_cast<int64_t>(std::floor(p[r] + 0.5)));
          out.data[o] = static_cast<float>(at(nearest[0], nearest[1], nearest[2]));
          continue;
        }
        // ITK's LinearInterpolateImageFunction: base index floor(p) (not below 0), an axis whose
        // distance is <= 0 or whose next index is past the end is not interpolated, and the
        // interpolation is a chain of lerps along x, then y, then z (so equal neighbours give
        // their value exactly, which matters where an integer image truncates the result).
        std::array<int64_t, 3> lo{}, hi{};
        std::array<double, 3> d{};
        for (int r = 0; r < 3; ++r) {
          lo[r] = std::max<int64_t>(0, static_cast<int64_t>(std::floor(p[r])));
          d[r] = p[r] - static_cast<double>(lo[r]);
          hi[r] = lo[r] + 1 < n[r] ? lo[r] + 1 : lo[r];
          if (d[r] <= 0 || hi[r] == lo[r]) d[r] = 0, hi[r] = lo[r];
        }
        auto lerp = [](double a, double b, double t) { return t == 0 ? a : a + (b - a) * t; };
        auto along_x = [&](int64_t y, int64_t z) { return lerp(at(lo[0], y, z), at(hi[0], y, z), d[0]); };
        const double v0 = lerp(along_x(lo[1], lo[2]), along_x(hi[1], lo[2]), d[1]);
        const double v1 = d[2] == 0 ? v0 : lerp(along_x(lo[1], hi[2]), along_x(hi[1], hi[2]), d[1]);
        out.data[o] = static_cast<float>(lerp(v0, v1, d[2]));
      }
  return out;
}

void zscore(Volume& v) {
  const size_t n = v.data.size();
  check(n >= 2, "cannot z-score a volume with fewer than 2 voxels");
  double sum = 0;
  for (float x : v.data) sum += x;
  const double mean = sum / static_cast<double>(n);
  double ss = 0;
  for (float x : v.data) ss += (x - mean) * (x - mean);
  const double std = std::sqrt(ss / static_cast<double>(n - 1));
  check(std > 0 && std::isfinite(std), "the volume is constant (every voxel = " + std::to_string(mean) +
                                           " inside the field of view), so it cannot be z-score normalised");
  const double inv = 1.0 / std;
  for (float& x : v.data) x = static_cast<float>((x - mean) * inv);
}

Volume preprocess_volume(const Volume& in, const PreprocessOptions& options, Interpolation interp) {
  const Volume canonical = reorient_to_ras(in);
  Volume out;
  if (options.grid == PreprocessGrid::kReference) {
    options.output_shape();  // validates the options
    const Volume cropped = crop_or_pad(canonical, options.reference_crop);
    const auto [shape, affine] = reference_resample_grid(cropped, options.spacing_mm);
    out = resample_itk(cropped, shape, affine, interp);
    // SimpleITK resamples into the input's pixel type: interpolated values of an integer image
    // are truncated toward zero, as the reference's TorchIO (0.19) leaves them.
    if (integer_pixels(in))
      for (float& x : out.data) x = std::trunc(x);
  } else {
    out = resample(canonical, options.output_shape(), output_affine(canonical, options), interp);
  }
  if (interp == Interpolation::kLinear && options.zscore) zscore(out);
  return out;
}

}  // namespace mprotonet
