// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/io_uring/io_uring_backend.h
// -----------------------------------------------------------------------------
//
// A Linux alternative to epoll: readiness through io_uring poll requests
// (liburing). Needs Linux 5.13 or later; Poller::Create("io_uring").
//
// Public API: the public members of IoUringBackend below. A program that wants
// the backend itself, to wrap it (a decorator that counts or logs calls) or to
// test it, depends on @poller//backends/io_uring and calls
// IoUringBackend::Create(), then hands the result to Poller::FromBackend();
// Poller::Create("io_uring") does the same without the wrapper. The rest of
// this header says how it works; it is not a promise.
//
// Strategy
//   One ring (256 submission entries, 4096 completion entries; the kernel
//   queues completions beyond that rather than drop them). Each registration
//   has at most one poll request in the kernel: a single-shot one for oneshot
//   modes, which the kernel disarms itself when it completes; a multishot one
//   (IORING_POLL_ADD_MULTI) for level and edge, kept for the registration's
//   life, which completes on each wake-up of the file that matches the
//   interest, and at once if the file is ready when it is armed or updated.
//   A request's user_data is the descriptor (low 32 bits) and a generation
//   (high bits) that changes every time the backend arms or updates it, and
//   the backend keeps a table fd -> {token, interest, mode, generation}. A
//   completion is reported only if its generation is the one in the table,
//   under the table's lock: a completion posted before a Modify (already in
//   the completion queue, or being collected by a Wait that waits for the
//   table while Modify holds it) is dropped, never reported under the new
//   token nor counted against the new arm, and once Delete returns no event
//   carries the old token. Requests are cancelled with IORING_OP_ASYNC_CANCEL,
//   not IORING_OP_POLL_REMOVE, which fails (EALREADY) while the request's
//   completion is being run and leaves it holding its file open (the peer of
//   a deleted and closed socket then never saw the hang-up; issue 13).
//
//   A change of a request still in the kernel (a new token, interest or
//   mode; the re-check of a level registration after each event) is an
//   update of it (IORING_OP_POLL_REMOVE with IORING_POLL_UPDATE_EVENTS and
//   IORING_POLL_UPDATE_USER_DATA): the kernel takes the new interest and
//   generation and polls the file again, so readiness already there completes
//   the request at once. The request holds the registered file, so no check
//   of the descriptor is needed (as epoll's re-arm makes none). The kernel
//   refuses an update (with a completion, read back before the call returns)
//   when the request is completing at that moment: the request keeps its old
//   generation, whose completion is then taken as the registration is now
//   (masked to its interest), and the update is submitted again. Re-arming a
//   oneshot that fired arms a new request, after checking (fstat) that the
//   number still names the registered file.
//
//   When no Wait is blocked in the kernel, Modify only records the change:
//   the next Wait submits it with the other work of its start (updates, new
//   requests, cancellations), one io_uring_enter for all of them, so Modify
//   makes no system call. While a Wait is blocked, Modify submits at once,
//   so that the change takes effect for that Wait.
//
// Modes
//   kEdge        the multishot request's completions, one per wake-up, like
//                EPOLLET.
//   kLevel       a completion is reported, and the next Wait updates the
//                request, which completes at once if the file is still
//                ready: a handle is reported on every Wait while it is
//                ready, once per Wait.
//   kOneshot     a single-shot request, re-armed by Modify.
//   kEdgeOneshot the same as kOneshot: arming polls the file, as
//                EPOLL_CTL_MOD does for EPOLLET | EPOLLONESHOT.
//   When a multishot request's completion says no more will come (no
//   IORING_CQE_F_MORE: the completion queue was full, or the kernel cancelled
//   the request) the next Wait arms a new one, first checking (fstat) that
//   the number still names the registered file, which can report a
//   still-ready handle once more. With the Wait's events full, completions
//   that need no new event (stale, merged, dropped) are still taken, so the
//   queue does not fill. Readable interest adds POLLRDHUP (TCP half-close is
//   hang-up). Priority interest without readable interest uses a multishot
//   request whatever the mode and also asks for POLLIN (filtered out of the
//   events): Linux does not complete an io_uring poll for POLLPRI alone when
//   TCP urgent data arrives (seen on 6.18; poll(2) and epoll are woken); a
//   oneshot one is silenced (updated to no interest) by the next Wait after
//   its event unless re-armed first. A completion that claims POLLPRI is
//   confirmed with a zero-timeout poll(2) of that descriptor: io_uring may
//   report the wake-up's mask rather than poll the file again, and a TCP
//   socket's wake-up for plain data names POLLPRI. A poll request that fails
//   (a negative result other than cancellation) reports kError for its token
//   and stays disarmed until Modify.
//
// Wake and threads
//   Notify() submits an IORING_OP_NOP with a reserved user_data: it completes
//   at once and ends the blocked wait, with no extra descriptor. Poller calls
//   it only for a Wait that may block (see poller.cc, "The wake protocol").
//   Submission is guarded by a std::mutex (with the table), so Add, Modify,
//   Delete and Notify may come from any thread; the waiter takes it to submit
//   the work due and to read completions, never while blocked in the kernel.
//   Wait: io_uring_wait_cqe_timeout with a __kernel_timespec (nanosecond
//   timeouts, IORING_FEAT_EXT_ARG: no timeout request is queued); zero
//   timeout only peeks. EINTR -> WaitResult::interrupted. A completion runs
//   as task work of the thread that submitted its request, so the Wait that
//   first re-checks a request another thread submitted replaces it with one
//   of its own (a cancellation, an fstat and a new request, once): a
//   zero-timeout Wait then sees at once what the re-check finds. Cost per
//   Wait: O(ready), as with epoll; README's benchmark tables have the figures.
//
// Kernel features, and what each bought (README, "Performance", has the runs)
//   - Multishot requests for level registrations, re-checked by an update
//     (Linux 5.13, required): before, a level registration used single-shot
//     requests, and every re-arm cost an fstat (the number could name another
//     file by then) and a new request. FIGURES_MULTISHOT
//   - Changes queued for the next Wait's submission when no Wait is blocked:
//     before, every Modify made an fcntl, an fstat and an io_uring_enter of
//     its own; now a oneshot re-arm costs one fstat and a share of the next
//     Wait's io_uring_enter, a change of a live request only that share.
//     FIGURES_BATCHING
//   - Multishot requests for oneshot registrations were tried and dropped:
//     a disarmed registration's request went on completing for wake-ups
//     nobody wanted (as task work, each with an interrupt of the waiting
//     thread when it runs on another CPU): FIGURES_ONESHOT_MULTISHOT
//   - IORING_FEAT_CQE_SKIP (5.17): a cancellation or an update posts no
//     completion when it succeeds (IOSQE_CQE_SKIP_SUCCESS). Without it they
//     are read and dropped, one per update: with 2,000 echo connections the
//     completion queue then filled, which ends multishot requests (24,000
//     ended and were re-armed, an fstat each, in a run of 200,000 events).
//   Not used, and why:
//   - IORING_SETUP_SINGLE_ISSUER with IORING_SETUP_DEFER_TASKRUN: the ring
//     would accept submissions from one thread only, and Add, Modify, Delete
//     and Wake come from any thread.
//   - IORING_SETUP_COOP_TASKRUN: completions would wait until the thread that
//     submitted the request enters the kernel; liburing's manual names the
//     exception, "the application waiting on completions isn't the one that
//     submitted them", which poller allows (Add on one thread, Wait on
//     another) and a Wait blocked meanwhile would miss. FIGURES_COOP
//   - A registered ring descriptor (io_uring_register_ring_fd): the
//     registration belongs to the thread that made it and is undone only by
//     that thread; submissions come from any thread, and a poller destroyed
//     on another thread would leave the ring pinned until the registering
//     thread exits. FIGURES_REGISTERED
//
// When the kernel refuses a submission (issue 13)
//   io_uring_enter may refuse entries for the moment (EAGAIN: no memory for
//   the request; EBUSY: no room for completions) or for good (EBADF, EFAULT,
//   ENXIO...). Every call that submits does so before it returns, retrying
//   EINTR, and takes back whatever the kernel did not take, so the submission
//   queue is empty between calls and nothing is submitted behind the
//   caller's back (work queued for the next Wait stays in the table, not in
//   the submission queue):
//   - Add, Delete, and a Modify that submits (a Wait is blocked, or the
//     registration has no request in the kernel): either the change reaches
//     the kernel before the call returns, and so takes effect for a Wait
//     blocked on another thread, or the call fails with the errno's code
//     (Unavailable for EAGAIN and EBUSY) and a message naming io_uring_submit
//     and the errno, and nothing changed: the registration is as before the
//     call, and the call can be retried. If the kernel takes a Modify's new
//     request but not the cancellation of the old one (a partial submission,
//     under memory pressure), Modify succeeds and the old request, whose
//     completions are ignored, is cancelled with a later submission. A Delete
//     of a number that was closed or reused without Delete forgets the
//     registration whatever the kernel says (its request is cancelled later
//     if refused).
//   - A Modify queued for the next Wait cannot be refused: that Wait submits
//     it, as below.
//   - Notify: EAGAIN and EBUSY are retried 3 times, 2, 4 and 8 ms apart (a
//     wake must not be lost, and Shutdown cannot report a failure); then it
//     fails with nothing queued, Poller::Wake returns the error, and the next
//     Wake signals again.
//   - Wait: the updates, re-arms and cancellations due are submitted at its
//     start. If
//     the kernel refuses them, the Wait does not block (a registration may
//     not be armed): it returns the events already in the completion queue,
//     or else the error; the next Wait submits them again. A kernel wait that
//     fails still delivers what the completion queue holds; then ETIME is the
//     timeout, EINTR an interruption, and any other errno (EAGAIN and EBUSY
//     from a blocking wait too) an error, never a silent early return that
//     Poller would call again at once.
//
// Closed handles (a descriptor closed without Delete)
//   A registration's request holds a reference to the open file, so the
//   registration keeps watching the closed file while its request lives (a
//   socket closed without Delete is not released, no FIN is sent, and its
//   events are still reported under the old token): a level or edge
//   registration until Delete, an Add of its number, the end of its request
//   (see Modes) or the poller's destruction, a oneshot until it fires; as
//   epoll's registration does while a duplicate of the descriptor is open.
//   Modify of a closed number succeeds while the request lives, or when it
//   only re-arms a oneshot with no Wait blocked, as it may with epoll. A new
//   file that reuses the number is never watched under the old registration:
//   a new request (after a oneshot fired, after a multishot one ended, or to
//   move it to the waiting thread) first checks that the number still names
//   the registered file, and if it is closed or names another file the
//   registration ends silently, as epoll's does at the last close. Add of a new
//   file under a reused number replaces the stale registration; Delete of a
//   closed number drops it and fails with InvalidArgument (EBADF), of a reused
//   one with NotFound. Call Delete before close.
//
// Semantics that differ from other backends
//   - Create() returns Unavailable, with the reason, when io_uring is refused
//     (ENOSYS: not built in; EPERM: io_uring_disabled sysctl or a seccomp
//     filter such as Docker's default profile) or the kernel is older than
//     5.13 (no multishot poll or IORING_FEAT_EXT_ARG).
//   - Closed handles: see above.
//   - Completions for a poll request are delivered through the thread that
//     submitted it (task work): a thread that called Add and then blocks
//     elsewhere is briefly interrupted by the kernel to post the completion.
//     Once that thread has exited, the kernel completes a woken request only
//     from a worker about a jiffy later, and with -ECANCELED instead of the
//     readiness. So when a thread that submitted to the ring exits, the next
//     Wait replaces every request in flight with one from its own thread (a
//     thread_local records the exit): a handle that became ready is reported
//     at once, even by a zero-timeout Wait. A Wait already blocked when the
//     thread exits hears of such a handle about a jiffy late, and an edge
//     registration that is ready may be reported once more.
//   - fork(): the rings are shared memory. A child that uses an inherited
//     poller moves the kernel's queue heads; the parent's next submission
//     starts again from the kernel's head, but completions the child took are
//     lost to the parent. Create a new poller in the child.
//   - kNone interest still reports hang-up and error (the kernel always polls
//     for POLLHUP/POLLERR).
//   - Regular files, directories and O_PATH descriptors cannot be registered
//     (InvalidArgument), as with epoll; neither can the ring itself.

#ifndef POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_
#define POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "poller/core/backend.h"
#include "poller/internal/pollable_file.h"
#include "poller/internal/registration_errors.h"

// liburing's ring; its header stays out of this one.
struct io_uring;
struct io_uring_cqe;
struct io_uring_sqe;

namespace poller {

class IoUringBackend final : public Backend {
 public:
  static constexpr absl::string_view kName = "io_uring";

  // Errors: Unavailable when the kernel refuses io_uring or is too old (see
  // above); ResourceExhausted when out of descriptors or locked memory.
  static absl::StatusOr<std::unique_ptr<Backend>> Create();

  ~IoUringBackend() override;

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
  absl::Status Notify() override;

 private:
  struct Registration {
    Token token;
    Interest interest;
    Mode mode;
    internal::FileIdentity identity;
    // The generation the registration's request carries in its user_data
    // (an update renames it), and the one before the last update, which it
    // keeps if the kernel refuses the update.
    std::uint32_t generation = 0;
    std::uint32_t previous_generation = 0;
    // The thread that submitted the request, whose task work completes it.
    std::uint32_t owner = 0;
    // The request is multishot (otherwise it ends with its completion).
    bool multishot = false;
    // That request is in the kernel: submitted, and not known to have ended.
    bool live = false;
    // Its completions are reported (false once a oneshot fired, or a request
    // failed: until Modify or Rearm).
    bool armed = false;
    // A new request is due: the next Wait submits it, cancelling a live one.
    bool rearm = false;
    // An update of the live request is due (a re-arm, a change of interest,
    // a level registration reported last Wait): the next Wait submits it.
    bool repoll = false;
    // Its number no longer names its file (closed without Delete, seen at a
    // re-arm): it is forgotten once its request is cancelled.
    bool ended = false;
    // 1 + its index in pending_, or 0 when the next Wait has nothing to do
    // for it.
    size_t pending_index = 0;
    // The Wait (wait_serial_) that last reported it, and at which index, so
    // completions within one Wait merge into one event.
    std::uint64_t reported_in_wait = 0;
    size_t event_index = 0;
  };

  // A submission queue entry of the batch being submitted, and what the
  // kernel's taking it means for the registration of `fd`.
  struct BatchEntry {
    enum class Kind : std::uint8_t {
      kArm,           // a poll request of `generation`
      kUpdate,        // renames the registration's request to `generation`
      kCancel,        // cancels the registration's request of `generation`
      kOrphanCancel,  // cancels an entry of orphans_
      kWake,          // Notify's IORING_OP_NOP
    };
    Kind kind;
    int fd;
    std::uint32_t generation;
  };

  explicit IoUringBackend(std::unique_ptr<io_uring> ring);

  // Modify, or Rearm (`operation` kRearm: the registration's own token,
  // interest and mode are used, and the arguments ignored).
  absl::Status ChangeRegistration(internal::Operation operation,
                                  NativeHandle handle, Token token,
                                  Interest interest, Mode mode);

  // Queues one entry of the batch; null when the submission queue is full.
  io_uring_sqe* QueueLocked(const BatchEntry& entry);
  std::uint32_t NextGenerationLocked();
  // Queues a multishot poll request for `registration` under a new
  // generation.
  bool QueueArmLocked(int fd, const Registration& registration);
  // Queues an update of the registration's request: its interest, a new
  // generation, and a poll of the file at once.
  bool QueueUpdateLocked(int fd, const Registration& registration);
  // What a refused update means for its registration (completion `result`).
  void ApplyUpdateResultLocked(std::uint64_t user_data, int result);
  // Applies the refused updates the completion queue holds.
  void ScanUpdateResultsLocked();
  // Queues the cancellation of the request (fd, generation).
  bool QueueCancelLocked(BatchEntry::Kind kind, int fd,
                         std::uint32_t generation);
  // Queues the cancellation of as many orphans_ as there is room for.
  void QueueOrphansLocked();
  // Hands the batch to the kernel, which binds the completions of its poll
  // requests to the calling thread; retries EINTR. Returns how many entries
  // the kernel took (the first ones) and applies them to the registrations;
  // takes the others back out of the submission queue, so the queue is empty
  // again, and sets *error to the errno that stopped the kernel.
  unsigned SubmitBatchLocked(int* error);
  void CommitBatchLocked(unsigned taken);
  void WithdrawUnsubmittedLocked();
  // At the start of Wait: submits the work of pending_ and orphans_.
  absl::Status FlushLocked();
  // Queues the work of pending_ (submitting when the queue is full).
  void QueuePendingLocked(int* error, absl::Status* failure);
  // Collects completions into `events`.
  void ReapLocked(absl::Span<Event> events, WaitResult& result);
  // The event a registration's completion makes, if any, with what it
  // means for the registration.
  std::optional<Event> ToEventLocked(
      int fd, absl::flat_hash_map<int, Registration>::iterator found,
      const io_uring_cqe& completion);
  // Whether a completion would take a new slot of the Wait's events.
  bool NeedsNewEventLocked(std::uint64_t user_data) const;
  // Modify of a registration whose request is in the kernel.
  absl::Status ModifyLiveLocked(int fd, Registration& registration, Token token,
                                Interest interest, Mode mode);

  void RearmLocked(int fd, Registration& registration);
  void EnqueueLocked(int fd, Registration& registration);
  void DequeueLocked(Registration& registration);
  void EraseLocked(absl::flat_hash_map<int, Registration>::iterator found);
  // Forgets a registration (a closed or replaced file); its request, if live,
  // becomes an orphan.
  void DropLocked(int fd);
  // Makes room in pending_ for every registration.
  void ReserveLocked();
  // 1 if `fd` still names the registration's file, 0 if it is closed or names
  // another file, -1 if fstat failed otherwise (errno says why).
  static int NamesRegisteredFile(int fd, const Registration& registration);

  const std::unique_ptr<io_uring> ring_;
  const int ring_fd_;

  std::mutex mutex_;
  // Guarded by mutex_, as are the submission queue and the completion queue's
  // head. Between calls the submission queue is empty: every call submits
  // what it queued, or takes it back.
  absl::flat_hash_map<int, Registration> registrations_;
  // Registrations with work for the next Wait (rearm, or a live request to
  // cancel).
  std::vector<int> pending_;
  // Requests to cancel that no registration names any more (the user_data of
  // each), whose cancellation the kernel did not take yet.
  std::vector<std::uint64_t> orphans_;
  const std::unique_ptr<BatchEntry[]> batch_;
  const unsigned batch_capacity_;
  unsigned batch_size_ = 0;
  std::uint32_t next_generation_ = 1;
  // Set (by a thread_local's destructor) when a thread that submitted to the
  // ring exits; threads hold it weakly, so it may outlive the backend.
  const std::shared_ptr<std::atomic<bool>> submitter_exited_ =
      std::make_shared<std::atomic<bool>>(false);
  std::uint64_t wait_serial_ = 0;
  // A Wait is blocked in the kernel (Modify then submits its update itself).
  bool waiting_ = false;
  // Updates submitted whose refusals have not been looked for.
  unsigned updates_to_check_ = 0;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_
