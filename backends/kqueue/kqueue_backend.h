// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/kqueue/kqueue_backend.h
// -----------------------------------------------------------------------------
//
// The backend for macOS, FreeBSD, OpenBSD, NetBSD and DragonFly: one kqueue,
// its wake source (kqueue_waker.h), and a small table of registrations.
//
// Verification status: compiled against the macOS 13 SDK headers (x86_64 and
// arm64) by tools/cross_compile_check.sh in CI; NOT run, since the project has
// no macOS or BSD machine. On a Mac with Bazel, run the conformance suite with
//
//   ./bazelw test //tests/conformance:kqueue_test
//
// (and the whole tree with ./bazelw test //...); please report failures.
//
// Strategy
//   kqueue watches (descriptor, filter) pairs, so one registration is up to
//   two kernel filters: EVFILT_READ for readable (and priority) interest,
//   EVFILT_WRITE for writable. Each carries the token in `udata`. Modes:
//     kLevel       no flag            kEdge         EV_CLEAR
//     kOneshot     EV_DISPATCH        kEdgeOneshot  EV_DISPATCH | EV_CLEAR
//   (EV_ONESHOT where the headers lack EV_DISPATCH.) EV_DISPATCH disables a
//   filter once it is delivered and keeps it in the kernel, so Modify re-arms
//   it with EV_ENABLE instead of allocating a new knote. Add, Modify and Delete
//   send all of a registration's changes in one kevent call with EV_RECEIPT,
//   which returns each change's own error (one call per change where the
//   headers lack EV_RECEIPT). A failed Add is rolled back. The backend keeps a
//   table of registrations (descriptor -> token, interest, mode), under a
//   std::mutex, because the kernel cannot answer "is this descriptor
//   registered?" across two filters: EV_ADD on an existing filter silently
//   modifies it, and a kNone registration has no filter to ask. Wait: one
//   kevent call with a timespec timeout (nanosecond precision, rounded up) into
//   a buffer of at most 1024 events. The events are sorted by descriptor so the
//   read and write filters of one registration become one Event (see below);
//   then the oneshot siblings are disabled (see below) with one more kevent
//   call, only when there are any. The sort and that call use buffers allocated
//   at Create: Wait does not allocate. Wake: EVFILT_USER with NOTE_TRIGGER, or
//   a pipe where the kernel lacks EVFILT_USER (kqueue_waker.h). Close-on-exec:
//   kqueuex(KQUEUE_CLOEXEC) on FreeBSD 14+, kqueue1(O_CLOEXEC) on NetBSD, else
//   kqueue() then fcntl(FD_CLOEXEC) (another thread's fork+exec between the two
//   could inherit the queue; macOS and FreeBSD do not pass a kqueue to a forked
//   child anyway).
//
// Threads
//   Add, Modify and Delete hold the table's mutex across their kevent call, so
//   the table and the kernel agree. Wait holds it while it turns kernel events
//   into poller events, not while it blocks. Events whose descriptor is no
//   longer in the table are dropped, so once Delete has returned no Wait
//   reports the handle, even one that took the kernel event before.
//
// Memory
//   About 40 bytes per registration in the table (a flat_hash_map, which grows
//   in Add, never in Wait), plus the kernel's knote per filter.
//
// Semantics that differ from epoll
//   - Readable and writable are separate filters, so one change of readiness
//     may come as two kernel events. Within one Wait they are merged into one
//     Event per registration (readable | writable); across two Waits they are
//     two Events. Level-mode registrations are therefore reported once per Wait
//     as on epoll.
//   - Oneshot means one Event per registration, not per filter: when one filter
//     of a readable|writable oneshot registration fires, the Wait that reports
//     it disables the other one too. If Modify is called on another thread for
//     that descriptor during the Wait, the sibling is left enabled (the Modify
//     may already have re-armed it), so in that race a registration can report
//     a second Event before the next Modify; it never loses one.
//   - Priority interest is EVFILT_READ (kqueue has no priority filter), so a
//     handle with only priority interest is also reported (readable) for
//     ordinary data. On macOS the filter is created with EV_OOBAND, so TCP
//     urgent data fires it and is reported kPriority. The BSDs have no such
//     flag: kPriority never appears there, and the conformance suite's
//     PriorityData test is declared unsupported on them.
//   - kNone interest reports nothing at all, not even hang-up (epoll reports
//     hang-up and error regardless). It keeps a disabled EVFILT_READ filter so
//     the kernel still knows the descriptor (see closing, below).
//   - Hang-up: EV_EOF on either filter (peer closed, pipe's other end closed,
//     TCP half-close) is kHangUp; EV_EOF with a socket error in `fflags`, or
//     EV_ERROR, is also kError.
//   - Closing a descriptor removes its filters at once, even if duplicates of
//     it are open (epoll keeps them until the last duplicate closes). The
//     backend's table still holds the number until Delete, which then returns
//     NotFound; an Add of a new descriptor that reuses the number succeeds
//     (the stale entry is detected by asking the kernel about its filters).
//     A Modify of a reused number registers the new descriptor: call Delete
//     before close.
//   - Regular files and directories are refused with InvalidArgument, as epoll
//     refuses them (kqueue would accept EVFILT_READ and report them always
//     readable; use regular I/O for them). Checked with fstat.
//   - A kqueue is not inherited by a forked child: a Poller cannot be used in
//     a child after fork().
//   - Tokens are carried in `udata`, a pointer: on 32-bit systems the backend
//     takes the token from its table instead.
//   - Where the headers lack EV_DISPATCH (none of the systems above, in their
//     current releases), oneshot uses EV_ONESHOT, which deletes a filter once
//     it fires: Add of such a descriptor after its only filter fired is then
//     taken for a stale entry and succeeds instead of AlreadyExists.

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_

#include <sys/types.h>
// sys/event.h needs sys/types.h first on the BSDs.
#include <sys/event.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/kqueue/kqueue_waker.h"
#include "poller/backend.h"
#include "poller/internal/scoped_fd.h"

namespace poller {

class KqueueBackend final : public Backend {
 public:
  static constexpr absl::string_view kName = "kqueue";

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
  // At most two filters, each deleted and added again when the mode changes.
  static constexpr int kMaxChanges = 4;

  // Which kernel filters a registration holds.
  enum Filters : std::uint8_t {
    kNoFilter = 0,
    kReadFilter = 1 << 0,
    kWriteFilter = 1 << 1,
  };

  struct Registration {
    Token token;
    Interest interest;
    Mode mode;
    // The filters the kernel holds for it (kReadFilter alone, disabled, for
    // kNone interest).
    std::uint8_t filters;
    // change_count_ when it was last added or modified.
    std::uint64_t generation;
  };

  KqueueBackend(internal::ScopedFd kqueue_fd, internal::KqueueWaker waker);

  // Applies `count` changes (each with EV_RECEIPT where available) and writes
  // each one's errno, or 0, to `errors`. Returns false (errno set) if kevent
  // itself failed. `receipts` must hold `count` events.
  bool ApplyChanges(struct kevent* changes, int count, struct kevent* receipts,
                    int* errors);
  // Whether the kernel still holds a filter of `registration` (false once its
  // descriptor was closed). Requires mutex_.
  bool StillRegistered(int fd, const Registration& registration);
  // Sends the changes that turn the kernel's filters for `old` into those of
  // `registration`, and records in it which filters the kernel then holds.
  // Requires mutex_.
  absl::Status Apply(const char* operation, int fd, const Registration& old,
                     Registration& registration);
  absl::Status ReservedHandle(const char* operation, NativeHandle handle,
                              bool adding) const;

  internal::ScopedFd kqueue_fd_;
  internal::KqueueWaker waker_;

  // Guards registrations_ and the kernel filters they describe, so the table
  // and the kernel agree. Wait takes it only after the kernel returned.
  std::mutex mutex_;
  absl::flat_hash_map<int, Registration> registrations_;
  // Bumped by every Add and Modify; lets Wait tell whether a registration
  // changed while it was in the kernel.
  std::atomic<std::uint64_t> change_count_{0};

  // Only touched inside Wait, which Poller serializes.
  std::unique_ptr<struct kevent[]> kernel_events_;
  std::unique_ptr<struct kevent[]> sibling_changes_;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
