// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/conformance/schedule.h
// -----------------------------------------------------------------------------
//
// Tools for tests that must fail fast and force races instead of hoping for
// them.
//
// BoundedThread runs a function on its own thread and joins it with a limit: a
// test whose thread is stuck (a lost wake, a Wait that never returns) fails
// within seconds naming its rule, instead of hanging until Bazel's timeout.
//
// SyscallGate forces an interleaving through the system-call seam every
// built-in backend uses (poller/internal/syscall.h): it holds one thread just
// before its next system call, reports when another thread's system call
// returns, and can fail chosen calls with an errno. For example, "the kernel
// reported readiness before a concurrent Modify changed the registration":
//
//   SyscallGate gate;
//   BoundedThread waiter([&] { gate.WatchThisThread(); ... Wait ... });
//   BoundedThread modifier([&] { gate.HoldThisThread(); Modify(...); });
//   gate.WaitUntilHeld(...);     // Modify is about to enter the kernel.
//   gate.CountReturnsFromNow();
//   WriteBytes(peer);            // The handle becomes ready...
//   gate.WaitForReturn(...);     // ...and the Wait's kernel call returned.
//   gate.Release();              // Only now does Modify go on.
//
// A backend that makes no system call through the seam (a user's own) cannot
// be held: WaitUntilHeld returns false and the test skips, saying why.

#ifndef POLLER_TESTS_CONFORMANCE_SCHEDULE_H_
#define POLLER_TESTS_CONFORMANCE_SCHEDULE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace poller::testing {

// BoundedThread
//
// A thread that must finish in time. Join() waits up to `limit` and returns
// false if the thread is still running. A BoundedThread destroyed while its
// thread runs waits up to 10 s more, then ends the process with `what` on
// stderr: a stuck test fails naming its rule rather than hanging.
class BoundedThread {
 public:
  explicit BoundedThread(std::function<void()> body,
                         std::string what = "a test thread");
  BoundedThread(const BoundedThread&) = delete;
  BoundedThread& operator=(const BoundedThread&) = delete;
  ~BoundedThread();

  bool Join(absl::Duration limit);
  bool finished() const { return finished_.load(); }

 private:
  std::string what_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

// SyscallGate
//
// Installs poller's test hooks for its lifetime (one gate at a time).
// Thread-safe.
class SyscallGate {
 public:
  SyscallGate();
  SyscallGate(const SyscallGate&) = delete;
  SyscallGate& operator=(const SyscallGate&) = delete;
  // Releases a held thread and removes the hooks.
  ~SyscallGate();

  // The calling thread's next system call through the seam waits, before it
  // is made, until Release(). (If `failure` is not 0, it then fails with that
  // errno instead of being made.)
  void HoldThisThread(int failure = 0);
  // The calling thread's next system call through the seam is made, and the
  // thread then waits, before it acts on the kernel's answer, until Release()
  // (e.g. a Wait whose kernel wait returned, held before it looks at what
  // came back).
  void HoldThisThreadAfterNextCall();
  // The same for the calling thread's next kernel wait (a backend's Wait
  // blocking in the kernel, internal::KernelWait): a Wait may make other
  // calls first (io_uring submits due re-arms), and one held after those
  // would not have taken the kernel's answer yet.
  void HoldThisThreadAfterNextKernelWait();
  // Waits until a held thread is waiting. False after `limit`.
  bool WaitUntilHeld(absl::Duration limit);
  void Release();

  // System calls made by the calling thread are counted as they return, once
  // CountReturnsFromNow() was called.
  void WatchThisThread();
  void CountReturnsFromNow();
  // Waits until a watched thread's system call returned since
  // CountReturnsFromNow(). False after `limit`.
  bool WaitForReturn(absl::Duration limit);

  // System calls the calling thread makes through the seam are counted (as
  // they are about to be made) from now on, in calls_counted(); with
  // `kernel_waits_only`, only its kernel waits.
  void CountCallsOfThisThread(bool kernel_waits_only = false);
  int calls_counted() const { return calls_counted_.load(); }
  // Waits until a counted thread is about to make a system call (e.g. a Wait
  // has set itself up and is entering the kernel). False after `limit`.
  bool WaitForCountedCall(absl::Duration limit);

  // Every system call the calling thread makes through the seam from now on
  // fails with `error` (0: stops failing them): a fault on one thread only,
  // e.g. one waker's signal refused while other threads' calls succeed.
  void FailCallsOfThisThread(int error);

  // Fails the next `count` system calls whose name starts with `name`, on any
  // thread, with `error`.
  void FailNext(std::string name, int error, int count = 1);
  // How many calls FailNext has failed so far.
  int failures() const { return failures_.load(); }

 private:
  static int BeforeCall(const char* name);
  static void AfterCall(const char* name);

  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool released_ = false;
  bool counting_ = false;
  int returns_ = 0;
  std::string fail_name_;
  int fail_error_ = 0;
  int fail_count_ = 0;
  std::atomic<int> failures_{0};
  std::atomic<int> calls_counted_{0};
};

}  // namespace poller::testing

#endif  // POLLER_TESTS_CONFORMANCE_SCHEDULE_H_
