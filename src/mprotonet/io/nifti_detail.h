// SPDX-License-Identifier: MIT
// Internal to io/nifti.cpp (reading) and io/nifti_write.cpp (writing): the datatype table and the
// helpers both sides use. Not part of the library's interface.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include "mprotonet/io/volume.h"

namespace mprotonet::nifti_detail {

struct DatatypeInfo {
  int code;        // NIFTI_TYPE_* code
  DataType type;   // our enum
  int bytes;       // bytes per voxel
};

/// The accepted datatype with this NIfTI code, or nullptr.
const DatatypeInfo* find_datatype(int code);
/// The NIfTI code and size of one of our datatypes.
const DatatypeInfo& datatype_info(DataType t);
/// Name of any NIfTI datatype code, for messages ("complex64", "rgb24", ...).
std::string datatype_code_name(int code);
/// "uint8, int8, ..." (the accepted datatypes).
std::string supported_datatypes();

/// Throws Error("<path>: <reason>").
[[noreturn]] void fail(const std::filesystem::path& path, const std::string& reason);
/// A number with 9 significant digits, for messages.
std::string fmt(double v);
/// Silences nifticlib's own messages to stderr (once per process).
void quiet_nifticlib();
bool ends_with(const std::string& s, const std::string& suffix);

/// Visits every voxel (i, j, k) in 32 x 32 tiles of (i, k), calling fn(i, j, k, numpy index,
/// NIfTI index): numpy order is contiguous in k, NIfTI order in i, so a plain loop would stride
/// through memory on one side of every copy.
template <typename Fn>
void for_each_voxel_tiled(const std::array<int64_t, 3>& shape, Fn&& fn) {
  constexpr int64_t kTile = 32;
  const int64_t nx = shape[0], ny = shape[1], nz = shape[2];
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i0 = 0; i0 < nx; i0 += kTile)
      for (int64_t k0 = 0; k0 < nz; k0 += kTile) {
        const int64_t i1 = std::min(i0 + kTile, nx), k1 = std::min(k0 + kTile, nz);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t k = k0; k < k1; ++k) fn(i, j, k, (i * ny + j) * nz + k, (k * ny + j) * nx + i);
      }
}

}  // namespace mprotonet::nifti_detail
