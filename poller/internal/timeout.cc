// Copyright 2026 The poller Authors.

#include "poller/internal/timeout.h"

#include <climits>
#include <cstdint>

namespace poller::internal {

absl::Duration NormalizeTimeout(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return absl::ZeroDuration();
  if (timeout > kLongestFiniteTimeout) return absl::InfiniteDuration();
  return timeout;
}

int TimeoutToMilliseconds(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return -1;
  if (timeout <= absl::ZeroDuration()) return 0;
  const absl::Duration cap = absl::Milliseconds(INT_MAX);
  if (timeout >= cap) return INT_MAX;
  return static_cast<int>(
      absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))));
}

bool TimeoutToTimespec(absl::Duration timeout, struct timespec* out) {
  if (timeout == absl::InfiniteDuration()) return false;
  if (timeout <= absl::ZeroDuration()) {
    out->tv_sec = 0;
    out->tv_nsec = 0;
    return true;
  }
  const absl::Duration cap = absl::Hours(24 * 365);
  if (timeout > cap) timeout = cap;
  const int64_t nanoseconds =
      absl::ToInt64Nanoseconds(absl::Ceil(timeout, absl::Nanoseconds(1)));
  out->tv_sec = static_cast<time_t>(nanoseconds / 1000000000);
  out->tv_nsec =
      static_cast<long>(nanoseconds % 1000000000);  // NOLINT(runtime/int)
  return true;
}

}  // namespace poller::internal
