// Copyright 2026 The poller Authors.
//
// pipe_waker.h: the portable wake source for the poll backend where there is
// no eventfd (macOS, the BSDs, other POSIX systems): a non-blocking,
// close-on-exec pipe. Same interface as internal::EventFdWaker.
//
// Wake() writes one byte to the pipe, which makes its read end readable; a
// full pipe is already readable, so EAGAIN counts as success. Drain() reads
// until the pipe is empty. Thread-safe: both are single system calls on
// descriptors that never change.

#ifndef POLLER_BACKENDS_POLL_PIPE_WAKER_H_
#define POLLER_BACKENDS_POLL_PIPE_WAKER_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "poller/internal/scoped_fd.h"

namespace poller {

class PipeWaker {
 public:
  // Errors: ResourceExhausted when out of descriptors (EMFILE, ENFILE).
  static absl::StatusOr<PipeWaker> Create();

  // The read end, to watch for readability.
  int fd() const { return read_end_.get(); }

  absl::Status Wake();
  absl::Status Drain();

 private:
  PipeWaker(internal::ScopedFd read_end, internal::ScopedFd write_end)
      : read_end_(std::move(read_end)), write_end_(std::move(write_end)) {}

  internal::ScopedFd read_end_;
  internal::ScopedFd write_end_;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_POLL_PIPE_WAKER_H_
