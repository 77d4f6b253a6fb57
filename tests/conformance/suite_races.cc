// Copyright 2026 The poller Authors.
//
// Conformance rules for changes racing a Wait, with the interleaving forced
// through the system-call seam (tests/conformance/schedule.h) rather than left
// to luck. A backend that makes no system call through the seam cannot be
// held, and these tests skip for it, saying so.
//
// Promises: poller/poller.h: Modify, Rearm, Delete, Wait.

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::BoundedThread;
using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::Pipe;
using ::poller::testing::SocketPair;
using ::poller::testing::SyscallGate;
using ::poller::testing::WriteBytes;

// A backend whose Wait takes the lock a held Modify or Delete holds before it
// enters the kernel (IOCP issues its requests there) serializes the two: the
// interleaving under test cannot happen on it. Checked after both threads
// were joined, so a Wait that hangs still fails the test.
#define SKIP_UNLESS_WAIT_RETURNED(returned)                                 \
  do {                                                                      \
    if (!(returned)) {                                                      \
      GTEST_SKIP() << "the Wait did not reach the kernel while the change " \
                      "was held: this backend serializes them, so the "     \
                      "schedule cannot happen here";                        \
    }                                                                       \
  } while (false)

// The events a thread's Waits delivered, for the test thread to read.
class EventLog {
 public:
  void Add(const Events& events) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Event& event : events) events_.push_back(event);
  }
  std::vector<Event> Get() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::vector<Event> events_;
};

TEST_P(ConformanceTest, EventTakenBeforeModifyIsCheckedAgainstTheNewInterest) {
  RULE(
      "an event the kernel reported before a concurrent Modify is delivered "
      "only with readiness the new registration asks for, and never uses up "
      "the new arm");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(poller_->Add(pair.first.get(), 1, Interest::kReadable).ok());
  SyscallGate gate;
  EventLog log;
  BoundedThread waiter(
      [&] {
        gate.WatchThisThread();
        gate.CountCallsOfThisThread();
        Events events(8);
        auto count = poller_->Wait(events, kPrompt);
        EXPECT_TRUE(count.ok()) << count.status();
        log.Add(events);
      },
      "EventTakenBeforeModify: the waiter");
  // The Wait is entering the kernel before Modify runs (a backend may leave a
  // change to the next Wait when none is in progress).
  if (!gate.WaitForCountedCall(kPrompt)) {
    (void)poller_->Wake();
    GTEST_SKIP() << "the backend's Wait made no system call through poller's "
                    "seam: the schedule cannot be forced";
  }
  absl::Status modified;
  BoundedThread modifier(
      [&] {
        gate.HoldThisThread();
        modified = poller_->Modify(pair.first.get(), 2, Interest::kWritable,
                                   Mode::kOneshot);
      },
      "EventTakenBeforeModify: the modifier");
  SKIP_UNLESS_HELD(gate);
  // Modify is about to enter the kernel; the socket becomes readable and the
  // Wait's kernel call returns with that, before Modify goes on.
  gate.CountReturnsFromNow();
  WriteBytes(pair.second.get());
  const bool wait_returned = gate.WaitForReturn(kPrompt);
  gate.Release();
  ASSERT_TRUE(modifier.Join(kJoinLimit));
  ASSERT_TRUE(waiter.Join(kJoinLimit));
  SKIP_UNLESS_WAIT_RETURNED(wait_returned);
  ASSERT_TRUE(modified.ok()) << modified;

  bool writable_reported = false;
  for (const Event& event : log.Get()) {
    if (event.token() != 2) continue;
    EXPECT_FALSE(event.readable())
        << "token 2 asks for writable only, but was reported readable";
    writable_reported = writable_reported || event.writable();
  }
  // The writable socket is reported under token 2, by that Wait or the next.
  if (!writable_reported) {
    writable_reported = Has(WaitForToken(*poller_, 2), Readiness::kWritable);
  }
  EXPECT_TRUE(writable_reported)
      << "token 2 (writable) was never reported: its arm was used up";
}

TEST_P(ConformanceTest, EventTakenBeforeDeleteAndAddIsNotGivenTheNewToken) {
  RULE(
      "an event of a registration deleted and added again during a Wait is "
      "never delivered under the new token with the old interest");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(
      poller_->Add(pair.first.get(), 1, Interest::kReadable, Mode::kLevel)
          .ok());
  SyscallGate gate;
  EventLog log;
  BoundedThread waiter(
      [&] {
        gate.WatchThisThread();
        Events events(8);
        auto count = poller_->Wait(events, kPrompt);
        EXPECT_TRUE(count.ok()) << count.status();
        log.Add(events);
      },
      "EventTakenBeforeDeleteAndAdd: the waiter");
  absl::Status deleted, added;
  BoundedThread changer(
      [&] {
        gate.HoldThisThread();
        deleted = poller_->Delete(pair.first.get());
        added = poller_->Add(pair.first.get(), 2, Interest::kWritable);
      },
      "EventTakenBeforeDeleteAndAdd: the changer");
  SKIP_UNLESS_HELD(gate);
  gate.CountReturnsFromNow();
  WriteBytes(pair.second.get());
  const bool wait_returned = gate.WaitForReturn(kPrompt);
  gate.Release();
  ASSERT_TRUE(changer.Join(kJoinLimit));
  ASSERT_TRUE(waiter.Join(kJoinLimit));
  SKIP_UNLESS_WAIT_RETURNED(wait_returned);
  ASSERT_TRUE(deleted.ok()) << deleted;
  ASSERT_TRUE(added.ok()) << added;
  bool writable_reported = false;
  for (const Event& event : log.Get()) {
    if (event.token() != 2) continue;
    EXPECT_FALSE(event.readable()) << "token 2 was reported readable";
    writable_reported = writable_reported || event.writable();
  }
  if (!writable_reported) {
    writable_reported = Has(WaitForToken(*poller_, 2), Readiness::kWritable);
  }
  EXPECT_TRUE(writable_reported) << "token 2 (writable) was never reported";
}

TEST_P(ConformanceTest, DeleteRacingAWaitIsFinalOnceItReturns) {
  RULE(
      "once Delete returns, no Wait that starts afterwards reports the "
      "handle, even when the kernel reported it while Delete was running");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(
      poller_->Add(pair.first.get(), 1, Interest::kReadable, Mode::kLevel)
          .ok());
  SyscallGate gate;
  BoundedThread waiter(
      [&] {
        gate.WatchThisThread();
        gate.CountCallsOfThisThread();
        Events events(8);
        EXPECT_TRUE(poller_->Wait(events, kPrompt).ok());
      },
      "DeleteRacingAWait: the waiter");
  // The Wait is entering the kernel before Delete starts: a backend whose
  // Delete holds the lock its Wait takes first (iocp) would otherwise keep a
  // late waiter out of the kernel, and the schedule could not happen.
  if (!gate.WaitForCountedCall(kPrompt)) {
    (void)poller_->Wake();
    GTEST_SKIP() << "the backend's Wait made no system call through poller's "
                    "seam: the schedule cannot be forced";
  }
  absl::Status deleted;
  BoundedThread deleter(
      [&] {
        gate.HoldThisThread();
        deleted = poller_->Delete(pair.first.get());
      },
      "DeleteRacingAWait: the deleter");
  SKIP_UNLESS_HELD(gate);
  gate.CountReturnsFromNow();
  WriteBytes(pair.second.get());
  const bool wait_returned = gate.WaitForReturn(kPrompt);
  gate.Release();
  ASSERT_TRUE(deleter.Join(kJoinLimit));
  ASSERT_TRUE(waiter.Join(kJoinLimit));
  SKIP_UNLESS_WAIT_RETURNED(wait_returned);
  ASSERT_TRUE(deleted.ok()) << deleted;
  // The socket stays readable (level): any report now would be a leak.
  for (int i = 0; i < 3; ++i) ExpectQuiet(*poller_, 1);
  // Positive control: added again, it is reported.
  ASSERT_TRUE(poller_->Add(pair.first.get(), 2, Interest::kReadable).ok());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 2), Readiness::kReadable));
}

TEST_P(ConformanceTest, ModifyRefusedDuringAWaitLeavesTheRegistration) {
  RULE(
      "a Modify whose system call fails while another thread waits returns "
      "the error and leaves the registration as it was, for that Wait too");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(
      poller_->Add(pair.first.get(), 1, Interest::kReadable, Mode::kLevel)
          .ok());
  SyscallGate gate;
  EventLog log;
  BoundedThread waiter(
      [&] {
        gate.CountCallsOfThisThread();
        Events events(8);
        auto count = poller_->Wait(events, kPrompt);
        EXPECT_TRUE(count.ok()) << count.status();
        log.Add(events);
      },
      "ModifyRefusedDuringAWait: the waiter");
  // The Wait is entering the kernel before Modify runs.
  if (!gate.WaitForCountedCall(kPrompt)) {
    (void)poller_->Wake();
    GTEST_SKIP() << "the backend's Wait made no system call through poller's "
                    "seam: the schedule cannot be forced";
  }
  absl::Status modified;
  BoundedThread modifier(
      [&] {
        gate.HoldThisThread(ENOMEM);
        modified = poller_->Modify(pair.first.get(), 2, Interest::kWritable,
                                   Mode::kLevel);
      },
      "ModifyRefusedDuringAWait: the modifier");
  SKIP_UNLESS_HELD(gate);
  gate.Release();
  ASSERT_TRUE(modifier.Join(kJoinLimit));
  EXPECT_EQ(modified.code(), absl::StatusCode::kResourceExhausted) << modified;
  WriteBytes(pair.second.get());
  ASSERT_TRUE(waiter.Join(kJoinLimit));
  std::vector<Event> seen = log.Get();
  if (seen.empty()) {
    Events events(8);
    auto again = poller_->Wait(events, kPrompt);
    ASSERT_TRUE(again.ok());
    seen.assign(events.begin(), events.end());
  }
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].token(), 1u) << "the refused Modify changed the token";
  EXPECT_TRUE(seen[0].readable());
  EXPECT_FALSE(seen[0].writable()) << "the refused Modify changed the interest";
}

// Leaves `handle` (readable, registered as 1 in `mode`) fired and disarmed,
// with its byte still there, and nothing else queued: a poll takes what the
// kernel still holds (a wake signal left over; epoll's level registration of
// the disarmed handle, which it then silences).
void FireAndSettle(Poller& poller, const Pipe& pipe, Mode mode) {
  const NativeHandle handle = pipe.read_end.get();
  ASSERT_TRUE(poller.Add(handle, 1, Interest::kReadable, mode).ok());
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(Has(WaitForToken(poller, 1), Readiness::kReadable));
  Events polled(8);
  auto polled_count = poller.Wait(polled, absl::ZeroDuration());
  ASSERT_TRUE(polled_count.ok()) << polled_count.status();
  ASSERT_EQ(*polled_count, 0u) << "a disarmed registration was reported";
}

// The schedule: a Wait enters its kernel wait; the handle is re-armed (by
// Rearm or Modify) while still readable, so the kernel reports it at once;
// the Wait is held right after its kernel wait returned while the handle is
// drained, then let go and woken. Sets `*forced` false if the schedule could
// not be forced, `*reported` if the Wait reported the handle all the same.
void RearmDuringAHeldWaitAndDrain(Poller& poller, const Pipe& pipe, Mode mode,
                                  bool by_rearm, bool* forced, bool* reported) {
  const NativeHandle handle = pipe.read_end.get();
  SyscallGate gate;
  EventLog log;
  BoundedThread waiter(
      [&] {
        gate.CountCallsOfThisThread(/*kernel_waits_only=*/true);
        gate.HoldThisThreadAfterNextKernelWait();
        Events events(8);
        // Ended by the Wake below, long before this.
        auto count = poller.Wait(events, 2 * kPrompt);
        EXPECT_TRUE(count.ok()) << count.status();
        log.Add(events);
      },
      "RearmedDuringAWaitAndDrained: the waiter");
  // Whatever fails below, the waiter is let go before it is joined.
  struct LetGo {
    SyscallGate& gate;
    Poller& poller;
    BoundedThread& waiter;
    ~LetGo() {
      gate.Release();
      if (!waiter.finished()) (void)poller.Wake();
    }
  } let_go{gate, poller, waiter};
  // The Wait has set itself up and is entering its kernel wait.
  if (!gate.WaitForCountedCall(kPrompt)) {
    GTEST_SKIP() << "the backend's Wait made no system call through "
                    "poller's seam: the schedule cannot be forced";
  }
  const bool returned_early = gate.WaitUntilHeld(absl::ZeroDuration());
  const absl::Status rearmed =
      by_rearm ? poller.Rearm(handle)
               : poller.Modify(handle, 1, Interest::kReadable, mode);
  ASSERT_TRUE(rearmed.ok()) << rearmed;
  // The re-armed registration, still readable, ended the kernel wait: the
  // Wait holds what the kernel said and has not looked at it yet.
  const bool held = gate.WaitUntilHeld(kPrompt);
  *forced = *forced && held && !returned_early;
  ASSERT_GT(DrainBytes(handle), 0u);
  gate.Release();
  // The Wait looks, finds nothing left (or reports the event as it came),
  // and is then woken: whatever it did with the event is done before the
  // pipe is readable again.
  ASSERT_TRUE(poller.Wake().ok());
  ASSERT_TRUE(waiter.Join(kJoinLimit)) << "the woken Wait did not return";
  for (const Event& event : log.Get()) *reported |= event.token() == 1;
}

TEST_P(ConformanceTest, RearmedDuringAWaitAndDrainedIsReportedWhenReadyAgain) {
  RULE(
      "a registration re-armed during a Wait and drained before the Wait "
      "looks at it is still reported when it becomes ready again");
  // With epoll's kernel oneshot the event the Wait drops is the re-arm's own,
  // which spent the kernel registration: unless the Wait arms it again, the
  // byte written afterwards is never reported.
  bool forced = true;
  for (const Mode mode : {Mode::kEdgeOneshot, Mode::kOneshot}) {
    if (!poller_->SupportsMode(mode)) continue;
    for (const bool by_rearm : {false, true}) {
      SCOPED_TRACE(absl::StrCat(
          mode == Mode::kOneshot ? "oneshot" : "edge-oneshot",
          by_rearm ? ", re-armed by Rearm" : ", re-armed by Modify"));
      Pipe pipe = MakePipe();
      const NativeHandle handle = pipe.read_end.get();
      FireAndSettle(*poller_, pipe, mode);
      if (HasFatalFailure()) return;
      bool reported = false;
      RearmDuringAHeldWaitAndDrain(*poller_, pipe, mode, by_rearm, &forced,
                                   &reported);
      if (IsSkipped() || HasFatalFailure()) return;
      // A report uses up the arm, as any report does: re-arm as a program
      // would (epoll looks again and drops it; other backends may not).
      if (reported) {
        ASSERT_TRUE(poller_->Rearm(handle).ok());
      }

      WriteBytes(pipe.write_end.get());
      Events events(8);
      const absl::Time give_up = absl::Now() + absl::Seconds(2);
      bool reported_again = false;
      while (!reported_again && absl::Now() < give_up) {
        auto seen = WaitOnce(*poller_, events, give_up - absl::Now());
        ASSERT_TRUE(seen.ok()) << seen.status();
        reported_again = Has(ReadinessOf(*seen, 1), Readiness::kReadable);
      }
      ASSERT_TRUE(reported_again)
          << "the pipe is readable again, but its token was not reported "
             "within 2 s: the re-arm the Wait dropped left the registration "
             "spent";
      ASSERT_TRUE(poller_->Delete(handle).ok());
    }
  }
  if (!forced) {
    GTEST_SKIP() << "the Wait's kernel wait did not return for the re-arm "
                    "(it returned before, or not within 5 s), so it never "
                    "held the re-armed event: the schedule could not be "
                    "forced (the registration was reported again all the "
                    "same)";
  }
}

TEST_P(ConformanceTest, WakeCoalescedIntoAHeldSignalIsNotLost) {
  RULE(
      "a wake is never lost: one coalesced into another thread's wake whose "
      "kernel signal is slow or refused once still ends the Wait");
  for (const int failure : {0, EINTR, EAGAIN}) {
    SCOPED_TRACE(failure == 0 ? "signal held" : "signal held, then refused");
    std::atomic<bool> returned{false};
    std::unique_ptr<BoundedThread> waiter;
    {
      // A Wake signals the kernel only for a Wait that may block: this one is
      // held just before its first system call, past its look for a wake.
      SyscallGate announced;
      waiter = std::make_unique<BoundedThread>(
          [&] {
            announced.HoldThisThread();
            Events events(8);
            auto count = poller_->Wait(events, 2 * kPrompt);
            EXPECT_TRUE(count.ok()) << count.status();
            returned = true;
          },
          "WakeCoalescedIntoAHeldSignal: the waiter");
      SKIP_UNLESS_HELD_ELSE(announced, (void)poller_->Wake());
    }  // Released: the waiter blocks.
    SyscallGate gate;
    absl::Status first_wake;
    BoundedThread first(
        [&] {
          gate.HoldThisThread(failure);
          first_wake = poller_->Wake();
        },
        "WakeCoalescedIntoAHeldSignal: the first waker");
    SKIP_UNLESS_HELD_ELSE(gate, (void)poller_->Wake());
    // This Wake finds one pending and returns at once, relying on it.
    ASSERT_TRUE(poller_->Wake().ok());
    gate.Release();
    ASSERT_TRUE(first.Join(kJoinLimit));
    EXPECT_TRUE(first_wake.ok()) << first_wake;
    EXPECT_TRUE(waiter->Join(kPrompt)) << "the coalesced wake was lost";
    if (!returned) {
      (void)poller_->Wake();
      ASSERT_TRUE(waiter->Join(kJoinLimit));
    }
    Events drain(8);
    ASSERT_TRUE(poller_->Wait(drain, absl::ZeroDuration()).ok());
  }
}

TEST_P(ConformanceTest, ShutdownReleasesAnInfiniteWaitWhenItsSignalFailsOnce) {
  RULE(
      "Shutdown wakes every waiter whatever one system call returns: a Wait "
      "with no timeout returns Cancelled even if the first signal is refused");
  SyscallGate gate;
  absl::StatusOr<size_t> result = 0;
  BoundedThread waiter(
      [&] {
        Events events(8);
        result = poller_->Wait(events, absl::InfiniteDuration());
      },
      "ShutdownReleasesAnInfiniteWait: rule: Shutdown wakes every waiter "
      "whatever one system call returns");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BoundedThread stopper(
      [&] {
        gate.HoldThisThread(EAGAIN);
        poller_->Shutdown();
      },
      "ShutdownReleasesAnInfiniteWait: the Shutdown caller");
  SKIP_UNLESS_HELD(gate);
  gate.Release();
  ASSERT_TRUE(stopper.Join(kJoinLimit));
  ASSERT_TRUE(waiter.Join(kPrompt)) << "the waiter was never released";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled)
      << result.status();
}

}  // namespace
}  // namespace poller::conformance
