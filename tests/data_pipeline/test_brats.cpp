// SPDX-License-Identifier: MIT
// BraTS cohort discovery: layouts, grade tables, and that every problem is reported by name.
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

Volume tiny_volume(std::array<int64_t, 3> shape = {6, 5, 4}) {
  Affine a = identity_affine();
  a[0][0] = -1;
  a[1][1] = -1;
  a[1][3] = 4;
  Volume v = make_volume(shape, a);
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = static_cast<float>(i % 17);
  return v;
}

/// Writes a case folder with the given modality tokens (BraTS 2020 naming by default).
void make_case(const fs::path& root, const std::string& id,
               std::vector<std::string> tokens = {"t1", "t1ce", "t2", "flair", "seg"}, const std::string& sep = "_",
               const Volume& vol = tiny_volume()) {
  fs::create_directories(root / id);
  for (const auto& t : tokens) write_nifti(root / id / (id + sep + t + ".nii.gz"), vol, DataType::kInt16);
}

void write_csv(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

const char* kHeader = "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,TCGA_TCIA_subject_ID,BraTS_2019_subject_ID,BraTS_2020_subject_ID\n";

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Brats, DiscoversBrats2020LayoutInCsvOrder) {
  test::TempDir dir;
  make_case(dir.path(), "BraTS20_Training_001");
  make_case(dir.path(), "BraTS20_Training_002");
  make_case(dir.path(), "BraTS20_Training_003");
  write_csv(dir / "name_mapping.csv", std::string(kHeader) + "LGG,NA,NA,NA,NA,BraTS20_Training_003\n" +
                                          "HGG,Brats17_x,NA,NA,NA,BraTS20_Training_001\r\nHGG,NA,NA,NA,NA,BraTS20_Training_002\n");
  const Dataset ds = discover_brats(dir.path());
  ASSERT_EQ(ds.subjects.size(), 3u);
  EXPECT_EQ(ds.subjects[0].files.id, "BraTS20_Training_003");
  EXPECT_EQ(ds.subjects[0].label, kLabelLGG);
  EXPECT_EQ(ds.subjects[1].label, kLabelHGG);
  EXPECT_EQ(ds.count(kLabelHGG), 2);
  EXPECT_EQ(ds.grade_source, "name_mapping.csv");
  EXPECT_EQ(ds.subjects[1].files.images[1].filename(), "BraTS20_Training_001_t1ce.nii.gz");
  ASSERT_TRUE(ds.subjects[1].files.seg.has_value());
}

TEST(Brats, AcceptsBrats2023NamesAndPlainNii) {
  test::TempDir dir;
  make_case(dir.path(), "BraTS-GLI-00000-000", {"t1n", "t1c", "t2w", "t2f"}, "-");
  const CaseFiles f = find_case_files(dir / "BraTS-GLI-00000-000");
  EXPECT_EQ(f.images[0].filename(), "BraTS-GLI-00000-000-t1n.nii.gz");
  EXPECT_EQ(f.images[3].filename(), "BraTS-GLI-00000-000-t2f.nii.gz");
  EXPECT_FALSE(f.seg.has_value());
  fs::create_directories(dir / "plain");
  for (const char* t : {"t1", "t1ce", "t2", "flair"}) write_nifti(dir / "plain" / (std::string("plain_") + t + ".nii"), tiny_volume(), DataType::kFloat32);
  EXPECT_EQ(find_case_files(dir / "plain").images[2].filename(), "plain_t2.nii");
  // The id is the folder's name however the folder is written (a trailing slash gave "").
  EXPECT_EQ(find_case_files(dir.path().string() + "/plain/").id, "plain");
  EXPECT_EQ(find_case_files(dir.path().string() + "/plain//.").id, "plain");
  EXPECT_EQ(f.id, "BraTS-GLI-00000-000");
}

TEST(Brats, GradeFoldersAreAGradeSource) {
  test::TempDir dir;
  make_case(dir / "HGG", "Brats18_A");
  make_case(dir / "LGG", "Brats18_B");
  const Dataset ds = discover_brats(dir.path());
  EXPECT_EQ(ds.grade_source, "HGG/LGG folders");
  ASSERT_EQ(ds.subjects.size(), 2u);
  EXPECT_EQ(ds.subjects[0].label, kLabelHGG);
  EXPECT_EQ(ds.subjects[1].label, kLabelLGG);
}

TEST(Brats, WithoutGradeSourceSubjectsAreUnlabelledOrAnError) {
  test::TempDir dir;
  make_case(dir.path(), "S1");
  const std::string msg = error_of([&] { discover_brats(dir.path()); });
  EXPECT_NE(msg.find("no grade source"), std::string::npos) << msg;
  DatasetOptions o;
  o.require_labels = false;
  const Dataset ds = discover_brats(dir.path(), o);
  ASSERT_EQ(ds.subjects.size(), 1u);
  EXPECT_EQ(ds.subjects[0].label, kLabelUnknown);
  EXPECT_EQ(ds.grade_source, "none");
}

TEST(Brats, ReportsEveryProblemNotJustTheFirst) {
  test::TempDir dir;
  make_case(dir.path(), "good");
  make_case(dir.path(), "no_flair", {"t1", "t1ce", "t2", "seg"});
  make_case(dir.path(), "bad_shape", {"t1", "t1ce", "t2"});
  write_nifti(dir / "bad_shape" / "bad_shape_flair.nii.gz", tiny_volume({6, 5, 5}), DataType::kInt16);
  make_case(dir.path(), "bad_affine", {"t1", "t1ce", "t2"});
  Volume shifted = tiny_volume();
  shifted.affine[0][3] = 10;
  write_nifti(dir / "bad_affine" / "bad_affine_flair.nii.gz", shifted, DataType::kInt16);
  write_csv(dir / "name_mapping.csv", std::string(kHeader) + "HGG,NA,NA,NA,NA,good\nLGG,NA,NA,NA,NA,no_flair\n" +
                                          "HGG,NA,NA,NA,NA,bad_shape\nHGG,NA,NA,NA,NA,bad_affine\nLGG,NA,NA,NA,NA,ghost\n");
  const std::string msg = error_of([&] { discover_brats(dir.path()); });
  EXPECT_NE(msg.find("no_flair: missing modality flair"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad_shape: bad_shape_flair.nii.gz has shape 6x5x5 but bad_shape_t1.nii.gz has 6x5x4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad_affine: bad_affine_flair.nii.gz has a different affine"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ghost: listed on line 6"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 problem(s)"), std::string::npos) << msg;

  DatasetOptions skip;
  skip.skip_bad = true;
  const Dataset ds = discover_brats(dir.path(), skip);
  ASSERT_EQ(ds.subjects.size(), 1u);
  EXPECT_EQ(ds.subjects[0].files.id, "good");
  EXPECT_EQ(ds.skipped.size(), 3u);
}

TEST(Brats, GradeTableErrorsNameFileAndLine) {
  test::TempDir dir;
  write_csv(dir / "a.csv", std::string(kHeader) + "GBM,NA,NA,NA,NA,S1\nHGG,NA,NA,NA,NA,S2\nLGG,NA,NA,NA,NA,S2\nHGG\n");
  const std::string msg = error_of([&] { read_grade_table(dir / "a.csv"); });
  EXPECT_NE(msg.find((dir / "a.csv").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 2: unknown grade 'GBM' for subject 'S1' (expected HGG or LGG)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 4: duplicate subject id 'S2' (first on line 3)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 5: expected at least 2 comma-separated columns"), std::string::npos) << msg;

  write_csv(dir / "empty.csv", "");
  EXPECT_NE(error_of([&] { read_grade_table(dir / "empty.csv"); }).find("the file is empty"), std::string::npos);
  write_csv(dir / "bom.csv", "\xEF\xBB\xBFGrade,ID\r\n\"HGG\",\"S,1\"\r\n");
  const auto rows = read_grade_table(dir / "bom.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, "S,1");
  EXPECT_NE(error_of([&] { read_grade_table(dir / "missing.csv"); }).find("no such file"), std::string::npos);
}

TEST(Brats, MissingFolderAndAmbiguousFilesAreErrors) {
  test::TempDir dir;
  EXPECT_NE(error_of([&] { discover_brats(dir / "nope"); }).find("no such folder"), std::string::npos);
  make_case(dir.path(), "dup");
  write_nifti(dir / "dup" / "dup_t1.nii", tiny_volume(), DataType::kInt16);
  const std::string msg = error_of([&] { find_case_files(dir / "dup"); });
  EXPECT_NE(msg.find("several files for modality t1: dup_t1.nii, dup_t1.nii.gz"), std::string::npos) << msg;
}

TEST(Brats, RealTcgaCaseIsFound) {
  const CaseFiles f = find_case_files(test::data_path("brats/TCGA-DU-7294"));
  EXPECT_EQ(f.id, "TCGA-DU-7294");
  EXPECT_TRUE(f.seg.has_value());
}

}  // namespace
}  // namespace mprotonet
