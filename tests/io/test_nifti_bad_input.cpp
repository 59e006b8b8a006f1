// SPDX-License-Identifier: MIT
// Bad NIfTI input: every case must end in mprotonet::Error naming the file and the reason — never
// a crash, an exit from inside nifticlib, or a huge allocation. Malformed files are made by
// patching the bytes of a small valid file (NIfTI-1 header offsets from nifti1.h).
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "common/resource_probe.h"
#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;
using mprotonet::DataType;
using mprotonet::Volume;
namespace t = mprotonet::test;

namespace {

// NIfTI-1 header field offsets.
constexpr std::streamoff kDim = 40, kDatatype = 70, kBitpix = 72, kPixdim = 76, kVoxOffset = 108, kSclSlope = 112,
                          kSclInter = 116, kMagic = 344, kData = 352;

template <typename T>
void patch(const fs::path& p, std::streamoff offset, T value) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << p;
  f.seekp(offset);
  f.write(reinterpret_cast<const char*>(&value), sizeof(value));
  ASSERT_TRUE(f) << p;
}

void patch_bytes(const fs::path& p, std::streamoff offset, const std::string& bytes) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f) << p;
}

void gzip_file(const fs::path& src, const fs::path& dst) {
  std::ifstream in(src, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gzFile out = gzopen(dst.c_str(), "wb6");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(out), Z_OK);
}

// A valid 7 x 5 x 4 float32 .nii written by our writer (vox_offset 352, little-endian).
fs::path valid_nii(const t::TempDir& dir, const std::string& name, DataType dtype = DataType::kFloat32) {
  Volume v = mprotonet::make_volume({7, 5, 4}, mprotonet::identity_affine());
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = static_cast<float>(i % 200);
  const fs::path p = dir / name;
  mprotonet::write_nifti(p, v, dtype);
  return p;
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const mprotonet::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// Both the header reader and the volume reader refuse the file with a message naming it and
// containing every part.
void expect_refused(const fs::path& p, const std::vector<std::string>& parts, bool header_too = true) {
  std::vector<std::string> messages = {error_of([&] { mprotonet::read_nifti(p); })};
  if (header_too) messages.push_back(error_of([&] { mprotonet::read_nifti_header(p); }));
  for (const auto& msg : messages) {
    if (std::getenv("MPROTONET_TEST_VERBOSE")) std::cerr << "  message: " << msg << "\n";
    EXPECT_NE(msg.find(p.filename().string()), std::string::npos) << "message does not name the file: " << msg;
    for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << "lacks '" << part << "': " << msg;
  }
}

TEST(NiftiBadInput, MissingFileAndDirectory) {
  t::TempDir dir;
  expect_refused(dir / "nothere.nii.gz", {"no such file"});
  fs::create_directory(dir / "d.nii");
  expect_refused(dir / "d.nii", {"directory"});
}

TEST(NiftiBadInput, NotNifti) {
  t::TempDir dir;
  {
    std::ofstream(dir / "x.nii.gz") << "this is a text file, not an image\n";
    std::ofstream(dir / "empty.nii");
    std::ofstream out(dir / "long.nii");
    for (int i = 0; i < 100; ++i) out << "some more text that is long enough to fill a header block\n";
  }
  expect_refused(dir / "x.nii.gz", {"not a NIfTI file"});
  expect_refused(dir / "empty.nii", {"not a NIfTI file"});
  expect_refused(dir / "long.nii", {"not a NIfTI file"});
  // sizeof_hdr right but no NIfTI magic: an Analyze 7.5 header.
  const fs::path p = valid_nii(dir, "analyze.nii");
  patch_bytes(p, kMagic, std::string(4, '\0'));
  expect_refused(p, {"magic"});
}

TEST(NiftiBadInput, TruncatedGzip) {
  t::TempDir dir;
  const fs::path src = t::data_path("nifti/niivue/UINT8.nii.gz");
  // Cut in the voxel data, and cut inside the header block.
  for (const uintmax_t keep : {fs::file_size(src) / 2, uintmax_t{40}}) {
    const fs::path p = dir / ("cut" + std::to_string(keep) + ".nii.gz");
    fs::copy_file(src, p);
    fs::resize_file(p, keep);
    expect_refused(p, {"truncated gzip"}, /*header_too=*/keep == 40);
  }
  // Gzip trailer (CRC + size) missing: all data decompresses, the stream just does not end.
  const fs::path p = dir / "notrailer.nii.gz";
  fs::copy_file(src, p);
  fs::resize_file(p, fs::file_size(p) - 8);
  expect_refused(p, {"truncated gzip"}, false);
}

TEST(NiftiBadInput, CorruptGzip) {
  t::TempDir dir;
  const fs::path src = t::data_path("nifti/niivue/UINT8.nii.gz");
  const auto size = static_cast<std::streamoff>(fs::file_size(src));
  for (const std::streamoff at : {size / 2, size - 6}) {  // deflate data; CRC in the trailer
    const fs::path p = dir / ("bad" + std::to_string(at) + ".nii.gz");
    fs::copy_file(src, p);
    patch_bytes(p, at, std::string(4, '\x55'));
    expect_refused(p, {"corrupt gzip"}, false);
  }
}

TEST(NiftiBadInput, ImpossibleDims) {
  t::TempDir dir;
  const fs::path p0 = valid_nii(dir, "dim1zero.nii");
  patch<int16_t>(p0, kDim + 2 * 1, 0);
  expect_refused(p0, {"dim[1] is 0"});
  const fs::path p1 = valid_nii(dir, "dim2neg.nii");
  patch<int16_t>(p1, kDim + 2 * 2, -5);
  expect_refused(p1, {"dim[2] is -5"});
  const fs::path p2 = valid_nii(dir, "ndim.nii");
  patch<int16_t>(p2, kDim, 9);
  expect_refused(p2, {"dim[0]", "9"});
}

TEST(NiftiBadInput, HugeHeaderIsRefusedBeforeAllocation) {
  t::TempDir dir;
  // int16, 32767 x 32767 x 50 voxels = 107 GB claimed by a ~1.5 kB file.
  const fs::path p = valid_nii(dir, "huge.nii", DataType::kInt16);
  patch<int16_t>(p, kDim + 2 * 1, 32767);
  patch<int16_t>(p, kDim + 2 * 2, 32767);
  patch<int16_t>(p, kDim + 2 * 3, 50);
  const fs::path pgz = dir / "huge.nii.gz";
  gzip_file(p, pgz);
  const t::ResourceProbe probe;
  // read_nifti names the resource bound; the header reader (which also serves 4D files and
  // applies no voxel limit) says the file cannot hold that much.
  expect_refused(p, {"the header asks for 53683814450 voxels (107367628900 bytes", "refused before"}, false);
  expect_refused(pgz, {"the header asks for 53683814450 voxels (107367628900 bytes", "refused before"}, false);
  const std::string h1 = error_of([&] { mprotonet::read_nifti_header(p); });
  EXPECT_NE(h1.find("file too short"), std::string::npos) << h1;
  EXPECT_NE(h1.find("107367628900 bytes"), std::string::npos) << h1;
  const std::string h2 = error_of([&] { mprotonet::read_nifti_header(pgz); });
  EXPECT_NE(h2.find("cannot hold"), std::string::npos) << h2;
  // Refused from the header: nothing allocated, nothing read beyond the header.
  EXPECT_LT(probe.peak_rss_growth(), int64_t{64} << 20);
  EXPECT_LT(probe.bytes_read(), int64_t{1} << 20);
}

TEST(NiftiBadInput, MoreVoxelsThanTheLimitAreRefusedEvenWhenTheFileIsLargeEnough) {
  // A sparse file that really is big enough: read_nifti must still refuse to allocate.
  t::TempDir dir;
  const fs::path p = valid_nii(dir, "big.nii", DataType::kUInt8);
  patch<int16_t>(p, kDim + 2 * 1, 2048);
  patch<int16_t>(p, kDim + 2 * 2, 1024);
  patch<int16_t>(p, kDim + 2 * 3, 1025);  // 2,149,580,800 voxels > kMaxVoxels
  std::error_code ec;
  fs::resize_file(p, 352 + uintmax_t{2048} * 1024 * 1025, ec);
  if (ec) GTEST_SKIP() << "cannot make a sparse file here: " << ec.message();
  const auto h = mprotonet::read_nifti_header(p);  // the header itself is valid
  EXPECT_EQ(h.dim[3], 1025);
  const std::string msg = error_of([&] { mprotonet::read_nifti(p); });
  EXPECT_NE(msg.find("big.nii"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2149580800 voxels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("limit"), std::string::npos) << msg;
}

TEST(NiftiBadInput, UnsupportedDatatypes) {
  t::TempDir dir;
  expect_refused(t::data_path("nifti/niivue/complex.nii.gz"), {"unsupported datatype complex64"});
  const fs::path rgb = valid_nii(dir, "rgb.nii", DataType::kUInt8);
  patch<int16_t>(rgb, kDatatype, 128);
  patch<int16_t>(rgb, kBitpix, 24);
  expect_refused(rgb, {"rgb24"});
  const fs::path odd = valid_nii(dir, "odd.nii", DataType::kUInt8);
  patch<int16_t>(odd, kDatatype, 9999);
  expect_refused(odd, {"unsupported datatype unknown (NIfTI code 9999)"});
}

TEST(NiftiBadInput, SeveralVolumes) {
  const fs::path p = t::data_path("nifti/nibabel/example4d.nii.gz");
  const std::string msg = error_of([&] { mprotonet::read_nifti(p); });
  EXPECT_NE(msg.find("example4d.nii.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 volumes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("one 3D volume"), std::string::npos) << msg;
  const fs::path f = t::data_path("nifti/nibabel/functional.nii");
  EXPECT_NE(error_of([&] { mprotonet::read_nifti(f); }).find("20 volumes"), std::string::npos);
  EXPECT_EQ(mprotonet::read_nifti_header(f).dim[4], 20);  // the header alone is fine
}

TEST(NiftiBadInput, NonFiniteVoxels) {
  t::TempDir dir;
  const fs::path p = valid_nii(dir, "nan.nii");
  patch<float>(p, kData + 4 * 5, std::nanf(""));
  patch<float>(p, kData + 4 * 17, INFINITY);
  expect_refused(p, {"2 of 140 voxels are NaN or infinite"}, false);
  const fs::path pgz = dir / "nan.nii.gz";
  gzip_file(p, pgz);
  expect_refused(pgz, {"NaN"}, false);
  EXPECT_NO_THROW(mprotonet::read_nifti_header(p));
}

TEST(NiftiBadInput, DataShorterThanTheHeaderSays) {
  t::TempDir dir;
  const fs::path p = valid_nii(dir, "short.nii");
  fs::resize_file(p, fs::file_size(p) - 10);
  expect_refused(p, {"file too short", "560 bytes"});
  // Same content gzipped: only inflating tells, and it must not be taken for a corrupt stream.
  const fs::path pgz = dir / "short.nii.gz";
  gzip_file(p, pgz);
  expect_refused(pgz, {"file too short", "550 of the 560 bytes"}, false);
}

TEST(NiftiBadInput, DataOffsetInsideTheHeader) {
  t::TempDir dir;
  for (const float offset : {0.0f, 100.0f, -352.0f}) {
    const fs::path p = valid_nii(dir, "offset" + std::to_string(int(offset)) + ".nii");
    patch<float>(p, kVoxOffset, offset);
    expect_refused(p, {"vox_offset is " + std::to_string(int(offset)), "at least 352"});
  }
}

TEST(NiftiBadInput, BadVoxelSizes) {
  t::TempDir dir;
  const fs::path p0 = valid_nii(dir, "zero.nii");
  patch<float>(p0, kPixdim + 4 * 2, 0.0f);
  expect_refused(p0, {"pixdim[2] is 0"});
  const fs::path p1 = valid_nii(dir, "negative.nii");
  patch<float>(p1, kPixdim + 4 * 1, -1.5f);
  expect_refused(p1, {"pixdim[1] is -1.5"});
  const fs::path p2 = valid_nii(dir, "nanvox.nii");
  patch<float>(p2, kPixdim + 4 * 3, std::nanf(""));
  expect_refused(p2, {"pixdim[3] is nan"});
}

TEST(NiftiBadInput, InvalidScaling) {
  t::TempDir dir;
  const fs::path p = valid_nii(dir, "inter.nii");
  patch<float>(p, kSclSlope, 2.0f);
  patch<float>(p, kSclInter, INFINITY);
  expect_refused(p, {"scl_inter"});
  // slope 0 or NaN means "no scaling" (as nibabel), not an error.
  const fs::path q = valid_nii(dir, "noscale.nii");
  patch<float>(q, kSclSlope, std::nanf(""));
  patch<float>(q, kSclInter, 100.0f);
  const Volume v = mprotonet::read_nifti(q);
  EXPECT_EQ(v.data[1], 1.0f);  // stored value, unscaled
  EXPECT_EQ(v.data[139], 139.0f);
}

TEST(NiftiBadInput, PairWithoutImageFile) {
  t::TempDir dir;
  fs::copy_file(t::data_path("nifti/niivue/ras.hdr"), dir / "lonely.hdr");
  const std::string msg = error_of([&] { mprotonet::read_nifti(dir / "lonely.hdr"); });
  EXPECT_NE(msg.find("lonely.img"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no such file"), std::string::npos) << msg;
}

}  // namespace
