// Copyright 2026 The poller Authors.

#include "bench/alloc_counter.h"

#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define POLLER_BENCH_NO_MALLOC_HOOK 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define POLLER_BENCH_NO_MALLOC_HOOK 1
#endif

namespace poller_bench {
namespace {

std::atomic<std::int64_t> allocations{0};
std::atomic<std::int64_t> live_bytes{0};

}  // namespace

HeapCounters ReadHeapCounters() {
  HeapCounters counters;
  counters.allocations = allocations.load(std::memory_order_relaxed);
  counters.live_bytes = live_bytes.load(std::memory_order_relaxed);
  return counters;
}

#if defined(POLLER_BENCH_NO_MALLOC_HOOK)
bool HeapCountingEnabled() { return false; }
#else
bool HeapCountingEnabled() { return true; }

namespace {
void* Counted(void* memory) {
  if (memory != nullptr) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(memory)),
                         std::memory_order_relaxed);
  }
  return memory;
}
void Uncounted(void* memory) {
  if (memory != nullptr) {
    live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(memory)),
                         std::memory_order_relaxed);
  }
}
}  // namespace
#endif

}  // namespace poller_bench

#if !defined(POLLER_BENCH_NO_MALLOC_HOOK)
// glibc's allocator under its other names, so these definitions can forward.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* memory, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* memory);

void* malloc(size_t size) { return poller_bench::Counted(__libc_malloc(size)); }
void* calloc(size_t count, size_t size) {
  return poller_bench::Counted(__libc_calloc(count, size));
}
void* realloc(void* memory, size_t size) {
  poller_bench::Uncounted(memory);
  void* moved = __libc_realloc(memory, size);
  if (moved == nullptr && size != 0 && memory != nullptr) {
    // Failed: the old block is still there.
    poller_bench::live_bytes.fetch_add(
        static_cast<std::int64_t>(malloc_usable_size(memory)),
        std::memory_order_relaxed);
    return nullptr;
  }
  return poller_bench::Counted(moved);
}
void free(void* memory) {
  poller_bench::Uncounted(memory);
  __libc_free(memory);
}
void* memalign(size_t alignment, size_t size) {
  return poller_bench::Counted(__libc_memalign(alignment, size));
}
void* aligned_alloc(size_t alignment, size_t size) {
  return poller_bench::Counted(__libc_memalign(alignment, size));
}
int posix_memalign(void** result, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  void* memory = poller_bench::Counted(__libc_memalign(alignment, size));
  if (memory == nullptr) return ENOMEM;
  *result = memory;
  return 0;
}
}  // extern "C"
#endif
