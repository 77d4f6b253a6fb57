// Copyright 2026 The poller Authors.
//
// echo_peer_server: a TCP echo server on libevent, on libuv, or poller's own
// (examples/echo_server.cc), so that //bench:compare (case 7, the rows
// "echo_server") can drive each with the same clients (`echo_demo --connect`)
// and compare servers, not clients.
//
//   echo_peer_server --library=libevent|libuv|poller [--backend=epoll]
//
// It listens on 127.0.0.1 on an ephemeral port, prints the port alone on one
// line of stdout once listening, and serves until its stdin closes or SIGTERM
// (or SIGINT) comes. It exits 0 only if no connection was dropped for an
// unexpected reason (EchoServer's count of errors) and the loop did not fail;
// otherwise it says why on stderr and exits 1.
//
// What the three servers share, so that the library is what differs: one
// thread runs the loop; the listening socket is the demo's
// (poller_example::Listen: non-blocking, SO_REUSEADDR, backlog SOMAXCONN); an
// accepted connection gets TCP_NODELAY; a peer that resets or stops reading is
// not an error; at the peer's EOF what is pending is still echoed, then the
// connection is closed; no more is read while 256 KiB wait to be echoed.
//
//   poller    EchoServer as the demo runs it: oneshot, each connection
//             re-armed (Modify) after every event, for read, write or both.
//   libevent  EchoServer's code on libevent 2.1 in libevent's idiom,
//             level-triggered: a persistent EV_READ event per connection, and
//             a persistent EV_WRITE added only while an echo is pending (a
//             partial write), so the steady state makes no epoll_ctl. The
//             rest is EchoServer's: the same accept loop, reads of 16 KiB on
//             the stack until EAGAIN appended to the connection's pending
//             string, sends of it until drained or EAGAIN. The base is made
//             as bench/libevent_loop.cc makes it (epoll, no locks).
//   libuv     the idiomatic libuv 1.44 echo server (its own test server's
//             shape): uv_read_start with a 16 KiB buffer from the alloc
//             callback per read, uv_write of what was read (libuv writes at
//             once and queues only what the socket did not take), and at EOF
//             uv_shutdown, then uv_close. Chosen over uv_poll because it is
//             what a libuv user writes, and uv_poll alone is what cases 1-5
//             already measure. Differences it brings: libuv stops reading
//             after a short read (no read that returns EAGAIN), allocates a
//             buffer per read and a write request per echo, and shuts down
//             the write side before closing. Reading stops while more than
//             256 KiB is queued (write_queue_size). Seen with strace on
//             Debian's libuv 1.44: one epoll_ctl (EPOLL_CTL_MOD, events
//             unchanged) per echo, issued from uv_run, which the other two
//             servers do not make; uv_try_write first would be a tuned
//             server, not the one libuv's documentation shows.

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/echo_platform.h"
#include "examples/echo_server.h"
#include "poller/poller.h"

ABSL_FLAG(std::string, library, "",
          "The server's event library: libevent, libuv or poller.");
ABSL_FLAG(std::string, backend, "",
          "--library=poller: the backend (default: the build's default).");

namespace poller_bench {
namespace {

using poller_example::AcceptSocket;
using poller_example::CloseSocket;
using poller_example::EchoConnection;
using poller_example::IsOutOfDescriptors;
using poller_example::kConnectionAborted;
using poller_example::kInterrupted;
using poller_example::kMaxPending;
using poller_example::kNoSocket;
using poller_example::kWouldBlock;
using poller_example::LastError;
using poller_example::SetNoDelay;
using poller_example::Socket;
using poller_example::SocketError;

// As examples/echo_server.cc's read buffer (libuv's reads).
constexpr size_t kReadSize = 16384;

// One echo server on one event library, on a listening socket it is given.
class PeerServer {
 public:
  virtual ~PeerServer() = default;
  // On the server's thread: serves until Stop(); false if the loop failed.
  virtual bool Run() = 0;
  // From another thread: makes Run() return soon.
  virtual void Stop() = 0;
  // Read these after Run() returns.
  virtual uint64_t accepted() const = 0;
  virtual uint64_t errors() const = 0;
};

// poller: the demo's EchoServer on a Poller of the chosen backend.
class PollerServer final : public PeerServer {
 public:
  PollerServer(std::unique_ptr<poller::Poller> poller, Socket listener)
      : poller_(std::move(poller)), server_(*poller_, listener) {}

  bool Run() override {
    served_ = server_.Run();
    if (!served_.ok()) {
      std::fprintf(stderr, "echo_peer_server: poller: %s\n",
                   served_.ToString().c_str());
    }
    return served_.ok();
  }
  void Stop() override { poller_->Shutdown(); }
  uint64_t accepted() const override { return server_.accepted(); }
  uint64_t errors() const override { return server_.errors(); }

 private:
  std::unique_ptr<poller::Poller> poller_;
  poller_example::EchoServer server_;
  absl::Status served_;
};

// libevent: EchoServer's logic on persistent (level-triggered) events.
class LibeventServer final : public PeerServer {
 public:
  ~LibeventServer() override {
    while (!connections_.empty()) Close(*connections_.begin()->second);
    if (listener_event_ != nullptr) event_free(listener_event_);
    if (stop_event_ != nullptr) event_free(stop_event_);
    if (base_ != nullptr) event_base_free(base_);
    for (int fd : stop_pipe_) {
      if (fd >= 0) ::close(fd);
    }
  }

  // Makes the base and registers the listener; false (having said why) on
  // failure.
  bool Init(Socket listener) {
    listener_ = listener;
    event_config* config = event_config_new();
    if (config == nullptr) return Failed("event_config_new");
    event_config_avoid_method(config, "select");
    event_config_avoid_method(config, "poll");
    event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
    base_ = event_base_new_with_config(config);
    event_config_free(config);
    if (base_ == nullptr) return Failed("event_base_new_with_config");
    // The base has no locks, so Stop() reaches the loop through a pipe.
    if (::pipe2(stop_pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
      return Failed("pipe2");
    }
    stop_event_ = event_new(base_, stop_pipe_[0], EV_READ, &OnStop, this);
    listener_event_ = event_new(base_, listener_, EV_READ | EV_PERSIST,
                                &OnListenerReadable, this);
    if (stop_event_ == nullptr || listener_event_ == nullptr ||
        event_add(stop_event_, nullptr) != 0 ||
        event_add(listener_event_, nullptr) != 0) {
      return Failed("event_new/event_add");
    }
    return true;
  }

  bool Run() override {
    if (event_base_dispatch(base_) == -1) return Failed("event_base_dispatch");
    return !loop_failed_;
  }
  void Stop() override {
    const char byte = 0;
    if (::write(stop_pipe_[1], &byte, 1) != 1) {
      std::perror("echo_peer_server: libevent: stop pipe");
    }
  }
  uint64_t accepted() const override { return accepted_; }
  uint64_t errors() const override { return errors_; }

 private:
  // The demo's EchoConnection (its reads and echoes), with libevent's events.
  struct Connection : EchoConnection {
    LibeventServer* server = nullptr;
    event* readable = nullptr;  // EV_READ | EV_PERSIST.
    event* writable = nullptr;  // EV_WRITE | EV_PERSIST.
    bool reading = false;       // `readable` is added.
    bool writing = false;       // `writable` is added.
  };

  bool Failed(const char* what) {
    std::fprintf(stderr, "echo_peer_server: libevent: %s failed\n", what);
    loop_failed_ = true;
    return false;
  }

  static void OnStop(evutil_socket_t, short, void* argument) {
    event_base_loopbreak(static_cast<LibeventServer*>(argument)->base_);
  }

  static void OnListenerReadable(evutil_socket_t, short, void* argument) {
    static_cast<LibeventServer*>(argument)->AcceptAll();
  }

  static void OnConnectionReady(evutil_socket_t, short, void* argument) {
    Connection* connection = static_cast<Connection*>(argument);
    connection->server->Serve(*connection);
  }

  // EchoServer::AcceptAll: every queued connection, until EAGAIN.
  void AcceptAll() {
    for (;;) {
      const Socket fd = AcceptSocket(listener_);
      if (fd == kNoSocket) {
        const int error = LastError();
        if (error == kInterrupted || error == kConnectionAborted) continue;
        if (error == kWouldBlock) return;
        if (IsOutOfDescriptors(error)) {
          ++errors_;
          return;
        }
        std::fprintf(stderr, "echo_peer_server: libevent: %s\n",
                     SocketError("accept").ToString().c_str());
        loop_failed_ = true;
        event_base_loopbreak(base_);
        return;
      }
      SetNoDelay(fd);
      auto connection = std::make_unique<Connection>();
      connection->server = this;
      connection->fd = fd;
      connection->readable = event_new(base_, fd, EV_READ | EV_PERSIST,
                                       &OnConnectionReady, connection.get());
      connection->writable = event_new(base_, fd, EV_WRITE | EV_PERSIST,
                                       &OnConnectionReady, connection.get());
      Connection& added = *connection;
      connections_[fd] = std::move(connection);
      ++accepted_;
      if (added.readable == nullptr || added.writable == nullptr ||
          event_add(added.readable, nullptr) != 0) {
        ++errors_;
        Close(added);
        continue;
      }
      added.reading = true;
    }
  }

  // EchoServer::Serve, with the events switched on and off instead of
  // re-armed.
  void Serve(Connection& connection) {
    if (!connection.ReadAvailable(&errors_) ||
        !connection.EchoPending(&errors_)) {
      Close(connection);
      return;
    }
    if (connection.peer_closed && connection.pending.empty()) {
      Close(connection);
      return;
    }
    WatchForNext(connection);
  }

  // Level-triggered: an event stays added while its condition is wanted, so
  // only a change of what is wanted costs an epoll_ctl.
  void WatchForNext(Connection& connection) {
    const bool want_read =
        !connection.peer_closed && connection.pending.size() < kMaxPending;
    const bool want_write = !connection.pending.empty();
    bool ok = true;
    if (want_read != connection.reading) {
      ok = (want_read ? event_add(connection.readable, nullptr)
                      : event_del(connection.readable)) == 0;
      connection.reading = want_read;
    }
    if (ok && want_write != connection.writing) {
      ok = (want_write ? event_add(connection.writable, nullptr)
                       : event_del(connection.writable)) == 0;
      connection.writing = want_write;
    }
    if (!ok) {
      ++errors_;
      Close(connection);
    }
  }

  // Frees the events (which deletes them) before closing the descriptor.
  void Close(Connection& connection) {
    if (connection.readable != nullptr) event_free(connection.readable);
    if (connection.writable != nullptr) event_free(connection.writable);
    CloseSocket(connection.fd);
    connections_.erase(connection.fd);
  }

  Socket listener_ = kNoSocket;
  event_base* base_ = nullptr;
  event* listener_event_ = nullptr;
  event* stop_event_ = nullptr;
  int stop_pipe_[2] = {-1, -1};
  std::unordered_map<Socket, std::unique_ptr<Connection>> connections_;
  uint64_t accepted_ = 0;
  uint64_t errors_ = 0;
  bool loop_failed_ = false;
};

// libuv: uv_read_start / uv_write, the idiomatic libuv echo server.
class LibuvServer final : public PeerServer {
 public:
  ~LibuvServer() override {
    if (loop_initialized_) uv_loop_close(&loop_);
  }

  // Takes over the listening socket (the loop closes it at the end) and
  // listens; false (having said why) on failure.
  bool Init(Socket listener) {
    if (int error = uv_loop_init(&loop_); error != 0) {
      return Failed("uv_loop_init", error);
    }
    loop_initialized_ = true;
    uv_tcp_init(&loop_, &listener_);
    listener_.data = this;
    if (int error = uv_tcp_open(&listener_, listener); error != 0) {
      ::close(listener);
      return Failed("uv_tcp_open", error);
    }
    if (int error = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_),
                              SOMAXCONN, &OnConnection);
        error != 0) {
      return Failed("uv_listen", error);
    }
    uv_async_init(&loop_, &stop_, &OnStop);
    stop_.data = this;
    return true;
  }

  bool Run() override {
    // Returns once every handle is closed, which OnStop starts.
    uv_run(&loop_, UV_RUN_DEFAULT);
    return !loop_failed_;
  }
  void Stop() override { uv_async_send(&stop_); }
  uint64_t accepted() const override { return accepted_; }
  uint64_t errors() const override { return errors_; }

 private:
  struct Connection {
    uv_tcp_t tcp;  // First: the callbacks cast back from it.
    LibuvServer* server = nullptr;
    bool reading = false;
  };
  // One echo in flight: the buffer the read filled, written back.
  struct EchoWrite {
    uv_write_t request;
    char* data = nullptr;
  };

  bool Failed(const char* what, int error) {
    std::fprintf(stderr, "echo_peer_server: libuv: %s: %s\n", what,
                 uv_strerror(error));
    loop_failed_ = true;
    return false;
  }

  static Connection& ConnectionOf(uv_stream_t* stream) {
    return *reinterpret_cast<Connection*>(stream);
  }
  static uv_stream_t* StreamOf(Connection& connection) {
    return reinterpret_cast<uv_stream_t*>(&connection.tcp);
  }

  // Closing every handle ends uv_run; pending writes are cancelled.
  static void OnStop(uv_async_t* async) {
    LibuvServer* self = static_cast<LibuvServer*>(async->data);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->listener_), nullptr);
    // Close() erases from the set: take a copy first.
    const std::unordered_set<Connection*> open = self->connections_;
    for (Connection* connection : open) self->Close(*connection);
  }

  static void OnConnection(uv_stream_t* listener, int status) {
    LibuvServer* self = static_cast<LibuvServer*>(listener->data);
    if (status < 0) {
      ++self->errors_;
      return;
    }
    auto* connection = new Connection;
    connection->server = self;
    uv_tcp_init(&self->loop_, &connection->tcp);
    self->connections_.insert(connection);
    if (uv_accept(listener, StreamOf(*connection)) != 0) {
      ++self->errors_;
      self->Close(*connection);
      return;
    }
    ++self->accepted_;
    uv_tcp_nodelay(&connection->tcp, 1);
    self->StartReading(*connection);
  }

  void StartReading(Connection& connection) {
    if (int error = uv_read_start(StreamOf(connection), &Allocate, &OnRead);
        error != 0) {
      ++errors_;
      Close(connection);
      return;
    }
    connection.reading = true;
  }

  static void Allocate(uv_handle_t*, size_t, uv_buf_t* buffer) {
    // A null base makes libuv report UV_ENOBUFS to OnRead.
    *buffer = uv_buf_init(static_cast<char*>(std::malloc(kReadSize)),
                          static_cast<unsigned int>(kReadSize));
  }

  static void OnRead(uv_stream_t* stream, ssize_t got, const uv_buf_t* buffer) {
    Connection& connection = ConnectionOf(stream);
    LibuvServer* self = connection.server;
    if (got > 0) {
      self->Echo(connection, buffer->base, static_cast<size_t>(got));
      return;
    }
    std::free(buffer->base);
    if (got == 0) return;  // EAGAIN.
    if (got == UV_EOF) {
      // What is queued still goes back; then the connection closes.
      uv_read_stop(stream);
      connection.reading = false;
      auto* shutdown = new uv_shutdown_t;
      if (uv_shutdown(shutdown, stream, &OnShutdown) != 0) {
        delete shutdown;
        self->Close(connection);
      }
      return;
    }
    if (got != UV_ECONNRESET) ++self->errors_;
    self->Close(connection);
  }

  // Writes `size` bytes of `data` (a buffer from Allocate, freed once
  // written) back; stops reading while the echo is kMaxPending behind.
  void Echo(Connection& connection, char* data, size_t size) {
    auto* write = new EchoWrite;
    write->data = data;
    const uv_buf_t out = uv_buf_init(data, static_cast<unsigned int>(size));
    if (int error = uv_write(&write->request, StreamOf(connection), &out, 1,
                             &OnWritten);
        error != 0) {
      std::free(data);
      delete write;
      if (error != UV_EPIPE && error != UV_ECONNRESET) ++errors_;
      Close(connection);
      return;
    }
    if (StreamOf(connection)->write_queue_size >= kMaxPending) {
      uv_read_stop(StreamOf(connection));
      connection.reading = false;
    }
  }

  static void OnWritten(uv_write_t* request, int status) {
    EchoWrite* write = reinterpret_cast<EchoWrite*>(request);
    uv_stream_t* stream = request->handle;
    std::free(write->data);
    delete write;
    Connection& connection = ConnectionOf(stream);
    LibuvServer* self = connection.server;
    if (status < 0) {
      // Cancelled: the connection is closing already.
      if (status != UV_ECANCELED && status != UV_EPIPE &&
          status != UV_ECONNRESET) {
        ++self->errors_;
      }
      self->Close(connection);
      return;
    }
    // Resumes reading once the echo has caught up, unless EOF came.
    if (!connection.reading &&
        !uv_is_closing(reinterpret_cast<uv_handle_t*>(stream)) &&
        uv_is_readable(stream) && stream->write_queue_size < kMaxPending) {
      self->StartReading(connection);
    }
  }

  static void OnShutdown(uv_shutdown_t* shutdown, int status) {
    Connection& connection = ConnectionOf(shutdown->handle);
    delete shutdown;
    if (status < 0 && status != UV_ECANCELED && status != UV_EPIPE &&
        status != UV_ECONNRESET && status != UV_ENOTCONN) {
      ++connection.server->errors_;
    }
    connection.server->Close(connection);
  }

  // Idempotent; the memory goes once libuv has run the close callback.
  void Close(Connection& connection) {
    uv_handle_t* handle = reinterpret_cast<uv_handle_t*>(&connection.tcp);
    if (uv_is_closing(handle)) return;
    connections_.erase(&connection);
    uv_close(handle, [](uv_handle_t* closed) {
      delete reinterpret_cast<Connection*>(closed);
    });
  }

  uv_loop_t loop_;
  bool loop_initialized_ = false;
  uv_tcp_t listener_;
  uv_async_t stop_;
  std::unordered_set<Connection*> connections_;
  uint64_t accepted_ = 0;
  uint64_t errors_ = 0;
  bool loop_failed_ = false;
};

// Blocks until stdin closes (EOF or an error), SIGTERM or SIGINT comes, or
// `server_ended` is set (the loop failed on its own).
void WaitForStop(int signal_fd, const std::atomic<bool>& server_ended) {
  while (!server_ended.load()) {
    pollfd watched[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    const int ready = ::poll(watched, 2, /*timeout_ms=*/200);
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) continue;
    if (watched[1].revents != 0) return;
    if (watched[0].revents != 0) {
      char ignored[256];
      const ssize_t got = ::read(STDIN_FILENO, ignored, sizeof(ignored));
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) return;
    }
  }
}

int Main() {
  const std::string library = absl::GetFlag(FLAGS_library);
  std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend.empty()) {
    backend = std::string(poller::Poller::DefaultBackendName());
  }
  if (library != "libevent" && library != "libuv" && library != "poller") {
    std::fprintf(stderr,
                 "echo_peer_server: --library must be libevent, libuv or "
                 "poller, got \"%s\"\n",
                 library.c_str());
    return 2;
  }
  // SIGTERM and SIGINT, blocked in every thread, arrive through a signalfd.
  poller_example::TakeStopSignals();
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  const int signal_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::perror("echo_peer_server: signalfd");
    return 1;
  }

  sockaddr_storage bound{};
  socklen_t bound_length = 0;
  absl::StatusOr<Socket> listener =
      poller_example::Listen("127.0.0.1", "0", &bound, &bound_length);
  if (!listener.ok()) {
    std::fprintf(stderr, "echo_peer_server: %s\n",
                 listener.status().ToString().c_str());
    return 1;
  }
  bool listener_closed_by_server = false;
  std::unique_ptr<PeerServer> server;
  if (library == "poller") {
    absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
        poller::Poller::Create(backend);
    if (!poller.ok()) {
      std::fprintf(stderr, "echo_peer_server: %s\n",
                   poller.status().ToString().c_str());
      return 1;
    }
    server = std::make_unique<PollerServer>(std::move(*poller), *listener);
  } else if (library == "libevent") {
    auto libevent = std::make_unique<LibeventServer>();
    if (!libevent->Init(*listener)) return 1;
    server = std::move(libevent);
  } else {
    auto libuv = std::make_unique<LibuvServer>();
    listener_closed_by_server = true;
    if (!libuv->Init(*listener)) return 1;
    server = std::move(libuv);
  }

  const int port = ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port);
  std::printf("%d\n", port);
  std::fflush(stdout);

  std::atomic<bool> server_ended{false};
  bool served = false;
  std::thread thread([&] {
    served = server->Run();
    server_ended.store(true);
  });
  WaitForStop(signal_fd, server_ended);
  server->Stop();
  thread.join();
  if (!listener_closed_by_server) CloseSocket(*listener);
  ::close(signal_fd);

  if (!served || server->errors() != 0) {
    const std::string name =
        library == "poller" ? "poller/" + backend : library;
    std::fprintf(
        stderr, "echo_peer_server: %s: %llu connections, %llu errors%s\n",
        name.c_str(), static_cast<unsigned long long>(server->accepted()),
        static_cast<unsigned long long>(server->errors()),
        served ? "" : ", and the loop failed");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace poller_bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "An echo server on libevent, libuv or poller, for //bench:compare: "
      "prints its port on one line, serves until stdin closes or SIGTERM.");
  absl::ParseCommandLine(argc, argv);
  return poller_bench::Main();
}
