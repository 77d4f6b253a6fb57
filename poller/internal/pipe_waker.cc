// Copyright 2026 The poller Authors.

#include "poller/internal/pipe_waker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

namespace poller::internal {
namespace {

#if defined(__APPLE__)
// macOS has no pipe2: the flags are set right after, which leaves a window in
// which a fork+exec on another thread inherits the pipe.
absl::Status SetFlags(int fd) {
  if (Syscall("fcntl", [&] { return ::fcntl(fd, F_SETFD, FD_CLOEXEC); }) != 0) {
    return ErrnoToStatus(errno, "fcntl(F_SETFD)", fd);
  }
  const int flags = Syscall("fcntl", [&] { return ::fcntl(fd, F_GETFL); });
  if (flags < 0 || Syscall("fcntl", [&] {
                     return ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
                   }) != 0) {
    return ErrnoToStatus(errno, "fcntl(F_SETFL)", fd);
  }
  return absl::OkStatus();
}
#endif

}  // namespace

absl::StatusOr<PipeWaker> PipeWaker::Create() {
  int ends[2];
#if defined(__APPLE__)
  if (Syscall("pipe", [&] { return ::pipe(ends); }) != 0) {
    return ErrnoToStatus(errno, "pipe");
  }
  ScopedFd read_end(ends[0]);
  ScopedFd write_end(ends[1]);
  for (int fd : ends) {
    absl::Status set = SetFlags(fd);
    if (!set.ok()) return set;
  }
#else
  if (Syscall("pipe2", [&] { return ::pipe2(ends, O_CLOEXEC | O_NONBLOCK); }) !=
      0) {
    return ErrnoToStatus(errno, "pipe2");
  }
  ScopedFd read_end(ends[0]);
  ScopedFd write_end(ends[1]);
#endif
  return PipeWaker(std::move(read_end), std::move(write_end));
}

absl::Status PipeWaker::Wake() {
  const char byte = 1;
  for (;;) {
    const ssize_t written =
        Syscall("write", [&] { return ::write(write_end_.get(), &byte, 1); });
    // A full pipe is readable already: the signal is not lost.
    if (written == 1 || (written < 0 && errno == EAGAIN)) {
      return absl::OkStatus();
    }
    if (written < 0 && errno == EINTR) continue;
    return ErrnoToStatus(errno, "write(pipe)", write_end_.get());
  }
}

absl::Status PipeWaker::Drain() {
  char buffer[64];
  for (;;) {
    const ssize_t got = Syscall("read", [&] {
      return ::read(read_end_.get(), buffer, sizeof(buffer));
    });
    if (got > 0) continue;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return absl::OkStatus();
    // 0 (end-of-file) cannot happen while this object holds the write end.
    return ErrnoToStatus(got < 0 ? errno : EIO, "read(pipe)", read_end_.get());
  }
}

}  // namespace poller::internal
