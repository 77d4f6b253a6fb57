// Copyright 2026 The poller Authors.
//
// test_handles.h: real descriptors for tests (pipes, socket pairs, loopback
// TCP, eventfd) that close themselves, and helpers to make them ready and to
// collect events.
//
// On Windows the same helpers make SOCKETs (the only handles the IOCP backend
// polls): a "pipe" and a "socket pair" are both a loopback TCP connection,
// which has everything the tests ask of a byte stream (readable after a write,
// hang-up when the writer closes), and ScopedFd closes a SOCKET.

#ifndef POLLER_TESTS_CONFORMANCE_TEST_HANDLES_H_
#define POLLER_TESTS_CONFORMANCE_TEST_HANDLES_H_

#include <cstddef>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "poller/poller.h"

#if defined(_WIN32)
// winsock2.h must come before windows.h (which <winsock2.h> users may include
// next); tests use its send, shutdown and MSG_OOB directly.
#include <winsock2.h>
#if !defined(SHUT_WR)
#define SHUT_WR SD_SEND
#endif
#else
#include "poller/internal/scoped_fd.h"
#endif

namespace poller::testing {

#if defined(_WIN32)
// A SOCKET that closes itself, with ScopedFd's interface.
class ScopedSocket {
 public:
  ScopedSocket() = default;
  explicit ScopedSocket(NativeHandle socket) : socket_(socket) {}
  ScopedSocket(ScopedSocket&& other) noexcept
      : socket_(std::exchange(other.socket_, INVALID_SOCKET)) {}
  ScopedSocket& operator=(ScopedSocket&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.socket_, INVALID_SOCKET));
    return *this;
  }
  ScopedSocket(const ScopedSocket&) = delete;
  ScopedSocket& operator=(const ScopedSocket&) = delete;
  ~ScopedSocket() { Reset(); }

  NativeHandle get() const { return socket_; }
  bool valid() const { return socket_ != INVALID_SOCKET; }
  // Closes the socket held (if any) and takes `socket`.
  void Reset(NativeHandle socket = INVALID_SOCKET);

 private:
  NativeHandle socket_ = INVALID_SOCKET;
};
using ScopedFd = ScopedSocket;
#else
using internal::ScopedFd;
#endif

// A non-blocking, close-on-exec pipe (Windows: a loopback TCP connection).
struct Pipe {
  ScopedFd read_end;
  ScopedFd write_end;
};
Pipe MakePipe();

#if !defined(_WIN32)
// A blocking, close-on-exec pipe (pipe2 is not on macOS): how a forked child
// reports to its parent. False, with errno set, if it could not be made.
bool MakeBlockingPipe(int fds[2]);
#endif

// A non-blocking AF_UNIX stream socket pair (Windows: loopback TCP).
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
void WriteBytes(NativeHandle handle, size_t bytes = 1);
// Reads until EAGAIN or end-of-file; returns how many bytes were read.
size_t DrainBytes(NativeHandle handle);

// The pending error of a socket (SO_ERROR), and the value it has after a
// refused connection (ECONNREFUSED; Windows: WSAECONNREFUSED).
int PendingSocketError(NativeHandle socket);
extern const int kConnectionRefused;

// The handle of an open file that the backend is given as a handle it cannot
// poll: the descriptor, or on Windows the file's HANDLE.
NativeHandle FileHandle(std::FILE* file);

// A non-blocking UDP socket bound to an ephemeral loopback port, and a way to
// make it readable: one socket per handle where a test needs thousands.
ScopedFd MakeDatagramSocket();
void SendDatagramTo(NativeHandle socket);

// ReadableHandle
//
// A handle of one kind, to register for readable interest, with what makes
// it readable. A rule that depends on the kind of handle (what "the same
// file" means, what closing does) runs over every kind of ReadableKinds():
// checked with one kind, it says nothing of the others (every
// anonymous-inode file, for instance, shares one inode).
class ReadableHandle {
 public:
  virtual ~ReadableHandle() = default;

  NativeHandle handle() const { return handle_.get(); }
  // Makes handle() readable: a byte, a datagram, an eventfd count, an
  // expired timer.
  virtual void MakeReadable() = 0;
  // Closes handle() without Delete, keeping the rest (a pipe's write end).
  void CloseHandle() { handle_.Reset(); }
  // Closes the other end of a byte stream (a pipe's write end, the peer
  // socket, a pseudo-terminal's terminal side), which a reader of handle()
  // sees as a hang-up. False for kinds with no other end (UDP, eventfd,
  // timerfd), which keep it all.
  virtual bool ClosePeer() { return false; }
  // Moves handle() to the number `number`, which must be free (closed):
  // POSIX dup2. On Windows, which has no dup2, true only if handle() has that
  // value already.
  bool MoveTo(NativeHandle number);

 protected:
  ScopedFd handle_;
};

struct ReadableKind {
  const char* name;
  std::unique_ptr<ReadableHandle> (*make)();
};

// The kinds of handle this platform has: pipe, Unix stream socket, TCP and
// UDP sockets everywhere POSIX; eventfd, timerfd and a pseudo-terminal's
// master side on Linux; on Windows, TCP and UDP sockets.
std::vector<ReadableKind> ReadableKinds();

// A new handle of `kind` whose handle() is `number` (a closed handle's
// value), as after an accept() or pipe() that reused it; null, with the
// reason in `why_not`, if that cannot be arranged (Windows, where only
// making handles until one gets the value back can do it).
std::unique_ptr<ReadableHandle> ReadableWithNumber(const ReadableKind& kind,
                                                   NativeHandle number,
                                                   std::string* why_not);

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

// Number of open descriptors of this process (from /proc/self/fd or /dev/fd;
// Windows: open handles), or -1 if unknown.
int OpenDescriptorCount();

#if defined(_WIN32)
// The handles this process has open (every kind, not only sockets), and
// whether a child process would inherit one (HANDLE_FLAG_INHERIT).
std::vector<NativeHandle> OpenHandles();
bool IsInheritable(NativeHandle handle);
#endif

// Raises the soft RLIMIT_NOFILE towards the hard limit; returns the new soft
// limit. (Windows has no such limit: returns `wanted`.)
long RaiseDescriptorLimit(long wanted);  // NOLINT(runtime/int)

}  // namespace poller::testing

#endif  // POLLER_TESTS_CONFORMANCE_TEST_HANDLES_H_
