// Copyright 2026 The poller Authors.
//
// test_handles.h: real descriptors for tests (pipes, socket pairs, loopback
// TCP, eventfd) that close themselves, and helpers to make them ready and to
// collect events.

#ifndef POLLER_TESTS_CONFORMANCE_TEST_HANDLES_H_
#define POLLER_TESTS_CONFORMANCE_TEST_HANDLES_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "poller/internal/scoped_fd.h"
#include "poller/poller.h"

namespace poller::testing {

using internal::ScopedFd;

// A non-blocking, close-on-exec pipe.
struct Pipe {
  ScopedFd read_end;
  ScopedFd write_end;
};
Pipe MakePipe();

// A non-blocking AF_UNIX stream socket pair.
struct SocketPair {
  ScopedFd first;
  ScopedFd second;
};
SocketPair MakeSocketPair();

// A connected loopback TCP pair and the listener that made it.
struct TcpConnection {
  ScopedFd listener;
  ScopedFd client;
  ScopedFd server;
};
TcpConnection MakeTcpConnection();
// A non-blocking listening socket on 127.0.0.1 with an ephemeral port, and that
// port.
ScopedFd MakeTcpListener(int* port);

// Starts connecting a new socket to 127.0.0.1:`port` (non-blocking when asked:
// the connect may still be in progress on return).
ScopedFd ConnectToLoopback(int port, bool non_blocking);

// Writes `bytes` bytes (fails the test if it cannot).
void WriteBytes(int fd, size_t bytes = 1);
// Reads until EAGAIN or end-of-file; returns how many bytes were read.
size_t DrainBytes(int fd);

// Waits once and returns the events delivered (token -> readiness bits ORed
// over the batch), and how many events there were in `count`.
absl::StatusOr<std::map<Token, Readiness>> WaitOnce(Poller& poller,
                                                    Events& events,
                                                    absl::Duration timeout,
                                                    size_t* count = nullptr);

// Reads `fd` until end-of-file (retrying EINTR) and returns what it read.
std::string ReadUntilEndOfFile(int fd);

// Whether a backend's Create failed because the backend cannot run here (the
// kernel refuses it, or it is a stub on this platform): tests then skip.
bool IsUnavailableHere(const absl::Status& created);

// Number of open descriptors of this process (from /proc/self/fd or /dev/fd),
// or -1 if unknown.
int OpenDescriptorCount();

// Raises the soft RLIMIT_NOFILE towards the hard limit; returns the new soft
// limit.
long RaiseDescriptorLimit(long wanted);  // NOLINT(runtime/int)

}  // namespace poller::testing

#endif  // POLLER_TESTS_CONFORMANCE_TEST_HANDLES_H_
