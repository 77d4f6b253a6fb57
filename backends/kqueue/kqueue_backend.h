// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/kqueue/kqueue_backend.h
// -----------------------------------------------------------------------------
//
// The backend for macOS, FreeBSD, OpenBSD, NetBSD and DragonFly: one kqueue,
// its wake source (kqueue_waker.h), and a small table of registrations.
//
// Verification status
//   NOT run on a kqueue kernel: the project has no macOS or BSD machine. What
//   is checked, and how:
//   - Its decisions (filters per registration, changes per Add and Modify,
//     what each kernel event means, what a oneshot silences, which token an
//     event carries) live in kqueue_logic.h, which compiles everywhere;
//     kqueue_logic_test.cc runs them on Linux under ./bazelw test //... with
//     kernel answers scripted from the XNU and FreeBSD sources cited below.
//   - This backend, kqueue_backend_test.cc and the conformance suite compile
//     against the macOS 13 SDK headers (x86_64, arm64) with the project's
//     cross toolchains: build //backends/kqueue/... for
//     --platforms=//platforms:macos_arm64 (and macos_x86_64) with the flags
//     tools/cross_compile_check.sh passes, or run that script with
//     --without-bazel. The BSD-only branches (#if on EVFILT_EXCEPT,
//     KQUEUE_CLOEXEC, __NetBSD__, no EV_DISPATCH) are checked by reading
//     only.
//   - Behaviour only a kernel shows is pinned by kqueue_backend_test.cc and
//     the conformance suite, which run only on macOS and the BSDs:
//       ./bazelw test //backends/kqueue/... //tests/conformance:kqueue_test
//     Please run them on a Mac or a BSD and report failures.
//   Sources read (2026): XNU (apple-oss-distributions/xnu) bsd/kern/
//   kern_event.c, uipc_socket.c, sys_pipe.c; FreeBSD sys/kern/kern_event.c,
//   sys_pipe.c, uipc_socket.c, kern_descrip.c; OpenBSD sys/sys/event.h 1.74
//   and uipc_socket.c; NetBSD and DragonFly kern_descrip.c; mio
//   src/sys/unix/selector/kqueue.rs; libuv src/unix/kqueue.c.
//
// Public API: the public members of KqueueBackend below. A program that wants
// the backend itself, to wrap it (a decorator that counts or logs calls) or to
// test it, depends on @poller//backends/kqueue and calls
// KqueueBackend::Create(), then hands the result to Poller::FromBackend();
// Poller::Create("kqueue") does the same without the wrapper. The rest of this
// header says how it works; it is not a promise.
//
// Strategy
//   kqueue watches (descriptor, filter) pairs, so one registration is up to
//   three kernel filters: EVFILT_READ for readable interest, EVFILT_WRITE for
//   writable, and for priority interest whatever the platform has (see
//   "Priority" below). Modes:
//     kLevel       no flag            kEdge         EV_CLEAR
//     kOneshot     EV_DISPATCH        kEdgeOneshot  EV_DISPATCH | EV_CLEAR
//   (EV_ONESHOT where the headers lack EV_DISPATCH.) EV_DISPATCH disables a
//   filter once it is delivered and keeps it in the kernel, so Modify re-arms
//   it with a touch instead of allocating a new knote. Add, Modify and Delete
//   send all of a registration's changes in one kevent call with EV_RECEIPT,
//   which returns each change's own error (one call per change where the
//   headers lack EV_RECEIPT). A refused Add, Modify or Rearm is rolled back:
//   the changes the kernel took are undone (filters it added deleted, those
//   it deleted or touched added again as they were, with the old serial), and
//   the table keeps the registration as it was, so its events stay current
//   and carry its token; a change list refused outright sends nothing more.
//   Tests: kqueue_logic_test KqueueRefused.*; the conformance suite's
//   ModifyRefusedDuringAWaitLeavesTheRegistration.
//
//   Each filter's `udata` is not the token but the registration's serial:
//   one counter for the backend, taken by every Add and Modify and sent with
//   every change to every filter of the registration. The token, interest and
//   mode live in a table (descriptor -> registration) under a std::mutex. Wait
//   reports the table's token, and only for an event whose serial is the
//   registration's current one (item 5 below).
//
//   Wait: one kevent call with a timespec timeout (nanosecond precision,
//   rounded up) into a buffer of at most 1024 events, sorted by descriptor and
//   serial so the filters of one registration become one Event; then, with
//   one more kevent call and only when there are any, the changes that silence
//   a fired oneshot registration's other filters. The buffers are allocated at
//   Create: Wait does not allocate. Wake: EVFILT_USER with NOTE_TRIGGER, or a
//   pipe where the kernel lacks EVFILT_USER (kqueue_waker.h).
//
// Threads
//   Add, Modify and Delete hold the table's mutex across their kevent call, so
//   the table and the kernel agree. Wait holds it after the kernel returned,
//   while it turns kernel events into poller events and silences oneshot
//   siblings, not while it blocks. Every decision there is taken from the
//   table as it is then. Once Delete has returned, no Wait reports the handle,
//   even one that took the kernel event before.
//
// Memory
//   About 80 bytes per registration in the table (a flat_hash_map, which grows
//   in Add, never in Wait), plus the kernel's knote per filter.
//
// Read against the kernels' sources (issue 18; item 5 is issue 13's kqueue
// part). Each decision, and the source it rests on:
//   1. A oneshot registration is one Event, not one per filter. After an
//      event of the current serial, Wait disables the filters that did not
//      fire and marks the registration disarmed in the table; a sibling event
//      the kernel queued before the disable lands is dropped as disarmed. The
//      decision is taken after kevent returned, from the table then, so an Add
//      or Modify during a blocked Wait no longer leaves the sibling armed (the
//      serial snapshot taken before kevent did). The fired filter needs
//      nothing: EV_DISPATCH disabled it (XNU knote_process: "disable all
//      dispatch knotes"; FreeBSD kqueue_scan, EV_DISPATCH -> KN_DISABLED).
//      Tests: kqueue_logic_test KqueueOneshot.*; kqueue_backend_test
//      OneshotReadWriteAddedDuringBlockedWaitReportsOnce.
//   2. Priority. EV_OOBAND as an input flag does nothing: both kernels strip
//      EV_SYSFLAGS from every change (XNU kevent_legacy_copyin and
//      kevent_modern_copyin, "Make sure user doesn't pass in any system
//      flags"; FreeBSD kqueue_kevent), and XNU's read filter never sets it on
//      output (filt_soread_common). So the old backend never reported priority
//      on macOS, and never reported plain data as priority either (issue 13's
//      "suspected" note does not hold: the flag is not state there). What each
//      platform does now:
//      - macOS: EVFILT_READ with NOTE_OOB in `fflags`. filt_soread_common fires
//        while so_oobmark is set or the socket is at the mark and ORs NOTE_OOB
//        into the knote's fflags. That bit is sticky: knote_fill_kevent_with_
//        sdata clears fflags only for EV_CLEAR filters, and the EOF path
//        replaces them with so_error. So a priority bit from NOTE_OOB is
//        confirmed with recv(MSG_OOB | MSG_PEEK), one system call only for
//        events that carry NOTE_OOB: priority is reported while the urgent
//        byte is unread, as Linux reports EPOLLPRI. filt_sortouch replaces
//        the filter flags on every touch (kn_sfflags = kev->fflags), so every
//        change to that filter (re-arm, disable, kNone) sends NOTE_OOB again
//        (kqueue_logic FilterFflags), and with EV_EOF a NOTE_OOB beside the
//        socket error is not read as an error.
//      - OpenBSD and DragonFly: a separate EVFILT_EXCEPT filter with NOTE_OOB
//        (OpenBSD filt_soexcept; DragonFly filt_soread's NOTE_OOB branch),
//        which fires only for out-of-band data, until the reader passes the
//        mark. A priority-only registration there is not reported readable.
//      - FreeBSD and NetBSD: no socket filter reports out-of-band data
//        (FreeBSD filt_soread has no NOTE_OOB), so priority is not supported:
//        priority interest keeps a read filter, is reported readable for
//        ordinary data and never kPriority (the conformance suite's
//        PriorityData is declared unsupported there). On macOS too a
//        priority-only registration is reported readable for ordinary data.
//      Toggling priority is a touch of the read filter (macOS) or an add or
//      delete of the except filter, never a delete and re-add of the read
//      filter, which lost its EV_CLEAR state. Tests: kqueue_logic_test
//      KqueuePriority.*; kqueue_backend_test UrgentByteIsPriority and
//      PlainDataAfterTheUrgentByteWasReadIsNotPriority.
//   3. FreeBSD refuses EVFILT_WRITE on a pipe whose reader is gone with EPIPE
//      (pipe_kqfilter: "other end of pipe has been closed"); XNU accepts it
//      and reports EV_EOF at once (filt_pipewrite_common); mio ignores the
//      EPIPE (tokio-rs/mio#582). Here Add and Modify keep the registration
//      without that filter and the backend reports writable | error itself at
//      the next Wait (waking one in progress), once per arm in the oneshot
//      modes, once per Add or Modify in edge, on every Wait in level, as the
//      kernel's EV_EOF would be (epoll: EPOLLOUT | EPOLLERR). Tests:
//      kqueue_logic_test KqueuePipeWriter.*; kqueue_backend_test
//      PipeWriteEndWithReaderGone*.
//   4. EV_EOF on the write filter is this end's own state: the send side is
//      shut, by this process's shutdown(SHUT_WR) too (XNU filt_sowrite_common
//      and FreeBSD filt_sowrite: SS_CANTSENDMORE / SBS_CANTSENDMORE), or a
//      pipe's reader is gone. Hang-up (the peer closed) comes from the read
//      filter's EV_EOF only. The write filter's EV_EOF adds error for a pipe,
//      and for a socket only with a pending error in `fflags`; a local
//      shutdown(SHUT_WR) is reported writable, as epoll does. Other files
//      (terminals) keep hang-up. Tests: kqueue_logic_test KqueueWriteEof.*;
//      kqueue_backend_test LocalShutdownWriteIsNotHangUp.
//   5. An event taken before a Modify, or before a Delete and an Add of the
//      same number, carries the serial it was taken under and is dropped:
//      it never shows an old token or an old interest. Nothing is lost: the
//      change re-armed each kept filter with a touch, which re-runs the filter
//      and queues it again if it is still ready (XNU kevent_register ->
//      f_touch -> knote_apply_touch; FreeBSD kqueue_register re-runs f_event
//      at done_ev_add), and a new filter is evaluated at attach. Tests:
//      kqueue_logic_test KqueueSerial.*.
//   6. fork(): no child gets the kqueue. XNU kqueue_internal marks it
//      FP_CLOEXEC | FP_CLOFORK and FG_CONFINED, which fdt_fork skips; FreeBSD
//      fdcopy copies it only when created with KQUEUE_CPONFORK (15.0+; not
//      used here); NetBSD fd_copy, OpenBSD fdcopy and DragonFly fdcopy skip
//      DTYPE_KQUEUE. So in a child the number names nothing, or a file the
//      child opened since. The backend records its process (a pthread_atfork
//      child handler counts forks; getpid() if that handler could not be
//      installed) and in any other process touches nothing: Add, Modify,
//      Delete, Wait and Wake return FailedPrecondition, and the destructor
//      does not close the number (libuv's uv__io_fork also forgets it without
//      closing). The pipe waker's ends are ordinary inherited descriptors and
//      are closed. Test: kqueue_backend_test
//      ForkedChildTouchesNothingOfTheQueue.
//   7. AlreadyExists is decided from the file identity recorded at Add (fstat's
//      st_dev and st_ino), not by asking the kernel: a change without action
//      flags on an existing filter is a full update in both kernels (FreeBSD
//      kqueue_register replaces udata, fflags and data and re-runs f_event;
//      XNU kevent_register calls f_touch and knote_apply_touch activates), so
//      the old probe could inject an edge event and reset NOTE_OOB. Tests:
//      kqueue_logic_test KqueueIdentity.*; kqueue_backend_test
//      RejectedAddInjectsNoEdgeEvent.
//   Also: current OpenBSD has EVFILT_USER (event.h 1.74); the waker keeps its
//   pipe fallback for older kernels.
//
// Semantics that differ from epoll
//   - Readable and writable are separate filters: within one Wait they are
//     merged into one Event per registration; across two Waits they are two
//     Events (level and edge modes).
//   - kNone interest reports nothing at all, not even hang-up (epoll reports
//     hang-up and error regardless). It keeps a disabled EVFILT_READ filter.
//   - Closing a descriptor removes its filters at once, even if duplicates of
//     it are open (XNU knote_fdclose; epoll keeps them until the last
//     duplicate closes). The table still holds the number until Delete, which
//     then returns NotFound; an Add of another file that got the number
//     succeeds (its identity differs). A descriptor closed and replaced by a
//     duplicate of the same file is taken for the old registration: Add says
//     AlreadyExists, Delete says NotFound and forgets it. A Modify of a reused
//     number registers the new descriptor: call Delete before close.
//   - Regular files and directories are refused with InvalidArgument, as epoll
//     refuses them (kqueue would report them always readable). Checked with
//     fstat.
//   - Where the headers lack EV_DISPATCH (none of the systems above, in their
//     current releases), oneshot uses EV_ONESHOT, which deletes a filter once
//     it fires; Modify adds it again.
//
// fork() and exec()
//   fork(): see item 6. In the child, destroy the inherited Poller (it closes
//   nothing of the parent's) and Create a new one.
//   exec(): the kqueue is close-on-exec. macOS creates it so (kqueue_internal,
//   FP_CLOEXEC); FreeBSD 14+ with kqueuex(KQUEUE_CLOEXEC) and NetBSD with
//   kqueue1(O_CLOEXEC), atomically. Elsewhere (OpenBSD, DragonFly, older
//   FreeBSD) kqueue() is followed by fcntl(FD_CLOEXEC): another thread's
//   execve() between the two would carry the kqueue into the new program. A
//   fork()+exec() cannot, since the child never gets it.

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_

#include <sys/types.h>
// sys/event.h needs sys/types.h first on the BSDs.
#include <sys/event.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "backends/kqueue/kqueue_logic.h"
#include "backends/kqueue/kqueue_waker.h"
#include "poller/core/backend.h"
#include "poller/internal/registration_errors.h"

namespace poller {

class KqueueBackend final : public Backend {
 public:
  static constexpr absl::string_view kName = "kqueue";

  // Errors: ResourceExhausted when out of descriptors or memory (EMFILE,
  // ENFILE, ENOMEM).
  static absl::StatusOr<std::unique_ptr<Backend>> Create();

  ~KqueueBackend() override;

  absl::string_view name() const override { return kName; }
  bool SupportsMode(Mode mode) const override;
  // Add, Modify, Delete, Wait and Wake return FailedPrecondition in a process
  // other than the one that created the backend (fork(): see the file
  // comment).
  absl::Status Add(NativeHandle handle, Token token, Interest interest,
                   Mode mode) override;
  absl::Status Modify(NativeHandle handle, Token token, Interest interest,
                      Mode mode) override;
  absl::Status Delete(NativeHandle handle) override;
  absl::Status Rearm(NativeHandle handle) override;
  absl::StatusOr<WaitResult> Wait(absl::Span<Event> events,
                                  absl::Duration timeout) override;
  absl::Status Wake() override;
  // No FreeBSD or NetBSD socket filter reports out-of-band data (see above).
  bool SupportsInterest(Interest interest) const override {
#if defined(__FreeBSD__) || defined(__NetBSD__)
    return (interest & Interest::kPriority) == Interest::kNone;
#else
    (void)interest;
    return true;
#endif
  }

 private:
  using Registration = kqueue_logic::Registration;

  static constexpr int kMaxKernelEvents = 1024;
  // Room for the silencing changes of many registrations (up to three each):
  // more are sent in several calls.
  static constexpr int kMaxSilenceChanges = 2 * kMaxKernelEvents;

  explicit KqueueBackend(int kqueue_fd);

  // Modify, or Rearm (`operation` kRearm: the registration's own token,
  // interest and mode are used, and the arguments ignored).
  absl::Status ChangeRegistration(internal::Operation operation,
                                  NativeHandle handle, Token token,
                                  Interest interest, Mode mode);

  bool InCreatorProcess() const;
  absl::Status NotCreatorProcess(const char* operation) const;

  // Applies `count` changes (each with EV_RECEIPT where available) and writes
  // each one's errno, or 0, to `errors`. Returns false (errno set) if kevent
  // itself failed. `receipts` must hold `count` events.
  bool ApplyChanges(struct kevent* changes, int count, struct kevent* receipts,
                    int* errors);
  // Sends the changes that turn the kernel's filters for `old` into those of
  // `registration`, and records in it which filters the kernel then holds.
  // If the kernel refuses any of them, it puts back what the others changed
  // (kqueue_logic::PlanUndo), sets `registration` to `old` with the filters
  // the kernel then holds, sets *forget if that is none although `old` had
  // some (the descriptor was closed), and returns the refusal. Requires
  // mutex_.
  absl::Status Apply(const char* operation, int fd, const Registration& old,
                     Registration& registration, bool* forget);
  // Records whether the backend owes `registration` a report of its own (see
  // synthetic_), and wakes a Wait in progress if so. Requires mutex_.
  void UpdateSynthetic(int fd, Registration& registration);
  // Queues, and FlushSilence sends, the changes that disable `silence`.
  // Requires mutex_; only inside Wait.
  void QueueSilence(int fd, const Registration& registration,
                    kqueue_logic::FilterSet silence);
  void FlushSilence();
  // Wait's two passes under the lock: the first `kept` kernel events, grouped
  // by registration and version (sorted), become at most one Event each if
  // current; then the registrations owed a report the kernel cannot make
  // (synthetic_) get one, within the room left in `events`.
  void ReportKernelEventsLocked(int kept, absl::Span<Event> events,
                                WaitResult& result);
  void ReportSyntheticLocked(absl::Span<Event> events, WaitResult& result);

  // Owned; closed by the destructor only in the creating process.
  const int kqueue_fd_;
  const pid_t creator_pid_;
  const std::uint64_t forks_at_create_;
  // Set once by Create.
  std::optional<internal::KqueueWaker> waker_;

  // Guards the table and the kernel filters it describes, so the two agree.
  // Wait takes it only after the kernel returned.
  std::mutex mutex_;
  absl::flat_hash_map<int, Registration> registrations_;
  // The last serial given to an Add or Modify.
  std::uint64_t serial_ = 0;
  // Registrations with a report due that the kernel cannot make (item 3 of
  // the file comment), and whether there are any (read by Wait before it
  // blocks, without the lock).
  absl::flat_hash_set<int> synthetic_;
  std::atomic<bool> synthetic_pending_{false};

  // Only touched inside Wait, which Poller serializes.
  std::uint64_t wait_sequence_ = 0;
  std::unique_ptr<struct kevent[]> kernel_events_;
  std::unique_ptr<struct kevent[]> silence_changes_;
  std::unique_ptr<struct kevent[]> silence_receipts_;
  int silence_count_ = 0;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
