// Copyright 2026 The poller Authors.
//
// Counts heap allocations of the whole process, C and C++ alike: the bench
// binary defines malloc, calloc, realloc, free and the aligned variants,
// forwarding to glibc's own (__libc_malloc...), so every library linked into it
// (libevent, libev, libuv, Asio's operator new, poller's) is counted. glibc
// only; not with the sanitizers, which replace malloc themselves.

#ifndef POLLER_BENCH_ALLOC_COUNTER_H_
#define POLLER_BENCH_ALLOC_COUNTER_H_

#include <cstdint>

namespace poller_bench {

struct HeapCounters {
  std::int64_t allocations = 0;  // Calls that returned new memory.
  std::int64_t live_bytes = 0;   // Usable bytes allocated and not yet freed.
};

// A snapshot of the counters (relaxed: read it from the measuring thread).
HeapCounters ReadHeapCounters();

// False when the build cannot count (a sanitizer build), so results say so.
bool HeapCountingEnabled();

}  // namespace poller_bench

#endif  // POLLER_BENCH_ALLOC_COUNTER_H_
