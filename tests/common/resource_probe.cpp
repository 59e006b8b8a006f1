// SPDX-License-Identifier: MIT
// ResourceProbe: /proc/self/io rchar and /proc/self/status VmHWM / VmRSS.
#include "common/resource_probe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace mprotonet::test {
namespace {

int64_t field(const char* file, const std::string& key, int64_t scale) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) {
      std::istringstream ss(line.substr(key.size()));
      int64_t v = 0;
      ss >> v;
      return v * scale;
    }
  ADD_FAILURE() << "no " << key << " in " << file;
  return 0;
}

}  // namespace

ResourceProbe::ResourceProbe() {
  std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM := VmRSS (Linux >= 4.0)
  rchar0_ = field("/proc/self/io", "rchar:", 1);
  rss0_ = field("/proc/self/status", "VmRSS:", 1024);
  // Where the reset is not permitted the mark keeps an earlier, higher peak: measure from that
  // mark then (growth above it only, a lower bound; a test's allocation of 100 GB still shows).
  const int64_t hwm = field("/proc/self/status", "VmHWM:", 1024);
  if (hwm > rss0_ + (int64_t{4} << 20)) rss0_ = hwm;
}

int64_t ResourceProbe::bytes_read() const { return field("/proc/self/io", "rchar:", 1) - rchar0_; }

int64_t ResourceProbe::peak_rss_growth() const {
  return std::max<int64_t>(field("/proc/self/status", "VmHWM:", 1024) - rss0_, 0);
}

}  // namespace mprotonet::test
