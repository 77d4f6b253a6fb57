// Copyright 2026 The poller Authors.
//
// What the poll backend promises beyond the conformance suite: registrations
// of descriptors closed without Delete (poll_backend.h, "Semantics that
// differ"), the edge mode it documents, its pipe wake source, and system-call
// failures reported through the seam.

#include "backends/poll/poll_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "gtest/gtest.h"
#include "poller/internal/pipe_waker.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"
#include "tests/conformance/test_handles.h"

namespace poller {
namespace {

using testing::DrainBytes;
using testing::MakePipe;
using testing::MakeSocketPair;
using testing::Pipe;
using testing::WaitOnce;
using testing::WriteBytes;

std::unique_ptr<Poller> NewPoller() {
  auto backend = PollBackend::Create();
  EXPECT_TRUE(backend.ok()) << backend.status();
  return backend.ok() ? Poller::FromBackend(*std::move(backend)) : nullptr;
}

TEST(PollBackendTest, ClosedWithoutDeleteGoesSilentAndFailsLikeEpoll) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  Pipe pipe = MakePipe();
  const int fd = pipe.read_end.get();
  ASSERT_TRUE(poller->Add(fd, 1, Interest::kReadable, Mode::kLevel).ok());
  pipe.read_end.Reset();  // Closed without Delete: poll(2) says POLLNVAL.
  Events events(8);
  for (int i = 0; i < 3; ++i) {
    auto count = poller->Wait(events, absl::Milliseconds(20));
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, 0u) << "a closed handle is not reported";
  }
  EXPECT_EQ(poller->Modify(fd, 1, Interest::kReadable, Mode::kOneshot).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(poller->Delete(fd).code(), absl::StatusCode::kInvalidArgument);
}

TEST(PollBackendTest, NumberReusedAfterCloseWithoutDeleteIsANewRegistration) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  Pipe old_pipe = MakePipe();
  const int fd = old_pipe.read_end.get();
  ASSERT_TRUE(poller->Add(fd, 1, Interest::kReadable).ok());
  old_pipe.read_end.Reset();
  // The lowest free number is the one just closed.
  Pipe new_pipe = MakePipe();
  ASSERT_EQ(new_pipe.read_end.get(), fd);
  EXPECT_EQ(poller->Modify(fd, 2, Interest::kReadable, Mode::kOneshot).code(),
            absl::StatusCode::kNotFound)
      << "the stale registration is gone";
  ASSERT_TRUE(poller->Add(fd, 3, Interest::kReadable).ok());
  WriteBytes(new_pipe.write_end.get());
  Events events(8);
  auto seen = WaitOnce(*poller, events, absl::Seconds(5));
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->count(3), 1u);
  EXPECT_EQ(seen->count(1), 0u);
}

// poll(2) sees states, not changes: edge mode would be level in disguise,
// which busy-loops a program that leaves data unread on purpose.
TEST(PollBackendTest, EdgeModeIsRefusedAsUnimplemented) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  EXPECT_FALSE(poller->SupportsMode(Mode::kEdge));
  Pipe pipe = MakePipe();
  EXPECT_EQ(
      poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kEdge)
          .code(),
      absl::StatusCode::kUnimplemented);
  // Positive control: the other modes are accepted.
  for (Mode mode : {Mode::kOneshot, Mode::kLevel, Mode::kEdgeOneshot}) {
    EXPECT_TRUE(poller->SupportsMode(mode));
    EXPECT_TRUE(
        poller->Add(pipe.read_end.get(), 1, Interest::kReadable, mode).ok());
    EXPECT_TRUE(poller->Delete(pipe.read_end.get()).ok());
  }
}

TEST(PollBackendTest, PriorityOnlyInterestIsNotReportedForPlainData) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  testing::SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(
      poller->Add(pair.first.get(), 1, Interest::kPriority, Mode::kLevel).ok());
  WriteBytes(pair.second.get());
  Events events(8);
  auto seen = WaitOnce(*poller, events, absl::Milliseconds(50));
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->count(1), 0u);
}

TEST(PipeWakerTest, WakeMakesReadableAndDrainEmpties) {
  auto waker = internal::PipeWaker::Create();
  ASSERT_TRUE(waker.ok()) << waker.status();
  const int flags = ::fcntl(waker->fd(), F_GETFD);
  EXPECT_TRUE(flags & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(waker->fd(), F_GETFL) & O_NONBLOCK);
  // More signals than a pipe holds: a full pipe is still a signal.
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(waker->Wake().ok());
  char byte;
  EXPECT_EQ(::read(waker->fd(), &byte, 1), 1);
  ASSERT_TRUE(waker->Drain().ok());
  EXPECT_EQ(::read(waker->fd(), &byte, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
}

int FailPollWithEintr(const char* name) {
  return std::strcmp(name, "ppoll") == 0 || std::strcmp(name, "poll") == 0
             ? EINTR
             : 0;
}

int FailPollWithEnomem(const char* name) {
  return std::strcmp(name, "ppoll") == 0 || std::strcmp(name, "poll") == 0
             ? ENOMEM
             : 0;
}

TEST(PollBackendTest, KernelWaitFailures) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  Events events(8);
  internal::SetFaultHookForTesting(&FailPollWithEintr);
  auto interrupted = poller->Wait(events, absl::Seconds(5));
  internal::SetFaultHookForTesting(&FailPollWithEnomem);
  auto failed = poller->Wait(events, absl::Seconds(5));
  internal::SetFaultHookForTesting(nullptr);
  ASSERT_TRUE(interrupted.ok()) << interrupted.status();
  EXPECT_EQ(*interrupted, 0u);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(failed.status().message().find("poll"), absl::string_view::npos)
      << failed.status();
}

}  // namespace
}  // namespace poller
