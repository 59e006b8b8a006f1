// NIfTI-1/NIfTI-2 reading and writing (.nii, .nii.gz; also .hdr/.img pairs) on top of
// Debian's nifticlib. Values are returned scaled (scl_slope/scl_inter applied, slope 0 = none)
// as float32 in numpy order; the affine follows nibabel: sform when sform_code > 0, else qform
// when qform_code > 0, else a pixdim-only fallback.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include "mprotonet/io/volume.h"

namespace mprotonet {

/// Header facts as nibabel reports them (used by tests and by `mprotonet info`-style output).
struct NiftiHeader {
  int version = 1;                         ///< 1 or 2
  std::array<int64_t, 8> dim{};            ///< dim[0] = number of dimensions
  std::array<double, 8> pixdim{};          ///< pixdim[0] = qfac
  DataType datatype = DataType::kFloat32;  ///< on-disk datatype
  double scl_slope = 0.0;
  double scl_inter = 0.0;
  int qform_code = 0;
  int sform_code = 0;
  Affine affine = identity_affine();       ///< the affine nibabel's `img.affine` gives
};

/// Reads only the header (cheap; no voxel data). Throws Error naming the file and the problem.
NiftiHeader read_nifti_header(const std::filesystem::path& path);

/// Upper bound on voxels the reader will allocate for one volume (refused before allocation).
inline constexpr int64_t kMaxVoxels = int64_t{1} << 31;  // 2^31 voxels = 8 GiB as float32

/// Reads a 3D volume (a 4D file whose 4th..7th dims are 1 is accepted). NaN/Inf voxels are an
/// error naming the file. Throws Error naming the file for: missing file, not NIfTI,
/// truncated/corrupt gzip or data, impossible dims, unsupported datatype (complex, RGB, ...),
/// more than one volume.
Volume read_nifti(const std::filesystem::path& path);

/// Writes v with the given on-disk datatype (kFloat32, kInt16 or kUInt8). Values are rounded
/// and range-checked for integer types. qform and sform are both set from v.affine
/// (codes 1 = scanner anat), gzipped when the name ends in ".gz". Written to a temporary
/// sibling and renamed, so an existing file is replaced only by a complete one.
void write_nifti(const std::filesystem::path& path, const Volume& v, DataType dtype);

}  // namespace mprotonet
