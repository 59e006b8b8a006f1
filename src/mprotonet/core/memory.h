// SPDX-License-Identifier: MIT
// Process heap settings for tensor work (glibc malloc).
#pragma once

namespace mprotonet {

/// Makes glibc malloc keep freed memory in the process instead of handing it back to the kernel:
/// no mmap for large blocks (M_MMAP_MAX 0) and no trimming of the heap top (M_TRIM_THRESHOLD
/// maximal). LibTorch's CPU allocator is plain malloc, and a 3D network allocates and frees
/// activations of tens of MB every layer; with glibc's defaults each of them is a fresh mmap
/// that the kernel page-faults and zeroes again, which made a training step 2-3x slower than the
/// same kernels on a warm heap (bench/README.md). The cost: the resident size stays at its peak
/// until the process ends, plus some fragmentation.
/// Process-wide; call once at start-up, before any tensor exists (the CLI and the benchmarks do).
/// Does nothing and returns false where the C library is not glibc, under a sanitizer that owns
/// malloc, or when the environment sets MPROTONET_MALLOC=system; returns true when applied.
bool keep_freed_memory_in_heap();

}  // namespace mprotonet
