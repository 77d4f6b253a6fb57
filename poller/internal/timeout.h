// Copyright 2026 The poller Authors.
//
// timeout.h: the one place where an absl::Duration timeout becomes what a
// system call takes.
//
// Every conversion rounds up, never down: poller promises that Wait never
// returns before its timeout unless something happened, and a kernel that is
// handed 0 ms for a 100 µs timeout returns at once. (absl::ToInt64Milliseconds
// truncates, hence these helpers.)

#ifndef POLLER_INTERNAL_TIMEOUT_H_
#define POLLER_INTERNAL_TIMEOUT_H_

#include <time.h>

#include "absl/time/time.h"

namespace poller::internal {

// Finite timeouts longer than this (a century) are taken as infinite: a
// steady-clock deadline a few centuries ahead no longer fits the clock's 64-bit
// nanosecond count, and wrapping it would put the deadline in the past.
inline constexpr absl::Duration kLongestFiniteTimeout = absl::Hours(24 * 36525);

// What Wait does with `timeout`: zero for zero or negative (poll without
// blocking), absl::InfiniteDuration() for infinite or anything longer than
// kLongestFiniteTimeout, `timeout` otherwise.
absl::Duration NormalizeTimeout(absl::Duration timeout);

// Milliseconds for epoll_wait/poll: -1 for absl::InfiniteDuration(), 0 for zero
// or negative, otherwise the duration rounded up to a whole millisecond and
// capped at INT_MAX (about 24 days; a longer finite timeout simply wakes early
// and Poller waits out the rest).
int TimeoutToMilliseconds(absl::Duration timeout);

// A timespec for epoll_pwait2/ppoll/kevent/io_uring. Returns false for
// absl::InfiniteDuration() (pass a null pointer to the call); zero or negative
// becomes {0, 0}; the rest is exact to the nanosecond, rounded up, and capped
// at a year.
bool TimeoutToTimespec(absl::Duration timeout, struct timespec* out);

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_TIMEOUT_H_
