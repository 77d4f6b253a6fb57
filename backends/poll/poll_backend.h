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
// Public API: the public members of PollBackend below. A program that wants the
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

#include <poll.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "poller/core/backend.h"
#include "poller/internal/open_file_set.h"
#include "poller/internal/registration_errors.h"

#if defined(__linux__)
#include "poller/internal/eventfd_waker.h"
#else
#include "poller/internal/pipe_waker.h"
#endif

namespace poller {

class PollBackend final : public Backend {
 public:
  static constexpr absl::string_view kName = "poll";

  // Errors: ResourceExhausted when out of descriptors or memory.
  static absl::StatusOr<std::unique_ptr<Backend>> Create();

  absl::string_view name() const override { return kName; }
  bool SupportsMode(Mode mode) const override;
  absl::Status Add(NativeHandle handle, Token token, Interest interest,
                   Mode mode) override;
  absl::Status Modify(NativeHandle handle, Token token, Interest interest,
                      Mode mode) override;
  absl::Status Delete(NativeHandle handle) override;
  absl::Status Rearm(NativeHandle handle) override;
  absl::StatusOr<WaitResult> Wait(absl::Span<Event> events,
                                  absl::Duration timeout) override;
  absl::Status Wake() override;
  // ppoll(2) takes a timespec; poll(2), elsewhere, milliseconds.
  absl::Duration timeout_resolution() const override {
#if defined(__linux__)
    return absl::Nanoseconds(1);
#else
    return absl::Milliseconds(1);
#endif
  }

 private:
#if defined(__linux__)
  using Waker = internal::EventFdWaker;
#else
  using Waker = internal::PipeWaker;
#endif

  struct Registration {
    Token token;
    Interest interest;
    Mode mode;
    // False once a oneshot registration fired or its descriptor was found
    // closed; true again after Modify or Rearm.
    bool armed;
    // Changes with every Add and Modify, so Wait can tell whether a result
    // belongs to the registration as it is now.
    std::uint64_t serial;
  };

  // What the pollfd at the same index was built from.
  struct Slot {
    int fd;
    std::uint64_t serial;
  };

  PollBackend(Waker waker, internal::OpenFileSet files);

  // Modify, or Rearm (`operation` kRearm: the registration's own token,
  // interest and mode are used, and the arguments ignored).
  absl::Status ChangeRegistration(internal::Operation operation,
                                  NativeHandle handle, Token token,
                                  Interest interest, Mode mode);

  // Keeps spare arrays big enough for `registrations` entries plus the waker.
  void ReserveLocked(size_t registrations);
  // Bumps the table version and, if a waiter is blocked, makes it rebuild.
  void ChangedLocked();
  // Refills the pollfd array from the table. Never allocates.
  void RebuildLocked();
  int KernelPoll(absl::Duration timeout);
  // What slot `slot` of the last poll became: true, with `event` written, if
  // it is delivered; false if the slot's registration changed since the array
  // was built, the file behind the number was closed or replaced, or nothing
  // is left to report. Disarms a oneshot registration it delivers.
  bool TranslateLocked(size_t slot, Event* event);

  Waker waker_;
  // Which open file each registered number names. Guarded by mutex_.
  internal::OpenFileSet files_;

  std::mutex mutex_;
  // Guarded by mutex_.
  absl::flat_hash_map<int, Registration> registrations_;
  std::uint64_t table_version_ = 1;
  std::uint64_t next_serial_ = 1;
  // A thread is blocked in poll() with an array built before the last change.
  bool waiting_ = false;
  // The wake source was signalled for a change since the waiter last drained
  // it.
  bool change_signalled_ = false;
  // Buffers that become the pollfd array at the next rebuild that needs more
  // room. Only Add allocates them.
  std::vector<pollfd> spare_pollfds_;
  std::vector<Slot> spare_slots_;

  // Owned by the thread in Wait (Poller serializes it); structural changes
  // happen under mutex_ so Add may read their capacity.
  std::vector<pollfd> pollfds_;
  std::vector<Slot> slots_;
  std::uint64_t built_table_version_ = 0;
  // Where the next scan of results starts (round-robin fairness).
  size_t next_slot_ = 1;

  // Set by Wake() before it signals, so Wait reports `woken` only for it.
  std::atomic<bool> wake_requested_{false};
};

}  // namespace poller

#endif  // POLLER_BACKENDS_POLL_POLL_BACKEND_H_
