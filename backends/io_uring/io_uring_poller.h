// Copyright 2026 The poller Authors.
//
// io_uring_poller.h: the io_uring backend's class, private to its library
// (io_uring_backend.h is what a caller sees). Its design is at the top of
// io_uring_backend.cc; io_uring_submission.cc holds its submission and
// completion queues.

#ifndef POLLER_BACKENDS_IO_URING_IO_URING_POLLER_H_
#define POLLER_BACKENDS_IO_URING_IO_URING_POLLER_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/io_uring/io_uring_backend.h"
#include "poller/core/backend.h"
#include "poller/internal/eventfd_waker.h"
#include "poller/internal/open_file_set.h"
#include "poller/internal/registration_errors.h"

// liburing's ring; its header stays out of this one.
struct io_uring;
struct io_uring_sqe;

namespace poller {

// The backend itself; IoUringBackend::Create makes one.
class IoUringPoller final : public Backend {
 public:
  using Options = IoUringBackend::Options;

  IoUringPoller(std::unique_ptr<io_uring> ring, internal::EventFdWaker signal,
                internal::OpenFileSet files, Options options);
  ~IoUringPoller() override;

  absl::string_view name() const override { return IoUringBackend::kName; }
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
    // The Wait (wait_sequence_) that last reported it, and at which index, so
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
  std::uint64_t wait_sequence_ = 0;
  // The process that made the ring: a forked child shares it, and must not
  // cancel its parent's requests.
  const pid_t pid_;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_IO_URING_IO_URING_POLLER_H_
