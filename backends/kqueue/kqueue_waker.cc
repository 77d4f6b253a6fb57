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

#if defined(__APPLE__)
// Sets close-on-exec and non-blocking on `fd`, for systems without pipe2.
bool SetPipeFlags(int fd) {
  return Syscall("fcntl", [&] { return ::fcntl(fd, F_SETFD, FD_CLOEXEC); }) !=
             -1 &&
         Syscall("fcntl", [&] { return ::fcntl(fd, F_SETFL, O_NONBLOCK); }) !=
             -1;
}
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
    return KqueueWaker(kqueue_fd, ScopedFd(), ScopedFd());
  }
  // Headers newer than the running kernel: fall back to the pipe.
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    return ErrnoToStatus(errno, "kevent(EVFILT_USER, EV_ADD)", kqueue_fd);
  }
#endif
  int ends[2];
#if defined(__APPLE__)
  // macOS has no pipe2; it also has EVFILT_USER, so this is never reached
  // there, but it must compile. Another thread's fork+exec between pipe and
  // fcntl could inherit the ends.
  if (Syscall("pipe", [&] { return ::pipe(ends); }) != 0) {
    return ErrnoToStatus(errno, "pipe");
  }
  ScopedFd read_end(ends[0]);
  ScopedFd write_end(ends[1]);
  if (!SetPipeFlags(read_end.get()) || !SetPipeFlags(write_end.get())) {
    return ErrnoToStatus(errno, "fcntl(pipe)", read_end.get());
  }
#else
  if (Syscall("pipe2", [&] { return ::pipe2(ends, O_CLOEXEC | O_NONBLOCK); }) !=
      0) {
    return ErrnoToStatus(errno, "pipe2");
  }
  ScopedFd read_end(ends[0]);
  ScopedFd write_end(ends[1]);
#endif
  struct kevent change = MakeChange(static_cast<uintptr_t>(read_end.get()),
                                    EVFILT_READ, EV_ADD | EV_CLEAR, 0);
  if (Syscall("kevent", [&] {
        return ::kevent(kqueue_fd, &change, 1, nullptr, 0, nullptr);
      }) != 0) {
    return ErrnoToStatus(errno, "kevent(EVFILT_READ, EV_ADD) wake pipe",
                         read_end.get());
  }
  return KqueueWaker(kqueue_fd, std::move(read_end), std::move(write_end));
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
  const char byte = 1;
  for (;;) {
    const ssize_t written = Syscall("write", [&] {
      return ::write(write_end_.get(), &byte, sizeof(byte));
    });
    if (written == sizeof(byte)) return absl::OkStatus();
    // A full pipe is already readable: the wake cannot be lost.
    if (written < 0 && errno == EAGAIN) return absl::OkStatus();
    if (written < 0 && errno == EINTR) continue;
    return ErrnoToStatus(errno, "write(wake pipe)", write_end_.get());
  }
}

bool KqueueWaker::IsWakeEvent(const struct kevent& event) const {
  if (uses_pipe()) {
    return event.filter == EVFILT_READ &&
           event.ident == static_cast<uintptr_t>(read_end_.get());
  }
#if defined(EVFILT_USER)
  return event.filter == EVFILT_USER && event.ident == kUserEventIdent;
#else
  return false;
#endif
}

void KqueueWaker::Consume() {
  if (!uses_pipe()) return;
  char buffer[64];
  for (;;) {
    const ssize_t got = Syscall("read", [&] {
      return ::read(read_end_.get(), buffer, sizeof(buffer));
    });
    // Empty (EAGAIN), or a failure a later wake would hit again: either way
    // the wake itself was seen, and the pipe holds at most one byte per Wait.
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || static_cast<size_t>(got) < sizeof(buffer)) return;
  }
}

}  // namespace poller::internal
