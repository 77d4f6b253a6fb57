// Copyright 2026 The poller Authors.

#include "poller/internal/scoped_fd.h"

#include <unistd.h>

namespace poller::internal {

void ScopedFd::Reset(int fd) {
  // Not retried on EINTR: on Linux the descriptor is released even then, and a
  // retry could close a descriptor another thread has just been given.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace poller::internal
