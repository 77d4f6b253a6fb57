// Copyright 2026 The poller Authors.
//
// Conformance rules for a stream socket whose peer shut down its sending side
// (shutdown(SHUT_WR): it still reads) while this end's send buffer is full.
// The kernel's poll of such a socket names readable and read-hang-up
// (POLLIN, POLLRDHUP) whatever was asked; epoll reports only what the
// registration's interest asks for, plus hang-up and error when they are
// real (both directions shut). Every backend must report exactly that: a
// registration for writable alone reports nothing until the peer reads, in
// every mode and after every Rearm, and then writable alone.
//
// Promises: poller/poller.h: Add, Rearm; poller/core/types.h: Readiness.

#if !defined(_WIN32)
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>
#endif

#include "absl/strings/str_cat.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

#if defined(_WIN32)
SKIPPED_ON_WINDOWS(HalfClosedTcpWithFullSendBufferIsNotReported,
                   "the send buffer is filled with POSIX non-blocking writes")
SKIPPED_ON_WINDOWS(HalfClosedUnixStreamWithFullSendBufferIsNotReported,
                   "AF_UNIX stream sockets are POSIX")
#else

using ::poller::testing::MakeSocketPair;
using ::poller::testing::MakeTcpConnection;
using ::poller::testing::ScopedFd;
using ::poller::testing::SocketPair;
using ::poller::testing::TcpConnection;

// Writes to non-blocking `fd` until the kernel takes nothing more, and again
// after a pause until a write right after the pause still finds no room (so
// no acknowledgement in flight frees space later). False if it never settles.
bool FillSendBuffer(int fd) {
  std::vector<char> data(1 << 16, 'x');
  for (int round = 0; round < 100; ++round) {
    bool took_any = false;
    for (;;) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        took_any = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      ADD_FAILURE() << "send fd " << fd << ": " << std::strerror(errno);
      return false;
    }
    if (!took_any && round > 0) return true;
    ::usleep(20 * 1000);
  }
  return false;
}

// Reads everything `fd` holds, without blocking.
void DrainWithoutBlocking(int fd) {
  std::vector<char> data(1 << 16);
  for (;;) {
    const ssize_t n = ::recv(fd, data.data(), data.size(), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    return;
  }
}

struct Case {
  Interest interest;
  Mode mode;
};

// `local` is this end (its send buffer full, registered), `peer` the end
// that shut down its sending side. One registration per case, each on a new
// connection made by `make`.
template <typename Make>
void ExpectNothingUntilThePeerReads(ConformanceTest& test, Poller& poller,
                                    Make make) {
  const Case cases[] = {
      {Interest::kWritable, Mode::kOneshot},
      {Interest::kWritable, Mode::kLevel},
      {Interest::kWritable, Mode::kEdge},
      {Interest::kWritable, Mode::kEdgeOneshot},
      {Interest::kNone, Mode::kOneshot},
      {Interest::kNone, Mode::kLevel},
  };
  Token token = 100;
  for (const Case& c : cases) {
    if (!poller.SupportsMode(c.mode)) continue;
    ++token;
    SCOPED_TRACE(
        absl::StrCat("mode ", ModeName(c.mode), ", interest ",
                     c.interest == Interest::kNone ? "none" : "writable"));
    ScopedFd local;
    ScopedFd peer;
    ScopedFd keep;  // The TCP listener.
    make(&local, &peer, &keep);
    if (::testing::Test::HasFatalFailure()) return;
    ASSERT_TRUE(FillSendBuffer(local.get()))
        << "the send buffer never stayed full";
    ASSERT_EQ(::shutdown(peer.get(), SHUT_WR), 0) << std::strerror(errno);
    ASSERT_TRUE(poller.Add(local.get(), token, c.interest, c.mode).ok());
    // Three Waits, each after a Rearm of a oneshot registration: a backend
    // that reports the half-close it was not asked about does so at once
    // each time, and a loop re-arming it would spin.
    for (int i = 0; i < 3; ++i) {
      ExpectQuiet(poller, token, absl::Milliseconds(100));
      if (IsOneshot(c.mode)) {
        const absl::Status rearmed = poller.Rearm(local.get());
        EXPECT_TRUE(rearmed.ok()) << rearmed;
      }
    }
    if (c.interest == Interest::kWritable) {
      // Positive control: once the peer reads, the send buffer drains and
      // the registration reports writable, and nothing it did not ask for.
      DrainWithoutBlocking(peer.get());
      Readiness readiness = Readiness::kNone;
      const absl::Time give_up = absl::Now() + kPrompt;
      while (readiness == Readiness::kNone && absl::Now() < give_up) {
        DrainWithoutBlocking(peer.get());
        Events events(64);
        auto seen = WaitOnce(poller, events, absl::Milliseconds(50));
        ASSERT_TRUE(seen.ok()) << seen.status();
        readiness = ReadinessOf(*seen, token);
      }
      EXPECT_EQ(readiness, Readiness::kWritable)
          << "readiness " << static_cast<int>(readiness);
    } else {
      // Positive control: shutting this end's sending side too closes both
      // directions, which is hang-up (epoll's EPOLLHUP).
      ASSERT_EQ(::shutdown(local.get(), SHUT_WR), 0) << std::strerror(errno);
      const Readiness readiness = WaitForToken(poller, token);
      EXPECT_TRUE(Has(readiness, Readiness::kHangUp))
          << "readiness " << static_cast<int>(readiness);
      EXPECT_FALSE(Has(readiness, Readiness::kReadable));
    }
    EXPECT_TRUE(poller.Delete(local.get()).ok());
  }
  (void)test;
}

TEST_P(ConformanceTest, HalfClosedTcpWithFullSendBufferIsNotReported) {
  RULE(
      "a TCP socket whose peer shut down its sending side, with a full send "
      "buffer, registered for writable (or nothing): reports nothing until "
      "the peer reads, then writable alone, as epoll does");
  ExpectNothingUntilThePeerReads(
      *this, *poller_, [](ScopedFd* local, ScopedFd* peer, ScopedFd* keep) {
        TcpConnection connection = MakeTcpConnection();
        // Small buffers fill fast.
        const int small = 16 * 1024;
        ::setsockopt(connection.server.get(), SOL_SOCKET, SO_SNDBUF, &small,
                     sizeof(small));
        ::setsockopt(connection.client.get(), SOL_SOCKET, SO_RCVBUF, &small,
                     sizeof(small));
        *local = std::move(connection.server);
        *peer = std::move(connection.client);
        *keep = std::move(connection.listener);
      });
}

TEST_P(ConformanceTest, HalfClosedUnixStreamWithFullSendBufferIsNotReported) {
  RULE(
      "an AF_UNIX stream socket whose peer shut down its sending side, with "
      "a full send buffer, registered for writable (or nothing): reports "
      "nothing until the peer reads, then writable alone, as epoll does");
  ExpectNothingUntilThePeerReads(
      *this, *poller_, [](ScopedFd* local, ScopedFd* peer, ScopedFd*) {
        SocketPair pair = MakeSocketPair();
        *local = std::move(pair.first);
        *peer = std::move(pair.second);
      });
}

#endif  // defined(_WIN32)

}  // namespace
}  // namespace poller::conformance
