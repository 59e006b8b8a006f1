// SPDX-License-Identifier: MIT
// NIfTI reader/writer tests. Parity is checked against nibabel (tests/helpers/nifti_oracle.py)
// on real files in tests/data/nifti (see ATTRIBUTION.md there) and on files we write.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;
using mprotonet::Affine;
using mprotonet::DataType;
using mprotonet::Volume;
using nlohmann::json;
namespace t = mprotonet::test;

namespace {

// Runs the oracle on the given files and returns {path: facts}.
std::map<std::string, json> oracle(const std::vector<fs::path>& files) {
  std::string args;
  for (const auto& f : files) args += " " + t::shell_quote(f.string());
  const auto r = t::run_python_helper("nifti_oracle.py", args);
  std::map<std::string, json> out;
  if (r.exit_code != 0) return out;
  const json doc = json::parse(r.output);
  for (const auto& f : doc["files"]) out[f["path"].get<std::string>()] = f;
  return out;
}

double jnum(const json& j) { return j.is_null() ? std::nan("") : j.get<double>(); }

void expect_affine_near(const Affine& a, const json& expected, double tol, const std::string& what) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const double e = expected[r][c].get<double>();
      EXPECT_NEAR(a[r][c], e, tol * std::max(1.0, std::fabs(e))) << what << " affine[" << r << "][" << c << "]";
    }
}

Affine affine_from_json(const json& j) {
  Affine a{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[r][c] = j[r][c].get<double>();
  return a;
}

// Compares read_nifti's values with nibabel's get_fdata statistics.
void expect_data_matches(const Volume& v, const json& d, const std::string& what) {
  ASSERT_EQ(d["nonfinite"].get<int64_t>(), 0) << what;
  double sum = 0, abs_sum = 0, wsum = 0, abs_wsum = 0;
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < v.shape[0]; ++i)
    for (int64_t j = 0; j < v.shape[1]; ++j)
      for (int64_t k = 0; k < v.shape[2]; ++k) {
        const double x = v.at(i, j, k);
        const double w = 1.0 + static_cast<double>((i + 2 * j + 3 * k) % 5);
        sum += x;
        abs_sum += std::fabs(x);
        wsum += w * x;
        abs_wsum += w * std::fabs(x);
        lo = std::min(lo, static_cast<float>(x));
        hi = std::max(hi, static_cast<float>(x));
      }
  const double rel = 2e-7;  // float32 rounding of each value
  EXPECT_NEAR(sum, d["sum"].get<double>(), rel * std::max(1.0, abs_sum)) << what << " sum";
  EXPECT_NEAR(wsum, d["wsum"].get<double>(), rel * std::max(1.0, abs_wsum)) << what << " weighted sum";
  EXPECT_NEAR(lo, d["min"].get<double>(), rel * std::max(1.0, std::fabs(d["min"].get<double>()))) << what << " min";
  EXPECT_NEAR(hi, d["max"].get<double>(), rel * std::max(1.0, std::fabs(d["max"].get<double>()))) << what << " max";
  for (const auto& s : d["samples"]) {
    const int64_t i = s[0], j = s[1], k = s[2];
    const double e = s[3].get<double>();
    EXPECT_NEAR(v.at(i, j, k), e, rel * std::max(1.0, std::fabs(e))) << what << " value at " << i << "," << j << "," << k;
  }
}

// Expects fn to throw mprotonet::Error whose message names `file` and contains every `parts`.
template <typename Fn>
void expect_error(Fn&& fn, const fs::path& file, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error for " << file;
  } catch (const mprotonet::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.filename().string()), std::string::npos) << "message does not name the file: " << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message lacks '" << p << "': " << msg;
  }
}

const std::vector<std::string> kThreeDFiles = {
    "niivue/nifti_space/LAS.nii.gz", "niivue/nifti_space/RAS.nii.gz", "niivue/nifti_space/LPS.nii.gz",
    "niivue/nifti_space/RPI.nii.gz", "niivue/nifti_space/LIA.nii.gz", "niivue/nifti_space/PSR.nii.gz",
    "niivue/nifti_space/SLA.nii.gz", "niivue/nifti_space/IRP.nii.gz", "niivue/AIL.nii.gz",
    "niivue/UINT8.nii.gz",           "niivue/minimal.nii.gz",          "niivue/RAS_mask.nii.gz",
    "niivue/shear.nii.gz",           "niivue/ras.hdr",                 "niivue/avg152T1_RL_nifti.nii.gz",
    "niivue/low_res.nii.gz",         "niivue/hippo.nii.gz",            "niivue/draw.nii.gz",
    "nibabel/anatomical.nii",        "nibabel/reoriented_anat_moved.nii", "nibabel/standard.nii.gz",
    "brainlesion-tutorials/TCGA-DU-7294/segmentation/isen-20.nii.gz",
};
const std::vector<std::string> kFourDFiles = {"nibabel/functional.nii", "nibabel/example4d.nii.gz",
                                              "nibabel/example_nifti2.nii.gz"};

void expect_header_matches(const mprotonet::NiftiHeader& h, const json& f, const std::string& what) {
  EXPECT_EQ(h.version, f["version"].get<int>()) << what;
  const int ndim = f["dim"][0].get<int>();
  ASSERT_EQ(h.dim[0], ndim) << what;
  for (int i = 1; i <= ndim; ++i) EXPECT_EQ(h.dim[i], f["dim"][i].get<int64_t>()) << what << " dim[" << i << "]";
  for (int i = 0; i <= std::min(ndim, 3); ++i)
    EXPECT_NEAR(h.pixdim[i], f["pixdim"][i].get<double>(), 1e-6) << what << " pixdim[" << i << "]";
  EXPECT_EQ(mprotonet::to_string(h.datatype), f["dtype"].get<std::string>()) << what;
  const double slope = jnum(f["scl_slope"]), inter = jnum(f["scl_inter"]);
  if (std::isnan(slope)) EXPECT_TRUE(std::isnan(h.scl_slope)) << what;
  else EXPECT_DOUBLE_EQ(h.scl_slope, slope) << what;
  if (std::isnan(inter)) EXPECT_TRUE(std::isnan(h.scl_inter)) << what;
  else EXPECT_DOUBLE_EQ(h.scl_inter, inter) << what;
  EXPECT_EQ(h.qform_code, f["qform_code"].get<int>()) << what;
  EXPECT_EQ(h.sform_code, f["sform_code"].get<int>()) << what;
  expect_affine_near(h.affine, f["affine"], 1e-5, what);
}

TEST(RealFiles, MatchNibabel) {
  // One oracle run for all files (starting Python and nibabel dominates the cost).
  std::vector<std::string> all = kThreeDFiles;
  all.insert(all.end(), kFourDFiles.begin(), kFourDFiles.end());
  std::vector<fs::path> paths;
  for (const auto& rel : all) paths.push_back(t::data_path("nifti/" + rel));
  const auto facts = oracle(paths);
  ASSERT_EQ(facts.size(), paths.size());
  for (size_t n = 0; n < all.size(); ++n) {
    const std::string& rel = all[n];
    SCOPED_TRACE(rel);
    const json& f = facts.at(paths[n].string());
    expect_header_matches(mprotonet::read_nifti_header(paths[n]), f, rel);
    if (n >= kThreeDFiles.size()) continue;  // several volumes: header only (see bad-input tests)
    ASSERT_TRUE(f.contains("data")) << rel;
    const Volume v = mprotonet::read_nifti(paths[n]);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(v.shape[i], f["shape"][i].get<int64_t>()) << rel;
    EXPECT_EQ(mprotonet::to_string(v.source_dtype), f["dtype"].get<std::string>()) << rel;
    expect_affine_near(v.affine, f["affine"], 1e-5, rel);
    expect_data_matches(v, f["data"], rel);
  }
}

TEST(RealFiles, ImgPathReadsThePair) {
  const Volume a = mprotonet::read_nifti(t::data_path("nifti/niivue/ras.hdr"));
  const Volume b = mprotonet::read_nifti(t::data_path("nifti/niivue/ras.img"));
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.data, b.data);
}

TEST(RealFiles, OrientationsHoldTheSameBrain) {
  // The nifti_space files store one brain in different axis orders: mapping each voxel to world
  // coordinates must give the same image. Compare the world position of the brightest voxel.
  std::array<double, 3> first{};
  bool have_first = false;
  for (const auto& rel : kThreeDFiles) {
    if (rel.rfind("niivue/nifti_space/", 0) != 0) continue;
    const Volume v = mprotonet::read_nifti(t::data_path("nifti/" + rel));
    double best = -1, sum = 0;
    std::array<double, 3> centroid{0, 0, 0};
    for (int64_t i = 0; i < v.shape[0]; ++i)
      for (int64_t j = 0; j < v.shape[1]; ++j)
        for (int64_t k = 0; k < v.shape[2]; ++k) {
          const double x = v.at(i, j, k);
          best = std::max(best, x);
          const auto w = mprotonet::apply_affine(v.affine, {double(i), double(j), double(k)});
          for (int c = 0; c < 3; ++c) centroid[c] += x * w[c];
          sum += x;
        }
    for (auto& c : centroid) c /= sum;
    if (!have_first) {
      first = centroid;
      have_first = true;
    } else {
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(centroid[c], first[c], 1e-3) << rel << " world centroid axis " << c;
    }
  }
}

TEST(NibabelWrittenFiles, MatchNibabel) {
  // Datatypes, byte orders, NIfTI-2, qform-only transforms, qfac 0, no transform, explicit
  // scaling and one-volume 4D/5D files, written by nibabel itself.
  t::TempDir dir;
  const auto made = t::run_python_helper("nifti_make.py", t::shell_quote(dir.path().string()));
  ASSERT_EQ(made.exit_code, 0);
  std::vector<fs::path> files;
  std::istringstream names(made.output);
  for (std::string line; std::getline(names, line);)
    if (!line.empty() && line.find("Warning") == std::string::npos && fs::exists(dir / line)) files.push_back(dir / line);
  ASSERT_EQ(files.size(), 17u) << made.output;
  const auto facts = oracle(files);
  ASSERT_EQ(facts.size(), files.size());
  for (const auto& p : files) {
    const std::string what = p.filename().string();
    SCOPED_TRACE(what);
    const json& f = facts.at(p.string());
    expect_header_matches(mprotonet::read_nifti_header(p), f, what);
    const Volume v = mprotonet::read_nifti(p);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(v.shape[i], f["shape"][i].get<int64_t>()) << what;
    EXPECT_EQ(mprotonet::to_string(v.source_dtype), f["dtype"].get<std::string>()) << what;
    expect_affine_near(v.affine, f["affine"], 1e-5, what);
    expect_data_matches(v, f["data"], what);
  }
}

// ---- round trips ---------------------------------------------------------------------------

Affine rotation_affine() {
  // 30 degrees about z then 12 about x, voxel sizes 0.9 x 1.2 x 2.5, offset.
  const double a = 30 * M_PI / 180, b = 12 * M_PI / 180;
  const double Rz[3][3] = {{std::cos(a), -std::sin(a), 0}, {std::sin(a), std::cos(a), 0}, {0, 0, 1}};
  const double Rx[3][3] = {{1, 0, 0}, {0, std::cos(b), -std::sin(b)}, {0, std::sin(b), std::cos(b)}};
  const double s[3] = {0.9, 1.2, 2.5};
  Affine m = mprotonet::identity_affine();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      double v = 0;
      for (int k = 0; k < 3; ++k) v += Rx[r][k] * Rz[k][c];
      m[r][c] = v * s[c];
    }
  m[0][3] = -87.25;
  m[1][3] = 120.5;
  m[2][3] = -33.125;
  return m;
}

Affine flipped_permuted_affine() {
  // LIA-like: i -> -x, j -> -z, k -> +y, non-isotropic.
  Affine m{};
  m[0][0] = -1.5;
  m[2][1] = -2.0;
  m[1][2] = 3.0;
  m[0][3] = 90;
  m[1][3] = -126;
  m[2][3] = 72;
  m[3][3] = 1;
  return m;
}

Affine lps_affine() {
  Affine m{};
  m[0][0] = -1;
  m[1][1] = -1;
  m[2][2] = 1;
  m[0][3] = 120;
  m[1][3] = 119;
  m[2][3] = -77;
  m[3][3] = 1;
  return m;
}

Volume test_volume(const Affine& affine, DataType dtype) {
  Volume v = mprotonet::make_volume({7, 5, 4}, affine);
  v.source_dtype = dtype;  // the datatype the test writes it as
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t k = 0; k < 4; ++k) {
        const double x = static_cast<double>(i * 100 + j * 10 + k);  // distinct, axis-revealing
        float value = static_cast<float>(x);
        if (dtype == DataType::kFloat32) value = static_cast<float>(x * 0.37 - 55.125);
        if (dtype == DataType::kUInt8) value = static_cast<float>(static_cast<int>(x) % 256);
        if (dtype == DataType::kInt16) value = static_cast<float>(x * 40 - 12000);
        v.at(i, j, k) = value;
      }
  return v;
}

TEST(NiftiWrite, RoundTripsAndNibabelAgrees) {
  t::TempDir dir;
  const std::vector<std::pair<std::string, Affine>> affines = {
      {"rot", rotation_affine()}, {"lia", flipped_permuted_affine()}, {"lps", lps_affine()}};
  const std::vector<std::pair<std::string, DataType>> dtypes = {
      {"float32", DataType::kFloat32}, {"int16", DataType::kInt16}, {"uint8", DataType::kUInt8}};
  std::vector<fs::path> written;
  std::map<std::string, Volume> originals;
  for (const auto& [aname, affine] : affines)
    for (const auto& [dname, dtype] : dtypes)
      for (const std::string ext : {".nii", ".nii.gz"}) {
        const fs::path p = dir / (aname + "_" + dname + ext);
        const Volume v = test_volume(affine, dtype);
        mprotonet::write_nifti(p, v, dtype);
        const Volume back = mprotonet::read_nifti(p);
        EXPECT_EQ(back.shape, v.shape) << p;
        EXPECT_EQ(back.data, v.data) << p;
        EXPECT_EQ(back.source_dtype, dtype) << p;
        for (int r = 0; r < 4; ++r)
          for (int c = 0; c < 4; ++c)
            EXPECT_NEAR(back.affine[r][c], v.affine[r][c], 1e-5 * std::max(1.0, std::fabs(v.affine[r][c]))) << p;
        written.push_back(p);
        originals[p.string()] = v;
      }
  // gzip iff .gz
  for (const auto& p : written) {
    std::ifstream in(p, std::ios::binary);
    unsigned char m[2] = {0, 0};
    in.read(reinterpret_cast<char*>(m), 2);
    const bool gz = m[0] == 0x1f && m[1] == 0x8b;
    EXPECT_EQ(gz, p.extension() == ".gz") << p;
  }
  const auto facts = oracle(written);
  ASSERT_EQ(facts.size(), written.size());
  for (const auto& p : written) {
    SCOPED_TRACE(p.string());
    const json& f = facts.at(p.string());
    const Volume& v = originals.at(p.string());
    EXPECT_EQ(f["qform_code"].get<int>(), 1);
    EXPECT_EQ(f["sform_code"].get<int>(), 1);
    EXPECT_EQ(f["dtype"].get<std::string>(), mprotonet::to_string(v.source_dtype));
    EXPECT_EQ(f["version"].get<int>(), 1);
    json expected_affine = json::array();
    for (int r = 0; r < 4; ++r) expected_affine.push_back(std::vector<double>(v.affine[r].begin(), v.affine[r].end()));
    // nibabel's affine (sform) and its qform both equal ours: no shear here.
    expect_affine_near(affine_from_json(f["affine"]), expected_affine, 1e-5, "nibabel affine");
    expect_affine_near(affine_from_json(f["qform"]), expected_affine, 1e-5, "nibabel qform");
    const auto zooms = mprotonet::voxel_sizes(v.affine);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(f["zooms"][i].get<double>(), zooms[i], 1e-5);
    expect_data_matches(v, f["data"], p.string());
  }
}

TEST(NiftiWrite, ShearedAffineKeepsExactSformAndRigidQform) {
  t::TempDir dir;
  Affine a = rotation_affine();
  a[0][1] += 0.3;  // shear: columns no longer orthogonal
  Volume v = test_volume(a, DataType::kFloat32);
  const fs::path p = dir / "shear.nii.gz";
  mprotonet::write_nifti(p, v, DataType::kFloat32);
  const auto facts = oracle({p});
  ASSERT_EQ(facts.size(), 1u);
  const json& f = facts.begin()->second;
  json expected = json::array();
  for (int r = 0; r < 4; ++r) expected.push_back(std::vector<double>(a[r].begin(), a[r].end()));
  expect_affine_near(affine_from_json(f["sform"]), expected, 1e-5, "sform");
  expect_affine_near(mprotonet::read_nifti(p).affine, expected, 1e-5, "read back");
  // qform: orthogonal columns (rigid + zoom), same translation.
  const Affine q = affine_from_json(f["qform"]);
  for (int c1 = 0; c1 < 3; ++c1)
    for (int c2 = c1 + 1; c2 < 3; ++c2) {
      double dot = 0;
      for (int r = 0; r < 3; ++r) dot += q[r][c1] * q[r][c2];
      EXPECT_NEAR(dot, 0.0, 1e-5) << "qform columns " << c1 << "," << c2;
    }
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(q[r][3], a[r][3], 1e-4);
}

TEST(NiftiWrite, IntegerTypesRoundAndRangeCheck) {
  t::TempDir dir;
  Volume v = mprotonet::make_volume({3, 2, 2}, mprotonet::identity_affine());
  v.data = {0.4f, 0.6f, 1.5f, 2.5f, -0.5f, 254.6f, 3, 4, 5, 6, 7, 8};
  const fs::path p = dir / "r.nii";
  mprotonet::write_nifti(p, v, DataType::kInt16);
  const Volume back = mprotonet::read_nifti(p);
  const std::vector<float> expected = {0, 1, 2, 2, -0.0f, 255, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(back.data, expected);
  // uint8 cannot hold -1 or 256; the error names the file and the range.
  v.data[3] = 256;
  expect_error([&] { mprotonet::write_nifti(dir / "u.nii.gz", v, DataType::kUInt8); }, dir / "u.nii.gz",
               {"uint8", "0..255"});
  EXPECT_FALSE(fs::exists(dir / "u.nii.gz"));
  v.data[3] = 40000;
  expect_error([&] { mprotonet::write_nifti(dir / "s.nii", v, DataType::kInt16); }, dir / "s.nii", {"int16"});
  v.data[3] = NAN;
  expect_error([&] { mprotonet::write_nifti(dir / "f.nii", v, DataType::kFloat32); }, dir / "f.nii", {"NaN"});
}

TEST(NiftiWrite, ExistingFileIsReplacedOnlyByACompleteOne) {
  t::TempDir dir;
  const fs::path p = dir / "keep.nii.gz";
  Volume good = test_volume(lps_affine(), DataType::kUInt8);
  mprotonet::write_nifti(p, good, DataType::kUInt8);
  const auto size_before = fs::file_size(p);
  Volume bad = good;
  bad.data[5] = 1000;  // not representable: the write fails
  EXPECT_THROW(mprotonet::write_nifti(p, bad, DataType::kUInt8), mprotonet::Error);
  EXPECT_EQ(fs::file_size(p), size_before);
  EXPECT_EQ(mprotonet::read_nifti(p).data, good.data);
  // Overwrite with a new complete file; no temporaries are left behind.
  Volume other = good;
  other.data[5] = 77;
  mprotonet::write_nifti(p, other, DataType::kUInt8);
  EXPECT_EQ(mprotonet::read_nifti(p).data, other.data);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(NiftiWrite, RefusesBadNamesAndTypes) {
  t::TempDir dir;
  const Volume v = test_volume(lps_affine(), DataType::kFloat32);
  expect_error([&] { mprotonet::write_nifti(dir / "x.img", v, DataType::kFloat32); }, dir / "x.img", {".nii"});
  expect_error([&] { mprotonet::write_nifti(dir / "x.nii", v, DataType::kInt32); }, dir / "x.nii", {"int32"});
  Volume singular = v;
  singular.affine[0][0] = 0;
  singular.affine[1][0] = 0;
  singular.affine[2][0] = 0;
  expect_error([&] { mprotonet::write_nifti(dir / "y.nii", singular, DataType::kFloat32); }, dir / "y.nii",
               {"affine"});
}

}  // namespace
