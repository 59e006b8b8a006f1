// SPDX-License-Identifier: MIT
// Preprocessing (docs/method.md#preprocessing) against an independent nibabel + SciPy oracle, on real files.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/data/preprocess_case.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

struct OracleResult {
  std::array<int64_t, 3> shape{};
  Affine affine{};
  std::string axcodes;
  std::vector<float> data;
};

OracleResult run_oracle(const fs::path& input, const std::string& mode, double spacing = 1.5,
                        const std::string& fov = "192,192,144", bool z = false) {
  test::TempDir dir;
  const std::string prefix = (dir / "out").string();
  test::run_python_helper("preprocess_oracle.py", test::shell_quote(input.string()) + " " + test::shell_quote(prefix) + " " +
                                                      std::to_string(spacing) + " " + fov + " " + mode + " " + (z ? "1" : "0"));
  OracleResult r;
  const auto j = nlohmann::json::parse(std::ifstream(prefix + ".json"));
  for (int a = 0; a < 3; ++a) r.shape[a] = j["shape"][a].get<int64_t>();
  for (int row = 0; row < 4; ++row)
    for (int c = 0; c < 4; ++c) r.affine[row][c] = j["affine"][row][c].get<double>();
  r.axcodes = j["axcodes"].get<std::string>();
  r.data.resize(static_cast<size_t>(r.shape[0] * r.shape[1] * r.shape[2]));
  std::ifstream raw(prefix + ".raw", std::ios::binary);
  raw.read(reinterpret_cast<char*>(r.data.data()), static_cast<std::streamsize>(r.data.size() * sizeof(float)));
  return r;
}

void expect_affine_near(const Affine& a, const Affine& b, double tol = 1e-5) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(a[r][c], b[r][c], tol) << "affine[" << r << "][" << c << "]";
}

/// Max |a - b| relative to max |b|.
double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-12;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

class Reorientation : public ::testing::TestWithParam<std::string> {};

TEST_P(Reorientation, MatchesNibabelAsClosestCanonical) {
  const fs::path file = test::data_path(GetParam());
  const Volume in = read_nifti(file);
  const OracleResult oracle = run_oracle(file, "canonical");
  EXPECT_EQ(axis_codes(in.affine), oracle.axcodes);
  const Volume out = reorient_to_ras(in);
  EXPECT_EQ(out.shape, oracle.shape);
  expect_affine_near(out.affine, oracle.affine);
  ASSERT_EQ(out.data.size(), oracle.data.size());
  EXPECT_LT(max_rel_diff(out.data, oracle.data), 1e-6);
  EXPECT_EQ(axis_codes(out.affine), "RAS");
}

INSTANTIATE_TEST_SUITE_P(
    RealFiles, Reorientation,
    ::testing::Values("nifti/niivue/nifti_space/LAS.nii.gz", "nifti/niivue/nifti_space/LPS.nii.gz",
                      "nifti/niivue/nifti_space/RPI.nii.gz", "nifti/niivue/nifti_space/LIA.nii.gz",
                      "nifti/niivue/nifti_space/PSR.nii.gz", "nifti/niivue/nifti_space/SLA.nii.gz",
                      "nifti/niivue/nifti_space/IRP.nii.gz", "nifti/niivue/nifti_space/RAS.nii.gz",
                      "nifti/niivue/AIL.nii.gz", "nifti/nibabel/anatomical.nii",
                      "brats/TCGA-DU-7294/TCGA-DU-7294_seg.nii.gz"),
    [](const ::testing::TestParamInfo<std::string>& info) {
      std::string name = fs::path(info.param).filename().string();
      for (auto& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

TEST(Reorientation, AllOrientationsGiveTheSameCanonicalImage) {
  const Volume ref = reorient_to_ras(read_nifti(test::data_path("nifti/niivue/nifti_space/RAS.nii.gz")));
  for (const char* code : {"LAS", "LPS", "RPI", "LIA", "PSR", "SLA", "IRP"}) {
    const Volume v = reorient_to_ras(read_nifti(test::data_path(std::string("nifti/niivue/nifti_space/") + code + ".nii.gz")));
    ASSERT_EQ(v.shape, ref.shape) << code;
    EXPECT_LT(max_rel_diff(v.data, ref.data), 1e-6) << code;
  }
}

TEST(Preprocess, RealBratsCaseMatchesOracleAtBothSpacings) {
  const fs::path t1 = test::data_path("brats/TCGA-DU-7294/TCGA-DU-7294_t1.nii.gz");
  const Volume in = read_nifti(t1);
  for (double spacing : {1.5, 3.0}) {
    PreprocessOptions o;
    o.spacing_mm = spacing;
    const Volume out = preprocess_volume(in, o, Interpolation::kLinear);
    const OracleResult oracle = run_oracle(t1, "linear", spacing, "192,192,144", true);
    const std::array<int64_t, 3> expected_shape =
        spacing == 1.5 ? std::array<int64_t, 3>{128, 128, 96} : std::array<int64_t, 3>{64, 64, 48};
    EXPECT_EQ(out.shape, expected_shape);
    EXPECT_EQ(oracle.shape, expected_shape);
    expect_affine_near(out.affine, oracle.affine);
    EXPECT_LT(max_rel_diff(out.data, oracle.data), 1e-5) << "spacing " << spacing;
  }
}

TEST(Preprocess, SegmentationUsesNearestNeighbourAndKeepsLabels) {
  const fs::path seg = test::data_path("brats/TCGA-DU-7294/TCGA-DU-7294_seg.nii.gz");
  const Volume out = preprocess_volume(read_nifti(seg), PreprocessOptions{}, Interpolation::kNearest);
  const OracleResult oracle = run_oracle(seg, "nearest");
  ASSERT_EQ(out.data.size(), oracle.data.size());
  size_t mismatches = 0, tumour = 0;
  for (size_t i = 0; i < out.data.size(); ++i) {
    mismatches += out.data[i] != oracle.data[i];
    tumour += out.data[i] > 0;
    ASSERT_TRUE(out.data[i] == 0 || out.data[i] == 1 || out.data[i] == 2 || out.data[i] == 4);
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(tumour, 1000u);
}

TEST(Preprocess, NonIsotropicObliqueInputMatchesOracle) {
  // AIL: 2.39 mm voxels in an unusual axis order.
  const fs::path f = test::data_path("nifti/niivue/AIL.nii.gz");
  PreprocessOptions o;
  o.spacing_mm = 3.0;
  const Volume out = preprocess_volume(read_nifti(f), o, Interpolation::kLinear);
  const OracleResult oracle = run_oracle(f, "linear", 3.0, "192,192,144", true);
  expect_affine_near(out.affine, oracle.affine);
  EXPECT_LT(max_rel_diff(out.data, oracle.data), 1e-5);
}

TEST(Preprocess, WorldCoordinatesOfAnatomyArePreserved) {
  // A bright blob at a known world point in an LPS, 1 x 1 x 2 mm volume must come out at the
  // output voxel whose affine maps to the same world point.
  Affine a = identity_affine();
  a[0][0] = -1;
  a[1][1] = -1;
  a[2][2] = 2;
  a[0][3] = 100;
  a[1][3] = 90;
  a[2][3] = -60;
  Volume v = make_volume({200, 180, 70}, a);
  const std::array<double, 3> world{12.0, -21.0, 9.0};
  const auto ijk = apply_affine(invert_affine(a), world);
  v.at(std::lround(ijk[0]), std::lround(ijk[1]), std::lround(ijk[2])) = 1000;
  PreprocessOptions o;
  o.spacing_mm = 1.0;
  o.zscore = false;
  const Volume out = preprocess_volume(v, o, Interpolation::kNearest);
  int64_t best = 0;
  for (int64_t i = 1; i < out.numel(); ++i)
    if (out.data[static_cast<size_t>(i)] > out.data[static_cast<size_t>(best)]) best = i;
  ASSERT_EQ(out.data[static_cast<size_t>(best)], 1000);
  const int64_t i = best / (out.shape[1] * out.shape[2]), j = (best / out.shape[2]) % out.shape[1], k = best % out.shape[2];
  const auto p = apply_affine(out.affine, {double(i), double(j), double(k)});
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(p[d], world[d], 1.0) << "axis " << d;
}

TEST(Preprocess, ZScoreGivesMeanZeroStdOneAndRefusesConstantVolumes) {
  Volume v = make_volume({4, 4, 4}, identity_affine());
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = static_cast<float>(i * i % 11);
  zscore(v);
  double s = 0, ss = 0;
  for (float x : v.data) s += x;
  const double mean = s / v.data.size();
  for (float x : v.data) ss += (x - mean) * (x - mean);
  EXPECT_NEAR(mean, 0, 1e-6);
  EXPECT_NEAR(std::sqrt(ss / (v.data.size() - 1)), 1, 1e-5);
  Volume c = make_volume({4, 4, 4}, identity_affine());
  try {
    zscore(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("constant"), std::string::npos);
  }
}

TEST(Preprocess, CaseErrorsNameTheFile) {
  test::TempDir dir;
  const fs::path src = test::data_path("brats/TCGA-DU-7294");
  fs::create_directories(dir / "C1");
  for (const char* m : {"t1", "t1ce", "t2", "flair"})
    fs::copy_file(src / (std::string("TCGA-DU-7294_") + m + ".nii.gz"), dir / "C1" / (std::string("C1_") + m + ".nii.gz"));
  Volume seg = read_nifti(src / "TCGA-DU-7294_seg.nii.gz");
  seg.data[1000] = 3;  // BraTS 2017-era label: not accepted
  write_nifti(dir / "C1" / "C1_seg.nii.gz", seg, DataType::kUInt8);
  try {
    preprocess_case(find_case_files(dir / "C1"), PreprocessOptions{});
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("C1_seg.nii.gz"), std::string::npos) << msg;
    EXPECT_NE(msg.find("outside {0, 1, 2, 4}: 3"), std::string::npos) << msg;
  }
}

TEST(Preprocess, CliWritesWhatTheNetworkSees) {
  test::TempDir dir;
  const auto r = test::run_command(test::cli_path().string() + " preprocess --case " +
                                   test::data_path("brats/TCGA-DU-7294").string() + " --out " + (dir / "pp").string() + " --spacing 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("LPS -> RAS"), std::string::npos) << r.output;
  for (const char* name : {"t1", "t1ce", "t2", "flair", "seg"}) {
    const auto h = read_nifti_header(dir / "pp" / (std::string(name) + ".nii.gz"));
    EXPECT_EQ(h.dim[1], 64);
    EXPECT_EQ(h.dim[3], 48);
    EXPECT_EQ(h.datatype, std::string(name) == "seg" ? DataType::kUInt8 : DataType::kFloat32);
  }
  const auto bad = test::run_command(test::cli_path().string() + " preprocess --case /nonexistent --out " + (dir / "x").string());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_LT(bad.exit_code, 128);
  EXPECT_NE(bad.output.find("/nonexistent"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace mprotonet
