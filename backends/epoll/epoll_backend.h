// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/epoll/epoll_backend.h
// -----------------------------------------------------------------------------
//
// The Linux backend: one epoll instance and one eventfd.
//
// Strategy
//   Add/Modify/Delete are EPOLL_CTL_ADD/MOD/DEL with the token in
//   epoll_event.data.u64, so the kernel holds all the state and the backend
//   keeps no per-registration bookkeeping (0 bytes per registration in user
//   space; the kernel's epitem is about 128 bytes). Modes: kOneshot =
//   EPOLLONESHOT, kLevel = level-triggered, kEdge = EPOLLET, kEdgeOneshot =
//   EPOLLET | EPOLLONESHOT. Readable interest adds EPOLLRDHUP, so a TCP
//   half-close is reported as hang-up.
//   Wake: an eventfd registered EPOLLIN | EPOLLET under kReservedToken. Each
//   signal is a new edge, so the eventfd is never read on the wait path; Poller
//   coalesces wakes so a burst costs one write(2). Wait: epoll_pwait2
//   (Linux 5.11+) for nanosecond timeouts, falling back for good to epoll_wait
//   with milliseconds rounded up when the kernel or a seccomp filter refuses
//   it. At most 1024 events are taken from the kernel per call.
//
// Semantics that differ from other backends
//   - kNone interest still reports hang-up and error: epoll always reports
//   EPOLLHUP/EPOLLERR.
//   - Closing a descriptor removes its registration only when every duplicate
//   (dup, fork) of it
//     is closed too: until then events keep coming for the old token. Call
//     Delete before close.
//   - After close, Delete of the number fails (EBADF -> InvalidArgument): the
//   kernel has no way
//     to name the registration any more.
//   - Regular files and directories cannot be registered (EPERM ->
//   InvalidArgument).
//   - The same descriptor may be registered in several pollers; each reports
//   independently.
//
// Pitfalls (each pinned down by tests/faults/pitfalls_test.cc)
//   - Closing a registered descriptor without Delete: epoll keys a
//     registration by the open file, not the number. If no duplicate (dup,
//     dup2, fork, SCM_RIGHTS) of it is open, the close removes the
//     registration silently. If one is, the registration lives on and keeps
//     reporting the old token, Delete(number) fails with InvalidArgument
//     (EBADF) because the number names nothing, and a new descriptor that gets
//     the same number can be added beside it (both report). Only closing the
//     last duplicate ends it. Always Delete before close.
//   - fork() with a live poller: parent and child share one epoll instance and
//     one wake eventfd. A Wait in the child takes events (and oneshot arms)
//     from the parent; Add, Modify and Delete in the child change the parent's
//     registrations (a Delete in the child removes the parent's); a Wake in
//     either wakes the other's Wait. In the child, do not use an inherited
//     poller: destroy it (closing the child's copies touches nothing of the
//     parent's) and Create a new one. A child that execs loses them anyway
//     (every descriptor is close-on-exec).
//   - The same handle in two pollers: two independent registrations, each with
//     its own token, mode and oneshot arm; Delete from one leaves the other.

#ifndef POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_
#define POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_

#include <sys/epoll.h>

#include <memory>

#include "absl/status/statusor.h"
#include "poller/backend.h"
#include "poller/internal/eventfd_waker.h"
#include "poller/internal/scoped_fd.h"

namespace poller {

class EpollBackend final : public Backend {
 public:
  static constexpr absl::string_view kName = "epoll";

  // Errors: ResourceExhausted when out of descriptors or memory (EMFILE,
  // ENFILE, ENOMEM).
  static absl::StatusOr<std::unique_ptr<Backend>> Create();

  absl::string_view name() const override { return kName; }
  bool SupportsMode(Mode mode) const override;
  absl::Status Add(NativeHandle handle, Token token, Interest interest,
                   Mode mode) override;
  absl::Status Modify(NativeHandle handle, Token token, Interest interest,
                      Mode mode) override;
  absl::Status Delete(NativeHandle handle) override;
  absl::StatusOr<WaitResult> Wait(absl::Span<Event> events,
                                  absl::Duration timeout) override;
  absl::Status Notify() override;

 private:
  static constexpr int kMaxKernelEvents = 1024;

  EpollBackend(internal::ScopedFd epoll_fd, internal::EventFdWaker waker);

  absl::Status WakerIsNotRegistered(int operation) const;
  absl::Status Control(int operation, NativeHandle handle, Token token,
                       Interest interest, Mode mode);
  // epoll_pwait2, or epoll_wait once the kernel has refused epoll_pwait2.
  int KernelWait(int max_events, absl::Duration timeout);

  internal::ScopedFd epoll_fd_;
  internal::EventFdWaker waker_;
  // Only touched inside Wait, which Poller serializes.
  std::unique_ptr<epoll_event[]> kernel_events_;
  bool use_epoll_pwait2_ = true;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_
