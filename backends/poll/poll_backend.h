// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/poll/poll_backend.h
// -----------------------------------------------------------------------------
//
// The portable POSIX backend: poll(2) (ppoll(2) on Linux) over a table the
// backend keeps, plus a wake source (an eventfd on Linux, a pipe elsewhere).
// Compiles on any POSIX system; the default where there is no epoll, kqueue or
// IOCP, and an alternative everywhere else (Poller::Create("poll")).
//
// Public API: PollBackend below. A program that wants the
// backend itself, to wrap it (a decorator that counts or logs calls) or to test
// it, depends on @poller//backends/poll and calls PollBackend::Create(), then
// hands the result to Poller::FromBackend(); Poller::Create("poll") does the
// same without the wrapper. What follows is what this backend promises beyond
// poller/poller.h.
//
// How it works (the table, the pollfd array, changes during a Wait) is
// described at the top of poll_backend.cc.
//
// Modes
//   kLevel       poll(2)'s own semantics.
//   kOneshot     user space: after one event the registration is left out of
//                the array until Rearm() or Modify() re-arms it.
//   kEdgeOneshot the same as kOneshot. Re-arming re-checks the readiness that
//                is already there, which is also what epoll does for
//                EPOLLET | EPOLLONESHOT on EPOLL_CTL_MOD.
//   kEdge        not supported: SupportsMode(kEdge) is false and Add/Modify
//                in it fail with Unimplemented. poll(2) reports states, never
//                changes, so "ready at this poll and at the last" cannot be
//                told from "drained to EAGAIN and refilled since". Reporting
//                it like level would busy-loop a program written for edge
//                semantics that leaves data unread on purpose; suppressing
//                the second case would lose a request for good. Use kOneshot
//                (re-armed with Modify) or kLevel instead.
//
// Semantics that differ from other backends
//   - kNone interest still reports hang-up and error: poll(2) always reports
//     POLLHUP/POLLERR.
//   - Registrations belong to descriptor numbers, not to open files. The
//     backend records which open file each registered number names
//     (poller/internal/open_file_set.h: exact on Linux for every kind of file;
//     elsewhere the file's device and inode, which cannot tell apart files
//     that have no inode of their own), so after a descriptor is closed
//     without Delete: Add of a new file that reuses the number succeeds (the
//     stale registration is replaced); Modify and Delete of it fail with
//     NotFound; Modify and Delete of the closed number fail with
//     InvalidArgument (EBADF) and drop the registration. That is what epoll
//     reports in the same cases. Meanwhile poll(2) flags the closed number
//     POLLNVAL: the registration is disarmed silently (no event: its token
//     may name something the program already freed) until Modify or Delete.
//     If the number is reused by a new file before the next poll, poll(2)
//     reports the new file's readiness; Wait checks each handle it is about
//     to report (one system call per event) and disarms the registration
//     silently instead, as epoll, which keys registrations by file, reports
//     nothing for the new file.
//   - Regular files, directories and O_PATH descriptors cannot be registered
//     (InvalidArgument), as with epoll: poll(2) would report them ready
//     forever.
//   - Hang-up: POLLHUP, and POLLRDHUP (Linux, asked with readable interest) for
//     a TCP half-close. POLLERR -> kError, POLLPRI -> kPriority.
//
// Thread-safety: as Backend requires. Wait is serialized by Poller and owns
// the pollfd array; every other method takes the table's mutex, which Wait
// never holds while blocked in the kernel.

#ifndef POLLER_BACKENDS_POLL_POLL_BACKEND_H_
#define POLLER_BACKENDS_POLL_POLL_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "poller/core/backend.h"

namespace poller {

// PollBackend
//
// Makes poll backends. Thread-safety and errors of the backend are Poller's
// (poller/poller.h); what differs is in the file comment above.
class PollBackend {
 public:
  static constexpr absl::string_view kName = "poll";

  // Errors: ResourceExhausted when out of descriptors or memory.
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
};

}  // namespace poller

#endif  // POLLER_BACKENDS_POLL_POLL_BACKEND_H_
