// Copyright 2026 The poller Authors.

#include "tests/conformance/test_handles.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace poller::testing {
namespace {

void SetNonBlockingCloseOnExec(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  ASSERT_GE(flags, 0);
  ASSERT_EQ(::fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
  ASSERT_EQ(::fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
}

}  // namespace

Pipe MakePipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::pipe(fds), 0) << std::strerror(errno);
  Pipe pipe{ScopedFd(fds[0]), ScopedFd(fds[1])};
  SetNonBlockingCloseOnExec(fds[0]);
  SetNonBlockingCloseOnExec(fds[1]);
  return pipe;
}

SocketPair MakeSocketPair() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0)
      << std::strerror(errno);
  SocketPair pair{ScopedFd(fds[0]), ScopedFd(fds[1])};
  SetNonBlockingCloseOnExec(fds[0]);
  SetNonBlockingCloseOnExec(fds[1]);
  return pair;
}

ScopedFd MakeTcpListener(int* port) {
  ScopedFd listener(::socket(AF_INET, SOCK_STREAM, 0));
  EXPECT_TRUE(listener.valid()) << std::strerror(errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address),
                   sizeof(address)),
            0)
      << std::strerror(errno);
  EXPECT_EQ(::listen(listener.get(), 64), 0) << std::strerror(errno);
  socklen_t length = sizeof(address);
  EXPECT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address),
                          &length),
            0);
  *port = ntohs(address.sin_port);
  SetNonBlockingCloseOnExec(listener.get());
  return listener;
}

ScopedFd ConnectToLoopback(int port, bool non_blocking) {
  ScopedFd socket(::socket(AF_INET, SOCK_STREAM, 0));
  EXPECT_TRUE(socket.valid()) << std::strerror(errno);
  if (non_blocking) SetNonBlockingCloseOnExec(socket.get());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  int connected = ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address),
                            sizeof(address));
  EXPECT_TRUE(connected == 0 || (non_blocking && errno == EINPROGRESS) ||
              (non_blocking && errno == ECONNREFUSED))
      << std::strerror(errno);
  if (!non_blocking) SetNonBlockingCloseOnExec(socket.get());
  return socket;
}

TcpConnection MakeTcpConnection() {
  int port = 0;
  TcpConnection connection;
  connection.listener = MakeTcpListener(&port);
  connection.client = ConnectToLoopback(port, /*non_blocking=*/false);
  // The listener is non-blocking; the connection is already queued after
  // connect() returned.
  for (int attempt = 0; attempt < 1000 && !connection.server.valid();
       ++attempt) {
    connection.server.Reset(
        ::accept(connection.listener.get(), nullptr, nullptr));
    if (!connection.server.valid()) ::usleep(1000);
  }
  EXPECT_TRUE(connection.server.valid()) << std::strerror(errno);
  SetNonBlockingCloseOnExec(connection.server.get());
  int one = 1;
  ::setsockopt(connection.client.get(), IPPROTO_TCP, TCP_NODELAY, &one,
               sizeof(one));
  return connection;
}

void WriteBytes(int fd, size_t bytes) {
  std::vector<char> data(bytes, 'x');
  size_t written = 0;
  while (written < bytes) {
    ssize_t n = ::write(fd, data.data() + written, bytes - written);
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << "write fd " << fd << ": " << std::strerror(errno);
    written += static_cast<size_t>(n);
  }
}

size_t DrainBytes(int fd) {
  char buffer[4096];
  size_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      total += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return total;
  }
}

absl::StatusOr<std::map<Token, Readiness>> WaitOnce(Poller& poller,
                                                    Events& events,
                                                    absl::Duration timeout,
                                                    size_t* count) {
  absl::StatusOr<size_t> waited = poller.Wait(events, timeout);
  if (!waited.ok()) return waited.status();
  if (count != nullptr) *count = *waited;
  std::map<Token, Readiness> seen;
  for (const Event& event : events) seen[event.token()] |= event.readiness();
  return seen;
}

std::string ReadUntilEndOfFile(int fd) {
  std::string text;
  char buffer[512];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

bool IsUnavailableHere(const absl::Status& created) {
  return created.code() == absl::StatusCode::kUnavailable ||
         created.code() == absl::StatusCode::kUnimplemented;
}

int OpenDescriptorCount() {
  const char* directories[] = {"/proc/self/fd", "/dev/fd"};
  for (const char* path : directories) {
    DIR* directory = ::opendir(path);
    if (directory == nullptr) continue;
    int count = 0;
    while (dirent* entry = ::readdir(directory)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(directory);
    return count - 1;  // The directory stream's own descriptor.
  }
  return -1;
}

long RaiseDescriptorLimit(long wanted) {  // NOLINT(runtime/int)
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  rlim_t target = static_cast<rlim_t>(wanted);
  if (limit.rlim_max != RLIM_INFINITY && target > limit.rlim_max) {
    target = limit.rlim_max;
  }
  if (limit.rlim_cur < target) {
    limit.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  }
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<long>(limit.rlim_cur);  // NOLINT(runtime/int)
}

}  // namespace poller::testing
