// SPDX-License-Identifier: MIT
// tests/release: the licence. LICENSE is the MIT text with the project's copyright, and every
// source file carries the one-line SPDX identifier (checked here by a walk of its own, so that a
// file the script overlooks is still caught); scripts/spdx.sh adds the line idempotently.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

const char kTag[] = "SPDX-License-Identifier: MIT";

bool has_extension(const fs::path& p, std::initializer_list<const char*> exts) {
  const std::string e = p.extension().string();
  return std::any_of(exts.begin(), exts.end(), [&](const char* x) { return e == x; });
}

std::string first_bytes(const fs::path& p, size_t n) {
  std::ifstream in(p, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

// Comment marker of a covered source file, or "" for a file the rule does not cover: C++, Python,
// shell (by extension, or an extension-less file starting with #!) and CMake files.
std::string comment_of(const fs::path& p) {
  if (has_extension(p, {".cpp", ".cc", ".h", ".hpp"})) return "//";
  if (has_extension(p, {".py", ".sh", ".cmake"}) || p.filename() == "CMakeLists.txt") return "#";
  if (!p.has_extension() && first_bytes(p, 2) == "#!") return "#";
  return "";
}

// Covered files below root, relative and sorted (the rule of LICENSE's SPDX requirement, stated
// independently of scripts/spdx.sh).
std::vector<std::string> covered_sources(const fs::path& root) {
  std::set<std::string> out;
  if (fs::exists(root / "CMakeLists.txt")) out.insert("CMakeLists.txt");
  for (const char* top : {"src", "tests", "bench", "scripts", "cmake", ".ci"}) {
    if (!fs::is_directory(root / top)) continue;
    for (auto it = fs::recursive_directory_iterator(root / top); it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_directory() && it->path().filename() == "__pycache__") {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && !comment_of(it->path()).empty())
        out.insert(it->path().lexically_relative(root).generic_string());
    }
  }
  return {out.begin(), out.end()};
}

// The first line, or the second after a #! line, is "<comment> SPDX-License-Identifier: MIT".
bool has_spdx_line(const fs::path& p) {
  std::ifstream in(p);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  const std::string want = comment_of(p) + " " + kTag;
  return first == want || (first.rfind("#!", 0) == 0 && second == want);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string spdx_script() { return test::shell_quote((test::source_dir() / "scripts" / "spdx.sh").string()); }

TEST(Licence, IsTheMitTextWithTheProjectsCopyright) {
  const std::string text = read_text_file(test::source_dir() / "LICENSE");
  EXPECT_EQ(text.rfind("MIT License\n", 0), 0u) << text.substr(0, 80);
  EXPECT_NE(text.find("Copyright (c) 2026 the MProtoNet C++ contributors\n"), std::string::npos);
  EXPECT_NE(text.find("Permission is hereby granted, free of charge, to any person obtaining a copy"), std::string::npos);
  EXPECT_NE(text.find("The above copyright notice and this permission notice shall be included in all\ncopies or "
                      "substantial portions of the Software."),
            std::string::npos);
  EXPECT_NE(text.find("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND"), std::string::npos);
}

TEST(Licence, EverySourceFileHasTheSpdxLine) {
  const auto files = covered_sources(test::source_dir());
  ASSERT_GT(files.size(), 150u);  // the walk found the tree (src, tests, bench, scripts)
  std::string missing;
  for (const auto& f : files)
    if (!has_spdx_line(test::source_dir() / f)) missing += "\n  " + f;
  EXPECT_TRUE(missing.empty()) << "source files without `// SPDX-License-Identifier: MIT` (or `#` ...) as their "
                                  "first line (after #!): run scripts/spdx.sh"
                               << missing;
}

TEST(Licence, ScriptCoversTheSameFilesAsThisTest) {
  const auto r = test::run_command(spdx_script() + " --list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(lines_of(r.output), covered_sources(test::source_dir()));
}

TEST(Licence, ScriptAddsTheLineOnceKeepingShebangsAndModes) {
  test::TempDir tmp;
  const fs::path root = tmp.path();
  for (const char* d : {"src/core", "scripts", "tests/helpers", "tests/data", "tests/fuzz/regressions", ".ci"})
    fs::create_directories(root / d);
  write_text_atomically(root / "src/core/a.cpp", "// What a.cpp holds.\nint a();\n");
  write_text_atomically(root / "scripts/b.sh", "#!/usr/bin/env bash\necho b\n");
  fs::permissions(root / "scripts/b.sh", fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  write_text_atomically(root / "tests/helpers/c.py", "# SPDX-License-Identifier: MIT\n\"\"\"c\"\"\"\n");
  write_text_atomically(root / "CMakeLists.txt", "project(x)\n");
  write_text_atomically(root / ".ci/run", "#!/bin/sh\nexit 0\n");
  write_text_atomically(root / "tests/data/d.json", "{}\n");                         // data: not covered
  write_text_atomically(root / "tests/fuzz/regressions/crash-1", "\x01\x02 binary");  // no #!: not covered
  const std::string env = "MPROTONET_SPDX_ROOT=" + test::shell_quote(root.string()) + " ";

  const auto check = test::run_command(env + spdx_script() + " --check");
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_EQ(lines_of(check.output),
            (std::vector<std::string>{"missing SPDX line: .ci/run", "missing SPDX line: CMakeLists.txt",
                                      "missing SPDX line: scripts/b.sh", "missing SPDX line: src/core/a.cpp"}));

  const auto fix = test::run_command(env + spdx_script());
  ASSERT_EQ(fix.exit_code, 0) << fix.output;
  EXPECT_EQ(read_text_file(root / "src/core/a.cpp"), "// SPDX-License-Identifier: MIT\n// What a.cpp holds.\nint a();\n");
  EXPECT_EQ(read_text_file(root / "scripts/b.sh"), "#!/usr/bin/env bash\n# SPDX-License-Identifier: MIT\necho b\n");
  EXPECT_EQ(read_text_file(root / "CMakeLists.txt"), "# SPDX-License-Identifier: MIT\nproject(x)\n");
  EXPECT_EQ(read_text_file(root / ".ci/run"), "#!/bin/sh\n# SPDX-License-Identifier: MIT\nexit 0\n");
  EXPECT_EQ(read_text_file(root / "tests/helpers/c.py"), "# SPDX-License-Identifier: MIT\n\"\"\"c\"\"\"\n");
  EXPECT_EQ(read_text_file(root / "tests/data/d.json"), "{}\n");
  EXPECT_EQ(fs::status(root / "scripts/b.sh").permissions() & fs::perms::owner_exec, fs::perms::owner_exec);

  // Idempotent: a second run changes nothing and the check passes.
  const auto again = test::run_command(env + spdx_script());
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.output, "");
  EXPECT_EQ(read_text_file(root / "scripts/b.sh"), "#!/usr/bin/env bash\n# SPDX-License-Identifier: MIT\necho b\n");
  EXPECT_EQ(test::run_command(env + spdx_script() + " --check").exit_code, 0);
}

}  // namespace
}  // namespace mprotonet
