// Copyright 2026 The poller Authors.
//
// The policy layer shared by every backend: argument checks, serialized waits,
// wake coalescing, shutdown and the timeout loop. Backend selection (Create)
// lives in registry.cc.

#include "poller/poller.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <new>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "poller/core/backend.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

// How often Wake() and Shutdown() try a signal the kernel refuses; after the
// third try they pause 1 ms between tries. Wake() gives up after about 10 ms
// and reports the error; Shutdown(), whose waiters may have no timeout, after
// about a second.
constexpr int kWakeAttempts = 13;
constexpr int kShutdownAttempts = 1000;

constexpr std::uint8_t kAllInterestBits = static_cast<std::uint8_t>(
    Interest::kReadable | Interest::kWritable | Interest::kPriority);

bool IsKnownMode(Mode mode) {
  switch (mode) {
    case Mode::kOneshot:
    case Mode::kLevel:
    case Mode::kEdge:
    case Mode::kEdgeOneshot:
      return true;
  }
  return false;
}

}  // namespace

Events::Events(size_t capacity) {
  capacity = std::clamp<size_t>(capacity, 1, kMaxCapacity);
  // No exception may leave a Status-returning API: a failed allocation is
  // reported by the first Wait.
  events_.reset(new (std::nothrow) Event[capacity]);
  if (events_ != nullptr) {
    capacity_ = capacity;
  } else {
    allocation_failed_ = true;
  }
}

Events::Events(Events&& other) noexcept
    : events_(std::move(other.events_)),
      capacity_(std::exchange(other.capacity_, 0)),
      size_(std::exchange(other.size_, 0)),
      allocation_failed_(std::exchange(other.allocation_failed_, false)) {}

Events& Events::operator=(Events&& other) noexcept {
  if (this != &other) {
    events_ = std::move(other.events_);
    capacity_ = std::exchange(other.capacity_, 0);
    size_ = std::exchange(other.size_, 0);
    allocation_failed_ = std::exchange(other.allocation_failed_, false);
  }
  return *this;
}

Poller::Poller(std::unique_ptr<Backend> backend)
    : backend_(std::move(backend)) {}

Poller::~Poller() = default;

std::unique_ptr<Poller> Poller::FromBackend(std::unique_ptr<Backend> backend) {
  if (backend == nullptr) return nullptr;
  return std::unique_ptr<Poller>(new Poller(std::move(backend)));
}

absl::string_view Poller::backend_name() const { return backend_->name(); }

bool Poller::SupportsMode(Mode mode) const {
  return IsKnownMode(mode) && backend_->SupportsMode(mode);
}

bool Poller::is_shut_down() const {
  return shut_down_.load(std::memory_order_acquire);
}

absl::Status Poller::CheckRegistration(absl::string_view operation,
                                       NativeHandle handle, Token token,
                                       Interest interest, Mode mode) const {
  if (is_shut_down()) {
    return absl::FailedPreconditionError(
        absl::StrCat(operation, " fd ", handle, ": the poller is shut down"));
  }
  if (token == kReservedToken) {
    return absl::InvalidArgumentError(absl::StrCat(
        operation, " fd ", handle,
        ": token 0xffffffffffffffff (kReservedToken) is reserved for the "
        "poller's wake source"));
  }
  if ((static_cast<std::uint8_t>(interest) & ~kAllInterestBits) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        operation, " fd ", handle, ": interest has unknown bits 0x",
        absl::Hex(static_cast<std::uint8_t>(interest))));
  }
  if (!IsKnownMode(mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        operation, " fd ", handle, ": unknown mode ", static_cast<int>(mode)));
  }
  if (!backend_->SupportsMode(mode)) {
    return absl::UnimplementedError(
        absl::StrCat(operation, " fd ", handle, ": the ", backend_->name(),
                     " backend does not support mode ", ModeName(mode)));
  }
  return absl::OkStatus();
}

absl::Status Poller::Add(NativeHandle handle, Token token, Interest interest,
                         Mode mode) {
  absl::Status valid = CheckRegistration("Add", handle, token, interest, mode);
  if (!valid.ok()) return valid;
  return backend_->Add(handle, token, interest, mode);
}

absl::Status Poller::Modify(NativeHandle handle, Token token, Interest interest,
                            Mode mode) {
  absl::Status valid =
      CheckRegistration("Modify", handle, token, interest, mode);
  if (!valid.ok()) return valid;
  return backend_->Modify(handle, token, interest, mode);
}

absl::Status Poller::Rearm(NativeHandle handle) {
  if (is_shut_down()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Rearm fd ", handle, ": the poller is shut down"));
  }
  return backend_->Rearm(handle);
}

absl::Status Poller::Delete(NativeHandle handle) {
  return backend_->Delete(handle);
}

bool Poller::EnterWait(bool infinite, bool poll_only,
                       std::chrono::steady_clock::time_point deadline) {
  // Sequentially consistent throughout: LeaveWait's store of false and load of
  // waiters_queued_ must not pass this thread's increment and exchange, or a
  // queued waiter could sleep through the notification meant for it.
  if (!waiter_active_.exchange(true)) return true;
  if (poll_only) return false;
  std::unique_lock<std::mutex> lock(waiter_mutex_);
  ++waiters_queued_;
  bool entered = false;
  for (;;) {
    if (!waiter_active_.exchange(true)) {
      entered = true;
      break;
    }
    if (infinite) {
      waiter_done_.wait(lock);
    } else if (waiter_done_.wait_until(lock, deadline) ==
               std::cv_status::timeout) {
      entered = !waiter_active_.exchange(true);
      break;
    }
  }
  --waiters_queued_;
  return entered;
}

void Poller::LeaveWait() {
  waiter_active_.store(false);
  if (waiters_queued_.load() > 0) {
    // Taking the mutex orders this notification after a queued waiter's check
    // of waiter_active_: it is either past the check or asleep in wait().
    { std::lock_guard<std::mutex> lock(waiter_mutex_); }
    waiter_done_.notify_one();
  }
}

absl::StatusOr<size_t> Poller::Wait(Events& events, absl::Duration timeout) {
  events.size_ = 0;
  if (is_shut_down()) {
    return absl::CancelledError("Wait: the poller is shut down");
  }
  if (events.capacity_ == 0) {
    if (events.allocation_failed_) {
      return absl::ResourceExhaustedError(
          "Wait: the Events buffer has no memory (its allocation failed)");
    }
    return absl::InvalidArgumentError(
        "Wait: the Events buffer has no capacity (it was moved from)");
  }
  timeout = internal::NormalizeTimeout(timeout);
  const bool infinite = timeout == absl::InfiniteDuration();
  const bool poll_only = timeout == absl::ZeroDuration();

  // The deadline is read from the clock only when a finite wait may have to be
  // resumed.
  std::chrono::steady_clock::time_point deadline;
  if (!infinite && !poll_only) {
    deadline =
        std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  }
  if (!EnterWait(infinite, poll_only, deadline)) {
    return 0;  // Another thread waited for all of our timeout.
  }
  // Lets the next waiter in, however this function returns.
  struct WaiterRelease {
    Poller* poller;
    ~WaiterRelease() { poller->LeaveWait(); }
  } release{this};
  if (!infinite && !poll_only) {
    timeout =
        std::max(absl::ZeroDuration(),
                 absl::FromChrono(deadline - std::chrono::steady_clock::now()));
  }

  absl::Span<Event> buffer(events.events_.get(), events.capacity_);
  for (;;) {
    if (is_shut_down()) {
      return absl::CancelledError("Wait: the poller is shut down");
    }
    absl::StatusOr<WaitResult> result = backend_->Wait(buffer, timeout);
    if (!result.ok()) return result.status();
    // A backend may report its wake source without a Wake() behind it (epoll
    // after rebuilding its kernel set): only a pending wake ends the wait.
    const bool woken = result->woken &&
                       wake_pending_.exchange(false, std::memory_order_acq_rel);
    if (is_shut_down()) {
      return absl::CancelledError("Wait: the poller is shut down");
    }
    if (result->count > 0 || woken || result->interrupted || poll_only) {
      events.size_ = result->count;
      return result->count;
    }
    // Nothing to report yet (a backend may filter out kernel events): wait out
    // the rest.
    if (!infinite) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return 0;
      timeout = absl::FromChrono(deadline - now);
    }
  }
}

absl::Status Poller::Wake() {
  if (is_shut_down()) return absl::OkStatus();
  // The load keeps a burst of wakes from bouncing the cache line between
  // writers.
  if (wake_pending_.load(std::memory_order_acquire) ||
      wake_pending_.exchange(true, std::memory_order_acq_rel)) {
    return absl::OkStatus();
  }
  // Wakes from other threads that found this one pending have returned
  // relying on it, so a refused signal is retried before giving up.
  absl::Status notified = NotifyWithRetries(kWakeAttempts);
  if (!notified.ok()) wake_pending_.store(false, std::memory_order_release);
  return notified;
}

absl::Status Poller::NotifyWithRetries(int attempts) {
  // Passing failures (EINTR, EAGAIN, ENOMEM, a full io_uring submission
  // queue) clear within moments; a lasting one is reported.
  absl::Status notified = backend_->Notify();
  for (int attempt = 1; !notified.ok() && attempt < attempts; ++attempt) {
    if (attempt > 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    notified = backend_->Notify();
  }
  return notified;
}

void Poller::Shutdown() {
  if (shut_down_.exchange(true, std::memory_order_acq_rel)) return;
  // Unconditionally: a pending wake may already have been consumed by a waiter
  // that is now about to block again. A failed signal leaves waiters to see the
  // flag at their next return.
  wake_pending_.store(true, std::memory_order_release);
  // A waiter blocked with no timeout has no other way out. One that still
  // misses a signal refused for a second sees the flag at its next return.
  (void)NotifyWithRetries(kShutdownAttempts);
}

}  // namespace poller
