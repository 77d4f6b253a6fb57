// Copyright 2026 The poller Authors.
//
// What the io_uring backend promises beyond the conformance suite: Unavailable
// when the kernel refuses io_uring, priority-only interest (polled with an
// extra POLLIN, see io_uring_backend.h) that neither reports plain data nor
// spins, kernel failures reported through the system-call seam, and (issue
// 13) schedules and faults forced through that seam: a submission the kernel
// refuses, on the waiter or on another thread while a Wait is blocked, either
// takes effect for that Wait or fails with nothing changed; a Modify held
// inside its submission while an event is taken; a closed descriptor whose
// number is reused.

#include "backends/io_uring/io_uring_backend.h"

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

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"
#include "tests/conformance/test_handles.h"

namespace poller {
namespace {

using testing::MakeTcpConnection;
using testing::WaitOnce;
using testing::WriteBytes;

std::atomic<int> fail_with{0};
std::atomic<int> wait_calls{0};

int FailQueueInit(const char* name) {
  return std::strcmp(name, "io_uring_queue_init") == 0 ? fail_with.load() : 0;
}

int FailWaits(const char* name) {
  return std::strcmp(name, "io_uring_wait_cqe_timeout") == 0 ||
                 std::strcmp(name, "io_uring_wait_cqe") == 0
             ? fail_with.load()
             : 0;
}

int CountWaits(const char* name) {
  if (std::strncmp(name, "io_uring_wait_cqe", 17) == 0 ||
      std::strcmp(name, "io_uring_peek_cqe") == 0) {
    ++wait_calls;
  }
  return 0;
}

// Skips the test where this kernel refuses io_uring.
std::unique_ptr<Poller> NewPollerOrSkip() {
  auto backend = IoUringBackend::Create();
  if (backend.status().code() == absl::StatusCode::kUnavailable) return nullptr;
  EXPECT_TRUE(backend.ok()) << backend.status();
  return backend.ok() ? Poller::FromBackend(*std::move(backend)) : nullptr;
}

#define SKIP_IF_UNAVAILABLE(poller) \
  if ((poller) == nullptr) GTEST_SKIP() << "io_uring is unavailable here"

TEST(IoUringBackendTest, RefusedByTheKernelIsUnavailable) {
  for (int error : {ENOSYS, EPERM}) {
    fail_with = error;
    internal::SetFaultHookForTesting(&FailQueueInit);
    auto backend = IoUringBackend::Create();
    internal::SetFaultHookForTesting(nullptr);
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kUnavailable)
        << backend.status();
    EXPECT_NE(backend.status().message().find("io_uring_queue_init"),
              absl::string_view::npos)
        << backend.status();
  }
  fail_with = EMFILE;
  internal::SetFaultHookForTesting(&FailQueueInit);
  auto backend = IoUringBackend::Create();
  internal::SetFaultHookForTesting(nullptr);
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(IoUringBackendTest, KernelWaitFailures) {
  std::unique_ptr<Poller> poller = NewPollerOrSkip();
  SKIP_IF_UNAVAILABLE(poller);
  Events events(8);
  fail_with = EINTR;
  internal::SetFaultHookForTesting(&FailWaits);
  auto interrupted = poller->Wait(events, absl::Seconds(5));
  fail_with = EFAULT;
  auto failed = poller->Wait(events, absl::InfiniteDuration());
  internal::SetFaultHookForTesting(nullptr);
  ASSERT_TRUE(interrupted.ok()) << interrupted.status();
  EXPECT_EQ(*interrupted, 0u);
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("io_uring_wait_cqe"),
            absl::string_view::npos)
      << failed.status();
}

TEST(IoUringBackendTest, PriorityOnlyIgnoresPlainDataWithoutSpinning) {
  for (Mode mode : {Mode::kOneshot, Mode::kLevel, Mode::kEdge}) {
    SCOPED_TRACE(ModeName(mode));
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    auto connection = MakeTcpConnection();
    ASSERT_TRUE(
        poller->Add(connection.server.get(), 1, Interest::kPriority, mode)
            .ok());
    WriteBytes(connection.client.get());  // Plain data, left unread.
    Events events(8);
    wait_calls = 0;
    internal::SetFaultHookForTesting(&CountWaits);
    auto seen = WaitOnce(*poller, events, absl::Milliseconds(100));
    internal::SetFaultHookForTesting(nullptr);
    ASSERT_TRUE(seen.ok());
    EXPECT_EQ(seen->count(1), 0u)
        << "plain data is not priority: "
        << (seen->count(1) ? static_cast<int>(seen->at(1)) : 0);
    // A re-armed single-shot request would complete at once, again and again.
    EXPECT_LT(wait_calls.load(), 10) << "the wait spun";
    char byte = '!';
    ASSERT_EQ(::send(connection.client.get(), &byte, 1, MSG_OOB), 1);
    seen = WaitOnce(*poller, events, absl::Seconds(5));
    ASSERT_TRUE(seen.ok());
    ASSERT_EQ(seen->count(1), 1u);
    EXPECT_EQ(seen->at(1), Readiness::kPriority);
  }
}

// Completions of a poll request run as task work of the thread that submitted
// it; the kernel must still deliver them once that thread is gone.
TEST(IoUringBackendTest, AddFromAThreadThatHasExitedStillReports) {
  std::unique_ptr<Poller> poller = NewPollerOrSkip();
  SKIP_IF_UNAVAILABLE(poller);
  testing::Pipe pipe = testing::MakePipe();
  std::thread adder([&] {
    EXPECT_TRUE(
        poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kEdge)
            .ok());
  });
  adder.join();
  for (int round = 0; round < 3; ++round) {
    WriteBytes(pipe.write_end.get());
    Events events(8);
    auto seen = WaitOnce(*poller, events, absl::Seconds(5));
    ASSERT_TRUE(seen.ok());
    EXPECT_EQ(seen->count(1), 1u) << "round " << round;
  }
}

// With IORING_SETUP_COOP_TASKRUN the kernel does not interrupt a submitter
// that is running in user space to post its completion: the completion waits
// for that thread's next entry into the kernel, at the latest the next timer
// tick's; a submitter asleep in a system call is woken to post it. Either way
// a Wait blocked on another thread must hear of a handle that thread added
// soon, not when the thread next makes a system call of its own.
TEST(IoUringBackendTest, AddFromABusyOrBlockedThreadIsReportedAtOnce) {
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "the adding thread is blocked in read(2)"
                         : "the adding thread is busy in user space");
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::Pipe pipe = testing::MakePipe();
    // A blocking pipe the adding thread reads while blocked: nothing arrives
    // before the test writes its end to release it.
    int parking[2];
    ASSERT_EQ(::pipe(parking), 0) << std::strerror(errno);
    testing::ScopedFd parking_read(parking[0]);
    testing::ScopedFd parking_write(parking[1]);
    std::atomic<bool> added{false};
    std::atomic<bool> stop{false};
    std::thread adder([&] {
      EXPECT_TRUE(
          poller
              ->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kOneshot)
              .ok());
      added = true;
      if (blocked) {
        char byte;
        (void)::read(parking_read.get(), &byte, 1);
        return;
      }
      // Busy without a system call, for 10 s at most.
      const auto give_up =
          std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!stop.load(std::memory_order_relaxed) &&
             std::chrono::steady_clock::now() < give_up) {
      }
    });
    const auto added_by =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!added && std::chrono::steady_clock::now() < added_by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Parked.
    std::atomic<bool> reported{false};
    std::atomic<std::int64_t> took_ms{-1};
    std::thread waiter([&] {
      Events events(8);
      const auto start = std::chrono::steady_clock::now();
      auto seen = WaitOnce(*poller, events, absl::Seconds(5));
      took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
      reported = seen.ok() && seen->count(1) == 1;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Blocked.
    WriteBytes(pipe.write_end.get());
    waiter.join();  // WaitOnce gives up after 5 s.
    stop = true;
    WriteBytes(parking_write.get());
    adder.join();
    ASSERT_TRUE(added) << "Add did not return within 5 s";
    EXPECT_TRUE(reported) << "the handle the other thread added was not "
                             "reported";
    EXPECT_LT(took_ms.load(), 1000)
        << "the completion waited for the adding thread to enter the kernel";
  }
}

// Without a live submitter the kernel completes a woken poll request from a
// worker about a jiffy later, and only with -ECANCELED: a level handle made
// ready after the thread that armed it exited was missed by the Waits in
// between (the stress test's settling saw it). Every Wait, even one that only
// polls, must report it at once.
TEST(IoUringBackendTest, LevelArmedByAThreadThatHasExitedIsReportedAtOnce) {
  for (bool modify : {false, true}) {
    SCOPED_TRACE(modify ? "Modify" : "Add");
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::Pipe pipe = testing::MakePipe();
    if (modify) {
      ASSERT_TRUE(
          poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kEdge)
              .ok());
    }
    std::thread arming([&] {
      const int fd = pipe.read_end.get();
      EXPECT_TRUE(
          (modify ? poller->Modify(fd, 2, Interest::kReadable, Mode::kLevel)
                  : poller->Add(fd, 2, Interest::kReadable, Mode::kLevel))
              .ok());
    });
    arming.join();
    WriteBytes(pipe.write_end.get());
    Events events(8);
    for (int wait = 0; wait < 3; ++wait) {
      absl::StatusOr<size_t> count = poller->Wait(events, absl::ZeroDuration());
      ASSERT_TRUE(count.ok()) << count.status();
      ASSERT_EQ(*count, 1u) << "Wait " << wait;
      EXPECT_EQ(events[0].token(), 2u);
      EXPECT_TRUE(events[0].readable());
    }
  }
}

// Found by the fuzzer: a request that is ready when armed
// completes through task work; IORING_OP_POLL_REMOVE of it in the same
// submission was refused with EALREADY, so a Delete left the request in the
// kernel holding the closed socket open: its peer never saw the hang-up. The
// level re-arm of a multishot request (priority interest without readable)
// and Delete's cancellation went to the kernel together.
TEST(IoUringBackendTest, DeleteOfARequestBeingCompletedReleasesTheFile) {
  for (Mode mode : {Mode::kLevel, Mode::kEdge, Mode::kOneshot}) {
    SCOPED_TRACE(ModeName(mode));
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::SocketPair pair = testing::MakeSocketPair();
    ASSERT_TRUE(
        poller->Add(pair.first.get(), 1, Interest::kReadable, Mode::kEdge)
            .ok());
    ASSERT_TRUE(poller
                    ->Add(pair.second.get(), 2,
                          Interest::kWritable | Interest::kPriority, mode)
                    .ok());
    Events events(8);
    auto seen = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(seen.ok()) << seen.status();
    ASSERT_EQ(seen->count(2), 1u) << "positive control: the writable end";
    ASSERT_TRUE(poller
                    ->Modify(pair.second.get(), 3,
                             Interest::kWritable | Interest::kPriority, mode)
                    .ok());
    ASSERT_TRUE(poller->Delete(pair.second.get()).ok());
    pair.second.Reset();
    // The socket is released at once: its peer reads end-of-file.
    char byte;
    EXPECT_EQ(::recv(pair.first.get(), &byte, 1, MSG_DONTWAIT), 0)
        << "the closed end is still open in the kernel: "
        << std::strerror(errno);
    seen = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(seen.ok()) << seen.status();
    ASSERT_EQ(seen->count(1), 1u) << "the peer's hang-up was not reported";
    EXPECT_TRUE((seen->at(1) & Readiness::kHangUp) != Readiness::kNone);
  }
}

// A plan for the system-call seam, shared with its hook (a plain function):
// fail or hold (block until released) the calls named `call`, made by
// `thread` if one is set; and count the waits entered.
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
  if (std::strncmp(name, "io_uring_wait_cqe", 17) == 0) {
    ++plan.waits_entered;
    plan.changed.notify_all();
  }
  if (plan.call != name || (plan.thread != std::thread::id() &&
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
  // Fails the next `count` calls named `call` from this thread with `error`.
  void Fail(const char* call, int error, int count) {
    Configure([&](Plan& plan) {
      plan.call = call;
      plan.thread = std::this_thread::get_id();
      plan.error = error;
      plan.failures = count;
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

// One Wait on another thread, joined within its timeout.
class Waiter {
 public:
  Waiter(Poller& poller, absl::Duration timeout)
      : thread_([this, &poller, timeout] {
          const absl::Time start = absl::Now();
          result_ = WaitOnce(poller, events_, timeout);
          took_ = absl::Now() - start;
        }) {}
  ~Waiter() {
    if (thread_.joinable()) thread_.join();
  }
  // Joins (the Wait's own timeout bounds this) and returns what it saw.
  absl::StatusOr<std::map<Token, Readiness>> Join(absl::Duration* took) {
    thread_.join();
    *took = took_;
    return result_;
  }

 private:
  Events events_{16};
  absl::StatusOr<std::map<Token, Readiness>> result_;
  absl::Duration took_;
  std::thread thread_;
};

// Refused for the moment (no memory, no room for completions, a signal)...
constexpr int kTransientErrors[] = {EAGAIN, EBUSY, EINTR};
// ... and the others io_uring_enter may return.
constexpr int kSubmitErrors[] = {EAGAIN, EBUSY, EINTR, ENOMEM, EBADF, EFAULT};
constexpr absl::Duration kPrompt = absl::Seconds(3);
constexpr absl::Duration kWaiterTimeout = absl::Seconds(5);

bool NamesCallAndErrno(const absl::Status& status,
                       absl::string_view errno_name) {
  return status.message().find("io_uring_submit") != absl::string_view::npos &&
         status.message().find(errno_name) != absl::string_view::npos;
}

std::string Name(int error) { return std::string(internal::ErrnoName(error)); }

// a Wake whose submission was refused was reported as
// done, so a blocked Wait slept on and the next Wake was coalesced away.
TEST(IoUringBackendTest, WakeRefusedWhileAWaitIsBlocked) {
  for (int error : kSubmitErrors) {
    for (bool for_good : {false, true}) {
      SCOPED_TRACE(absl::StrCat(Name(error), for_good ? " for good" : " once"));
      if (HasFailure()) return;  // One failing case is enough.
      std::unique_ptr<Poller> poller = NewPollerOrSkip();
      SKIP_IF_UNAVAILABLE(poller);
      ScopedPlan plan;
      Waiter waiter(*poller, kWaiterTimeout);
      ASSERT_TRUE(plan.Await([](Plan& p) { return p.waits_entered > 0; }));
      // EINTR is retried however often it comes; any other refusal is retried
      // by Poller::Wake for about 10 ms, so only one for good is reported.
      plan.Fail("io_uring_submit", error, for_good ? 1000 : 1);
      const absl::Status woken = poller->Wake();
      plan.Configure([](Plan& p) { p.failures = 0; });
      if (error != EINTR && for_good) {
        EXPECT_EQ(woken.code(), internal::ErrnoToStatusCode(error)) << woken;
        EXPECT_TRUE(NamesCallAndErrno(woken, Name(error))) << woken;
        // The rule: a failed Wake leaves the poller usable, and the next one
        // is not coalesced away.
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

// Shutdown's wake, refused once by the kernel, was lost and
// a blocked Wait slept on (Poller ignores Wake's result there, so the
// backend retries a transient refusal itself).
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
    std::thread waiter([&] {
      const absl::Time start = absl::Now();
      waited = poller->Wait(events, kWaiterTimeout);
      took = absl::Now() - start;
    });
    const bool entered =
        plan.Await([](Plan& p) { return p.waits_entered > 0; });
    plan.Fail("io_uring_submit", error, 1);
    poller->Shutdown();
    waiter.join();
    ASSERT_TRUE(entered);
    EXPECT_EQ(waited.status().code(), absl::StatusCode::kCancelled)
        << waited.status();
    EXPECT_LT(took, kPrompt) << "rule: Shutdown wakes every waiter";
  }
}

// an Add whose submission was refused returned OK, and the
// blocked Wait never heard of the handle (nor could it be added again).
TEST(IoUringBackendTest, AddRefusedWhileAWaitIsBlocked) {
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
    plan.Fail("io_uring_submit", error, 1);
    const absl::Status added =
        poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kLevel);
    if (error == EINTR) {
      EXPECT_TRUE(added.ok()) << added;
    } else {
      EXPECT_EQ(added.code(), internal::ErrnoToStatusCode(error)) << added;
      EXPECT_TRUE(NamesCallAndErrno(added, Name(error))) << added;
      // Nothing was registered: the Add can be retried.
      EXPECT_TRUE(
          poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kLevel)
              .ok());
    }
    absl::Duration took;
    auto seen = waiter.Join(&took);
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_EQ(seen->count(1), 1u)
        << "rule: an Add takes effect for a blocked Wait, or fails";
    EXPECT_LT(took, kPrompt);
  }
}

// a refused Modify or Delete fails with the registration as
// it was, and can be retried.
TEST(IoUringBackendTest, ModifyAndDeleteRefusedLeaveTheRegistration) {
  for (int error : kSubmitErrors) {
    SCOPED_TRACE(Name(error));
    if (HasFailure()) return;  // One failing case is enough.
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::Pipe pipe = testing::MakePipe();
    const int fd = pipe.read_end.get();
    ASSERT_TRUE(poller->Add(fd, 1, Interest::kReadable, Mode::kLevel).ok());
    WriteBytes(pipe.write_end.get());
    ScopedPlan plan;
    Waiter waiter(*poller, kWaiterTimeout);
    ASSERT_TRUE(plan.Await([](Plan& p) { return p.waits_entered > 0; }));
    absl::Duration took;
    auto seen = waiter.Join(&took);
    ASSERT_TRUE(seen.ok() && seen->count(1) == 1) << "positive control";

    plan.Fail("io_uring_submit", error, 1);
    const absl::Status modified =
        poller->Modify(fd, 2, Interest::kReadable, Mode::kLevel);
    Events events(8);
    auto after = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(after.ok()) << after.status();
    if (error == EINTR) {
      EXPECT_TRUE(modified.ok()) << modified;
      EXPECT_EQ(after->count(2), 1u);
    } else {
      EXPECT_EQ(modified.code(), internal::ErrnoToStatusCode(error))
          << modified;
      EXPECT_TRUE(NamesCallAndErrno(modified, Name(error))) << modified;
      EXPECT_EQ(after->count(1), 1u) << "the old token still reports";
      EXPECT_EQ(after->count(2), 0u);
      EXPECT_TRUE(
          poller->Modify(fd, 2, Interest::kReadable, Mode::kLevel).ok());
    }

    // An edge registration always has a request in the kernel to cancel.
    ASSERT_TRUE(poller->Modify(fd, 3, Interest::kReadable, Mode::kEdge).ok());
    (void)WaitOnce(*poller, events, absl::ZeroDuration());
    plan.Fail("io_uring_submit", error, 1);
    const absl::Status deleted = poller->Delete(fd);
    if (error == EINTR) {
      EXPECT_TRUE(deleted.ok()) << deleted;
    } else {
      EXPECT_EQ(deleted.code(), internal::ErrnoToStatusCode(error)) << deleted;
      EXPECT_TRUE(NamesCallAndErrno(deleted, Name(error))) << deleted;
      WriteBytes(pipe.write_end.get());
      after = WaitOnce(*poller, events, absl::Seconds(5));
      ASSERT_TRUE(after.ok()) << after.status();
      EXPECT_EQ(after->count(3), 1u) << "still registered after the failure";
      EXPECT_TRUE(poller->Delete(fd).ok());
    }
    WriteBytes(pipe.write_end.get());
    after = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_TRUE(after->empty()) << "reported after Delete returned OK";
  }
}

// the re-arm of a level registration, submitted at the
// start of Wait, was refused and dropped: a still-ready handle gave 0 events
// (a finite Wait slept its whole timeout).
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
    auto seen = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(seen.ok() && seen->count(1) == 1) << "positive control";

    for (absl::Duration timeout : {absl::ZeroDuration(), absl::Seconds(5)}) {
      ScopedPlan plan;
      plan.Fail("io_uring_submit", error, 1);
      const absl::Time start = absl::Now();
      seen = WaitOnce(*poller, events, timeout);
      EXPECT_LT(absl::Now() - start, kPrompt)
          << "rule: a ready level handle ends the Wait, or the Wait fails";
      if (seen.ok()) {
        EXPECT_EQ(seen->count(1), 1u) << "rule: nothing lost";
      } else {
        EXPECT_NE(error, EINTR) << seen.status();
        EXPECT_EQ(seen.status().code(), internal::ErrnoToStatusCode(error));
        EXPECT_TRUE(NamesCallAndErrno(seen.status(), Name(error)))
            << seen.status();
        // Nothing lost: the next Wait re-arms it.
        seen = WaitOnce(*poller, events, timeout);
        ASSERT_TRUE(seen.ok()) << seen.status();
        EXPECT_EQ(seen->count(1), 1u);
      }
    }
  }
}

// A blocking wait call that fails without waiting must not make Poller's
// loop spin until the timeout (it took EAGAIN for "nothing came").
TEST(IoUringBackendTest, KernelWaitRefusedDoesNotSpin) {
  for (int error : {EAGAIN, EBUSY, ENOMEM}) {
    SCOPED_TRACE(error);
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    Events events(8);
    fail_with = error;
    wait_calls = 0;
    internal::SetFaultHookForTesting(&FailWaits);
    auto waited = poller->Wait(events, absl::Milliseconds(300));
    internal::SetFaultHookForTesting(nullptr);
    EXPECT_FALSE(waited.ok()) << "rule: a failed wait is reported";
    // Positive control: the poller still waits and wakes.
    ASSERT_TRUE(poller->Wake().ok());
    auto woken = poller->Wait(events, absl::Seconds(5));
    EXPECT_TRUE(woken.ok()) << woken.status();
  }
}

// Fails the first kernel wait with EBADR, as a kernel that dropped
// completions (no memory for the overflow list) does.
std::atomic<int> dropped_reports{0};
int DropCompletionsOnce(const char* name) {
  if (FailWaits(name) == 0 && !internal::InKernelWait()) return 0;
  return dropped_reports.fetch_add(1) == 0 ? EBADR : 0;
}

TEST(IoUringBackendTest, DroppedCompletionsAreNotAnErrorAndLoseNoEvent) {
  SCOPED_TRACE(
      "rule: a kernel that dropped completions (EBADR) is not a failed Wait, "
      "and every armed registration still reports when ready");
  for (const Mode mode : {Mode::kOneshot, Mode::kLevel, Mode::kEdge}) {
    SCOPED_TRACE(ModeName(mode));
    std::unique_ptr<Poller> poller = NewPollerOrSkip();
    SKIP_IF_UNAVAILABLE(poller);
    testing::Pipe pipe = testing::MakePipe();
    ASSERT_TRUE(
        poller->Add(pipe.read_end.get(), 3, Interest::kReadable, mode).ok());
    Events events(8);
    fail_with = EBADR;
    dropped_reports = 0;
    internal::SetFaultHookForTesting(&DropCompletionsOnce);
    auto waited = poller->Wait(events, absl::Milliseconds(100));
    internal::SetFaultHookForTesting(nullptr);
    EXPECT_GT(dropped_reports.load(), 0) << "control: EBADR was injected";
    EXPECT_TRUE(waited.ok()) << waited.status();
    WriteBytes(pipe.write_end.get());
    bool reported = false;
    for (int i = 0; i < 50 && !reported; ++i) {
      auto seen = WaitOnce(*poller, events, absl::Milliseconds(100));
      ASSERT_TRUE(seen.ok()) << seen.status();
      reported = seen->count(3) > 0;
    }
    EXPECT_TRUE(reported) << "the registration was silent after EBADR";
  }
}

int FailAndCountWaits(const char* name) {
  const int error = FailWaits(name);
  if (error != 0) ++wait_calls;
  return error;
}

TEST(IoUringBackendTest, KernelWaitRefusedMakesOneCall) {
  std::unique_ptr<Poller> poller = NewPollerOrSkip();
  SKIP_IF_UNAVAILABLE(poller);
  Events events(8);
  fail_with = EAGAIN;
  wait_calls = 0;
  internal::SetFaultHookForTesting(&FailAndCountWaits);
  auto waited = poller->Wait(events, absl::Milliseconds(100));
  internal::SetFaultHookForTesting(nullptr);
  EXPECT_EQ(wait_calls.load(), 1) << "rule: nothing spins";
  EXPECT_FALSE(waited.ok());
}

// A forced schedule on io_uring: an event the kernel completed
// before a Modify (already in the completion queue) is not reported under
// the Modify's token, and does not use up the Modify's arm.
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

// The same with threads: a Modify held inside its submission while the
// socket becomes readable and a blocked Wait is woken by token 1's request.
TEST(IoUringBackendTest, ModifyHeldInItsSubmissionWhileAWaitReturns) {
  std::unique_ptr<Poller> poller = NewPollerOrSkip();
  SKIP_IF_UNAVAILABLE(poller);
  testing::SocketPair pair = testing::MakeSocketPair();
  const int fd = pair.first.get();
  ASSERT_TRUE(poller->Add(fd, 1, Interest::kReadable, Mode::kOneshot).ok());
  ScopedPlan plan;
  Waiter waiter(*poller, kWaiterTimeout);
  ASSERT_TRUE(plan.Await([](Plan& p) { return p.waits_entered > 0; }));
  std::thread modifier;
  plan.Configure([&](Plan& p) {
    p.call = "io_uring_submit";
    p.hold = true;
  });
  absl::Status modified;
  modifier = std::thread([&] {
    modified = poller->Modify(fd, 2, Interest::kWritable, Mode::kOneshot);
  });
  const bool held = plan.Await([](Plan& p) { return p.held > 0; });
  WriteBytes(pair.second.get());
  plan.Release();
  modifier.join();
  ASSERT_TRUE(held);
  ASSERT_TRUE(modified.ok()) << modified;
  absl::Duration took;
  auto seen = waiter.Join(&took);
  ASSERT_TRUE(seen.ok()) << seen.status();
  // The Wait could not collect token 1's completion before the Modify (which
  // held the table): only token 2, writable, may be reported.
  EXPECT_EQ(seen->count(1), 0u);
  ASSERT_EQ(seen->count(2), 1u) << "the writable socket, under token 2";
  EXPECT_EQ(seen->at(2), Readiness::kWritable);
  EXPECT_LT(took, kPrompt);
}

// On io_uring: a level registration whose descriptor was
// closed without Delete was re-armed by number, so a new file that reused
// the number was reported under the old token.
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
