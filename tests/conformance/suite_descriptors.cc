// Copyright 2026 The poller Authors.
//
// Conformance rules for descriptors closed without Delete: their numbers are
// reused by new files, and duplicates keep their files open. poller.h says
// the handle must stay open until Delete; these rules pin down that breaking
// it never reports a new file under an old token and never busy-loops.
//
// Promises: poller/poller.h: Add, Delete.

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

#include <atomic>
#include <chrono>

#include "poller/internal/syscall.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

#if defined(_WIN32)
SKIPPED_ON_WINDOWS(ReusedNumberIsNotReportedUnderTheOldToken,
                   "no dup2: a closed SOCKET's value cannot be given to a "
                   "new one on purpose");
SKIPPED_ON_WINDOWS(ClosedWhileDuplicatedNeverBusyLoops,
                   "no dup: a SOCKET cannot be duplicated within a process");
#else

using ::poller::testing::MakePipe;
using ::poller::testing::Pipe;
using ::poller::testing::ScopedFd;
using ::poller::testing::SyscallGate;
using ::poller::testing::WriteBytes;

TEST_P(ConformanceTest, ReusedNumberIsNotReportedUnderTheOldToken) {
  RULE(
      "a descriptor closed without Delete whose number is reused by a new "
      "file is never reported under the old registration's token");
  for (Mode mode : {Mode::kLevel, Mode::kOneshot}) {
    for (bool wait_between : {false, true}) {
      SCOPED_TRACE(absl::StrCat(ModeName(mode), wait_between
                                                    ? ", a Wait before reuse"
                                                    : ", reused at once"));
      Pipe old_pipe = MakePipe();
      Pipe new_pipe = MakePipe();
      const int number = old_pipe.read_end.get();
      ASSERT_TRUE(poller_->Add(number, 1, Interest::kReadable, mode).ok());
      old_pipe.read_end.Reset();  // Closed without Delete.
      if (wait_between) ExpectQuiet(*poller_, 1);
      // The number now names a new file, as after an accept() or pipe().
      ASSERT_EQ(::dup2(new_pipe.read_end.get(), number), number);
      ScopedFd reused(number);
      ASSERT_EQ(::fcntl(number, F_SETFD, FD_CLOEXEC), 0);
      WriteBytes(new_pipe.write_end.get());
      for (int i = 0; i < 3; ++i) ExpectQuiet(*poller_, 1);
      // Positive control: the new file, registered under its own token, is
      // reported, so it was ready all along.
      ASSERT_TRUE(poller_->Add(number, 2, Interest::kReadable).ok());
      EXPECT_TRUE(Has(WaitForToken(*poller_, 2), Readiness::kReadable));
      ASSERT_TRUE(poller_->Delete(number).ok());
    }
  }
}

// Counts the system calls a poller makes through the seam.
std::atomic<int> calls{0};
int CountCall(const char*) {
  calls.fetch_add(1);
  return 0;
}

TEST_P(ConformanceTest, ClosedWhileDuplicatedNeverBusyLoops) {
  RULE(
      "no state busy-loops: a handle closed without Delete while a duplicate "
      "keeps its file open and ready costs a few system calls per Wait, not "
      "a spin");
  for (Mode mode : {Mode::kOneshot, Mode::kLevel}) {
    SCOPED_TRACE(ModeName(mode));
    Pipe pipe = MakePipe();
    WriteBytes(pipe.write_end.get());
    ASSERT_TRUE(
        poller_->Add(pipe.read_end.get(), 1, Interest::kReadable, mode).ok());
    EXPECT_TRUE(Has(WaitForToken(*poller_, 1), Readiness::kReadable));
    ScopedFd duplicate(::fcntl(pipe.read_end.get(), F_DUPFD_CLOEXEC, 0));
    ASSERT_GE(duplicate.get(), 0);
    pipe.read_end.Reset();  // Closed without Delete; still ready via the dup.
    Events events(8);
    for (int round = 0; round < 2; ++round) {  // The second: after any repair.
      calls = 0;
      poller::internal::SetFaultHookForTesting(&CountCall);
      auto start = std::chrono::steady_clock::now();
      auto count = poller_->Wait(events, absl::Milliseconds(100));
      const absl::Duration took = Since(start);
      poller::internal::SetFaultHookForTesting(nullptr);
      ASSERT_TRUE(count.ok()) << count.status();
      if (mode == Mode::kLevel && *count > 0) continue;  // Documented ghost.
      EXPECT_GE(took, absl::Milliseconds(100));
      EXPECT_LT(calls.load(), 200)
          << "a 100 ms Wait made " << calls.load() << " system calls";
    }
    // Positive control: the same file under a new number is reported.
    ASSERT_TRUE(
        poller_->Add(duplicate.get(), 2, Interest::kReadable, mode).ok());
    EXPECT_TRUE(Has(WaitForToken(*poller_, 2), Readiness::kReadable));
    ASSERT_TRUE(poller_->Delete(duplicate.get()).ok());
  }
}

#endif  // defined(_WIN32)

}  // namespace
}  // namespace poller::conformance
