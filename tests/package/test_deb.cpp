// SPDX-License-Identifier: MIT
// tests/package: the Debian package. `cpack -G DEB` from the build folder's CPack configuration
// (cmake/Install.cmake), checked with dpkg-deb: control fields, dependencies (the runtime packages
// of the libraries the binary loads, found independently with readelf + ldd + dpkg -S; never a
// -dev package), the file list, and the binary extracted with dpkg -x run with its own data.
// Own ctest label (package): building the .deb takes longer than the other release checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "common/debian_packages.h"
#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class Deb : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    skip_ = new std::string(test::non_debian_libtorch(test::cli_path()));
    if (!skip_->empty()) return;
    const fs::path out = dir_->path() / "out";
    const auto r = test::run_command("cpack --config " + q(fs::path(MPROTONET_BINARY_DIR) / "CPackConfig.cmake") +
                                     " -G DEB -B " + q(out) + " 2>&1");
    log_ = new std::string(r.output);
    if (r.exit_code != 0) return;
    for (const auto& e : fs::directory_iterator(out))
      if (e.path().extension() == ".deb") deb_ = new fs::path(e.path());
  }
  static void TearDownTestSuite() {
    dir_.reset();
    delete log_;
    delete deb_;
    delete skip_;
    deb_ = nullptr;
  }
  void SetUp() override {
    if (!skip_->empty()) GTEST_SKIP() << *skip_;
    ASSERT_NE(deb_, nullptr) << "cpack wrote no .deb:\n" << *log_;
  }

  static std::string field(const std::string& name) {
    const auto r = test::run_command("dpkg-deb -f " + q(*deb_) + " " + name);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return first_line(r.output);
  }

  static std::unique_ptr<test::TempDir> dir_;
  static std::string* log_;
  static fs::path* deb_;
  static std::string* skip_;
};
std::unique_ptr<test::TempDir> Deb::dir_;
std::string* Deb::log_ = nullptr;
fs::path* Deb::deb_ = nullptr;
std::string* Deb::skip_ = nullptr;

// Package names of a Depends field ("a (>= 1), b | c" -> a, b, c).
std::set<std::string> depends_names(const std::string& depends) {
  std::set<std::string> out;
  const std::regex name_re("(^|[,|])\\s*([a-z0-9][a-z0-9+.-]+)");
  for (auto it = std::sregex_iterator(depends.begin(), depends.end(), name_re); it != std::sregex_iterator(); ++it)
    out.insert((*it)[2]);
  return out;
}

TEST(DebHelpers, DependsNamesIgnoreVersionsAndAlternatives) {
  EXPECT_EQ(depends_names("libc6 (>= 2.34), libtorch1.13, libblas3 | libblas.so.3, libstdc++6 (>= 12)"),
            (std::set<std::string>{"libc6", "libtorch1.13", "libblas3", "libblas.so.3", "libstdc++6"}));
}

TEST_F(Deb, ControlFieldsAndRuntimeDependencies) {
  EXPECT_EQ(field("Package"), "mprotonet");
  EXPECT_EQ(field("Version"), MPROTONET_VERSION);
  EXPECT_EQ(field("Architecture"), first_line(test::run_command("dpkg --print-architecture").output));
  EXPECT_EQ(field("Section"), "science");
  EXPECT_FALSE(field("Maintainer").empty());
  EXPECT_NE(field("Description").find("MProtoNet"), std::string::npos);

  const std::string depends = field("Depends");
  const auto names = depends_names(depends);
  for (const char* runtime : {"libtorch1.13", "libnifti2-2", "libpng16-16", "zlib1g", "libc6", "libstdc++6"})
    EXPECT_TRUE(names.count(runtime)) << runtime << " missing from Depends: " << depends;
  for (const auto& n : names) {
    EXPECT_FALSE(n.size() > 4 && n.compare(n.size() - 4, 4, "-dev") == 0) << "build package in Depends: " << n;
    // A real package (installed here, since this machine runs the binary).
    EXPECT_EQ(test::run_command("dpkg-query -W -f='${Status}' " + test::shell_quote(n) + " | grep -q 'ok installed'")
                  .exit_code,
              0)
        << n;
  }
  // Every library the binary loads directly is covered by a dependency.
  for (const auto& [soname, package] : test::needed_library_packages(test::cli_path()))
    EXPECT_TRUE(names.count(package)) << "the binary loads " << soname << " of " << package
                                      << ", which Depends does not name: " << depends;
}

TEST_F(Deb, ContentsAreTheInstallLayoutUnderUsr) {
  const auto list = test::run_command("dpkg-deb -c " + q(*deb_));
  ASSERT_EQ(list.exit_code, 0) << list.output;
  for (const char* path : {"./usr/bin/mprotonet", "./usr/share/mprotonet/README.md", "./usr/share/doc/mprotonet/LICENSE",
                           "./usr/share/doc/mprotonet/THIRD_PARTY.md", "./usr/share/doc/mprotonet/CITATION.cff",
                           "./usr/share/doc/mprotonet/README.md", "./usr/share/man/man1/mprotonet.1.gz"})
    EXPECT_NE(list.output.find(" " + std::string(path) + "\n"), std::string::npos) << path << "\n" << list.output;
  std::istringstream in(list.output);
  for (std::string line; std::getline(in, line);) {
    EXPECT_NE(line.find(" root/root "), std::string::npos) << line;
    EXPECT_NE(line.find(" ./usr/"), std::string::npos) << line;  // nothing outside /usr
  }
}

TEST_F(Deb, ExtractedBinaryRunsWithItsOwnData) {
  test::TempDir root;
  const auto x = test::run_command("dpkg -x " + q(*deb_) + " " + q(root.path()) + " 2>&1");
  ASSERT_EQ(x.exit_code, 0) << x.output;
  const std::string exe = "env -u MPROTONET_DATA_DIR " + q(root / "usr/bin/mprotonet");
  EXPECT_EQ(test::run_command(exe + " --version").output, test::run_command(q(test::cli_path()) + " --version").output);

  const auto found = test::run_command(exe + " info --resource README.md");
  ASSERT_EQ(found.exit_code, 0) << found.output;
  EXPECT_EQ(fs::canonical(first_line(found.output)), fs::canonical(root / "usr/share/mprotonet/README.md"));

  const fs::path data = root / "cohort";
  const auto synth =
      test::run_command(exe + " synth --out " + q(data) + " --cases 2 --shape 48,48,32 --spacing 4 2>&1");
  ASSERT_EQ(synth.exit_code, 0) << synth.output;
  EXPECT_TRUE(fs::is_regular_file(data / "name_mapping.csv"));
}

}  // namespace
}  // namespace mprotonet
