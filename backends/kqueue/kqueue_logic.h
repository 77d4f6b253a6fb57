// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/kqueue/kqueue_logic.h
// -----------------------------------------------------------------------------
//
// The kqueue backend's decisions, apart from its kevent calls, so that they
// compile and are tested everywhere (kqueue_logic_test.cc runs on Linux): which
// kernel filters a registration needs and which changes turn one registration
// into another; what a kernel event means (readiness, and whether it belongs to
// the registration as it is now); what a oneshot registration silences after
// it fired. Nothing here includes <sys/event.h>: filters are this file's own
// bits, and the one platform value it needs, NOTE_OOB, is passed in (it is 2
// on macOS and 4 on OpenBSD). Why each decision is what it is, with the kernel
// sources behind it, is in kqueue_backend.h.

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
