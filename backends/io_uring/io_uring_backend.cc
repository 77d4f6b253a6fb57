// Copyright 2026 The poller Authors.

#include "backends/io_uring/io_uring_backend.h"

#include <liburing.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/registration_errors.h"
#include "poller/internal/syscall.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

constexpr unsigned kSubmissionEntries = 256;
// Completions beyond this wait in the kernel's overflow list
// (IORING_FEAT_NODROP) until a Wait makes room.
constexpr unsigned kCompletionEntries = 4096;

// user_data: a registration's is (serial << 32) | fd with serial below
// 2^31, so bit 63 marks the backend's own requests (and liburing's
// LIBURING_UDATA_TIMEOUT, all ones).
constexpr std::uint64_t kInternalBit = std::uint64_t{1} << 63;
constexpr std::uint64_t kWakeUserData = kInternalBit | 1;
constexpr std::uint64_t kCancelUserData = kInternalBit | 2;
constexpr std::uint32_t kMaxSerial = 0x7fffffff;

// Modify, Rearm or Delete of the ring's own descriptor, which no caller
// registered.
absl::Status OwnRingError(int fd) {
  return internal::ErrnoToStatus(
      absl::StatusCode::kNotFound, ENOENT, "", fd,
      "not registered (it is the poller's own ring)");
}

std::uint64_t UserData(int fd, std::uint32_t serial) {
  return (std::uint64_t{serial} << 32) | static_cast<std::uint32_t>(fd);
}

// Runs a liburing call (which returns -errno) through the fault-injection seam,
// giving the -1-and-errno convention internal::Syscall expects.
template <typename Call>
int UringCall(const char* name, Call&& call) {
  return internal::Syscall(name, [&] {
    const int result = call();
    if (result < 0) {
      errno = -result;
      return -1;
    }
    return result;
  });
}

// The same for the kernel wait (internal::KernelWait).
template <typename Call>
int UringKernelWait(const char* name, Call&& call) {
  return internal::KernelWait(name, [&] {
    const int result = call();
    if (result < 0) {
      errno = -result;
      return -1;
    }
    return result;
  });
}

// Priority interest without readable interest. The kernel does not complete
// an io_uring poll for POLLPRI alone when TCP urgent data arrives (measured on
// Linux 6.18: the wake-up is filtered out, while poll(2) and epoll see it), so
// such a registration also asks for POLLIN, filters it out of its events, and
// uses a multishot request whatever its mode: a single-shot one would complete
// on every plain byte and, re-armed, spin while the byte stays unread.
bool PriorityOnly(Interest interest) {
  return HasInterest(interest, Interest::kPriority) &&
         !HasInterest(interest, Interest::kReadable);
}

unsigned PollMask(Interest interest) {
  unsigned mask = 0;
  if (HasInterest(interest, Interest::kReadable)) mask |= POLLIN | POLLRDHUP;
  if (HasInterest(interest, Interest::kWritable)) mask |= POLLOUT;
  if (HasInterest(interest, Interest::kPriority)) mask |= POLLPRI;
  if (PriorityOnly(interest)) mask |= POLLIN;
  return mask;
}

Readiness FromPollMask(unsigned mask) {
  Readiness readiness = Readiness::kNone;
  if (mask & POLLIN) readiness |= Readiness::kReadable;
  if (mask & POLLOUT) readiness |= Readiness::kWritable;
  if (mask & POLLPRI) readiness |= Readiness::kPriority;
  if (mask & (POLLHUP | POLLRDHUP)) readiness |= Readiness::kHangUp;
  if (mask & POLLERR) readiness |= Readiness::kError;
  return readiness;
}

// io_uring may complete a poll with the wake-up's own mask instead of polling
// the file again, and a TCP socket's data wake-up names POLLPRI too: every
// plain byte would look urgent. A poll(2) of the one descriptor says whether
// urgent data is really there (only for completions that claim it).
bool StillPriority(int fd) {
  pollfd entry{fd, POLLPRI, 0};
  const int ready =
      internal::Syscall("poll", [&] { return ::poll(&entry, 1, 0); });
  // If the check itself fails, keep what the kernel said.
  return ready != 0 && (ready < 0 || (entry.revents & POLLPRI) != 0);
}

// The rings a thread has submitted to. A poll request's completion runs as
// task work of its submitter; once that thread is gone the kernel completes a
// woken request late (from a worker, a jiffy on) and only with -ECANCELED, so
// the thread's exit tells each ring still alive to re-submit its requests.
class SubmitterThread {
 public:
  ~SubmitterThread() {
    for (const std::weak_ptr<std::atomic<bool>>& ring : rings_) {
      if (auto exited = ring.lock()) exited->store(true);
    }
  }

  void Note(const std::shared_ptr<std::atomic<bool>>& exited) {
    for (const std::weak_ptr<std::atomic<bool>>& ring : rings_) {
      if (!ring.owner_before(exited) && !exited.owner_before(ring)) return;
    }
    // Once per thread and ring: the rings destroyed since are forgotten.
    rings_.erase(std::remove_if(rings_.begin(), rings_.end(),
                                [](const std::weak_ptr<std::atomic<bool>>& r) {
                                  return r.expired();
                                }),
                 rings_.end());
    rings_.push_back(exited);
  }

 private:
  std::vector<std::weak_ptr<std::atomic<bool>>> rings_;
};

thread_local SubmitterThread submitter_thread;

// A submission the kernel did not take: the errno's code, and what it means.
absl::Status SubmitError(int error, absl::string_view operation, int fd) {
  // Nothing taken without an errno: the submission queue was full.
  if (error == 0) error = EBUSY;
  return internal::ErrnoToStatus(
      internal::ErrnoToStatusCode(error), error, operation, fd,
      "the kernel did not take the request; nothing changed, so the call can "
      "be retried");
}

absl::Status Unavailable(int error, absl::string_view why) {
  return absl::UnavailableError(absl::StrCat(
      internal::ErrnoToStatus(error, "io_uring_queue_init").message(), ": ",
      why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> IoUringBackend::Create() {
  auto ring = std::make_unique<io_uring>();
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
  params.cq_entries = kCompletionEntries;
  // The kernel frees a closed ring's memory in the background, and charges it
  // to the user's locked-memory limit until then: right after other rings were
  // destroyed, ENOMEM is usually that backlog. Give it a moment (up to about
  // 60 ms in all) before calling the failure real.
  int result = -1;
  for (int attempt = 0; attempt < 6; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2 << attempt));
    }
    result = UringCall("io_uring_queue_init", [&] {
      // A cooperative ring (5.19+) does not interrupt a submitting thread
      // that runs in user space to post its completions (an inter-processor
      // interrupt each, costly in a VM); EINVAL on older kernels.
      io_uring_params cooperative = params;
      cooperative.flags |=
          IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
      const int made = io_uring_queue_init_params(kSubmissionEntries,
                                                  ring.get(), &cooperative);
      if (made != -EINVAL) {
        params = cooperative;
        return made;
      }
      return io_uring_queue_init_params(kSubmissionEntries, ring.get(),
                                        &params);
    });
    if (result >= 0 || errno != ENOMEM) break;
  }
  if (result < 0) {
    const int error = errno;
    if (error == ENOSYS || error == EPERM || error == EACCES) {
      return Unavailable(error,
                         "io_uring is refused here (kernel without io_uring, "
                         "the kernel.io_uring_disabled sysctl, or a seccomp "
                         "filter)");
    }
    return internal::ErrnoToStatus(error, "io_uring_queue_init");
  }
  constexpr unsigned kRequired = IORING_FEAT_EXT_ARG | IORING_FEAT_RSRC_TAGS;
  if ((params.features & kRequired) != kRequired) {
    io_uring_queue_exit(ring.get());
    return Unavailable(ENOSYS,
                       "the kernel is older than 5.13 (no multishot poll or "
                       "IORING_FEAT_EXT_ARG)");
  }
  absl::StatusOr<internal::OpenFileSet> files = internal::OpenFileSet::Create();
  if (!files.ok()) {
    io_uring_queue_exit(ring.get());
    return files.status();
  }
  return std::unique_ptr<Backend>(
      new IoUringBackend(std::move(ring), *std::move(files)));
}

IoUringBackend::IoUringBackend(std::unique_ptr<io_uring> ring,
                               internal::OpenFileSet files)
    : files_(std::move(files)),
      ring_(std::move(ring)),
      ring_fd_(ring_->ring_fd),
      batch_(new BatchEntry[ring_->sq.ring_entries]),
      batch_capacity_(ring_->sq.ring_entries) {}

IoUringBackend::~IoUringBackend() {
  // Closing the ring cancels every request still in flight.
  io_uring_queue_exit(ring_.get());
}

bool IoUringBackend::SupportsMode(Mode) const { return true; }

io_uring_sqe* IoUringBackend::QueueLocked(const BatchEntry& entry) {
  if (batch_size_ == batch_capacity_) return nullptr;
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) return nullptr;
  batch_[batch_size_++] = entry;
  return sqe;
}

bool IoUringBackend::QueueArmLocked(int fd, const Registration& registration) {
  const std::uint32_t serial = next_serial_;
  io_uring_sqe* sqe =
      QueueLocked(BatchEntry{BatchEntry::Kind::kArm, fd, serial});
  if (sqe == nullptr) return false;
  next_serial_ = next_serial_ == kMaxSerial ? 1 : next_serial_ + 1;
  const unsigned mask = PollMask(registration.interest);
  if (registration.mode == Mode::kEdge || PriorityOnly(registration.interest)) {
    io_uring_prep_poll_multishot(sqe, fd, mask);
  } else {
    io_uring_prep_poll_add(sqe, fd, mask);
  }
  io_uring_sqe_set_data64(sqe, UserData(fd, serial));
  return true;
}

bool IoUringBackend::QueueCancelLocked(BatchEntry::Kind kind, int fd,
                                       std::uint32_t serial) {
  io_uring_sqe* sqe = QueueLocked(BatchEntry{kind, fd, serial});
  if (sqe == nullptr) return false;
  // IORING_OP_ASYNC_CANCEL, not IORING_OP_POLL_REMOVE: the latter fails with
  // EALREADY while the request's completion is being run (a request that was
  // ready when armed, submitted in the same batch), and the request then
  // lives on, holding its file open.
  io_uring_prep_cancel64(sqe, UserData(fd, serial), 0);
  io_uring_sqe_set_data64(sqe, kCancelUserData);
  // The cancellation's own result is of no interest: skip its completion
  // where the kernel can (5.17+), halving the completions Modify and Delete
  // cost.
  if (ring_->features & IORING_FEAT_CQE_SKIP) {
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  }
  return true;
}

void IoUringBackend::QueueOrphansLocked() {
  for (std::uint64_t user_data : orphans_) {
    if (!QueueCancelLocked(
            BatchEntry::Kind::kOrphanCancel,
            static_cast<int>(static_cast<std::uint32_t>(user_data)),
            static_cast<std::uint32_t>(user_data >> 32))) {
      return;
    }
  }
}

void IoUringBackend::WithdrawUnsubmittedLocked() {
  // liburing has no call that takes queued entries back. Without an SQPOLL
  // thread the kernel reads the submission queue only inside an
  // io_uring_enter that submits, and only this backend makes those, under
  // mutex_ (the waiter's io_uring_enter submits nothing): moving the tail
  // back to the kernel's head forgets the entries it did not take.
  io_uring_sq& queue = ring_->sq;
  const unsigned head = __atomic_load_n(queue.khead, __ATOMIC_ACQUIRE);
  queue.sqe_head = head;
  queue.sqe_tail = head;
  __atomic_store_n(queue.ktail, head, __ATOMIC_RELEASE);
}

unsigned IoUringBackend::SubmitBatchLocked(int* error) {
  *error = 0;
  const unsigned queued = batch_size_;
  if (queued == 0) return 0;
  submitter_thread.Note(submitter_exited_);
  const unsigned head_before =
      __atomic_load_n(ring_->sq.khead, __ATOMIC_ACQUIRE);
  unsigned taken = 0;
  while (taken < queued) {
    const int submitted = UringCall(
        "io_uring_submit", [&] { return io_uring_submit(ring_.get()); });
    // Counted from the kernel's head, which moves only for entries it took.
    taken = __atomic_load_n(ring_->sq.khead, __ATOMIC_ACQUIRE) - head_before;
    if (submitted > 0) continue;
    // A signal is no reason to give up (as write(2) is retried).
    if (submitted < 0 && errno == EINTR) continue;
    // EAGAIN (no memory for the request) or EBUSY (no room for completions)
    // for the moment, or a broken ring; 0 means nothing was taken either.
    *error = submitted < 0 ? errno : EAGAIN;
    break;
  }
  if (taken > queued) taken = queued;
  if (taken < queued) WithdrawUnsubmittedLocked();
  CommitBatchLocked(taken);
  return taken;
}

void IoUringBackend::CommitBatchLocked(unsigned taken) {
  size_t orphans_taken = 0;
  for (unsigned i = 0; i < batch_size_; ++i) {
    const BatchEntry& entry = batch_[i];
    const bool accepted = i < taken;
    auto found = registrations_.find(entry.fd);
    Registration* registration =
        found == registrations_.end() ? nullptr : &found->second;
    switch (entry.kind) {
      case BatchEntry::Kind::kArm:
        // Refused: the caller decides (Add fails, a re-arm stays due).
        if (!accepted || registration == nullptr) break;
        registration->serial = entry.serial;
        registration->live = true;
        registration->armed = true;
        registration->rearm = false;
        DequeueLocked(*registration);
        break;
      case BatchEntry::Kind::kCancel:
        if (registration != nullptr && registration->serial == entry.serial) {
          if (!accepted) break;  // Still the registration's: tried again.
          registration->live = false;
          if (registration->ended) {
            EraseLocked(found);
          } else if (!registration->rearm) {
            DequeueLocked(*registration);
          }
        } else if (!accepted) {
          // A request the registration no longer names (Modify armed its
          // successor): cancelled later, with the orphans.
          orphans_.push_back(UserData(entry.fd, entry.serial));
        }
        break;
      case BatchEntry::Kind::kOrphanCancel:
        if (accepted) ++orphans_taken;
        break;
      case BatchEntry::Kind::kWake:
        break;
    }
  }
  // A batch's orphans are the first of orphans_, in order, and the kernel
  // takes a prefix of the batch.
  orphans_.erase(orphans_.begin(),
                 orphans_.begin() + static_cast<std::ptrdiff_t>(orphans_taken));
  batch_size_ = 0;
}

void IoUringBackend::EnqueueLocked(int fd, Registration& registration) {
  if (registration.pending_index != 0) return;
  pending_.push_back(fd);
  registration.pending_index = pending_.size();
}

void IoUringBackend::DequeueLocked(Registration& registration) {
  if (registration.pending_index == 0) return;
  const size_t index = registration.pending_index - 1;
  registration.pending_index = 0;
  const int last = pending_.back();
  pending_.pop_back();
  if (index == pending_.size()) return;
  pending_[index] = last;
  registrations_.find(last)->second.pending_index = index + 1;
}

void IoUringBackend::EraseLocked(
    absl::flat_hash_map<int, Registration>::iterator found) {
  DequeueLocked(found->second);
  registrations_.erase(found);
}

void IoUringBackend::DropLocked(int fd) {
  auto found = registrations_.find(fd);
  if (found == registrations_.end()) return;
  if (found->second.live) {
    orphans_.push_back(UserData(fd, found->second.serial));
  }
  EraseLocked(found);
}

void IoUringBackend::ReserveLocked() {
  // Wait queues work for a registration at most once (pending_) and never
  // allocates: room for every registration is made here.
  if (pending_.capacity() < registrations_.size()) {
    pending_.reserve(2 * registrations_.size());
  }
}

absl::Status IoUringBackend::FlushLocked() {
  if (orphans_.empty() && pending_.empty() &&
      !submitter_exited_->load(std::memory_order_relaxed)) {
    return absl::OkStatus();
  }
  if (submitter_exited_->exchange(false)) {
    for (auto& [fd, registration] : registrations_) {
      if (!registration.live || !registration.armed) continue;
      registration.rearm = true;
      EnqueueLocked(fd, registration);
    }
  }
  int error = 0;
  absl::Status failure;
  while (!orphans_.empty()) {
    QueueOrphansLocked();
    SubmitBatchLocked(&error);
    if (error != 0) {
      return SubmitError(error, "io_uring_submit(ASYNC_CANCEL)", ring_fd_);
    }
  }
  // From the back: committing a batch takes registrations out of pending_,
  // which moves the last one into the gap, and all of those are behind `i`.
  for (size_t i = pending_.size(); i-- > 0;) {
    if (i >= pending_.size()) continue;
    if (batch_capacity_ - batch_size_ < 2) {
      SubmitBatchLocked(&error);
      if (error != 0) break;
      if (i >= pending_.size()) continue;
    }
    const int fd = pending_[i];
    auto found = registrations_.find(fd);
    Registration& registration = found->second;
    if (registration.rearm) {
      // The number may name another file by now (closed without Delete and
      // reused): a new request would watch it under this token.
      bool not_pollable = false;
      absl::StatusOr<bool> same_file = files_.Contains(fd, &not_pollable);
      if (!same_file.ok() && !not_pollable) {
        if (failure.ok()) failure = same_file.status();
        continue;
      }
      if (!same_file.ok() || !*same_file) {
        // Closed: the registration ends, as epoll's does with the last close.
        registration.rearm = false;
        registration.armed = false;
        registration.ended = true;
      }
    }
    bool queued = false;
    if (registration.live && (!registration.armed || registration.rearm)) {
      QueueCancelLocked(BatchEntry::Kind::kCancel, fd, registration.serial);
      queued = true;
    }
    if (registration.rearm) {
      QueueArmLocked(fd, registration);
      queued = true;
    }
    if (!queued) {
      if (registration.ended) {
        EraseLocked(found);
      } else {
        DequeueLocked(registration);
      }
    }
  }
  if (error == 0) SubmitBatchLocked(&error);
  if (error != 0)
    return SubmitError(error, "io_uring_submit(re-arm)", ring_fd_);
  return failure;
}

absl::Status IoUringBackend::Add(NativeHandle handle, Token token,
                                 Interest interest, Mode mode) {
  if (handle == ring_fd_) {
    return internal::WatchesItselfError(handle);
  }
  if (handle == files_.fd()) {
    return internal::OwnWakeDescriptorError(internal::Operation::kAdd, handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  const bool registered = found != registrations_.end() && !found->second.ended;
  absl::StatusOr<bool> inserted = files_.Insert(handle, registered);
  if (!inserted.ok()) return inserted.status();
  if (!*inserted) return internal::AlreadyRegisteredError(handle);
  if (found != registrations_.end()) {
    // A file closed without Delete whose number was reused: replace it (its
    // request still holds the old file open).
    DropLocked(handle);
  }
  Registration& registration = registrations_[handle];
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  ReserveLocked();
  // The submission queue is empty between calls: there is room.
  QueueArmLocked(handle, registration);
  QueueOrphansLocked();
  int error = 0;
  SubmitBatchLocked(&error);
  if (!registration.live) {
    registrations_.erase(handle);
    files_.Erase(handle);
    return SubmitError(error, "io_uring_submit(POLL_ADD)", handle);
  }
  return absl::OkStatus();
}

absl::Status IoUringBackend::Modify(NativeHandle handle, Token token,
                                    Interest interest, Mode mode) {
  return ChangeRegistration(internal::Operation::kModify, handle, token,
                            interest, mode);
}

absl::Status IoUringBackend::Rearm(NativeHandle handle) {
  return ChangeRegistration(internal::Operation::kRearm, handle, 0,
                            Interest::kNone, Mode::kOneshot);
}

absl::Status IoUringBackend::ChangeRegistration(internal::Operation operation,
                                                NativeHandle handle,
                                                Token token, Interest interest,
                                                Mode mode) {
  if (handle == ring_fd_) return OwnRingError(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  bool not_pollable = false;
  absl::StatusOr<bool> same_file = files_.Contains(handle, &not_pollable);
  // A check that failed for a passing reason (EINTR, ENOMEM...) says nothing
  // about the registration: keep it, so the call can be retried. Only a
  // closed descriptor or one that now names an unpollable file ends it.
  if (!same_file.ok() && !not_pollable) return same_file.status();
  auto found = registrations_.find(handle);
  if (!same_file.ok() || !*same_file || found == registrations_.end() ||
      found->second.ended) {
    // A closed descriptor's registration, or one whose number now names
    // another file, is gone, as it would be with epoll.
    if (found != registrations_.end()) {
      DropLocked(handle);
      QueueOrphansLocked();
      int ignored;
      SubmitBatchLocked(&ignored);  // Refused: cancelled later.
    }
    if (!same_file.ok()) return same_file.status();
    if (*same_file) files_.Erase(handle);
    return internal::NotRegisteredError(handle);
  }
  Registration& registration = found->second;
  if (operation == internal::Operation::kRearm) {
    if (!IsOneshot(registration.mode)) {
      return internal::NotOneshotError(handle, registration.mode);
    }
    token = registration.token;
    interest = registration.interest;
    mode = registration.mode;
  }
  const Registration before = registration;
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  // The new request first: if the kernel takes only that, the change is made
  // and the old request is cancelled later.
  QueueArmLocked(handle, registration);
  if (before.live) {
    QueueCancelLocked(BatchEntry::Kind::kCancel, handle, before.serial);
  }
  QueueOrphansLocked();
  int error = 0;
  SubmitBatchLocked(&error);
  if (registration.serial == before.serial) {
    // The kernel took nothing: the registration is as it was.
    registration.token = before.token;
    registration.interest = before.interest;
    registration.mode = before.mode;
    return SubmitError(error, "io_uring_submit(POLL_ADD)", handle);
  }
  return absl::OkStatus();
}

absl::Status IoUringBackend::Delete(NativeHandle handle) {
  if (handle == ring_fd_) return OwnRingError(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  bool not_pollable = false;
  absl::StatusOr<bool> same_file = files_.Contains(handle, &not_pollable);
  // A check that failed for a passing reason (EINTR, ENOMEM...) says nothing
  // about the registration: keep it, so the call can be retried. Only a
  // closed descriptor or one that now names an unpollable file ends it.
  if (!same_file.ok() && !not_pollable) return same_file.status();
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    if (!same_file.ok()) return same_file.status();
    if (*same_file) files_.Erase(handle);
    return internal::NotRegisteredError(handle);
  }
  Registration& registration = found->second;
  if (!same_file.ok() || !*same_file || registration.ended) {
    // The registered file was closed: the registration is gone either way,
    // and its request is cancelled now or, if the kernel refuses, later.
    DropLocked(handle);
    QueueOrphansLocked();
    int ignored;
    SubmitBatchLocked(&ignored);
    if (!same_file.ok()) return same_file.status();
    if (*same_file) files_.Erase(handle);
    return internal::NotRegisteredError(handle, /*closed=*/true);
  }
  if (registration.live) {
    QueueCancelLocked(BatchEntry::Kind::kCancel, handle, registration.serial);
    QueueOrphansLocked();
    int error = 0;
    SubmitBatchLocked(&error);
    if (registration.live) {
      // The kernel took nothing: the registration is as it was.
      return SubmitError(error, "io_uring_submit(ASYNC_CANCEL)", handle);
    }
  }
  EraseLocked(registrations_.find(handle));
  files_.Erase(handle);
  return absl::OkStatus();
}

bool IoUringBackend::CompletionReadinessLocked(int fd,
                                               Registration& registration,
                                               int result,
                                               Readiness* readiness) {
  if (result == -ECANCELED) {
    // Cancelled by the kernel, not by us: ask again, report nothing.
    if (!registration.live) RearmLocked(fd, registration);
    return false;
  }
  *readiness = Readiness::kError;
  if (result >= 0) {
    *readiness = FromPollMask(static_cast<unsigned>(result));
    if (Has(*readiness, Readiness::kPriority) && !StillPriority(fd)) {
      *readiness = Without(*readiness, Readiness::kPriority);
    }
    if (PriorityOnly(registration.interest)) {
      *readiness = Without(*readiness, Readiness::kReadable);
    }
    if (*readiness == Readiness::kNone) {
      // Only the filtered-out POLLIN: keep (or renew) the request.
      if (!registration.live) RearmLocked(fd, registration);
      return false;
    }
    switch (registration.mode) {
      case Mode::kOneshot:
      case Mode::kEdgeOneshot:
        // A multishot request (priority only) is cancelled by the next
        // Wait.
        registration.armed = false;
        if (registration.live) EnqueueLocked(fd, registration);
        break;
      case Mode::kLevel:
        // Re-armed by the next Wait: a level handle that is still ready
        // then completes at once, so it is reported once per Wait.
        RearmLocked(fd, registration);
        break;
      case Mode::kEdge:
        if (!registration.live) RearmLocked(fd, registration);
        break;
    }
  } else {
    // A failed request stays disarmed until Modify: re-arming would fail
    // the same way.
    registration.armed = false;
    if (registration.live) EnqueueLocked(fd, registration);
  }
  return true;
}

void IoUringBackend::ReapLocked(absl::Span<Event> events, WaitResult& result) {
  ++wait_serial_;
  unsigned head;
  unsigned consumed = 0;
  io_uring_cqe* completion;
  io_uring_for_each_cqe(ring_.get(), head, completion) {
    if (result.count == events.size()) break;  // The rest wait in the queue.
    ++consumed;
    const std::uint64_t user_data = io_uring_cqe_get_data64(completion);
    if (user_data == kWakeUserData) {
      result.woken = true;
      continue;
    }
    if (user_data & kInternalBit) continue;
    const int fd = static_cast<int>(static_cast<std::uint32_t>(user_data));
    const auto serial = static_cast<std::uint32_t>(user_data >> 32);
    auto found = registrations_.find(fd);
    // Cancelled by Modify or Delete, or the file was replaced: stale.
    if (found == registrations_.end() || !found->second.live ||
        found->second.serial != serial) {
      continue;
    }
    Registration& registration = found->second;
    if ((completion->flags & IORING_CQE_F_MORE) == 0) {
      registration.live = false;
      if (registration.ended) {
        EraseLocked(found);
        continue;
      }
    }
    // Fired (oneshot) or being cancelled: nothing more to report.
    if (!registration.armed) continue;

    Readiness readiness;
    if (!CompletionReadinessLocked(fd, registration, completion->res,
                                   &readiness)) {
      continue;
    }
    // A multishot request may have completed more than once since the last
    // Wait: one event per handle per Wait, with the readiness merged.
    if (registration.reported_in_wait == wait_serial_) {
      Event& earlier = events[registration.event_index];
      earlier = Event(earlier.token(), earlier.readiness() | readiness);
      continue;
    }
    registration.reported_in_wait = wait_serial_;
    registration.event_index = result.count;
    events[result.count++] = Event(registration.token, readiness);
  }
  io_uring_cq_advance(ring_.get(), consumed);
}

void IoUringBackend::RearmLocked(int fd, Registration& registration) {
  registration.rearm = true;
  EnqueueLocked(fd, registration);
}

absl::StatusOr<WaitResult> IoUringBackend::Wait(absl::Span<Event> events,
                                                absl::Duration timeout) {
  absl::Status flushed;
  {
    // Re-arms and cancellations due since the last Wait.
    std::lock_guard<std::mutex> lock(mutex_);
    flushed = FlushLocked();
  }

  // Blocks without the lock: other threads submit meanwhile, and their
  // completions end this wait. If the flush failed a registration may not be
  // armed, so this Wait only collects what is there and then reports the
  // failure.
  io_uring_cqe* completion = nullptr;
  int waited = 0;
  int wait_error = 0;
  const bool peek = timeout <= absl::ZeroDuration() || !flushed.ok();
  const char* operation;
  if (peek) {
    operation = "io_uring_peek_cqe";
    waited = UringCall(
        operation, [&] { return io_uring_peek_cqe(ring_.get(), &completion); });
  } else if (timeout == absl::InfiniteDuration()) {
    operation = "io_uring_wait_cqe";
    waited = UringKernelWait(
        operation, [&] { return io_uring_wait_cqe(ring_.get(), &completion); });
  } else {
    struct timespec timespec;
    internal::TimeoutToTimespec(timeout, &timespec);
    __kernel_timespec kernel_timespec{};
    kernel_timespec.tv_sec = timespec.tv_sec;
    kernel_timespec.tv_nsec = timespec.tv_nsec;
    operation = "io_uring_wait_cqe_timeout";
    waited = UringKernelWait(operation, [&] {
      return io_uring_wait_cqe_timeout(ring_.get(), &completion,
                                       &kernel_timespec);
    });
  }
  if (waited < 0) wait_error = errno;

  // Whatever the kernel said, what is in the completion queue is delivered
  // (after EBUSY it is what the kernel wants consumed).
  WaitResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ReapLocked(events, result);
  }
  if (result.count > 0 || result.woken) return result;
  if (!flushed.ok()) return flushed;
  switch (wait_error) {
    case 0:
    case ETIME:  // The timeout passed.
      return result;
    case EAGAIN:
      // Nothing there (peek); from a blocking wait an error, or Poller's loop
      // would spin on it.
      if (peek) return result;
      break;
    case EINTR:
      result.interrupted = true;
      return result;
    case EBADR: {
      // The kernel dropped completions it had no memory to keep after the
      // completion queue overflowed: a oneshot request whose completion was
      // dropped would stay silent for good. Every armed registration gets a
      // new request at the next Wait, which reports a handle that is still
      // ready (an edge one perhaps once more). Not an error.
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [fd, registration] : registrations_) {
        if (registration.armed && !registration.ended) {
          RearmLocked(fd, registration);
        }
      }
      return result;
    }
  }
  return internal::ErrnoToStatus(wait_error, operation, ring_fd_);
}

absl::Status IoUringBackend::Wake() {
  // A refused wake is one the caller may not be able to act on (Shutdown has
  // no result): a refusal for want of memory or of room for completions is
  // retried a few times, a few milliseconds apart in all.
  int error = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1 << attempt));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    // The submission queue is empty between calls: there is room.
    io_uring_sqe* sqe = QueueLocked(BatchEntry{BatchEntry::Kind::kWake, -1, 0});
    if (sqe == nullptr) return SubmitError(0, "io_uring_get_sqe", ring_fd_);
    // Completes at once, which ends the blocked wait.
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, kWakeUserData);
    QueueOrphansLocked();
    if (SubmitBatchLocked(&error) > 0) return absl::OkStatus();
    if (error != EAGAIN && error != EBUSY) break;
  }
  return SubmitError(error, "io_uring_submit(NOP)", ring_fd_);
}

}  // namespace poller
