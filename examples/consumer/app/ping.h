// Ping: the smallest complete use of poller. Registers one end of a socket
// pair, writes a byte into the other end, and waits for poller to report it.

#ifndef CONSUMER_APP_PING_H_
#define CONSUMER_APP_PING_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "poller/poller.h"

namespace consumer {

// Pings through `poller` and returns the event it reported.
// Errors: what socketpair(2) or poller report; DeadlineExceeded if no event
// came within `timeout`. Thread-compatible: do not share `poller` with another
// thread's Wait.
absl::StatusOr<poller::Event> Ping(poller::Poller& poller,
                                   absl::Duration timeout);

}  // namespace consumer

#endif  // CONSUMER_APP_PING_H_
