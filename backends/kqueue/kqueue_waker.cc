// Copyright 2026 The poller Authors.

#include "backends/kqueue/kqueue_waker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

namespace poller::internal {
namespace {

#if defined(EVFILT_USER)
// EVFILT_USER idents are a namespace of their own (a kqueue keys its events by
// ident and filter), so 0 cannot collide with descriptor 0.
constexpr uintptr_t kUserEventIdent = 0;
#endif

// EV_SET's casts differ between systems (NetBSD's reject nullptr in C++).
struct kevent MakeChange(uintptr_t ident, int filter, unsigned flags,
                         unsigned fflags) {
  struct kevent change {};
  change.ident = ident;
  change.filter = static_cast<decltype(change.filter)>(filter);
  change.flags = static_cast<decltype(change.flags)>(flags);
  change.fflags = static_cast<decltype(change.fflags)>(fflags);
  return change;
}

}  // namespace

absl::StatusOr<KqueueWaker> KqueueWaker::Create(int kqueue_fd) {
#if defined(EVFILT_USER)
  struct kevent user_event =
      MakeChange(kUserEventIdent, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_FFNOP);
  if (Syscall("kevent", [&] {
        return ::kevent(kqueue_fd, &user_event, 1, nullptr, 0, nullptr);
      }) == 0) {
    return KqueueWaker(kqueue_fd, absl::nullopt);
  }
  // Headers newer than the running kernel: fall back to the pipe.
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    return ErrnoToStatus(errno, "kevent(EVFILT_USER, EV_ADD)", kqueue_fd);
  }
#endif
  absl::StatusOr<PipeWaker> pipe = PipeWaker::Create();
  if (!pipe.ok()) return pipe.status();
  struct kevent change = MakeChange(static_cast<uintptr_t>(pipe->fd()),
                                    EVFILT_READ, EV_ADD | EV_CLEAR, 0);
  if (Syscall("kevent", [&] {
        return ::kevent(kqueue_fd, &change, 1, nullptr, 0, nullptr);
      }) != 0) {
    return ErrnoToStatus(errno, "kevent(EVFILT_READ, EV_ADD) wake pipe",
                         pipe->fd());
  }
  return KqueueWaker(kqueue_fd, *std::move(pipe));
}

absl::Status KqueueWaker::Wake() {
  if (!uses_pipe()) {
#if defined(EVFILT_USER)
    struct kevent change =
        MakeChange(kUserEventIdent, EVFILT_USER, 0, NOTE_TRIGGER);
    for (;;) {
      if (Syscall("kevent", [&] {
            return ::kevent(kqueue_fd_, &change, 1, nullptr, 0, nullptr);
          }) == 0) {
        return absl::OkStatus();
      }
      if (errno != EINTR) break;
    }
    return ErrnoToStatus(errno, "kevent(EVFILT_USER, NOTE_TRIGGER)",
                         kqueue_fd_);
#endif
  }
  return pipe_->Wake();
}

bool KqueueWaker::IsWakeEvent(const struct kevent& event) const {
  if (uses_pipe()) {
    return event.filter == EVFILT_READ &&
           event.ident == static_cast<uintptr_t>(pipe_->fd());
  }
#if defined(EVFILT_USER)
  return event.filter == EVFILT_USER && event.ident == kUserEventIdent;
#else
  return false;
#endif
}

void KqueueWaker::Consume() {
  // A failure a later wake would hit again: the wake itself was seen, and the
  // pipe holds at most one byte per Wait.
  if (uses_pipe()) (void)pipe_->Drain();
}

}  // namespace poller::internal
