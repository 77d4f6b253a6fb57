// Copyright 2026 The poller Authors.

#include "backends/poll/pipe_waker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

namespace poller {
namespace {

#if defined(__APPLE__)
// macOS has no pipe2: the flags are set right after, which leaves a window in
// which a fork+exec on another thread inherits the pipe.
absl::Status SetFlags(int fd) {
  if (internal::Syscall(
          "fcntl", [&] { return ::fcntl(fd, F_SETFD, FD_CLOEXEC); }) != 0) {
    return internal::ErrnoToStatus(errno, "fcntl(F_SETFD)", fd);
  }
  const int flags =
      internal::Syscall("fcntl", [&] { return ::fcntl(fd, F_GETFL); });
  if (flags < 0 || internal::Syscall("fcntl", [&] {
                     return ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
                   }) != 0) {
    return internal::ErrnoToStatus(errno, "fcntl(F_SETFL)", fd);
  }
  return absl::OkStatus();
}
#endif

}  // namespace

absl::StatusOr<PipeWaker> PipeWaker::Create() {
  int ends[2];
#if defined(__APPLE__)
  if (internal::Syscall("pipe", [&] { return ::pipe(ends); }) != 0) {
    return internal::ErrnoToStatus(errno, "pipe");
  }
  internal::ScopedFd read_end(ends[0]);
  internal::ScopedFd write_end(ends[1]);
  for (int fd : ends) {
    absl::Status set = SetFlags(fd);
    if (!set.ok()) return set;
  }
#else
  if (internal::Syscall("pipe2", [&] {
        return ::pipe2(ends, O_CLOEXEC | O_NONBLOCK);
      }) != 0) {
    return internal::ErrnoToStatus(errno, "pipe2");
  }
  internal::ScopedFd read_end(ends[0]);
  internal::ScopedFd write_end(ends[1]);
#endif
  return PipeWaker(std::move(read_end), std::move(write_end));
}

absl::Status PipeWaker::Wake() {
  const char byte = 1;
  for (;;) {
    const ssize_t written = internal::Syscall(
        "write", [&] { return ::write(write_end_.get(), &byte, 1); });
    // A full pipe is readable already: the signal is not lost.
    if (written == 1 || (written < 0 && errno == EAGAIN)) {
      return absl::OkStatus();
    }
    if (written < 0 && errno == EINTR) continue;
    return internal::ErrnoToStatus(errno, "write(pipe)", write_end_.get());
  }
}

absl::Status PipeWaker::Drain() {
  char buffer[64];
  for (;;) {
    const ssize_t got = internal::Syscall("read", [&] {
      return ::read(read_end_.get(), buffer, sizeof(buffer));
    });
    if (got > 0) continue;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return absl::OkStatus();
    // 0 (end-of-file) cannot happen while this object holds the write end.
    return internal::ErrnoToStatus(got < 0 ? errno : EIO, "read(pipe)",
                                   read_end_.get());
  }
}

}  // namespace poller
