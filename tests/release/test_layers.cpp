// SPDX-License-Identifier: MIT
// tests/release: the pipeline stages are layered by the build (CMakeLists.txt, "one static library
// per pipeline stage"). Each stage compiles against its own include root, build/layers/<stage>,
// which holds its own folder and those of the stages below it that it uses; a header of a stage
// above is not there, so including it fails to compile. Checked with the compiler itself, on
// engines/run_folder.h (a light header): visible from engines, not from io or report.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "common/test_util.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

// The C++ compiler: $CXX, else c++ (the machine built the project, so it has one).
std::string compiler() {
  const char* cxx = std::getenv("CXX");
  return cxx != nullptr && *cxx != '\0' ? cxx : "c++";
}

fs::path layer_root(const std::string& stage) { return fs::path(MPROTONET_BINARY_DIR) / "layers" / stage; }

// Compiles (syntax only) a file holding one #include against one stage's include root.
test::CommandResult compile_include(const std::string& stage, const std::string& header, const test::TempDir& tmp) {
  const fs::path src = tmp / (stage + ".cpp");
  std::ofstream(src) << "#include \"" << header << "\"\nint main() { return 0; }\n";
  return test::run_command(compiler() + " -std=c++17 -fsyntax-only -I" + layer_root(stage).string() +
                           " " + src.string() + " 2>&1");
}

std::set<std::string> visible(const std::string& stage) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(layer_root(stage) / "mprotonet")) out.insert(e.path().filename().string());
  return out;
}

TEST(Layers, AHeaderOfAStageAboveDoesNotCompile) {
  test::TempDir tmp;
  const auto engines = compile_include("engines", "mprotonet/engines/run_folder.h", tmp);
  EXPECT_EQ(engines.exit_code, 0) << engines.output;  // the control: the snippet itself compiles
  for (const char* lower : {"io", "report"}) {
    const auto r = compile_include(lower, "mprotonet/engines/run_folder.h", tmp);
    EXPECT_NE(r.exit_code, 0) << lower << " sees engines/run_folder.h:\n" << r.output;
    EXPECT_NE(r.output.find("run_folder.h"), std::string::npos) << r.output;
  }
}

TEST(Layers, EachStageSeesOnlyItselfAndTheStagesBelowIt) {
  const std::vector<std::string> order{"core", "io", "transforms", "data", "nets", "losses",
                                       "attribution", "metrics", "report", "engines"};
  for (size_t s = 0; s < order.size(); ++s) {
    const auto seen = visible(order[s]);
    EXPECT_TRUE(seen.count(order[s])) << order[s] << " does not see its own headers";
    EXPECT_TRUE(seen.count("core")) << order[s];
    for (size_t above = s + 1; above < order.size(); ++above)
      EXPECT_FALSE(seen.count(order[above])) << order[s] << " sees " << order[above] << ", a stage above it";
  }
  // Beside, not below: the data and the networks do not know each other; losses need only core.
  EXPECT_FALSE(visible("nets").count("data"));
  EXPECT_EQ(visible("losses"), (std::set<std::string>{"core", "losses"}));
  EXPECT_EQ(visible("engines").size(), order.size());
}

}  // namespace
}  // namespace mprotonet
