// Copyright 2026 The poller Authors.
//
// Conformance rules for the wake protocol (poller/poller.cc, "The wake
// protocol"): a Wake() signals the kernel only when the waiting thread has
// announced that it may block, and a wake is never lost whichever way a Wake
// and a Wait interleave. Each interleaving of the proof is forced through the
// system-call seam (tests/conformance/schedule.h):
//
//   - the Wake comes before the Wait announces (no Wait yet, or the waiter is
//     busy handling events): no system call, and the Wait does not block;
//   - the Wake comes after the waiter announced and looked for a wake, just
//     before it blocks: the Wake signals the kernel, and the Wait returns;
//   - the Wake comes while a waiter whose kernel wait already returned is still
//     announced: the Wake signals, that return consumes the wake, and the
//     signal left in the kernel does not end the next Wait;
//   - Shutdown just before the waiter blocks still releases it;
//   - a Wake whose signal the kernel refuses withdraws only its own wake, not
//     one another thread set after the waiter took the refused one;
//   - a Wake after Shutdown does nothing, and a Wait(0) loop does not starve
//     a blocking Wait.
//
// A backend that makes no system call through the seam cannot be held, and
// these tests skip for it, saying so.
//
// Promises: poller/poller.h: Wake.

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::BoundedThread;
using ::poller::testing::DrainBytes;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::SocketPair;
using ::poller::testing::SyscallGate;
using ::poller::testing::WriteBytes;

// What a waiter thread's Wait returned, and how long it took.
struct WaitOutcome {
  absl::StatusOr<size_t> count = 0;
  absl::Duration took;
  Token first_token = 0;
};

// Waits once on `poller` for up to `timeout`, recording the outcome.
void WaitAndRecord(Poller& poller, absl::Duration timeout,
                   WaitOutcome& outcome) {
  Events events(8);
  const auto start = std::chrono::steady_clock::now();
  outcome.count = poller.Wait(events, timeout);
  outcome.took = Since(start);
  if (!events.empty()) outcome.first_token = events[0].token();
}

// Joins `waiter`; if it is stuck (a lost wake), wakes it so the test ends.
bool JoinPromptly(Poller& poller, BoundedThread& waiter) {
  if (waiter.Join(kPrompt)) return true;
  (void)poller.Wake();
  EXPECT_TRUE(waiter.Join(kJoinLimit));
  return false;
}

TEST_P(ConformanceTest, WakesBeforeAnyWaitMakeNoSystemCall) {
  RULE(
      "Wakes while no Wait is blocked or about to block make no system call, "
      "and the next Wait returns at once");
  SyscallGate gate;
  gate.CountCallsOfThisThread();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(poller_->Wake().ok());
  const int calls_for_burst = gate.calls_counted();
  Events events(8);
  const auto start = std::chrono::steady_clock::now();
  auto count = poller_->Wait(events, 2 * kPrompt);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 0u);
  EXPECT_LT(Since(start), kPrompt) << "the pending wake was lost";

  // Positive control: the counter sees this thread's calls, and a Wake for a
  // Wait that is about to block makes one.
  WaitOutcome outcome;
  BoundedThread waiter(
      [&] {
        gate.HoldThisThread();
        WaitAndRecord(*poller_, 2 * kPrompt, outcome);
      },
      "WakesBeforeAnyWaitMakeNoSystemCall: the waiter");
  SKIP_UNLESS_HELD_ELSE(gate, (void)poller_->Wake());
  const int before_control = gate.calls_counted();
  ASSERT_TRUE(poller_->Wake().ok());
  EXPECT_GT(gate.calls_counted(), before_control)
      << "control: a Wake for a Wait about to block signals the kernel";
  gate.Release();
  EXPECT_TRUE(JoinPromptly(*poller_, waiter)) << "the wake was lost";
  EXPECT_EQ(calls_for_burst, 0)
      << "the burst made system calls with no Wait in progress";
}

TEST_P(ConformanceTest, WakesWhileTheWaiterIsBusyMakeNoSystemCall) {
  RULE(
      "Wakes while the waiting thread is busy between Waits make no system "
      "call, and its next Wait returns at once");
  SyscallGate gate;
  std::atomic<bool> busy{false};
  std::atomic<bool> go_on{false};
  WaitOutcome first;
  WaitOutcome second;
  BoundedThread waiter(
      [&] {
        gate.HoldThisThread();
        WaitAndRecord(*poller_, 2 * kPrompt, first);
        // Handling events: outside Wait, as a loop runs its handlers.
        busy = true;
        const auto give_up = std::chrono::steady_clock::now() +
                             absl::ToChronoNanoseconds(kJoinLimit);
        while (!go_on && std::chrono::steady_clock::now() < give_up) {
          std::this_thread::yield();
        }
        WaitAndRecord(*poller_, 2 * kPrompt, second);
      },
      "WakesWhileTheWaiterIsBusy: the waiter");
  // Without the seam the waiter waits twice, unheld: wake it until it is done.
  SKIP_UNLESS_HELD_ELSE(gate, {
    go_on = true;
    for (int i = 0; i < 500 && !waiter.finished(); ++i) {
      (void)poller_->Wake();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  gate.CountCallsOfThisThread();
  // Control: this Wait is about to block, so its Wake signals.
  ASSERT_TRUE(poller_->Wake().ok());
  EXPECT_GT(gate.calls_counted(), 0)
      << "control: a Wake for a Wait about to block signals the kernel";
  gate.Release();
  const auto give_up =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(kPrompt);
  while (!busy && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(busy) << "the first Wait did not return for its wake";
  const int before_burst = gate.calls_counted();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(poller_->Wake().ok());
  const int calls_for_burst = gate.calls_counted() - before_burst;
  go_on = true;
  ASSERT_TRUE(JoinPromptly(*poller_, waiter)) << "the burst was lost";
  ASSERT_TRUE(second.count.ok()) << second.count.status();
  EXPECT_EQ(*second.count, 0u);
  EXPECT_LT(second.took, kPrompt);
  EXPECT_EQ(calls_for_burst, 0) << "wakes for a busy waiter made system calls";
}

TEST_P(ConformanceTest, WakeJustBeforeTheWaiterBlocksSignalsIt) {
  RULE(
      "a Wake after the waiter looked for a wake, before it blocks, signals "
      "the kernel, and the Wait returns");
  SyscallGate gate;
  WaitOutcome outcome;
  BoundedThread waiter(
      [&] {
        gate.HoldThisThread();
        WaitAndRecord(*poller_, 2 * kPrompt, outcome);
      },
      "WakeJustBeforeTheWaiterBlocks: the waiter");
  // Held before its first system call: announced, and it found no wake.
  SKIP_UNLESS_HELD_ELSE(gate, (void)poller_->Wake());
  gate.CountCallsOfThisThread();
  ASSERT_TRUE(poller_->Wake().ok());
  EXPECT_GT(gate.calls_counted(), 0)
      << "the Wake did not signal a Wait that is about to block";
  gate.Release();
  ASSERT_TRUE(JoinPromptly(*poller_, waiter)) << "the wake was lost";
  ASSERT_TRUE(outcome.count.ok()) << outcome.count.status();
  EXPECT_EQ(*outcome.count, 0u);
  EXPECT_LT(outcome.took, kPrompt);
}

TEST_P(ConformanceTest, SignalOfAWakeConsumedOnReturnDoesNotEndTheNextWait) {
  RULE(
      "a Wake while a Wait is returning collapses into that return; the "
      "kernel signal it made does not end the next Wait");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(poller_->Add(pair.first.get(), 1, Interest::kReadable).ok());
  {
    SyscallGate gate;
    WaitOutcome outcome;
    BoundedThread waiter(
        [&] {
          gate.HoldThisThreadAfterNextCall();
          WaitAndRecord(*poller_, 2 * kPrompt, outcome);
        },
        "SignalOfAWakeConsumedOnReturn: the waiter");
    // The socket becomes readable: the waiter's kernel wait returns with it,
    // and the waiter is held before it looks at the answer.
    WriteBytes(pair.second.get());
    SKIP_UNLESS_HELD(gate);  // The write ends the Wait in any case.
    gate.CountCallsOfThisThread();
    ASSERT_TRUE(poller_->Wake().ok());
    EXPECT_GT(gate.calls_counted(), 0)
        << "control: the waiter was still announced, so the Wake signals";
    gate.Release();
    ASSERT_TRUE(JoinPromptly(*poller_, waiter));
    ASSERT_TRUE(outcome.count.ok()) << outcome.count.status();
    EXPECT_EQ(*outcome.count, 1u);
    EXPECT_EQ(outcome.first_token, 1u);
  }
  DrainBytes(pair.first.get());

  // The wake was consumed by that return: the signal still in the kernel
  // ends a backend wait, and the Wait waits on.
  Events events(8);
  const auto start = std::chrono::steady_clock::now();
  auto count = poller_->Wait(events, absl::Milliseconds(100));
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 0u);
  EXPECT_GE(Since(start), absl::Milliseconds(100))
      << "a spent signal ended the next Wait";

  // Positive control: a new Wake still ends a Wait promptly.
  WaitOutcome after;
  BoundedThread waiter([&] { WaitAndRecord(*poller_, 2 * kPrompt, after); },
                       "SignalOfAWakeConsumedOnReturn: the last waiter");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(poller_->Wake().ok());
  EXPECT_TRUE(JoinPromptly(*poller_, waiter)) << "the wake was lost";
}

TEST_P(ConformanceTest, WaitResumedAfterASpentSignalIsStillWoken) {
  RULE(
      "a Wait that waits on after a spent signal is still announced: a Wake "
      "ends it");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(poller_->Add(pair.first.get(), 1, Interest::kReadable).ok());
  {
    // As above: leave a spent signal in the kernel.
    SyscallGate gate;
    WaitOutcome outcome;
    BoundedThread waiter(
        [&] {
          gate.HoldThisThreadAfterNextCall();
          WaitAndRecord(*poller_, 2 * kPrompt, outcome);
        },
        "WaitResumedAfterASpentSignal: the first waiter");
    WriteBytes(pair.second.get());
    SKIP_UNLESS_HELD(gate);
    ASSERT_TRUE(poller_->Wake().ok());
    gate.Release();
    ASSERT_TRUE(JoinPromptly(*poller_, waiter));
  }
  DrainBytes(pair.first.get());
  SyscallGate gate;
  gate.CountReturnsFromNow();
  WaitOutcome outcome;
  BoundedThread waiter(
      [&] {
        gate.WatchThisThread();
        WaitAndRecord(*poller_, 2 * kPrompt, outcome);
      },
      "WaitResumedAfterASpentSignal: the waiter");
  // Its first kernel wait returns for the spent signal (where a backend
  // keeps one: epoll and poll do, io_uring reaps it with the event), then it
  // waits again; this Wake lands before or after it looks again, and must end
  // it either way.
  (void)gate.WaitForReturn(absl::Milliseconds(500));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(poller_->Wake().ok());
  ASSERT_TRUE(JoinPromptly(*poller_, waiter)) << "the wake was lost";
  ASSERT_TRUE(outcome.count.ok()) << outcome.count.status();
  EXPECT_EQ(*outcome.count, 0u);
}

TEST_P(ConformanceTest, ShutdownJustBeforeTheWaiterBlocksReleasesIt) {
  RULE(
      "Shutdown after the waiter looked for a wake, before it blocks, still "
      "releases it with Cancelled");
  SyscallGate gate;
  WaitOutcome outcome;
  BoundedThread waiter(
      [&] {
        gate.HoldThisThread();
        WaitAndRecord(*poller_, absl::InfiniteDuration(), outcome);
      },
      "ShutdownJustBeforeTheWaiterBlocks: the waiter");
  SKIP_UNLESS_HELD_ELSE(gate, poller_->Shutdown());
  poller_->Shutdown();
  gate.Release();
  ASSERT_TRUE(waiter.Join(kPrompt)) << "the waiter was never released";
  EXPECT_EQ(outcome.count.status().code(), absl::StatusCode::kCancelled)
      << outcome.count.status();
}

TEST_P(ConformanceTest, FailedWakeWithdrawsOnlyItsOwnWake) {
  RULE(
      "a Wake whose signal the kernel refuses withdraws only its own wake: "
      "another thread's Wake that succeeded meanwhile still makes the next "
      "Wait return");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(
      poller_->Add(pair.first.get(), 1, Interest::kReadable, Mode::kOneshot)
          .ok());
  SyscallGate gate;
  WaitOutcome first;
  WaitOutcome second;
  std::mutex mutex;
  std::condition_variable changed;
  bool first_returned = false;
  bool go_on = false;
  // The waiter: a Wait, then, once told, a second one.
  BoundedThread waiter(
      [&] {
        gate.CountCallsOfThisThread();
        WaitAndRecord(*poller_, 2 * kPrompt, first);
        std::unique_lock<std::mutex> lock(mutex);
        first_returned = true;
        changed.notify_all();
        changed.wait_for(lock, absl::ToChronoNanoseconds(kJoinLimit),
                         [&] { return go_on; });
        lock.unlock();
        WaitAndRecord(*poller_, 2 * kPrompt, second);
      },
      "FailedWakeWithdrawsOnlyItsOwnWake: the waiter");
  const auto let_the_waiter_go_on = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    go_on = true;
    changed.notify_all();
  };
  if (!gate.WaitForCountedCall(kPrompt)) {
    // A backend whose calls do not go through poller's seam: nothing to
    // count, hold or fail. Let both Waits end, then skip.
    let_the_waiter_go_on();
    for (int i = 0; i < 200 && !waiter.finished(); ++i) {
      (void)poller_->Wake();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(waiter.Join(kJoinLimit));
    GTEST_SKIP() << "the backend made no system call through poller's seam "
                    "here; the schedule cannot be forced";
  }
  // K: its signal is held, then refused, and so is every retry.
  absl::Status refused;
  BoundedThread refused_waker(
      [&] {
        gate.HoldThisThread(ENOMEM);
        gate.FailCallsOfThisThread(ENOMEM);
        refused = poller_->Wake();
        gate.FailCallsOfThisThread(0);
      },
      "FailedWakeWithdrawsOnlyItsOwnWake: the refused waker");
  SKIP_UNLESS_HELD_ELSE(gate, {
    let_the_waiter_go_on();
    (void)poller_->Wake();
    (void)poller_->Wake();
  });
  // The first Wait returns for the handle, taking K's wake with it. (A
  // backend whose Wake holds a lock its Wait needs, io_uring's submission
  // lock, keeps the Wait from returning while K's signal is held: the
  // schedule cannot be forced there.)
  WriteBytes(pair.second.get());
  {
    std::unique_lock<std::mutex> lock(mutex);
    if (!changed.wait_for(lock, std::chrono::seconds(2),
                          [&] { return first_returned; })) {
      lock.unlock();
      gate.Release();
      ASSERT_TRUE(refused_waker.Join(kJoinLimit));
      // Both Waits end; a wake may coalesce into the refused one, so wake
      // until the waiter is done.
      let_the_waiter_go_on();
      for (int i = 0; i < 200 && !waiter.finished(); ++i) {
        (void)poller_->Wake();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ASSERT_TRUE(waiter.Join(kJoinLimit));
      GTEST_SKIP() << "the first Wait did not return while the refused "
                      "Wake's signal was held (the backend's Wake holds a "
                      "lock its Wait needs); the schedule cannot be forced";
    }
  }
  // X (this thread): a Wake that succeeds while the waiter is busy between
  // its Waits, so it is pending and signals nothing.
  ASSERT_TRUE(poller_->Wake().ok());
  // Only now does K's signal fail, for good.
  gate.Release();
  ASSERT_TRUE(refused_waker.Join(kJoinLimit)) << "the refused Wake hung";
  EXPECT_FALSE(refused.ok()) << "control: K's signal was refused";
  let_the_waiter_go_on();
  if (!waiter.Join(kPrompt)) {
    ADD_FAILURE() << "X's wake was erased by K's failure: the second Wait "
                     "did not return";
    (void)poller_->Wake();
    ASSERT_TRUE(waiter.Join(kJoinLimit));
  }
  ASSERT_TRUE(first.count.ok()) << first.count.status();
  EXPECT_EQ(first.first_token, 1u) << "control: the handle was reported";
  ASSERT_TRUE(second.count.ok()) << second.count.status();
  EXPECT_LT(second.took, kPrompt);
}

TEST_P(ConformanceTest, WakeAfterShutdownMakesNoSystemCall) {
  RULE(
      "after Shutdown() returns, Wake() does nothing: no system call, even "
      "while a Wait woken by the Shutdown is still returning");
  WaitOutcome outcome;
  BoundedThread waiter(
      [&] { WaitAndRecord(*poller_, absl::InfiniteDuration(), outcome); },
      "WakeAfterShutdownMakesNoSystemCall: the waiter");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  poller_->Shutdown();
  SyscallGate gate;
  gate.CountCallsOfThisThread();
  for (int i = 0; i < 2000; ++i) EXPECT_TRUE(poller_->Wake().ok());
  ASSERT_TRUE(waiter.Join(kPrompt)) << "Shutdown did not release the waiter";
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(poller_->Wake().ok());
  EXPECT_EQ(gate.calls_counted(), 0);
  EXPECT_EQ(outcome.count.status().code(), absl::StatusCode::kCancelled)
      << "control: the waiter was woken by the Shutdown";
}

TEST_P(ConformanceTest, LoopOfZeroTimeoutWaitsDoesNotStarveABlockingWait) {
  RULE(
      "a thread calling Wait(0) in a loop never keeps a blocking Wait on "
      "another thread from its turn: the blocking Wait reports a ready "
      "handle promptly");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(
      poller_->Add(pair.first.get(), 1, Interest::kReadable, Mode::kLevel)
          .ok());
  WriteBytes(pair.second.get());
  std::atomic<bool> stop{false};
  std::atomic<int> polls{0};
  BoundedThread poller_loop(
      [&] {
        Events events(8);
        while (!stop.load()) {
          if (!poller_->Wait(events, absl::ZeroDuration()).ok()) return;
          polls.fetch_add(1);
        }
      },
      "LoopOfZeroTimeoutWaits: the Wait(0) loop");
  while (polls.load() < 100) std::this_thread::yield();
  WaitOutcome outcome;
  BoundedThread blocking([&] { WaitAndRecord(*poller_, 2 * kPrompt, outcome); },
                         "LoopOfZeroTimeoutWaits: the blocking Wait");
  const bool joined = blocking.Join(kJoinLimit);
  stop.store(true);
  ASSERT_TRUE(poller_loop.Join(kJoinLimit));
  ASSERT_TRUE(joined);
  ASSERT_TRUE(outcome.count.ok()) << outcome.count.status();
  EXPECT_LT(outcome.took, kPrompt) << "the blocking Wait was starved";
  EXPECT_EQ(outcome.first_token, 1u);
  EXPECT_GT(polls.load(), 100) << "control: the Wait(0) loop ran";
}

}  // namespace
}  // namespace poller::conformance
