// Copyright 2026 The poller Authors.
//
// Conformance rules for descriptors closed without Delete: their numbers are
// reused by new files, and duplicates keep their files open. poller.h says
// the handle must stay open until Delete; these rules pin down that breaking
// it never reports a new file under an old token and never busy-loops. On
// Windows the handles are SOCKETs: a value is reused by the sockets made next
// (there is no dup2), and WSADuplicateSocketW stands in for dup.
//
// Promises: poller/poller.h: Add, Delete.

#if defined(_WIN32)
#include <winsock2.h>
// Needs winsock2.h first.
#include <windows.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "poller/internal/syscall.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::MakePipe;
using ::poller::testing::Pipe;
using ::poller::testing::ReadableHandle;
using ::poller::testing::ReadableKind;
using ::poller::testing::ReadableKinds;
using ::poller::testing::ReadableWithNumber;
using ::poller::testing::ScopedFd;
using ::poller::testing::WriteBytes;

// A second handle for the same open file (socket), closed with the returned
// ScopedFd; fails the test and returns an empty one if it cannot be made.
// Windows has no dup: WSADuplicateSocketW to this process, then WSASocketW
// from the protocol information it filled in.
ScopedFd Duplicate(NativeHandle handle) {
#if defined(_WIN32)
  WSAPROTOCOL_INFOW information{};
  if (::WSADuplicateSocketW(handle, ::GetCurrentProcessId(), &information) !=
      0) {
    ADD_FAILURE() << "WSADuplicateSocketW: Winsock error "
                  << ::WSAGetLastError();
    return ScopedFd();
  }
  ScopedFd duplicate(::WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                                  FROM_PROTOCOL_INFO, &information, 0,
                                  WSA_FLAG_OVERLAPPED));
  EXPECT_TRUE(duplicate.valid())
      << "WSASocketW(FROM_PROTOCOL_INFO): Winsock error "
      << ::WSAGetLastError();
  return duplicate;
#else
  ScopedFd duplicate(::fcntl(handle, F_DUPFD_CLOEXEC, 0));
  EXPECT_GE(duplicate.get(), 0)
      << "fcntl(F_DUPFD_CLOEXEC): " << std::strerror(errno);
  return duplicate;
#endif
}

TEST_P(ConformanceTest, ReusedNumberIsNotReportedUnderTheOldToken) {
  RULE(
      "a descriptor closed without Delete whose number is reused by a new "
      "file of any kind is never reported under the old registration's "
      "token, and Add of the new file succeeds");
  int checked = 0;
  std::string why_not;
  for (const ReadableKind& kind : ReadableKinds()) {
    for (Mode mode : {Mode::kLevel, Mode::kOneshot}) {
      for (bool wait_between : {false, true}) {
        SCOPED_TRACE(absl::StrCat(
            kind.name, ", ", ModeName(mode),
            wait_between ? ", a Wait before reuse" : ", reused at once"));
        std::unique_ptr<ReadableHandle> old_file = kind.make();
        const NativeHandle number = old_file->handle();
        ASSERT_TRUE(poller_->Add(number, 1, Interest::kReadable, mode).ok());
        old_file->CloseHandle();  // Closed without Delete.
        if (wait_between) ExpectQuiet(*poller_, 1);
        // The number now names a new file of the same kind, as after an
        // accept() or pipe().
        std::unique_ptr<ReadableHandle> reused =
            ReadableWithNumber(kind, number, &why_not);
        // Windows cannot always arrange it (no dup2): the next kind.
        if (reused == nullptr) continue;
        ++checked;
        reused->MakeReadable();
        ExpectQuiet(*poller_, 1);
        // Positive control: the new file, added under its own token, is
        // reported, so it was ready all along.
        const absl::Status added =
            poller_->Add(number, 2, Interest::kReadable, Mode::kOneshot);
        ASSERT_TRUE(added.ok()) << added;
        EXPECT_TRUE(Has(WaitForToken(*poller_, 2), Readiness::kReadable));
        ASSERT_TRUE(poller_->Delete(number).ok());
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << why_not;
}

TEST_P(ConformanceTest, ReportedThenClosedAndReusedIsNotReportedUnderOldToken) {
  RULE(
      "a handle reported ready, then closed without Delete and its number "
      "reused by a new file of the same kind, is never reported under the "
      "old token, and Add of the new file succeeds");
  int checked = 0;
  std::string why_not;
  for (const ReadableKind& kind : ReadableKinds()) {
    for (Mode mode : {Mode::kLevel, Mode::kOneshot}) {
      SCOPED_TRACE(absl::StrCat(kind.name, ", ", ModeName(mode)));
      std::unique_ptr<ReadableHandle> old_file = kind.make();
      const NativeHandle number = old_file->handle();
      ASSERT_TRUE(poller_->Add(number, 1, Interest::kReadable, mode).ok());
      old_file->MakeReadable();
      ASSERT_TRUE(Has(WaitForToken(*poller_, 1), Readiness::kReadable));
      old_file->CloseHandle();  // Reported, then closed without Delete.
      std::unique_ptr<ReadableHandle> reused =
          ReadableWithNumber(kind, number, &why_not);
      // Windows cannot always arrange it (no dup2): the next kind.
      if (reused == nullptr) continue;
      ++checked;
      reused->MakeReadable();
      ExpectQuiet(*poller_, 1);
      ExpectQuiet(*poller_, 1);
      const absl::Status added =
          poller_->Add(number, 2, Interest::kReadable, Mode::kOneshot);
      ASSERT_TRUE(added.ok()) << added;
      EXPECT_TRUE(Has(WaitForToken(*poller_, 2), Readiness::kReadable));
      ASSERT_TRUE(poller_->Delete(number).ok());
    }
  }
  if (checked == 0) GTEST_SKIP() << why_not;
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
    const NativeHandle closed = pipe.read_end.get();
    ASSERT_TRUE(poller_->Add(closed, 1, Interest::kReadable, mode).ok());
    EXPECT_TRUE(Has(WaitForToken(*poller_, 1), Readiness::kReadable));
    ScopedFd duplicate = Duplicate(pipe.read_end.get());
    ASSERT_TRUE(duplicate.valid());
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
    // What a program that broke the rule does next: whatever the backend kept
    // of the closed handle's registration goes (iocp keeps a fired oneshot
    // one until Delete, and the next pipe may get the closed value).
    (void)poller_->Delete(closed);
  }
}

#if defined(_WIN32)
// What a closed socket's registration becomes on Windows, where no dup2 gives
// its value away on purpose and the driver says when a socket with a poll
// request pending is closed (AFD_POLL_LOCAL_CLOSE): backends/iocp/
// iocp_backend.h, "Closing a socket without Delete".
TEST_P(ConformanceTest, OnWindowsClosedWhilePolledIsDroppedByTheNextWait) {
  RULE(
      "Windows: a socket closed without Delete while its request is pending "
      "is dropped by the next Wait, silently (Delete then says NotFound), so "
      "its value can be added again");
  for (Mode mode : {Mode::kLevel, Mode::kOneshot}) {
    SCOPED_TRACE(ModeName(mode));
    Pipe pipe = MakePipe();
    const NativeHandle closed = pipe.read_end.get();
    ASSERT_TRUE(poller_->Add(closed, 7, Interest::kReadable, mode).ok());
    pipe.read_end.Reset();
    Events events(8);
    auto seen = WaitOnce(*poller_, events, absl::Milliseconds(200));
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_EQ(seen->count(7), 0u) << "the close is not an event";
    EXPECT_EQ(poller_->Delete(closed).code(), absl::StatusCode::kNotFound);
    // Positive control: a registration that was not closed is still there.
    Pipe open = MakePipe();
    ASSERT_TRUE(poller_->Add(open.read_end.get(), 8, Interest::kReadable).ok());
    ASSERT_TRUE(WaitOnce(*poller_, events, absl::Milliseconds(50)).ok());
    EXPECT_TRUE(poller_->Delete(open.read_end.get()).ok());
  }
}

TEST_P(ConformanceTest, OnWindowsClosedAfterItFiredIsDroppedByTheNextWait) {
  RULE(
      "Windows: a socket closed without Delete after its oneshot registration "
      "fired, or registered with no interest, is dropped by the next Wait too "
      "(it keeps a request that watches for the close), so its value can be "
      "added again");
  for (Interest interest : {Interest::kReadable, Interest::kNone}) {
    SCOPED_TRACE(interest == Interest::kNone ? "no interest" : "fired");
    Pipe pipe = MakePipe();
    const NativeHandle closed = pipe.read_end.get();
    WriteBytes(pipe.write_end.get());
    ASSERT_TRUE(poller_->Add(closed, 7, interest, Mode::kOneshot).ok());
    if (interest == Interest::kReadable) {
      ASSERT_TRUE(Has(WaitForToken(*poller_, 7), Readiness::kReadable));
    }
    pipe.read_end.Reset();
    ExpectQuiet(*poller_, 7, absl::Milliseconds(100));
    EXPECT_EQ(poller_->Delete(closed).code(), absl::StatusCode::kNotFound);
    // Positive control: a registration that was not closed is still there.
    Pipe open = MakePipe();
    ASSERT_TRUE(
        poller_->Add(open.read_end.get(), 8, interest, Mode::kOneshot).ok());
    ExpectQuiet(*poller_, 8, absl::Milliseconds(50));
    EXPECT_TRUE(poller_->Delete(open.read_end.get()).ok());
  }
}
#endif

}  // namespace
}  // namespace poller::conformance
