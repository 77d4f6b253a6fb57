// Copyright 2026 The poller Authors.

#include "poller/internal/poll_readiness.h"

#include <cerrno>

#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

namespace poller::internal {

short PollEventsFor(Interest interest) {  // NOLINT(runtime/int)
  short events = 0;                       // NOLINT(runtime/int)
  if (HasInterest(interest, Interest::kReadable)) {
    events |= POLLIN;
#if defined(POLLRDHUP)
    events |= POLLRDHUP;
#endif
  }
  if (HasInterest(interest, Interest::kWritable)) events |= POLLOUT;
  if (HasInterest(interest, Interest::kPriority)) events |= POLLPRI;
  return events;
}

Readiness ReadinessFromPollEvents(short revents) {  // NOLINT(runtime/int)
  Readiness readiness = Readiness::kNone;
  if (revents & POLLIN) readiness |= Readiness::kReadable;
  if (revents & POLLOUT) readiness |= Readiness::kWritable;
  if (revents & POLLPRI) readiness |= Readiness::kPriority;
  if (revents & POLLHUP) readiness |= Readiness::kHangUp;
#if defined(POLLRDHUP)
  if (revents & POLLRDHUP) readiness |= Readiness::kHangUp;
#endif
  if (revents & POLLERR) readiness |= Readiness::kError;
  return readiness;
}

absl::StatusOr<Readiness> CurrentReadiness(int fd, Interest interest) {
  pollfd entry{fd, PollEventsFor(interest), 0};
  if (Syscall("poll", [&] { return ::poll(&entry, 1, 0); }) < 0) {
    return ErrnoToStatus(errno, "poll", fd);
  }
  if (entry.revents & POLLNVAL) return ErrnoToStatus(EBADF, "poll", fd);
  return ReadinessFromPollEvents(entry.revents);
}

}  // namespace poller::internal
