// SPDX-License-Identifier: MIT
// Output paths stay inside the folders the user gave: subject ids from data (name_mapping.csv
// rows) that contain path separators or are "."/".." are rejected with a clear Error, and the
// commands that write files create nothing outside their output / cache folders.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "robustness/robustness_util.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PathSafety, PathComponentAcceptsPlainNamesOnly) {
  EXPECT_NO_THROW(check_path_component("BraTS20_Training_001", "subject id"));
  EXPECT_NO_THROW(check_path_component("TCGA-DU-7294", "subject id"));
  EXPECT_NO_THROW(check_path_component("a..b", "subject id"));  // dots inside a name are fine
  const std::vector<std::string> bads{"../../etc/x", "a/b", "/etc", "a\\b", "..", ".", "", "x\ny", std::string("x\0y", 3)};
  for (const std::string& bad : bads) {
    const std::string msg = error_of([&] { check_path_component(bad, "subject id"); });
    EXPECT_NE(msg.find("is not a valid subject id"), std::string::npos) << "'" << bad << "': " << msg;
  }
  EXPECT_EQ(child_path("/out", "S1", "subject id"), fs::path("/out/S1"));
  EXPECT_THROW(child_path("/out", "../S1", "subject id"), Error);
}

TEST(PathSafety, GradeTableRejectsIdsThatAreNotFolderNames) {
  test::TempDir dir;
  const fs::path csv = dir / "name_mapping.csv";
  std::ofstream(csv) << "Grade,ID\nHGG,S1\nLGG,../../etc/x\nHGG,..\nLGG,a\\b\nHGG,/abs\n";
  const std::string msg = error_of([&] { read_grade_table(csv); });
  EXPECT_NE(msg.find(csv.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 3: subject id '../../etc/x' is not a valid subject id (it contains a path separator"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("line 4: subject id '..'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 5: subject id 'a\\b'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 6: subject id '/abs'"), std::string::npos) << msg;
}

// Even when the traversal target exists and is a perfect case folder, it is not used.
TEST(PathSafety, TraversalIdIsRejectedEvenWhenItsFolderExists) {
  test::TempDir dir;
  test::write_tiny_cohort(dir / "cohort", 4);
  // Move one subject out of the cohort and point the table at it with "../".
  std::string moved;
  for (const auto& e : fs::directory_iterator(dir / "cohort"))
    if (e.is_directory()) moved = e.path().filename().string();
  ASSERT_FALSE(moved.empty());
  fs::rename(dir / "cohort" / moved, dir / moved);
  std::string csv = read_text_file(dir / "cohort/name_mapping.csv");
  const auto pos = csv.find(moved);
  ASSERT_NE(pos, std::string::npos);
  csv.replace(pos, moved.size(), "../" + moved);
  write_text_atomically(dir / "cohort/name_mapping.csv", csv);
  fs::create_directories(dir / "out");
  const auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " dataset --data " +
                                   test::shell_quote((dir / "cohort").string()) + " --json " +
                                   test::shell_quote((dir / "out/d.json").string()) + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("subject id '../" + moved + "' is not a valid subject id"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_empty(dir / "out"));
}

std::set<fs::path> all_files(const fs::path& root) {
  std::set<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (!e.is_directory()) out.insert(fs::relative(e.path(), root));
  return out;
}

// Runs the writing commands with HOME, TMPDIR and the cache variables pointed into a sandbox;
// every file they create must lie under the folder given on the command line.
TEST(PathSafety, CommandsWriteOnlyInsideTheFoldersGiven) {
  test::TempDir box;
  test::write_tiny_cohort(box / "data", 4);
  for (const char* d : {"home", "tmp", "out", "out/ds"}) fs::create_directories(box / d);  // --json needs its folder
  const auto before = all_files(box.path());
  std::string id;
  for (const auto& e : fs::directory_iterator(box / "data"))
    if (e.is_directory()) id = e.path().filename().string();
  const std::string env = "env -u MPROTONET_CACHE -u XDG_CACHE_HOME HOME=" + test::shell_quote((box / "home").string()) +
                          " TMPDIR=" + test::shell_quote((box / "tmp").string()) + " " +
                          test::shell_quote(test::cli_path().string());
  const std::string data = test::shell_quote((box / "data").string());
  const std::string out = (box / "out").string();
  for (const std::string args :
       {" preprocess --data " + data + " --cache " + out + "/cache --spacing 6 --threads 1",
        " preprocess --case " + data + "/" + id + " --out " + out + "/pp --spacing 6",
        " dataset --data " + data + " --folds 0 --json " + out + "/ds/dataset.json"}) {
    const auto r = test::run_command(env + args + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  }
  for (const auto& f : all_files(box.path())) {
    if (before.count(f)) continue;
    const std::string s = f.string();
    EXPECT_TRUE(s.rfind("out/cache/", 0) == 0 || s.rfind("out/pp/", 0) == 0 || s.rfind("out/ds/", 0) == 0)
        << "written outside the given folders: " << s;
    EXPECT_EQ(s.find(".tmp-"), std::string::npos) << "temporary file left: " << s;
  }
  EXPECT_TRUE(fs::exists(box / "out/pp/t1.nii.gz"));
  EXPECT_TRUE(fs::exists(box / "out/ds/dataset.json"));
}

}  // namespace
}  // namespace mprotonet
