// Copyright 2026 The poller Authors.

#include "poller/internal/eventfd_waker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

namespace poller::internal {

absl::StatusOr<EventFdWaker> EventFdWaker::Create() {
  int fd = Syscall("eventfd",
                   [] { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); });
  if (fd < 0) return ErrnoToStatus(errno, "eventfd");
  return EventFdWaker(ScopedFd(fd));
}

absl::Status EventFdWaker::Wake() {
  const std::uint64_t one = 1;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t written =
        Syscall("write", [&] { return ::write(fd_.get(), &one, sizeof(one)); });
    if (written == sizeof(one)) return absl::OkStatus();
    if (errno == EINTR) continue;
    if (errno != EAGAIN) break;
    // The counter is full: reset it and signal again.
    absl::Status drained = Drain();
    if (!drained.ok()) return drained;
  }
  return ErrnoToStatus(errno, "write(eventfd)", fd_.get());
}

absl::Status EventFdWaker::Drain() {
  std::uint64_t value;
  for (;;) {
    ssize_t got = Syscall(
        "read", [&] { return ::read(fd_.get(), &value, sizeof(value)); });
    if (got == sizeof(value) || (got < 0 && errno == EAGAIN)) {
      return absl::OkStatus();
    }
    if (got < 0 && errno == EINTR) continue;
    return ErrnoToStatus(errno, "read(eventfd)", fd_.get());
  }
}

}  // namespace poller::internal
