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

#if defined(_WIN32)
#include <winsock2.h>
#else
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#endif

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::MakeSocketPair;
using ::poller::testing::MakeTcpConnection;
using ::poller::testing::ScopedFd;
using ::poller::testing::SocketPair;
using ::poller::testing::TcpConnection;

#if defined(_WIN32)
SKIPPED_ON_WINDOWS(HalfClosedUnixStreamWithFullSendBufferIsNotReported,
                   "the test makes AF_UNIX stream sockets with socketpair(2)")

// Winsock's send and recv on a non-blocking socket: the bytes moved, or -1
// with `*would_block` set when the buffer has no room (no data).
std::ptrdiff_t SendSome(NativeHandle socket, const char* data, size_t size,
                        bool* would_block) {
  const int n = ::send(socket, data, static_cast<int>(size), 0);
  *would_block = n < 0 && ::WSAGetLastError() == WSAEWOULDBLOCK;
  return n;
}
std::ptrdiff_t ReceiveSome(NativeHandle socket, char* data, size_t size) {
  return ::recv(socket, data, static_cast<int>(size), 0);
}
std::string LastSocketError() {
  return absl::StrCat("WSA error ", ::WSAGetLastError());
}
#else
std::ptrdiff_t SendSome(NativeHandle fd, const char* data, size_t size,
                        bool* would_block) {
  ssize_t n;
  do {
    n = ::send(fd, data, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  *would_block = n < 0 && errno == EAGAIN;
  return n;
}
std::ptrdiff_t ReceiveSome(NativeHandle fd, char* data, size_t size) {
  ssize_t n;
  do {
    n = ::recv(fd, data, size, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n;
}
std::string LastSocketError() { return std::strerror(errno); }
#endif

// Writes to non-blocking `socket` until the kernel takes nothing more, and
// again after a pause until a write right after the pause still finds no room
// (so no acknowledgement in flight frees space later). False if it never
// settles.
bool FillSendBuffer(NativeHandle socket) {
  std::vector<char> data(1 << 16, 'x');
  for (int round = 0; round < 100; ++round) {
    bool took_any = false;
    for (;;) {
      bool would_block = false;
      if (SendSome(socket, data.data(), data.size(), &would_block) > 0) {
        took_any = true;
        continue;
      }
      if (would_block) break;
      ADD_FAILURE() << "send " << socket << ": " << LastSocketError();
      return false;
    }
    if (!took_any && round > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Reads everything non-blocking `socket` holds.
void DrainWithoutBlocking(NativeHandle socket) {
  std::vector<char> data(1 << 16);
  while (ReceiveSome(socket, data.data(), data.size()) > 0) {
  }
}

// Makes the buffer `option` (SO_SNDBUF, SO_RCVBUF) small, so it fills fast.
void SetSmallBuffer(NativeHandle socket, int option) {
  const int small = 16 * 1024;
  ::setsockopt(socket, SOL_SOCKET, option,
               reinterpret_cast<const char*>(&small), sizeof(small));
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
  // Interest kNone: its positive control is the hang-up of a socket shut both
  // ways, which epoll and poll report whatever the interest; IOCP's poll of
  // a socket asks for nothing then (poller/core/types.h, Interest).
#if !defined(_WIN32)
    {Interest::kNone, Mode::kOneshot},
    {Interest::kNone, Mode::kLevel},
#endif
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
    ASSERT_EQ(::shutdown(peer.get(), SHUT_WR), 0) << LastSocketError();
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
      ASSERT_EQ(::shutdown(local.get(), SHUT_WR), 0) << LastSocketError();
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
#if defined(_WIN32)
        // Windows' socket pair is a loopback TCP connection, both ends
        // non-blocking.
        SocketPair connection = MakeSocketPair();
        SetSmallBuffer(connection.first.get(), SO_SNDBUF);
        SetSmallBuffer(connection.second.get(), SO_RCVBUF);
        *local = std::move(connection.first);
        *peer = std::move(connection.second);
        (void)keep;
#else
        TcpConnection connection = MakeTcpConnection();
        SetSmallBuffer(connection.server.get(), SO_SNDBUF);
        SetSmallBuffer(connection.client.get(), SO_RCVBUF);
        *local = std::move(connection.server);
        *peer = std::move(connection.client);
        *keep = std::move(connection.listener);
#endif
      });
}

#if !defined(_WIN32)
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

#endif  // !defined(_WIN32)

}  // namespace
}  // namespace poller::conformance
