// SPDX-License-Identifier: MIT
// Affine arithmetic for Volume.
#include "mprotonet/io/volume.h"

#include <cmath>

#include "mprotonet/core/error.h"

namespace mprotonet {

Affine identity_affine() {
  Affine a{};
  for (int r = 0; r < 4; ++r) a[r][r] = 1.0;
  return a;
}

std::array<double, 3> apply_affine(const Affine& a, const std::array<double, 3>& ijk) {
  std::array<double, 3> out{};
  for (int r = 0; r < 3; ++r) out[r] = a[r][0] * ijk[0] + a[r][1] * ijk[1] + a[r][2] * ijk[2] + a[r][3];
  return out;
}

Affine multiply_affine(const Affine& a, const Affine& b) {
  Affine c{};
  for (int r = 0; r < 4; ++r)
    for (int col = 0; col < 4; ++col) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += a[r][k] * b[k][col];
      c[r][col] = s;
    }
  return c;
}

Affine invert_affine(const Affine& a) {
  // Gauss-Jordan with partial pivoting on the full 4x4.
  double m[4][8];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      m[r][c] = a[r][c];
      m[r][c + 4] = (r == c) ? 1.0 : 0.0;
    }
  for (int c = 0; c < 4; ++c) {
    int piv = c;
    for (int r = c + 1; r < 4; ++r)
      if (std::fabs(m[r][c]) > std::fabs(m[piv][c])) piv = r;
    if (std::fabs(m[piv][c]) < 1e-12) throw Error("affine is singular (a voxel axis has zero length)");
    if (piv != c)
      for (int k = 0; k < 8; ++k) std::swap(m[c][k], m[piv][k]);
    const double d = m[c][c];
    for (int k = 0; k < 8; ++k) m[c][k] /= d;
    for (int r = 0; r < 4; ++r) {
      if (r == c) continue;
      const double f = m[r][c];
      if (f == 0.0) continue;
      for (int k = 0; k < 8; ++k) m[r][k] -= f * m[c][k];
    }
  }
  Affine inv{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) inv[r][c] = m[r][c + 4];
  return inv;
}

std::array<double, 3> voxel_sizes(const Affine& a) {
  std::array<double, 3> s{};
  for (int c = 0; c < 3; ++c) s[c] = std::sqrt(a[0][c] * a[0][c] + a[1][c] * a[1][c] + a[2][c] * a[2][c]);
  return s;
}

std::string to_string(DataType t) {
  switch (t) {
    case DataType::kUInt8: return "uint8";
    case DataType::kInt8: return "int8";
    case DataType::kInt16: return "int16";
    case DataType::kUInt16: return "uint16";
    case DataType::kInt32: return "int32";
    case DataType::kUInt32: return "uint32";
    case DataType::kInt64: return "int64";
    case DataType::kUInt64: return "uint64";
    case DataType::kFloat32: return "float32";
    case DataType::kFloat64: return "float64";
  }
  return "unknown";
}

Volume make_volume(const std::array<int64_t, 3>& shape, const Affine& affine) {
  Volume v;
  v.shape = shape;
  v.affine = affine;
  v.data.assign(static_cast<size_t>(v.numel()), 0.0f);
  return v;
}

}  // namespace mprotonet
