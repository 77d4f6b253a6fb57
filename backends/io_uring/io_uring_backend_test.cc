// Copyright 2026 The poller Authors.
//
// What the io_uring backend promises beyond the conformance suite: Unavailable
// when the kernel refuses io_uring, priority-only interest (polled with an
// extra POLLIN, see io_uring_backend.h) that neither reports plain data nor
// spins, kernel failures reported through the system-call seam, files
// released when a poller is destroyed, and the identity check a caller's
// promise skips. Schedules and faults forced through the seam are in
// io_uring_seam_test.cc.

#include "backends/io_uring/io_uring_backend.h"

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

std::atomic<int> fail_with{0};
std::atomic<int> wait_calls{0};

int FailQueueInit(const char* name) {
  return std::strcmp(name, "io_uring_queue_init") == 0 ? fail_with.load() : 0;
}

int FailWaits(const char* name) {
  return std::strcmp(name, "io_uring_submit_and_wait_timeout") == 0
             ? fail_with.load()
             : 0;
}

int CountWaits(const char* name) {
  if (std::strcmp(name, "io_uring_submit_and_wait_timeout") == 0 ||
      std::strcmp(name, "io_uring_peek_cqe") == 0) {
    ++wait_calls;
  }
  return 0;
}

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
  EXPECT_NE(failed.status().message().find("io_uring_submit_and_wait_timeout"),
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

// Found by the fuzzer. A request that is ready when armed
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

// A poller destroyed on the thread that waited on it leaves no poll request
// behind. The kernel's teardown of a ring cancels the requests still in it
// from a worker, after the destructor returned: until then each holds its
// file open (a socket closed meanwhile sends no FIN), and the cancellations
// run as task work of the thread that submitted them. Found by the fuzzer: a
// new poller's first report of an edge registration (a multishot request,
// ready when armed, whose report is task work) came up to 50 ms late,
// behind that teardown's work, so a Wait that returned with another event
// missed it. Rule: right after the destructor returns, closing a handle that
// was registered (and never deleted) releases it at once: its peer sees
// end-of-file without waiting.
TEST(IoUringBackendTest, DestroyedOnItsWaitingThreadReleasesItsFilesAtOnce) {
  constexpr Mode kModes[] = {Mode::kLevel, Mode::kOneshot, Mode::kEdge,
                             Mode::kEdgeOneshot};
  for (bool tcp : {false, true}) {
    SCOPED_TRACE(tcp ? "TCP" : "AF_UNIX socket pair");
    // Several rounds: one that the kernel's worker happened to finish before
    // the close would prove nothing.
    for (int round = 0; round < 30 && !HasFailure(); ++round) {
      std::unique_ptr<Poller> poller = NewPollerOrSkip();
      SKIP_IF_UNAVAILABLE(poller);
      constexpr int kHandles = 8;
      testing::ScopedFd near[kHandles];
      testing::ScopedFd far[kHandles];
      std::vector<testing::TcpConnection> connections;
      for (int i = 0; i < kHandles; ++i) {
        if (tcp) {
          testing::TcpConnection connection = testing::MakeTcpConnection();
          near[i] = std::move(connection.client);
          far[i] = std::move(connection.server);
        } else {
          testing::SocketPair pair = testing::MakeSocketPair();
          near[i] = std::move(pair.first);
          far[i] = std::move(pair.second);
        }
        ASSERT_TRUE(poller
                        ->Add(near[i].get(), static_cast<Token>(i),
                              Interest::kReadable, kModes[i % 4])
                        .ok());
      }
      // Positive control: the requests are in the kernel, holding the files
      // (a Wait submits them; data makes each report once).
      WriteBytes(far[0].get());
      Events events(kHandles);
      auto seen = WaitOnce(*poller, events, absl::Seconds(5));
      ASSERT_TRUE(seen.ok() && seen->count(0) == 1) << "positive control";
      poller.reset();
      for (int i = 0; i < kHandles; ++i) near[i].Reset();
      for (int i = 0; i < kHandles; ++i) {
        pollfd entry{far[i].get(), POLLIN, 0};
        ASSERT_EQ(::poll(&entry, 1, 0), 1)
            << "round " << round << ", handle " << i
            << ": closed after the poller was destroyed, but its peer saw "
               "no end-of-file: a poll request still held it open";
      }
    }
  }
}

std::atomic<int> identity_checks{0};

int CountIdentityChecks(const char* name) {
  if (std::strcmp(name, "epoll_ctl") == 0) ++identity_checks;
  return 0;
}

// Options::deleted_before_close: the caller's promise to Delete before close
// lets a re-arm skip the identity check (an epoll_ctl on the private set).
// Rule: with the promise, a oneshot handle re-armed after each event costs no
// epoll_ctl from the first Wait to its Delete; without it (the positive
// control), one per re-arm at least. Both report every event.
TEST(IoUringBackendTest, DeletedBeforeCloseSkipsTheIdentityCheckPerEvent) {
  for (bool promised : {false, true}) {
    SCOPED_TRACE(promised ? "promised" : "not promised");
    IoUringBackend::Options options;
    options.deleted_before_close = promised;
    auto backend = IoUringBackend::Create(options);
    if (backend.status().code() == absl::StatusCode::kUnavailable) {
      GTEST_SKIP() << "io_uring is unavailable here";
    }
    ASSERT_TRUE(backend.ok()) << backend.status();
    std::unique_ptr<Poller> poller = Poller::FromBackend(*std::move(backend));
    testing::SocketPair pair = testing::MakeSocketPair();
    const int fd = pair.first.get();
    ASSERT_TRUE(poller->Add(fd, 1, Interest::kReadable, Mode::kOneshot).ok());
    constexpr int kEvents = 20;
    Events events(8);
    identity_checks = 0;
    internal::SetFaultHookForTesting(&CountIdentityChecks);
    for (int i = 0; i < kEvents && !HasFailure(); ++i) {
      WriteBytes(pair.second.get());
      auto seen = WaitOnce(*poller, events, absl::Seconds(5));
      EXPECT_TRUE(seen.ok() && seen->count(1) == 1) << "event " << i;
      testing::DrainBytes(fd);
      EXPECT_TRUE(poller->Rearm(fd).ok());
    }
    internal::SetFaultHookForTesting(nullptr);
    if (promised) {
      EXPECT_EQ(identity_checks.load(), 0);
    } else {
      EXPECT_GE(identity_checks.load(), kEvents) << "positive control";
    }
    EXPECT_TRUE(poller->Delete(fd).ok());
  }
}

}  // namespace
}  // namespace poller
