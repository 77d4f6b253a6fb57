// Copyright 2026 The poller Authors.
//
// syscall.h: the seam through which every backend makes its system calls, so
// that tests can make any chosen call fail with any errno (EINTR, ENOMEM,
// EMFILE...) without the real condition.
//
//   int fd = internal::Syscall(
//       "epoll_create1", [] { return ::epoll_create1(EPOLL_CLOEXEC); });
//
// With no hook installed (always, outside tests) the cost is two relaxed
// atomic loads.

#ifndef POLLER_INTERNAL_SYSCALL_H_
#define POLLER_INTERNAL_SYSCALL_H_

#include <atomic>
#include <cerrno>
#include <utility>

namespace poller::internal {

// Called before each system call with its name (as passed to Syscall()).
// Returns 0 to make the call, or an errno value to fail it with, without making
// it.
using FaultHook = int (*)(const char* syscall_name);

// Installs `hook` for every thread (nullptr removes it). For tests only.
void SetFaultHookForTesting(FaultHook hook);

// Called after each system call that was made, with its name, once the kernel
// has answered (errno is preserved around it). Schedule tests block here to
// hold a thread between the kernel's answer and what the backend does with it,
// e.g. a Wait that has taken events while another thread's Modify runs.
using ReturnHook = void (*)(const char* syscall_name);

// Installs `hook` for every thread (nullptr removes it). For tests only.
void SetReturnHookForTesting(ReturnHook hook);

// Whether the system call the calling thread is making through the seam is a
// backend's kernel wait (made with KernelWait): for hooks, so that a test can
// hold or count a Wait's kernel wait on any backend, without knowing its
// name.
bool InKernelWait();

namespace syscall_internal {
extern std::atomic<FaultHook> fault_hook;
extern std::atomic<ReturnHook> return_hook;
extern thread_local bool in_kernel_wait;
}  // namespace syscall_internal

// Runs `call` (a lambda making one system call that returns -1 and sets errno
// on failure), unless the test hook fails it: then returns -1 with errno set to
// the hook's value.
template <typename Call>
auto Syscall(const char* name, Call&& call) -> decltype(call()) {
  FaultHook hook = syscall_internal::fault_hook.load(std::memory_order_relaxed);
  if (hook != nullptr) {
    if (int error = hook(name); error != 0) {
      errno = error;
      return -1;
    }
  }
  auto result = call();
  ReturnHook after =
      syscall_internal::return_hook.load(std::memory_order_relaxed);
  if (after != nullptr) {
    const int saved_errno = errno;
    after(name);
    errno = saved_errno;
  }
  return result;
}

// Syscall() for the call in which a backend's Wait blocks in the kernel
// (epoll_wait, ppoll, kevent, io_uring_enter, GetQueuedCompletionStatusEx):
// every backend makes its kernel wait with this, which is all the tests need
// to know of it (see InKernelWait).
template <typename Call>
auto KernelWait(const char* name, Call&& call) -> decltype(call()) {
  syscall_internal::in_kernel_wait = true;
  auto result = Syscall(name, std::forward<Call>(call));
  const int saved_errno = errno;
  syscall_internal::in_kernel_wait = false;
  errno = saved_errno;
  return result;
}

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_SYSCALL_H_
