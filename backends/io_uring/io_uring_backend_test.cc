// Copyright 2026 The poller Authors.
//
// What the io_uring backend promises beyond the conformance suite: Unavailable
// when the kernel refuses io_uring, priority-only interest (polled with an
// extra POLLIN, see io_uring_backend.h) that neither reports plain data nor
// spins, and kernel failures reported through the system-call seam.

#include "backends/io_uring/io_uring_backend.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
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

// Issue 13, item 9 (found by the fuzzer). A request that is ready when armed
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

}  // namespace
}  // namespace poller
