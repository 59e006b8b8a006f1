// SPDX-License-Identifier: MIT
// In-memory 3D volume shared by readers, writers, preprocessing and the synthetic generator.
//
// Voxel layout is numpy/nibabel order: for array indices (i, j, k) the linear index is
// (i * shape[1] + j) * shape[2] + k, i.e. k varies fastest. This is the order of
// `nibabel.load(f).get_fdata()` and of the reference's tensors [C, X, Y, Z], so a volume
// converts to a torch tensor without a transpose.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mprotonet {

/// 4x4 voxel-to-world matrix (world = RAS+ millimetres, as nibabel's `affine`), row-major.
using Affine = std::array<std::array<double, 4>, 4>;

Affine identity_affine();

/// Applies the affine to a voxel coordinate (continuous index) and returns world mm.
std::array<double, 3> apply_affine(const Affine& a, const std::array<double, 3>& ijk);

/// Inverse of an affine (general 4x4; throws Error when singular).
Affine invert_affine(const Affine& a);

/// Product a * b.
Affine multiply_affine(const Affine& a, const Affine& b);

/// Voxel size along each array axis: Euclidean norm of the affine's first three columns.
std::array<double, 3> voxel_sizes(const Affine& a);

/// Storage datatypes the NIfTI reader/writer know about.
enum class DataType { kUInt8, kInt8, kInt16, kUInt16, kInt32, kUInt32, kInt64, kUInt64, kFloat32, kFloat64 };

/// Lower-case numpy-style name ("uint8", "int16", "float32", ...).
std::string to_string(DataType t);

struct Volume {
  std::array<int64_t, 3> shape{0, 0, 0};  ///< voxels along array axes i, j, k
  Affine affine = identity_affine();      ///< voxel -> world (mm)
  std::vector<float> data;                ///< scaled values, numpy order (k fastest)
  DataType source_dtype = DataType::kFloat32;  ///< datatype it was stored as on disk
  bool rescaled = false;  ///< the file's scl_slope / scl_inter changed the stored values

  int64_t numel() const { return shape[0] * shape[1] * shape[2]; }
  int64_t index(int64_t i, int64_t j, int64_t k) const { return (i * shape[1] + j) * shape[2] + k; }
  float& at(int64_t i, int64_t j, int64_t k) { return data[static_cast<size_t>(index(i, j, k))]; }
  float at(int64_t i, int64_t j, int64_t k) const { return data[static_cast<size_t>(index(i, j, k))]; }
};

/// A zero-filled volume of the given shape and affine.
Volume make_volume(const std::array<int64_t, 3>& shape, const Affine& affine);

}  // namespace mprotonet
