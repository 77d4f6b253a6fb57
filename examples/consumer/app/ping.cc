#include "app/ping.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace consumer {
namespace {

constexpr poller::Token kPingToken = 0x70696e67;  // "ping"

// Closes both ends of a socket pair.
struct SocketPair {
  int fds[2] = {-1, -1};
  ~SocketPair() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
};

}  // namespace

absl::StatusOr<poller::Event> Ping(poller::Poller& poller,
                                   absl::Duration timeout) {
  SocketPair pair;
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                   pair.fds) != 0) {
    return absl::InternalError(
        absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  absl::Status added =
      poller.Add(pair.fds[0], kPingToken, poller::Interest::kReadable);
  if (!added.ok()) return added;
  const char byte = 'p';
  if (::write(pair.fds[1], &byte, 1) != 1) {
    return absl::InternalError(absl::StrCat("write: ", std::strerror(errno)));
  }
  poller::Events events(/*capacity=*/4);
  absl::StatusOr<size_t> count = poller.Wait(events, timeout);
  // Deleted before the pair is closed, as every backend wants.
  absl::Status deleted = poller.Delete(pair.fds[0]);
  if (!count.ok()) return count.status();
  if (!deleted.ok()) return deleted;
  for (const poller::Event& event : events) {
    if (event.token() == kPingToken) return event;
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no event within ", absl::FormatDuration(timeout)));
}

}  // namespace consumer
