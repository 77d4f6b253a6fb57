// Copyright 2026 The poller Authors.

#include "examples/echo_server.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace poller_example {
namespace {

// A connection whose peer does not read its echo stops being read once this
// much is waiting to be sent (back-pressure), so one slow client cannot make
// the server buffer without limit.

}  // namespace

EchoServer::EchoServer(poller::Poller& poller, Socket listener)
    : poller_(poller), listener_(listener) {}

EchoServer::~EchoServer() {
  for (auto& [token, connection] : connections_) {
    (void)poller_.Delete(connection.fd);
    CloseSocket(connection.fd);
  }
}

absl::Status EchoServer::Run() {
  absl::Status added =
      poller_.Add(listener_, kListenerToken, poller::Interest::kReadable);
  // A Shutdown() that came before this thread got here ends the run as one
  // that comes later does: with OK.
  if (!added.ok()) return poller_.is_shut_down() ? absl::OkStatus() : added;
  // Room for this many events per Wait; more ready sockets wait for the next.
  poller::Events events(256);
  for (;;) {
    absl::StatusOr<size_t> count =
        poller_.Wait(events, absl::InfiniteDuration());
    // Cancelled is how Shutdown() asks this loop to end: not an error.
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

absl::Status EchoServer::AcceptAll() {
  // One readiness report may stand for many queued connections: take them
  // all, since oneshot reports the listener again only after Rearm.
  for (;;) {
    const Socket fd = AcceptSocket(listener_);
    if (fd == kNoSocket) {
      const int error = LastError();
      if (error == kInterrupted || error == kConnectionAborted) continue;
      if (error == kWouldBlock) break;
      if (IsOutOfDescriptors(error)) {
        // Leave the rest queued and try again at the next event.
        Fail(absl::StrCat("accept: ", ErrorText(error)));
        break;
      }
      return SocketError("accept");
    }
    // Echoes are small and latency matters more than packet count.
    SetNoDelay(fd);
    const poller::Token token = next_token_++;
    absl::Status added = poller_.Add(fd, token, poller::Interest::kReadable);
    if (!added.ok()) {
      CloseSocket(fd);
      // After Shutdown() Add fails: that is the end, not an error.
      if (poller_.is_shut_down()) return absl::OkStatus();
      return added;
    }
    connections_[token].fd = fd;
    ++accepted_;
  }
  absl::Status rearmed = poller_.Rearm(listener_);
  return poller_.is_shut_down() ? absl::OkStatus() : rearmed;
}

void EchoServer::Serve(poller::Token token) {
  auto found = connections_.find(token);
  // A connection closed earlier in the same batch of events.
  if (found == connections_.end()) return;
  Connection& connection = found->second;
  const uint64_t errors_before = errors_;
  if (!connection.ReadAvailable(&errors_) ||
      !connection.EchoPending(&errors_)) {
    if (errors_ != errors_before) {
      --errors_;  // Counted again, with its description, by Fail.
      Fail(absl::StrCat("connection ", token, " (fd ", connection.fd,
                        "): ", connection.failure));
    }
    Close(token, connection);
    return;
  }
  if (connection.peer_closed && connection.pending.empty()) {
    Close(token, connection);
    return;
  }
  RearmForNext(token, connection);
}

bool EchoConnection::ReadAvailable(uint64_t* errors) {
  char buffer[16384];
  while (!peer_closed && pending.size() < kMaxPending) {
    ssize_t got = ReadSome(fd, buffer, sizeof(buffer));
    if (got > 0) {
      pending.append(buffer, static_cast<size_t>(got));
      continue;
    }
    if (got == 0) {
      // The peer sent everything it will; what is pending still goes back.
      peer_closed = true;
      return true;
    }
    const int error = LastError();
    if (error == kInterrupted) continue;
    if (error == kWouldBlock) return true;
    if (error != kConnectionReset) {
      ++*errors;
      failure = absl::StrCat("read: ", ErrorText(error));
    }
    return false;
  }
  return true;
}

bool EchoConnection::EchoPending(uint64_t* errors) {
  while (sent < pending.size()) {
    ssize_t put = SendSome(fd, pending.data() + sent, pending.size() - sent);
    if (put > 0) {
      sent += static_cast<size_t>(put);
      continue;
    }
    const int error = put < 0 ? LastError() : 0;
    if (error == kInterrupted) continue;
    if (error == kWouldBlock) return true;
    // A peer that hangs up without reading its echo is not the server's error.
    if (error != kBrokenPipe && error != kConnectionReset) {
      ++*errors;
      failure =
          absl::StrCat("send: ", put == 0 ? "sent nothing" : ErrorText(error));
    }
    return false;
  }
  pending.clear();
  sent = 0;
  return true;
}

// Oneshot: the socket reports nothing more until re-armed, and Modify says
// what it should report next: writable while an echo is pending, readable
// while there is room to take more.
void EchoServer::RearmForNext(poller::Token token, Connection& connection) {
  poller::Interest interest = poller::Interest::kNone;
  if (!connection.pending.empty()) interest |= poller::Interest::kWritable;
  if (!connection.peer_closed && connection.pending.size() < kMaxPending) {
    interest |= poller::Interest::kReadable;
  }
  absl::Status rearmed =
      poller_.Modify(connection.fd, token, interest, poller::Mode::kOneshot);
  if (!rearmed.ok() && !poller_.is_shut_down()) {
    Fail(absl::StrCat("connection ", token, ": ", rearmed.ToString()));
    Close(token, connection);
  }
}

// Delete before close: on some backends a closed descriptor stays registered,
// and the next accept, which may reuse its number, could not be added.
void EchoServer::Close(poller::Token token, Connection& connection) {
  (void)poller_.Delete(connection.fd);
  CloseSocket(connection.fd);
  connections_.erase(token);
}

void EchoServer::Fail(std::string why) {
  ++errors_;
  constexpr size_t kMaxErrorSamples = 5;
  if (error_samples_.size() < kMaxErrorSamples) {
    error_samples_.push_back(absl::StrCat("server ", why));
  }
}

}  // namespace poller_example
