// Copyright 2026 The poller Authors.
//
// The kqueue backend's decisions (kqueue_logic.h), driven on any platform with
// kernel answers taken from the kernels' sources: each scripted answer names
// the function it comes from (XNU: apple-oss-distributions/xnu bsd/kern;
// FreeBSD: sys/kern; OpenBSD: sys/kern). Item numbers are those of
// kqueue_backend.h.

#include "backends/kqueue/kqueue_logic.h"

#include <cerrno>
#include <cstdint>

#include "gtest/gtest.h"
#include "poller/core/types.h"

namespace poller::kqueue_logic {
namespace {

// NOTE_OOB: 0x2 in XNU's sys/event.h, 0x4 in OpenBSD's (event.h 1.74).
constexpr std::uint32_t kMacNoteOob = 0x2;
constexpr std::uint32_t kOpenBsdNoteOob = 0x4;

constexpr Platform kMacOs = {PriorityVia::kReadFilterNote, kMacNoteOob, true,
                             ~std::uint64_t{0}};
constexpr Platform kOpenBsd = {PriorityVia::kExceptFilter, kOpenBsdNoteOob,
                               true, ~std::uint64_t{0}};
constexpr Platform kFreeBsd = {PriorityVia::kUnsupported, 0, true,
                               ~std::uint64_t{0}};

Registration Make(Interest interest, Mode mode, std::uint64_t serial,
                  FileKind kind = FileKind::kSocket) {
  Registration registration;
  registration.token = 100 + serial;
  registration.interest = interest;
  registration.mode = mode;
  registration.file.kind = kind;
  registration.serial = serial;
  return registration;
}

// The kernel's answer to each change of `changes`: all accepted.
ApplyOutcome AcceptAll(const Registration& old, const Change* changes,
                       int count) {
  int errors[kMaxChanges] = {};
  return ApplyAnswers(old.filters, changes, errors, count);
}

KernelEvent EventOf(Filter filter, std::uint64_t udata) {
  KernelEvent event;
  event.filter = filter;
  event.udata = udata;
  return event;
}

// ----------------------------------------------------------------------------
// Item 1: a oneshot registration reports one Event, whatever the schedule.

TEST(KqueueOneshot, AddedDuringBlockedWaitSilencesSibling) {
  // A registration R|W oneshot is added (serial 3) while a Wait is blocked
  // in kevent; the socket is writable at once, so the kernel returns the write
  // filter's event with the udata the Add gave it.
  Registration registration =
      Make(Interest::kReadable | Interest::kWritable, Mode::kOneshot, 3);
  registration.filters = kReadFilter | kWriteFilter;
  const KernelEvent write = EventOf(kWriteFilter, 3);
  ASSERT_TRUE(IsCurrent(write, registration, kMacOs));
  const Delivery delivery = Deliver(registration, kWriteFilter, kMacOs);
  EXPECT_TRUE(delivery.report);
  // The read filter must be disabled now, or data arriving later is a second
  // Event before any Modify (the old backend kept it armed whenever an Add or
  // Modify had landed during the Wait).
  EXPECT_EQ(delivery.silence, kReadFilter);
  Change changes[3];
  ASSERT_EQ(SilenceChanges(registration, delivery.silence, kMacOs, changes), 1);
  EXPECT_EQ(changes[0].filter, kReadFilter);
  EXPECT_EQ(changes[0].action, Action::kDisable);
  EXPECT_EQ(changes[0].udata, 3u);
}

TEST(KqueueOneshot, SiblingQueuedBeforeSilenceIsDropped) {
  Registration registration =
      Make(Interest::kReadable | Interest::kWritable, Mode::kOneshot, 3);
  registration.filters = kReadFilter | kWriteFilter;
  ASSERT_TRUE(Deliver(registration, kWriteFilter, kMacOs).report);
  // Data arrived after kevent returned the write event but before the
  // silencing EV_DISABLE landed: XNU knote_enqueue queued the still-enabled
  // read knote, and the next Wait takes it, with the same udata.
  const KernelEvent read = EventOf(kReadFilter, 3);
  ASSERT_TRUE(IsCurrent(read, registration, kMacOs));
  const Delivery second = Deliver(registration, kReadFilter, kMacOs);
  EXPECT_FALSE(second.report) << "a second Event before Modify re-armed";
}

TEST(KqueueOneshot, ModifyRearms) {
  Registration registration =
      Make(Interest::kReadable | Interest::kWritable, Mode::kOneshot, 3);
  registration.filters = kReadFilter | kWriteFilter;
  ASSERT_TRUE(Deliver(registration, kWriteFilter, kMacOs).report);
  // What Modify does to the table: a new serial, armed again.
  registration.serial = 4;
  registration.armed = true;
  EXPECT_TRUE(Deliver(registration, kReadFilter, kMacOs).report);
}

TEST(KqueueOneshot, LevelAndEdgeNeverSilence) {
  for (const Mode mode : {Mode::kLevel, Mode::kEdge}) {
    Registration registration =
        Make(Interest::kReadable | Interest::kWritable, mode, 3);
    registration.filters = kReadFilter | kWriteFilter;
    for (int i = 0; i < 2; ++i) {
      const Delivery delivery = Deliver(registration, kWriteFilter, kMacOs);
      EXPECT_TRUE(delivery.report);
      EXPECT_EQ(delivery.silence, kNoFilter);
    }
  }
}

TEST(KqueueOneshot, EvOneshotDeletesWhatFired) {
  // Without EV_DISPATCH, EV_ONESHOT drops the knote once it is delivered (XNU
  // knote_process: EV_ONESHOT -> knote_drop; FreeBSD kqueue_scan).
  Platform no_dispatch = kFreeBsd;
  no_dispatch.fired_filter_stays = false;
  Registration registration =
      Make(Interest::kReadable | Interest::kWritable, Mode::kOneshot, 3);
  registration.filters = kReadFilter | kWriteFilter;
  const Delivery delivery = Deliver(registration, kWriteFilter, no_dispatch);
  EXPECT_TRUE(delivery.report);
  EXPECT_EQ(registration.filters, kReadFilter);
  EXPECT_EQ(delivery.silence, kReadFilter);
}

// ----------------------------------------------------------------------------
// Item 2: priority.

TEST(KqueuePriority, FiltersPerPlatform) {
  const Interest priority = Interest::kPriority;
  EXPECT_EQ(WantedFilters(priority, kMacOs), kReadFilter);
  EXPECT_EQ(WantedFilters(priority, kOpenBsd), kExceptFilter);
  EXPECT_EQ(WantedFilters(priority, kFreeBsd), kReadFilter);
  EXPECT_EQ(WantedFilters(Interest::kReadable | priority, kOpenBsd),
            kReadFilter | kExceptFilter);
  EXPECT_EQ(WantedFilters(Interest::kNone, kMacOs), kReadFilter);
}

TEST(KqueuePriority, NoteOobGoesWithEveryChangeToTheReadFilterOnMacOs) {
  // filt_sortouch (XNU uipc_socket.c) replaces the filter flags on every
  // touch: "kn->kn_sfflags = kev->fflags". A re-arm or a disable without
  // NOTE_OOB would stop filt_soread_common from looking at the mark.
  const Interest interest =
      Interest::kReadable | Interest::kWritable | Interest::kPriority;
  Registration nothing;
  Registration added = Make(interest, Mode::kOneshot, 1);
  Change changes[kMaxChanges];
  int count = PlanChanges(nothing, added, kMacOs, changes);
  ASSERT_EQ(count, 2);
  EXPECT_EQ(changes[0].filter, kReadFilter);
  EXPECT_EQ(changes[0].fflags, kMacNoteOob);
  EXPECT_EQ(changes[1].filter, kWriteFilter);
  EXPECT_EQ(changes[1].fflags, 0u);
  added.filters = AcceptAll(nothing, changes, count).filters;

  // Modify re-arms: a touch of each filter, NOTE_OOB again on the read one.
  Registration rearmed = added;
  rearmed.serial = 2;
  count = PlanChanges(added, rearmed, kMacOs, changes);
  ASSERT_EQ(count, 2);
  EXPECT_EQ(changes[0].action, Action::kAddEnabled);
  EXPECT_EQ(changes[0].fflags, kMacNoteOob);

  // The write filter fired: the read filter is disabled, NOTE_OOB kept.
  rearmed.filters = added.filters;
  const Delivery delivery = Deliver(rearmed, kWriteFilter, kMacOs);
  ASSERT_EQ(delivery.silence, kReadFilter);
  ASSERT_EQ(SilenceChanges(rearmed, delivery.silence, kMacOs, changes), 1);
  EXPECT_EQ(changes[0].fflags, kMacNoteOob);
}

TEST(KqueuePriority, TogglingPriorityKeepsTheReadFilter) {
  // A delete and re-add would lose the filter's EV_CLEAR state; a touch keeps
  // it (XNU kevent_register: an existing knote is touched, its kn_flags kept).
  Registration edge = Make(Interest::kReadable, Mode::kEdge, 1);
  edge.filters = kReadFilter;
  Registration with_priority = edge;
  with_priority.interest = Interest::kReadable | Interest::kPriority;
  with_priority.serial = 2;
  Change changes[kMaxChanges];
  ASSERT_EQ(PlanChanges(edge, with_priority, kMacOs, changes), 1);
  EXPECT_EQ(changes[0].action, Action::kAddEnabled);
  EXPECT_EQ(changes[0].fflags, kMacNoteOob);
  // On OpenBSD the except filter comes and goes; the read filter is touched.
  const int count = PlanChanges(edge, with_priority, kOpenBsd, changes);
  ASSERT_EQ(count, 2);
  EXPECT_EQ(changes[0].filter, kReadFilter);
  EXPECT_EQ(changes[0].action, Action::kAddEnabled);
  EXPECT_EQ(changes[1].filter, kExceptFilter);
  EXPECT_EQ(changes[1].fflags, kOpenBsdNoteOob);
}

TEST(KqueuePriority, NoteOobOnTheReadFilterIsPriorityOnMacOs) {
  // filt_soread_common: with NOTE_OOB in kn_sfflags and so_oobmark set,
  // "kn->kn_fflags |= NOTE_OOB", event delivered with those fflags.
  const Registration registration =
      Make(Interest::kReadable | Interest::kPriority, Mode::kLevel, 1);
  KernelEvent event = EventOf(kReadFilter, 1);
  event.fflags = kMacNoteOob;
  const Readiness readiness = ReadinessOf(event, registration, kMacOs);
  EXPECT_TRUE(Has(readiness, Readiness::kPriority));
  EXPECT_TRUE(Has(readiness, Readiness::kReadable));
  EXPECT_FALSE(Has(readiness, Readiness::kError));
  EXPECT_TRUE(PriorityNeedsConfirmation(kMacOs))
      << "the bit is sticky without EV_CLEAR (knote_fill_kevent_with_sdata)";
  EXPECT_FALSE(PriorityNeedsConfirmation(kOpenBsd));
  // Priority interest taken away by a Modify: the sticky bit is not reported.
  const Registration readable_only = Make(Interest::kReadable, Mode::kLevel, 1);
  EXPECT_FALSE(
      Has(ReadinessOf(event, readable_only, kMacOs), Readiness::kPriority));
}

TEST(KqueuePriority, StickyNoteOobBesideEofIsNotAnError) {
  // An earlier evaluation hit SS_CANTRCVMORE: "kn->kn_flags |= EV_EOF;
  // kn->kn_fflags = so->so_error" (0). The OOB branch then ORs NOTE_OOB in:
  // the event carries EV_EOF with fflags == NOTE_OOB, which is no errno.
  const Registration registration =
      Make(Interest::kReadable | Interest::kPriority, Mode::kLevel, 1);
  KernelEvent event = EventOf(kReadFilter, 1);
  event.eof = true;
  event.fflags = kMacNoteOob;
  const Readiness readiness = ReadinessOf(event, registration, kMacOs);
  EXPECT_TRUE(Has(readiness, Readiness::kHangUp));
  EXPECT_FALSE(Has(readiness, Readiness::kError));
  // A real socket error beside it still is one (ECONNRESET, say).
  event.fflags = kMacNoteOob | ECONNRESET;
  EXPECT_TRUE(Has(ReadinessOf(event, registration, kMacOs), Readiness::kError));
}

TEST(KqueuePriority, ExceptFilterEventIsPriorityOnOpenBsd) {
  // OpenBSD filt_soexcept: "kn->kn_fflags |= NOTE_OOB; ... rv = 1".
  const Registration registration = Make(Interest::kPriority, Mode::kLevel, 1);
  KernelEvent event = EventOf(kExceptFilter, 1);
  event.fflags = kOpenBsdNoteOob;
  const Readiness readiness = ReadinessOf(event, registration, kOpenBsd);
  EXPECT_EQ(readiness, Readiness::kPriority);
}

TEST(KqueuePriority, NeverReportedWhereUnsupported) {
  const Registration registration = Make(Interest::kPriority, Mode::kLevel, 1);
  KernelEvent event = EventOf(kReadFilter, 1);
  event.fflags = 0x2;  // Whatever FreeBSD's filt_soread left there.
  EXPECT_EQ(ReadinessOf(event, registration, kFreeBsd), Readiness::kReadable);
}

// ----------------------------------------------------------------------------
// Item 3: FreeBSD's EPIPE for a pipe whose reader is gone.

TEST(KqueuePipeWriter, RefusedWithEpipeKeepsTheRegistration) {
  Registration nothing;
  Registration added =
      Make(Interest::kWritable, Mode::kOneshot, 1, FileKind::kPipe);
  Change changes[kMaxChanges];
  const int count = PlanChanges(nothing, added, kFreeBsd, changes);
  ASSERT_EQ(count, 1);
  // FreeBSD pipe_kqfilter, EVFILT_WRITE: "if (cpipe->pipe_peer->pipe_present
  // != PIPE_ACTIVE) { /* other end of pipe has been closed */ ... return
  // (EPIPE); }".
  const int errors[] = {EPIPE};
  const ApplyOutcome outcome =
      ApplyAnswers(nothing.filters, changes, errors, count);
  EXPECT_EQ(outcome.failed, -1) << "EPIPE must not fail the Add";
  EXPECT_TRUE(outcome.write_peer_gone);
  EXPECT_EQ(outcome.filters, kNoFilter);
  added.filters = outcome.filters;
  added.write_peer_gone = outcome.write_peer_gone;
  EXPECT_EQ(SyntheticReadiness(added), Readiness::kWritable | Readiness::kError)
      << "what XNU's accepted filter reports (filt_pipewrite_common: EV_EOF)";
  EXPECT_TRUE(SyntheticDueAfterChange(added));
}

TEST(KqueuePipeWriter, ModeChangingModifyKeepsTheRegistration) {
  Registration old =
      Make(Interest::kWritable, Mode::kLevel, 1, FileKind::kPipe);
  old.filters = kWriteFilter;
  Registration changed = old;
  changed.mode = Mode::kOneshot;
  changed.serial = 2;
  Change changes[kMaxChanges];
  const int count = PlanChanges(old, changed, kFreeBsd, changes);
  ASSERT_EQ(count, 2);
  EXPECT_EQ(changes[0].action, Action::kDelete);
  EXPECT_EQ(changes[1].action, Action::kAddEnabled);
  // The reader closed in between: the delete works, the add gets EPIPE.
  const int errors[] = {0, EPIPE};
  const ApplyOutcome outcome =
      ApplyAnswers(old.filters, changes, errors, count);
  EXPECT_EQ(outcome.failed, -1);
  EXPECT_EQ(outcome.filters, kNoFilter);
  EXPECT_TRUE(outcome.write_peer_gone);
}

TEST(KqueuePipeWriter, ReportedOncePerArmOrEveryWaitInLevel) {
  for (const Mode mode :
       {Mode::kLevel, Mode::kEdge, Mode::kOneshot, Mode::kEdgeOneshot}) {
    Registration registration =
        Make(Interest::kWritable, mode, 1, FileKind::kPipe);
    registration.write_peer_gone = true;
    ASSERT_TRUE(SyntheticDueAfterChange(registration));
    const Delivery delivery = Deliver(registration, kNoFilter, kFreeBsd);
    EXPECT_TRUE(delivery.report) << ModeName(mode);
    EXPECT_EQ(SyntheticDueAfterReport(registration), mode == Mode::kLevel)
        << ModeName(mode);
    if (IsOneshot(mode)) {
      EXPECT_FALSE(Deliver(registration, kNoFilter, kFreeBsd).report)
          << ModeName(mode) << ": once until Modify";
    }
  }
}

TEST(KqueuePipeWriter, OtherErrorsStillFail) {
  Registration nothing;
  const Registration added =
      Make(Interest::kWritable, Mode::kOneshot, 1, FileKind::kPipe);
  Change changes[kMaxChanges];
  const int count = PlanChanges(nothing, added, kFreeBsd, changes);
  const int errors[] = {ENOMEM};
  EXPECT_EQ(ApplyAnswers(nothing.filters, changes, errors, count).failed, 0);
}

// ----------------------------------------------------------------------------
// Item 4: EV_EOF on the write filter is this end's own state.

TEST(KqueueWriteEof, LocalShutdownIsWritableOnly) {
  // shutdown(SHUT_WR) sets SS_CANTSENDMORE; XNU filt_sowrite_common:
  // "kn->kn_flags |= EV_EOF; kn->kn_fflags = so->so_error" (no error: 0).
  const Registration registration = Make(Interest::kWritable, Mode::kLevel, 1);
  KernelEvent event = EventOf(kWriteFilter, 1);
  event.eof = true;
  EXPECT_EQ(ReadinessOf(event, registration, kMacOs), Readiness::kWritable)
      << "epoll reports a local SHUT_WR as writable, not hang-up";
}

TEST(KqueueWriteEof, SocketErrorIsError) {
  // A refused connect: soisdisconnected sets SS_CANTSENDMORE, so_error is
  // ECONNREFUSED, which filt_sowrite_common copies into fflags.
  const Registration registration = Make(Interest::kWritable, Mode::kLevel, 1);
  KernelEvent event = EventOf(kWriteFilter, 1);
  event.eof = true;
  event.fflags = ECONNREFUSED;
  EXPECT_EQ(ReadinessOf(event, registration, kMacOs),
            Readiness::kWritable | Readiness::kError);
}

TEST(KqueueWriteEof, PipeWhoseReaderIsGoneIsError) {
  // XNU filt_pipewrite_common: peer gone -> "kn->kn_flags |= EV_EOF", fflags
  // untouched (0); epoll reports EPOLLOUT | EPOLLERR for it.
  const Registration registration =
      Make(Interest::kWritable, Mode::kLevel, 1, FileKind::kPipe);
  KernelEvent event = EventOf(kWriteFilter, 1);
  event.eof = true;
  EXPECT_EQ(ReadinessOf(event, registration, kMacOs),
            Readiness::kWritable | Readiness::kError);
}

TEST(KqueueWriteEof, ReadEofIsHangUp) {
  // The peer closed: filt_soread_common, SS_CANTRCVMORE -> EV_EOF.
  const Registration registration = Make(Interest::kReadable, Mode::kLevel, 1);
  KernelEvent event = EventOf(kReadFilter, 1);
  event.eof = true;
  EXPECT_EQ(ReadinessOf(event, registration, kMacOs),
            Readiness::kReadable | Readiness::kHangUp);
}

// ----------------------------------------------------------------------------
// Item 5: which token an event carries.

TEST(KqueueSerial, EventTakenBeforeModifyIsDropped) {
  // kevent copied out the read event (udata 6) before another thread's
  // Modify(fd, new token, kWritable) gave the registration serial 7.
  const Registration registration =
      Make(Interest::kWritable, Mode::kOneshot, 7);
  EXPECT_FALSE(IsCurrent(EventOf(kReadFilter, 6), registration, kMacOs));
  EXPECT_TRUE(IsCurrent(EventOf(kWriteFilter, 7), registration, kMacOs));
}

TEST(KqueueSerial, EventTakenBeforeDeleteAndAddIsDropped) {
  // Delete, then Add of a new descriptor with the same number: a new
  // serial from the same counter, never the old one again.
  const Registration readded = Make(Interest::kReadable, Mode::kLevel, 9);
  EXPECT_FALSE(IsCurrent(EventOf(kReadFilter, 8), readded, kMacOs));
}

TEST(KqueueSerial, EveryChangeCarriesTheNewSerial) {
  Registration old =
      Make(Interest::kReadable | Interest::kWritable, Mode::kLevel, 4);
  old.filters = kReadFilter | kWriteFilter;
  Registration modified = old;
  modified.token = 77;
  modified.serial = 5;
  Change changes[kMaxChanges];
  const int count = PlanChanges(old, modified, kMacOs, changes);
  ASSERT_EQ(count, 2);
  for (int i = 0; i < count; ++i) EXPECT_EQ(changes[i].udata, 5u);
}

TEST(KqueueSerial, ComparedInTheBitsUdataHolds) {
  Platform narrow = kMacOs;
  narrow.udata_mask = 0xffffffffu;  // A 32-bit `udata`.
  const Registration registration =
      Make(Interest::kReadable, Mode::kLevel, (std::uint64_t{1} << 32) | 5);
  EXPECT_TRUE(IsCurrent(EventOf(kReadFilter, 5), registration, narrow));
  EXPECT_FALSE(IsCurrent(EventOf(kReadFilter, 4), registration, narrow));
}

// ----------------------------------------------------------------------------
// Item 7: AlreadyExists without touching the kernel's filters.

TEST(KqueueIdentity, SameFileComparesDeviceAndInode) {
  FileIdentity recorded{3, 1234, FileKind::kSocket};
  EXPECT_TRUE(SameFile(recorded, FileIdentity{3, 1234, FileKind::kSocket}));
  EXPECT_FALSE(SameFile(recorded, FileIdentity{3, 1235, FileKind::kSocket}));
  EXPECT_FALSE(SameFile(recorded, FileIdentity{4, 1234, FileKind::kSocket}));
}

// ----------------------------------------------------------------------------
// Changes in general.

TEST(KqueueChanges, ModeChangeRecreatesEachFilter) {
  // EV_CLEAR and EV_DISPATCH are the knote's from its creation (XNU
  // kevent_register copies kn_kevent at attach; a touch keeps kn_flags).
  Registration old = Make(Interest::kReadable, Mode::kLevel, 1);
  old.filters = kReadFilter;
  Registration edge = old;
  edge.mode = Mode::kEdge;
  edge.serial = 2;
  Change changes[kMaxChanges];
  ASSERT_EQ(PlanChanges(old, edge, kMacOs, changes), 2);
  EXPECT_EQ(changes[0].action, Action::kDelete);
  EXPECT_EQ(changes[1].action, Action::kAddEnabled);
  EXPECT_TRUE(changes[1].clear);
}

TEST(KqueueChanges, NoneKeepsADisabledReadFilter) {
  Registration old = Make(Interest::kWritable, Mode::kLevel, 1);
  old.filters = kWriteFilter;
  Registration none = old;
  none.interest = Interest::kNone;
  none.serial = 2;
  Change changes[kMaxChanges];
  ASSERT_EQ(PlanChanges(old, none, kMacOs, changes), 2);
  EXPECT_EQ(changes[0].filter, kReadFilter);
  EXPECT_EQ(changes[0].action, Action::kAddDisabled);
  EXPECT_EQ(changes[1].filter, kWriteFilter);
  EXPECT_EQ(changes[1].action, Action::kDelete);
}

TEST(KqueueChanges, DeletingWhatIsGoneIsNotAFailure) {
  // A closed descriptor's knotes are gone (XNU knote_fdclose): EV_DELETE says
  // ENOENT.
  Registration old = Make(Interest::kReadable, Mode::kLevel, 1);
  old.filters = kReadFilter;
  Registration none = old;
  none.interest = Interest::kWritable;
  none.serial = 2;
  Change changes[kMaxChanges];
  const int count = PlanChanges(old, none, kMacOs, changes);
  ASSERT_EQ(count, 2);
  const int errors[] = {ENOENT, EBADF};
  const ApplyOutcome outcome =
      ApplyAnswers(old.filters, changes, errors, count);
  EXPECT_EQ(outcome.filters, kNoFilter);
  EXPECT_EQ(outcome.failed, 1);
}

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
