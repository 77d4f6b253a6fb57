// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: examples/echo_server.h
// -----------------------------------------------------------------------------
//
// A TCP echo server on one Poller: the part of the echo demo to copy. It
// accepts connections on a listening socket and sends each one back what it
// receives, in oneshot mode (the default): every socket reports once and is
// re-armed for what it needs next. Sockets are non-blocking; partial reads
// and writes resume at the next event.
//
//   EchoServer server(poller, listener);
//   std::thread thread([&] { status = server.Run(); });
//   ...
//   poller.Shutdown();  // Run() returns OK.
//   thread.join();

#ifndef POLLER_EXAMPLES_ECHO_SERVER_H_
#define POLLER_EXAMPLES_ECHO_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "examples/echo_platform.h"
#include "poller/poller.h"

namespace poller_example {

// How far the echo may fall behind what a connection sent before the server
// stops reading from it (it reads again once the echo has gone out).
inline constexpr size_t kMaxPending = 256 * 1024;

// One connection's echo: what it received and has not sent back yet. Reading
// and echoing do not depend on the event loop, so they live apart from
// EchoServer (bench/echo_peer_server.cc drives the same two steps with
// libevent, to compare the libraries on the same server).
struct EchoConnection {
  Socket fd = kNoSocket;
  std::string pending;  // Received, not yet echoed.
  size_t sent = 0;      // Bytes of `pending` already written.
  bool peer_closed = false;
  // What the last unexpected failure was ("read: Connection timed out"), for
  // the report of a run that failed.
  std::string failure;

  // Reads what the socket has, unless the echo is already behind by
  // kMaxPending. Returns false if the connection must be closed, counting an
  // unexpected failure (a peer's reset is not one) in *errors.
  bool ReadAvailable(uint64_t* errors);
  // Sends as much of the pending echo as the socket takes; the rest waits
  // for the socket to be writable. Returns false if the connection must be
  // closed, counting an unexpected failure in *errors.
  bool EchoPending(uint64_t* errors);
};

class EchoServer {
 public:
  // `listener` is a non-blocking listening socket, which stays the caller's.
  EchoServer(poller::Poller& poller, Socket listener);
  // Closes the connections still open.
  ~EchoServer();

  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // Serves until another thread calls the poller's Shutdown(), then returns
  // OK; returns the first unexpected error of the poller or of accept.
  absl::Status Run();

  // Read these after Run() returns.
  uint64_t accepted() const { return accepted_; }
  // Connections dropped for an unexpected reason (a peer that resets its
  // connection is not an error).
  uint64_t errors() const { return errors_; }
  // What the first few errors were, with the connection's token: a run that
  // fails once says why in its log.
  const std::vector<std::string>& error_samples() const {
    return error_samples_;
  }

 private:
  using Connection = EchoConnection;

  absl::Status AcceptAll();
  void Serve(poller::Token token);
  void RearmForNext(poller::Token token, Connection& connection);
  void Close(poller::Token token, Connection& connection);
  // Counts an error, keeping the first few descriptions.
  void Fail(std::string why);

  // The listener's token; connections count up from the next one.
  static constexpr poller::Token kListenerToken = 0;

  poller::Poller& poller_;
  const Socket listener_;
  poller::Token next_token_ = kListenerToken + 1;
  std::unordered_map<poller::Token, Connection> connections_;
  uint64_t accepted_ = 0;
  uint64_t errors_ = 0;
  std::vector<std::string> error_samples_;
};

}  // namespace poller_example

#endif  // POLLER_EXAMPLES_ECHO_SERVER_H_
