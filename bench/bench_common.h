// Small pieces every benchmark program shares: medians, peak memory, running a child process
// (this program in measuring mode, or a Python baseline) and reading the JSON line it prints.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
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

/// value of `key` in a child's JSON, or -1 when the child failed.
inline double field(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j[key].get<double>() : -1.0;
}

/// "a / b" guarded against a failed (negative) figure.
inline double ratio(double a, double b) { return a > 0 && b > 0 ? a / b : 0.0; }

}  // namespace bench
