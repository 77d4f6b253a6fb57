// Copyright 2026 The poller Authors.
//
// Conformance rules for the kinds of readiness: hang-up, error, priority data,
// listeners and eventfds; on Windows, every kind of socket.
//
// Promises: poller/core/types.h: Readiness, Event.

#if defined(_WIN32)
#include <winsock2.h>
// Needs winsock2.h first.
#include <ws2tcpip.h>
#else
#include <sys/socket.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

#include <memory>

#include "absl/strings/str_cat.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::ConnectToLoopback;
using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::MakeTcpConnection;
using ::poller::testing::MakeTcpListener;
using ::poller::testing::Pipe;
using ::poller::testing::ReadableHandle;
using ::poller::testing::ReadableKind;
using ::poller::testing::ReadableKinds;
using ::poller::testing::ScopedFd;
using ::poller::testing::SocketPair;
using ::poller::testing::WriteBytes;

TEST_P(ConformanceTest, ReadinessGoneBeforeAWaitIsNotReportedByALaterOne) {
  RULE(
      "an event reports readiness the handle had after the previous Wait "
      "began: data that came and went before a Wait is not reported by the "
      "Wait after it, in any mode");
  int checked = 0;
  for (Mode mode :
       {Mode::kOneshot, Mode::kLevel, Mode::kEdge, Mode::kEdgeOneshot}) {
    if (!poller_->SupportsMode(mode)) continue;
    SCOPED_TRACE(ModeName(mode));
    Pipe watched = MakePipe();
    Pipe deleted = MakePipe();
    Pipe late = MakePipe();
    ASSERT_TRUE(
        poller_->Add(watched.read_end.get(), 27, Interest::kReadable, mode)
            .ok());
    ASSERT_TRUE(poller_
                    ->Add(deleted.read_end.get(), 28, Interest::kReadable,
                          Mode::kOneshot)
                    .ok());
    ASSERT_TRUE(
        poller_
            ->Add(late.read_end.get(), 29, Interest::kReadable, Mode::kOneshot)
            .ok());
    Events events(8);
    ASSERT_TRUE(WaitOnce(*poller_, events, absl::ZeroDuration()).ok());
    // A Delete before the data comes and goes leaves the kernel something to
    // say before the next Wait (on io_uring, the cancelled request's
    // completion, already in the queue when that Wait looks).
    ASSERT_TRUE(poller_->Delete(deleted.read_end.get()).ok());
    WriteBytes(watched.write_end.get());
    // Read back before the next Wait (Windows' pipe is a loopback TCP
    // connection, where the byte may take a moment to arrive).
    size_t drained = 0;
    const absl::Time give_up = absl::Now() + kPrompt;
    while (drained == 0 && absl::Now() < give_up) {
      drained = DrainBytes(watched.read_end.get());
    }
    ASSERT_EQ(drained, 1u);

    // This Wait may report the watched pipe (its data was there after the
    // previous Wait began); the one after it may not.
    auto first = WaitOnce(*poller_, events, absl::ZeroDuration());
    ASSERT_TRUE(first.ok()) << first.status();
    WriteBytes(late.write_end.get());
    auto second = WaitOnce(*poller_, events, kPrompt);
    ASSERT_TRUE(second.ok()) << second.status();
    // Control: the second Wait reports what became ready before it.
    EXPECT_EQ(second->count(29), 1u) << "the late pipe was not reported";
    EXPECT_EQ(second->count(27), 0u)
        << "reported data read before the previous Wait began";
    ++checked;
    ASSERT_TRUE(poller_->Delete(watched.read_end.get()).ok());
    ASSERT_TRUE(poller_->Delete(late.read_end.get()).ok());
  }
  EXPECT_GT(checked, 0);
}

TEST_P(ConformanceTest, HangUpWhenPeerCloses) {
  RULE("hang-up is reported when the peer closes");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(poller_->Add(pair.first.get(), 20, Interest::kReadable).ok());
  pair.second.Reset();
  Readiness readiness = WaitForToken(*poller_, 20);
  EXPECT_TRUE(Has(readiness, Readiness::kHangUp));
}

TEST_P(ConformanceTest, HangUpWhenThePeerClosesForEveryKindOfStream) {
  RULE(
      "hang-up is reported, in every mode, when the other end of any kind of "
      "byte stream closes (pipe, Unix stream, TCP, pseudo-terminal)");
  int checked = 0;
  for (const ReadableKind& kind : ReadableKinds()) {
    for (Mode mode : {Mode::kOneshot, Mode::kLevel, Mode::kEdge}) {
      if (!poller_->SupportsMode(mode)) continue;
      SCOPED_TRACE(absl::StrCat(kind.name, ", ", ModeName(mode)));
      std::unique_ptr<ReadableHandle> stream = kind.make();
      ASSERT_TRUE(
          poller_->Add(stream->handle(), 23, Interest::kReadable, mode).ok());
      if (!stream->ClosePeer()) {  // No other end: the next kind.
        ASSERT_TRUE(poller_->Delete(stream->handle()).ok());
        break;
      }
      ++checked;
      EXPECT_TRUE(Has(WaitForToken(*poller_, 23), Readiness::kHangUp));
      ASSERT_TRUE(poller_->Delete(stream->handle()).ok());
    }
  }
  EXPECT_GT(checked, 0) << "no kind of byte stream on this platform";
}

TEST_P(ConformanceTest, HangUpOnHalfClose) {
  RULE("hang-up is reported for a TCP half-close (shutdown SHUT_WR)");
  auto connection = MakeTcpConnection();
  ASSERT_TRUE(
      poller_->Add(connection.server.get(), 21, Interest::kReadable).ok());
  ASSERT_EQ(::shutdown(connection.client.get(), SHUT_WR), 0);
  Readiness readiness = WaitForToken(*poller_, 21);
  EXPECT_TRUE(Has(readiness, Readiness::kHangUp));
  EXPECT_TRUE(Has(readiness, Readiness::kReadable))
      << "end-of-file is readable";
}

TEST_P(ConformanceTest, HangUpWhenPipeWriterCloses) {
  RULE("hang-up is reported on a pipe's read end when the writer closes");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 22, Interest::kReadable).ok());
  pipe.write_end.Reset();
  EXPECT_TRUE(Has(WaitForToken(*poller_, 22), Readiness::kHangUp));
}

TEST_P(ConformanceTest, ErrorOnRefusedConnection) {
  RULE("error is reported for a socket with a pending error");
  int port = 0;
  ScopedFd listener = MakeTcpListener(&port);
  listener.Reset();  // Nothing listens on `port` now: connecting is refused.
  ScopedFd socket = ConnectToLoopback(port, /*non_blocking=*/true);
  ASSERT_TRUE(poller_->Add(socket.get(), 23, Interest::kWritable).ok());
  Readiness readiness = WaitForToken(*poller_, 23);
  EXPECT_TRUE(Has(readiness, Readiness::kError) ||
              Has(readiness, Readiness::kHangUp))
      << static_cast<int>(readiness);
  EXPECT_EQ(poller::testing::PendingSocketError(socket.get()),
            poller::testing::kConnectionRefused);
}

TEST_P(ConformanceTest, PriorityData) {
  RULE("priority interest reports TCP urgent (out-of-band) data");
  if (!poller_->SupportsInterest(Interest::kPriority)) {
    GTEST_SKIP() << GetParam().name << " declares it cannot report priority";
  }
  auto connection = MakeTcpConnection();
  ASSERT_TRUE(
      poller_->Add(connection.server.get(), 24, Interest::kPriority).ok());
  ExpectQuiet(*poller_, 24);
  char byte = '!';
  ASSERT_EQ(::send(connection.client.get(), &byte, 1, MSG_OOB), 1);
  EXPECT_TRUE(Has(WaitForToken(*poller_, 24), Readiness::kPriority));
}

TEST_P(ConformanceTest, TcpListenerIsReadableOnConnection) {
  RULE("a listening socket is readable when a connection arrives");
  int port = 0;
  ScopedFd listener = MakeTcpListener(&port);
  ASSERT_TRUE(poller_->Add(listener.get(), 25, Interest::kReadable).ok());
  ExpectQuiet(*poller_, 25);
  ScopedFd client = ConnectToLoopback(port, /*non_blocking=*/false);
  EXPECT_TRUE(Has(WaitForToken(*poller_, 25), Readiness::kReadable));
}

#if defined(__linux__)
TEST_P(ConformanceTest, EventFdIsReadable) {
  RULE("an eventfd is readable once written");
  ScopedFd event_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  ASSERT_TRUE(poller_->Add(event_fd.get(), 26, Interest::kReadable).ok());
  ExpectQuiet(*poller_, 26);
  const uint64_t one = 1;
  ASSERT_EQ(::write(event_fd.get(), &one, sizeof(one)), 8);
  EXPECT_TRUE(Has(WaitForToken(*poller_, 26), Readiness::kReadable));
}
#endif

#if defined(_WIN32)
TEST_P(ConformanceTest, OnWindowsDatagramAndIpv6SocketsAreReported) {
  RULE(
      "Windows: every kind of socket is polled: a UDP socket with a datagram "
      "waiting and an IPv6 listener with a connection waiting are readable");
  ScopedFd datagram = poller::testing::MakeDatagramSocket();
  ASSERT_TRUE(poller_->Add(datagram.get(), 1, Interest::kReadable).ok());
  poller::testing::SendDatagramTo(datagram.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 1), Readiness::kReadable));

  ScopedFd listener(::socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP));
  ASSERT_TRUE(listener.valid());
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address),
                   sizeof(address)),
            0)
      << ::WSAGetLastError();
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  int length = sizeof(address);
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length);
  ASSERT_TRUE(poller_->Add(listener.get(), 2, Interest::kReadable).ok());
  ExpectQuiet(*poller_, 2);  // Control: readable only once a client comes.
  ScopedFd client(::socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP));
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address),
                      sizeof(address)),
            0)
      << ::WSAGetLastError();
  EXPECT_TRUE(Has(WaitForToken(*poller_, 2), Readiness::kReadable));
}
#endif

}  // namespace
}  // namespace poller::conformance
