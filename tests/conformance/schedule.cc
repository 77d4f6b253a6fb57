// Copyright 2026 The poller Authors.

#include "tests/conformance/schedule.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "poller/internal/syscall.h"

namespace poller::testing {
namespace {

std::atomic<SyscallGate*> current_gate{nullptr};
// Threads inside a hook, which may be using the gate they loaded: a gate's
// destructor waits for them to leave before its members go.
std::atomic<int> threads_in_hooks{0};

// Counts the calling thread in threads_in_hooks for its lifetime.
struct InHook {
  InHook() { threads_in_hooks.fetch_add(1); }
  ~InHook() { threads_in_hooks.fetch_sub(1); }
};

// What the gate does with the calling thread's system calls.
thread_local int hold_with_failure = -1;  // -1: not held; else the errno.
thread_local int fail_calls_with = 0;     // 0: calls are made.
thread_local bool watched = false;
// Every thread_local here is trivially destructible: a thread_local with a
// destructor crashes a statically linked MinGW program when its thread exits.
thread_local bool hold_after_next_call = false;
thread_local bool hold_after_kernel_wait_only = false;
thread_local bool counted = false;
thread_local bool counted_kernel_waits_only = false;

}  // namespace

BoundedThread::BoundedThread(std::function<void()> body, std::string what)
    : what_(std::move(what)) {
  thread_ = std::thread([this, body = std::move(body)] {
    body();
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    done_.notify_all();
  });
}

bool BoundedThread::Join(absl::Duration limit) {
  if (!thread_.joinable()) return true;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!done_.wait_for(lock, absl::ToChronoNanoseconds(limit),
                        [this] { return finished_.load(); })) {
      return false;
    }
  }
  thread_.join();
  return true;
}

BoundedThread::~BoundedThread() {
  if (Join(absl::Seconds(10))) return;
  std::fprintf(stderr,
               "FATAL: %s did not finish within 10 s of its end; stopping.\n",
               what_.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

SyscallGate::SyscallGate() {
  SyscallGate* expected = nullptr;
  if (!current_gate.compare_exchange_strong(expected, this)) std::abort();
  internal::SetFaultHookForTesting(&SyscallGate::BeforeCall);
  internal::SetReturnHookForTesting(&SyscallGate::AfterCall);
}

SyscallGate::~SyscallGate() {
  Release();
  fail_calls_with = 0;
  internal::SetFaultHookForTesting(nullptr);
  internal::SetReturnHookForTesting(nullptr);
  current_gate.store(nullptr);
  // A thread that loaded this gate before the store above counted itself
  // first; one that comes later finds no gate.
  while (threads_in_hooks.load() != 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

void SyscallGate::HoldThisThread(int failure) { hold_with_failure = failure; }

bool SyscallGate::WaitUntilHeld(absl::Duration limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(limit),
                           [this] { return held_; });
}

void SyscallGate::Release() {
  std::lock_guard<std::mutex> lock(mutex_);
  released_ = true;
  changed_.notify_all();
}

void SyscallGate::HoldThisThreadAfterNextCall() {
  hold_after_kernel_wait_only = false;
  hold_after_next_call = true;
}

void SyscallGate::HoldThisThreadAfterNextKernelWait() {
  hold_after_kernel_wait_only = true;
  hold_after_next_call = true;
}

void SyscallGate::WatchThisThread() { watched = true; }

void SyscallGate::FailCallsOfThisThread(int error) { fail_calls_with = error; }

void SyscallGate::CountCallsOfThisThread(bool kernel_waits_only) {
  counted_kernel_waits_only = kernel_waits_only;
  counted = true;
}

bool SyscallGate::WaitForCountedCall(absl::Duration limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(limit),
                           [this] { return calls_counted_.load() > 0; });
}

void SyscallGate::CountReturnsFromNow() {
  std::lock_guard<std::mutex> lock(mutex_);
  counting_ = true;
  returns_ = 0;
}

bool SyscallGate::WaitForReturn(absl::Duration limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(limit),
                           [this] { return returns_ > 0; });
}

void SyscallGate::FailNext(std::string name, int error, int count) {
  std::lock_guard<std::mutex> lock(mutex_);
  fail_name_ = std::move(name);
  fail_error_ = error;
  fail_count_ = count;
}

int SyscallGate::BeforeCall(const char* name) {
  const InHook in_hook;
  SyscallGate* gate = current_gate.load();
  if (gate == nullptr) return 0;
  std::unique_lock<std::mutex> lock(gate->mutex_);
  if (counted && (!counted_kernel_waits_only || internal::InKernelWait())) {
    gate->calls_counted_.fetch_add(1);
    gate->changed_.notify_all();
  }
  if (hold_with_failure >= 0) {
    const int failure = std::exchange(hold_with_failure, -1);
    gate->held_ = true;
    gate->changed_.notify_all();
    gate->changed_.wait(lock, [gate] { return gate->released_; });
    if (failure != 0) return failure;
  }
  if (fail_calls_with != 0) {
    gate->failures_.fetch_add(1);
    return fail_calls_with;
  }
  if (gate->fail_count_ > 0 && absl::StartsWith(name, gate->fail_name_)) {
    --gate->fail_count_;
    gate->failures_.fetch_add(1);
    return gate->fail_error_;
  }
  return 0;
}

void SyscallGate::AfterCall(const char* /*name*/) {
  if (!watched && !hold_after_next_call) return;
  const InHook in_hook;
  SyscallGate* gate = current_gate.load();
  if (gate == nullptr) return;
  std::unique_lock<std::mutex> lock(gate->mutex_);
  if (watched && gate->counting_) {
    ++gate->returns_;
    gate->changed_.notify_all();
  }
  if (hold_after_next_call &&
      (!hold_after_kernel_wait_only || internal::InKernelWait())) {
    hold_after_next_call = false;
    gate->held_ = true;
    gate->changed_.notify_all();
    gate->changed_.wait(lock, [gate] { return gate->released_; });
  }
}

}  // namespace poller::testing
