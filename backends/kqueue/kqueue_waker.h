// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/kqueue/kqueue_waker.h
// -----------------------------------------------------------------------------
//
// The kqueue backend's wake source, kept apart from the queue (as mio's
// sys/unix/waker/ does): an EVFILT_USER event where the kernel has one (macOS,
// FreeBSD, DragonFly, NetBSD 10+, and current OpenBSD: its sys/event.h 1.74,
// of 2025, has it), else a non-blocking pipe whose read end is watched with
// EVFILT_READ (older OpenBSD and NetBSD, or headers newer than the kernel).
//
// EVFILT_USER costs no descriptor: Wake() is one kevent(NOTE_TRIGGER) and the
// event clears itself when delivered (EV_CLEAR). The pipe costs two
// descriptors; Wake() writes a byte and the Wait that sees it calls Consume()
// to read the pipe empty, so the pipe never fills up (Poller signals at most
// once per returned Wait).
//
// Thread-safety: Wake() may be called from any thread at any time;
// IsWakeEvent() and Consume() only from the thread inside Wait.

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_WAKER_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_WAKER_H_

#include <sys/types.h>
// sys/event.h needs sys/types.h first on the BSDs.
#include <sys/event.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "poller/internal/pipe_waker.h"

namespace poller::internal {

class KqueueWaker {
 public:
  // Registers the wake source in `kqueue_fd` (which must outlive the waker),
  // trying EVFILT_USER first and falling back to a pipe when the headers or the
  // running kernel lack it. Errors: ResourceExhausted (EMFILE, ENFILE, ENOMEM).
  static absl::StatusOr<KqueueWaker> Create(int kqueue_fd);

  KqueueWaker(KqueueWaker&&) = default;
  KqueueWaker& operator=(KqueueWaker&&) = default;

  // Makes the kqueue report a wake event. Errors: what kevent or write report.
  absl::Status Wake();

  // Whether a kernel event is the wake source's.
  bool IsWakeEvent(const struct kevent& event) const;

  // Called by Wait for each wake event: empties the pipe (nothing to do for
  // EVFILT_USER, which clears itself).
  void Consume();

  // True if `fd` is one of the waker's own descriptors (the pipe's ends), which
  // a caller must not register or remove.
  bool OwnsDescriptor(int fd) const {
    return pipe_.has_value() && pipe_->OwnsDescriptor(fd);
  }

 private:
  KqueueWaker(int kqueue_fd, absl::optional<PipeWaker> pipe)
      : kqueue_fd_(kqueue_fd), pipe_(std::move(pipe)) {}

  bool uses_pipe() const { return pipe_.has_value(); }

  int kqueue_fd_;
  // Empty when EVFILT_USER is in use.
  absl::optional<PipeWaker> pipe_;
};

}  // namespace poller::internal

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_WAKER_H_
