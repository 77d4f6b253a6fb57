// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/io_uring/io_uring_backend.h
// -----------------------------------------------------------------------------
//
// A Linux alternative to epoll: readiness through io_uring poll requests
// (liburing). Needs Linux 5.13 or later; Poller::Create("io_uring").
//
// Public API: IoUringBackend below. A program that wants
// the backend itself, to wrap it (a decorator that counts or logs calls) or to
// test it, depends on @poller//backends/io_uring and calls
// IoUringBackend::Create(), then hands the result to Poller::FromBackend();
// Poller::Create("io_uring") does the same without the wrapper. What follows
// is what this backend promises beyond poller/poller.h.
//
// How it works (one issuer, identity checks, the cost of each call) is
// described at the top of io_uring_backend.cc.
//
// What differs from poller.h, and what it means to a caller
//   - Create() returns Unavailable, with the reason, when io_uring is refused
//     (ENOSYS: not built in; EPERM: io_uring_disabled sysctl or a seccomp
//     filter such as Docker's default profile) or the kernel is older than
//     5.13 (no multishot poll or IORING_FEAT_EXT_ARG). It opens two
//     descriptors: the ring and an eventfd.
//   - Only the thread inside Wait submits poll requests. Add, Modify and
//     Rearm check the handle and record the change; the Wait in progress, if
//     it may block, is woken and arms it before it waits again ("takes
//     effect for a Wait in progress"), and with no Wait in progress the next
//     Wait arms it. So their errors are those of the check alone
//     (InvalidArgument, NotFound, AlreadyExists, FailedPrecondition); the
//     kernel cannot refuse them. What the kernel refuses later reaches the
//     caller: a submission refused (EAGAIN, EBUSY) stays due and the Wait
//     that tried returns the error (Unavailable) if it has no event to
//     report, and the next Wait submits it again; a poll request that fails
//     reports kError for its token and stays disarmed until Modify or
//     Rearm; one whose number was closed before it was armed ends the
//     registration silently, as epoll's last close does.
//   - Delete is never refused by the kernel: the registration is gone when
//     it returns, and its request is cancelled at once by the thread that
//     waits (or by the caller if it is that thread and no Wait is in
//     progress).
//   - A thread that calls Add, Modify, Rearm, Delete or Wake and never Wait
//     is not involved afterwards: its sleeps delay no report and its own
//     blocking calls are never interrupted. The thread that waits is the one
//     whose calls the kernel may interrupt (EINTR) when a completion arrives
//     while it is outside Wait, or when the poller is destroyed.
//   - Waiting from one thread is cheapest. When a Wait runs on another thread
//     than the previous one, it cancels and re-arms every request first
//     (O(registrations)).
//   - If the kernel had to drop completions (EBADR: no memory for its
//     overflow list), the next Wait re-arms every armed registration: no
//     oneshot or level event is lost, and an edge registration that is ready
//     is reported once more.
//   - Closed handles (a descriptor closed without Delete): a request in the
//     kernel holds its open file, so the registration keeps watching the
//     closed file while its request lives (a oneshot until it fires, an edge
//     registration until Modify, Delete, an Add of its number or the
//     poller's destruction): a socket closed without Delete is not released
//     (no FIN) until then. A poller destroyed on the thread that last waited
//     on it releases every file before the destructor returns; destroyed on
//     another thread (or in a forked child), the kernel releases them soon
//     after, from a worker. A new file that reuses the number is never
//     watched under the old registration: every arm first checks (one
//     epoll_ctl on a private set, poller/internal/open_file_set.h) that the
//     number still names the registered file. If that check itself fails
//     (ENOMEM...), the arm stays due and that Wait returns the error when it
//     has no event (after repeated EINTR it returns as interrupted); the next
//     Wait checks again. Call Delete before close.
//   - kNone interest still reports hang-up and error.
//   - Regular files, directories and O_PATH descriptors cannot be registered
//     (InvalidArgument), as with epoll; neither can the poller's own
//     descriptors.

#ifndef POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_
#define POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "poller/core/backend.h"

namespace poller {

// IoUringBackend
//
// Makes io_uring backends. Thread-safety and errors of the backend are
// Poller's (poller/poller.h); what differs is in the file comment above.
class IoUringBackend {
 public:
  static constexpr absl::string_view kName = "io_uring";

  struct Options {
    // The caller's promise that every registered handle is Deleted before
    // it is closed: a registered number is never closed (nor dup2'ed over)
    // while registered. With it the backend no longer checks, before each
    // arm and in Modify, Rearm and Delete, that the number still names the
    // registered file (one epoll_ctl each, about one system call per event
    // otherwise), and Delete does not forget the file in that check's set.
    // Broken, the promise costs what the check prevents: a file that reuses
    // a closed registered number may be watched, and reported, under the old
    // registration's token, and Modify or Delete of a closed number may
    // return OK. Everything else in this header holds either way.
    bool deleted_before_close = false;
  };

  // Errors: Unavailable when the kernel refuses io_uring or is too old (see
  // above); ResourceExhausted when out of descriptors or locked memory.
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
  static absl::StatusOr<std::unique_ptr<Backend>> Create(Options options);
};

}  // namespace poller

#endif  // POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_
