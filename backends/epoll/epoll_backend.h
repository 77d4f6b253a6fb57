// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/epoll/epoll_backend.h
// -----------------------------------------------------------------------------
//
// The Linux backend: one epoll instance and one eventfd.
//
// Public API: EpollBackend below. A program that wants
// the backend itself, to wrap it (a decorator that counts or logs calls) or to
// test it, depends on @poller//backends/epoll and calls EpollBackend::Create()
// (or Create(Options), to choose the oneshot strategy), then hands the result
// to Poller::FromBackend(); Poller::Create("epoll") does the same without the
// wrapper. What follows is what this backend promises beyond poller/poller.h.
//
// How it works (strategy, the oneshot without a system call per event,
// memory, threads, changes during a Wait) is described at the top of
// epoll_backend.cc.
//
// Semantics that differ from other backends
//   - kNone interest still reports hang-up and error: epoll always reports
//     EPOLLHUP/EPOLLERR.
//   - Closing a descriptor removes its kernel registration only when every
//     duplicate (dup, fork) of it is closed too: until then events keep coming
//     for the old token. Call Delete before close. After a close without
//     Delete, Modify may still report success (a re-arm does not enter the
//     kernel), Delete reports InvalidArgument (EBADF: the kernel cannot name
//     the registration any more), and Add of a new descriptor with the same
//     number works.
//   - Regular files and directories cannot be registered (EPERM ->
//     InvalidArgument).
//   - The same descriptor may be registered in several pollers; each reports
//     independently.
//
// Pitfalls (each pinned down by tests/faults/pitfalls_test.cc)
//   - Closing a registered descriptor without Delete: epoll keys a
//     registration by the open file, not the number. If no duplicate (dup,
//     dup2, fork, SCM_RIGHTS) of it is open, the close removes the
//     registration silently. If one is, the registration lives on and keeps
//     reporting the old token, Delete(number) fails with InvalidArgument
//     (EBADF) because the number names nothing, and a new descriptor that gets
//     the same number can be added beside it (the kernel then holds both; the
//     table names the new one, so Wait drops the old one's events and, when
//     one comes back, rebuilds the kernel set without it: see above). Always
//     Delete before close.
//   - fork() with a live poller: parent and child share one epoll instance and
//     one wake eventfd (the table is copied). A Wait in the child sees the
//     parent's events (and takes edge-triggered ones from it); Add, Modify and
//     Delete in the child change the shared kernel registrations (a Delete in
//     the child removes the parent's); a Wake in either wakes the other's
//     Wait. In the child, do not use an inherited poller: destroy it (closing
//     the child's copies touches nothing of the parent's) and Create a new
//     one. A child that execs loses them anyway (every descriptor is
//     close-on-exec).
//   - The same handle in two pollers: two independent registrations, each with
//     its own token, mode and oneshot arm; Delete from one leaves the other.

#ifndef POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_
#define POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "poller/core/backend.h"

namespace poller {

// EpollBackend
//
// Makes epoll backends. Thread-safety and errors of the backend are Poller's
// (poller/poller.h); what differs is in the file comment above.
class EpollBackend {
 public:
  static constexpr absl::string_view kName = "epoll";

  // How oneshot and edge-oneshot registrations are disarmed (see the top of
  // epoll_backend.cc).
  enum class OneshotStrategy {
    kLazy,    // In user space; the kernel is told only when needed.
    kKernel,  // EPOLLONESHOT: one EPOLL_CTL_MOD per re-arm.
  };
  struct Options {
    OneshotStrategy oneshot = OneshotStrategy::kLazy;
  };

  // Errors: ResourceExhausted when out of descriptors or memory (EMFILE,
  // ENFILE, ENOMEM).
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
  static absl::StatusOr<std::unique_ptr<Backend>> Create(Options options);
};

}  // namespace poller

#endif  // POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_
