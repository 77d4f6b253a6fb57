// Copyright 2026 The poller Authors.
//
// The kqueue backend's decisions (kqueue_logic.h) when the kernel refuses a
// change list, in part or whole: the registration stays as it was, in the
// table and in the kernel. The kernel is a fake of its knotes that applies
// changes as XNU kevent_register and FreeBSD kqueue_register do.
// kqueue_logic_test.cc holds the other decisions.

#include <cerrno>
#include <cstdint>

#include "backends/kqueue/kqueue_logic.h"
#include "backends/kqueue/kqueue_logic_testing.h"
#include "gtest/gtest.h"
#include "poller/core/types.h"

namespace poller::kqueue_logic {
namespace {

using ::poller::kqueue_logic::testing::EventOf;
using ::poller::kqueue_logic::testing::kFreeBsd;
using ::poller::kqueue_logic::testing::kMacOs;
using ::poller::kqueue_logic::testing::kOpenBsd;
using ::poller::kqueue_logic::testing::Make;

// ----------------------------------------------------------------------------
// A refused change list leaves the registration as it was, in the table and in
// the kernel.

// One kernel filter of one descriptor, as both kernels keep it (a knote).
struct Knote {
  bool clear = false;
  bool dispatch = false;
  bool enabled = true;
  std::uint32_t fflags = 0;
  std::uint64_t udata = 0;
  bool operator==(const Knote& other) const {
    return clear == other.clear && dispatch == other.dispatch &&
           enabled == other.enabled && fflags == other.fflags &&
           udata == other.udata;
  }
};

// The knotes of one descriptor. A change applies as XNU kevent_register and
// FreeBSD kqueue_register apply it: EV_ADD creates a knote with the change's
// EV_CLEAR and EV_DISPATCH, or touches an existing one (udata, fflags and
// EV_ENABLE/EV_DISABLE; the flags it was created with stay); EV_DELETE and
// EV_DISABLE of a missing knote fail with ENOENT.
class FakeKnotes {
 public:
  int Apply(const Change& change) {
    const int index = Index(change.filter);
    switch (change.action) {
      case Action::kAddEnabled:
      case Action::kAddDisabled: {
        if (!held_[index]) {
          held_[index] = true;
          knotes_[index] = Knote();
          knotes_[index].clear = change.clear;
          knotes_[index].dispatch = change.dispatch;
        }
        knotes_[index].enabled = change.action == Action::kAddEnabled;
        knotes_[index].fflags = change.fflags;
        knotes_[index].udata = change.udata;
        return 0;
      }
      case Action::kDelete:
        if (!held_[index]) return ENOENT;
        held_[index] = false;
        return 0;
      case Action::kDisable:
        if (!held_[index]) return ENOENT;
        knotes_[index].enabled = false;
        return 0;
    }
    return EINVAL;
  }

  // Applies `changes`, refusing change i with ENOMEM where bit i of `refused`
  // is set, and writes each one's errno to `errors`.
  void ApplyAll(const Change* changes, int count, unsigned refused,
                int* errors) {
    for (int i = 0; i < count; ++i) {
      errors[i] = (refused >> i) & 1u ? ENOMEM : Apply(changes[i]);
    }
  }

  FilterSet filters() const {
    FilterSet set = kNoFilter;
    for (int i = 0; i < 3; ++i) {
      if (held_[i]) set |= kEveryFilter[i];
    }
    return set;
  }

  bool operator==(const FakeKnotes& other) const {
    for (int i = 0; i < 3; ++i) {
      if (held_[i] != other.held_[i]) return false;
      if (held_[i] && !(knotes_[i] == other.knotes_[i])) return false;
    }
    return true;
  }

 private:
  static int Index(Filter filter) {
    return filter == kReadFilter ? 0 : filter == kWriteFilter ? 1 : 2;
  }
  bool held_[3] = {false, false, false};
  Knote knotes_[3];
};

// The kernel as it is for `registration` once Added (and, if it is a disarmed
// oneshot registration, reported: its fired filter disabled by EV_DISPATCH,
// the others by Wait's silence).
FakeKnotes KernelFor(Registration& registration, const Platform& platform) {
  FakeKnotes kernel;
  Registration nothing;
  Change changes[kMaxChanges];
  const int count = PlanChanges(nothing, registration, platform, changes);
  int errors[kMaxChanges];
  kernel.ApplyAll(changes, count, 0, errors);
  registration.filters = kernel.filters();
  if (IsOneshot(registration.mode) && !registration.armed) {
    Change silence[3];
    const int silenced =
        SilenceChanges(registration, registration.filters, platform, silence);
    kernel.ApplyAll(silence, silenced, 0, errors);
  }
  return kernel;
}

void ExpectSameRegistration(const Registration& got, const Registration& want) {
  EXPECT_EQ(got.token, want.token);
  EXPECT_EQ(got.interest, want.interest);
  EXPECT_EQ(got.mode, want.mode);
  EXPECT_EQ(got.serial, want.serial);
  EXPECT_EQ(got.armed, want.armed);
  EXPECT_EQ(got.filters, want.filters);
  EXPECT_EQ(got.write_peer_gone, want.write_peer_gone);
}

TEST(KqueueRefused, ModifyRefusedOutrightKeepsTheOldRegistration) {
  // Modify(fd, 102, kWritable) of a level registration (token 101, readable,
  // serial 1): kevent itself fails (ENOMEM), so the kernel keeps the read
  // filter with udata 1. The table must keep token 101 and serial 1, or every
  // later read event is dropped as not current (the old backend wrote the new
  // token, interest and serial first and kept them).
  Registration old = Make(Interest::kReadable, Mode::kLevel, 1);
  KernelFor(old, kMacOs);
  Registration wanted = old;
  wanted.token = 102;
  wanted.interest = Interest::kWritable;
  wanted.serial = 2;
  Change changes[kMaxChanges];
  const int count = PlanChanges(old, wanted, kMacOs, changes);
  const Undo undo = PlanUndo(old, wanted, changes, nullptr, count, kMacOs);
  EXPECT_EQ(undo.count, 0) << "nothing was applied: nothing to undo";
  const Restored restored = AfterUndo(undo, nullptr);
  EXPECT_FALSE(restored.forget);
  ExpectSameRegistration(restored.registration, old);
  const KernelEvent read = EventOf(kReadFilter, 1);
  EXPECT_TRUE(IsCurrent(read, restored.registration, kMacOs));
  EXPECT_EQ(ReadinessOf(read, restored.registration, kMacOs),
            Readiness::kReadable);
}

TEST(KqueueRefused, EdgeRefusedOutrightSendsNothing) {
  // Re-touching a filter re-evaluates it (item 5): an edge registration would
  // get an edge nothing made.
  Registration old = Make(Interest::kReadable, Mode::kEdge, 3);
  KernelFor(old, kFreeBsd);
  Registration wanted = old;
  wanted.token = 9;
  wanted.serial = 4;
  Change changes[kMaxChanges];
  const int count = PlanChanges(old, wanted, kFreeBsd, changes);
  ASSERT_EQ(count, 1);
  const int errors[] = {ENOMEM};
  const Undo undo = PlanUndo(old, wanted, changes, errors, count, kFreeBsd);
  EXPECT_EQ(undo.count, 0);
  ExpectSameRegistration(AfterUndo(undo, nullptr).registration, old);
}

TEST(KqueueRefused, PartlyAppliedModifyIsPutBack) {
  // Readable level -> writable edge: the read filter's delete is accepted,
  // the write filter's add refused. The kernel then holds nothing; the undo
  // adds the read filter again as it was (level, serial 1).
  Registration old = Make(Interest::kReadable, Mode::kLevel, 1);
  FakeKnotes kernel = KernelFor(old, kMacOs);
  const FakeKnotes before = kernel;
  Registration wanted = old;
  wanted.token = 50;
  wanted.interest = Interest::kWritable;
  wanted.mode = Mode::kEdge;
  wanted.serial = 2;
  Change changes[kMaxChanges];
  const int count = PlanChanges(old, wanted, kMacOs, changes);
  ASSERT_EQ(count, 2);
  int errors[kMaxChanges];
  kernel.ApplyAll(changes, count, 0b10, errors);
  const Undo undo = PlanUndo(old, wanted, changes, errors, count, kMacOs);
  ASSERT_EQ(undo.count, 1);
  EXPECT_EQ(undo.changes[0].filter, kReadFilter);
  EXPECT_EQ(undo.changes[0].action, Action::kAddEnabled);
  EXPECT_FALSE(undo.changes[0].clear);
  EXPECT_EQ(undo.changes[0].udata, 1u);
  int undo_errors[kMaxChanges];
  kernel.ApplyAll(undo.changes, undo.count, 0, undo_errors);
  EXPECT_TRUE(kernel == before);
  const Restored restored = AfterUndo(undo, undo_errors);
  EXPECT_FALSE(restored.forget);
  ExpectSameRegistration(restored.registration, old);
}

TEST(KqueueRefused, RefusedRearmLeavesTheFiltersDisabled) {
  // A oneshot registration that fired (both filters disabled); Rearm's touch
  // of the read filter is accepted (enabled, serial 8), the write filter's
  // refused. The undo disables the read filter again under serial 7: an
  // enabled one would report a registration that is not armed.
  Registration old =
      Make(Interest::kReadable | Interest::kWritable, Mode::kOneshot, 7);
  old.armed = false;
  FakeKnotes kernel = KernelFor(old, kMacOs);
  const FakeKnotes before = kernel;
  Registration wanted = old;
  wanted.serial = 8;
  wanted.armed = true;
  Change changes[kMaxChanges];
  const int count = PlanChanges(old, wanted, kMacOs, changes);
  ASSERT_EQ(count, 2);
  int errors[kMaxChanges];
  kernel.ApplyAll(changes, count, 0b10, errors);
  const Undo undo = PlanUndo(old, wanted, changes, errors, count, kMacOs);
  ASSERT_EQ(undo.count, 1);
  EXPECT_EQ(undo.changes[0].action, Action::kAddDisabled);
  EXPECT_EQ(undo.changes[0].udata, 7u);
  int undo_errors[kMaxChanges];
  kernel.ApplyAll(undo.changes, undo.count, 0, undo_errors);
  EXPECT_TRUE(kernel == before);
  ExpectSameRegistration(AfterUndo(undo, undo_errors).registration, old);
}

TEST(KqueueRefused, PartlyAppliedAddLeavesNothing) {
  // As Add rolled back before: the filter that went in is deleted.
  Registration nothing;
  Registration wanted =
      Make(Interest::kReadable | Interest::kWritable, Mode::kLevel, 5);
  FakeKnotes kernel;
  Change changes[kMaxChanges];
  const int count = PlanChanges(nothing, wanted, kMacOs, changes);
  ASSERT_EQ(count, 2);
  int errors[kMaxChanges];
  kernel.ApplyAll(changes, count, 0b10, errors);
  const Undo undo = PlanUndo(nothing, wanted, changes, errors, count, kMacOs);
  ASSERT_EQ(undo.count, 1);
  EXPECT_EQ(undo.changes[0].filter, kReadFilter);
  EXPECT_EQ(undo.changes[0].action, Action::kDelete);
  int undo_errors[kMaxChanges];
  kernel.ApplyAll(undo.changes, undo.count, 0, undo_errors);
  EXPECT_EQ(kernel.filters(), kNoFilter);
  EXPECT_EQ(AfterUndo(undo, undo_errors).registration.filters, kNoFilter);
}

TEST(KqueueRefused, UndoRefusedTooForgetsWhatTheKernelNoLongerHolds) {
  // The read filter was deleted and adding it back is refused as well: the
  // kernel holds nothing, and the table says so (Delete then has nothing to
  // remove, Add starts afresh) instead of keeping filters that are gone.
  Registration old = Make(Interest::kReadable, Mode::kLevel, 1);
  FakeKnotes kernel = KernelFor(old, kMacOs);
  Registration wanted = old;
  wanted.interest = Interest::kWritable;
  wanted.serial = 2;
  Change changes[kMaxChanges];
  const int count = PlanChanges(old, wanted, kMacOs, changes);
  int errors[kMaxChanges];
  kernel.ApplyAll(changes, count, 0b10, errors);
  const Undo undo = PlanUndo(old, wanted, changes, errors, count, kMacOs);
  ASSERT_EQ(undo.count, 1);
  int undo_errors[kMaxChanges];
  kernel.ApplyAll(undo.changes, undo.count, 0b1, undo_errors);
  const Restored restored = AfterUndo(undo, undo_errors);
  EXPECT_EQ(restored.registration.filters, kNoFilter);
  EXPECT_TRUE(restored.forget);
}

TEST(KqueueRefused, EveryRefusalOfEveryChangeIsPutBack) {
  // Every pair of registrations, on each platform, with every subset of the
  // change list refused: after the undo the kernel's knotes are those of the
  // old registration (flags, filter flags, serial, enabled), and the table
  // holds the old registration.
  const Interest interests[] = {
      Interest::kNone,
      Interest::kReadable,
      Interest::kWritable,
      Interest::kReadable | Interest::kWritable,
      Interest::kPriority,
      Interest::kReadable | Interest::kPriority,
      Interest::kReadable | Interest::kWritable | Interest::kPriority};
  const Mode modes[] = {Mode::kLevel, Mode::kEdge, Mode::kOneshot,
                        Mode::kEdgeOneshot};
  const Platform platforms[] = {kMacOs, kOpenBsd, kFreeBsd};
  int cases = 0;
  for (const Platform& platform : platforms) {
    for (const Interest old_interest : interests) {
      for (const Mode old_mode : modes) {
        for (const bool armed : {true, false}) {
          if (!armed && !IsOneshot(old_mode)) continue;
          for (const Interest new_interest : interests) {
            for (const Mode new_mode : modes) {
              Registration old = Make(old_interest, old_mode, 10);
              old.armed = armed;
              const FakeKnotes before = KernelFor(old, platform);
              Registration wanted = old;
              wanted.token = 999;
              wanted.interest = new_interest;
              wanted.mode = new_mode;
              wanted.serial = 11;
              wanted.armed = true;
              Change changes[kMaxChanges];
              const int count = PlanChanges(old, wanted, platform, changes);
              for (unsigned refused = 1; refused < (1u << count); ++refused) {
                SCOPED_TRACE(::testing::Message()
                             << "old interest " << int(old_interest) << " mode "
                             << int(old_mode) << " armed " << armed
                             << "; new interest " << int(new_interest)
                             << " mode " << int(new_mode) << "; refused mask "
                             << refused << "; note_oob " << platform.note_oob);
                FakeKnotes kernel = before;
                int errors[kMaxChanges];
                kernel.ApplyAll(changes, count, refused, errors);
                const Undo undo =
                    PlanUndo(old, wanted, changes, errors, count, platform);
                // Only what an accepted change reached is changed again: a
                // touch re-evaluates a filter and can queue an event.
                FilterSet reached = kNoFilter;
                for (int i = 0; i < count; ++i) {
                  if (errors[i] == 0) reached |= changes[i].filter;
                }
                int undo_errors[kMaxChanges];
                kernel.ApplyAll(undo.changes, undo.count, 0, undo_errors);
                for (int i = 0; i < undo.count; ++i) {
                  ASSERT_EQ(undo_errors[i], 0) << "undo change " << i;
                  ASSERT_NE(reached & undo.changes[i].filter, 0)
                      << "undo change " << i << " touches a filter no "
                      << "accepted change reached";
                }
                ASSERT_TRUE(kernel == before);
                const Restored restored = AfterUndo(undo, undo_errors);
                ASSERT_FALSE(restored.forget);
                ExpectSameRegistration(restored.registration, old);
                if (HasFailure()) return;
                ++cases;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 10000);
}

}  // namespace
}  // namespace poller::kqueue_logic
