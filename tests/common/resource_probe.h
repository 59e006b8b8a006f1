// SPDX-License-Identifier: MIT
// Operation counts in place of wall-clock bounds (timing is meaningless on a loaded machine):
// bytes this process read through read(2) and how far its peak resident memory rose, between
// the probe's construction and now (Linux /proc/self/io and /proc/self/status).
#pragma once

#include <cstdint>

namespace mprotonet::test {

class ResourceProbe {
 public:
  /// Records the bytes read so far and resets the peak-RSS mark (VmHWM) to the current RSS.
  ResourceProbe();
  /// Bytes read (rchar) since construction.
  int64_t bytes_read() const;
  /// Growth of the peak resident set (VmHWM) over the resident set at construction, in bytes
  /// (over the earlier peak where the kernel refuses to reset the mark).
  int64_t peak_rss_growth() const;

 private:
  int64_t rchar0_ = 0;
  int64_t rss0_ = 0;
};

}  // namespace mprotonet::test
