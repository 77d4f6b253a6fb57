// Copyright 2026 The poller Authors.

#include "backends/kqueue/kqueue_logic.h"

#include <cerrno>

namespace poller::kqueue_logic {
namespace {

bool ModeClears(Mode mode) {
  return mode == Mode::kEdge || mode == Mode::kEdgeOneshot;
}

// The NOTE_OOB bit an event of `filter` may carry as priority, or 0.
std::uint32_t PriorityNote(Filter filter, const Platform& platform) {
  if (filter == kReadFilter &&
      platform.priority == PriorityVia::kReadFilterNote) {
    return platform.note_oob;
  }
  if (filter == kExceptFilter &&
      platform.priority == PriorityVia::kExceptFilter) {
    return platform.note_oob;
  }
  return 0;
}

}  // namespace

bool SameFile(const FileIdentity& recorded, const FileIdentity& now) {
  return recorded.device == now.device && recorded.inode == now.inode;
}

FilterSet WantedFilters(Interest interest, const Platform& platform) {
  FilterSet wanted = kNoFilter;
  if (interest == Interest::kNone ||
      HasInterest(interest, Interest::kReadable)) {
    wanted |= kReadFilter;
  }
  if (HasInterest(interest, Interest::kWritable)) wanted |= kWriteFilter;
  if (HasInterest(interest, Interest::kPriority)) {
    wanted |= platform.priority == PriorityVia::kExceptFilter ? kExceptFilter
                                                              : kReadFilter;
  }
  return wanted;
}

std::uint32_t FilterFflags(Filter filter, Interest interest,
                           const Platform& platform) {
  if (!HasInterest(interest, Interest::kPriority)) return 0;
  return PriorityNote(filter, platform);
}

int PlanChanges(const Registration& old, const Registration& wanted,
                const Platform& platform, Change* changes) {
  const FilterSet needed = WantedFilters(wanted.interest, platform);
  // EV_CLEAR and EV_DISPATCH are taken from the change that creates a filter
  // and kept through later touches, so a new mode needs a new filter.
  const bool new_flags =
      ModeClears(old.mode) != ModeClears(wanted.mode) ||
      ::poller::IsOneshot(old.mode) != ::poller::IsOneshot(wanted.mode);
  int count = 0;
  for (const Filter filter : kEveryFilter) {
    const bool held = (old.filters & filter) != 0;
    const bool needs = (needed & filter) != 0;
    Change change;
    change.filter = filter;
    change.clear = ModeClears(wanted.mode);
    change.dispatch = ::poller::IsOneshot(wanted.mode);
    change.fflags = FilterFflags(filter, wanted.interest, platform);
    change.udata = wanted.serial;
    if (held && (!needs || new_flags)) {
      change.action = Action::kDelete;
      changes[count++] = change;
    }
    if (needs) {
      change.action = wanted.interest == Interest::kNone ? Action::kAddDisabled
                                                         : Action::kAddEnabled;
      changes[count++] = change;
    }
  }
  return count;
}

ApplyOutcome ApplyAnswers(FilterSet before, const Change* changes,
                          const int* errors, int count) {
  ApplyOutcome outcome;
  outcome.filters = before;
  for (int i = 0; i < count; ++i) {
    const Change& change = changes[i];
    const int error = errors[i];
    if (change.action == Action::kDelete) {
      // ENOENT: already gone (a fired EV_ONESHOT filter, or closed).
      if (error == 0 || error == ENOENT) {
        outcome.filters &= static_cast<FilterSet>(~change.filter);
        continue;
      }
    } else if (error == 0) {
      outcome.filters |= change.filter;
      continue;
    } else if (change.filter == kWriteFilter && error == EPIPE) {
      outcome.write_peer_gone = true;
      continue;
    }
    if (outcome.failed < 0) outcome.failed = i;
  }
  return outcome;
}

Undo PlanUndo(const Registration& old, const Registration& wanted,
              const Change* changes, const int* errors, int count,
              const Platform& platform) {
  Undo undo;
  undo.registration = old;
  undo.filters = old.filters;
  if (errors == nullptr) return undo;  // Nothing was applied.
  undo.filters = ApplyAnswers(old.filters, changes, errors, count).filters;
  const bool new_flags =
      ModeClears(old.mode) != ModeClears(wanted.mode) ||
      ::poller::IsOneshot(old.mode) != ::poller::IsOneshot(wanted.mode);
  // A disarmed oneshot registration's filters are all disabled (EV_DISPATCH
  // disabled the one that fired, Wait's silence the others), and so is the
  // read filter kNone keeps.
  const bool enabled = old.interest != Interest::kNone &&
                       (!::poller::IsOneshot(old.mode) || old.armed);
  for (const Filter filter : kEveryFilter) {
    // Whether an accepted change reached this filter (a delete of one already
    // gone counts: ApplyAnswers takes it as deleted).
    bool changed = false;
    for (int i = 0; i < count; ++i) {
      if (changes[i].filter != filter) continue;
      const bool accepted =
          errors[i] == 0 ||
          (changes[i].action == Action::kDelete && errors[i] == ENOENT);
      changed = changed || accepted;
    }
    if (!changed) continue;
    const bool held_before = (old.filters & filter) != 0;
    const bool held_now = (undo.filters & filter) != 0;
    Change change;
    change.filter = filter;
    change.clear = ModeClears(old.mode);
    change.dispatch = ::poller::IsOneshot(old.mode);
    change.fflags = FilterFflags(filter, old.interest, platform);
    change.udata = old.serial;
    // Held now but not with `old`'s flags (made again, or touched, for
    // `wanted`'s mode; a touch keeps the flags a knote was made with), or not
    // `old`'s at all: delete it.
    if (held_now && (!held_before || new_flags)) {
      change.action = Action::kDelete;
      undo.changes[undo.count++] = change;
    }
    if (held_before) {
      change.action = enabled ? Action::kAddEnabled : Action::kAddDisabled;
      undo.changes[undo.count++] = change;
    }
  }
  return undo;
}

Restored AfterUndo(const Undo& undo, const int* undo_errors) {
  Restored restored;
  restored.registration = undo.registration;
  restored.registration.filters =
      ApplyAnswers(undo.filters, undo.changes, undo_errors, undo.count).filters;
  restored.forget = undo.registration.filters != kNoFilter &&
                    restored.registration.filters == kNoFilter &&
                    !restored.registration.write_peer_gone;
  return restored;
}

bool IsCurrent(const KernelEvent& event, const Registration& registration,
               const Platform& platform) {
  return (event.udata & platform.udata_mask) ==
         (registration.serial & platform.udata_mask);
}

Readiness ReadinessOf(const KernelEvent& event,
                      const Registration& registration,
                      const Platform& platform) {
  if (event.error_flag) return Readiness::kError;
  Readiness readiness = Readiness::kNone;
  const std::uint32_t priority_note = PriorityNote(event.filter, platform);
  switch (event.filter) {
    case kReadFilter: {
      readiness |= Readiness::kReadable;
      if (!event.eof) break;
      readiness |= Readiness::kHangUp;
      // With EV_EOF the filter flags hold the socket error, but a NOTE_OOB the
      // filter set earlier may still be among them (even after a Modify took
      // priority interest away): it is not an error.
      const std::uint32_t sticky_note =
          platform.priority == PriorityVia::kReadFilterNote ? platform.note_oob
                                                            : 0;
      if ((event.fflags & ~sticky_note) != 0) readiness |= Readiness::kError;
      break;
    }
    case kWriteFilter:
      readiness |= Readiness::kWritable;
      if (!event.eof) break;
      // EV_EOF on the write filter is this end's own state: the send side is
      // shut (locally too) or the pipe's reader is gone. Not a hang-up.
      switch (registration.file.kind) {
        case FileKind::kSocket:
          if (event.fflags != 0) readiness |= Readiness::kError;
          break;
        case FileKind::kPipe:
          readiness |= Readiness::kError;
          break;
        case FileKind::kOther:
          readiness |= Readiness::kHangUp;
          if (event.fflags != 0) readiness |= Readiness::kError;
          break;
      }
      break;
    case kExceptFilter:
      if (event.eof) readiness |= Readiness::kHangUp;
      break;
    case kNoFilter:
      break;
  }
  if (HasInterest(registration.interest, Interest::kPriority) &&
      priority_note != 0 && (event.fflags & priority_note) != 0) {
    readiness |= Readiness::kPriority;
  }
  return readiness;
}

bool PriorityNeedsConfirmation(const Platform& platform) {
  return platform.priority == PriorityVia::kReadFilterNote;
}

Delivery Deliver(Registration& registration, FilterSet fired,
                 const Platform& platform) {
  Delivery delivery;
  if (!::poller::IsOneshot(registration.mode)) {
    delivery.report = true;
    return delivery;
  }
  // EV_ONESHOT (no EV_DISPATCH) deleted what fired.
  if (!platform.fired_filter_stays) {
    registration.filters &= static_cast<FilterSet>(~fired);
  }
  // A sibling that fired before the previous report silenced it.
  if (!registration.armed) return delivery;
  registration.armed = false;
  delivery.report = true;
  delivery.silence = registration.filters & static_cast<FilterSet>(~fired);
  return delivery;
}

int SilenceChanges(const Registration& registration, FilterSet silence,
                   const Platform& platform, Change* changes) {
  int count = 0;
  for (const Filter filter : kEveryFilter) {
    if ((silence & filter) == 0) continue;
    Change change;
    change.filter = filter;
    change.action = Action::kDisable;
    change.clear = ModeClears(registration.mode);
    change.dispatch = ::poller::IsOneshot(registration.mode);
    change.fflags = FilterFflags(filter, registration.interest, platform);
    change.udata = registration.serial;
    changes[count++] = change;
  }
  return count;
}

Readiness SyntheticReadiness(const Registration& registration) {
  if (!registration.write_peer_gone ||
      !HasInterest(registration.interest, Interest::kWritable)) {
    return Readiness::kNone;
  }
  return Readiness::kWritable | Readiness::kError;
}

bool SyntheticDueAfterChange(const Registration& registration) {
  return SyntheticReadiness(registration) != Readiness::kNone;
}

bool SyntheticDueAfterReport(const Registration& registration) {
  return registration.mode == Mode::kLevel &&
         SyntheticReadiness(registration) != Readiness::kNone;
}

}  // namespace poller::kqueue_logic
