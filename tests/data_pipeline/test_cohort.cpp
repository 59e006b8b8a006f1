// SPDX-License-Identifier: MIT
// Preprocessing cache: second run skips the work, changed inputs are redone, corrupt files are
// never read back, stale temporaries of killed builds are removed, and the mapped tensors equal
// a direct preprocessing.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

/// A small labelled cohort of three LPS cases with a blob "tumour".
fs::path make_cohort(const fs::path& root) {
  Affine a = identity_affine();
  a[0][0] = -2;
  a[1][1] = -2;
  a[2][2] = 2;
  a[1][3] = 60;
  std::string csv = "Grade,BraTS_2020_subject_ID\n";
  for (int s = 0; s < 3; ++s) {
    const std::string id = "S" + std::to_string(s);
    fs::create_directories(root / id);
    for (int m = 0; m < 5; ++m) {
      Volume v = make_volume({40, 36, 30}, a);
      for (int64_t i = 0; i < 40; ++i)
        for (int64_t j = 0; j < 36; ++j)
          for (int64_t k = 0; k < 30; ++k) {
            const bool tumour = std::abs(i - 20 - s) < 4 && std::abs(j - 18) < 4 && std::abs(k - 15) < 3;
            v.at(i, j, k) = m < 4 ? static_cast<float>((i + 2 * j + 3 * k + 7 * m + s) % 50 + (tumour ? 100 : 0)) : (tumour ? 2.0f : 0.0f);
          }
      const char* names[] = {"t1", "t1ce", "t2", "flair", "seg"};
      write_nifti(root / id / (id + "_" + names[m] + ".nii.gz"), v, m < 4 ? DataType::kInt16 : DataType::kUInt8);
    }
    csv += std::string(s == 1 ? "LGG" : "HGG") + "," + id + "\n";
  }
  std::ofstream(root / "name_mapping.csv") << csv;
  return root;
}

CohortOptions small_options(const fs::path& cache) {
  CohortOptions o;
  o.preprocess.spacing_mm = 4.0;
  o.preprocess.fov_mm = {64, 64, 48};
  o.cache_root = cache;
  o.threads = 2;
  return o;
}

TEST(Cohort, SecondBuildComesFromTheCacheAndEqualsDirectPreprocessing) {
  test::TempDir dir;
  make_cohort(dir / "data");
  const Dataset ds = discover_brats(dir / "data");
  const auto opts = small_options(dir / "cache");
  const auto first = PreprocessedCohort::build(ds, opts);
  EXPECT_EQ(first.computed(), 3);
  EXPECT_EQ(first.shape(), (std::array<int64_t, 3>{16, 16, 12}));
  int calls = 0;
  const auto second = PreprocessedCohort::build(ds, opts, [&](int64_t, int64_t, const std::string&, bool cached) {
    EXPECT_TRUE(cached);
    ++calls;
  });
  EXPECT_EQ(second.computed(), 0);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(second.labels(), (std::vector<int>{1, 0, 1}));

  const PreprocessedCase direct = preprocess_case(ds.subjects[2].files, opts.preprocess);
  const auto img = second.image(2);
  ASSERT_EQ(img.sizes(), (std::vector<int64_t>{4, 16, 16, 12}));
  for (int m = 0; m < 4; ++m) {
    const auto& v = direct.images[static_cast<size_t>(m)].data;
    const auto expected = torch::from_blob(const_cast<float*>(v.data()), {16, 16, 12}).clone();
    EXPECT_TRUE(torch::equal(img[m], expected)) << "modality " << m;
  }
  const auto seg = second.seg(2);
  ASSERT_TRUE(seg.defined());
  EXPECT_GT(seg.sum().item<int64_t>(), 0);
  EXPECT_EQ(second.images({0, 2}).sizes(), (std::vector<int64_t>{2, 4, 16, 16, 12}));
}

TEST(Cohort, ChangedInputOrSettingsArePreprocessedAgain) {
  test::TempDir dir;
  make_cohort(dir / "data");
  const Dataset ds = discover_brats(dir / "data");
  auto opts = small_options(dir / "cache");
  PreprocessedCohort::build(ds, opts);
  // Touching one file (new mtime) invalidates that subject only.
  const fs::path f = ds.subjects[1].files.images[0];
  fs::last_write_time(f, fs::last_write_time(f) + std::chrono::seconds(5));
  EXPECT_EQ(PreprocessedCohort::build(ds, opts).computed(), 1);
  opts.preprocess.spacing_mm = 8.0;
  EXPECT_EQ(PreprocessedCohort::build(ds, opts).computed(), 3);
}

TEST(Cohort, CorruptOrTruncatedCacheFilesAreNeverReadBack) {
  test::TempDir dir;
  make_cohort(dir / "data");
  const Dataset ds = discover_brats(dir / "data");
  const auto opts = small_options(dir / "cache");
  const auto cohort = PreprocessedCohort::build(ds, opts);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cohort.cache_dir()))
    if (e.path().extension() == ".mpc") files.push_back(e.path());
  ASSERT_EQ(files.size(), 3u);
  std::sort(files.begin(), files.end());
  // Truncate one (as a kill during writing without the atomic rename would), flip a byte in another.
  fs::resize_file(files[0], fs::file_size(files[0]) / 2);
  {
    std::fstream io(files[1], std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(1000);
    io.put('\x7f');
  }
  for (const auto& f : {files[0], files[1]}) {
    try {
      open_cache_file(f);
      FAIL() << "corrupt file accepted: " << f;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(f.string()), std::string::npos);
    }
  }
  const auto rebuilt = PreprocessedCohort::build(ds, opts);
  EXPECT_EQ(rebuilt.computed(), 2);
  EXPECT_TRUE(torch::equal(rebuilt.image(0), PreprocessedCohort::build(ds, opts).image(0)));
}

// A process killed between creating and renaming a cache file leaves "<file>.tmp-<pid>-<n>".
// build() removes those of its own cache folder once they are old; a young one (a concurrent
// builder's, still being written) and anything not named like our temporaries stay.
TEST(Cohort, StaleTemporariesOfKilledBuildsAreRemoved) {
  test::TempDir dir;
  make_cohort(dir / "data");
  const Dataset ds = discover_brats(dir / "data");
  const auto opts = small_options(dir / "cache");
  const fs::path cache = PreprocessedCohort::build(ds, opts).cache_dir();
  const auto two_hours_ago = fs::file_time_type::clock::now() - std::chrono::hours(2);
  auto plant = [&](const std::string& name, bool old) {
    std::ofstream(cache / name) << "partial";
    if (old) fs::last_write_time(cache / name, two_hours_ago);
    return cache / name;
  };
  const fs::path stale_case = plant("S0-0123456789abcdef.mpc.tmp-4242-0", true);
  const fs::path stale_settings = plant("settings.json.tmp-4242-1", true);
  const fs::path young = plant("S1-0123456789abcdef.mpc.tmp-4243-0", false);
  const fs::path not_ours = plant("notes.txt.tmp-4242-2", true);
  const fs::path odd_suffix = plant("S2-0123456789abcdef.mpc.tmp-backup", true);
  const fs::path folder = cache / "S2.mpc.tmp-1-2";
  fs::create_directory(folder);
  fs::last_write_time(folder, two_hours_ago);

  const auto again = PreprocessedCohort::build(ds, opts);
  EXPECT_EQ(again.computed(), 0);
  EXPECT_FALSE(fs::exists(stale_case));
  EXPECT_FALSE(fs::exists(stale_settings));
  EXPECT_TRUE(fs::exists(young)) << "a concurrent builder's temporary was removed";
  EXPECT_TRUE(fs::exists(not_ours));
  EXPECT_TRUE(fs::exists(odd_suffix));
  EXPECT_TRUE(fs::is_directory(folder));
  // The cache files themselves are untouched.
  size_t mpc = 0;
  for (const auto& e : fs::directory_iterator(cache)) mpc += e.path().extension() == ".mpc";
  EXPECT_EQ(mpc, 3u);
}

TEST(Cohort, SubjectErrorsAreCollected) {
  test::TempDir dir;
  make_cohort(dir / "data");
  // Make two subjects unreadable in different ways.
  std::ofstream(dir / "data" / "S0" / "S0_t2.nii.gz") << "not a nifti file";
  std::ofstream(dir / "data" / "S2" / "S2_flair.nii.gz") << "garbage";
  DatasetOptions d;
  d.check_geometry = false;
  const Dataset ds = discover_brats(dir / "data", d);
  try {
    PreprocessedCohort::build(ds, small_options(dir / "cache"));
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2 subject(s) could not be preprocessed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("S0_t2.nii.gz"), std::string::npos) << msg;
    EXPECT_NE(msg.find("S2_flair.nii.gz"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace mprotonet
