// Copyright 2026 The poller Authors.
//
// The io_uring backend's submission and completion queues: the batch of
// entries the waiting thread submits with its kernel wait, the work pending
// for it, and the completions it reaps. io_uring_backend.cc explains the
// design; everything here runs under mutex_.

#include <liburing.h>
#include <poll.h>

#include <cerrno>
#include <cstddef>

#include "backends/io_uring/io_uring_backend.h"
#include "backends/io_uring/io_uring_internal.h"
#include "backends/io_uring/io_uring_poller.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

namespace poller {

using io_uring_internal::kCancelUserData;
using io_uring_internal::kInternalBit;
using io_uring_internal::kMaxSerial;
using io_uring_internal::kSignalBit;
using io_uring_internal::PollMask;
using io_uring_internal::PriorityOnly;
using io_uring_internal::ReadinessFor;
using io_uring_internal::SignalUserData;
using io_uring_internal::UringCall;
using io_uring_internal::UserData;

namespace {

// How many times an identity check that EINTR interrupted is tried again
// before the Wait gives up and returns as interrupted.
constexpr int kInterruptedCheckRetries = 8;

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

}  // namespace

io_uring_sqe* IoUringPoller::QueueLocked(const BatchEntry& entry) {
  if (batch_size_ == batch_capacity_) return nullptr;
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) return nullptr;
  batch_[batch_size_++] = entry;
  return sqe;
}

bool IoUringPoller::QueueArmLocked(int fd, const Registration& registration) {
  const std::uint32_t serial = next_serial_;
  io_uring_sqe* sqe = QueueLocked(
      BatchEntry{BatchEntry::Kind::kArm, fd, serial, registration.generation});
  if (sqe == nullptr) return false;
  next_serial_ = next_serial_ == kMaxSerial ? 1 : next_serial_ + 1;
  const unsigned mask = PollMask(registration.interest);
  if (registration.mode == Mode::kEdge || PriorityOnly(registration.interest) ||
      registration.until_wakeup) {
    io_uring_prep_poll_multishot(sqe, fd, mask);
  } else {
    io_uring_prep_poll_add(sqe, fd, mask);
  }
  io_uring_sqe_set_data64(sqe, UserData(fd, serial));
  return true;
}

bool IoUringPoller::QueueCancelLocked(BatchEntry::Kind kind, int fd,
                                      std::uint32_t serial) {
  io_uring_sqe* sqe = QueueLocked(BatchEntry{kind, fd, serial});
  if (sqe == nullptr) return false;
  // IORING_OP_ASYNC_CANCEL, not IORING_OP_POLL_REMOVE: the latter fails with
  // EALREADY while the request's completion is being run, and the request
  // then lives on, holding its file open.
  io_uring_prep_cancel64(sqe, UserData(fd, serial), 0);
  io_uring_sqe_set_data64(sqe, kCancelUserData);
  // The cancellation's own result is of no interest (5.17+).
  if (ring_->features & IORING_FEAT_CQE_SKIP) {
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  }
  return true;
}

void IoUringPoller::QueueOrphansLocked() {
  for (std::uint64_t user_data : orphans_) {
    io_uring_sqe* sqe =
        QueueLocked(BatchEntry{BatchEntry::Kind::kOrphanCancel, -1, 0});
    if (sqe == nullptr) return;
    io_uring_prep_cancel64(sqe, user_data, 0);
    io_uring_sqe_set_data64(sqe, kCancelUserData);
    if (ring_->features & IORING_FEAT_CQE_SKIP) {
      sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    }
  }
}

void IoUringPoller::CancelEverythingLocked() {
  WithdrawUnsubmittedLocked();
  batch_size_ = 0;
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) return;
  // Every request of the ring (5.19+; older kernels refuse it with EINVAL,
  // and their teardown cancels as before).
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  io_uring_sqe_set_data64(sqe, kCancelUserData);
  // A poll request is cancelled inside the submission; its completion runs
  // as this thread's task work before the call returns (waiting for one
  // completion runs it; so does the return to user space). A failure leaves
  // the requests to the kernel's teardown, as without this call.
  (void)UringCall("io_uring_submit_and_wait",
                  [&] { return io_uring_submit_and_wait(ring_.get(), 1); });
}

void IoUringPoller::WithdrawUnsubmittedLocked() {
  // liburing has no call that takes queued entries back. Without an SQPOLL
  // thread the kernel reads the submission queue only inside an
  // io_uring_enter that submits, and only this backend makes those, under
  // mutex_ or while it holds the queue (waiting_): moving the tail back to
  // the kernel's head forgets the entries it did not take.
  io_uring_sq& queue = ring_->sq;
  const unsigned head = __atomic_load_n(queue.khead, __ATOMIC_ACQUIRE);
  queue.sqe_head = head;
  queue.sqe_tail = head;
  __atomic_store_n(queue.ktail, head, __ATOMIC_RELEASE);
}

unsigned IoUringPoller::SubmitBatchLocked(int* error) {
  *error = 0;
  const unsigned queued = batch_size_;
  if (queued == 0) return 0;
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
  CommitBatchLocked(taken);
  return taken;
}

void IoUringPoller::CommitBatchLocked(unsigned taken) {
  if (taken < batch_size_) WithdrawUnsubmittedLocked();
  size_t orphans_taken = 0;
  for (unsigned i = 0; i < batch_size_; ++i) {
    const BatchEntry& entry = batch_[i];
    const bool accepted = i < taken;
    if (entry.kind == BatchEntry::Kind::kSignalArm) {
      if (accepted) {
        signal_live_ = true;
        signal_serial_ = entry.serial;
      }
      continue;
    }
    if (entry.kind == BatchEntry::Kind::kOrphanCancel) {
      if (accepted) ++orphans_taken;
      continue;
    }
    auto found = registrations_.find(entry.fd);
    Registration* registration =
        found == registrations_.end() ? nullptr : &found->second;
    if (entry.kind == BatchEntry::Kind::kArm) {
      // Refused: the arm stays due, for the next Wait.
      if (!accepted) continue;
      // Deleted while the batch was in the kernel.
      if (registration == nullptr) {
        orphans_.push_back(UserData(entry.fd, entry.serial));
        continue;
      }
      registration->serial = entry.serial;
      registration->live = true;
      // Changed while the batch was in the kernel: the new settings are
      // armed by the next submission, which cancels this request.
      if (entry.generation != registration->generation) continue;
      registration->armed = true;
      registration->rearm = false;
      DequeueLocked(*registration);
      continue;
    }
    // kCancel.
    if (registration != nullptr && registration->serial == entry.serial) {
      if (!accepted) continue;  // Still the registration's: tried again.
      registration->live = false;
      if (registration->ended) {
        EraseLocked(found);
      } else if (!registration->rearm) {
        DequeueLocked(*registration);
      }
    } else if (!accepted) {
      // A request the registration no longer names (its successor was
      // armed in the same batch): cancelled later, with the orphans.
      orphans_.push_back(UserData(entry.fd, entry.serial));
    }
  }
  // A batch's orphans are the first of orphans_, in order, and the kernel
  // takes a prefix of the batch.
  orphans_.erase(orphans_.begin(),
                 orphans_.begin() + static_cast<std::ptrdiff_t>(orphans_taken));
  batch_size_ = 0;
}

void IoUringPoller::EnqueueLocked(int fd, Registration& registration) {
  if (registration.pending_index != 0) return;
  pending_.push_back(fd);
  registration.pending_index = pending_.size();
}

void IoUringPoller::DequeueLocked(Registration& registration) {
  if (registration.pending_index == 0) return;
  const size_t index = registration.pending_index - 1;
  registration.pending_index = 0;
  const int last = pending_.back();
  pending_.pop_back();
  if (index == pending_.size()) return;
  pending_[index] = last;
  registrations_.find(last)->second.pending_index = index + 1;
}

void IoUringPoller::EraseLocked(
    absl::flat_hash_map<int, Registration>::iterator found) {
  DequeueLocked(found->second);
  registrations_.erase(found);
}

void IoUringPoller::DropLocked(int fd) {
  auto found = registrations_.find(fd);
  if (found == registrations_.end()) return;
  if (found->second.live) {
    orphans_.push_back(UserData(fd, found->second.serial));
  }
  EraseLocked(found);
}

void IoUringPoller::ReserveLocked() {
  // Wait queues work for a registration at most once (pending_) and never
  // allocates: room for every registration is made here.
  if (pending_.capacity() < registrations_.size()) {
    pending_.reserve(2 * registrations_.size());
  }
}

void IoUringPoller::RearmLocked(int fd, Registration& registration) {
  registration.rearm = true;
  EnqueueLocked(fd, registration);
}

void IoUringPoller::ResubmitAllLocked() {
  for (auto& [fd, registration] : registrations_) {
    if (registration.armed) {
      RearmLocked(fd, registration);
    } else if (registration.live) {
      EnqueueLocked(fd, registration);  // Cancelled.
    }
  }
  if (signal_live_) {
    orphans_.push_back(SignalUserData(signal_serial_));
    signal_live_ = false;
  }
}

absl::Status IoUringPoller::FlushLocked() {
  int error = 0;
  absl::Status failure;
  // Submits the batch when it is (nearly) full: only the last one is left
  // for the kernel wait.
  auto make_room = [&](unsigned entries) {
    if (batch_capacity_ - batch_size_ >= entries) return true;
    SubmitBatchLocked(&error);
    return error == 0;
  };
  // The queue is empty between submissions; this re-reads the kernel's
  // head, in case a forked child that shares the ring moved it.
  if (batch_size_ == 0) WithdrawUnsubmittedLocked();
  if (!signal_live_ && make_room(1)) {
    io_uring_sqe* sqe =
        QueueLocked(BatchEntry{BatchEntry::Kind::kSignalArm, -1, next_serial_});
    // No room (the queue's state was changed behind liburing's back, as by a
    // forked child that shares the ring): the next Wait tries again.
    if (sqe == nullptr) {
      return absl::UnavailableError(
          "io_uring_get_sqe: the submission queue is full");
    }
    io_uring_prep_poll_multishot(sqe, signal_.fd(), POLLIN);
    io_uring_sqe_set_data64(sqe, SignalUserData(next_serial_));
    next_serial_ = next_serial_ == kMaxSerial ? 1 : next_serial_ + 1;
  }
  // Orphans are queued from the front of orphans_ and leave it when the
  // kernel takes their batch.
  while (error == 0 && !orphans_.empty()) {
    QueueOrphansLocked();
    if (batch_size_ < batch_capacity_) break;  // All queued.
    SubmitBatchLocked(&error);
  }
  // From the back: committing a batch takes registrations out of pending_,
  // which moves the last one into the gap, and all of those are behind `i`.
  for (size_t i = pending_.size(); error == 0 && i-- > 0;) {
    if (i >= pending_.size()) continue;
    if (!make_room(2)) break;
    if (i >= pending_.size()) continue;
    const int fd = pending_[i];
    auto found = registrations_.find(fd);
    Registration& registration = found->second;
    if (registration.rearm && !options_.deleted_before_close) {
      // The number may name another file by now (closed without Delete and
      // reused): a new request would watch it under this token.
      // The set confirms an answer that ends the registration (closed,
      // another file, an unpollable file) with another call before giving
      // it, so only its errors are passing: EINTR is retried (a few times:
      // a signal storm ends the Wait as interrupted, the arm still due), and
      // any other error keeps the registration, due for the next Wait.
      bool not_pollable = false;
      absl::StatusOr<bool> same_file = files_.Contains(fd, &not_pollable);
      for (int retry = 0;
           retry < kInterruptedCheckRetries &&
           same_file.status().code() == absl::StatusCode::kAborted;
           ++retry) {
        same_file = files_.Contains(fd, &not_pollable);
      }
      if (!same_file.ok() && !not_pollable) {
        if (failure.ok()) failure = same_file.status();
        continue;
      }
      // Closed, or reused by another file (a regular file, which a poll
      // request would report ready at once, included): the registration
      // ends silently, as epoll's does with the last close.
      if (!same_file.ok() || !*same_file) {
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
  if (error != 0) {
    return internal::ErrnoToStatus(
        internal::ErrnoToStatusCode(error), error, "io_uring_submit", ring_fd_,
        "the kernel did not take the requests due; the next Wait submits "
        "them again");
  }
  return failure;
}

bool IoUringPoller::CompletionReadinessLocked(int fd,
                                              Registration& registration,
                                              int result,
                                              Readiness* readiness) {
  if (result == -ECANCELED) {
    // Cancelled by the kernel (its submitting thread exited), not by us: ask
    // again, report nothing.
    if (!registration.live) RearmLocked(fd, registration);
    return false;
  }
  *readiness = Readiness::kError;
  if (result >= 0) {
    *readiness =
        ReadinessFor(static_cast<unsigned>(result), registration.interest);
    if (Has(*readiness, Readiness::kPriority) && !StillPriority(fd)) {
      *readiness = Without(*readiness, Readiness::kPriority);
    }
    if (*readiness == Readiness::kNone) {
      // Nothing asked for (the filtered-out POLLIN of priority-only
      // interest, or the read-hang-up the kernel always polls for): wait for
      // the file's next wake-up with a multishot request, which a
      // single-shot one would not (it would complete at once again).
      if (!registration.live) {
        registration.until_wakeup = true;
        RearmLocked(fd, registration);
      }
      return false;
    }
    switch (registration.mode) {
      case Mode::kOneshot:
      case Mode::kEdgeOneshot:
        // A multishot request is cancelled by the next Wait.
        registration.armed = false;
        registration.until_wakeup = false;
        if (registration.live) EnqueueLocked(fd, registration);
        break;
      case Mode::kLevel:
        // Re-armed by the next Wait: a level handle that is still ready
        // then completes at once, so it is reported once per Wait.
        registration.until_wakeup = false;
        RearmLocked(fd, registration);
        break;
      case Mode::kEdge:
        if (!registration.live) RearmLocked(fd, registration);
        break;
    }
  } else if (result == -EBADF) {
    // The number was closed before the request was armed: the registration
    // ends silently, as epoll's does with the last close.
    registration.armed = false;
    registration.ended = true;
    return false;
  } else {
    // A failed request stays disarmed until Modify: re-arming would fail
    // the same way.
    registration.armed = false;
    if (registration.live) EnqueueLocked(fd, registration);
  }
  return true;
}

void IoUringPoller::ReapLocked(absl::Span<Event> events, WaitResult& result) {
  ++wait_sequence_;
  unsigned head;
  unsigned consumed = 0;
  io_uring_cqe* completion;
  io_uring_for_each_cqe(ring_.get(), head, completion) {
    if (result.count == events.size()) break;  // The rest wait in the queue.
    ++consumed;
    const std::uint64_t user_data = io_uring_cqe_get_data64(completion);
    if ((user_data & (kInternalBit | kSignalBit)) ==
        (kInternalBit | kSignalBit)) {
      result.woken = true;
      if ((completion->flags & IORING_CQE_F_MORE) == 0 &&
          static_cast<std::uint32_t>(user_data) == signal_serial_) {
        signal_live_ = false;  // Armed again by the next Wait.
      }
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
    // Fired (oneshot), being cancelled, or changed: nothing to report.
    if (!registration.armed) continue;

    Readiness readiness;
    if (!CompletionReadinessLocked(fd, registration, completion->res,
                                   &readiness)) {
      if (registration.ended && !registration.live) EraseLocked(found);
      continue;
    }
    // A multishot request may have completed more than once since the last
    // Wait: one event per handle per Wait, with the readiness merged.
    if (registration.reported_in_wait == wait_sequence_) {
      Event& earlier = events[registration.event_index];
      earlier = Event(earlier.token(), earlier.readiness() | readiness);
      continue;
    }
    registration.reported_in_wait = wait_sequence_;
    registration.event_index = result.count;
    events[result.count++] = Event(registration.token, readiness);
  }
  io_uring_cq_advance(ring_.get(), consumed);
}

}  // namespace poller
