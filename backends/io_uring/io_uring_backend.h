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
// How it works is io_uring_backend.cc's opening comment; it is not a promise.
//
// What differs from poller.h, and what it means to a caller
//   - Create() returns Unavailable, with the reason, when io_uring is refused
//     (ENOSYS: not built in; EPERM: io_uring_disabled sysctl or a seccomp
//     filter such as Docker's default profile) or the kernel is older than
//     5.13 (no multishot poll or IORING_FEAT_EXT_ARG). It opens two
//     descriptors: the ring and an eventfd.
//   - Only the thread inside Wait submits poll requests. Add, Modify and
//     Rearm check the handle and record the change; the Wait in progress, if
//     it may block, is woken and arms it before it waits again ("takes
//     effect for a Wait in progress"), and with no Wait in progress the next
//     Wait arms it. So their errors are those of the check alone
//     (InvalidArgument, NotFound, AlreadyExists, FailedPrecondition); the
//     kernel cannot refuse them. What the kernel refuses later reaches the
//     caller: a submission refused (EAGAIN, EBUSY) stays due and the Wait
//     that tried returns the error (Unavailable) if it has no event to
//     report, and the next Wait submits it again; a poll request that fails
//     reports kError for its token and stays disarmed until Modify or
//     Rearm; one whose number was closed before it was armed ends the
//     registration silently, as epoll's last close does.
//   - Delete is never refused by the kernel: the registration is gone when
//     it returns, and its request is cancelled at once by the thread that
//     waits (or by the caller if it is that thread and no Wait is in
//     progress).
//   - A thread that calls Add, Modify, Rearm, Delete or Wake and never Wait
//     is not involved afterwards: its sleeps delay no report and its own
//     blocking calls are never interrupted. The thread that waits is the one
//     whose calls the kernel may interrupt (EINTR) when a completion arrives
//     while it is outside Wait, or when the poller is destroyed.
//   - Waiting from one thread is cheapest. When a Wait runs on another thread
//     than the previous one, it cancels and re-arms every request first
//     (O(registrations)).
//   - If the kernel had to drop completions (EBADR: no memory for its
//     overflow list), the next Wait re-arms every armed registration: no
//     oneshot or level event is lost, and an edge registration that is ready
//     is reported once more.
//   - Closed handles (a descriptor closed without Delete): a request in the
//     kernel holds its open file, so the registration keeps watching the
//     closed file while its request lives (a oneshot until it fires, an edge
//     registration until Modify, Delete, an Add of its number or the
//     poller's destruction): a socket closed without Delete is not released
//     (no FIN) until then. A poller destroyed on the thread that last waited
//     on it releases every file before the destructor returns; destroyed on
//     another thread (or in a forked child), the kernel releases them soon
//     after, from a worker. A new file that reuses the number is never
//     watched under the old registration: every arm first checks (one
//     epoll_ctl on a private set, poller/internal/open_file_set.h) that the
//     number still names the registered file. If that check itself fails
//     (ENOMEM...), the arm stays due and that Wait returns the error when it
//     has no event (after repeated EINTR it returns as interrupted); the next
//     Wait checks again. Call Delete before close.
//   - kNone interest still reports hang-up and error.
//   - Regular files, directories and O_PATH descriptors cannot be registered
//     (InvalidArgument), as with epoll; neither can the poller's own
//     descriptors.

#ifndef POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_
#define POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "poller/core/backend.h"
#include "poller/internal/eventfd_waker.h"
#include "poller/internal/open_file_set.h"
#include "poller/internal/registration_errors.h"

// liburing's ring; its header stays out of this one.
struct io_uring;
struct io_uring_sqe;

namespace poller {

class IoUringBackend final : public Backend {
 public:
  static constexpr absl::string_view kName = "io_uring";

  struct Options {
    // The caller's promise that every registered handle is Deleted before
    // it is closed: a registered number is never closed (nor dup2'ed over)
    // while registered. With it the backend no longer checks, before each
    // arm and in Modify, Rearm and Delete, that the number still names the
    // registered file (one epoll_ctl each, about one system call per event
    // otherwise), and Delete does not forget the file in that check's set.
    // Broken, the promise costs what the check prevents: a file that reuses
    // a closed registered number may be watched, and reported, under the old
    // registration's token, and Modify or Delete of a closed number may
    // return OK. Everything else in this header holds either way.
    bool deleted_before_close = false;
  };

  // Errors: Unavailable when the kernel refuses io_uring or is too old (see
  // above); ResourceExhausted when out of descriptors or locked memory.
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
  static absl::StatusOr<std::unique_ptr<Backend>> Create(Options options);

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
    // Set from changes_ by Add, Modify and Rearm: an arm queued before the
    // latest change armed the old settings (or an older registration's).
    std::uint32_t generation = 0;
    // That request is in the kernel: submitted, and not known to have ended.
    bool live = false;
    // Its completions are reported (false once a oneshot fired, a request
    // failed, or a change waits for its new request: until that is armed).
    bool armed = false;
    // A new request is due: the next submission by the waiting thread arms
    // it, cancelling a live one.
    bool rearm = false;
    // Arm a multishot request, which completes on the file's next wake-up
    // only: a single-shot one completed with nothing the registration asked
    // for (the kernel always polls for read-hang-up), and re-armed it would
    // complete at once again.
    bool until_wakeup = false;
    // Its number no longer names its file (closed without Delete, seen at a
    // re-arm): it is forgotten once its request is cancelled.
    bool ended = false;
    // 1 + its index in pending_, or 0 when the waiter has nothing to do
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
      kSignalArm,     // the multishot poll of signal_ (serial)
    };
    Kind kind;
    int fd;
    std::uint32_t serial;
    // kArm: the registration's generation when the arm was queued.
    std::uint32_t generation = 0;
  };

  IoUringBackend(std::unique_ptr<io_uring> ring, internal::EventFdWaker signal,
                 internal::OpenFileSet files, Options options);

  // Modify, or Rearm (`operation` kRearm: the registration's own token,
  // interest and mode are used, and the arguments ignored).
  absl::Status ChangeRegistration(internal::Operation operation,
                                  NativeHandle handle, Token token,
                                  Interest interest, Mode mode);
  // The caller promised to Delete before close (Options) and `handle` is
  // registered: its number names the registered file, unchecked. A number
  // not registered is checked as without the promise, for its error.
  bool PromisedLocked(int handle) const;
  // After a change queued for the waiter: whether the caller must signal it
  // (it is blocked in the kernel and was not signalled since it blocked).
  bool NeedsSignalLocked();
  // Ends the waiter's kernel wait: a write to signal_, whose multishot poll
  // request the waiter keeps armed.
  absl::Status Signal();

  // io_uring_submission.cc: the submission queue, the pending work, the
  // completion queue.
  io_uring_sqe* QueueLocked(const BatchEntry& entry);
  bool QueueArmLocked(int fd, const Registration& registration);
  bool QueueCancelLocked(BatchEntry::Kind kind, int fd, std::uint32_t serial);
  void QueueOrphansLocked();
  // Applies the first `taken` entries of the batch (those the kernel took)
  // to the registrations, and takes the others back out of the submission
  // queue, so that it is empty again.
  void CommitBatchLocked(unsigned taken);
  void WithdrawUnsubmittedLocked();
  // Cancels every request in the ring, on the issuing thread (the
  // destructor; no other thread uses the backend by then).
  void CancelEverythingLocked();
  // Submits the batch now (io_uring_submit), retrying EINTR; sets *error to
  // the errno that stopped the kernel. Returns how many entries it took.
  unsigned SubmitBatchLocked(int* error);
  // Queues the waiter's work (pending_, orphans_, signal_'s request) into
  // the batch, submitting full batches on the way; the last batch is left
  // queued for the waiter's own kernel wait to submit.
  absl::Status FlushLocked();
  // The waiting thread is not the one that submitted the requests in
  // flight: every one is armed again by the waiter.
  void ResubmitAllLocked();
  void ReapLocked(absl::Span<Event> events, WaitResult& result);
  // What a completion with `result` (a poll mask or -errno) of the current
  // request of `registration` reports: true with `readiness` set, or false
  // (cancelled by the kernel, or nothing the registration asked for),
  // re-arming or disarming the registration as its mode says.
  bool CompletionReadinessLocked(int fd, Registration& registration, int result,
                                 Readiness* readiness);
  void RearmLocked(int fd, Registration& registration);
  void EnqueueLocked(int fd, Registration& registration);
  void DequeueLocked(Registration& registration);
  void EraseLocked(absl::flat_hash_map<int, Registration>::iterator found);
  void DropLocked(int fd);
  void ReserveLocked();

  const Options options_;
  const std::unique_ptr<io_uring> ring_;
  const int ring_fd_;
  // Written by any thread to end the waiter's kernel wait (Wake, and a change
  // queued while it is blocked); never read: each write is a wake-up of its
  // multishot poll request.
  internal::EventFdWaker signal_;

  std::mutex mutex_;
  // The open file each registered number names (one epoll_ctl per check).
  // Guarded by mutex_, as are the rest below, the submission queue and the
  // completion queue's head.
  internal::OpenFileSet files_;
  absl::flat_hash_map<int, Registration> registrations_;
  // Registrations with work for the waiter (an arm, or a live request to
  // cancel).
  std::vector<int> pending_;
  // Requests to cancel that no registration names any more (the user_data of
  // each), whose cancellation the kernel did not take yet.
  std::vector<std::uint64_t> orphans_;
  const std::unique_ptr<BatchEntry[]> batch_;
  const unsigned batch_capacity_;
  unsigned batch_size_ = 0;
  std::uint32_t next_serial_ = 1;
  std::uint32_t changes_ = 0;
  // The thread (a number of this process's, never reused) that submitted the
  // poll requests in flight: their completions run as its task work. Only a
  // thread inside Wait submits them.
  std::uint64_t issuer_ = 0;
  // A Wait is inside the backend and holds the submission queue: entries it
  // queued are submitted by its own kernel wait, so no other thread submits.
  bool waiting_ = false;
  // That Wait may block in the kernel, and has (or has not) been signalled
  // since it announced it.
  bool may_block_ = false;
  bool signalled_ = false;
  // signal_'s multishot poll request is in the kernel, under this serial.
  bool signal_live_ = false;
  std::uint32_t signal_serial_ = 0;
  // The kernel dropped completions (EBADR): every request is armed again.
  bool resubmit_all_ = false;
  std::uint64_t wait_serial_ = 0;
  // The process that made the ring: a forked child shares it, and must not
  // cancel its parent's requests.
  const pid_t pid_;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_IO_URING_IO_URING_BACKEND_H_
