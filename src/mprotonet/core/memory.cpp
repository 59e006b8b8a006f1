// SPDX-License-Identifier: MIT
// Process heap settings (see memory.h). Kept out of the unity batches and the torch header:
// it needs only <malloc.h>.
#include "mprotonet/core/memory.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mprotonet {

bool keep_freed_memory_in_heap() {
  const char* choice = std::getenv("MPROTONET_MALLOC");
  if (choice && std::strcmp(choice, "system") == 0) return false;
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  // Setting either option also turns off glibc's dynamic adjustment of both thresholds.
  return mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1 && mallopt(M_MMAP_MAX, 0) == 1;
#else
  return false;
#endif
}

}  // namespace mprotonet
