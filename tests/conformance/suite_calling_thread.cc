// Copyright 2026 The poller Authors.
//
// Conformance rules for the thread that calls Add, Modify, Rearm or Delete
// while another thread waits: once the call returns, that thread is not part
// of the poller. What it does next (sleep uninterruptibly, as the parent of
// vfork() does until its child execs or exits; block in its own system calls)
// neither delays a report to the waiting thread nor is disturbed by the
// poller: no signal-like interruption (EINTR) of its own calls, when the
// handle becomes ready or after Delete and the poller's destruction.
//
// Promises: poller/poller.h: Add, Modify, Rearm, Delete.

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/socket.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#endif

#include "absl/strings/str_cat.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

#if defined(_WIN32)
SKIPPED_ON_WINDOWS(ChangeByAThreadThatThenSleepsUninterruptiblyIsPrompt,
                   "vfork() is POSIX")
SKIPPED_ON_WINDOWS(CallingThreadsOwnSystemCallsAreNotInterrupted,
                   "SO_RCVTIMEO reads are checked with POSIX errno")
#else

using ::poller::testing::BoundedThread;
using ::poller::testing::DrainBytes;
using ::poller::testing::MakeBlockingPipe;
using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::MakeTcpConnection;
using ::poller::testing::ScopedFd;
using ::poller::testing::WriteBytes;

// A readable handle and the end that makes it readable.
struct Channel {
  ScopedFd read_end;
  ScopedFd write_end;
  ScopedFd keep;  // A TCP listener.
};

enum class Kind { kPipe, kSocketPair, kTcp };

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kPipe:
      return "pipe";
    case Kind::kSocketPair:
      return "socket pair";
    case Kind::kTcp:
      return "TCP";
  }
  return "?";
}

Channel MakeChannel(Kind kind) {
  Channel channel;
  switch (kind) {
    case Kind::kPipe: {
      auto pipe = MakePipe();
      channel.read_end = std::move(pipe.read_end);
      channel.write_end = std::move(pipe.write_end);
      break;
    }
    case Kind::kSocketPair: {
      auto pair = MakeSocketPair();
      channel.read_end = std::move(pair.first);
      channel.write_end = std::move(pair.second);
      break;
    }
    case Kind::kTcp: {
      auto connection = MakeTcpConnection();
      channel.read_end = std::move(connection.server);
      channel.write_end = std::move(connection.client);
      channel.keep = std::move(connection.listener);
      break;
    }
  }
  return channel;
}

#if defined(__linux__)
// The scheduler state of thread `tid` of this process ('R', 'S', 'D'...),
// or 0 if it cannot be read.
char ThreadState(long tid) {  // NOLINT(runtime/int)
  std::ifstream stat(absl::StrCat("/proc/self/task/", tid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const size_t end_of_name = line.rfind(')');
  if (end_of_name == std::string::npos || end_of_name + 2 >= line.size()) {
    return 0;
  }
  return line[end_of_name + 2];
}

// Sleeps uninterruptibly until a byte arrives on `release` (or it closes):
// the parent of vfork() waits, in a killable but not interruptible sleep,
// until its child exits. Kept apart so that no local of the caller lives
// across vfork().
__attribute__((noinline)) void SleepInVfork(int release) {
  const pid_t child = ::vfork();
  if (child == 0) {
    char byte;
    while (::read(release, &byte, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  if (child > 0) {
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

enum class Change { kAdd, kModify, kRearm };

const char* ChangeName(Change change) {
  switch (change) {
    case Change::kAdd:
      return "Add";
    case Change::kModify:
      return "Modify";
    case Change::kRearm:
      return "Rearm";
  }
  return "?";
}

TEST_P(ConformanceTest, ChangeByAThreadThatThenSleepsUninterruptiblyIsPrompt) {
  RULE(
      "Add, Modify and Rearm take effect for a Wait in progress on another "
      "thread: a handle that becomes ready is reported at once even when the "
      "thread that made the change then sleeps uninterruptibly (the parent of "
      "vfork())");
  constexpr Token kToken = 2;
  for (Change change : {Change::kAdd, Change::kModify, Change::kRearm}) {
    for (Kind kind : {Kind::kPipe, Kind::kSocketPair}) {
      SCOPED_TRACE(absl::StrCat(ChangeName(change), " of a ", KindName(kind)));
      Channel channel = MakeChannel(kind);
      const NativeHandle fd = channel.read_end.get();
      if (change == Change::kModify) {
        ASSERT_TRUE(poller_->Add(fd, 1, Interest::kNone, Mode::kOneshot).ok());
      } else if (change == Change::kRearm) {
        ASSERT_TRUE(
            poller_->Add(fd, kToken, Interest::kReadable, Mode::kOneshot).ok());
        WriteBytes(channel.write_end.get());
        ASSERT_TRUE(Has(WaitForToken(*poller_, kToken), Readiness::kReadable));
        DrainBytes(fd);
      }
      int release[2];
      ASSERT_TRUE(MakeBlockingPipe(release)) << std::strerror(errno);
      ScopedFd release_read(release[0]);
      ScopedFd release_write(release[1]);

      // The waiting thread: Waits until the token comes, and says when.
      std::atomic<bool> seen{false};
      std::atomic<bool> waiting{false};
      std::chrono::steady_clock::time_point seen_at;
      BoundedThread waiter(
          [&] {
            Events events(16);
            const absl::Time give_up = absl::Now() + 2 * kPrompt;
            while (absl::Now() < give_up) {
              waiting = true;
              auto got = WaitOnce(*poller_, events, absl::Milliseconds(200));
              if (!got.ok()) {
                ADD_FAILURE() << got.status();
                return;
              }
              if (got->count(kToken) != 0) {
                seen_at = std::chrono::steady_clock::now();
                seen = true;
                return;
              }
            }
          },
          "the waiting thread");
      while (!waiting) std::this_thread::yield();

      // The changing thread: makes its change, then sleeps uninterruptibly.
      std::atomic<long> tid{0};  // NOLINT(runtime/int)
      std::atomic<bool> changed{false};
      BoundedThread changer(
          [&] {
            absl::Status status;
            switch (change) {
              case Change::kAdd:
                status = poller_->Add(fd, kToken, Interest::kReadable,
                                      Mode::kOneshot);
                break;
              case Change::kModify:
                status = poller_->Modify(fd, kToken, Interest::kReadable,
                                         Mode::kOneshot);
                break;
              case Change::kRearm:
                status = poller_->Rearm(fd);
                break;
            }
            EXPECT_TRUE(status.ok()) << status;
            tid = ::syscall(SYS_gettid);
            changed = true;
            SleepInVfork(release_read.get());
          },
          "the changing thread");

      // Positive control: the changing thread does sleep uninterruptibly.
      bool asleep = false;
      const absl::Time give_up = absl::Now() + kPrompt;
      while (!asleep && absl::Now() < give_up) {
        if (changed) asleep = ThreadState(tid.load()) == 'D';
        if (!asleep) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      // The handle becomes ready while it sleeps.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const auto ready_at = std::chrono::steady_clock::now();
      WriteBytes(channel.write_end.get());
      const bool waiter_done = waiter.Join(kJoinLimit);
      // Only now does the sleeping thread wake.
      ASSERT_EQ(::write(release_write.get(), "x", 1), 1);
      ASSERT_TRUE(changer.Join(kJoinLimit));
      ASSERT_TRUE(waiter_done);
      if (!asleep) {
        GTEST_SKIP() << "the parent of vfork() was never seen in an "
                        "uninterruptible sleep here (a sanitizer may turn "
                        "vfork() into fork()); the schedule cannot be forced";
      }
      ASSERT_TRUE(seen) << "the handle was never reported";
      EXPECT_LT(absl::FromChrono(seen_at - ready_at), absl::Seconds(2))
          << "reported only " << absl::FromChrono(seen_at - ready_at)
          << " after it became ready";
      EXPECT_TRUE(poller_->Delete(fd).ok());
    }
  }
}
#else
TEST_P(ConformanceTest, ChangeByAThreadThatThenSleepsUninterruptiblyIsPrompt) {
  GTEST_SKIP() << "only Linux's /proc shows that the changing thread sleeps "
                  "uninterruptibly (the parent of vfork()); without it the "
                  "schedule cannot be forced";
}
#endif  // defined(__linux__)

// Reads from a blocking socket that never gets data, with a receive timeout
// of `limit`: the call must wait it out and fail with EAGAIN. Returns the
// errno and how long the call took.
int TimedRead(int socket, absl::Duration limit, absl::Duration* took) {
  timeval timeout{};
  timeout.tv_sec = absl::ToInt64Seconds(limit);
  timeout.tv_usec = absl::ToInt64Microseconds(
      limit - absl::Seconds(absl::ToInt64Seconds(limit)));
  EXPECT_EQ(
      ::setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)),
      0);
  const auto start = std::chrono::steady_clock::now();
  char byte;
  const ssize_t got = ::recv(socket, &byte, 1, 0);
  const int error = got < 0 ? errno : 0;
  *took = Since(start);
  return error;
}

TEST_P(ConformanceTest, CallingThreadsOwnSystemCallsAreNotInterrupted) {
  RULE(
      "the thread that calls Add, Rearm or Delete is not interrupted in its "
      "own blocking system calls (EINTR) when the handle becomes ready, nor "
      "after Delete and the poller's destruction");
  constexpr absl::Duration kReadLimit = absl::Milliseconds(400);
  // On a thread of its own: this one waited on earlier tests' pollers.
  BoundedThread calling(
      [&] {
        for (Kind kind : {Kind::kPipe, Kind::kSocketPair, Kind::kTcp}) {
          SCOPED_TRACE(KindName(kind));
          std::unique_ptr<Poller> poller = NewPoller();
          ASSERT_NE(poller, nullptr);
          Channel channel = MakeChannel(kind);
          const NativeHandle fd = channel.read_end.get();
          // A blocking socket this thread reads from, which never gets data.
          int blocking[2];
          ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, blocking), 0);
          for (int end : blocking) {
            ASSERT_EQ(::fcntl(end, F_SETFD, FD_CLOEXEC), 0);
          }
          ScopedFd quiet(blocking[0]);
          ScopedFd quiet_peer(blocking[1]);

          std::atomic<bool> stop{false};
          std::atomic<int> reports{0};
          BoundedThread waiter(
              [&] {
                Events events(16);
                while (!stop) {
                  auto got = WaitOnce(*poller, events, absl::Milliseconds(50));
                  if (!got.ok()) {
                    ADD_FAILURE() << got.status();
                    return;
                  }
                  if (got->count(7) != 0) ++reports;
                }
              },
              "the waiting thread");

          // Makes the handle ready 100 ms into this thread's read.
          auto ready_during_read = [&] {
            BoundedThread writer(
                [&] {
                  std::this_thread::sleep_for(std::chrono::milliseconds(100));
                  WriteBytes(channel.write_end.get());
                },
                "the writer");
            absl::Duration took;
            const int error = TimedRead(quiet.get(), kReadLimit, &took);
            EXPECT_EQ(error, EAGAIN)
                << "the read failed with " << std::strerror(error) << " after "
                << took;
            EXPECT_GE(took, kReadLimit - absl::Milliseconds(50));
            EXPECT_TRUE(writer.Join(kJoinLimit));
          };
          auto wait_for_reports = [&](int count) {
            const absl::Time give_up = absl::Now() + kPrompt;
            while (reports < count && absl::Now() < give_up) {
              std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            // Positive control: the handle did become ready and was reported.
            EXPECT_EQ(reports.load(), count);
          };

          ASSERT_TRUE(
              poller->Add(fd, 7, Interest::kReadable, Mode::kOneshot).ok());
          {
            SCOPED_TRACE("after Add");
            ready_during_read();
            wait_for_reports(1);
          }
          DrainBytes(fd);
          ASSERT_TRUE(poller->Rearm(fd).ok());
          {
            SCOPED_TRACE("after Rearm");
            ready_during_read();
            wait_for_reports(2);
          }
          stop = true;
          ASSERT_TRUE(waiter.Join(kJoinLimit));
          ASSERT_TRUE(poller->Delete(fd).ok());
          poller.reset();
          {
            SCOPED_TRACE("after Delete and the poller's destruction");
            absl::Duration took;
            const int error = TimedRead(quiet.get(), kReadLimit, &took);
            EXPECT_EQ(error, EAGAIN)
                << "the read failed with " << std::strerror(error) << " after "
                << took;
          }
        }
      },
      "the calling thread");
  ASSERT_TRUE(calling.Join(absl::Seconds(60)));
}

#endif  // defined(_WIN32)

}  // namespace
}  // namespace poller::conformance
