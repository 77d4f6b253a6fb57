#include "app/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace consumer {
namespace {

absl::Status MakeNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return absl::InternalError(
        absl::StrCat("fcntl(O_NONBLOCK) fd ", fd, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Sends all of `line` at once or not at all (false): a client that cannot
// take it now is dropped (see relay.h).
bool SendAll(int fd, const std::string& line) {
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;  // EAGAIN (a stalled reader), EPIPE, ECONNRESET...
    }
  }
  return true;
}

}  // namespace

Relay::Relay(poller::Poller& poller) : poller_(poller) {}

Relay::~Relay() {
  while (!clients_.empty()) Drop(clients_.begin()->first);
  if (listen_fd_ >= 0) (void)poller_.Delete(listen_fd_);
}

absl::Status Relay::Listen(int listen_fd) {
  absl::Status status = MakeNonBlocking(listen_fd);
  if (!status.ok()) return status;
  status = poller_.Add(listen_fd, kListenerToken, poller::Interest::kReadable,
                       poller::Mode::kOneshot);
  if (status.ok()) listen_fd_ = listen_fd;
  return status;
}

absl::Status Relay::AddClient(int fd) {
  absl::Status status = MakeNonBlocking(fd);
  // A new token for every client, never one of a client that is gone.
  const poller::Token token = next_token_++;
  if (status.ok()) {
    status = poller_.Add(fd, token, poller::Interest::kReadable,
                         poller::Mode::kOneshot);
  }
  if (!status.ok()) {
    ::close(fd);
    return status;
  }
  clients_.emplace(token, Client{fd, std::string()});
  return absl::OkStatus();
}

absl::Status Relay::AcceptAll() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return absl::InternalError(
          absl::StrCat("accept4 fd ", listen_fd_, ": ", std::strerror(errno)));
    }
    absl::Status added = AddClient(fd);
    if (!added.ok()) return added;
  }
  return poller_.Rearm(listen_fd_);
}

absl::Status Relay::RunOnce(absl::Duration timeout) {
  poller::Events events(/*capacity=*/64);
  absl::StatusOr<size_t> count = poller_.Wait(events, timeout);
  if (!count.ok()) return count.status();
  for (const poller::Event& event : events) {
    if (event.token() == kListenerToken) {
      absl::Status accepted = AcceptAll();
      if (!accepted.ok()) return accepted;
      continue;
    }
    // The batch rule: this client may have been dropped while an earlier event
    // of this batch was handled, and its descriptor number reused since.
    auto found = clients_.find(event.token());
    if (found == clients_.end()) {
      ++stale_events_skipped_;
      continue;
    }
    // Read first: a client that wrote and closed is readable and hung up.
    const bool open = ReadAndRelay(found->first, found->second);
    if (!open || event.hang_up() || event.error()) {
      Drop(event.token());
      continue;
    }
    // Re-armed as registered: same token, interest and mode.
    absl::Status rearmed = poller_.Rearm(found->second.fd);
    if (!rearmed.ok()) return rearmed;
  }
  return absl::OkStatus();
}

absl::Status Relay::Run() {
  for (;;) {
    absl::Status status = RunOnce(absl::InfiniteDuration());
    if (absl::IsCancelled(status)) return absl::OkStatus();
    if (!status.ok()) return status;
  }
}

bool Relay::ReadAndRelay(poller::Token token, Client& client) {
  const int fd = client.fd;
  std::vector<std::string> lines;
  bool open = true;
  char buffer[4096];
  for (;;) {
    const ssize_t received = ::recv(fd, buffer, sizeof(buffer), 0);
    if (received > 0) {
      client.partial_line.append(buffer, static_cast<size_t>(received));
      size_t end;
      while ((end = client.partial_line.find('\n')) != std::string::npos) {
        lines.push_back(client.partial_line.substr(0, end + 1));
        client.partial_line.erase(0, end + 1);
      }
      continue;
    }
    if (received < 0 && errno == EINTR) continue;
    open = received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    break;
  }
  // Relayed after reading, since relaying may drop other clients (never this
  // one, whose entry `client` stays valid).
  for (const std::string& line : lines) SendToAllBut(token, line);
  return open;
}

void Relay::SendToAllBut(poller::Token sender, const std::string& line) {
  std::vector<poller::Token> failed;
  for (const auto& [token, client] : clients_) {
    if (token != sender && !SendAll(client.fd, line)) failed.push_back(token);
  }
  for (poller::Token token : failed) Drop(token);
}

void Relay::Drop(poller::Token token) {
  auto found = clients_.find(token);
  if (found == clients_.end()) return;
  // Delete before close: the number may be reused by the next accept.
  (void)poller_.Delete(found->second.fd);
  ::close(found->second.fd);
  clients_.erase(found);
}

}  // namespace consumer
