// Copyright 2026 The poller Authors.

#include "tests/conformance/test_handles.h"

#if defined(_WIN32)
// After winsock2.h (from test_handles.h).
#include <io.h>
#include <windows.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace poller::testing {

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

bool IsUnavailableHere(const absl::Status& created) {
  return created.code() == absl::StatusCode::kUnavailable ||
         created.code() == absl::StatusCode::kUnimplemented;
}

#if !defined(_WIN32)
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

bool MakeBlockingPipe(int fds[2]) {
  if (::pipe(fds) != 0) return false;
  for (int i = 0; i < 2; ++i) {
    if (::fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
      const int error = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      errno = error;
      return false;
    }
  }
  return true;
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

void WriteBytes(NativeHandle fd, size_t bytes) {
  std::vector<char> data(bytes, 'x');
  size_t written = 0;
  while (written < bytes) {
    ssize_t n = ::write(fd, data.data() + written, bytes - written);
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << "write fd " << fd << ": " << std::strerror(errno);
    written += static_cast<size_t>(n);
  }
}

size_t DrainBytes(NativeHandle fd) {
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

int PendingSocketError(NativeHandle socket) {
  int error = 0;
  socklen_t length = sizeof(error);
  EXPECT_EQ(::getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length), 0)
      << std::strerror(errno);
  return error;
}

const int kConnectionRefused = ECONNREFUSED;

NativeHandle FileHandle(std::FILE* file) { return ::fileno(file); }

ScopedFd MakeDatagramSocket() {
  ScopedFd socket(::socket(AF_INET, SOCK_DGRAM, 0));
  EXPECT_TRUE(socket.valid()) << std::strerror(errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(socket.get(), reinterpret_cast<sockaddr*>(&address),
                   sizeof(address)),
            0)
      << std::strerror(errno);
  SetNonBlockingCloseOnExec(socket.get());
  return socket;
}

void SendDatagramTo(NativeHandle socket) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  ASSERT_EQ(
      ::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const char byte = 'x';
  ASSERT_EQ(::sendto(socket, &byte, 1, 0, reinterpret_cast<sockaddr*>(&address),
                     length),
            1)
      << std::strerror(errno);
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

#else  // defined(_WIN32)

namespace {

// Winsock is started once, before the first socket, and stays started: the
// process ends with the tests.
void StartSockets() {
  static const int started = [] {
    WSADATA data;
    return ::WSAStartup(MAKEWORD(2, 2), &data);
  }();
  EXPECT_EQ(started, 0) << "WSAStartup: error " << started;
}

std::string SocketError() {
  return "Winsock error " + std::to_string(::WSAGetLastError());
}

void SetNonBlocking(NativeHandle socket) {
  u_long one = 1;
  EXPECT_EQ(::ioctlsocket(socket, FIONBIO, &one), 0) << SocketError();
}

void SetNoDelay(NativeHandle socket) {
  const BOOL one = TRUE;
  ::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY,
               reinterpret_cast<const char*>(&one), sizeof(one));
}

sockaddr_in LoopbackAddress(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<u_short>(port));
  return address;
}

int PortOf(NativeHandle socket) {
  sockaddr_in address{};
  int length = sizeof(address);
  EXPECT_EQ(
      ::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length), 0)
      << SocketError();
  return ntohs(address.sin_port);
}

// A blocking listener on 127.0.0.1 with an ephemeral port.
ScopedFd Listen(int* port) {
  StartSockets();
  ScopedFd listener(::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
  EXPECT_TRUE(listener.valid()) << SocketError();
  sockaddr_in address = LoopbackAddress(0);
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address),
                   sizeof(address)),
            0)
      << SocketError();
  EXPECT_EQ(::listen(listener.get(), SOMAXCONN), 0) << SocketError();
  *port = PortOf(listener.get());
  return listener;
}

// The listener behind every pipe and socket pair: one for the process, so a
// pair costs two sockets (the suites make thousands, and Wine keeps a Unix
// descriptor per socket). Pairs are made one at a time, and each accept checks
// that it took its own connection.
struct PairListener {
  std::mutex mutex;
  ScopedFd socket;
  int port = 0;
};

PairListener& SharedPairListener() {
  static PairListener* listener = [] {
    auto* created = new PairListener;
    created->socket = Listen(&created->port);
    return created;
  }();
  return *listener;
}

// Made before main, so that descriptor counts taken by tests do not see it
// appear.
const bool kPairListenerReady = (SharedPairListener(), true);

bool SameAddress(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

// A connected, non-blocking loopback TCP pair: the connecting end and the
// accepted one.
std::pair<ScopedFd, ScopedFd> MakeLoopbackPair() {
  PairListener& listener = SharedPairListener();
  std::lock_guard<std::mutex> lock(listener.mutex);
  ScopedFd client(::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
  EXPECT_TRUE(client.valid()) << SocketError();
  sockaddr_in address = LoopbackAddress(listener.port);
  EXPECT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address),
                      sizeof(address)),
            0)
      << SocketError();
  sockaddr_in client_address{};
  int length = sizeof(client_address);
  ::getsockname(client.get(), reinterpret_cast<sockaddr*>(&client_address),
                &length);
  ScopedFd server;
  for (int attempt = 0; attempt < 8 && !server.valid(); ++attempt) {
    // Bounded: a broken listener fails the test instead of hanging it.
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(listener.socket.get(), &readable);
    timeval timeout{5, 0};
    if (::select(0, &readable, nullptr, nullptr, &timeout) != 1) break;
    ScopedFd accepted(::accept(listener.socket.get(), nullptr, nullptr));
    sockaddr_in peer{};
    length = sizeof(peer);
    if (accepted.valid() &&
        ::getpeername(accepted.get(), reinterpret_cast<sockaddr*>(&peer),
                      &length) == 0 &&
        SameAddress(peer, client_address)) {
      server = std::move(accepted);
    }
  }
  EXPECT_TRUE(server.valid()) << "accept: " << SocketError();
  for (const ScopedFd* end : {&client, &server}) {
    if (!end->valid()) continue;
    SetNonBlocking(end->get());
    SetNoDelay(end->get());
  }
  return {std::move(client), std::move(server)};
}

}  // namespace

void ScopedSocket::Reset(NativeHandle socket) {
  if (socket_ != INVALID_SOCKET) ::closesocket(socket_);
  socket_ = socket;
}

Pipe MakePipe() {
  // The read end is the socket made first, so it takes the lowest free handle
  // value, as a pipe's read end takes the lowest free descriptor.
  auto [read_end, write_end] = MakeLoopbackPair();
  return Pipe{std::move(read_end), std::move(write_end)};
}

SocketPair MakeSocketPair() {
  auto [first, second] = MakeLoopbackPair();
  return SocketPair{std::move(first), std::move(second)};
}

ScopedFd MakeTcpListener(int* port) {
  ScopedFd listener = Listen(port);
  SetNonBlocking(listener.get());
  return listener;
}

ScopedFd ConnectToLoopback(int port, bool non_blocking) {
  StartSockets();
  ScopedFd socket(::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
  EXPECT_TRUE(socket.valid()) << SocketError();
  if (non_blocking) SetNonBlocking(socket.get());
  sockaddr_in address = LoopbackAddress(port);
  const int connected = ::connect(
      socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address));
  const int error = connected == 0 ? 0 : ::WSAGetLastError();
  EXPECT_TRUE(connected == 0 || (non_blocking && (error == WSAEWOULDBLOCK ||
                                                  error == WSAECONNREFUSED)))
      << "connect: Winsock error " << error;
  if (!non_blocking) SetNonBlocking(socket.get());
  return socket;
}

TcpConnection MakeTcpConnection() {
  int port = 0;
  TcpConnection connection;
  connection.listener = MakeTcpListener(&port);
  connection.client = ConnectToLoopback(port, /*non_blocking=*/false);
  for (int attempt = 0; attempt < 1000 && !connection.server.valid();
       ++attempt) {
    connection.server.Reset(
        ::accept(connection.listener.get(), nullptr, nullptr));
    if (!connection.server.valid()) ::Sleep(1);
  }
  EXPECT_TRUE(connection.server.valid()) << SocketError();
  SetNonBlocking(connection.server.get());
  SetNoDelay(connection.client.get());
  return connection;
}

void WriteBytes(NativeHandle socket, size_t bytes) {
  std::vector<char> data(bytes, 'x');
  size_t written = 0;
  while (written < bytes) {
    const int n = ::send(socket, data.data() + written,
                         static_cast<int>(bytes - written), 0);
    ASSERT_GT(n, 0) << "send fd " << socket << ": " << SocketError();
    written += static_cast<size_t>(n);
  }
}

size_t DrainBytes(NativeHandle socket) {
  char buffer[4096];
  size_t total = 0;
  for (;;) {
    const int n = ::recv(socket, buffer, sizeof(buffer), 0);
    if (n <= 0) return total;
    total += static_cast<size_t>(n);
  }
}

int PendingSocketError(NativeHandle socket) {
  int error = 0;
  int length = sizeof(error);
  EXPECT_EQ(::getsockopt(socket, SOL_SOCKET, SO_ERROR,
                         reinterpret_cast<char*>(&error), &length),
            0)
      << SocketError();
  return error;
}

const int kConnectionRefused = WSAECONNREFUSED;

NativeHandle FileHandle(std::FILE* file) {
  return static_cast<NativeHandle>(::_get_osfhandle(::_fileno(file)));
}

ScopedFd MakeDatagramSocket() {
  StartSockets();
  ScopedFd socket(::socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
  EXPECT_TRUE(socket.valid()) << SocketError();
  sockaddr_in address = LoopbackAddress(0);
  EXPECT_EQ(::bind(socket.get(), reinterpret_cast<sockaddr*>(&address),
                   sizeof(address)),
            0)
      << SocketError();
  SetNonBlocking(socket.get());
  return socket;
}

void SendDatagramTo(NativeHandle socket) {
  sockaddr_in address = LoopbackAddress(PortOf(socket));
  const char byte = 'x';
  ASSERT_EQ(::sendto(socket, &byte, 1, 0, reinterpret_cast<sockaddr*>(&address),
                     sizeof(address)),
            1)
      << SocketError();
}

std::string ReadUntilEndOfFile(int fd) {
  std::string text;
  char buffer[512];
  for (int n; (n = ::_read(fd, buffer, sizeof(buffer))) > 0;) {
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

namespace {

// NtQuerySystemInformation(SystemExtendedHandleInformation): every handle of
// every process, for Wine, whose GetProcessHandleCount always says 0.
struct SystemHandleEntry {
  void* object;
  ULONG_PTR process_id;
  ULONG_PTR handle;
  ULONG access;
  USHORT creator_back_trace_index;
  USHORT object_type_index;
  ULONG attributes;
  ULONG reserved;
};
struct SystemHandleInformation {
  ULONG_PTR count;
  ULONG_PTR reserved;
  SystemHandleEntry entries[1];
};

// Every handle of every process, or an empty buffer if the call fails.
std::vector<char> SystemHandleList() {
  using QueryFunction = LONG(WINAPI*)(ULONG, void*, ULONG, ULONG*);
  static const QueryFunction query = reinterpret_cast<QueryFunction>(
      reinterpret_cast<void (*)(void)>(::GetProcAddress(
          ::GetModuleHandleW(L"ntdll.dll"), "NtQuerySystemInformation")));
  if (query == nullptr) return {};
  constexpr ULONG kSystemExtendedHandleInformation = 64;
  constexpr LONG kStatusInfoLengthMismatch = static_cast<LONG>(0xC0000004UL);
  std::vector<char> buffer(1 << 16);
  for (;;) {
    ULONG needed = 0;
    const LONG status = query(kSystemExtendedHandleInformation, buffer.data(),
                              static_cast<ULONG>(buffer.size()), &needed);
    if (status == kStatusInfoLengthMismatch && buffer.size() < (1u << 28)) {
      buffer.resize(std::max<size_t>(buffer.size() * 2, needed));
      continue;
    }
    if (status != 0) return {};
    return buffer;
  }
}

// This process's handles, or false if they cannot be listed.
bool OwnHandles(std::vector<NativeHandle>* handles) {
  const std::vector<char> buffer = SystemHandleList();
  if (buffer.empty()) return false;
  const auto* information =
      reinterpret_cast<const SystemHandleInformation*>(buffer.data());
  const ULONG_PTR self = ::GetCurrentProcessId();
  for (ULONG_PTR i = 0; i < information->count; ++i) {
    if (information->entries[i].process_id == self) {
      handles->push_back(information->entries[i].handle);
    }
  }
  return true;
}

}  // namespace

int OpenDescriptorCount() {
  DWORD count = 0;
  if (::GetProcessHandleCount(::GetCurrentProcess(), &count) && count > 0) {
    return static_cast<int>(count);
  }
  std::vector<NativeHandle> handles;
  return OwnHandles(&handles) ? static_cast<int>(handles.size()) : -1;
}

std::vector<NativeHandle> OpenHandles() {
  std::vector<NativeHandle> handles;
  EXPECT_TRUE(OwnHandles(&handles)) << "NtQuerySystemInformation failed";
  return handles;
}

bool IsInheritable(NativeHandle handle) {
  DWORD flags = 0;
  EXPECT_TRUE(::GetHandleInformation(reinterpret_cast<HANDLE>(handle), &flags))
      << "GetHandleInformation(" << handle << "): error " << ::GetLastError();
  return (flags & HANDLE_FLAG_INHERIT) != 0;
}

long RaiseDescriptorLimit(long wanted) {  // NOLINT(runtime/int)
  return wanted;
}

#endif  // defined(_WIN32)

// Every platform's kinds, over the helpers above.
namespace {

class PipeHandle : public ReadableHandle {
 public:
  PipeHandle() {
    Pipe pipe = MakePipe();
    handle_ = std::move(pipe.read_end);
    write_end_ = std::move(pipe.write_end);
  }
  void MakeReadable() override { WriteBytes(write_end_.get()); }
  bool ClosePeer() override {
    write_end_.Reset();
    return true;
  }

 private:
  ScopedFd write_end_;
};

class StreamSocketHandle : public ReadableHandle {
 public:
  StreamSocketHandle() {
    SocketPair pair = MakeSocketPair();
    handle_ = std::move(pair.first);
    peer_ = std::move(pair.second);
  }
  void MakeReadable() override { WriteBytes(peer_.get()); }
  bool ClosePeer() override {
    peer_.Reset();
    return true;
  }

 private:
  ScopedFd peer_;
};

class TcpHandle : public ReadableHandle {
 public:
  TcpHandle() {
    TcpConnection connection = MakeTcpConnection();
    handle_ = std::move(connection.server);
    client_ = std::move(connection.client);
  }
  void MakeReadable() override { WriteBytes(client_.get()); }
  bool ClosePeer() override {
    client_.Reset();
    return true;
  }

 private:
  ScopedFd client_;
};

class UdpHandle : public ReadableHandle {
 public:
  UdpHandle() { handle_ = MakeDatagramSocket(); }
  void MakeReadable() override { SendDatagramTo(handle_.get()); }
};

#if defined(__linux__)
class EventFdHandle : public ReadableHandle {
 public:
  EventFdHandle() {
    handle_.Reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    EXPECT_TRUE(handle_.valid()) << "eventfd: " << std::strerror(errno);
  }
  void MakeReadable() override {
    const std::uint64_t one = 1;
    EXPECT_EQ(::write(handle_.get(), &one, sizeof(one)),
              static_cast<ssize_t>(sizeof(one)))
        << std::strerror(errno);
  }
};

class TimerFdHandle : public ReadableHandle {
 public:
  TimerFdHandle() {
    handle_.Reset(
        ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    EXPECT_TRUE(handle_.valid()) << "timerfd_create: " << std::strerror(errno);
  }
  void MakeReadable() override {
    itimerspec expiry{};
    expiry.it_value.tv_nsec = 1;  // Expires at once, once.
    EXPECT_EQ(::timerfd_settime(handle_.get(), 0, &expiry, nullptr), 0)
        << std::strerror(errno);
  }
};

// The master side of a pseudo-terminal: readable when the terminal side
// writes (a line, since the terminal starts in canonical mode).
class PtyHandle : public ReadableHandle {
 public:
  PtyHandle() {
    handle_.Reset(::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    EXPECT_TRUE(handle_.valid()) << "posix_openpt: " << std::strerror(errno);
    if (!handle_.valid()) return;
    EXPECT_EQ(::grantpt(handle_.get()), 0) << std::strerror(errno);
    EXPECT_EQ(::unlockpt(handle_.get()), 0) << std::strerror(errno);
    const char* name = ::ptsname(handle_.get());
    EXPECT_NE(name, nullptr) << "ptsname: " << std::strerror(errno);
    if (name == nullptr) return;
    terminal_.Reset(::open(name, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    EXPECT_TRUE(terminal_.valid()) << name << ": " << std::strerror(errno);
  }
  void MakeReadable() override {
    EXPECT_EQ(::write(terminal_.get(), "x\n", 2), 2) << std::strerror(errno);
  }
  bool ClosePeer() override {
    terminal_.Reset();
    return true;
  }

 private:
  ScopedFd terminal_;
};
#endif  // defined(__linux__)

template <typename Handle>
std::unique_ptr<ReadableHandle> Make() {
  return std::make_unique<Handle>();
}

}  // namespace

std::vector<ReadableKind> ReadableKinds() {
  std::vector<ReadableKind> kinds = {
#if !defined(_WIN32)
    {"pipe", &Make<PipeHandle>},
    {"unix_stream_socket", &Make<StreamSocketHandle>},
#endif
    {"tcp_socket", &Make<TcpHandle>},
    {"udp_socket", &Make<UdpHandle>},
#if defined(__linux__)
    {"eventfd", &Make<EventFdHandle>},
    {"timerfd", &Make<TimerFdHandle>},
    {"pty_master", &Make<PtyHandle>},
#endif
  };
  return kinds;
}

bool ReadableHandle::MoveTo(NativeHandle number) {
  if (handle_.get() == number) return true;
#if defined(_WIN32)
  return false;
#else
  if (::dup2(handle_.get(), number) != number) {
    ADD_FAILURE() << "dup2: " << std::strerror(errno);
    return false;
  }
  EXPECT_EQ(::fcntl(number, F_SETFD, FD_CLOEXEC), 0);
  handle_.Reset(number);
  return true;
#endif
}

std::unique_ptr<ReadableHandle> ReadableWithNumber(const ReadableKind& kind,
                                                   NativeHandle number,
                                                   std::string* why_not) {
  // Windows gives a closed SOCKET's value out again soon, but not on demand:
  // make handles until one has it, keeping the misses open so that each try
  // gets a value not yet tried.
  constexpr int kAttempts = 64;
  std::vector<std::unique_ptr<ReadableHandle>> missed;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::unique_ptr<ReadableHandle> made = kind.make();
    if (made->MoveTo(number)) return made;
    missed.push_back(std::move(made));
  }
  *why_not =
      absl::StrCat(kAttempts, " new ", kind.name,
                   " handles never got the closed value ", number, " back");
  return nullptr;
}

}  // namespace poller::testing
