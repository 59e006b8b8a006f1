// SPDX-License-Identifier: MIT
// NIfTI reading on top of Debian's nifticlib (libnifti2: NIfTI-1 and NIfTI-2); writing is in
// nifti_write.cpp.
//
// Reading is done in three steps so that a bad file is refused with a precise reason before any
// large allocation:
//   1. the raw header block is read (through zlib, which also reads uncompressed files) and
//      checked field by field: size/magic, dims, datatype, voxel sizes, offset, and whether the
//      file can hold the data the header claims;
//   2. nifticlib parses the header (nifti_image_read with read_data = 0), which resolves the
//      .hdr/.img pair, the data offset and the byte order;
//   3. the voxel bytes are read here in chunks with zlib. nifticlib's own loader is not used for
//      the data because it allocates the full size before noticing a short file and silently
//      replaces NaN/Inf floats by 0, which would hide broken inputs.
// The affine and the scaling follow nibabel (the reference implementation's loader) exactly.
#include "mprotonet/io/nifti.h"

#include "mprotonet/io/nifti_detail.h"

#include <nifti2_io.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"

namespace mprotonet {

namespace fs = std::filesystem;

namespace {

using namespace nifti_detail;  // compiled on its own (CMakeLists.txt), so this stays in this file

// Largest expansion of a deflate stream (RFC 1951: a 258-byte match costs at least 2 bits, so
// at most ~1032:1), with margin. Bounds the data a .gz file can possibly hold without inflating it.
constexpr int64_t kMaxDeflateRatio = 1040;

// Header facts that do not fit in NiftiHeader, or are needed before nifticlib sees the file.
struct RawHeader {
  int version = 1;
  bool pair = false;     // "ni1"/"ni2": data in a separate .img file
  std::array<int64_t, 8> dim{};
  std::array<double, 8> pixdim{};
  int datatype = 0;
  double vox_offset = 0;
  double scl_slope = 0, scl_inter = 0;
  int qform_code = 0, sform_code = 0;
  double quatern[3] = {0, 0, 0};
  double qoffset[3] = {0, 0, 0};
  double srow[3][4] = {};
};

// The header file for a path: x.img -> x.hdr (the pair is read through its header).
fs::path header_file_for(const fs::path& path) {
  const std::string s = path.string();
  if (ends_with(s, ".img")) return fs::path(s.substr(0, s.size() - 4) + ".hdr");
  if (ends_with(s, ".img.gz")) return fs::path(s.substr(0, s.size() - 7) + ".hdr.gz");
  return path;
}

int64_t checked_file_size(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot get the file size: " + ec.message());
  return static_cast<int64_t>(size);
}

bool is_gzip_file(const fs::path& path) {
  unsigned char magic[2] = {0, 0};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  const size_t n = std::fread(magic, 1, 2, f);
  std::fclose(f);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

void check_readable_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail(path, "cannot read " + what + ": no such file");
  if (fs::is_directory(st)) fail(path, "cannot read " + what + ": it is a directory");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(path, "cannot open " + what + ": " + std::strerror(errno));
  std::fclose(f);
}

// RAII wrapper for a zlib gzFile (used for reading .nii, .nii.gz, .hdr, .img alike).
class GzReader {
 public:
  explicit GzReader(const fs::path& path) : path_(path) {
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) fail(path, std::string("cannot open file: ") + std::strerror(errno));
    gzbuffer(file_, 1 << 17);
  }
  ~GzReader() {
    if (file_) gzclose_r(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; returns how many were read (fewer only at the end of the data).
  // Corrupt compressed data is an Error.
  int64_t read(void* dst, int64_t n) {
    int64_t total = 0;
    auto* out = static_cast<unsigned char*>(dst);
    while (total < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n - total, int64_t{1} << 30));
      const int got = gzread(file_, out + total, chunk);
      if (got < 0) throw_zlib_error();
      if (got == 0) break;
      total += got;
    }
    // A truncated stream ends with a "buffer error"; report it as what it is.
    int errnum = Z_OK;
    gzerror(file_, &errnum);
    if (total < n && errnum != Z_OK) throw_zlib_error();
    return total;
  }

  void skip(int64_t n) {
    std::vector<unsigned char> buf(static_cast<size_t>(std::min<int64_t>(n, 1 << 16)));
    while (n > 0) {
      const int64_t got = read(buf.data(), std::min<int64_t>(n, static_cast<int64_t>(buf.size())));
      if (got == 0) return;
      n -= got;
    }
  }

  // Reads one more byte so zlib reaches the gzip trailer and verifies the CRC of what was read.
  void check_trailer() {
    unsigned char b;
    read(&b, 1);
  }

 private:
  [[noreturn]] void throw_zlib_error() {
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    if (errnum == Z_BUF_ERROR)
      fail(path_, "truncated gzip data (the compressed stream ends early)");
    if (errnum == Z_ERRNO) fail(path_, std::string("read error: ") + std::strerror(errno));
    // gzerror prefixes the file name; the path is already in our message.
    std::string detail = msg ? msg : "unknown error";
    const std::string prefix = path_.string() + ": ";
    if (detail.compare(0, prefix.size(), prefix) == 0) detail = detail.substr(prefix.size());
    fail(path_, "corrupt gzip data (zlib: " + detail + ")");
  }

  fs::path path_;
  gzFile file_ = nullptr;
};

// Reads the header block and converts it to host byte order.
RawHeader read_raw_header(const fs::path& hdr_path) {
  unsigned char buf[sizeof(nifti_2_header)] = {};
  int64_t got = 0;
  {
    GzReader in(hdr_path);
    got = in.read(buf, sizeof(buf));
  }
  if (got < 4) fail(hdr_path, "not a NIfTI file (only " + std::to_string(got) + " bytes)");
  int32_t sizeof_hdr;
  std::memcpy(&sizeof_hdr, buf, 4);
  int32_t swapped_size = sizeof_hdr;
  nifti_swap_4bytes(1, &swapped_size);

  RawHeader h;
  bool swap = false;
  if (sizeof_hdr == 348 || swapped_size == 348) {
    h.version = 1;
    swap = sizeof_hdr != 348;
  } else if (sizeof_hdr == 540 || swapped_size == 540) {
    h.version = 2;
    swap = sizeof_hdr != 540;
  } else {
    fail(hdr_path, "not a NIfTI file (first 4 bytes give header size " + std::to_string(sizeof_hdr) +
                       ", expected 348 for NIfTI-1 or 540 for NIfTI-2)");
  }
  const int64_t need = h.version == 1 ? 348 : 540;
  if (got < need)
    fail(hdr_path, "truncated NIfTI-" + std::to_string(h.version) + " header (" + std::to_string(got) +
                       " of " + std::to_string(need) + " bytes)");

  if (h.version == 1) {
    nifti_1_header n1;
    std::memcpy(&n1, buf, sizeof(n1));
    if (swap) nifti_swap_as_nifti1(&n1);
    if (std::memcmp(n1.magic, "n+1", 4) != 0 && std::memcmp(n1.magic, "ni1", 4) != 0)
      fail(hdr_path, "not a NIfTI-1 file: magic is not \"n+1\" or \"ni1\" (an Analyze 7.5 header? "
                     "only NIfTI is supported)");
    h.pair = n1.magic[1] == 'i';
    for (int i = 0; i < 8; ++i) {
      h.dim[i] = n1.dim[i];
      h.pixdim[i] = n1.pixdim[i];
    }
    h.datatype = n1.datatype;
    h.vox_offset = n1.vox_offset;
    h.scl_slope = n1.scl_slope;
    h.scl_inter = n1.scl_inter;
    h.qform_code = n1.qform_code;
    h.sform_code = n1.sform_code;
    const float q[6] = {n1.quatern_b, n1.quatern_c, n1.quatern_d, n1.qoffset_x, n1.qoffset_y, n1.qoffset_z};
    for (int i = 0; i < 3; ++i) {
      h.quatern[i] = q[i];
      h.qoffset[i] = q[i + 3];
    }
    for (int c = 0; c < 4; ++c) {
      h.srow[0][c] = n1.srow_x[c];
      h.srow[1][c] = n1.srow_y[c];
      h.srow[2][c] = n1.srow_z[c];
    }
  } else {
    nifti_2_header n2;
    std::memcpy(&n2, buf, sizeof(n2));
    if (swap) nifti_swap_as_nifti2(&n2);
    if (std::memcmp(n2.magic, "n+2", 4) != 0 && std::memcmp(n2.magic, "ni2", 4) != 0)
      fail(hdr_path, "not a NIfTI-2 file: magic is not \"n+2\" or \"ni2\"");
    h.pair = n2.magic[1] == 'i';
    for (int i = 0; i < 8; ++i) {
      h.dim[i] = n2.dim[i];
      h.pixdim[i] = n2.pixdim[i];
    }
    h.datatype = n2.datatype;
    h.vox_offset = static_cast<double>(n2.vox_offset);
    h.scl_slope = n2.scl_slope;
    h.scl_inter = n2.scl_inter;
    h.qform_code = n2.qform_code;
    h.sform_code = n2.sform_code;
    const double q[6] = {n2.quatern_b, n2.quatern_c, n2.quatern_d, n2.qoffset_x, n2.qoffset_y, n2.qoffset_z};
    for (int i = 0; i < 3; ++i) {
      h.quatern[i] = q[i];
      h.qoffset[i] = q[i + 3];
    }
    for (int c = 0; c < 4; ++c) {
      h.srow[0][c] = n2.srow_x[c];
      h.srow[1][c] = n2.srow_y[c];
      h.srow[2][c] = n2.srow_z[c];
    }
  }
  return h;
}

// Total voxel count over dim[1..dim[0]]; Error when a dim is not positive or the count is absurd.
int64_t checked_voxel_count(const fs::path& path, const RawHeader& h) {
  const int64_t ndim = h.dim[0];
  if (ndim < 1 || ndim > 7)
    fail(path, "invalid header: dim[0] (number of dimensions) is " + std::to_string(ndim) + ", expected 1..7");
  // Beyond ~2^48 voxels no real image exists and the byte count could overflow.
  constexpr int64_t kAbsurd = int64_t{1} << 48;
  int64_t n = 1;
  for (int64_t i = 1; i <= ndim; ++i) {
    const int64_t d = h.dim[static_cast<size_t>(i)];
    if (d <= 0)
      fail(path, "invalid header: dim[" + std::to_string(i) + "] is " + std::to_string(d) +
                     ", every dimension must be at least 1");
    if (d > kAbsurd / n)
      fail(path, "invalid header: absurd dimensions (dim[" + std::to_string(i) + "] = " + std::to_string(d) +
                     " makes more than 2^48 voxels)");
    n *= d;
  }
  return n;
}

struct ValidatedFile {
  fs::path header_path;
  RawHeader raw;
  const DatatypeInfo* dtype = nullptr;
  int64_t total_voxels = 0;  // over all dimensions
  fs::path image_path;       // where the voxel bytes are
  int64_t data_offset = 0;
  bool swap = false;  // stored byte order differs from the host's
};

// nibabel's img.affine for this header (nibabel Nifti1Header.get_best_affine).
Affine best_affine(const fs::path& path, const RawHeader& h) {
  Affine a = identity_affine();
  if (h.sform_code != 0) {
    // A NaN or infinite entry would reach the resampling as a NaN coordinate (cast to an integer
    // index: undefined behaviour) and end as a misleading "volume is constant".
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) {
        if (!std::isfinite(h.srow[r][c]))
          fail(path, std::string("invalid header: the sform (voxel-to-world affine) entry srow_") + "xyz"[r] + "[" +
                         std::to_string(c) + "] is " + fmt(h.srow[r][c]) + "; every entry must be a finite number");
        a[r][c] = h.srow[r][c];
      }
    return a;
  }
  if (h.qform_code != 0) {
    const char* names[6] = {"quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z"};
    const double values[6] = {h.quatern[0], h.quatern[1], h.quatern[2], h.qoffset[0], h.qoffset[1], h.qoffset[2]};
    for (int i = 0; i < 6; ++i)
      if (!std::isfinite(values[i]))
        fail(path, std::string("invalid header: the qform (voxel-to-world transform) field ") + names[i] + " is " +
                       fmt(values[i]) + "; it must be a finite number");
    // nibabel get_qform: quaternion with w >= 0 (fillpositive), rotation scaled by the
    // (fixed-up) pixdims, last one multiplied by qfac.
    const double b = h.quatern[0], c = h.quatern[1], d = h.quatern[2];
    double w2 = 1.0 - (b * b + c * c + d * d);
    const double eps = h.version == 1 ? std::numeric_limits<float>::epsilon()
                                      : std::numeric_limits<double>::epsilon();
    if (w2 < 0) {
      if (w2 < -3 * eps)
        fail(path, "invalid qform quaternion (b, c, d) = (" + fmt(b) + ", " + fmt(c) + ", " + fmt(d) +
                       "): its norm exceeds 1");
      w2 = 0;
    }
    const double w = std::sqrt(w2);
    const double nq = w * w + b * b + c * c + d * d;
    double R[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    if (nq >= std::numeric_limits<double>::epsilon()) {
      const double s = 2.0 / nq;
      const double X = b * s, Y = c * s, Z = d * s;
      const double wX = w * X, wY = w * Y, wZ = w * Z;
      const double xX = b * X, xY = b * Y, xZ = b * Z;
      const double yY = c * Y, yZ = c * Z, zZ = d * Z;
      const double m[3][3] = {{1.0 - (yY + zZ), xY - wZ, xZ + wY},
                              {xY + wZ, 1.0 - (xX + zZ), yZ - wX},
                              {xZ - wY, yZ + wX, 1.0 - (xX + yY)}};
      std::memcpy(R, m, sizeof(R));
    }
    double vox[3] = {std::fabs(h.pixdim[1]), std::fabs(h.pixdim[2]), std::fabs(h.pixdim[3])};
    for (double& v : vox)
      if (v == 0) v = 1;  // nibabel's header fix; zero sizes are refused earlier anyway
    if (h.pixdim[0] == -1.0) vox[2] = -vox[2];  // qfac; any value other than -1 counts as 1
    for (int r = 0; r < 3; ++r) {
      for (int col = 0; col < 3; ++col) a[r][col] = R[r][col] * vox[col];
      a[r][3] = h.qoffset[r];
    }
    return a;
  }
  // Neither transform: nibabel's shape_zoom_affine (Analyze convention, x flipped, origin at
  // the volume centre).
  const int64_t ndim = h.dim[0];
  for (int i = 0; i < 3; ++i) {
    const double n = i < ndim ? static_cast<double>(h.dim[static_cast<size_t>(i + 1)]) : 1.0;
    double z = i < ndim ? std::fabs(h.pixdim[static_cast<size_t>(i + 1)]) : 1.0;
    if (z == 0) z = 1;
    if (i == 0) z = -z;
    a[i][i] = z;
    a[i][3] = -(n - 1) / 2.0 * z;
  }
  return a;
}

// Steps 1 and 2 of reading: everything that can be checked without reading the voxel data.
ValidatedFile open_and_validate(const fs::path& path, bool enforce_voxel_limit) {
  quiet_nifticlib();
  ValidatedFile v;
  check_readable_file(path, "NIfTI file");
  v.header_path = header_file_for(path);
  if (v.header_path != path) check_readable_file(v.header_path, "NIfTI header of the .img file");
  v.raw = read_raw_header(v.header_path);
  const RawHeader& h = v.raw;

  v.total_voxels = checked_voxel_count(path, h);
  v.dtype = find_datatype(h.datatype);
  if (!v.dtype)
    fail(path, "unsupported datatype " + datatype_code_name(h.datatype) + " (NIfTI code " +
                   std::to_string(h.datatype) + "); supported: " + supported_datatypes());
  const int64_t spatial = std::min<int64_t>(h.dim[0], 3);
  for (int64_t i = 1; i <= spatial; ++i) {
    const double p = h.pixdim[static_cast<size_t>(i)];
    if (!std::isfinite(p) || p <= 0)
      fail(path, "invalid header: voxel size pixdim[" + std::to_string(i) + "] is " + fmt(p) +
                     ", expected a positive number of mm");
  }
  // Single-file data must start after the header (nibabel refuses such files too; with 0 it
  // would read the header bytes as voxels).
  const int64_t min_offset = h.pair ? 0 : (h.version == 1 ? 352 : 544);
  if (!std::isfinite(h.vox_offset) || h.vox_offset < static_cast<double>(min_offset) || h.vox_offset > 0x1p52)
    fail(path, "invalid header: vox_offset is " + fmt(h.vox_offset) + ", expected at least " +
                   std::to_string(min_offset) + " (the voxel data must start after the header)");
  const bool scaled = h.scl_slope != 0 && std::isfinite(h.scl_slope);
  if (scaled && !std::isfinite(h.scl_inter))
    fail(path, "invalid header: scl_slope is " + fmt(h.scl_slope) + " but scl_inter is " + fmt(h.scl_inter));

  // Can the file hold what the header claims? Checked before nifticlib reads extensions and
  // before any allocation.
  const int64_t data_bytes = v.total_voxels * v.dtype->bytes;
  // A volume to be loaded must fit the resource bound; say so (rather than "file too short")
  // when a header asks for more, e.g. 100 GB.
  if (enforce_voxel_limit) {
    int64_t spatial_voxels = 1;
    for (int64_t i = 1; i <= std::min<int64_t>(h.dim[0], 3); ++i) spatial_voxels *= h.dim[static_cast<size_t>(i)];
    if (spatial_voxels > kMaxVoxels)
      fail(path, "the header asks for " + std::to_string(spatial_voxels) + " voxels (" + std::to_string(data_bytes) +
                     " bytes on disk, " + fmt(static_cast<double>(spatial_voxels) * 4 / 1e9) +
                     " GB as float32), more than the limit of " + std::to_string(kMaxVoxels) +
                     " voxels per volume; refused before reading or allocating anything");
  }
  if (!h.pair) {
    const int64_t size = checked_file_size(v.header_path);
    const auto offset = static_cast<int64_t>(h.vox_offset);
    if (!is_gzip_file(v.header_path)) {
      if (offset + data_bytes > size)
        fail(path, "file too short: the header claims " + std::to_string(data_bytes) + " bytes of voxel data at offset " +
                       std::to_string(offset) + " but the file holds " + std::to_string(size) +
                       " bytes (truncated file or wrong dims)");
    } else if (static_cast<double>(offset + data_bytes) > static_cast<double>(size) * kMaxDeflateRatio) {
      fail(path, "file too short: the header claims " + std::to_string(data_bytes) +
                     " bytes of voxel data but a gzip file of " + std::to_string(size) +
                     " bytes cannot hold that much (truncated file or wrong dims)");
    }
  }

  if (h.pair) {
    // nifticlib looks for x.img or x.img.gz next to x.hdr; say which file is missing.
    std::string stem = v.header_path.string();
    if (!ends_with(stem, ".hdr") && !ends_with(stem, ".hdr.gz"))
      fail(path, "header has the magic of a two-file NIfTI pair (data in a separate .img) but the file "
                 "name does not end in .hdr");
    stem = stem.substr(0, stem.size() - (ends_with(stem, ".gz") ? 7 : 4));
    const fs::path img = stem + ".img", img_gz = stem + ".img.gz";
    if (!fs::exists(img) && !fs::exists(img_gz))
      fail(img, "cannot read the image data of NIfTI pair header " + v.header_path.filename().string() +
                    ": no such file");
  }

  std::unique_ptr<nifti_image, void (*)(nifti_image*)> nim(nifti_image_read(v.header_path.c_str(), 0),
                                                           nifti_image_free);
  if (!nim) fail(path, "nifticlib could not parse the NIfTI header");
  v.image_path = nim->iname ? fs::path(nim->iname) : v.header_path;
  v.data_offset = nim->iname_offset;
  if (v.data_offset != static_cast<int64_t>(h.vox_offset))
    fail(path, "nifticlib places the voxel data at offset " + std::to_string(v.data_offset) +
                   " but vox_offset is " + fmt(h.vox_offset));
  v.swap = nim->byteorder != nifti_short_order() && v.dtype->bytes > 1;
  if (nim->nvox != v.total_voxels)
    fail(path, "nifticlib reads " + std::to_string(nim->nvox) + " voxels from the header, expected " +
                   std::to_string(v.total_voxels));
  if (h.pair) {
    check_readable_file(v.image_path, "NIfTI image data (.img) of the header");
    const int64_t size = checked_file_size(v.image_path);
    if (!is_gzip_file(v.image_path) && v.data_offset + data_bytes > size)
      fail(v.image_path, "file too short: the header claims " + std::to_string(data_bytes) +
                             " bytes of voxel data at offset " + std::to_string(v.data_offset) +
                             " but the file holds " + std::to_string(size) + " bytes");
  }
  return v;
}

NiftiHeader to_header(const fs::path& path, const ValidatedFile& v) {
  NiftiHeader out;
  const RawHeader& h = v.raw;
  out.version = h.version;
  out.dim = h.dim;
  out.pixdim = h.pixdim;
  out.pixdim[0] = h.pixdim[0] == -1.0 ? -1.0 : 1.0;  // nibabel: qfac other than +-1 -> 1
  out.datatype = v.dtype->type;
  out.scl_slope = h.scl_slope;
  out.scl_inter = h.scl_inter;
  out.qform_code = h.qform_code;
  out.sform_code = h.sform_code;
  out.affine = best_affine(path, h);
  return out;
}

// The one place that turns stored values into floats: NIfTI order (i fastest) in, numpy order
// (k fastest) out, nibabel's scaling applied (value * slope + inter, in double).
template <typename T>
void convert_to_float(const unsigned char* raw, const std::array<int64_t, 3>& shape, bool scaled, double slope,
                      double inter, float* out) {
  const T* src = reinterpret_cast<const T*>(raw);
  if (scaled)
    for_each_voxel_tiled(shape, [&](int64_t, int64_t, int64_t, int64_t to, int64_t from) {
      out[to] = static_cast<float>(static_cast<double>(src[from]) * slope + inter);
    });
  else
    for_each_voxel_tiled(shape, [&](int64_t, int64_t, int64_t, int64_t to, int64_t from) {
      out[to] = static_cast<float>(src[from]);
    });
}

void convert_voxels(DataType t, const unsigned char* raw, const std::array<int64_t, 3>& shape, bool scaled,
                    double slope, double inter, float* out) {
  switch (t) {
    case DataType::kUInt8: return convert_to_float<uint8_t>(raw, shape, scaled, slope, inter, out);
    case DataType::kInt8: return convert_to_float<int8_t>(raw, shape, scaled, slope, inter, out);
    case DataType::kInt16: return convert_to_float<int16_t>(raw, shape, scaled, slope, inter, out);
    case DataType::kUInt16: return convert_to_float<uint16_t>(raw, shape, scaled, slope, inter, out);
    case DataType::kInt32: return convert_to_float<int32_t>(raw, shape, scaled, slope, inter, out);
    case DataType::kUInt32: return convert_to_float<uint32_t>(raw, shape, scaled, slope, inter, out);
    case DataType::kInt64: return convert_to_float<int64_t>(raw, shape, scaled, slope, inter, out);
    case DataType::kUInt64: return convert_to_float<uint64_t>(raw, shape, scaled, slope, inter, out);
    case DataType::kFloat32: return convert_to_float<float>(raw, shape, scaled, slope, inter, out);
    case DataType::kFloat64: return convert_to_float<double>(raw, shape, scaled, slope, inter, out);
  }
}

// Step 3: the voxel bytes of the first volume, in host byte order. Never allocates more than the
// file can hold (for .gz files the buffer grows as data actually arrives).
std::vector<unsigned char> read_voxel_bytes(const fs::path& path, const ValidatedFile& v, int64_t nbytes) {
  GzReader in(v.image_path);
  in.skip(v.data_offset);
  std::vector<unsigned char> bytes;
  // Typical volumes are reserved at once; beyond this, a gzip header could lie, so the buffer
  // grows (geometrically) only as data arrives.
  constexpr int64_t kReserveAtOnce = int64_t{256} << 20;
  if (nbytes <= kReserveAtOnce || !is_gzip_file(v.image_path)) bytes.reserve(static_cast<size_t>(nbytes));
  constexpr int64_t kChunk = int64_t{64} << 20;
  int64_t have = 0;
  while (have < nbytes) {
    const int64_t want = std::min(kChunk, nbytes - have);
    // Grow geometrically but never past the size the header declares (a vector's own growth
    // could double it); inflation stops there too.
    if (static_cast<int64_t>(bytes.capacity()) < have + want)
      bytes.reserve(static_cast<size_t>(std::min(nbytes, std::max(have + want, 2 * static_cast<int64_t>(bytes.capacity())))));
    bytes.resize(static_cast<size_t>(have + want));
    const int64_t got = in.read(bytes.data() + have, want);
    have += got;
    if (got < want) break;
  }
  if (have < nbytes)
    fail(path, "file too short: it holds " + std::to_string(have) + " of the " + std::to_string(nbytes) +
                   " bytes of voxel data the header claims (truncated file?)");
  in.check_trailer();
  if (v.swap) nifti_swap_Nbytes(nbytes / v.dtype->bytes, v.dtype->bytes, bytes.data());
  return bytes;
}

}  // namespace

// ---- public API ------------------------------------------------------------------------------

NiftiHeader read_nifti_header(const fs::path& path) {
  const ValidatedFile v = open_and_validate(path, false);
  return to_header(path, v);
}

Volume read_nifti(const fs::path& path) {
  const ValidatedFile v = open_and_validate(path, true);
  const NiftiHeader header = to_header(path, v);
  const RawHeader& h = v.raw;

  int64_t volumes = 1;
  for (int64_t i = 4; i <= h.dim[0]; ++i) volumes *= h.dim[static_cast<size_t>(i)];
  if (volumes != 1) {
    std::string dims;
    for (int64_t i = 1; i <= h.dim[0]; ++i) dims += (i > 1 ? " x " : "") + std::to_string(h.dim[static_cast<size_t>(i)]);
    fail(path, "the file holds " + std::to_string(volumes) + " volumes (dims " + dims +
                   "); one 3D volume is expected");
  }
  Volume out;
  for (int i = 0; i < 3; ++i) out.shape[static_cast<size_t>(i)] = i < h.dim[0] ? h.dim[static_cast<size_t>(i + 1)] : 1;
  if (out.numel() > kMaxVoxels)
    fail(path, "refusing to load " + std::to_string(out.numel()) + " voxels (limit " + std::to_string(kMaxVoxels) +
                   "); the dims in the header are implausible");
  out.affine = header.affine;
  out.source_dtype = v.dtype->type;

  const std::vector<unsigned char> bytes = read_voxel_bytes(path, v, out.numel() * v.dtype->bytes);
  const bool scaled = h.scl_slope != 0 && std::isfinite(h.scl_slope);
  out.rescaled = scaled && (h.scl_slope != 1 || h.scl_inter != 0);
  out.data.resize(static_cast<size_t>(out.numel()));
  convert_voxels(v.dtype->type, bytes.data(), out.shape, scaled, h.scl_slope, h.scl_inter, out.data.data());

  int64_t nonfinite = 0;
  for (float f : out.data) nonfinite += std::isfinite(f) ? 0 : 1;
  if (nonfinite > 0)
    fail(path, std::to_string(nonfinite) + " of " + std::to_string(out.numel()) +
                   " voxels are NaN or infinite (as float32); refusing a volume with non-finite values");
  return out;
}

}  // namespace mprotonet
