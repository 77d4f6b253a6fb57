// Copyright 2026 The poller Authors.
//
// Pitfalls, on a backend instance (tests/backend_under_test.h): what happens
// when a program closes a registered handle without Delete, forks with a live
// poller, or registers one handle in two pollers.
// These tests pin down the actual behaviour, so that the documentation
// (tests/README.md, backends/<name>/<name>_backend.h) stays true. Where the
// behaviour is the backend's own, the epoll expectations are asserted on epoll;
// other backends print what they do and must only stay usable.

#include "tests/faults/pitfalls_suite.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "poller/poller.h"
#include "tests/conformance/test_handles.h"

namespace poller::faults {
namespace {

using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::Pipe;
using ::poller::testing::ScopedFd;
using ::poller::testing::WaitOnce;
using ::poller::testing::WriteBytes;

}  // namespace

bool PitfallTest::IsEpoll() const { return poller_->backend_name() == "epoll"; }

std::map<Token, Readiness> PitfallTest::Collect(absl::Duration timeout) {
  std::map<Token, Readiness> all;
  Events events(64);
  const absl::Time give_up = absl::Now() + timeout;
  do {
    auto seen = WaitOnce(*poller_, events, absl::Milliseconds(20));
    EXPECT_TRUE(seen.ok()) << seen.status();
    if (!seen.ok()) break;
    for (const auto& [token, readiness] : *seen) all[token] |= readiness;
  } while (absl::Now() < give_up);
  return all;
}

void PitfallTest::ExpectUsable() {
  Pipe pipe = MakePipe();
  WriteBytes(pipe.write_end.get());
  const absl::Status added =
      poller_->Add(pipe.read_end.get(), 999, Interest::kReadable);
  ASSERT_TRUE(added.ok()) << "the poller is still usable: " << added;
  Events events(8);
  bool reported = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (!reported && absl::Now() < give_up) {
    auto seen = WaitOnce(*poller_, events, absl::Milliseconds(100));
    ASSERT_TRUE(seen.ok()) << seen.status();
    reported = seen->count(999) > 0;
  }
  EXPECT_TRUE(reported) << "the poller still reports a fresh handle";
  EXPECT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
}

namespace {

// Closing a registered descriptor while a duplicate of it stays open.
#if defined(_WIN32)
TEST_P(PitfallTest, CloseWithoutDeleteWhileADuplicateIsOpen) {
  GTEST_SKIP() << "Windows: a SOCKET has no dup(); see CloseWithoutDelete";
}
#else
TEST_P(PitfallTest, CloseWithoutDeleteWhileADuplicateIsOpen) {
  Pipe pipe = MakePipe();
  const int number = pipe.read_end.get();
  ScopedFd duplicate(::fcntl(number, F_DUPFD_CLOEXEC, 0));
  ASSERT_TRUE(duplicate.valid());
  ASSERT_TRUE(poller_->Add(number, 5, Interest::kReadable, Mode::kLevel).ok());
  pipe.read_end.Reset();  // Closed without Delete.
  WriteBytes(pipe.write_end.get());

  const bool ghost_reported = Collect().count(5) > 0;
  const absl::Status delete_status = poller_->Delete(number);
  std::cout << backend().name
            << ": after close without Delete (duplicate open): "
            << "old token " << (ghost_reported ? "still" : "no longer")
            << " reported; Delete(closed number) -> " << delete_status
            << std::endl;
  if (IsEpoll()) {
    // The kernel keys the registration by the open file, which the duplicate
    // keeps alive: events keep coming, and the number no longer names it.
    EXPECT_TRUE(ghost_reported);
    EXPECT_EQ(delete_status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(delete_status.message().find("EBADF"), absl::string_view::npos);
  }

  // The number is reused by the next descriptor opened.
  Pipe reuse = MakePipe();
  ASSERT_EQ(reuse.read_end.get(), number) << "expected the lowest free number";
  const absl::Status add_status =
      poller_->Add(reuse.read_end.get(), 6, Interest::kReadable, Mode::kLevel);
  WriteBytes(reuse.write_end.get());
  const std::map<Token, Readiness> both = Collect();
  std::cout << backend().name
            << ": Add of a new descriptor with the same number -> "
            << add_status << "; reported tokens:";
  for (const auto& [token, readiness] : both) std::cout << " " << token;
  std::cout << std::endl;
  if (IsEpoll()) {
    // A different open file, so the kernel takes a second registration; the
    // backend's table now names the new one and drops the ghost's events.
    EXPECT_TRUE(add_status.ok()) << add_status;
    EXPECT_EQ(both.count(5), 0u);
    EXPECT_EQ(both.count(6), 1u);
  }
  if (add_status.ok()) {
    EXPECT_TRUE(poller_->Delete(reuse.read_end.get()).ok());
  }

  // Closing the last duplicate ends the ghost on epoll.
  duplicate.Reset();
  const bool ghost_after_last_close = Collect().count(5) > 0;
  std::cout << backend().name << ": after the last duplicate closed: old token "
            << (ghost_after_last_close ? "still" : "no longer") << " reported"
            << std::endl;
  if (IsEpoll()) {
    EXPECT_FALSE(ghost_after_last_close);
  }
  (void)poller_->Delete(number);  // Whatever the backend kept, forget it.
  ExpectUsable();
}
#endif

// Closing a registered descriptor with no duplicate.
TEST_P(PitfallTest, CloseWithoutDelete) {
  Pipe pipe = MakePipe();
  const int number = pipe.read_end.get();
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(poller_->Add(number, 5, Interest::kReadable, Mode::kLevel).ok());
#if defined(_WIN32)
  // A Wait first: under Wine the first Wait of a process opens handles of
  // its own, once (see hygiene_suite.cc), and one would take the closed value
  // this rule wants back (values are reused last-closed first).
  Events warm_up(8);
  ASSERT_TRUE(poller_->Wait(warm_up, absl::ZeroDuration()).ok());
#endif
  pipe.read_end.Reset();
  const std::map<Token, Readiness> seen = Collect();
  const absl::Status delete_status = poller_->Delete(number);
  std::cout << backend().name << ": after close without Delete: old token "
            << (seen.count(5) ? "reported" : "not reported")
            << "; Delete(closed number) -> " << delete_status << std::endl;
  if (IsEpoll()) {
    // The last close removed the registration.
    EXPECT_EQ(seen.count(5), 0u);
    EXPECT_EQ(delete_status.code(), absl::StatusCode::kInvalidArgument);
  }
  Pipe reuse = MakePipe();
  ASSERT_EQ(reuse.read_end.get(), number);
  const absl::Status add_status =
      poller_->Add(reuse.read_end.get(), 6, Interest::kReadable);
  std::cout << backend().name << ": Add of the reused number -> " << add_status
            << std::endl;
  if (IsEpoll()) {
    EXPECT_TRUE(add_status.ok()) << add_status;
  }
  (void)poller_->Delete(reuse.read_end.get());
  ExpectUsable();
}

// fork() with a live poller. The child reports what it saw in its exit code.
enum ChildSaw : int {
  kChildSawParentEvent = 1 << 0,
  kChildDeleteOk = 1 << 1,
  kChildOwnPollerWorks = 1 << 2,
};

#if defined(_WIN32)
TEST_P(PitfallTest, ForkWithALivePoller) {
  GTEST_SKIP() << "Windows: no fork()";
}
#else
TEST_P(PitfallTest, ForkWithALivePoller) {
  Pipe pipe = MakePipe();
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 7, Interest::kReadable, Mode::kLevel)
          .ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0) << std::strerror(errno);
  if (child == 0) {
    // No test macros here: report through the exit code.
    int saw = 0;
    Events events(8);
    absl::StatusOr<size_t> count = poller_->Wait(events, absl::ZeroDuration());
    if (count.ok()) {
      for (const Event& event : events) {
        if (event.token() == 7) saw |= kChildSawParentEvent;
      }
    }
    if (poller_->Delete(pipe.read_end.get()).ok()) saw |= kChildDeleteOk;
    // What to do instead: a poller of the child's own.
    absl::StatusOr<std::unique_ptr<Poller>> own = backend().factory();
    if (own.ok() &&
        (*own)->Add(pipe.read_end.get(), 8, Interest::kReadable).ok()) {
      count = (*own)->Wait(events, absl::Seconds(1));
      if (count.ok() && *count == 1 && events[0].token() == 8) {
        saw |= kChildOwnPollerWorks;
      }
    }
    ::_exit(saw);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  const int saw = WEXITSTATUS(status);
  const bool parent_still_registered = Collect().count(7) > 0;
  std::cout << backend().name << ": the child "
            << ((saw & kChildSawParentEvent) ? "sees" : "does not see")
            << " the parent's registration; its Delete "
            << ((saw & kChildDeleteOk) ? "succeeds" : "fails")
            << "; afterwards the parent's registration is "
            << (parent_still_registered ? "intact" : "gone") << std::endl;
  EXPECT_TRUE(saw & kChildOwnPollerWorks)
      << "a poller created in the child works";
  if (IsEpoll()) {
    // One epoll instance, shared: the child's Wait takes the parent's events
    // and its Delete removes the parent's registration.
    EXPECT_TRUE(saw & kChildSawParentEvent);
    EXPECT_TRUE(saw & kChildDeleteOk);
    EXPECT_FALSE(parent_still_registered);
    // The parent can register the handle again.
    EXPECT_TRUE(poller_->Add(pipe.read_end.get(), 7, Interest::kReadable).ok());
    EXPECT_EQ(Collect().count(7), 1u);
  }
  (void)poller_->Delete(pipe.read_end.get());
  if (IsEpoll()) {
    ExpectUsable();
    return;
  }
  // Other backends may not survive a child using their shared kernel state
  // (io_uring's rings are shared memory): say what happened.
  Pipe probe = MakePipe();
  const absl::Status added =
      poller_->Add(probe.read_end.get(), 999, Interest::kReadable);
  std::cout << backend().name
            << ": the parent's poller after the child used it: Add -> " << added
            << std::endl;
  if (added.ok()) (void)poller_->Delete(probe.read_end.get());
}
#endif

// One handle in two pollers: independent registrations.
TEST_P(PitfallTest, SameHandleInTwoPollers) {
  absl::StatusOr<std::unique_ptr<Poller>> other = backend().factory();
  ASSERT_TRUE(other.ok()) << other.status();
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 1, Interest::kReadable).ok());
  ASSERT_TRUE((*other)->Add(pipe.read_end.get(), 2, Interest::kReadable).ok());
  WriteBytes(pipe.write_end.get());
  Events events(8);
  // Each oneshot arm fires once, in its own poller.
  auto first = WaitOnce(*poller_, events, absl::Seconds(5));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->count(1), 1u);
  auto second = WaitOnce(**other, events, absl::Seconds(5));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->count(2), 1u);
  // Deleting from one leaves the other's registration.
  ASSERT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
  ASSERT_TRUE(
      (*other)
          ->Modify(pipe.read_end.get(), 3, Interest::kReadable, Mode::kOneshot)
          .ok());
  auto third = WaitOnce(**other, events, absl::Seconds(5));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->count(3), 1u);
  EXPECT_EQ(Collect().count(1), 0u);
  EXPECT_TRUE((*other)->Delete(pipe.read_end.get()).ok());
  DrainBytes(pipe.read_end.get());
}

}  // namespace
}  // namespace poller::faults
