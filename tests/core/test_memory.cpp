// SPDX-License-Identifier: MIT
// The heap setting of core/memory.h: large blocks come from the heap and stay there once freed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "mprotonet/core/memory.h"

namespace mprotonet {
namespace {

TEST(HeapSetting, SystemChoiceLeavesMallocAlone) {
  ASSERT_EQ(setenv("MPROTONET_MALLOC", "system", 1), 0);
  EXPECT_FALSE(keep_freed_memory_in_heap());
  unsetenv("MPROTONET_MALLOC");
}

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
size_t mmapped_bytes() { return mallinfo2().hblkhd; }

// 64 MB is above glibc's largest dynamic mmap threshold (32 MB), so by default it is always a
// fresh mmap, page-faulted and zeroed by the kernel at every allocation.
constexpr size_t kBlock = size_t{64} << 20;

void* touched_block() {
  auto* p = static_cast<char*>(std::malloc(kBlock));
  if (p) std::memset(p, 1, kBlock);
  return p;
}

TEST(HeapSetting, LargeBlocksComeFromTheHeapAndStayThere) {
  // Control: with glibc's defaults the block is mmapped (so this test can tell the difference).
  const size_t before_default = mmapped_bytes();
  void* p = touched_block();
  ASSERT_NE(p, nullptr);
  EXPECT_GE(mmapped_bytes(), before_default + kBlock);
  std::free(p);

  ASSERT_TRUE(keep_freed_memory_in_heap());
  const size_t mmapped_before = mmapped_bytes();
  p = touched_block();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(mmapped_bytes(), mmapped_before) << "the block was mmapped despite the setting";
  const size_t heap_in_use = mallinfo2().uordblks;
  std::free(p);
  const auto after = mallinfo2();
  EXPECT_LT(after.uordblks, heap_in_use);
  EXPECT_GE(after.fordblks, kBlock) << "the freed block was handed back to the kernel";
  void* again = touched_block();  // served from the kept memory
  EXPECT_EQ(mmapped_bytes(), mmapped_before);
  std::free(again);
}
#endif

}  // namespace
}  // namespace mprotonet
