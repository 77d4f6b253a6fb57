// Copyright 2026 The poller Authors.
//
// README.md quotes EchoUntilClosed() from this file: keep them in step.

#include "examples/echo_until_closed.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace poller_example {
namespace {

// Reads what is there and echoes it, until the socket would block (true) or
// the peer has closed (false: end of file, or an error).
bool EchoWhatIsThere(int socket_fd) {
  char buffer[4096];
  for (;;) {
    const ssize_t received = ::recv(socket_fd, buffer, sizeof(buffer), 0);
    if (received > 0) {
      // A real server keeps what the peer cannot take yet and asks for
      // writable interest; the tests' peer always takes it.
      for (ssize_t sent = 0; sent < received;) {
        const ssize_t n =
            ::send(socket_fd, buffer + sent, received - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR) return false;
        if (n > 0) sent += n;
      }
      continue;
    }
    if (received < 0 && errno == EINTR) continue;
    return received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

}  // namespace

// [README example begins]
absl::Status EchoUntilClosed(poller::Poller& poller, int socket_fd) {
  // Oneshot (the default mode): reported once, then silent until re-armed.
  const poller::Token token = 1;
  absl::Status added =
      poller.Add(socket_fd, token, poller::Interest::kReadable);
  if (!added.ok()) return added;

  poller::Events events(/*capacity=*/64);  // Reused; Wait never allocates.
  for (;;) {
    absl::StatusOr<size_t> count =
        poller.Wait(events, absl::InfiniteDuration());
    if (!count.ok()) return count.status();  // Cancelled after Shutdown().
    for (const poller::Event& event : events) {
      // Readiness bits arrive together: a peer that writes and closes is one
      // event, readable and hang-up. Read first, or the last data is lost.
      const bool open = EchoWhatIsThere(socket_fd);
      if (!open || event.hang_up() || event.error()) {
        return poller.Delete(socket_fd);  // Before the caller closes it.
      }
      absl::Status rearmed = poller.Rearm(socket_fd);  // Same token, interest.
      if (!rearmed.ok()) return rearmed;
    }
  }
}
// [README example ends]

}  // namespace poller_example
