// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: poller/core/backend.h
// -----------------------------------------------------------------------------
//
// The seam between poller's policy layer (class Poller) and an operating
// system's queue. Each built-in backend (backends/<name>/) implements this
// interface, and so can you: wrap yours with Poller::FromBackend() and run the
// conformance suite against it (tests/conformance/suite.h).
//
// A backend translates calls into system calls and nothing more. Poller does
// the policy, once for every backend, before a backend is called:
//   - rejects handles no file can have (negative; INVALID_SOCKET),
//     kReservedToken, unknown interest bits, unsupported modes and calls
//     after Shutdown;
//   - serializes Wait(): at most one thread is inside Backend::Wait at a time;
//   - coalesces wakes: Backend::Wake() is called at most once per burst of
//     Poller::Wake() calls, and only while a Wait is blocked in the backend or
//     about to be (a Wait that finds a wake pending polls instead); a refused
//     Backend::Wake() is retried a few times;
//   - decides itself whether a wait was woken, so a backend may report its
//     wake source spuriously, or for a Backend::Wake() whose wake was already
//     taken;
//   - loops on early returns, so a backend may return with nothing to report
//     (for example after filtering out kernel events) without breaking the
//     timeout promise;
//   - turns timeouts too long for a clock into absl::InfiniteDuration().
//   - names the operation in every error message, once: a backend's message
//     starts with the system call it made ("epoll_ctl(EPOLL_CTL_ADD) fd 7:
//     EPERM ...", internal::ErrnoToStatus) or, for a refusal of its own, with
//     the handle ("fd 7: not registered ...", poller/internal/
//     registration_errors.h), and never names a call it did not make.
// A backend must make Add, Modify, Delete and Wake safe to call from any
// thread while another thread is inside Wait, and take effect for that wait.
// An event the kernel reported before a concurrent Modify or Delete must be
// delivered only as the registration is after it (see Poller::Modify).
//
// Glossary: the words every backend, test and document uses in one sense.
//   handle        what a program registers: a descriptor (POSIX) or a SOCKET.
//   registration  a handle's entry in one poller: token, interest, mode. It
//                 ends at Delete, or where the kernel ends it when the file
//                 is closed (epoll, kqueue, IOCP at the next Wait).
//   armed         a oneshot (or edge-oneshot) registration that has not
//                 reported since it was added or re-armed (Rearm, Modify).
//   request       what a backend keeps in the kernel for a registration: an
//                 epoll item, kqueue filters, an io_uring poll request, an
//                 AFD poll. poll(2) keeps none: its table is rebuilt.
//   serial        the number a request carries so that an event of a
//                 registration since changed (Modify, Delete, a reused
//                 number) is told apart and dropped. It changes at the step
//                 the kernel can see: each Add and Modify (kqueue, poll),
//                 each Add of a number (epoll, whose Modify replaces the
//                 item's data in place; a Wait re-checks events older than
//                 the change, `changed_at`), each poll request (io_uring,
//                 whose `generation` counts the changes a request in flight
//                 may predate).
//   wait pass     one call of Backend::Wait; its count is the wait sequence
//                 (wait_sequence_), by which a backend merges what one pass
//                 reports of a registration into one event.
//   kernel wait   the system call a wait pass blocks in, made through
//                 internal::KernelWait (poller/internal/syscall.h).
//   wake          Poller::Wake's request; the backend's wake source is what
//                 Backend::Wake signals (an eventfd, which io_uring watches
//                 with a multishot poll request; a pipe; EVFILT_USER; a
//                 posted completion).
//   open file     what a descriptor number names at a given moment; a number
//                 closed without Delete and reused names another open file
//                 (poller/internal/open_file_set.h tells them apart).

#ifndef POLLER_CORE_BACKEND_H_
#define POLLER_CORE_BACKEND_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/core/types.h"

namespace poller {

// WaitResult
//
// What one Backend::Wait call saw.
struct WaitResult {
  // Events written to the front of the span passed to Wait.
  size_t count = 0;
  // The wake source fired (a Backend::Wake() since the last wait that
  // reported `woken`).
  bool woken = false;
  // A signal interrupted the wait (EINTR). Poller then returns to its caller
  // with no events.
  bool interrupted = false;
};

// Backend
//
// The interface a backend implements; see the file comment for what Poller
// does before calling it and what every method must allow.
class Backend {
 public:
  virtual ~Backend() = default;

  // name
  //
  // A short lowercase name, e.g. "epoll". Used in messages and in
  // Poller::Create(name).
  virtual absl::string_view name() const = 0;

  // SupportsMode
  //
  // Whether Add/Modify accept `mode`. Poller returns Unimplemented for the
  // others without calling the backend, and the conformance suite skips their
  // tests, saying why.
  virtual bool SupportsMode(Mode mode) const = 0;

  // Add, Modify, Delete
  //
  // Register, change or remove a handle. Arguments are already checked as
  // described above. Errors must be the codes Poller documents (AlreadyExists,
  // NotFound, InvalidArgument, ResourceExhausted...), worded as the file
  // comment says (no operation name: Poller adds it).
  virtual absl::Status Add(NativeHandle handle, Token token, Interest interest,
                           Mode mode) = 0;
  virtual absl::Status Modify(NativeHandle handle, Token token,
                              Interest interest, Mode mode) = 0;
  virtual absl::Status Delete(NativeHandle handle) = 0;

  // Rearm
  //
  // Re-arms a oneshot registration as it is: what Modify(handle, its token,
  // its interest, its mode) would do, in one step, so no other change can come
  // between reading the registration and re-arming it. Errors: NotFound and
  // InvalidArgument as Modify; FailedPrecondition for a level or edge
  // registration, which is never disarmed (internal::NotOneshotError words
  // it). A backend that can re-arm without a system call should (epoll does).
  //
  // The default returns Unimplemented naming the backend, so a backend written
  // before Rearm existed still compiles; the conformance suite fails its Rearm
  // rules until it is implemented (or they are declared unsupported).
  virtual absl::Status Rearm(NativeHandle handle);

  // SupportsInterest
  //
  // Whether events for `interest` are reported. Add and Modify accept every
  // interest on every backend; a backend whose kernel cannot report one (no
  // kqueue filter reports TCP urgent data on FreeBSD and NetBSD) says so
  // here, and the conformance suite skips that interest's rules for it.
  virtual bool SupportsInterest(Interest interest) const {
    (void)interest;
    return true;
  }

  // timeout_resolution
  //
  // The granularity of the kernel's wait timeout: timeouts are rounded up to
  // a multiple of it (1 ns for epoll_pwait2, ppoll, kevent, io_uring; 1 ms for
  // epoll_wait, poll(2), GetQueuedCompletionStatusEx). Tests of sub-
  // millisecond timeouts skip when it is a millisecond or more.
  virtual absl::Duration timeout_resolution() const {
    return absl::Nanoseconds(1);
  }

  // Wait
  //
  // Waits up to `timeout` (zero: poll; absl::InfiniteDuration(): no limit;
  // never rounded down) and writes up to events.size() events. Must not
  // allocate, and must not report kReservedToken as an event: the wake source
  // is reported through WaitResult::woken instead.
  virtual absl::StatusOr<WaitResult> Wait(absl::Span<Event> events,
                                          absl::Duration timeout) = 0;

  // Wake
  //
  // Makes the current or next Wait return with `woken` set. Poller calls it
  // for a Poller::Wake() only when a Wait may block (see the file comment).
  // Called from any thread.
  virtual absl::Status Wake() = 0;
};

}  // namespace poller

#endif  // POLLER_CORE_BACKEND_H_
