// Copyright 2026 The poller Authors.
//
// echo_demo: a TCP echo server on one Poller, driven by many concurrent
// clients on a second Poller in another thread; every echoed byte is checked.
//
//   ./bazelw run //examples:echo_demo
//   ./bazelw run //examples:echo_demo -- --backend=poll --clients=200
//   ./bazelw run //examples:echo_demo -- --listen=127.0.0.1:7777   # then: nc
//
// Both loops use the default mode, oneshot: a handle reports once and is
// re-armed with Modify() for whatever it needs next (read, write, or both).
// Sockets are non-blocking; reads and writes may be partial and are resumed on
// the next event. The main thread only waits: on Ctrl-C (SIGINT or SIGTERM),
// or once the clients are done, it calls Shutdown() on each poller, which ends
// its thread's Wait() loop with Cancelled.
//
// On Windows (the IOCP backend; this project runs it under Wine with
// tools/windows_test.sh) the few socket calls that differ are in "Sockets on
// POSIX and Windows" below, and Ctrl-C is taken by a console handler.

#if defined(_WIN32)
// winsock2.h must come before windows.h (the comment keeps clang-format from
// sorting them together).
#include <winsock2.h>
// Both need winsock2.h first.
#include <windows.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "poller/poller.h"

ABSL_FLAG(std::string, backend, "",
          "Backend for both pollers (default: the build's default). One of "
          "the compiled backends: see --helpfull or the error message.");
ABSL_FLAG(int, clients, 50, "Concurrent client connections.");
ABSL_FLAG(int, messages, 1000, "Messages each client sends and checks.");
ABSL_FLAG(int, message_size, 128, "Bytes per message.");
ABSL_FLAG(std::string, listen, "",
          "HOST:PORT: run only the echo server there until Ctrl-C (no "
          "built-in clients), e.g. 127.0.0.1:7777.");
ABSL_FLAG(bool, json, false, "Print the summary as JSON.");
ABSL_FLAG(int, timeout_seconds, 120,
          "Give up (and count the unfinished clients as errors) after this.");

namespace {

using Clock = std::chrono::steady_clock;

constexpr poller::Token kListenerToken = 0;
// The server keeps at most this much unsent data per connection before it
// stops reading from it (back-pressure).
constexpr size_t kMaxPending = 256 * 1024;

// ---------------------------------------------------------------------------
// Sockets on POSIX and Windows: the few calls that differ.

using Socket = poller::NativeHandle;

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
// Sockets are not inherited by the processes Windows creates unless asked.
Socket NonBlocking(Socket socket) {
  u_long one = 1;
  if (socket != kNoSocket && ::ioctlsocket(socket, FIONBIO, &one) != 0) {
    ::closesocket(socket);
    return kNoSocket;
  }
  return socket;
}
Socket OpenSocket(int family) {
  return NonBlocking(::socket(family, SOCK_STREAM, 0));
}
Socket AcceptSocket(Socket listener) {
  return NonBlocking(::accept(listener, nullptr, nullptr));
}
#else
constexpr Socket kNoSocket = -1;
constexpr int kWouldBlock = EAGAIN;
constexpr int kInProgress = EINPROGRESS;
constexpr int kInterrupted = EINTR;
constexpr int kConnectionReset = ECONNRESET;
constexpr int kConnectionAborted = ECONNABORTED;
constexpr int kBrokenPipe = EPIPE;

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

// The pending error of a socket (SO_ERROR), 0 if none.
int PendingError(Socket socket) {
  int error = 0;
  socklen_t length = sizeof(error);
  ::getsockopt(socket, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&error),
               &length);
  return error;
}

// ---------------------------------------------------------------------------
// The server.

struct ServerConnection {
  Socket fd = kNoSocket;
  std::string pending;  // Received, not yet echoed.
  size_t sent = 0;      // Bytes of `pending` already written.
  bool peer_closed = false;
};

class EchoServer {
 public:
  EchoServer(poller::Poller& poller, Socket listener)
      : poller_(poller), listener_(listener) {}

  ~EchoServer() {
    for (auto& [token, connection] : connections_) {
      (void)poller_.Delete(connection.fd);
      CloseSocket(connection.fd);
    }
  }

  // Runs until the poller is shut down. Returns the first unexpected error.
  absl::Status Run() {
    absl::Status added =
        poller_.Add(listener_, kListenerToken, poller::Interest::kReadable);
    if (!added.ok()) return added;
    poller::Events events(256);
    for (;;) {
      absl::StatusOr<size_t> count =
          poller_.Wait(events, absl::InfiniteDuration());
      if (!count.ok()) {
        return absl::IsCancelled(count.status()) ? absl::OkStatus()
                                                 : count.status();
      }
      for (const poller::Event& event : events) {
        if (event.token() == kListenerToken) {
          absl::Status accepted = AcceptAll();
          if (!accepted.ok()) return accepted;
        } else {
          Serve(event.token());
        }
      }
    }
  }

  uint64_t accepted() const { return accepted_; }
  uint64_t errors() const { return errors_; }

 private:
  absl::Status AcceptAll() {
    for (;;) {
      const Socket fd = AcceptSocket(listener_);
      if (fd == kNoSocket) {
        const int error = LastError();
        if (error == kInterrupted || error == kConnectionAborted) continue;
        if (error == kWouldBlock) break;
        if (IsOutOfDescriptors(error)) {
          // Out of descriptors: leave the rest queued and try at the next
          // event.
          ++errors_;
          break;
        }
        return SocketError("accept");
      }
      SetNoDelay(fd);
      const poller::Token token = next_token_++;
      absl::Status added = poller_.Add(fd, token, poller::Interest::kReadable);
      if (!added.ok()) {
        CloseSocket(fd);
        if (poller_.is_shut_down()) return absl::OkStatus();
        return added;
      }
      connections_[token].fd = fd;
      ++accepted_;
    }
    // Oneshot: ask for the next connection.
    absl::Status rearmed = poller_.Rearm(listener_);
    return poller_.is_shut_down() ? absl::OkStatus() : rearmed;
  }

  void Close(poller::Token token, ServerConnection& connection) {
    (void)poller_.Delete(connection.fd);
    CloseSocket(connection.fd);
    connections_.erase(token);
  }

  void Serve(poller::Token token) {
    auto found = connections_.find(token);
    if (found == connections_.end()) return;
    ServerConnection& connection = found->second;
    char buffer[16384];
    // Read what is there, unless the echo is already behind.
    while (!connection.peer_closed && connection.pending.size() < kMaxPending) {
      ssize_t got = ReadSome(connection.fd, buffer, sizeof(buffer));
      if (got > 0) {
        connection.pending.append(buffer, static_cast<size_t>(got));
        continue;
      }
      if (got == 0) {
        connection.peer_closed = true;
        break;
      }
      const int error = LastError();
      if (error == kInterrupted) continue;
      if (error == kWouldBlock) break;
      if (error != kConnectionReset) ++errors_;
      Close(token, connection);
      return;
    }
    // Echo as much as the socket takes.
    while (connection.sent < connection.pending.size()) {
      ssize_t put =
          SendSome(connection.fd, connection.pending.data() + connection.sent,
                   connection.pending.size() - connection.sent);
      if (put > 0) {
        connection.sent += static_cast<size_t>(put);
        continue;
      }
      const int error = put < 0 ? LastError() : 0;
      if (error == kInterrupted) continue;
      if (error == kWouldBlock) break;
      if (error != kBrokenPipe && error != kConnectionReset) ++errors_;
      Close(token, connection);
      return;
    }
    if (connection.sent == connection.pending.size()) {
      connection.pending.clear();
      connection.sent = 0;
    }
    if (connection.peer_closed && connection.pending.empty()) {
      Close(token, connection);
      return;
    }
    // Oneshot: re-arm for what this connection needs next.
    poller::Interest interest = poller::Interest::kNone;
    if (!connection.pending.empty()) interest |= poller::Interest::kWritable;
    if (!connection.peer_closed && connection.pending.size() < kMaxPending) {
      interest |= poller::Interest::kReadable;
    }
    absl::Status rearmed =
        poller_.Modify(connection.fd, token, interest, poller::Mode::kOneshot);
    if (!rearmed.ok() && !poller_.is_shut_down()) {
      ++errors_;
      Close(token, connection);
    }
  }

  poller::Poller& poller_;
  const Socket listener_;
  poller::Token next_token_ = kListenerToken + 1;
  std::unordered_map<poller::Token, ServerConnection> connections_;
  uint64_t accepted_ = 0;
  uint64_t errors_ = 0;
};

// ---------------------------------------------------------------------------
// The load: clients that each send a message, wait for its whole echo, check
// it, and send the next.

// Latencies in a log-linear histogram: 64 buckets per power of two of
// nanoseconds, so a percentile is off by under 1.6% and memory stays fixed
// whatever the run's length.
class LatencyHistogram {
 public:
  void Record(int64_t nanoseconds) {
    counts_[Bucket(std::max<int64_t>(nanoseconds, 1))]++;
    ++total_;
    max_ = std::max(max_, nanoseconds);
  }
  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }
  // The latency below which `fraction` of the samples fall (0 with none).
  double Percentile(double fraction) const {
    if (total_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(
        std::ceil(fraction * static_cast<double>(total_)));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= std::max<uint64_t>(rank, 1)) {
        return std::min<double>(UpperBound(i), static_cast<double>(max_));
      }
    }
    return static_cast<double>(max_);
  }
  int64_t max() const { return max_; }

 private:
  static constexpr int kSubBuckets = 64;
  static size_t Bucket(int64_t value) {
    const int exponent = 63 - __builtin_clzll(static_cast<uint64_t>(value));
    if (exponent < 6) return static_cast<size_t>(value);
    const int64_t sub = (value >> (exponent - 6)) - kSubBuckets;
    return static_cast<size_t>((exponent - 5) * kSubBuckets + sub);
  }
  static double UpperBound(size_t bucket) {
    if (bucket < kSubBuckets) return static_cast<double>(bucket);
    const int exponent = static_cast<int>(bucket / kSubBuckets) + 5;
    const double sub = static_cast<double>(bucket % kSubBuckets) + kSubBuckets;
    return std::ldexp(sub + 1, exponent - 6);
  }

  std::vector<uint64_t> counts_ = std::vector<uint64_t>(64 * kSubBuckets, 0);
  uint64_t total_ = 0;
  int64_t max_ = 0;
};

// The byte at `offset` of message `message` of client `client`: distinct per
// client and message so a misrouted or reordered echo is caught.
char PatternByte(int client, int message, size_t offset) {
  return static_cast<char>((client * 131 + message * 31 + offset * 7) & 0xff);
}

struct LoadResult {
  uint64_t connections = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;  // Echoed and checked.
  uint64_t errors = 0;
  std::vector<std::string> error_samples;
  LatencyHistogram latency;
  double seconds = 0;
};

class LoadGenerator {
 public:
  LoadGenerator(poller::Poller& poller, sockaddr_storage address,
                socklen_t address_length, int clients, int messages,
                size_t message_size)
      : poller_(poller),
        address_(address),
        address_length_(address_length),
        clients_(static_cast<size_t>(clients)),
        messages_(messages),
        message_size_(message_size) {}

  ~LoadGenerator() {
    for (Client& client : clients_) CloseClient(client);
  }

  // Runs until every client is done, the deadline passes or the poller is
  // shut down. Progress (messages done) is published through `progress`.
  LoadResult Run(Clock::time_point deadline, std::atomic<uint64_t>& progress) {
    const Clock::time_point start = Clock::now();
    for (size_t i = 0; i < clients_.size(); ++i) StartClient(i);
    poller::Events events(256);
    while (active_ > 0) {
      if (Clock::now() >= deadline) {
        Fail(nullptr, absl::StrCat(active_,
                                   " clients unfinished at the "
                                   "deadline"));
        break;
      }
      absl::StatusOr<size_t> count =
          poller_.Wait(events, absl::Milliseconds(100));
      if (!count.ok()) {
        if (!absl::IsCancelled(count.status())) {
          Fail(nullptr, count.status().ToString());
        }
        break;
      }
      for (const poller::Event& event : events) {
        Client& client = clients_[event.token()];
        if (client.fd != kNoSocket) Step(client, event);
      }
      progress.store(result_.messages, std::memory_order_relaxed);
    }
    // Clients cut short by Shutdown (Ctrl-C) are not errors: main reports
    // the interruption.
    result_.seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    return std::move(result_);
  }

 private:
  struct Client {
    int index = 0;
    Socket fd = kNoSocket;
    bool connected = false;
    int message = 0;      // The message in flight.
    size_t written = 0;   // Of the message in flight.
    size_t received = 0;  // Of its echo.
    Clock::time_point sent_at;
    std::string outgoing;
  };

  void Fail(Client* client, std::string why) {
    ++result_.errors;
    if (result_.error_samples.size() < 5) {
      result_.error_samples.push_back(
          client == nullptr
              ? std::move(why)
              : absl::StrCat("client ", client->index, ": ", why));
    }
    if (client != nullptr) CloseClient(*client);
  }

  void CloseClient(Client& client) {
    if (client.fd == kNoSocket) return;
    (void)poller_.Delete(client.fd);
    CloseSocket(client.fd);
    client.fd = kNoSocket;
    --active_;
  }

  void StartClient(size_t index) {
    Client& client = clients_[index];
    client.index = static_cast<int>(index);
    client.outgoing.resize(message_size_);
    client.fd = OpenSocket(address_.ss_family);
    if (client.fd == kNoSocket) {
      Fail(nullptr, SocketError("socket").ToString());
      return;
    }
    ++active_;
    SetNoDelay(client.fd);
    int connected =
        ::connect(client.fd, reinterpret_cast<const sockaddr*>(&address_),
                  address_length_);
    if (connected != 0 && LastError() != kInProgress) {
      Fail(&client, SocketError("connect").ToString());
      return;
    }
    ++result_.connections;
    client.connected = connected == 0;
    if (client.connected) {
      BeginMessage(client);
      Send(client);
      return;
    }
    Arm(client, poller::Interest::kWritable);
  }

  void Arm(Client& client, poller::Interest interest) {
    if (client.fd == kNoSocket) return;
    // The first Arm of a client registers it; later ones re-arm (oneshot).
    absl::Status armed =
        poller_.Modify(client.fd, static_cast<poller::Token>(client.index),
                       interest, poller::Mode::kOneshot);
    if (armed.code() == absl::StatusCode::kNotFound) {
      armed = poller_.Add(client.fd, static_cast<poller::Token>(client.index),
                          interest);
    }
    if (!armed.ok() && !poller_.is_shut_down()) {
      Fail(&client, armed.ToString());
    }
  }

  void BeginMessage(Client& client) {
    for (size_t i = 0; i < message_size_; ++i) {
      client.outgoing[i] = PatternByte(client.index, client.message, i);
    }
    client.written = 0;
    client.received = 0;
    client.sent_at = Clock::now();
  }

  void Step(Client& client, const poller::Event& event) {
    if (!client.connected) {
      const int error = PendingError(client.fd);
      if (error != 0) {
        Fail(&client, absl::StrCat("connect: ", ErrorText(error)));
        return;
      }
      client.connected = true;
      BeginMessage(client);
      Send(client);
      return;
    }
    if (client.written < message_size_ && event.writable()) {
      Send(client);
      return;
    }
    Receive(client);
  }

  // Writes what the socket takes of the message in flight, then waits for the
  // rest of it to be writable or for the echo.
  void Send(Client& client) {
    while (client.written < message_size_) {
      ssize_t put = SendSome(client.fd, client.outgoing.data() + client.written,
                             message_size_ - client.written);
      if (put > 0) {
        client.written += static_cast<size_t>(put);
        continue;
      }
      const int error = put < 0 ? LastError() : 0;
      if (error == kInterrupted) continue;
      if (error == kWouldBlock) break;
      Fail(&client, SocketError("send").ToString());
      return;
    }
    // Reading the echo while still sending keeps both sides' buffers moving
    // for messages larger than a socket buffer.
    poller::Interest interest = poller::Interest::kReadable;
    if (client.written < message_size_) interest |= poller::Interest::kWritable;
    Arm(client, interest);
  }

  void Receive(Client& client) {
    char buffer[16384];
    for (;;) {
      const size_t want =
          std::min(sizeof(buffer), client.written - client.received);
      if (want == 0) break;
      ssize_t got = ReadSome(client.fd, buffer, want);
      if (got > 0) {
        for (ssize_t i = 0; i < got; ++i) {
          const size_t offset = client.received + static_cast<size_t>(i);
          if (buffer[i] != PatternByte(client.index, client.message, offset)) {
            Fail(&client, absl::StrCat("message ", client.message, " byte ",
                                       offset, " came back wrong"));
            return;
          }
        }
        client.received += static_cast<size_t>(got);
        result_.bytes += static_cast<uint64_t>(got);
        continue;
      }
      if (got == 0) {
        Fail(&client, "the server closed the connection early");
        return;
      }
      const int error = LastError();
      if (error == kInterrupted) continue;
      if (error == kWouldBlock) break;
      Fail(&client, SocketError("read").ToString());
      return;
    }
    if (client.received == message_size_) {
      result_.latency.Record(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                               client.sent_at)
              .count());
      ++result_.messages;
      if (++client.message == messages_) {
        CloseClient(client);
        return;
      }
      BeginMessage(client);
      Send(client);
      return;
    }
    poller::Interest interest = poller::Interest::kReadable;
    if (client.written < message_size_) interest |= poller::Interest::kWritable;
    Arm(client, interest);
  }

  poller::Poller& poller_;
  const sockaddr_storage address_;
  const socklen_t address_length_;
  std::vector<Client> clients_;
  const int messages_;
  const size_t message_size_;
  int active_ = 0;
  LoadResult result_;
};

// ---------------------------------------------------------------------------
// Setup and reporting.

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
// Windows: a console handler (on a thread of its own) sets a flag that the
// main thread checks.
std::atomic<bool> stop_requested{false};

BOOL WINAPI OnConsoleControl(DWORD) {
  stop_requested.store(true);
  return TRUE;
}

void TakeStopSignals() { ::SetConsoleCtrlHandler(OnConsoleControl, TRUE); }

// Waits up to `timeout` for Ctrl-C; true if it came.
bool StopSignalWithin(absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (!stop_requested.load() && absl::Now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return stop_requested.load();
}
#else
// SIGINT and SIGTERM are blocked in every thread and taken by the main thread
// with sigtimedwait, so no handler runs in the middle of a Poller call.
sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

// Called before any thread starts: threads inherit the mask.
void TakeStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

// Waits up to `timeout` for a stop signal; true if one came.
bool StopSignalWithin(absl::Duration timeout) {
  const sigset_t signals = StopSignals();
  timespec wait = absl::ToTimespec(timeout);
  return ::sigtimedwait(&signals, nullptr, &wait) > 0;
}
#endif

int RunServerOnly(const std::string& backend, const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "--listen wants HOST:PORT, got \"%s\"\n",
                 listen.c_str());
    return 2;
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  sockaddr_storage bound{};
  socklen_t bound_length = 0;
  absl::StatusOr<Socket> listener =
      Listen(host, listen.substr(colon + 1), &bound, &bound_length);
  if (!listener.ok()) {
    std::fprintf(stderr, "%s\n", listener.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      poller::Poller::Create(backend);
  if (!poller.ok()) {
    std::fprintf(stderr, "%s\n", poller.status().ToString().c_str());
    CloseSocket(*listener);
    return 1;
  }
  std::printf("echo server on %s (backend %s); Ctrl-C stops it\n",
              AddressText(bound).c_str(), std::string(backend).c_str());
  std::fflush(stdout);
  EchoServer server(**poller, *listener);
  absl::Status served;
  std::thread thread([&] { served = server.Run(); });
  while (!StopSignalWithin(absl::Seconds(1))) {
  }
  (*poller)->Shutdown();
  thread.join();
  CloseSocket(*listener);
  std::printf("stopped: %llu connections served, %llu errors\n",
              static_cast<unsigned long long>(server.accepted()),
              static_cast<unsigned long long>(server.errors()));
  if (!served.ok()) {
    std::fprintf(stderr, "server: %s\n", served.ToString().c_str());
    return 1;
  }
  return 0;
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "A TCP echo server on poller, driven by a built-in load of concurrent "
      "clients that check every byte. Exits 0 only with 0 errors.");
  absl::ParseCommandLine(argc, argv);

  std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend.empty())
    backend = std::string(poller::Poller::DefaultBackendName());
  const int clients = absl::GetFlag(FLAGS_clients);
  const int messages = absl::GetFlag(FLAGS_messages);
  const int message_size = absl::GetFlag(FLAGS_message_size);
  if (clients < 1 || messages < 1 || message_size < 1) {
    std::fprintf(stderr,
                 "--clients, --messages and --message_size must be >= 1\n");
    return 2;
  }

#if defined(_WIN32)
  WSADATA winsock;
  if (int error = ::WSAStartup(MAKEWORD(2, 2), &winsock); error != 0) {
    std::fprintf(stderr, "WSAStartup: Winsock error %d\n", error);
    return 1;
  }
#endif
  TakeStopSignals();

  if (!absl::GetFlag(FLAGS_listen).empty()) {
    return RunServerOnly(backend, absl::GetFlag(FLAGS_listen));
  }

  sockaddr_storage bound{};
  socklen_t bound_length = 0;
  absl::StatusOr<Socket> listener =
      Listen("127.0.0.1", "0", &bound, &bound_length);
  if (!listener.ok()) {
    std::fprintf(stderr, "%s\n", listener.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<poller::Poller>> server_poller =
      poller::Poller::Create(backend);
  absl::StatusOr<std::unique_ptr<poller::Poller>> client_poller =
      poller::Poller::Create(backend);
  if (!server_poller.ok() || !client_poller.ok()) {
    std::fprintf(
        stderr, "%s\n",
        (server_poller.ok() ? client_poller.status() : server_poller.status())
            .ToString()
            .c_str());
    CloseSocket(*listener);
    return 1;
  }

  EchoServer server(**server_poller, *listener);
  absl::Status served;
  std::thread server_thread([&] { served = server.Run(); });

  LoadGenerator load(**client_poller, bound, bound_length, clients, messages,
                     static_cast<size_t>(message_size));
  std::atomic<uint64_t> progress{0};
  std::atomic<bool> load_done{false};
  LoadResult result;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_timeout_seconds));
  std::thread client_thread([&] {
    result = load.Run(deadline, progress);
    load_done.store(true, std::memory_order_release);
  });

  // The main thread watches: progress for long runs, Ctrl-C, completion.
  const uint64_t total =
      static_cast<uint64_t>(clients) * static_cast<uint64_t>(messages);
  const Clock::time_point start = Clock::now();
  Clock::time_point next_report = start + std::chrono::seconds(2);
  bool interrupted = false;
  while (!load_done.load(std::memory_order_acquire)) {
    if (StopSignalWithin(absl::Milliseconds(50))) {
      interrupted = true;
      break;
    }
    if (Clock::now() >= next_report) {
      next_report += std::chrono::seconds(2);
      const uint64_t done = progress.load(std::memory_order_relaxed);
      std::fprintf(
          stderr, "echo_demo: %llu/%llu messages (%.0f%%)\n",
          static_cast<unsigned long long>(done),
          static_cast<unsigned long long>(total),
          100.0 * static_cast<double>(done) / static_cast<double>(total));
    }
  }
  // The clean stop: Shutdown makes each thread's Wait return Cancelled.
  (*client_poller)->Shutdown();
  client_thread.join();
  (*server_poller)->Shutdown();
  server_thread.join();
  CloseSocket(*listener);

  if (interrupted) {
    result.error_samples.insert(result.error_samples.begin(),
                                "interrupted by a signal");
  }
  if (!served.ok()) {
    ++result.errors;
    result.error_samples.push_back(absl::StrCat("server: ", served.ToString()));
  }
  result.errors += server.errors();
  // Every message the clients were asked for must have come back.
  if (!interrupted && result.messages != total && result.errors == 0) {
    ++result.errors;
    result.error_samples.push_back(
        absl::StrCat(total - result.messages, " messages never echoed"));
  }

  const double seconds = std::max(result.seconds, 1e-9);
  const double messages_per_second =
      static_cast<double>(result.messages) / seconds;
  // Each checked byte crossed the loopback twice (there and back).
  const double megabytes_per_second =
      2.0 * static_cast<double>(result.bytes) / seconds / 1e6;
  const double p50 = result.latency.Percentile(0.50) / 1e3;
  const double p90 = result.latency.Percentile(0.90) / 1e3;
  const double p99 = result.latency.Percentile(0.99) / 1e3;
  const double max = static_cast<double>(result.latency.max()) / 1e3;

  if (absl::GetFlag(FLAGS_json)) {
    std::vector<std::string> samples;
    for (const std::string& sample : result.error_samples) {
      samples.push_back(JsonString(sample));
    }
    std::printf(
        "{\"backend\": %s, \"connections\": %llu, \"messages\": %llu, "
        "\"message_size\": %d, \"bytes\": %llu, \"seconds\": %.3f, "
        "\"messages_per_second\": %.0f, \"megabytes_per_second\": %.2f, "
        "\"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
        "\"max\": %.1f}, \"errors\": %llu, \"error_samples\": [%s]}\n",
        JsonString(backend).c_str(),
        static_cast<unsigned long long>(result.connections),
        static_cast<unsigned long long>(result.messages), message_size,
        static_cast<unsigned long long>(result.bytes), result.seconds,
        messages_per_second, megabytes_per_second, p50, p90, p99, max,
        static_cast<unsigned long long>(result.errors),
        absl::StrJoin(samples, ", ").c_str());
  } else {
    std::printf("echo_demo: %s backend, server on %s\n", backend.c_str(),
                AddressText(bound).c_str());
    std::printf("  connections: %llu\n",
                static_cast<unsigned long long>(result.connections));
    std::printf("  messages:    %llu of %d bytes, each echoed and checked\n",
                static_cast<unsigned long long>(result.messages), message_size);
    std::printf("  bytes:       %llu each way\n",
                static_cast<unsigned long long>(result.bytes));
    std::printf("  time:        %.3f s\n", result.seconds);
    std::printf("  throughput:  %.0f messages/s, %.2f MB/s (both ways)\n",
                messages_per_second, megabytes_per_second);
    std::printf(
        "  latency:     p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n",
        p50, p90, p99, max);
    std::printf("  errors: %llu\n",
                static_cast<unsigned long long>(result.errors));
    for (const std::string& sample : result.error_samples) {
      std::printf("    %s\n", sample.c_str());
    }
  }
  if (result.errors != 0) return 1;
  return interrupted ? 130 : 0;
}
