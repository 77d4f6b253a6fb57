// Copyright 2026 The poller Authors.
//
// Conformance rules for what closing or shutting one end reports on the
// other, and for a rejected Add, as found by reading the BSD kernels against
// the kqueue backend and checked on every backend.
//
// Promises: poller/poller.h: Add; poller/core/types.h: Readiness.

#if !defined(_WIN32)
#include <sys/socket.h>
#endif

#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::MakePipe;
using ::poller::testing::MakeTcpConnection;
using ::poller::testing::Pipe;
using ::poller::testing::TcpConnection;
using ::poller::testing::WriteBytes;

TEST_P(ConformanceTest, LocalShutdownOfSendingIsNotHangUp) {
  RULE(
      "hang-up means the peer closed: shutting this end's own sending side "
      "is not reported as hang-up");
  TcpConnection connection = MakeTcpConnection();
  const NativeHandle server = connection.server.get();
  ASSERT_EQ(::shutdown(server, SHUT_WR), 0);
  ASSERT_TRUE(poller_->Add(server, 8, Interest::kWritable, Mode::kLevel).ok());
  const Readiness readiness = WaitForToken(*poller_, 8);
  EXPECT_TRUE(Has(readiness, Readiness::kWritable));
  EXPECT_FALSE(Has(readiness, Readiness::kHangUp));
  // Positive control: the peer closing is a hang-up.
  ASSERT_TRUE(
      poller_->Modify(server, 9, Interest::kReadable, Mode::kOneshot).ok());
  connection.client.Reset();
  EXPECT_TRUE(Has(WaitForToken(*poller_, 9), Readiness::kHangUp));
}

// Closes the pipe's read end so that its writer's reader is gone. The tests'
// pipes are loopback TCP connections on Windows, and a TCP reader is gone for
// its writer once it has reset the connection (a graceful close only ends
// the stream): SO_LINGER with a zero timeout makes closesocket reset it,
// after which every send fails, as write does on a pipe. It returns once the
// reset has reached the writer (which then reads as readable).
void CloseReader(Pipe& pipe) {
#if defined(_WIN32)
  const linger reset{1, 0};
  ASSERT_EQ(::setsockopt(pipe.read_end.get(), SOL_SOCKET, SO_LINGER,
                         reinterpret_cast<const char*>(&reset), sizeof(reset)),
            0);
  pipe.read_end.Reset();
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(pipe.write_end.get(), &readable);
  timeval limit{5, 0};
  ASSERT_EQ(::select(0, &readable, nullptr, nullptr, &limit), 1)
      << "the reset did not reach the writer within 5 s";
#else
  pipe.read_end.Reset();
#endif
}

// The error of a writer whose reader is gone. On Windows the reader's close
// resets the connection, and a reset leaves no error in SO_ERROR (the next
// send fails with WSAECONNRESET): it is hang-up there, and kError would
// promise an error SO_ERROR does not hold (backends/iocp/iocp_backend.h).
bool HasWriterError(Readiness readiness) {
#if defined(_WIN32)
  return Has(readiness, Readiness::kHangUp);
#else
  return Has(readiness, Readiness::kError);
#endif
}

TEST_P(ConformanceTest, PipeWriterWhoseReaderIsGoneIsWritableAndError) {
  RULE(
      "a pipe's write end whose reader closed is reported writable with "
      "error, and stays registered through a Modify");
  Pipe pipe = MakePipe();
  CloseReader(pipe);
  if (HasFatalFailure()) return;
  const NativeHandle writer = pipe.write_end.get();
  ASSERT_TRUE(poller_->Add(writer, 5, Interest::kWritable, Mode::kLevel).ok());
  for (int i = 0; i < 2; ++i) {
    const Readiness readiness = WaitForToken(*poller_, 5);
    EXPECT_TRUE(Has(readiness, Readiness::kWritable)) << "wait " << i;
    EXPECT_TRUE(HasWriterError(readiness)) << "wait " << i;
  }
  ASSERT_TRUE(
      poller_->Modify(writer, 6, Interest::kWritable, Mode::kOneshot).ok());
  EXPECT_TRUE(HasWriterError(WaitForToken(*poller_, 6)));
  ExpectQuiet(*poller_, 6);  // Oneshot: once.
  EXPECT_TRUE(poller_->Delete(writer).ok());
}

TEST_P(ConformanceTest, RejectedAddInjectsNoEdgeEvent) {
  RULE(
      "an Add rejected with AlreadyExists changes nothing: no new edge is "
      "reported for an edge registration");
  REQUIRE_MODE(Mode::kEdge);
  Pipe pipe = MakePipe();
  const NativeHandle reader = pipe.read_end.get();
  ASSERT_TRUE(poller_->Add(reader, 9, Interest::kReadable, Mode::kEdge).ok());
  WriteBytes(pipe.write_end.get());
  ASSERT_NE(WaitForToken(*poller_, 9), Readiness::kNone);
  // The data is still there; its edge was reported.
  EXPECT_EQ(poller_->Add(reader, 9, Interest::kReadable, Mode::kEdge).code(),
            absl::StatusCode::kAlreadyExists);
  ExpectQuiet(*poller_, 9);
  // Positive control: new data is a new edge.
  WriteBytes(pipe.write_end.get());
  EXPECT_NE(WaitForToken(*poller_, 9), Readiness::kNone);
}

}  // namespace
}  // namespace poller::conformance
