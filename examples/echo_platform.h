// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: examples/echo_platform.h
// -----------------------------------------------------------------------------
//
// What differs between POSIX and Windows for the echo demo: the few socket
// calls (non-blocking sockets, error codes, sending without SIGPIPE), the
// listening socket, and how the main thread waits for Ctrl-C. The server, the
// load generator and the report are the same code on every platform; on
// Windows the Poller is the IOCP backend (tools/windows_test.sh runs the demo
// under Wine).

#ifndef POLLER_EXAMPLES_ECHO_PLATFORM_H_
#define POLLER_EXAMPLES_ECHO_PLATFORM_H_

#if defined(_WIN32)
// winsock2.h must come before ws2tcpip.h (the comment keeps clang-format from
// sorting them together).
#include <winsock2.h>
// Needs winsock2.h first.
#include <ws2tcpip.h>
#else
#include <errno.h>
#include <sys/socket.h>
#endif
#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "poller/poller.h"

namespace poller_example {

using Socket = poller::NativeHandle;

// The errors a non-blocking socket reports as part of normal work, under one
// name on both platforms (LastError() returns these).
#if defined(_WIN32)
constexpr Socket kNoSocket = INVALID_SOCKET;
constexpr int kWouldBlock = WSAEWOULDBLOCK;
// A non-blocking connect in progress.
constexpr int kInProgress = WSAEWOULDBLOCK;
constexpr int kInterrupted = WSAEINTR;
constexpr int kConnectionReset = WSAECONNRESET;
constexpr int kConnectionAborted = WSAECONNABORTED;
// Sending after the peer closed (Windows has no SIGPIPE to suppress).
constexpr int kBrokenPipe = WSAESHUTDOWN;
#else
constexpr Socket kNoSocket = -1;
constexpr int kWouldBlock = EAGAIN;
constexpr int kInProgress = EINPROGRESS;
constexpr int kInterrupted = EINTR;
constexpr int kConnectionReset = ECONNRESET;
constexpr int kConnectionAborted = ECONNABORTED;
constexpr int kBrokenPipe = EPIPE;
#endif

// The error of the last failed socket call in this thread.
int LastError();
// True for the errors that mean "out of descriptors or buffers", which a
// server survives by accepting later.
bool IsOutOfDescriptors(int error);
std::string ErrorText(int error);
// An Internal error naming `what` and the last socket error.
absl::Status SocketError(absl::string_view what);

// Non-blocking TCP sockets that child processes do not inherit; kNoSocket on
// failure (see LastError()).
Socket OpenSocket(int family);
Socket AcceptSocket(Socket listener);
void CloseSocket(Socket socket);

// One read or send, as read(2) and send(2) return it. SendSome never raises
// SIGPIPE: a closed peer is the error kBrokenPipe.
ssize_t ReadSome(Socket socket, char* buffer, size_t size);
ssize_t SendSome(Socket socket, const char* data, size_t size);

bool SetNoDelay(Socket socket);
// The pending error of a socket (SO_ERROR), 0 if none: how a non-blocking
// connect reports its outcome.
int PendingError(Socket socket);

// A non-blocking listening socket on host:port (port "0": any free port); the
// address it is bound to goes to `bound`.
absl::StatusOr<Socket> Listen(const std::string& host, const std::string& port,
                              sockaddr_storage* bound, socklen_t* bound_length);
// The address of host:port (numeric port) to connect to, in `address`.
absl::Status Resolve(const std::string& host, const std::string& port,
                     sockaddr_storage* address, socklen_t* address_length);
// "127.0.0.1:7777" or "[::1]:7777".
std::string AddressText(const sockaddr_storage& address);

// Call once before any other function here (Winsock needs WSAStartup).
absl::Status StartSockets();

// Call before starting any thread: from then on Ctrl-C (and SIGTERM) only
// reach StopSignalWithin().
void TakeStopSignals();
// Waits up to `timeout` for Ctrl-C; true if it came.
bool StopSignalWithin(absl::Duration timeout);

}  // namespace poller_example

#endif  // POLLER_EXAMPLES_ECHO_PLATFORM_H_
