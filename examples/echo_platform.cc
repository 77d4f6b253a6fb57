// Copyright 2026 The poller Authors.

#include "examples/echo_platform.h"

#if defined(_WIN32)
// After echo_platform.h's winsock2.h, as Windows requires.
#include <windows.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <unistd.h>
#endif

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"

namespace poller_example {

#if defined(_WIN32)
int LastError() { return ::WSAGetLastError(); }
bool IsOutOfDescriptors(int error) {
  return error == WSAEMFILE || error == WSAENOBUFS;
}
std::string ErrorText(int error) {
  return absl::StrCat("Winsock error ", error);
}
void CloseSocket(Socket socket) { ::closesocket(socket); }
ssize_t ReadSome(Socket socket, char* buffer, size_t size) {
  return ::recv(socket, buffer, static_cast<int>(size), 0);
}
ssize_t SendSome(Socket socket, const char* data, size_t size) {
  return ::send(socket, data, static_cast<int>(size), 0);
}

namespace {
// Sockets are not inherited by the processes Windows creates unless asked, so
// only non-blocking needs setting.
Socket NonBlocking(Socket socket) {
  u_long one = 1;
  if (socket != kNoSocket && ::ioctlsocket(socket, FIONBIO, &one) != 0) {
    ::closesocket(socket);
    return kNoSocket;
  }
  return socket;
}
}  // namespace

Socket OpenSocket(int family) {
  return NonBlocking(::socket(family, SOCK_STREAM, 0));
}
Socket AcceptSocket(Socket listener) {
  return NonBlocking(::accept(listener, nullptr, nullptr));
}
#else
// EWOULDBLOCK may differ from EAGAIN; callers check only kWouldBlock.
int LastError() { return errno == EWOULDBLOCK ? EAGAIN : errno; }
bool IsOutOfDescriptors(int error) {
  return error == EMFILE || error == ENFILE;
}
std::string ErrorText(int error) { return std::strerror(error); }
void CloseSocket(Socket socket) { ::close(socket); }
ssize_t ReadSome(Socket socket, char* buffer, size_t size) {
  return ::read(socket, buffer, size);
}
ssize_t SendSome(Socket socket, const char* data, size_t size) {
  return ::send(socket, data, size, MSG_NOSIGNAL);
}
Socket OpenSocket(int family) {
  return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}
Socket AcceptSocket(Socket listener) {
  return ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
#endif

absl::Status SocketError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", ErrorText(LastError())));
}

bool SetNoDelay(Socket socket) {
  int one = 1;
  return ::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY,
                      reinterpret_cast<const char*>(&one), sizeof(one)) == 0;
}

int PendingError(Socket socket) {
  int error = 0;
  socklen_t length = sizeof(error);
  ::getsockopt(socket, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&error),
               &length);
  return error;
}

absl::StatusOr<Socket> Listen(const std::string& host, const std::string& port,
                              sockaddr_storage* bound,
                              socklen_t* bound_length) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int error = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                port.c_str(), &hints, &found);
      error != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot resolve ", host, ":", port, ": ", ::gai_strerror(error)));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(found, ::freeaddrinfo);
  const Socket fd = OpenSocket(found->ai_family);
  if (fd == kNoSocket) return SocketError("socket");
  // So that a server restarted on the same port does not wait out TIME_WAIT.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR,
               reinterpret_cast<const char*>(&one), sizeof(one));
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    absl::Status error =
        SocketError(absl::StrCat("bind/listen ", host, ":", port));
    CloseSocket(fd);
    return error;
  }
  *bound_length = sizeof(*bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(bound), bound_length);
  return fd;
}

absl::Status Resolve(const std::string& host, const std::string& port,
                     sockaddr_storage* address, socklen_t* address_length) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int error = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
      error != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot resolve ", host, ":", port, ": ", ::gai_strerror(error)));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(found, ::freeaddrinfo);
  *address = sockaddr_storage{};
  std::memcpy(address, found->ai_addr, found->ai_addrlen);
  *address_length = static_cast<socklen_t>(found->ai_addrlen);
  return absl::OkStatus();
}

std::string AddressText(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
    return absl::StrCat(host, ":", port);
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
  port = ntohs(v6->sin6_port);
  return absl::StrCat("[", host, "]:", port);
}

#if defined(_WIN32)
absl::Status StartSockets() {
  WSADATA winsock;
  if (int error = ::WSAStartup(MAKEWORD(2, 2), &winsock); error != 0) {
    return absl::InternalError(
        absl::StrCat("WSAStartup: Winsock error ", error));
  }
  return absl::OkStatus();
}

namespace {
// Windows: a console handler (on a thread of its own) sets a flag that the
// main thread checks.
std::atomic<bool> stop_requested{false};

BOOL WINAPI OnConsoleControl(DWORD) {
  stop_requested.store(true);
  return TRUE;
}
}  // namespace

void TakeStopSignals() { ::SetConsoleCtrlHandler(OnConsoleControl, TRUE); }

bool StopSignalWithin(absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (!stop_requested.load() && absl::Now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return stop_requested.load();
}
#else
absl::Status StartSockets() { return absl::OkStatus(); }

namespace {
// SIGINT and SIGTERM are blocked in every thread and taken by the main thread
// with sigtimedwait, so no handler runs in the middle of a Poller call.
sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}
}  // namespace

// Threads inherit the mask, hence "before any thread starts".
void TakeStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

bool StopSignalWithin(absl::Duration timeout) {
  const sigset_t signals = StopSignals();
  timespec wait = absl::ToTimespec(timeout);
  return ::sigtimedwait(&signals, nullptr, &wait) > 0;
}
#endif

}  // namespace poller_example
