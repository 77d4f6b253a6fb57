// Copyright 2026 The poller Authors.

#include "backends/epoll/epoll_backend.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

std::uint32_t ToEpollEvents(Interest interest, Mode mode) {
  std::uint32_t events = 0;
  if (HasInterest(interest, Interest::kReadable))
    events |= EPOLLIN | EPOLLRDHUP;
  if (HasInterest(interest, Interest::kWritable)) events |= EPOLLOUT;
  if (HasInterest(interest, Interest::kPriority)) events |= EPOLLPRI;
  switch (mode) {
    case Mode::kOneshot:
      events |= EPOLLONESHOT;
      break;
    case Mode::kLevel:
      break;
    case Mode::kEdge:
      events |= EPOLLET;
      break;
    case Mode::kEdgeOneshot:
      events |= EPOLLET | EPOLLONESHOT;
      break;
  }
  return events;
}

Readiness FromEpollEvents(std::uint32_t events) {
  Readiness readiness = Readiness::kNone;
  if (events & EPOLLIN) readiness |= Readiness::kReadable;
  if (events & EPOLLOUT) readiness |= Readiness::kWritable;
  if (events & EPOLLPRI) readiness |= Readiness::kPriority;
  if (events & (EPOLLHUP | EPOLLRDHUP)) readiness |= Readiness::kHangUp;
  if (events & EPOLLERR) readiness |= Readiness::kError;
  return readiness;
}

const char* OperationName(int operation) {
  switch (operation) {
    case EPOLL_CTL_ADD:
      return "epoll_ctl(EPOLL_CTL_ADD)";
    case EPOLL_CTL_MOD:
      return "epoll_ctl(EPOLL_CTL_MOD)";
    default:
      return "epoll_ctl(EPOLL_CTL_DEL)";
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> EpollBackend::Create() {
  internal::ScopedFd epoll_fd(internal::Syscall(
      "epoll_create1", [] { return ::epoll_create1(EPOLL_CLOEXEC); }));
  if (!epoll_fd.valid()) return internal::ErrnoToStatus(errno, "epoll_create1");

  absl::StatusOr<internal::EventFdWaker> waker =
      internal::EventFdWaker::Create();
  if (!waker.ok()) return waker.status();

  epoll_event wake_event{};
  wake_event.events = EPOLLIN | EPOLLET;
  wake_event.data.u64 = kReservedToken;
  const int wake_fd = waker->fd();
  if (internal::Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd, &wake_event);
      }) != 0) {
    return internal::ErrnoToStatus(errno, "epoll_ctl(EPOLL_CTL_ADD) eventfd",
                                   wake_fd);
  }
  return std::unique_ptr<Backend>(
      new EpollBackend(std::move(epoll_fd), *std::move(waker)));
}

EpollBackend::EpollBackend(internal::ScopedFd epoll_fd,
                           internal::EventFdWaker waker)
    : epoll_fd_(std::move(epoll_fd)),
      waker_(std::move(waker)),
      kernel_events_(new epoll_event[kMaxKernelEvents]) {}

bool EpollBackend::SupportsMode(Mode) const { return true; }

absl::Status EpollBackend::WakerIsNotRegistered(int operation) const {
  // The wake source is the poller's own: a caller who guessed its number must
  // not change it.
  if (operation == EPOLL_CTL_ADD) {
    return absl::AlreadyExistsError(
        absl::StrCat(OperationName(operation), " fd ", waker_.fd(),
                     ": it is the poller's own wake descriptor"));
  }
  return absl::NotFoundError(absl::StrCat(
      OperationName(operation), " fd ", waker_.fd(),
      ": not registered (it is the poller's own wake descriptor)"));
}

absl::Status EpollBackend::Control(int operation, NativeHandle handle,
                                   Token token, Interest interest, Mode mode) {
  if (handle == waker_.fd()) return WakerIsNotRegistered(operation);
  epoll_event event{};
  event.events = ToEpollEvents(interest, mode);
  event.data.u64 = token;
  if (internal::Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(epoll_fd_.get(), operation, handle, &event);
      }) == 0) {
    return absl::OkStatus();
  }
  const int error = errno;
  if (error == EPERM) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kInvalidArgument, error, OperationName(operation),
        handle,
        "this kind of file cannot be polled (a regular file or directory?)");
  }
  if (error == EINVAL && handle == epoll_fd_.get()) {
    return internal::ErrnoToStatus(absl::StatusCode::kInvalidArgument, error,
                                   OperationName(operation), handle,
                                   "a poller cannot watch itself");
  }
  return internal::ErrnoToStatus(error, OperationName(operation), handle);
}

absl::Status EpollBackend::Add(NativeHandle handle, Token token,
                               Interest interest, Mode mode) {
  return Control(EPOLL_CTL_ADD, handle, token, interest, mode);
}

absl::Status EpollBackend::Modify(NativeHandle handle, Token token,
                                  Interest interest, Mode mode) {
  return Control(EPOLL_CTL_MOD, handle, token, interest, mode);
}

absl::Status EpollBackend::Delete(NativeHandle handle) {
  if (handle == waker_.fd()) return WakerIsNotRegistered(EPOLL_CTL_DEL);
  if (internal::Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, handle, nullptr);
      }) == 0) {
    return absl::OkStatus();
  }
  const int error = errno;
  // The kernel checks the kind of file before the operation, so deleting a
  // regular file fails as adding one does, not with NotFound.
  if (error == EPERM) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kInvalidArgument, error, OperationName(EPOLL_CTL_DEL),
        handle,
        "this kind of file cannot be polled (a regular file or directory?)");
  }
  return internal::ErrnoToStatus(error, OperationName(EPOLL_CTL_DEL), handle);
}

int EpollBackend::KernelWait(int max_events, absl::Duration timeout) {
#if defined(SYS_epoll_pwait2)
  if (use_epoll_pwait2_) {
    struct timespec timespec;
    const bool finite = internal::TimeoutToTimespec(timeout, &timespec);
    int count = internal::Syscall("epoll_pwait2", [&] {
      return static_cast<int>(
          ::syscall(SYS_epoll_pwait2, epoll_fd_.get(), kernel_events_.get(),
                    max_events, finite ? &timespec : nullptr, nullptr, 0));
    });
    // ENOSYS: kernel older than 5.11; EPERM: a seccomp filter that predates the
    // call.
    if (count >= 0 || (errno != ENOSYS && errno != EPERM)) return count;
    use_epoll_pwait2_ = false;
  }
#endif
  return internal::Syscall("epoll_wait", [&] {
    return ::epoll_wait(epoll_fd_.get(), kernel_events_.get(), max_events,
                        internal::TimeoutToMilliseconds(timeout));
  });
}

absl::StatusOr<WaitResult> EpollBackend::Wait(absl::Span<Event> events,
                                              absl::Duration timeout) {
  WaitResult result;
  const int max_events =
      static_cast<int>(std::min<size_t>(events.size(), kMaxKernelEvents));
  const int count = KernelWait(max_events, timeout);
  if (count < 0) {
    if (errno == EINTR) {
      result.interrupted = true;
      return result;
    }
    return internal::ErrnoToStatus(
        errno, use_epoll_pwait2_ ? "epoll_pwait2" : "epoll_wait",
        epoll_fd_.get());
  }
  for (int i = 0; i < count; ++i) {
    const epoll_event& kernel_event = kernel_events_[i];
    if (kernel_event.data.u64 == kReservedToken) {
      result.woken = true;
      continue;
    }
    events[result.count++] =
        Event(kernel_event.data.u64, FromEpollEvents(kernel_event.events));
  }
  return result;
}

absl::Status EpollBackend::Notify() { return waker_.Signal(); }

}  // namespace poller
