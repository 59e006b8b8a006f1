// SPDX-License-Identifier: MIT
// tests/release: how to cite. CITATION.cff is valid Citation File Format 1.2.0 (checked by
// Debian's jsonschema against the published schema, tests/data/cff/), names this software with
// the project's version and the MProtoNet paper; the README's "Citing" section says the same.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {
namespace {

const char kTitle[] =
    "MProtoNet: A Case-Based Interpretable Model for Brain Tumor Classification with 3D Multi-parametric Magnetic "
    "Resonance Imaging";

test::CommandResult check_cff(const fs::path& cff) {
  const fs::path schema = test::data_path("cff/schema-1.2.0.json");
  return test::run_command(test::python() + " " +
                           test::shell_quote((test::source_dir() / "tests/helpers/cff_check.py").string()) + " " +
                           test::shell_quote(schema.string()) + " " + test::shell_quote(cff.string()) + " 2>&1");
}

// README's section "## <title>" up to the next "## ".
std::string readme_section(const std::string& title) {
  const std::string readme = read_text_file(test::source_dir() / "README.md");
  const auto start = readme.find("\n## " + title + "\n");
  if (start == std::string::npos) return "";
  const auto end = readme.find("\n## ", start + 1);
  return readme.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(Citation, CffIsValidAndCitesThisSoftwareAndThePaper) {
  const auto r = check_cff(test::source_dir() / "CITATION.cff");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json cff = json::parse(r.output);
  EXPECT_EQ(cff.at("cff-version"), "1.2.0");
  EXPECT_EQ(cff.at("type"), "software");
  EXPECT_EQ(cff.at("version"), MPROTONET_VERSION);  // the version CMake's project() declares
  EXPECT_EQ(cff.at("license"), "MIT");
  EXPECT_EQ(cff.at("authors").at(0).at("name"), "the MProtoNet C++ contributors");

  const json& paper = cff.at("references").at(0);
  EXPECT_EQ(paper.at("type"), "conference-paper");
  EXPECT_EQ(paper.at("title"), kTitle);
  ASSERT_EQ(paper.at("authors").size(), 3u);
  const char* family[] = {"Wei", "Tam", "Tang"};
  const char* given[] = {"Yuanyuan", "Roger", "Xiaoying"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(paper.at("authors").at(i).at("family-names"), family[i]);
    EXPECT_EQ(paper.at("authors").at(i).at("given-names"), given[i]);
  }
  EXPECT_EQ(paper.at("volume"), 227);
  EXPECT_EQ(paper.at("start"), 1798);
  EXPECT_EQ(paper.at("end"), 1812);
  EXPECT_EQ(paper.at("publisher").at("name"), "PMLR");
  EXPECT_NE(paper.at("conference").at("name").get<std::string>().find("MIDL 2023"), std::string::npos);
}

TEST(Citation, TheCheckRejectsInvalidFiles) {
  test::TempDir tmp;
  const std::string good = read_text_file(test::source_dir() / "CITATION.cff");
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? s : s.replace(at, from.size(), to);
  };
  const std::pair<std::string, std::string> broken[] = {
      {"old version", replaced("cff-version: 1.2.0", "cff-version: 1.1.0")},
      {"no authors", replaced("authors:\n  - name: \"the MProtoNet C++ contributors\"\n", "")},
      {"unknown key", replaced("license: MIT", "license: MIT\nlicence-typo: MIT")},
      {"bad reference type", replaced("type: conference-paper", "type: paper-of-a-conference")},
  };
  for (const auto& [what, text] : broken) {
    write_text_atomically(tmp / "CITATION.cff", text);
    const auto r = check_cff(tmp / "CITATION.cff");
    EXPECT_EQ(r.exit_code, 1) << what << ": " << r.output;
  }
}

TEST(Citation, ReadmeCitingSectionGivesThePaperAndTheSoftware) {
  const std::string citing = readme_section("Citing");
  ASSERT_FALSE(citing.empty()) << "README.md has no \"## Citing\" section";
  for (const char* s : {"CITATION.cff", "Wei", "Tam", "Tang", "Medical Imaging with Deep Learning", "227", "1798",
                        "mprotonet --version", "@software", "@inproceedings"})
    EXPECT_NE(citing.find(s), std::string::npos) << s;
  EXPECT_NE(citing.find(kTitle), std::string::npos);
  EXPECT_NE(citing.find(std::string("version = {") + MPROTONET_VERSION + "}"), std::string::npos);

  const std::string licence = readme_section("Licence");
  ASSERT_FALSE(licence.empty()) << "README.md has no \"## Licence\" section";
  for (const char* s : {"MIT", "LICENSE", "THIRD_PARTY.md", "SPDX-License-Identifier"})
    EXPECT_NE(licence.find(s), std::string::npos) << s;
}

}  // namespace
}  // namespace mprotonet
