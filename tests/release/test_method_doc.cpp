// SPDX-License-Identifier: MIT
// tests/release: the method the code implements is described in the repository (docs/method.md),
// and every citation of it points somewhere: each `method.md#anchor` in the sources, the README and
// the docs names an `<a id="anchor">` of docs/method.md, and nothing cites a description users do
// not have (the team's specification, "SPEC n").
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

std::vector<fs::path> cited_files() {
  std::vector<fs::path> out{test::source_dir() / "README.md"};
  for (const char* top : {"src", "tests", "bench", "scripts", "docs"})
    for (const auto& e : fs::recursive_directory_iterator(test::source_dir() / top)) {
      const std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".cpp" || ext == ".h" || ext == ".py" || ext == ".sh" || ext == ".md"))
        out.push_back(e.path());
    }
  return out;
}

std::set<std::string> anchors_of(const std::string& text) {
  std::set<std::string> out;
  const std::regex id(R"re(<a id="([a-z0-9-]+)")re");
  for (std::sregex_iterator it(text.begin(), text.end(), id), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

TEST(MethodDoc, EveryCitedAnchorExists) {
  const auto anchors = anchors_of(read_text_file(test::source_dir() / "docs/method.md"));
  ASSERT_GT(anchors.size(), 20u);
  for (const char* a : {"paper-rows", "preprocessing", "metrics", "significance", "checkpoints"})
    EXPECT_TRUE(anchors.count(a)) << a;
  const std::regex cite(R"(method\.md#([a-z0-9-]+))");
  size_t citations = 0;
  for (const auto& f : cited_files()) {
    const std::string text = read_text_file(f);
    for (std::sregex_iterator it(text.begin(), text.end(), cite), end; it != end; ++it) {
      const std::string a = (*it)[1];
      if (a == "anchor") continue;  // method.md's own sentence about the citation form
      ++citations;
      EXPECT_TRUE(anchors.count(a)) << f.string() << " cites docs/method.md#" << a << ", which has no <a id=\"" << a << "\">";
    }
  }
  EXPECT_GT(citations, 50u);  // the walk found the citations
}

TEST(MethodDoc, NothingCitesTheTeamsSpecification) {
  const std::regex spec(R"(SPEC( section| §)? ?[0-9]|SPEC\.md|the SPEC\b)");
  for (const auto& f : cited_files()) {
    if (f.filename() == "test_method_doc.cpp") continue;  // holds the pattern itself
    const std::string text = read_text_file(f);
    std::smatch m;
    EXPECT_FALSE(std::regex_search(text, m, spec)) << f.string() << " cites '" << m.str() << "'; cite docs/method.md#anchor";
  }
}

TEST(MethodDoc, TheChecksSeeAMissingAnchorAndASpecCitation) {
  EXPECT_EQ(anchors_of("x <a id=\"losses\"></a>\n## Losses"), std::set<std::string>{"losses"});
  EXPECT_TRUE(std::regex_search(std::string("(SPEC 7)"), std::regex(R"(SPEC( section| §)? ?[0-9])")));
}

}  // namespace
}  // namespace mprotonet
