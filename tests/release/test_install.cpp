// SPDX-License-Identifier: MIT
// tests/release: `cmake --install build --prefix P` into a temporary prefix, then the installed
// binary used from there: its files (binary, data, licence and notices, man page), its data
// lookup (the installed copy, never the source tree), and a whole small workflow (synth, train,
// evaluate, report, predict, explain) whose outputs record the version and commit of the build.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/core/version.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {
namespace {

class Installed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    const auto r = test::run_command("cmake --install " + test::shell_quote(MPROTONET_BINARY_DIR) + " --prefix " +
                                     test::shell_quote(prefix().string()) + " 2>&1");
    install_output_ = new std::string(r.output);
    install_status_ = r.exit_code;
  }
  static void TearDownTestSuite() {
    dir_.reset();
    delete install_output_;
  }
  void SetUp() override { ASSERT_EQ(install_status_, 0) << *install_output_; }

  static fs::path prefix() { return dir_->path() / "prefix"; }
  static fs::path data_dir() { return prefix() / "share" / "mprotonet"; }
  // The installed CLI, run without MPROTONET_DATA_DIR from the environment.
  static std::string installed(const std::string& args) {
    return "env -u MPROTONET_DATA_DIR " + test::shell_quote((prefix() / "bin" / "mprotonet").string()) + " " + args;
  }

  static std::unique_ptr<test::TempDir> dir_;
  static std::string* install_output_;
  static int install_status_;
};
std::unique_ptr<test::TempDir> Installed::dir_;
std::string* Installed::install_output_ = nullptr;
int Installed::install_status_ = -1;

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

TEST_F(Installed, LaysOutTheBinaryDataDocumentsAndManPage) {
  const fs::path bin = prefix() / "bin" / "mprotonet";
  ASSERT_TRUE(fs::is_regular_file(bin));
  EXPECT_NE(fs::status(bin).permissions() & fs::perms::owner_exec, fs::perms::none);

  // Every file of resources/ under share/mprotonet, identical.
  int data_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(test::source_dir() / "resources")) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = e.path().lexically_relative(test::source_dir() / "resources");
    ASSERT_TRUE(fs::is_regular_file(data_dir() / rel)) << rel;
    EXPECT_EQ(read_text_file(data_dir() / rel), read_text_file(e.path())) << rel;
    ++data_files;
  }
  EXPECT_GE(data_files, 1);
  // The vendored viewer (third_party/niivue/) beside the data, with its licence, identical.
  for (const char* f : {"niivue.umd.js", "LICENSE", "README.md"}) {
    ASSERT_TRUE(fs::is_regular_file(data_dir() / "niivue" / f)) << f;
    EXPECT_EQ(read_text_file(data_dir() / "niivue" / f), read_text_file(test::source_dir() / "third_party" / "niivue" / f)) << f;
  }

  // Licence, notices, citation and README in share/doc/mprotonet, identical.
  for (const char* doc : {"LICENSE", "THIRD_PARTY.md", "CITATION.cff", "README.md"}) {
    const fs::path installed_doc = prefix() / "share" / "doc" / "mprotonet" / doc;
    ASSERT_TRUE(fs::is_regular_file(installed_doc)) << doc;
    EXPECT_EQ(read_text_file(installed_doc), read_text_file(test::source_dir() / doc)) << doc;
  }

  // The man page, from --help of the CLI and of every subcommand (help2man), renders cleanly.
  const fs::path man = prefix() / "share" / "man" / "man1" / "mprotonet.1.gz";
  ASSERT_TRUE(fs::is_regular_file(man)) << "no man page: is help2man installed (scripts/setup.sh)?";
  const auto page = test::run_command("gzip -dc " + q(man));
  ASSERT_EQ(page.exit_code, 0) << page.output;
  for (const char* s : {".TH MPROTONET \"1\"", "mprotonet \\- interpretable 3D CNN", ".SH COMMANDS",
                        ".SS \"mprotonet synth\"", ".SS \"mprotonet predict\"", ".SS \"mprotonet info\"", "    --cases INT",
                        ".SH ENVIRONMENT", "MPROTONET_DATA_DIR", "PMLR 227", ".SH COPYRIGHT", "MIT licence"})
    EXPECT_NE(page.output.find(s), std::string::npos) << s;
  EXPECT_NE(page.output.find(std::string("\"mprotonet ") + MPROTONET_VERSION + "\""), std::string::npos);
  if (test::run_command("command -v groff").exit_code == 0) {
    const auto render = test::run_command("gzip -dc " + q(man) + " | groff -man -Tutf8 -ww -z 2>&1");
    EXPECT_EQ(render.exit_code, 0);
    EXPECT_EQ(render.output, "") << "groff warnings on the man page";
  }
}

TEST_F(Installed, ReadsItsInstalledDataAndNeverTheSourceTree) {
  const std::string source_data = (test::source_dir() / "resources").string();
  // Control: the binary in the build folder does search the source tree.
  const auto build_info = test::run_command("env -u MPROTONET_DATA_DIR " + q(test::cli_path()) + " info");
  ASSERT_EQ(build_info.exit_code, 0) << build_info.output;
  EXPECT_NE(build_info.output.find("  " + source_data + "\n"), std::string::npos) << build_info.output;

  const auto info = test::run_command(installed("info"));
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_EQ(info.output.rfind("mprotonet " + version_line() + "\n", 0), 0u) << info.output;
  EXPECT_NE(info.output.find("  " + (fs::canonical(prefix()) / "share" / "mprotonet").string() + "\n"), std::string::npos)
      << info.output;
  EXPECT_EQ(info.output.find(source_data), std::string::npos) << info.output;

  const auto found = test::run_command(installed("info --resource README.md"));
  ASSERT_EQ(found.exit_code, 0) << found.output;
  EXPECT_EQ(fs::canonical(found.output.substr(0, found.output.find('\n'))), fs::canonical(data_dir() / "README.md"));

  // Without the installed data the lookup fails, naming the file; it does not fall back.
  const fs::path moved = prefix() / "share" / "moved-data";
  fs::rename(data_dir(), moved);
  const auto missing = test::run_command(installed("info --resource README.md 2>&1"));
  const auto via_env = test::run_command("MPROTONET_DATA_DIR=" + q(moved) + " " +
                                         q(prefix() / "bin" / "mprotonet") + " info --resource README.md");
  fs::rename(moved, data_dir());
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("mprotonet: error: data file 'README.md' not found"), std::string::npos)
      << missing.output;
  EXPECT_EQ(via_env.exit_code, 0) << via_env.output;
  EXPECT_EQ(via_env.output, (moved / "README.md").string() + "\n");
}

TEST_F(Installed, RunsAWorkflowWhoseOutputsRecordTheBuild) {
  test::TempDir work;
  const fs::path data = work / "data", run = work / "run", cache = work / "cache";
  // The same version and commit as the build folder's CLI.
  const auto version = test::run_command(installed("--version"));
  EXPECT_EQ(version.output, test::run_command(q(test::cli_path()) + " --version").output);

  auto ok = [](const std::string& cmd) {
    const auto r = test::run_command(cmd + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.output;
    return r.exit_code == 0;
  };
  ASSERT_TRUE(ok(installed("synth --out " + q(data) + " --cases 6 --hgg-fraction 0.5 --shape 48,48,32 --spacing 4")));
  const std::string train = installed("train --data " + q(data) + " --out " + q(run) + " --cache " + q(cache) +
                                       " --model-name CNN3D --folds 2 --epochs 1 --features resnet18_ri --n-layers 5"
                                       " --batch-size 2 --spacing 6 --threads 2");
  ASSERT_TRUE(ok(train));
  // Resuming (nothing left to do) is not refused: the recorded build is not a setting that must agree.
  const std::string run_json = read_text_file(run / "run.json");
  ASSERT_TRUE(ok(train + " --resume"));
  EXPECT_EQ(read_text_file(run / "run.json"), run_json);
  ASSERT_TRUE(ok(installed("evaluate --run " + q(run) + " --data " + q(data) + " --cache " + q(cache) +
                           " --methods gradcam --no-faithfulness")));
  ASSERT_TRUE(ok(installed("report " + q(run) + " --cases 0 --quiet")));

  // run.json, evaluation.json and the report say which code made them.
  const json recorded = build_info_json();
  EXPECT_EQ(json::parse(read_text_file(run / "run.json")).at("mprotonet"), recorded);
  EXPECT_EQ(json::parse(read_text_file(run / "evaluation.json")).at("mprotonet"), recorded);
  const std::string html = read_text_file(run / "report.html");
  EXPECT_NE(html.find("Written by mprotonet " + version_line()), std::string::npos);
  EXPECT_NE(html.find("(trained by mprotonet " + version_line() + ")"), std::string::npos);
  EXPECT_NE(html.find("CITATION.cff"), std::string::npos);

  // predict from the installed binary gives the build folder's numbers.
  fs::path case_dir;
  for (const auto& e : fs::directory_iterator(data))
    if (e.is_directory() && case_dir.empty()) case_dir = e.path();
  ASSERT_FALSE(case_dir.empty());
  const std::string args = "predict --model " + q(run / "fold_0" / "model.mpn") + " --case " + q(case_dir) + " --json ";
  ASSERT_TRUE(ok(installed(args + q(work / "installed.json"))));
  ASSERT_TRUE(ok(q(test::cli_path()) + " " + args + q(work / "build.json")));
  const json a = json::parse(read_text_file(work / "installed.json"));
  const json b = json::parse(read_text_file(work / "build.json"));
  ASSERT_EQ(a.at("probabilities").size(), 1u);
  EXPECT_NEAR(a["probabilities"][0][1].get<double>(), b["probabilities"][0][1].get<double>(), 1e-6);
  EXPECT_EQ(a.at("predicted"), b.at("predicted"));

  // explain's viewer page takes the installed NiiVue bundle (share/mprotonet/niivue/).
  ASSERT_TRUE(ok(installed("explain --model " + q(run / "fold_0" / "model.mpn") + " --case " + q(case_dir) + " --out " +
                           q(work / "explain") + " --methods gradcam")));
  EXPECT_NE(read_text_file(work / "explain" / "index.html").find("<script src=\"niivue.umd.js\">"), std::string::npos);
  EXPECT_EQ(read_text_file(work / "explain" / "niivue.umd.js"), read_text_file(data_dir() / "niivue" / "niivue.umd.js"));
}

}  // namespace
}  // namespace mprotonet
