// SPDX-License-Identifier: MIT
// tests/release: third-party notices. THIRD_PARTY.md's table "Files in this repository" must list
// every file shipped under tests/data/, resources/ and third_party/ (a path glob per row), each
// row must still match a file, and every shared library the CLI loads directly must be named with
// its Debian package in the library table.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "common/debian_packages.h"
#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

struct Row {
  std::string glob;
  std::vector<std::string> cells;  // every cell, the glob's first
};

// A path glob as a regex: `**` any characters, `*` and `?` within one folder.
std::regex glob_regex(const std::string& glob) {
  std::string re;
  for (size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '*' && i + 1 < glob.size() && glob[i + 1] == '*') {
      re += ".*";
      ++i;
    } else if (c == '*') {
      re += "[^/]*";
    } else if (c == '?') {
      re += "[^/]";
    } else if (std::string("\\^$.|+()[]{}").find(c) != std::string::npos) {
      re += std::string("\\") + c;
    } else {
      re += c;
    }
  }
  return std::regex(re);
}

bool matches(const std::string& glob, const std::string& path) { return std::regex_match(path, glob_regex(glob)); }

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// The rows of the table under "## Files in this repository": lines "| `glob` | ... |".
std::vector<Row> file_rows(const std::string& markdown) {
  std::vector<Row> rows;
  std::istringstream in(markdown);
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Files in this repository";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    Row row;
    std::string cell;
    std::istringstream cells(line.substr(1));
    while (std::getline(cells, cell, '|')) row.cells.push_back(trim(cell));
    while (!row.cells.empty() && row.cells.back().empty()) row.cells.pop_back();
    const std::string& first = row.cells.front();
    row.glob = first.size() > 2 ? first.substr(1, first.size() - 2) : "";
    rows.push_back(row);
  }
  return rows;
}

// Every regular file below the shipped data folders, relative to the checkout.
std::vector<std::string> shipped_data_files() {
  std::vector<std::string> out;
  for (const char* top : {"tests/data", "resources", "third_party"}) {
    const fs::path dir = test::source_dir() / top;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path().lexically_relative(test::source_dir()).generic_string());
  }
  return out;
}

TEST(Notices, GlobsMatchWithinAndAcrossFolders) {
  EXPECT_TRUE(matches("tests/data/nifti/nibabel/*", "tests/data/nifti/nibabel/anatomical.nii"));
  EXPECT_FALSE(matches("tests/data/nifti/niivue/*", "tests/data/nifti/niivue/nifti_space/LPS.nii.gz"));
  EXPECT_TRUE(matches("tests/data/nifti/niivue/**", "tests/data/nifti/niivue/nifti_space/LPS.nii.gz"));
  EXPECT_TRUE(matches("tests/data/brats/*/*.nii.gz", "tests/data/brats/TCGA-DU-7294/TCGA-DU-7294_t1.nii.gz"));
  EXPECT_FALSE(matches("tests/data/brats/*/*.nii.gz", "tests/data/brats/TCGA-DU-7294/x_nii.gz"));  // '.' is literal
  EXPECT_FALSE(matches("resources/README.md", "resources/README.md.orig"));
}

TEST(Notices, TableParsingFindsRowsOnlyInTheFilesSection) {
  const auto rows = file_rows("# T\n## Files in this repository\n| files | source |\n|---|---|\n| `a/*` | x | MIT | y |\n"
                              "## Libraries\n| `b/*` | z |\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].glob, "a/*");
  EXPECT_EQ(rows[0].cells, (std::vector<std::string>{"`a/*`", "x", "MIT", "y"}));
}

TEST(Notices, EveryShippedDataFileIsListedAndEveryRowMatchesAFile) {
  const auto rows = file_rows(read_text_file(test::source_dir() / "THIRD_PARTY.md"));
  ASSERT_GE(rows.size(), 5u);
  for (const auto& row : rows) {
    ASSERT_EQ(row.cells.size(), 4u) << "row " << row.glob << ": expected | files | source | licence | attribution |";
    EXPECT_FALSE(row.cells[1].empty()) << row.glob << ": no source";
    EXPECT_FALSE(row.cells[2].empty()) << row.glob << ": no licence";
    EXPECT_FALSE(row.cells[3].empty()) << row.glob << ": no attribution (write — for the project's own files)";
  }
  const auto files = shipped_data_files();
  ASSERT_GT(files.size(), 100u);
  std::string unlisted;
  std::set<std::string> used;
  for (const auto& f : files) {
    bool listed = false;
    for (const auto& row : rows) {
      if (matches(row.glob, f)) {
        listed = true;
        used.insert(row.glob);
      }
    }
    if (!listed) unlisted += "\n  " + f;
  }
  EXPECT_TRUE(unlisted.empty()) << "files without a row in THIRD_PARTY.md (add their source, licence and attribution):"
                                << unlisted;
  for (const auto& row : rows) EXPECT_TRUE(used.count(row.glob)) << "THIRD_PARTY.md row matches no file: " << row.glob;
}

// The Debian package of each shared library the CLI loads directly (common/debian_packages.h)
// must be named in the library table.
TEST(Notices, EveryDirectlyLinkedLibraryIsNamedWithItsDebianPackage) {
  if (const auto skip = test::non_debian_libtorch(test::cli_path()); !skip.empty()) GTEST_SKIP() << skip;
  const std::string notices = read_text_file(test::source_dir() / "THIRD_PARTY.md");
  const auto packages = test::needed_library_packages(test::cli_path());
  EXPECT_GE(packages.size(), 5u);  // libtorch, nifti, png, zlib, libstdc++, ...
  for (const auto& [soname, package] : packages)
    EXPECT_NE(notices.find("`" + package + "`"), std::string::npos)
        << soname << " comes from Debian package " << package << ", which THIRD_PARTY.md does not name";
}

}  // namespace
}  // namespace mprotonet
