// Copyright 2026 The poller Authors.

#include "poller/internal/syscall.h"

namespace poller::internal {

namespace syscall_internal {
std::atomic<FaultHook> fault_hook{nullptr};
std::atomic<ReturnHook> return_hook{nullptr};
}  // namespace syscall_internal

void SetFaultHookForTesting(FaultHook hook) {
  syscall_internal::fault_hook.store(hook, std::memory_order_relaxed);
}

void SetReturnHookForTesting(ReturnHook hook) {
  syscall_internal::return_hook.store(hook, std::memory_order_relaxed);
}

}  // namespace poller::internal
