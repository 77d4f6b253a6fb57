// Copyright 2026 The poller Authors.

#include "poller/internal/syscall.h"

namespace poller::internal {

namespace syscall_internal {
std::atomic<FaultHook> fault_hook{nullptr};
std::atomic<ReturnHook> return_hook{nullptr};
// Trivially destructible, as a thread_local must be in a statically linked
// MinGW program.
thread_local bool in_kernel_wait = false;
}  // namespace syscall_internal

bool InKernelWait() { return syscall_internal::in_kernel_wait; }

void SetFaultHookForTesting(FaultHook hook) {
  syscall_internal::fault_hook.store(hook, std::memory_order_relaxed);
}

void SetReturnHookForTesting(ReturnHook hook) {
  syscall_internal::return_hook.store(hook, std::memory_order_relaxed);
}

}  // namespace poller::internal
