// SPDX-License-Identifier: MIT
// NIfTI writing (io/nifti.h write_nifti, encode_nifti_gz): single-file NIfTI-1, the header made by
// nifticlib from the affine (qform by its quaternion, sform exactly), values checked against the
// datatype's range, written to a temporary name and renamed.
#include "mprotonet/io/nifti.h"

#include <nifti2_io.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/nifti_detail.h"

namespace mprotonet {

namespace fs = std::filesystem;

namespace {

using namespace nifti_detail;  // compiled on its own (CMakeLists.txt), so this stays in this file

class GzWriter {
 public:
  GzWriter(const fs::path& path, bool compress) : path_(path) {
    // "T" = transparent (plain) writing, so one code path serves .nii and .nii.gz. Level 1 as
    // nibabel: fast, and the gain of higher levels on image data is small.
    file_ = gzopen(path.c_str(), compress ? "wb1" : "wbT");
    if (!file_) fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  }
  ~GzWriter() {
    if (file_) gzclose_w(file_);
  }
  GzWriter(const GzWriter&) = delete;
  GzWriter& operator=(const GzWriter&) = delete;

  void write(const void* src, int64_t n) {
    const auto* p = static_cast<const unsigned char*>(src);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n, int64_t{1} << 30));
      if (gzwrite(file_, p, chunk) != static_cast<int>(chunk)) throw_error("write failed");
      p += chunk;
      n -= chunk;
    }
  }

  void close() {
    const int rc = gzclose_w(file_);
    file_ = nullptr;
    if (rc != Z_OK)
      fail(path_, rc == Z_ERRNO ? std::string("write failed when closing: ") + std::strerror(errno)
                                : "write failed when closing (zlib error " + std::to_string(rc) + ")");
  }

 private:
  [[noreturn]] void throw_error(const std::string& what) {
    const int saved_errno = errno;
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    // zlib keeps "<path>: <strerror of the failed write>" (e.g. "No space left on device").
    std::string detail = msg ? msg : (errnum == Z_ERRNO ? std::strerror(saved_errno) : "zlib error");
    const std::string prefix = path_.string() + ": ";
    if (detail.compare(0, prefix.size(), prefix) == 0) detail = detail.substr(prefix.size());
    fail(path_, what + ": " + detail);
  }

  fs::path path_;
  gzFile file_ = nullptr;
};

// Volume values (numpy order) -> stored values (NIfTI order, host byte order). Integer types are
// rounded half to even (as numpy's rint); out-of-range and non-finite values are an Error.
template <typename T>
std::vector<unsigned char> encode_voxels(const fs::path& path, const Volume& v, DataType dtype) {
  const bool integer = std::numeric_limits<T>::is_integer;
  std::vector<unsigned char> out(static_cast<size_t>(v.numel()) * sizeof(T));
  T* dst = reinterpret_cast<T*>(out.data());
  const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
  const double hi = static_cast<double>(std::numeric_limits<T>::max());
  int64_t bad = 0;
  std::string first_bad;
  for_each_voxel_tiled(v.shape, [&](int64_t i, int64_t j, int64_t k, int64_t from, int64_t to) {
    const float f = v.data[static_cast<size_t>(from)];
    double value = f;
    if (integer) value = std::nearbyint(value);
    if (!std::isfinite(f) || value < lo || value > hi) {
      if (bad++ == 0)
        first_bad = fmt(f) + " at voxel (" + std::to_string(i) + ", " + std::to_string(j) + ", " +
                    std::to_string(k) + ")";
      return;
    }
    dst[to] = static_cast<T>(value);
  });
  if (bad > 0)
    fail(path, std::to_string(bad) + " voxel value(s) cannot be stored as " + to_string(dtype) +
                   (integer ? " (range " + fmt(lo) + ".." + fmt(hi) + ", NaN/Inf not allowed)" : " (NaN or Inf)") +
                   "; first: " + first_bad);
  return out;
}

// The qform stores only (b, c, d) as float32 and readers recompute a = sqrt(1 - b² - c² - d²).
// Near a half turn (a ~ 0, e.g. every LPS or LIA image) float32 rounding of b, c, d leaves
// 1 - |bcd|² at ~±1e-7, so a reader would get a ~ 3e-4 and a rotation off by ~6e-4. When the
// true a is that small anyway (below 2.2e-4, where dropping it costs no more than the rounding
// does), store a unit (b, c, d) rounded so that |bcd|² is just above 1: nibabel (tolerance
// 3 float32 eps) and nifticlib then both take a = 0 exactly.
void snap_half_turn_quaternion(double& b, double& c, double& d) {
  const double a2 = 1.0 - (b * b + c * c + d * d);
  if (a2 > 5e-8) return;
  const double norm = std::sqrt(b * b + c * c + d * d);
  float q[3] = {static_cast<float>(b / norm), static_cast<float>(c / norm), static_cast<float>(d / norm)};
  int largest = 0;
  for (int i = 1; i < 3; ++i)
    if (std::fabs(q[i]) > std::fabs(q[largest])) largest = i;
  auto sum_sq = [&] { return double(q[0]) * q[0] + double(q[1]) * q[1] + double(q[2]) * q[2]; };
  // Margin above 1 covers float32 rounding in a reader's own sum; stays below 1 + 3 eps.
  for (int step = 0; step < 8 && sum_sq() < 1.0 + 1.5e-7; ++step)
    q[largest] = std::nextafter(q[largest], q[largest] < 0 ? -2.0f : 2.0f);
  for (int step = 0; step < 8 && sum_sq() > 1.0 + 3.3e-7; ++step)
    q[largest] = std::nextafter(q[largest], 0.0f);
  b = q[0];
  c = q[1];
  d = q[2];
}

// The single-file NIfTI-1 image (header, empty extension, voxels) of write_nifti, in memory.
// `path` only names the output in messages.
std::vector<unsigned char> nifti1_image_bytes(const fs::path& path, const Volume& v, DataType dtype,
                                              double scl_slope, double scl_inter) {
  quiet_nifticlib();
  if (!std::isfinite(scl_slope) || scl_slope == 0 || !std::isfinite(scl_inter))
    fail(path, "scaling must be finite with a non-zero slope");
  if (dtype != DataType::kFloat32 && dtype != DataType::kInt16 && dtype != DataType::kUInt8)
    fail(path, "cannot write datatype " + to_string(dtype) + "; supported: float32, int16, uint8");
  for (int i = 0; i < 3; ++i)
    if (v.shape[static_cast<size_t>(i)] < 1 || v.shape[static_cast<size_t>(i)] > 32767)
      fail(path, "cannot write shape " + std::to_string(v.shape[0]) + " x " + std::to_string(v.shape[1]) + " x " +
                     std::to_string(v.shape[2]) + ": each dimension must be 1..32767 in NIfTI-1");
  if (static_cast<int64_t>(v.data.size()) != v.numel())
    fail(path, "volume has " + std::to_string(v.data.size()) + " values for shape of " + std::to_string(v.numel()) +
                   " voxels");
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      if (!std::isfinite(v.affine[r][c])) fail(path, "affine has a non-finite entry");
  if (v.affine[3][0] != 0 || v.affine[3][1] != 0 || v.affine[3][2] != 0 || v.affine[3][3] != 1)
    fail(path, "affine's last row must be 0 0 0 1");
  const auto sizes = voxel_sizes(v.affine);
  for (double s : sizes)
    if (!(s > 0)) fail(path, "affine has a zero-length voxel axis");
  try {
    (void)invert_affine(v.affine);
  } catch (const Error&) {
    fail(path, "affine is singular (voxel axes are not independent)");
  }

  // Voxel bytes first (may throw for out-of-range values, before any file is created).
  std::vector<unsigned char> bytes;
  switch (dtype) {
    case DataType::kFloat32: bytes = encode_voxels<float>(path, v, dtype); break;
    case DataType::kInt16: bytes = encode_voxels<int16_t>(path, v, dtype); break;
    default: bytes = encode_voxels<uint8_t>(path, v, dtype); break;
  }

  // Header through nifticlib: qform from the affine by its quaternion conversion (which takes
  // the closest orthogonal matrix when the affine has shear), sform = the affine exactly.
  const int64_t dims[8] = {3, v.shape[0], v.shape[1], v.shape[2], 1, 1, 1, 1};
  std::unique_ptr<nifti_image, void (*)(nifti_image*)> nim(
      nifti_make_new_nim(dims, datatype_info(dtype).code, 0), nifti_image_free);
  if (!nim) fail(path, "nifticlib could not create a header");
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = v.affine[r][c];
  double dx, dy, dz, qfac;
  nifti_dmat44_to_quatern(m, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                          &nim->qoffset_y, &nim->qoffset_z, &dx, &dy, &dz, &qfac);
  snap_half_turn_quaternion(nim->quatern_b, nim->quatern_c, nim->quatern_d);
  nim->qfac = qfac;
  nim->dx = nim->pixdim[1] = sizes[0];
  nim->dy = nim->pixdim[2] = sizes[1];
  nim->dz = nim->pixdim[3] = sizes[2];
  nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sto_xyz = m;
  nim->scl_slope = static_cast<float>(scl_slope);
  nim->scl_inter = static_cast<float>(scl_inter);
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nim->iname_offset = 352;
  nifti_1_header hdr;
  if (nifti_convert_nim2n1hdr(nim.get(), &hdr) != 0) fail(path, "nifticlib could not build a NIfTI-1 header");
  hdr.vox_offset = 352;

  std::vector<unsigned char> file(352 + bytes.size(), 0);  // header, 4 zero extension bytes, voxels
  static_assert(sizeof(hdr) == 348, "NIfTI-1 header is 348 bytes");
  std::memcpy(file.data(), &hdr, sizeof(hdr));
  std::copy(bytes.begin(), bytes.end(), file.begin() + 352);
  return file;
}

}  // namespace

void write_nifti(const fs::path& path, const Volume& v, DataType dtype) {
  const std::string name = path.filename().string();
  const bool gz = ends_with(name, ".nii.gz");
  if (!gz && !ends_with(name, ".nii")) fail(path, "NIfTI output name must end in .nii or .nii.gz");
  const std::vector<unsigned char> file = nifti1_image_bytes(path, v, dtype, 1.0, 0.0);
  write_atomically(path, [&](const fs::path& tmp) {
    GzWriter out(tmp, gz);
    out.write(file.data(), static_cast<int64_t>(file.size()));
    out.close();
  });
}

std::vector<uint8_t> encode_nifti_gz(const Volume& v, DataType dtype, double scl_slope, double scl_inter) {
  const fs::path shown = "<in-memory NIfTI>";
  const std::vector<unsigned char> file = nifti1_image_bytes(shown, v, dtype, scl_slope, scl_inter);
  // gzip (RFC 1952: windowBits 15 + 16), level 1 as write_nifti.
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail(shown, "zlib could not start");
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(file.size())) + 32);
  zs.next_in = const_cast<unsigned char*>(file.data());
  zs.avail_in = static_cast<uInt>(file.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) fail(shown, "zlib could not compress the image (error " + std::to_string(rc) + ")");
  out.resize(n);
  return out;
}

}  // namespace mprotonet
