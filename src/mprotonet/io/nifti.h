// SPDX-License-Identifier: MIT
// NIfTI-1/NIfTI-2 reading and writing (.nii, .nii.gz; also .hdr/.img pairs) on top of
// Debian's nifticlib. Values are returned scaled (scl_slope/scl_inter applied, slope 0 = none)
// as float32 in numpy order; the affine follows nibabel: sform when sform_code > 0, else qform
// when qform_code > 0, else a pixdim-only fallback.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mprotonet/io/volume.h"

namespace mprotonet {

/// Header facts as nibabel reports them (used by tests and by `mprotonet info`-style output).
struct NiftiHeader {
  int version = 1;                         ///< 1 or 2
  std::array<int64_t, 8> dim{};            ///< dim[0] = number of dimensions
  std::array<double, 8> pixdim{};          ///< pixdim[0] = qfac (-1, or 1 for any other value)
  DataType datatype = DataType::kFloat32;  ///< on-disk datatype
  double scl_slope = 0.0;                  ///< as stored; 0 or NaN = no scaling
  double scl_inter = 0.0;                  ///< as stored
  int qform_code = 0;
  int sform_code = 0;
  Affine affine = identity_affine();       ///< the affine nibabel's `img.affine` gives
};

/// Reads only the header (cheap; no voxel data). Applies the same validation as read_nifti
/// (except the volume count, kMaxVoxels and the voxel values). Throws Error naming the file
/// and the problem.
NiftiHeader read_nifti_header(const std::filesystem::path& path);

/// Upper bound on voxels the reader will allocate for one volume, checked from the header
/// before anything is read or inflated: 2^28 voxels (1 GiB as float32, e.g. 640 x 640 x 655),
/// 30 times a BraTS volume (240 x 240 x 155) and above any clinical MRI; a 2 MB .nii.gz of
/// zeros can claim 1000^3 voxels (6 GB to read and convert) and is refused at once.
inline constexpr int64_t kMaxVoxels = int64_t{1} << 28;

/// Reads a 3D volume (a 4D file whose 4th..7th dims are 1 is accepted; a 1D/2D image gets
/// trailing dims of 1). NaN/Inf voxels are an error naming the file. Throws Error naming the
/// file for: missing file, not NIfTI, truncated/corrupt gzip or data, impossible dims, more
/// than kMaxVoxels voxels, unsupported datatype (complex, RGB, ...), more than one volume.
/// The header is validated, and the file checked to be large enough for the data it claims,
/// before anything is allocated. `path` may be a .nii, .nii.gz, .hdr or .img file.
Volume read_nifti(const std::filesystem::path& path);

/// Writes v with the given on-disk datatype (kFloat32, kInt16 or kUInt8) as a single-file
/// NIfTI-1 (`path` must end in .nii or .nii.gz; gzipped, level 1, when it ends in ".gz").
/// Integer types are rounded half to even (numpy's rint) and range-checked; non-finite values
/// are an Error for every type. qform and sform are both set from v.affine (codes 1 = scanner
/// anat): sform exactly, qform via nifticlib's quaternion conversion (the closest rotation +
/// zooms when the affine has shear); pixdim = voxel sizes; scl_slope 1, scl_inter 0. Written
/// to a temporary sibling and renamed, so an existing file is replaced only by a complete one.
void write_nifti(const std::filesystem::path& path, const Volume& v, DataType dtype);

/// The gzipped bytes of the .nii.gz file write_nifti would write, kept in memory (volumes
/// embedded in a web page), with scl_slope / scl_inter set as given (stored values `q` mean
/// scl_inter + scl_slope * q: a uint8 image can carry a float range). The volume's values are the
/// stored ones (integer types: already in range). Same checks and Errors as write_nifti; the slope
/// must be finite and non-zero.
std::vector<uint8_t> encode_nifti_gz(const Volume& v, DataType dtype, double scl_slope = 1.0, double scl_inter = 0.0);

}  // namespace mprotonet
