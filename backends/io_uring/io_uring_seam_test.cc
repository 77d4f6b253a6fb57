// Copyright 2026 The poller Authors.
//
// The io_uring backend under schedules and faults forced through the
// system-call seam, under the one-issuer design (only the thread inside Wait
// submits): a Wake refused; an arm, re-arm or cancellation the kernel
// refuses, which is never lost; a change made while a Wait is blocked, armed
// by that Wait; dropped completions (EBADR); a closed descriptor whose number
// is reused.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/io_uring/io_uring_backend.h"
#include "backends/io_uring/io_uring_testing.h"
#include "gtest/gtest.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"
namespace poller {
namespace {

using io_uring_testing::NewPollerOrSkip;
using testing::MakeTcpConnection;
using testing::WaitOnce;
using testing::WriteBytes;

// A plan for the system-call seam, shared with its hook (a plain function):
// fail or hold (block until released) the calls whose names start with
// `call`, made by `thread` if one is set; and count the kernel waits entered.
struct Plan {
  std::mutex mutex;
  std::condition_variable changed;
  std::string call;
  std::thread::id thread;
  int error = 0;
  int failures = 0;
  bool hold = false;
  int held = 0;
  int waits_entered = 0;
};

Plan& ThePlan() {
  static Plan* plan = new Plan;
  return *plan;
}

int PlanHook(const char* name) {
  Plan& plan = ThePlan();
  std::unique_lock<std::mutex> lock(plan.mutex);
  if (std::strcmp(name, "io_uring_submit_and_wait_timeout") == 0) {
    ++plan.waits_entered;
    plan.changed.notify_all();
  }
  if (plan.call.empty() ||
      std::strncmp(name, plan.call.c_str(), plan.call.size()) != 0 ||
      (plan.thread != std::thread::id() &&
       plan.thread != std::this_thread::get_id())) {
    return 0;
  }
  if (plan.hold) {
    ++plan.held;
    plan.changed.notify_all();
    // Bounded, so that a broken test cannot hang.
    plan.changed.wait_for(lock, std::chrono::seconds(10),
                          [&] { return !plan.hold; });
    --plan.held;
  }
  if (plan.failures > 0) {
    --plan.failures;
    return plan.error;
  }
  return 0;
}

// Installs PlanHook with a fresh plan for its lifetime.
class ScopedPlan {
 public:
  ScopedPlan() {
    Configure([](Plan& plan) {
      plan.call.clear();
      plan.thread = std::thread::id();
      plan.error = 0;
      plan.failures = 0;
      plan.hold = false;
      plan.waits_entered = 0;
    });
    internal::SetFaultHookForTesting(&PlanHook);
  }
  ~ScopedPlan() {
    Release();
    internal::SetFaultHookForTesting(nullptr);
  }

  template <typename Change>
  void Configure(Change change) {
    std::lock_guard<std::mutex> lock(ThePlan().mutex);
    change(ThePlan());
  }
  // Fails the next `count` calls named `call...` with `error`: those of this
  // thread, or of any thread if `any_thread`.
  void Fail(const char* call, int error, int count, bool any_thread = false) {
    Configure([&](Plan& plan) {
      plan.call = call;
      plan.thread = any_thread ? std::thread::id() : std::this_thread::get_id();
      plan.error = error;
      plan.failures = count;
    });
  }
  // Holds every call named `call...`, of any thread, until Release().
  void Hold(const char* call) {
    Configure([&](Plan& plan) {
      plan.call = call;
      plan.thread = std::thread::id();
      plan.hold = true;
    });
  }
  void Release() {
    Configure([](Plan& plan) { plan.hold = false; });
    ThePlan().changed.notify_all();
  }
  // Waits (up to 5 s) until `ready` holds for the plan.
  template <typename Condition>
  bool Await(Condition ready) {
    std::unique_lock<std::mutex> lock(ThePlan().mutex);
    return ThePlan().changed.wait_for(lock, std::chrono::seconds(5),
                                      [&] { return ready(ThePlan()); });
  }
};

// One Wait on another thread (a BoundedThread: a Wait that never returns
// fails the test instead of hanging it).
class Waiter {
 public:
  Waiter(Poller& poller, absl::Duration timeout)
      : thread_(
            [this, &poller, timeout] {
              const absl::Time start = absl::Now();
              result_ = WaitOnce(poller, events_, timeout);
              took_ = absl::Now() - start;
            },
            "a Wait on another thread") {}
  // Joins within `timeout` + 10 s and returns what the Wait saw; an error if
  // it did not return by then.
  absl::StatusOr<std::map<Token, Readiness>> Join(absl::Duration* took) {
    if (!thread_.Join(kJoinLimit)) {
      return absl::DeadlineExceededError("the Wait did not return");
    }
    *took = took_;
    return result_;
  }

 private:
  static constexpr absl::Duration kJoinLimit = absl::Seconds(15);
  Events events_{16};
  absl::StatusOr<std::map<Token, Readiness>> result_;
  absl::Duration took_;
  testing::BoundedThread thread_;
};

// Refused for the moment (no memory, no room for completions, a signal)...
constexpr int kTransientErrors[] = {EAGAIN, EBUSY, EINTR};
// ... and the others io_uring_enter may return.
constexpr int kSubmitErrors[] = {EAGAIN, EBUSY, EINTR, ENOMEM, EBADF, EFAULT};
// What write(2) of an eventfd may return, and two it may not (injected).
constexpr int kSignalErrors[] = {EAGAIN, EINTR, ENOMEM, EBADF};
constexpr absl::Duration kPrompt = absl::Seconds(3);
constexpr absl::Duration kWaiterTimeout = absl::Seconds(5);

bool NamesCallAndErrno(const absl::Status& status, absl::string_view call,
                       absl::string_view errno_name) {
  return status.message().find(call) != absl::string_view::npos &&
         status.message().find(errno_name) != absl::string_view::npos;
}

std::string Name(int error) { return std::string(internal::ErrnoName(error)); }

// What a Wait whose submission the kernel refused with `error` may do: report
// `token`, return 0 events (EINTR only: as a signal), or fail naming the call
// and the errno. True if the token was reported. Whatever it did, the caller
// then checks that the next Wait reports the token: nothing is lost.
bool ExpectReportedOrRefused(
    const absl::StatusOr<std::map<Token, Readiness>>& seen, int error,
    Token token) {
  if (seen.ok()) {
    if (seen->count(token) == 1) return true;
    EXPECT_EQ(error, EINTR)
        << "rule: a Wait whose submission is refused reports the error";
    return false;
  }
  EXPECT_NE(error, EINTR) << "rule: EINTR is not an error: " << seen.status();
  EXPECT_EQ(seen.status().code(), internal::ErrnoToStatusCode(error))
      << seen.status();
  EXPECT_TRUE(NamesCallAndErrno(seen.status(), "io_uring_submit", Name(error)))
      << seen.status();
  return false;
}

// The waiter is signalled through an eventfd (see io_uring_backend.h). Rule:
// a Wake refused once is retried, so the blocked Wait ends at once; one
// refused for good reports the error (the call and the errno), leaves the
// poller usable, and the next Wake is not coalesced away.
TEST(IoUringBackendTest, WakeRefusedWhileAWaitIsBlocked) {
  for (int error : kSignalErrors) {
    for (bool for_good : {false, true}) {
      SCOPED_TRACE(absl::StrCat(Name(error), for_good ? " for good" : " once"));
      if (HasFailure()) return;  // One failing case is enough.
      std::unique_ptr<Poller> poller = NewPollerOrSkip();
      SKIP_IF_UNAVAILABLE(poller);
      ScopedPlan plan;
      Waiter waiter(*poller, kWaiterTimeout);
      ASSERT_TRUE(plan.Await([](Plan& p) { return p.waits_entered > 0; }));
      plan.Fail("write", error, for_good ? 1000 : 1);
      const absl::Status woken = poller->Wake();
      plan.Configure([](Plan& p) { p.failures = 0; });
      if (for_good) {
        EXPECT_EQ(woken.code(), internal::ErrnoToStatusCode(error)) << woken;
        EXPECT_TRUE(NamesCallAndErrno(woken, "write(eventfd)", Name(error)))
            << woken;
        EXPECT_TRUE(poller->Wake().ok());
      } else {
        EXPECT_TRUE(woken.ok()) << woken;
      }
      absl::Duration took;
      auto seen = waiter.Join(&took);
      ASSERT_TRUE(seen.ok()) << seen.status();
      EXPECT_LT(took, kPrompt) << "rule: a wake is never lost";
    }
  }
}

// Shutdown's wake, refused once by the kernel, must still end a blocked Wait
// (Poller ignores Wake's result there, so it retries itself).
TEST(IoUringBackendTest, ShutdownRefusedOnceStillReleasesABlockedWait) {
  for (int error : kTransientErrors) {
    SCOPED_TRACE(Name(error));
    if (HasFailure()) return;  // One failing case is enough.
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    ScopedPlan plan;
    Events events(8);
    absl::StatusOr<size_t> waited;
    absl::Duration took;
    testing::BoundedThread waiter(
        [&] {
          const absl::Time start = absl::Now();
          waited = poller->Wait(events, kWaiterTimeout);
          took = absl::Now() - start;
        },
        "ShutdownRefusedOnce: the waiter");
    const bool entered =
        plan.Await([](Plan& p) { return p.waits_entered > 0; });
    plan.Fail("write", error, 1);
    poller->Shutdown();
    ASSERT_TRUE(waiter.Join(absl::Seconds(15))) << "the Wait never returned";
    ASSERT_TRUE(entered);
    EXPECT_EQ(waited.status().code(), absl::StatusCode::kCancelled)
        << waited.status();
    EXPECT_LT(took, kPrompt) << "rule: Shutdown wakes every waiter";
  }
}

// Add submits nothing: the blocked Wait is signalled and submits the arm with
// its next kernel wait. Rule: when the kernel refuses that submission, Add
// has still returned OK, and the arm is not lost: the Wait that tried reports
// the error (or 0 events for EINTR), and the next Wait reports the handle.
TEST(IoUringBackendTest, AddWhoseArmIsRefusedIsArmedByTheNextWait) {
  for (int error : kSubmitErrors) {
    SCOPED_TRACE(Name(error));
    if (HasFailure()) return;  // One failing case is enough.
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::Pipe pipe = testing::MakePipe();
    WriteBytes(pipe.write_end.get());
    ScopedPlan plan;
    Waiter waiter(*poller, kWaiterTimeout);
    ASSERT_TRUE(plan.Await([](Plan& p) { return p.waits_entered > 0; }));
    // The waiter's next submission, the one that carries the arm.
    plan.Fail("io_uring_submit", error, 1, /*any_thread=*/true);
    const absl::Status added =
        poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kLevel);
    EXPECT_TRUE(added.ok())
        << "rule: the kernel cannot refuse an Add: " << added;
    absl::Duration took;
    auto seen = waiter.Join(&took);
    EXPECT_LT(took, kPrompt) << "rule: an Add takes effect for a blocked Wait";
    EXPECT_EQ(ThePlan().failures, 0) << "the refusal was never injected";
    if (!ExpectReportedOrRefused(seen, error, 1)) {
      Events events(8);
      seen = WaitOnce(*poller, events, kWaiterTimeout);
      ASSERT_TRUE(seen.ok()) << seen.status();
      EXPECT_EQ(seen->count(1), 1u) << "rule: the refused arm is not lost";
    }
    // Added: a second Add says so.
    EXPECT_EQ(
        poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kLevel)
            .code(),
        absl::StatusCode::kAlreadyExists);
  }
}

// Modify and Delete submit nothing either (Delete cancels at once only from
// the thread that waits, outside Wait). Rules: a Modify whose arm the kernel
// refuses has returned OK, the old token is never reported after it, and the
// next Wait reports the new one; a Delete whose cancellation the kernel
// refuses returns OK, its token is never reported again, and the next Wait
// cancels the request, which releases the file (its peer reads end-of-file).
TEST(IoUringBackendTest, ModifyAndDeleteWhoseSubmissionIsRefused) {
  for (int error : kSubmitErrors) {
    SCOPED_TRACE(Name(error));
    if (HasFailure()) return;  // One failing case is enough.
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::SocketPair pair = testing::MakeSocketPair();
    const int fd = pair.first.get();
    ASSERT_TRUE(poller->Add(fd, 1, Interest::kReadable, Mode::kLevel).ok());
    WriteBytes(pair.second.get());
    Events events(8);
    auto seen = WaitOnce(*poller, events, kWaiterTimeout);
    ASSERT_TRUE(seen.ok() && seen->count(1) == 1) << "positive control";

    ScopedPlan plan;
    ASSERT_TRUE(poller->Modify(fd, 2, Interest::kReadable, Mode::kLevel).ok())
        << "rule: the kernel cannot refuse a Modify";
    plan.Fail("io_uring_submit", error, 1);
    seen = WaitOnce(*poller, events, kWaiterTimeout);
    EXPECT_EQ(ThePlan().failures, 0) << "the refusal was never injected";
    if (seen.ok()) {
      EXPECT_EQ(seen->count(1), 0u) << "the old token reported";
    }
    if (!ExpectReportedOrRefused(seen, error, 2)) {
      seen = WaitOnce(*poller, events, kWaiterTimeout);
      ASSERT_TRUE(seen.ok()) << seen.status();
      EXPECT_EQ(seen->count(2), 1u) << "rule: the refused arm is not lost";
      EXPECT_EQ(seen->count(1), 0u) << "the old token reported";
    }

    // An edge registration always has a request in the kernel to cancel;
    // this thread waits, so its Delete cancels it itself.
    ASSERT_TRUE(poller->Modify(fd, 3, Interest::kReadable, Mode::kEdge).ok());
    seen = WaitOnce(*poller, events, kWaiterTimeout);
    ASSERT_TRUE(seen.ok() && seen->count(3) == 1) << "positive control";
    testing::Pipe control = testing::MakePipe();
    ASSERT_TRUE(
        poller
            ->Add(control.read_end.get(), 9, Interest::kReadable, Mode::kLevel)
            .ok());
    WriteBytes(control.write_end.get());
    plan.Fail("io_uring_submit", error, 1);
    const absl::Status deleted = poller->Delete(fd);
    EXPECT_EQ(ThePlan().failures, 0) << "the refusal was never injected";
    EXPECT_TRUE(deleted.ok())
        << "rule: the kernel cannot refuse a Delete: " << deleted;
    // New data for the deleted registration's live request, which would
    // complete again.
    WriteBytes(pair.second.get());
    pair.first.Reset();
    seen = WaitOnce(*poller, events, kWaiterTimeout);
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_EQ(seen->count(9), 1u) << "positive control";
    EXPECT_EQ(seen->count(3), 0u) << "reported after Delete returned OK";
    // Released: end-of-file, or ECONNRESET (it was closed with unread data).
    // Still open in the kernel: EAGAIN.
    char byte;
    const ssize_t got = ::recv(pair.second.get(), &byte, 1, MSG_DONTWAIT);
    const int got_error = got < 0 ? errno : 0;
    EXPECT_TRUE(got == 0 || got_error == ECONNRESET)
        << "rule: the next Wait cancels the request: the closed socket is "
           "still open in the kernel: "
        << (got < 0 ? std::strerror(got_error) : "data");
  }
}

// The re-arm of a level registration is submitted with the Wait's kernel wait
// (io_uring_submit_and_wait_timeout, or io_uring_submit then a peek for a
// zero timeout). Rule: when the kernel refuses it, a still-ready level handle
// ends the Wait at once, or the Wait reports the error (0 events for EINTR),
// and the next Wait reports the handle: nothing is lost.
TEST(IoUringBackendTest, LevelRearmRefusedAtTheStartOfWait) {
  for (int error : kSubmitErrors) {
    SCOPED_TRACE(Name(error));
    if (HasFailure()) return;  // One failing case is enough.
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::Pipe pipe = testing::MakePipe();
    ASSERT_TRUE(
        poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kLevel)
            .ok());
    WriteBytes(pipe.write_end.get());
    Events events(8);
    auto seen = WaitOnce(*poller, events, kWaiterTimeout);
    ASSERT_TRUE(seen.ok() && seen->count(1) == 1) << "positive control";

    for (absl::Duration timeout : {absl::ZeroDuration(), kWaiterTimeout}) {
      SCOPED_TRACE(absl::StrCat("timeout ", absl::FormatDuration(timeout)));
      ScopedPlan plan;
      plan.Fail("io_uring_submit", error, 1);
      const absl::Time start = absl::Now();
      seen = WaitOnce(*poller, events, timeout);
      EXPECT_LT(absl::Now() - start, kPrompt)
          << "rule: a ready level handle ends the Wait, or the Wait fails";
      EXPECT_EQ(ThePlan().failures, 0) << "the refusal was never injected";
      if (!ExpectReportedOrRefused(seen, error, 1)) {
        seen = WaitOnce(*poller, events, timeout);
        ASSERT_TRUE(seen.ok()) << seen.status();
        EXPECT_EQ(seen->count(1), 1u) << "rule: the refused re-arm is not lost";
      }
    }
  }
}

// An event the kernel completed before a Modify (already in the completion
// queue) is not reported under the Modify's token, and does not use up the
// Modify's arm.
TEST(IoUringBackendTest, EventTakenBeforeModifyIsNotReportedUnderTheNewToken) {
  std::unique_ptr<Poller> poller = NewPollerOrSkip();
  SKIP_IF_UNAVAILABLE(poller);
  testing::SocketPair pair = testing::MakeSocketPair();
  const int fd = pair.first.get();
  ASSERT_TRUE(poller->Add(fd, 1, Interest::kReadable, Mode::kOneshot).ok());
  WriteBytes(pair.second.get());  // Token 1's request completes now.
  ASSERT_TRUE(poller->Modify(fd, 2, Interest::kWritable, Mode::kOneshot).ok());
  Events events(8);
  auto seen = WaitOnce(*poller, events, absl::Seconds(5));
  ASSERT_TRUE(seen.ok()) << seen.status();
  ASSERT_EQ(seen->count(2), 1u) << "token 2 is writable";
  EXPECT_EQ(seen->at(2), Readiness::kWritable)
      << "a readiness token 2 never asked for";
  EXPECT_EQ(seen->count(1), 0u);
  // The arm was used by token 2's own event: re-armed, it reports again.
  ASSERT_TRUE(poller
                  ->Modify(fd, 3, Interest::kReadable | Interest::kWritable,
                           Mode::kOneshot)
                  .ok());
  seen = WaitOnce(*poller, events, absl::Seconds(5));
  ASSERT_TRUE(seen.ok()) << seen.status();
  ASSERT_EQ(seen->count(3), 1u);
  EXPECT_EQ(seen->at(3), Readiness::kReadable | Readiness::kWritable);
}

// Modify records the change under the backend's lock and then signals the
// blocked Wait (an eventfd write, held here). Rule: the Wait that returns for
// any other reason (here the old request's completion) arms the change before
// it reports: the old token is never reported for readiness that came after
// the change, and the new one is reported by that Wait, without the signal.
TEST(IoUringBackendTest, ModifyHeldInItsSignalIsArmedByTheWaitThatReturns) {
  std::unique_ptr<Poller> poller = NewPollerOrSkip();
  SKIP_IF_UNAVAILABLE(poller);
  testing::SocketPair pair = testing::MakeSocketPair();
  const int fd = pair.first.get();
  ASSERT_TRUE(poller->Add(fd, 1, Interest::kReadable, Mode::kOneshot).ok());
  ScopedPlan plan;
  Waiter waiter(*poller, kWaiterTimeout);
  ASSERT_TRUE(plan.Await([](Plan& p) { return p.waits_entered > 0; }));
  plan.Hold("write");
  absl::Status modified;
  testing::BoundedThread modifier(
      [&] {
        modified = poller->Modify(fd, 2, Interest::kWritable, Mode::kOneshot);
      },
      "ModifyHeldInItsSignal: the modifier");
  const bool held = plan.Await([](Plan& p) { return p.held > 0; });
  // Token 1's request completes: the Wait returns from the kernel.
  WriteBytes(pair.second.get());
  absl::Duration took;
  auto seen = waiter.Join(&took);
  plan.Release();
  ASSERT_TRUE(modifier.Join(absl::Seconds(15))) << "the Modify never returned";
  ASSERT_TRUE(held) << "the Modify made no signal to hold";
  ASSERT_TRUE(modified.ok()) << modified;
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->count(1), 0u) << "the old token, for readiness after Modify";
  ASSERT_EQ(seen->count(2), 1u) << "the writable socket, under token 2";
  EXPECT_EQ(seen->at(2), Readiness::kWritable);
  EXPECT_LT(took, kPrompt);
}

// EBADR while set: the next kernel wait fails with it, once.
std::atomic<int> ebadr_pending{0};

int FailOneWaitWithEbadr(const char* name) {
  if (std::strcmp(name, "io_uring_submit_and_wait_timeout") != 0) return 0;
  int expected = EBADR;
  return ebadr_pending.compare_exchange_strong(expected, 0) ? EBADR : 0;
}

// EBADR from the kernel wait: completions were dropped (no memory for the
// overflow list). Injected through the seam into the wait call, first while
// nothing is ready (the Wait then has nothing to report and must go on), then
// while one registration is ready. Rule: it is not an error, and no event is
// lost for good: every armed registration is armed again, so one that becomes
// ready later is reported, and one that is ready is reported (a oneshot
// once).
TEST(IoUringBackendTest, DroppedCompletionsLoseNoEvent) {
  for (Mode mode :
       {Mode::kOneshot, Mode::kLevel, Mode::kEdge, Mode::kEdgeOneshot}) {
    SCOPED_TRACE(ModeName(mode));
    if (HasFailure()) return;  // One failing case is enough.
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::Pipe ready = testing::MakePipe();
    testing::Pipe later = testing::MakePipe();
    ASSERT_TRUE(
        poller->Add(ready.read_end.get(), 1, Interest::kReadable, mode).ok());
    ASSERT_TRUE(
        poller->Add(later.read_end.get(), 2, Interest::kReadable, mode).ok());
    Events events(8);
    // Both armed, nothing ready.
    auto seen = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(seen.ok() && seen->empty()) << "nothing is ready yet";

    // The kernel wait fails with EBADR while nothing is ready; `later`
    // becomes ready only after that.
    ebadr_pending = EBADR;
    internal::SetFaultHookForTesting(&FailOneWaitWithEbadr);
    testing::BoundedThread writer(
        [&] {
          const absl::Time limit = absl::Now() + kWaiterTimeout;
          while (ebadr_pending.load() != 0 && absl::Now() < limit) {
            absl::SleepFor(absl::Milliseconds(1));
          }
          absl::SleepFor(absl::Milliseconds(20));
          WriteBytes(later.write_end.get());
        },
        "DroppedCompletionsLoseNoEvent: the writer");
    seen = WaitOnce(*poller, events, kWaiterTimeout);
    ASSERT_TRUE(writer.Join(absl::Seconds(15))) << "the writer is stuck";
    const bool injected = ebadr_pending.load() == 0;
    internal::SetFaultHookForTesting(nullptr);
    ebadr_pending = 0;
    ASSERT_TRUE(injected) << "the Wait made no kernel wait to refuse";
    ASSERT_TRUE(seen.ok()) << "rule: EBADR is not an error: " << seen.status();
    EXPECT_EQ(seen->count(2), 1u)
        << "rule: a registration armed before EBADR still reports";
    EXPECT_EQ(seen->count(1), 0u) << "reported before it was ready";

    // Now with a registration ready when the kernel wait fails.
    WriteBytes(ready.write_end.get());
    ebadr_pending = EBADR;
    internal::SetFaultHookForTesting(&FailOneWaitWithEbadr);
    seen = WaitOnce(*poller, events, kWaiterTimeout);
    internal::SetFaultHookForTesting(nullptr);
    ebadr_pending = 0;
    ASSERT_TRUE(seen.ok()) << "rule: EBADR is not an error: " << seen.status();
    int reports = static_cast<int>(seen->count(1));
    if (reports == 0) {
      seen = WaitOnce(*poller, events, kWaiterTimeout);
      ASSERT_TRUE(seen.ok()) << seen.status();
      reports += static_cast<int>(seen->count(1));
    }
    EXPECT_EQ(reports, 1) << "rule: the ready registration is reported";
    if (IsOneshot(mode)) {
      seen = WaitOnce(*poller, events, absl::Milliseconds(100));
      ASSERT_TRUE(seen.ok()) << seen.status();
      EXPECT_EQ(seen->count(1), 0u) << "a oneshot reported twice";
    }
  }
}

// A registration whose descriptor was closed without Delete must not be
// re-armed by number: a new file that reuses the number is never reported
// under the old token.
TEST(IoUringBackendTest, ClosedAndReusedNumberIsNotReportedUnderTheOldToken) {
  for (Mode mode :
       {Mode::kLevel, Mode::kOneshot, Mode::kEdge, Mode::kEdgeOneshot}) {
    SCOPED_TRACE(ModeName(mode));
    if (HasFailure()) return;  // One failing case is enough.
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::Pipe control = testing::MakePipe();
    ASSERT_TRUE(
        poller
            ->Add(control.read_end.get(), 9, Interest::kReadable, Mode::kLevel)
            .ok());
    WriteBytes(control.write_end.get());
    testing::Pipe pipe = testing::MakePipe();
    const int number = pipe.read_end.get();
    WriteBytes(pipe.write_end.get());
    ASSERT_TRUE(poller->Add(number, 5, Interest::kReadable, mode).ok());
    Events events(8);
    auto seen = WaitOnce(*poller, events, absl::Seconds(5));
    ASSERT_TRUE(seen.ok() && seen->count(5) == 1) << "positive control";
    // Closed without Delete. (The writer stays open: a live request still
    // watches the closed file, whose hang-up it would report; see the
    // header.)
    pipe.read_end.Reset();
    testing::Pipe reuse = testing::MakePipe();
    ASSERT_EQ(reuse.read_end.get(), number);
    WriteBytes(reuse.write_end.get());
    for (int wait = 0; wait < 3; ++wait) {
      seen = WaitOnce(*poller, events, absl::Seconds(5));
      ASSERT_TRUE(seen.ok()) << seen.status();
      EXPECT_EQ(seen->count(9), 1u) << "positive control, Wait " << wait;
      EXPECT_EQ(seen->count(5), 0u)
          << "the new file reported under the old token, Wait " << wait;
    }
    ASSERT_TRUE(poller->Add(number, 6, Interest::kReadable, mode).ok());
    seen = WaitOnce(*poller, events, absl::Seconds(5));
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_EQ(seen->count(6), 1u);
    EXPECT_EQ(seen->count(5), 0u);
  }
}

}  // namespace
}  // namespace poller
