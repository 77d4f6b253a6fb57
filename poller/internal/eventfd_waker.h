// Copyright 2026 The poller Authors.
//
// eventfd_waker.h: the Linux wake source, an eventfd (one descriptor, 8 bytes
// of kernel state).
//
// Wake() adds 1 to the counter, which makes the eventfd readable. Backends
// that register it edge-triggered (epoll) never need to read it: each write is
// a new edge. Backends that watch it level-triggered (poll) call Drain() when
// they see it readable.

#ifndef POLLER_INTERNAL_EVENTFD_WAKER_H_
#define POLLER_INTERNAL_EVENTFD_WAKER_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "poller/internal/scoped_fd.h"

namespace poller::internal {

class EventFdWaker {
 public:
  // A non-blocking, close-on-exec eventfd. Errors: ResourceExhausted (EMFILE,
  // ENFILE, ENOMEM).
  static absl::StatusOr<EventFdWaker> Create();

  int fd() const { return fd_.get(); }

  // Makes the eventfd readable. If its counter is full (after 2^64-2 unread
  // signals) it is reset first, so a signal is never refused.
  absl::Status Wake();

  // Resets the counter to zero, so a level-triggered watcher stops seeing it
  // readable.
  absl::Status Drain();

 private:
  explicit EventFdWaker(ScopedFd fd) : fd_(std::move(fd)) {}

  ScopedFd fd_;
};

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_EVENTFD_WAKER_H_
