// Copyright 2026 The poller Authors.
//
// pipe_waker.h: the portable wake source where there is no eventfd (the poll
// backend off Linux; kqueue where the kernel lacks EVFILT_USER): a
// non-blocking, close-on-exec pipe. Same interface as EventFdWaker.
//
// Wake() writes one byte to the pipe, which makes its read end readable; a
// full pipe is already readable, so EAGAIN counts as success. Drain() reads
// until the pipe is empty. Thread-safe: both are single system calls on
// descriptors that never change.

#ifndef POLLER_INTERNAL_PIPE_WAKER_H_
#define POLLER_INTERNAL_PIPE_WAKER_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "poller/internal/scoped_fd.h"

namespace poller::internal {

class PipeWaker {
 public:
  // Errors: ResourceExhausted when out of descriptors (EMFILE, ENFILE).
  static absl::StatusOr<PipeWaker> Create();

  // The read end, to watch for readability.
  int fd() const { return read_end_.get(); }
  // Whether `fd` is one of the pipe's ends, which a program must not
  // register.
  bool OwnsDescriptor(int fd) const {
    return fd >= 0 && (fd == read_end_.get() || fd == write_end_.get());
  }

  absl::Status Wake();
  absl::Status Drain();

 private:
  PipeWaker(ScopedFd read_end, ScopedFd write_end)
      : read_end_(std::move(read_end)), write_end_(std::move(write_end)) {}

  ScopedFd read_end_;
  ScopedFd write_end_;
};

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_PIPE_WAKER_H_
