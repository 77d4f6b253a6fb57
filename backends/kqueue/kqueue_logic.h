// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/kqueue/kqueue_logic.h
// -----------------------------------------------------------------------------
//
// The kqueue backend's decisions, apart from its kevent calls, so that they
// compile and are tested everywhere (kqueue_logic_test runs on Linux): which
// kernel filters a registration needs and which changes turn one registration
// into another; what a kernel event means (readiness, and whether it belongs to
// the registration as it is now); what a oneshot registration silences after
// it fired. Nothing here includes <sys/event.h>: filters are this file's own
// bits, and the one platform value it needs, NOTE_OOB, is passed in (it is 2
// on macOS and 4 on OpenBSD). Why each decision is what it is, with the kernel
// sources behind it, is in kqueue_backend.h.
//
// Read against the kernels' sources. Each decision, and the source it rests
// on:
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
//      on macOS, and never reported plain data as priority either (an audit's
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

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_LOGIC_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_LOGIC_H_

#include <cstdint>

#include "poller/core/types.h"

namespace poller::kqueue_logic {

// One kernel filter of a registration, as a bit of a FilterSet.
enum Filter : std::uint8_t {
  kNoFilter = 0,
  kReadFilter = 1 << 0,    // EVFILT_READ
  kWriteFilter = 1 << 1,   // EVFILT_WRITE
  kExceptFilter = 1 << 2,  // EVFILT_EXCEPT (OpenBSD, DragonFly)
};
using FilterSet = std::uint8_t;
inline constexpr Filter kEveryFilter[] = {kReadFilter, kWriteFilter,
                                          kExceptFilter};

// How a platform's kernel reports TCP urgent (out-of-band) data.
enum class PriorityVia : std::uint8_t {
  // No socket filter reports it (FreeBSD, NetBSD): priority interest keeps a
  // read filter, so it is reported readable, never priority.
  kUnsupported,
  // EVFILT_READ with NOTE_OOB in its filter flags (macOS).
  kReadFilterNote,
  // A separate EVFILT_EXCEPT filter with NOTE_OOB (OpenBSD, DragonFly).
  kExceptFilter,
};

// What the logic needs to know about the kernel it runs on.
struct Platform {
  PriorityVia priority = PriorityVia::kUnsupported;
  // NOTE_OOB's value where the kernel has it, else 0.
  std::uint32_t note_oob = 0;
  // EV_DISPATCH: a fired oneshot filter stays in the kernel, disabled. Without
  // it oneshot uses EV_ONESHOT, which deletes the filter once it fires.
  bool fired_filter_stays = true;
  // The bits of a serial that fit in `udata` (all 64 where it is a 64-bit
  // pointer).
  std::uint64_t udata_mask = ~std::uint64_t{0};
};

// What kind of file a registration watches, from fstat at Add: it decides what
// EV_EOF on the write filter means.
enum class FileKind : std::uint8_t { kSocket, kPipe, kOther };

// Which open file a registration was made for (fstat's st_dev and st_ino at
// Add), so a later Add can tell its descriptor from a new one with the same
// number without changing the kernel's filters.
struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  FileKind kind = FileKind::kOther;
};

// Whether `now` is the file `recorded` was made for.
bool SameFile(const FileIdentity& recorded, const FileIdentity& now);

// One registration, as the backend's table keeps it.
struct Registration {
  Token token = 0;
  Interest interest = Interest::kNone;
  Mode mode = Mode::kOneshot;
  FileIdentity file;
  // The filters the kernel holds for it.
  FilterSet filters = kNoFilter;
  // Set by each Add and Modify (from one counter for the whole backend) and
  // carried in the `udata` of every change to its filters, so each kernel event
  // tells which version of the registration it was taken from.
  std::uint64_t serial = 0;
  // Oneshot modes: not reported since the last Add or Modify.
  bool armed = true;
  // FreeBSD refused the write filter with EPIPE (the pipe's reader is gone):
  // the registration is kept, and the backend reports the writer's condition
  // itself, as the kernel would have (writable and error).
  bool write_peer_gone = false;
  // That report is due at the next Wait.
  bool synthetic_due = false;
  // The Wait that last reported it, so one Wait reports it once.
  std::uint64_t reported_in_wait = 0;
};

// The filters a registration with `interest` needs. kNone keeps a disabled
// read filter, so closing the descriptor still removes something the kernel
// can report as gone to Delete.
FilterSet WantedFilters(Interest interest, const Platform& platform);

// The filter flags (`fflags`) every change to `filter` must carry: NOTE_OOB for
// the filter that reports priority data, else 0.
std::uint32_t FilterFflags(Filter filter, Interest interest,
                           const Platform& platform);

// A change to one kernel filter, before it becomes a struct kevent.
enum class Action : std::uint8_t {
  kAddEnabled,   // EV_ADD | EV_ENABLE
  kAddDisabled,  // EV_ADD | EV_DISABLE
  kDelete,       // EV_DELETE
  kDisable,      // EV_DISABLE
};
struct Change {
  Filter filter = kNoFilter;
  Action action = Action::kDelete;
  bool clear = false;     // EV_CLEAR
  bool dispatch = false;  // EV_DISPATCH (EV_ONESHOT where there is none)
  std::uint32_t fflags = 0;
  std::uint64_t udata = 0;  // The registration's serial.
};
// Three filters, each at most deleted and added again.
inline constexpr int kMaxChanges = 6;

// Writes to `changes` (room for kMaxChanges) what turns the kernel's filters
// for `old` (old.filters) into those `wanted` needs, and returns how many.
// Every kept filter is changed too, which gives it `wanted`'s serial and
// filter flags and re-arms it.
int PlanChanges(const Registration& old, const Registration& wanted,
                const Platform& platform, Change* changes);

// What the kernel's answers to PlanChanges' changes leave.
struct ApplyOutcome {
  FilterSet filters = kNoFilter;
  // The first change that failed (other than the tolerated errors), or -1.
  int failed = -1;
  // EPIPE refused the write filter: the pipe's reader is gone.
  bool write_peer_gone = false;
};
// `errors[i]` is the errno of `changes[i]`, 0 for success.
ApplyOutcome ApplyAnswers(FilterSet before, const Change* changes,
                          const int* errors, int count);

// A change list the kernel refused, wholly or in part: an Add, Modify or Rearm
// that fails must leave the registration as it was (`old`; for Add, a
// Registration with no filters), in the table and in the kernel alike. The
// table then keeps `old`'s token, interest, mode, serial and arm, so every
// event of a filter the kernel still holds for `old` stays current and is
// reported under `old`'s token.
struct Undo {
  // What the table holds once the undo is accepted: `old`.
  Registration registration;
  // The filters the kernel holds after the refused list.
  FilterSet filters = kNoFilter;
  // The changes that put back what the accepted part of the list changed:
  // each filter `old` held and the list deleted or changed is added again (or
  // touched) with `old`'s flags, filter flags and serial, disabled where `old`
  // was disarmed or had no interest, deleted first if the list created it
  // again with other flags; each filter the list added for `wanted` alone is
  // deleted. Filters the list did not change are not touched, so a change
  // refused outright sends nothing and injects no edge event.
  int count = 0;
  Change changes[kMaxChanges];
};
// `changes` and `errors` as for ApplyAnswers; `errors` null when kevent itself
// failed, taken to have applied none of them: with EV_RECEIPT both kernels
// return each change's own failure in its receipt (XNU kevent_register's
// error goes to the change's EV_ERROR; FreeBSD kqueue_kevent does the same
// while the event list has room, which it has), so the call itself fails only
// for the queue or the buffers.
Undo PlanUndo(const Registration& old, const Registration& wanted,
              const Change* changes, const int* errors, int count,
              const Platform& platform);

// What the table holds after the undo was sent. `undo_errors[i]` is the errno
// of `undo.changes[i]` (all kevent's own errno when it failed).
struct Restored {
  // undo.registration, with the filters the kernel holds now: fewer than it
  // had only if the undo was refused too, or the descriptor was closed.
  Registration registration;
  // The kernel holds nothing for it any more although it had filters (its
  // descriptor was closed, which removed them), and the backend owes it no
  // report of its own: the table forgets it.
  bool forget = false;
};
Restored AfterUndo(const Undo& undo, const int* undo_errors);

// A kernel event, decoded.
struct KernelEvent {
  Filter filter = kNoFilter;
  bool eof = false;         // EV_EOF
  bool error_flag = false;  // EV_ERROR
  std::uint32_t fflags = 0;
  std::uint64_t udata = 0;
};

// Whether `event` was taken from the registration as it is now. Anything else
// (taken before a Modify, or from a registration Deleted since, whose number
// was Added again) is dropped: the change that replaced it re-armed each kept
// filter with a touch that re-evaluates it, so readiness still there is
// reported again under the new serial.
bool IsCurrent(const KernelEvent& event, const Registration& registration,
               const Platform& platform);

// The readiness one kernel event reports for `registration`.
Readiness ReadinessOf(const KernelEvent& event,
                      const Registration& registration,
                      const Platform& platform);

// Whether a priority bit that ReadinessOf took from NOTE_OOB must be confirmed
// with the socket itself (macOS: the bit is sticky, see kqueue_backend.h).
bool PriorityNeedsConfirmation(const Platform& platform);

// What to do with the current events of one registration in one Wait (`fired`:
// their filters, kNoFilter for the backend's own report).
struct Delivery {
  bool report = false;
  // Filters to disable now: a oneshot registration reports one Event, not one
  // per filter.
  FilterSet silence = kNoFilter;
};
Delivery Deliver(Registration& registration, FilterSet fired,
                 const Platform& platform);

// Writes the changes that disable `silence` (room for 3) and returns how many.
// They carry the filter flags and serial the filters already have.
int SilenceChanges(const Registration& registration, FilterSet silence,
                   const Platform& platform, Change* changes);

// The readiness the backend reports itself for `registration` (a pipe's write
// end whose reader is gone, where the kernel refused the filter), or kNone.
Readiness SyntheticReadiness(const Registration& registration);

// After an Add or Modify: whether that report is due at the next Wait.
bool SyntheticDueAfterChange(const Registration& registration);

// After a Wait reported it: whether it is due again at the next Wait (level).
bool SyntheticDueAfterReport(const Registration& registration);

}  // namespace poller::kqueue_logic

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_LOGIC_H_
