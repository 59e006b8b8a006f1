// SPDX-License-Identifier: MIT
// Small pieces every benchmark program shares: medians, peak memory, running a child process
// (this program in measuring mode, or a Python baseline) and reading the JSON line it prints.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mprotonet/core/memory.h"

namespace bench {

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

/// One line on the C++ side's heap (core/memory.h): both C++ and Python allocate tensors with
/// glibc malloc, and this setting alone changes the C++ training step 2-3x.
inline void print_heap_setting(bool kept) {
  std::printf("C++ heap: %s\n", kept ? "freed memory kept in the process (core/memory.h; MPROTONET_MALLOC=system for glibc's defaults)"
                                      : "glibc malloc defaults");
}

/// Peak resident set of this process, MB.
inline double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Runs `cmd` through the shell and parses the last JSON object it printed on stdout; null when
/// it failed or printed none (stderr passes through, so a failing child explains itself).
inline nlohmann::json run_json(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return nullptr;
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  auto pos = out.rfind('{');
  if (pos == std::string::npos) return nullptr;
  try {
    return nlohmann::json::parse(out.substr(pos));
  } catch (...) {
    return nullptr;
  }
}

/// Quotes `s` for a POSIX shell.
inline std::string shell_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

/// Python baseline script `name` under bench/ with /usr/bin/python3 (Debian's torch).
inline std::string python_baseline(const std::string& name) {
  return "/usr/bin/python3 " + shell_quote(std::string(MPROTONET_SOURCE_DIR) + "/bench/" + name);
}

/// Environment prefix that gives a Python child the same heap setting as ours (core/memory.h),
/// through glibc's tunables: shows how much of a ratio is the heap and how much the kernels.
inline std::string python_with_our_heap() {
  return std::string("GLIBC_TUNABLES=") + MPROTONET_HEAP_TUNABLES + " ";
}

/// value of `key` in a child's JSON, or -1 when the child failed.
inline double field(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j[key].get<double>() : -1.0;
}

/// "a / b" guarded against a failed (negative) figure.
inline double ratio(double a, double b) { return a > 0 && b > 0 ? a / b : 0.0; }

/// The network inputs the benchmarks measure: cpu = 4 x 64 x 64 x 48 (training batch 8), paper =
/// 4 x 128 x 128 x 96 (the paper's input, training batch 2).
struct Preset {
  std::string name;
  int64_t d, h, w, batch;
  /// "D H W", as the Python baselines take it after --size.
  std::string size() const {
    std::ostringstream s;
    s << d << " " << h << " " << w;
    return s.str();
  }
};
inline const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {{"cpu", 64, 64, 48, 8}, {"paper", 128, 128, 96, 2}};
  return all;
}

/// Options shared by bench_train, bench_infer and bench_eval: --runs R, --presets a,b,
/// --threads T (0 = every core), --json OUT.json, and --measure PRESET [WORD], the mode in which
/// the program runs itself as a child to measure one figure.
struct Args {
  int runs = 3;
  int threads = 0;
  std::string presets = "cpu,paper";
  std::string json_out;
  std::vector<std::string> measure;  ///< empty unless --measure was given
  /// The preset named by --measure; nullopt when absent or unknown.
  std::optional<Preset> measured_preset() const {
    for (const auto& p : bench::presets())
      if (!measure.empty() && p.name == measure[0]) return p;
    return std::nullopt;
  }
  bool wants(const Preset& p) const { return presets.find(p.name) != std::string::npos; }
};

/// Parses the shared options; `measure_words` = values --measure takes (preset name + extras).
/// Prints the usage and returns nullopt on anything else.
inline std::optional<Args> parse_args(int argc, char** argv, const std::string& usage, int measure_words = 1) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string opt = argv[i];
    const int need = opt == "--measure" ? measure_words : 1;
    if (i + need >= argc || (opt != "--runs" && opt != "--presets" && opt != "--threads" && opt != "--json" &&
                             opt != "--measure")) {
      std::cerr << "usage: " << usage << "\n";
      return std::nullopt;
    }
    if (opt == "--runs") a.runs = std::stoi(argv[++i]);
    else if (opt == "--presets") a.presets = argv[++i];
    else if (opt == "--threads") a.threads = std::stoi(argv[++i]);
    else if (opt == "--json") a.json_out = argv[++i];
    else
      for (int k = 0; k < need; ++k) a.measure.push_back(argv[++i]);
  }
  return a;
}

/// " --runs R --threads T": what both children of one figure are given.
inline std::string child_args(const Args& a) {
  return " --runs " + std::to_string(a.runs) + " --threads " + std::to_string(a.threads);
}

}  // namespace bench
