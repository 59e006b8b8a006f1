// SPDX-License-Identifier: MIT
// The hostile-input corpus (tests/data/bad/MANIFEST.tsv, written by make_bad_corpus.py) fed to
// the CLI: every case must fail cleanly — exit status 1..127 (an Error, not a signal or a
// sanitizer abort), a message naming the offending file and the problem, nothing left in the
// output folder (no half-written or temporary file), no hang (a guard kills one) — and the
// inputs the fuzzers once crashed on (tests/fuzz/regressions/) must read without a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <sstream>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/io/state_dict.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

// Per case, a hang guard only (no pass/fail on wall time: the machine may be busy): a hang is
// killed (status 137) and fails as a signal.
constexpr int kHangGuardSeconds = 600;

struct Case {
  std::string id, category, command, file, problem, description;
};

std::vector<Case> read_manifest() {
  std::ifstream in(test::data_path("bad/MANIFEST.tsv"));
  std::vector<Case> cases;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string field; std::getline(ss, field, '\t');) f.push_back(field);
    if (f.size() != 6) {
      ADD_FAILURE() << "malformed MANIFEST.tsv line: " << line;
      continue;
    }
    cases.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
  }
  return cases;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (!e.is_directory()) out.push_back(e.path());
  return out;
}

struct Outcome {
  test::CommandResult result;
  std::vector<fs::path> left;
};

Outcome run_case(const Case& c) {
  test::TempDir out;
  const std::string args = replace_all(replace_all(c.command, "{bad}", test::data_path("bad").string()), "{out}",
                                       out.path().string());
  Outcome o;
  // --threads is not on every command; keep libtorch to 1 thread so two cases run side by side.
  o.result = test::run_command("OMP_NUM_THREADS=1 timeout -s KILL " + std::to_string(kHangGuardSeconds) + " " +
                               test::shell_quote(test::cli_path().string()) + " " + args + " 2>&1");
  o.left = files_under(out.path());
  return o;
}

TEST(Corpus, ManifestHasEveryCategory) {
  const auto cases = read_manifest();
  EXPECT_GE(cases.size(), 20u);
  for (const char* cat : {"nifti", "brats", "config", "checkpoint"})
    EXPECT_GE(std::count_if(cases.begin(), cases.end(), [&](const Case& c) { return c.category == cat; }), 4) << cat;
}

TEST(Corpus, EveryCaseFailsCleanlyNamingTheFileAndTheProblem) {
  const auto cases = read_manifest();
  ASSERT_FALSE(cases.empty());
  fs::remove("/tmp/mpn_pwned_");
  // Two at a time: each case is one CLI process that mostly waits for libtorch to load.
  std::vector<Outcome> outcomes(cases.size());
  for (size_t i = 0; i < cases.size(); i += 2) {
    auto a = std::async(std::launch::async, [&, i] { return run_case(cases[i]); });
    if (i + 1 < cases.size()) outcomes[i + 1] = run_case(cases[i + 1]);
    outcomes[i] = a.get();
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Outcome& o = outcomes[i];
    SCOPED_TRACE(c.id + " (" + c.description + "): mprotonet " + c.command);
    EXPECT_GE(o.result.exit_code, 1) << o.result.output;
    EXPECT_LT(o.result.exit_code, 128) << "killed by a signal or the time limit\n" << o.result.output;
    EXPECT_NE(o.result.output.find("mprotonet: error:"), std::string::npos) << o.result.output;
    EXPECT_NE(o.result.output.find(c.file), std::string::npos) << "message does not name the file\n" << o.result.output;
    EXPECT_NE(lower(o.result.output).find(lower(c.problem)), std::string::npos)
        << "message does not say '" << c.problem << "'\n" << o.result.output;
    for (const auto& p : o.left) ADD_FAILURE() << "left in the output folder: " << p;
    // No sanitizer report, no uncaught-exception text.
    EXPECT_EQ(o.result.output.find("Sanitizer"), std::string::npos) << o.result.output;
    EXPECT_EQ(o.result.output.find("terminate called"), std::string::npos) << o.result.output;
  }
  EXPECT_FALSE(fs::exists("/tmp/mpn_pwned_")) << "the os.system checkpoint ran a command";
}

// Files under tests/fuzz/regressions/<target>/: inputs a fuzzer once crashed, hung or ran out
// of memory on, and hand-made hostile inputs. Each must now read or fail with an Error (never
// crash, never another exception). A missing or empty folder fails: a replay of nothing would
// assert nothing. Returns, per file name, the outcome: what `read` returns or the Error's message.
std::map<std::string, std::string> replay(const std::string& target,
                                          const std::function<std::string(const fs::path&)>& read) {
  const fs::path dir = test::source_dir() / "tests/fuzz/regressions" / target;
  std::map<std::string, std::string> outcomes;
  if (!fs::is_directory(dir)) {
    ADD_FAILURE() << "no regression folder " << dir;
    return outcomes;
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name == "README.md" || name == "EXPECTED.tsv") continue;
    SCOPED_TRACE(e.path().string());
    // The fuzz harnesses write the bytes to a .nii / .pt file; do the same.
    test::TempDir t;
    // A hand-made .nii.gz keeps its extension (nifticlib goes by the name).
    const std::string ext = target != "nifti" ? ".pt" : name.size() > 7 && name.substr(name.size() - 7) == ".nii.gz"
                                                            ? ".nii.gz"
                                                            : ".nii";
    const fs::path p = t / ("input" + ext);
    fs::copy_file(e.path(), p);
    try {
      outcomes[name] = read(p);
    } catch (const Error& ex) {
      outcomes[name] = ex.what();
    } catch (const std::exception& ex) {
      ADD_FAILURE() << "non-Error exception: " << ex.what();
      outcomes[name] = std::string("non-Error exception: ") + ex.what();
    }
  }
  EXPECT_FALSE(outcomes.empty()) << "no input files in " << dir;
  return outcomes;
}

// tests/fuzz/regressions/nifti/EXPECTED.tsv (tests/fuzz/make_nifti_regressions.py): per file,
// "ok" and the shape read, or "error" and a substring of the message.
TEST(FuzzRegressions, NiftiInputsReadOrFailWithAnError) {
  const auto outcomes = replay("nifti", [](const fs::path& p) {
    try {
      read_nifti_header(p);
    } catch (const Error&) {
    }
    const Volume v = read_nifti(p);
    return "ok " + std::to_string(v.shape[0]) + " x " + std::to_string(v.shape[1]) + " x " +
           std::to_string(v.shape[2]);
  });
  std::ifstream in(test::source_dir() / "tests/fuzz/regressions/nifti/EXPECTED.tsv");
  ASSERT_TRUE(in) << "tests/fuzz/regressions/nifti/EXPECTED.tsv is missing";
  std::set<std::string> listed;
  int oks = 0, errors = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string field; std::getline(ss, field, '\t');) f.push_back(field);
    ASSERT_EQ(f.size(), 3u) << "malformed EXPECTED.tsv line: " << line;
    SCOPED_TRACE(f[0] + ": expected " + f[1] + " (" + f[2] + ")");
    listed.insert(f[0]);
    const auto it = outcomes.find(f[0]);
    if (it == outcomes.end()) {
      ADD_FAILURE() << "listed in EXPECTED.tsv but not in the folder";
      continue;
    }
    if (f[1] == "ok") {
      ++oks;
      EXPECT_EQ(it->second, "ok " + f[2]);
    } else {
      ++errors;
      ASSERT_EQ(f[1], "error");
      EXPECT_NE(it->second.rfind("ok ", 0), 0u) << "read, but an error was expected";
      EXPECT_NE(lower(it->second).find(lower(f[2])), std::string::npos) << it->second;
    }
  }
  for (const auto& [name, outcome] : outcomes)
    EXPECT_TRUE(listed.count(name)) << name << " has no line in EXPECTED.tsv (outcome: " << outcome << ")";
  EXPECT_GE(oks, 1);
  EXPECT_GE(errors, 10);
}

TEST(FuzzRegressions, CheckpointInputsReadOrFailWithAnError) {
  replay("state_dict", [](const fs::path& p) {
    try {
      read_state_dict(p);
    } catch (const Error&) {
    }
    read_tensor_file(p);
    return std::string("ok");
  });
}

}  // namespace
}  // namespace mprotonet
