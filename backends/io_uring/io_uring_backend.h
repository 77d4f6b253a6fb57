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
//   has at most one poll request in flight; its user_data is the descriptor
//   (low 32 bits) and a serial (high 32 bits) that changes every time the
//   backend arms a request, and the backend keeps a table fd -> {token,
//   interest, mode, serial}. A completion is reported only if its
//   serial is the one in the table, under the table's lock: a completion
//   still in flight for a request that Modify or Delete cancelled is ignored,
//   so once Delete returns no event carries the old token, and an event always
//   carries the latest Modify's token and interest. An event the kernel
//   completed before a Modify (already in the completion queue, or being
//   collected by a Wait that waits for the table while Modify holds it) is
//   dropped, never reported under the new token nor counted against the new
//   request; the new request reports what is ready under the new interest.
//   Requests are cancelled with IORING_OP_ASYNC_CANCEL, not
//   IORING_OP_POLL_REMOVE, which fails (EALREADY) while the request's
//   completion is being run and leaves it holding its file open (the peer of a
//   deleted and closed socket then never saw the hang-up).
//
// Modes
//   kEdge        a multishot poll (IORING_POLL_ADD_MULTI): the kernel posts a
//                completion on each wake-up of the file that matches the
//                interest (new data, freed buffer space), like EPOLLET, and one
//                at once if the file is ready when armed. When a completion
//                says no more will come (no IORING_CQE_F_MORE, e.g. after the
//                completion queue overflowed) the next Wait re-arms it, which
//                can report a still-ready handle once more.
//   kLevel       a single-shot poll, re-armed after each delivery. The re-arm
//                is submitted at the start of the next Wait, and a single-shot
//                poll on a file that is still ready completes at once, so a
//                handle is reported on every Wait while it is ready, once per
//                Wait. Each re-arm first checks (one epoll_ctl on a private
//                set, poller/internal/open_file_set.h) that the number still
//                names the registered file (see closed handles below).
//   kOneshot     a single-shot poll, not re-armed until Modify.
//   kEdgeOneshot the same as kOneshot: arming checks the current readiness,
//                as EPOLL_CTL_MOD does for EPOLLET | EPOLLONESHOT.
//   Readable interest adds POLLRDHUP (TCP half-close is hang-up). Priority
//   interest without readable interest is polled with a multishot request that
//   also asks for POLLIN (filtered out of the events), whatever the mode:
//   Linux does not complete an io_uring poll for POLLPRI alone when TCP urgent
//   data arrives (seen on 6.18; poll(2) and epoll are woken). Oneshot and level
//   are then kept by cancelling or renewing that request after each event (at
//   the next Wait). A completion that claims POLLPRI is confirmed with a
//   zero-timeout poll(2) of that descriptor: io_uring may report the wake-up's
//   mask rather than poll the file again, and a TCP socket's wake-up for plain
//   data names POLLPRI. A poll request that fails (a negative result other
//   than cancellation) reports kError for its token and stays disarmed until
//   Modify.
//
// Wake and threads
//   Wake() submits an IORING_OP_NOP with a reserved user_data: it completes
//   at once and ends the blocked wait, with no extra descriptor. Poller
//   coalesces wakes, so a burst costs one io_uring_enter. Submission is
//   guarded by a std::mutex (with the table), so Add, Modify, Delete and
//   Wake may come from any thread; the waiter takes it to submit due
//   re-arms and cancellations and to read completions, never while blocked in
//   the kernel. Wait: io_uring_wait_cqe_timeout with a __kernel_timespec
//   (nanosecond timeouts, IORING_FEAT_EXT_ARG: no timeout request is queued);
//   zero timeout only peeks. EINTR -> WaitResult::interrupted. Cost per Wait:
//   O(ready), as with epoll, plus an fstat per level re-arm; see README's
//   benchmark table for numbers.
//
// Kernel features, and what each buys
//   Measured on Linux 6.18 (2-vCPU VM) with //bench:uring_features: raw
//   system calls, no poller code, one byte bounced over a socketpair, the
//   median ratio to raw epoll in the same repetition over 9 repetitions, two
//   runs (docs/bench-uring-features.json); the cooperative ring also with the
//   echo demo, whose completions are woken from another CPU.
//   - Single-shot poll, re-armed after each event (this backend's oneshot and
//     level): 1.18-1.21x epoll: arming a poll through io_uring_enter costs more
//     than epoll_wait returning a ready event. With the fstat(2) per re-arm
//     that keeps a reused number from being watched under the old token
//     ("Closed handles"): 1.39-1.43x. poller/io_uring's oneshot ping-pong sits
//     at that floor (README, Performance).
//   - The re-arm submitted inside the waiting io_uring_enter: 1.03-1.07x. Not
//     used: a Modify reaches the kernel before it returns (so that a Wait
//     blocked on another thread sees it), and deferring it to the next Wait
//     would still pay its fstat there.
//   - Multishot poll armed once (IORING_POLL_ADD_MULTI): 0.97-1.00x. Used for
//     edge and priority-only registrations. Not for oneshot and level: the
//     request would keep every registered file open in the kernel until
//     Delete, so a socket closed without Delete would never send its FIN, and
//     the user-space disarm it needs lost an event under stress in a first
//     attempt.
//   - IORING_SETUP_COOP_TASKRUN with TASKRUN_FLAG (5.19+): 1.15-1.18x, no
//     change where the waiting thread wakes its own files; where another CPU
//     wakes them, the kernel no longer interrupts the busy submitter to post
//     each completion: the echo demo (100 clients) spent 9.4 s of kernel CPU
//     before, 3.4 s after (epoll 3.0 s). Used where the kernel has it.
//   - IORING_SETUP_SINGLE_ISSUER with DEFER_TASKRUN: 1.05-1.10x on the batched
//     loop, 0.95-0.99x on multishot, no gain over those measurable here; and
//     the ring then refuses submissions from any thread but one, while Add,
//     Modify, Delete and Wake may come from any thread. Not used.
//   - A registered ring descriptor (io_uring_register_ring_fd): 1.19x, no
//     gain; and it is registered for one thread, while liburing would use it
//     from every thread. Not used.
//   - IOSQE_CQE_SKIP_SUCCESS on cancellations (5.17+): used, halving the
//     completions Modify and Delete cost; not measured alone.
//
// When the kernel refuses a submission
//   io_uring_enter may refuse entries for the moment (EAGAIN: no memory for
//   the request; EBUSY: no room for completions) or for good (EBADF, EFAULT,
//   ENXIO...). Every call submits what it queued before it returns, retrying
//   EINTR, and takes back whatever the kernel did not take, so the submission
//   queue is empty between calls and nothing is submitted later behind the
//   caller's back:
//   - Add, Modify, Delete: either the change reaches the kernel before the
//     call returns, and so takes effect for a Wait blocked on another thread,
//     or the call fails with the errno's code (Unavailable for EAGAIN and
//     EBUSY) and a message naming io_uring_submit and the errno, and nothing
//     changed: the registration is as before the call, and the call can be
//     retried. If the kernel takes a Modify's new request but not the
//     cancellation of the old one (a partial submission, under memory
//     pressure), Modify succeeds and the old request, whose completions are
//     ignored, is cancelled with a later submission. A Delete of a number
//     that was closed or reused without Delete forgets the registration
//     whatever the kernel says (its request is cancelled later if refused).
//   - Wake: EAGAIN and EBUSY are retried 3 times, 2, 4 and 8 ms apart (a
//     wake must not be lost, and Shutdown cannot report a failure); then it
//     fails with nothing queued, Poller::Wake returns the error, and the next
//     Wake signals again.
//   - Wait: the re-arms and cancellations due are submitted at its start. If
//     the kernel refuses them, the Wait does not block (a registration may
//     not be armed): it returns the events already in the completion queue,
//     or else the error; the next Wait submits them again. A kernel wait that
//     fails still delivers what the completion queue holds; then ETIME is the
//     timeout, EINTR an interruption, EBADR (the kernel dropped completions
//     it had no memory to keep) re-arms every armed registration so none is
//     silent for good, and any other errno (EAGAIN and EBUSY from a blocking
//     wait too) an error, never a silent early return that Poller would call
//     again at once.
//
// Closed handles (a descriptor closed without Delete)
//   An armed poll request holds a reference to the open file, so the
//   registration keeps watching the closed file while its request lives: a
//   oneshot until it fires, an edge registration until Modify, Delete, an Add
//   of its number or the poller's destruction. A socket closed without Delete
//   is not released (no FIN is sent) until then, and events of that file
//   (its peer closing, for example) are still reported under the old token.
//   A new file that reuses the number is never watched under the old
//   registration: a re-arm (level after each event, edge after its request
//   ended, every request after a submitting thread exited) first checks that
//   the number still names the registered file, and if it is closed or names
//   another file the registration ends silently, as epoll's does at the last
//   close. Add of a new file under a reused number replaces the stale
//   registration; Modify or Delete of a closed number drop it and fail with
//   InvalidArgument (EBADF), of a reused one with NotFound. Call Delete
//   before close.
//
// Semantics that differ from other backends
//   - Create() returns Unavailable, with the reason, when io_uring is refused
//     (ENOSYS: not built in; EPERM: io_uring_disabled sysctl or a seccomp
//     filter such as Docker's default profile) or the kernel is older than
//     5.13 (no multishot poll or IORING_FEAT_EXT_ARG).
//   - Closed handles: see above.
//   - Completions for a poll request are delivered through the thread that
//     submitted it (task work). The ring is cooperative
//     (IORING_SETUP_COOP_TASKRUN with IORING_SETUP_TASKRUN_FLAG, Linux 5.19;
//     without them on older kernels): the kernel does not interrupt that
//     thread while it runs in user space, and posts the completion at its
//     next entry into the kernel (any system call, a Wait, or the next timer
//     tick's interrupt). A thread asleep in an interruptible system call is
//     interrupted to post it: such a call that the kernel does not restart
//     (a read with SO_RCVTIMEO, for one) fails with EINTR in that thread. A
//     thread in an uninterruptible sleep (the parent of vfork(), disk I/O) is
//     not: its completions, and so the reports of the handles it added,
//     modified or re-armed, wait until it wakes. So a handle that another
//     thread added or modified while that thread stays busy without a system
//     call is reported to a blocked Wait a timer tick late at most (on a
//     nohz_full CPU, where a busy thread gets no tick, not before that
//     thread's next system call), and later still while it sleeps
//     uninterruptibly. Prefer epoll when threads other than the waiting one
//     register handles and may block so.
//     Once that thread has exited, the kernel completes a woken request only
//     from a worker about a jiffy later, and with -ECANCELED instead of the
//     readiness. So when a thread that submitted to the ring exits, the next
//     Wait re-arms every request in flight from its own thread (a
//     thread_local records the exit): a handle that became ready is reported
//     at once, even by a zero-timeout Wait. A Wait already blocked when the
//     thread exits hears of such a handle about a jiffy late, and an edge
//     registration that is ready may be reported once more.
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
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "poller/core/backend.h"
#include "poller/internal/open_file_set.h"
#include "poller/internal/registration_errors.h"

// liburing's ring; its header stays out of this one.
struct io_uring;
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
  absl::Status Wake() override;

 private:
  struct Registration {
    Token token;
    Interest interest;
    Mode mode;
    // The serial of the registration's latest request.
    std::uint32_t serial = 0;
    // That request is in the kernel: submitted, and not known to have ended.
    bool live = false;
    // Its completions are reported (false once a oneshot fired, or a request
    // failed: until Modify or Rearm).
    bool armed = false;
    // A new request is due: the next Wait submits it, cancelling a live one.
    bool rearm = false;
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
      kArm,           // a poll request of `serial`
      kCancel,        // cancels the registration's request of `serial`
      kOrphanCancel,  // cancels an entry of orphans_
      kWake,          // Wake's IORING_OP_NOP
    };
    Kind kind;
    int fd;
    std::uint32_t serial;
  };

  IoUringBackend(std::unique_ptr<io_uring> ring, internal::OpenFileSet files);

  // Modify, or Rearm (`operation` kRearm: the registration's own token,
  // interest and mode are used, and the arguments ignored).
  absl::Status ChangeRegistration(internal::Operation operation,
                                  NativeHandle handle, Token token,
                                  Interest interest, Mode mode);

  // Queues one entry of the batch; null when the submission queue is full.
  io_uring_sqe* QueueLocked(const BatchEntry& entry);
  // Queues a poll request for `registration` under a new serial.
  bool QueueArmLocked(int fd, const Registration& registration);
  // Queues the cancellation of the request (fd, serial).
  bool QueueCancelLocked(BatchEntry::Kind kind, int fd, std::uint32_t serial);
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
  // Collects completions into `events`.
  void ReapLocked(absl::Span<Event> events, WaitResult& result);
  // What a completion with `result` (a poll mask or -errno) of the current
  // request of `registration` reports: true with `readiness` set, or false
  // (cancelled by the kernel, or only filtered-out bits), re-arming or
  // disarming the registration as its mode says.
  bool CompletionReadinessLocked(int fd, Registration& registration, int result,
                                 Readiness* readiness);

  void RearmLocked(int fd, Registration& registration);
  void EnqueueLocked(int fd, Registration& registration);
  void DequeueLocked(Registration& registration);
  void EraseLocked(absl::flat_hash_map<int, Registration>::iterator found);
  // Forgets a registration (a closed or replaced file); its request, if live,
  // becomes an orphan.
  void DropLocked(int fd);
  // Makes room in pending_ for every registration.
  void ReserveLocked();

  // Which open file each registered number names. Guarded by mutex_.
  internal::OpenFileSet files_;
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
  std::uint32_t next_serial_ = 1;
  // Set (by a thread_local's destructor) when a thread that submitted to the
  // ring exits; threads hold it weakly, so it may outlive the backend.
  const std::shared_ptr<std::atomic<bool>> submitter_exited_ =
      std::make_shared<std::atomic<bool>>(false);
  std::uint64_t wait_serial_ = 0;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_
