// Copyright 2026 The poller Authors.
//
// poll_readiness.h: the one mapping between poller's Interest/Readiness and
// poll(2)'s event bits, and a zero-timeout readiness check built on it.
//
// The poll backend polls with it; epoll uses the check to re-examine an event
// the kernel reported before a concurrent Modify changed the registration.

#ifndef POLLER_INTERNAL_POLL_READINESS_H_
#define POLLER_INTERNAL_POLL_READINESS_H_

#include <poll.h>

#include "absl/status/statusor.h"
#include "poller/core/types.h"

namespace poller::internal {

// The poll(2) events that ask for `interest`. Readable interest includes
// POLLRDHUP where the platform has it, so a TCP half-close is hang-up.
short PollEventsFor(Interest interest);  // NOLINT(runtime/int)

// What poll(2)'s `revents` report, as poller's Readiness (POLLNVAL maps to
// nothing: the caller decides what a closed descriptor means).
Readiness ReadinessFromPollEvents(short revents);  // NOLINT(runtime/int)

// CurrentReadiness
//
// What `fd` is ready for now, among `interest` plus hang-up and error (which
// poll(2) always reports), without blocking: one poll(2) with a zero timeout,
// made through the system-call seam.
//
// Errors: InvalidArgument (EBADF) if `fd` is not open; otherwise what poll(2)
// reports (EINTR and ENOMEM are passing: retrying may succeed).
absl::StatusOr<Readiness> CurrentReadiness(int fd, Interest interest);

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_POLL_READINESS_H_
