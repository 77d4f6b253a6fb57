// Copyright 2026 The poller Authors.
//
// The kqueue backend's decisions (kqueue_logic.h), driven on any platform with
// kernel answers taken from the kernels' sources: each scripted answer names
// the function it comes from (XNU: apple-oss-distributions/xnu bsd/kern;
// FreeBSD: sys/kern; OpenBSD: sys/kern). Item numbers are those of
// kqueue_backend.h.
//
// This file: items 1 to 7 and changes in general; kqueue_logic_refusal_test.cc:
// change lists the kernel refuses.

#include "backends/kqueue/kqueue_logic.h"

#include <cerrno>
#include <cstdint>

#include "backends/kqueue/kqueue_logic_testing.h"
#include "gtest/gtest.h"
#include "poller/core/types.h"

namespace poller::kqueue_logic {
namespace {

using ::poller::kqueue_logic::testing::AcceptAll;
using ::poller::kqueue_logic::testing::EventOf;
using ::poller::kqueue_logic::testing::kFreeBsd;
using ::poller::kqueue_logic::testing::kMacNoteOob;
using ::poller::kqueue_logic::testing::kMacOs;
using ::poller::kqueue_logic::testing::kOpenBsd;
using ::poller::kqueue_logic::testing::kOpenBsdNoteOob;
using ::poller::kqueue_logic::testing::Make;

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

}  // namespace
}  // namespace poller::kqueue_logic
