// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: examples/echo_until_closed.h
// -----------------------------------------------------------------------------
//
// The example in README.md and poller/poller.h, compiled and tested
// (examples/echo_until_closed_test.cc runs it against a peer that writes and
// closes at once).

#ifndef POLLER_EXAMPLES_ECHO_UNTIL_CLOSED_H_
#define POLLER_EXAMPLES_ECHO_UNTIL_CLOSED_H_

#include "absl/status/status.h"
#include "poller/poller.h"

namespace poller_example {

// Echoes everything a connected, non-blocking socket receives back to it,
// until the peer closes its end; then returns OK. Returns Cancelled if
// another thread calls poller.Shutdown() first.
absl::Status EchoUntilClosed(poller::Poller& poller, int socket_fd);

}  // namespace poller_example

#endif  // POLLER_EXAMPLES_ECHO_UNTIL_CLOSED_H_
