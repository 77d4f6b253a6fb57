// Copyright 2026 The poller Authors.
//
// How this backend works (its header says what it promises).
//
// Strategy
//   The kernel keeps no state between polls, so the backend does: a table
//   fd -> {token, interest, mode, armed}, protected by a std::mutex, and a
//   pollfd array built from it. The array is rebuilt inside Wait only when the
//   table version says the table changed; Add grows a spare array ahead of
//   time, so a rebuild swaps buffers instead of allocating and Wait never
//   allocates (memory: about 48 bytes per registration in the table and 24
//   in each of the two arrays). Add, Modify and Delete made while a thread is
//   blocked in poll() signal the wake source once, so the waiter returns,
//   rebuilds and polls again with the change; Wake() also sets a flag, which
//   is how a wake is told apart from a table change. Results are matched to the
//   table under the lock, each slot checked against a per-registration serial
//   number, so an event of a registration changed or deleted during the wait
//   is dropped, never reported under a stale token or interest (poll(2) is
//   stateless: the next poll sees the readiness again if it is still there).
//   With a small Events buffer, the scan resumes where the last one stopped,
//   so no handle starves.
//   Wait: ppoll with a timespec on Linux (nanosecond timeouts); poll with
//   milliseconds rounded up elsewhere. EINTR -> WaitResult::interrupted.
//   Cost: every Wait hands the kernel every armed registration, so it is
//   O(registered), not O(ready) like epoll, kqueue and io_uring; see README's
//   benchmark table for numbers. Use it for portability or small sets.

#include "backends/poll/poll_backend.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/open_file_set.h"
#include "poller/internal/poll_readiness.h"
#include "poller/internal/registration_errors.h"
#include "poller/internal/syscall.h"
#include "poller/internal/timeout.h"

#if defined(__linux__)
#include "poller/internal/eventfd_waker.h"
#else
#include "poller/internal/pipe_waker.h"
#endif

namespace poller {
namespace {

// Room for this many registrations is taken at Create, so small pollers never
// grow.
constexpr size_t kInitialCapacity = 64;

// The backend itself; PollBackend::Create makes one.
class PollPoller final : public Backend {
 public:
#if defined(__linux__)
  using Waker = internal::EventFdWaker;
#else
  using Waker = internal::PipeWaker;
#endif

  PollPoller(Waker waker, internal::OpenFileSet files);

  absl::string_view name() const override { return PollBackend::kName; }
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
  // ppoll(2) takes a timespec; poll(2), elsewhere, milliseconds.
  absl::Duration timeout_resolution() const override {
#if defined(__linux__)
    return absl::Nanoseconds(1);
#else
    return absl::Milliseconds(1);
#endif
  }

 private:
  struct Registration {
    Token token;
    Interest interest;
    Mode mode;
    // False once a oneshot registration fired or its descriptor was found
    // closed; true again after Modify or Rearm.
    bool armed;
    // Changes with every Add and Modify, so Wait can tell whether a result
    // belongs to the registration as it is now.
    std::uint64_t serial;
  };

  // What the pollfd at the same index was built from.
  struct Slot {
    int fd;
    std::uint64_t serial;
  };

  // Modify, or Rearm (`operation` kRearm: the registration's own token,
  // interest and mode are used, and the arguments ignored).
  absl::Status ChangeRegistration(internal::Operation operation,
                                  NativeHandle handle, Token token,
                                  Interest interest, Mode mode);

  // Keeps spare arrays big enough for `registrations` entries plus the waker.
  void ReserveLocked(size_t registrations);
  // Bumps the table version and, if a waiter is blocked, makes it rebuild.
  void ChangedLocked();
  // Refills the pollfd array from the table. Never allocates.
  void RebuildLocked();
  int KernelPoll(absl::Duration timeout);
  // What slot `slot` of the last poll became: true, with `event` written, if
  // it is delivered; false if the slot's registration changed since the array
  // was built, the file behind the number was closed or replaced, or nothing
  // is left to report. Disarms a oneshot registration it delivers.
  bool TranslateLocked(size_t slot, Event* event);

  Waker waker_;
  // Which open file each registered number names. Guarded by mutex_.
  internal::OpenFileSet files_;

  std::mutex mutex_;
  // Guarded by mutex_.
  absl::flat_hash_map<int, Registration> registrations_;
  std::uint64_t table_version_ = 1;
  std::uint64_t next_serial_ = 1;
  // A thread is blocked in poll() with an array built before the last change.
  bool waiting_ = false;
  // The wake source was signalled for a change since the waiter last drained
  // it.
  bool change_signalled_ = false;
  // Buffers that become the pollfd array at the next rebuild that needs more
  // room. Only Add allocates them.
  std::vector<pollfd> spare_pollfds_;
  std::vector<Slot> spare_slots_;

  // Owned by the thread in Wait (Poller serializes it); structural changes
  // happen under mutex_ so Add may read their capacity.
  std::vector<pollfd> pollfds_;
  std::vector<Slot> slots_;
  std::uint64_t built_table_version_ = 0;
  // Where the next scan of results starts (round-robin fairness).
  size_t next_slot_ = 1;

  // Set by Wake() before it signals, so Wait reports `woken` only for it.
  std::atomic<bool> wake_requested_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> PollBackend::Create() {
  using Waker = PollPoller::Waker;
  absl::StatusOr<Waker> waker = Waker::Create();
  if (!waker.ok()) return waker.status();
  absl::StatusOr<internal::OpenFileSet> files = internal::OpenFileSet::Create();
  if (!files.ok()) return files.status();
  return std::unique_ptr<Backend>(
      new PollPoller(*std::move(waker), *std::move(files)));
}

PollPoller::PollPoller(Waker waker, internal::OpenFileSet files)
    : waker_(std::move(waker)), files_(std::move(files)) {
  pollfds_.reserve(kInitialCapacity + 1);
  slots_.reserve(kInitialCapacity + 1);
  spare_pollfds_.reserve(kInitialCapacity + 1);
  spare_slots_.reserve(kInitialCapacity + 1);
}

// poll(2) reports states, never changes: edge mode cannot be done (see the
// file comment), so it is refused rather than delivered like level.
bool PollPoller::SupportsMode(Mode mode) const { return mode != Mode::kEdge; }

void PollPoller::ReserveLocked(size_t registrations) {
  const size_t needed = registrations + 1;  // And the waker.
  if (pollfds_.capacity() >= needed || spare_pollfds_.capacity() >= needed) {
    return;
  }
  const size_t capacity = std::max(needed, 2 * spare_pollfds_.capacity());
  spare_pollfds_.reserve(capacity);
  spare_slots_.reserve(capacity);
}

void PollPoller::ChangedLocked() {
  ++table_version_;
  if (waiting_ && !change_signalled_) {
    // A failed signal leaves the waiter on its old array until it returns
    // for another reason; the change still applies from then on.
    change_signalled_ = waker_.Wake().ok();
  }
}

void PollPoller::RebuildLocked() {
  // Capacity was reserved by Add: swap, never allocate.
  if (pollfds_.capacity() < registrations_.size() + 1) {
    std::swap(pollfds_, spare_pollfds_);
    std::swap(slots_, spare_slots_);
  }
  pollfds_.clear();
  slots_.clear();
  pollfds_.push_back(pollfd{waker_.fd(), POLLIN, 0});
  slots_.push_back(Slot{-1, 0});
  for (const auto& [fd, registration] : registrations_) {
    if (!registration.armed) continue;
    pollfds_.push_back(
        pollfd{fd, internal::PollEventsFor(registration.interest), 0});
    slots_.push_back(Slot{fd, registration.serial});
  }
  built_table_version_ = table_version_;
  if (next_slot_ >= pollfds_.size()) next_slot_ = 1;
}

absl::Status PollPoller::Add(NativeHandle handle, Token token,
                             Interest interest, Mode mode) {
  if (handle == waker_.fd() || handle == files_.fd()) {
    return internal::OwnWakeDescriptorError(internal::Operation::kAdd, handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  const bool registered = found != registrations_.end();
  absl::StatusOr<bool> inserted = files_.Insert(handle, registered);
  if (!inserted.ok()) return inserted.status();
  if (!*inserted) return internal::AlreadyRegisteredError(handle);
  // A registration found now is of a file closed without Delete whose number
  // was reused: it is replaced, as closing would have removed it in epoll.
  ReserveLocked(registrations_.size() + 1);
  registrations_.insert_or_assign(
      handle,
      Registration{token, interest, mode, /*armed=*/true, next_serial_++});
  ChangedLocked();
  return absl::OkStatus();
}

absl::Status PollPoller::Modify(NativeHandle handle, Token token,
                                Interest interest, Mode mode) {
  return ChangeRegistration(internal::Operation::kModify, handle, token,
                            interest, mode);
}

absl::Status PollPoller::Rearm(NativeHandle handle) {
  return ChangeRegistration(internal::Operation::kRearm, handle, 0,
                            Interest::kNone, Mode::kOneshot);
}

absl::Status PollPoller::ChangeRegistration(internal::Operation operation,
                                            NativeHandle handle, Token token,
                                            Interest interest, Mode mode) {
  if (handle == waker_.fd()) {
    return internal::OwnWakeDescriptorError(operation, handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  bool not_pollable = false;
  absl::StatusOr<bool> same_file = files_.Contains(handle, &not_pollable);
  // A check that failed for a passing reason (EINTR, ENOMEM...) says nothing
  // about the registration: keep it, so the call can be retried. Only a
  // closed descriptor or one that now names an unpollable file ends it.
  if (!same_file.ok() && !not_pollable) return same_file.status();
  auto found = registrations_.find(handle);
  if (!same_file.ok() || !*same_file || found == registrations_.end()) {
    // A closed descriptor's registration, or one whose number now names
    // another file, is gone, as it would be with epoll.
    if (found != registrations_.end()) {
      registrations_.erase(found);
      ChangedLocked();
    }
    if (!same_file.ok()) return same_file.status();
    if (*same_file) files_.Erase(handle);  // A record Delete left behind.
    return internal::NotRegisteredError(handle);
  }
  if (operation == internal::Operation::kRearm) {
    if (!IsOneshot(found->second.mode)) {
      return internal::NotOneshotError(handle, found->second.mode);
    }
    token = found->second.token;
    interest = found->second.interest;
    mode = found->second.mode;
  }
  found->second =
      Registration{token, interest, mode, /*armed=*/true, next_serial_++};
  ChangedLocked();
  return absl::OkStatus();
}

absl::Status PollPoller::Delete(NativeHandle handle) {
  if (handle == waker_.fd()) {
    return internal::OwnWakeDescriptorError(internal::Operation::kDelete,
                                            handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  bool not_pollable = false;
  absl::StatusOr<bool> same_file = files_.Contains(handle, &not_pollable);
  // A check that failed for a passing reason (EINTR, ENOMEM...) says nothing
  // about the registration: keep it, so the call can be retried. Only a
  // closed descriptor or one that now names an unpollable file ends it.
  if (!same_file.ok() && !not_pollable) return same_file.status();
  const bool registered = registrations_.erase(handle) != 0;
  if (registered) ChangedLocked();
  if (!same_file.ok()) return same_file.status();
  if (*same_file) files_.Erase(handle);
  if (!registered || !*same_file) {
    return internal::NotRegisteredError(handle,
                                        /*closed=*/registered);
  }
  return absl::OkStatus();
}

int PollPoller::KernelPoll(absl::Duration timeout) {
  const nfds_t count = static_cast<nfds_t>(pollfds_.size());
#if defined(__linux__)
  struct timespec timespec;
  const bool finite = internal::TimeoutToTimespec(timeout, &timespec);
  return internal::KernelWait("ppoll", [&] {
    return ::ppoll(pollfds_.data(), count, finite ? &timespec : nullptr,
                   nullptr);
  });
#else
  return internal::KernelWait("poll", [&] {
    return ::poll(pollfds_.data(), count,
                  internal::TimeoutToMilliseconds(timeout));
  });
#endif
}

bool PollPoller::TranslateLocked(size_t slot, Event* event) {
  pollfd& entry = pollfds_[slot];
  const short revents = entry.revents;  // NOLINT(runtime/int)
  entry.revents = 0;
  auto found = registrations_.find(slots_[slot].fd);
  // Changed or deleted since the array was built: the next poll, on the new
  // array, reports what is there now.
  if (found == registrations_.end() ||
      found->second.serial != slots_[slot].serial) {
    return false;
  }
  Registration& registration = found->second;
  if (revents & POLLNVAL) {
    // Closed without Delete: stop polling it rather than spin.
    registration.armed = false;
    entry.fd = -1;
    return false;
  }
  const Readiness readiness = internal::ReadinessFromPollEvents(revents);
  if (readiness == Readiness::kNone) return false;
  // The number may name another file by now: closed without Delete and
  // reused (an accept, a pipe) before this poll. Its readiness is not the
  // registration's, and its token may name memory the program freed.
  absl::StatusOr<bool> same_file = files_.Contains(slots_[slot].fd);
  if (same_file.ok() && !*same_file) {
    registration.armed = false;
    entry.fd = -1;
    return false;
  }
  // Closed since the poll: the next poll flags it POLLNVAL. (A passing
  // failure of the check says nothing: the event is delivered.)
  if (same_file.status().code() == absl::StatusCode::kInvalidArgument) {
    return false;
  }
  *event = Event(registration.token, readiness);
  if (IsOneshot(registration.mode)) {
    registration.armed = false;
    // A negative fd is skipped by poll(2) until the next rebuild.
    entry.fd = -1;
  }
  return true;
}

absl::StatusOr<WaitResult> PollPoller::Wait(absl::Span<Event> events,
                                            absl::Duration timeout) {
  WaitResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (built_table_version_ != table_version_) RebuildLocked();
    waiting_ = true;
  }
  const int ready = KernelPoll(timeout);
  const int error = errno;

  std::lock_guard<std::mutex> lock(mutex_);
  waiting_ = false;
  if (ready < 0) {
    if (error == EINTR) {
      result.interrupted = true;
      return result;
    }
#if defined(__linux__)
    return internal::ErrnoToStatus(error, "ppoll");
#else
    return internal::ErrnoToStatus(error, "poll");
#endif
  }
  if (ready == 0) return result;

  if (pollfds_[0].revents != 0) {
    pollfds_[0].revents = 0;
    absl::Status drained = waker_.Drain();
    if (!drained.ok()) return drained;
    change_signalled_ = false;
    result.woken = wake_requested_.exchange(false, std::memory_order_acq_rel);
  }

  // Round-robin over slots 1..n-1 from where the last scan stopped, so a small
  // Events buffer does not starve the handles at the end of the array.
  const size_t slot_count = pollfds_.size();
  if (slot_count <= 1) return result;
  const size_t first = next_slot_ < slot_count ? next_slot_ : 1;
  size_t index = first;
  for (size_t visited = 0; visited + 1 < slot_count; ++visited) {
    pollfd& entry = pollfds_[index];
    const size_t current = index;
    index = index + 1 < slot_count ? index + 1 : 1;
    if (entry.revents == 0) continue;
    if (result.count == events.size()) {
      next_slot_ = current;
      return result;
    }
    if (TranslateLocked(current, &events[result.count])) ++result.count;
  }
  next_slot_ = index;
  return result;
}

absl::Status PollPoller::Wake() {
  wake_requested_.store(true, std::memory_order_release);
  return waker_.Wake();
}

}  // namespace poller
