// Copyright 2026 The poller Authors.
//
// The policy layer shared by every backend: argument checks, serialized waits,
// wake coalescing, shutdown and the timeout loop. Backend selection (Create)
// lives in registry.cc.

#include "poller/poller.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "poller/core/backend.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/registration_errors.h"
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

bool Poller::SupportsInterest(Interest interest) const {
  return backend_->SupportsInterest(interest);
}

absl::Duration Poller::timeout_resolution() const {
  return backend_->timeout_resolution();
}

bool Poller::is_shut_down() const {
  return shut_down_.load(std::memory_order_acquire);
}

namespace {

// A handle no open file can have: refused here, once, before any backend is
// asked (a backend indexing a table by it must not see it).
bool IsInvalidHandle(NativeHandle handle) {
#if defined(_WIN32)
  return handle == static_cast<NativeHandle>(~std::uintptr_t{0});
#else
  return handle < 0;
#endif
}

// Poller's own refusal of `operation` on `handle`, worded as a backend's
// would be ("fd 7: ..."), with the operation in front.
absl::Status Refused(absl::StatusCode code, absl::string_view operation,
                     NativeHandle handle, absl::string_view why) {
  return internal::InOperation(
      operation,
      absl::Status(code, absl::StrCat("fd ", static_cast<std::int64_t>(handle),
                                      ": ", why)));
}

}  // namespace

absl::Status Poller::CheckHandle(absl::string_view operation,
                                 NativeHandle handle) const {
  if (IsInvalidHandle(handle)) {
    return internal::InOperation(
        operation,
        internal::InvalidHandleError(static_cast<std::int64_t>(handle)));
  }
  return absl::OkStatus();
}

absl::Status Poller::CheckRegistration(absl::string_view operation,
                                       NativeHandle handle, Token token,
                                       Interest interest, Mode mode) const {
  if (is_shut_down()) {
    return Refused(absl::StatusCode::kFailedPrecondition, operation, handle,
                   "the poller is shut down");
  }
  absl::Status valid_handle = CheckHandle(operation, handle);
  if (!valid_handle.ok()) return valid_handle;
  if (token == kReservedToken) {
    return Refused(absl::StatusCode::kInvalidArgument, operation, handle,
                   "token 0xffffffffffffffff (kReservedToken) is reserved for "
                   "the poller's wake source");
  }
  if ((static_cast<std::uint8_t>(interest) & ~kAllInterestBits) != 0) {
    return Refused(
        absl::StatusCode::kInvalidArgument, operation, handle,
        absl::StrCat("interest has unknown bits 0x",
                     absl::Hex(static_cast<std::uint8_t>(interest))));
  }
  if (!IsKnownMode(mode)) {
    return Refused(absl::StatusCode::kInvalidArgument, operation, handle,
                   absl::StrCat("unknown mode ", static_cast<int>(mode)));
  }
  if (!backend_->SupportsMode(mode)) {
    return Refused(
        absl::StatusCode::kUnimplemented, operation, handle,
        absl::StrCat("the ", backend_->name(),
                     " backend does not support mode ", ModeName(mode)));
  }
  return absl::OkStatus();
}

absl::Status Poller::Add(NativeHandle handle, Token token, Interest interest,
                         Mode mode) {
  absl::Status valid = CheckRegistration("Add", handle, token, interest, mode);
  if (!valid.ok()) return valid;
  return internal::InOperation("Add",
                               backend_->Add(handle, token, interest, mode));
}

absl::Status Poller::Modify(NativeHandle handle, Token token, Interest interest,
                            Mode mode) {
  absl::Status valid =
      CheckRegistration("Modify", handle, token, interest, mode);
  if (!valid.ok()) return valid;
  return internal::InOperation("Modify",
                               backend_->Modify(handle, token, interest, mode));
}

absl::Status Poller::Rearm(NativeHandle handle) {
  if (is_shut_down()) {
    return Refused(absl::StatusCode::kFailedPrecondition, "Rearm", handle,
                   "the poller is shut down");
  }
  absl::Status valid = CheckHandle("Rearm", handle);
  if (!valid.ok()) return valid;
  return internal::InOperation("Rearm", backend_->Rearm(handle));
}

absl::Status Poller::Delete(NativeHandle handle) {
  absl::Status valid = CheckHandle("Delete", handle);
  if (!valid.ok()) return valid;
  return internal::InOperation("Delete", backend_->Delete(handle));
}

// The wake protocol
//
// A Wake() signals the kernel only when the waiting thread has announced that
// it may block, as libev's ev_async_send writes its pipe only when the loop
// is about to sleep. While the waiter is busy (handling events, outside Wait)
// a burst of wakes costs no system call: each finds wake_pending_ set and the
// next Wait sees it before blocking.
//
//   waiter (WaitBlocking)                waker (Wake)
//   W1  wait_state_ |= kWaiterMayBlock   P   the caller's own writes
//   W2  if wake_pending_: do not block   F   seq_cst fence
//   W3  backend wait (blocks)            L   if wake_pending_ set: return
//   W4  TakeWake: CAS tag->kNoWake,      K1  CAS wake_pending_ kNoWake->tag
//       then a seq_cst fence G if it         (fails: a wake is pending,
//       took a wake                          return)
//   W5  LeaveWait clears kWaiterMayBlock K2  if wait_state_ & kWaiterMayBlock:
//   W6  the caller's reads                     backend_->Wake()
//
// Why a wake is never lost. W1, W2, K1 and K2 are sequentially consistent
// operations, so they happen in one total order S. If K1 succeeds (it set the
// flag) and W2 comes before K1 in S, then W1 came before K2, and K2 sees
// kWaiterMayBlock (which stays set until W5, after the backend wait
// returned) and signals the kernel; the signal is kept by the kernel (an
// eventfd edge, a completion) until the backend wait at W3, even one not yet
// entered, returns with it. Otherwise K1 comes before W2, and W2 sees the
// pending wake and polls instead of blocking. (Both may happen: the signal
// then ends a later backend wait early, and since no wake is pending then,
// that Wait does not return for it but waits again: see the loop in
// WaitBlocking.) A wake whose L or K1 finds the flag set relies on the wake
// that set it, which has not been consumed when L read it: consumption
// happens only at W4, and the waiter returns after it.
//
// Why the caller's writes are seen (the promise of poller.h). If K1 sets the
// flag, the TakeWake exchange that takes it reads K1's value (or a later one
// of its release sequence: the flag is only changed by read-modify-writes and
// Shutdown's store, which makes the Wait return Cancelled), so K1 synchronizes
// with W4 and P happens before W6. If L (or a failed K1) reads the flag set
// by another wake, nothing of this thread's is read by the waiter, and the
// plain load L could be performed before the stores of P are visible (a store
// buffer: x86 allows it, ARM more so); without F, the waiter could take that
// other wake at W4, look at W6 before P is visible, find no work, and block
// with no wake pending: the wake returned OK and was lost. With the fences:
// L reads a value that comes before W4's write in the flag's modification
// order (L is coherence-ordered before W4), F is sequenced before L and G
// after W4, so F precedes G in S ([atomics.order]/4.4). If a read R at W6 of
// an atomic object missed a store of P to it (R coherence-ordered before that
// store), the same rule would put G before F. So R sees P's store, and plain
// data published through it (a mutex, a release store) is then visible too.
// tools/model/wake_protocol.pml checks this with explicit store buffers.
// Under ThreadSanitizer, which does not model fences, F and L are one
// read-modify-write of the flag instead: the wake that took the flag reads
// from it (the flag's release sequence), which makes P happen before W6, and
// G is left out.
//
// A failed signal (K2 refused past its retries) changes only the wake K1
// set: a compare-and-swap from this thread's tag to kSignalOwed, which fails
// if the waiter took that wake and another thread's wake was set since, so a
// wake that succeeded is never erased. kSignalOwed is a pending wake (W2 does
// not block on it, TakeWake takes it, with G), so the wakes that coalesced
// into the failed one are delivered at the waiter's next return; and since
// Wake()'s fast path does not stop at it, the next Wake signals again. (A
// waiter already blocked when the kernel refuses every signal can only be
// released by its timeout or an event: nothing else can reach it.) After
// Shutdown() the flag is kShutdownWake, which TakeWake never takes, and a
// Wake() that starts after Shutdown() sees shut_down_ and signals nothing.
//
// Cost: a blocking Wait pays one atomic read-modify-write to take its turn
// and announce (W1 is folded into TryEnterWait), one to take a wake and one to
// leave; Wait(0) announces nothing; a Wake that finds a wake pending is a
// fence and one load.

bool Poller::TryEnterWait(std::uint32_t bits, bool behind_queued) {
  std::uint32_t state = wait_state_.load(std::memory_order_relaxed);
  while ((state & kWaiterActive) == 0 &&
         !(behind_queued && state >= kOneQueuedWaiter)) {
    // Sequentially consistent: this is W1 of the wake protocol.
    if (wait_state_.compare_exchange_weak(state, state | bits)) return true;
  }
  return false;
}

bool Poller::EnterWaitQueued(std::uint32_t bits, bool infinite,
                             std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(waiter_mutex_);
  // Counted in the same word LeaveWait clears, so the two read-modify-writes
  // are ordered: either LeaveWait sees this waiter queued and notifies it
  // (after taking the mutex, so not before it sleeps), or this waiter's next
  // TryEnterWait sees the turn free.
  wait_state_.fetch_add(kOneQueuedWaiter);
  bool entered = false;
  for (;;) {
    if (TryEnterWait(bits)) {
      entered = true;
      break;
    }
    if (infinite) {
      waiter_done_.wait(lock);
    } else if (waiter_done_.wait_until(lock, deadline) ==
               std::cv_status::timeout) {
      entered = TryEnterWait(bits);
      break;
    }
  }
  wait_state_.fetch_sub(kOneQueuedWaiter);
  return entered;
}

void Poller::LeaveWait(std::uint32_t bits) {
  // Subtracts the bits TryEnterWait set (one locked instruction, where an
  // and that returns the old value is a loop), leaving the queue count.
  const std::uint32_t before = wait_state_.fetch_sub(bits);
  if (before >= kOneQueuedWaiter) {
    // Taking the mutex orders this notification after a queued waiter's check
    // of the turn: it is either past the check or asleep in wait().
    { std::lock_guard<std::mutex> lock(waiter_mutex_); }
    waiter_done_.notify_one();
  }
}

bool Poller::TakeWake() {
  std::uintptr_t pending = wake_pending_.load(std::memory_order_relaxed);
  do {
    if (pending == kNoWake) return false;
    // Shutdown's wake is never taken: it wakes every Wait from then on.
    if (pending == kShutdownWake) return true;
  } while (!wake_pending_.compare_exchange_weak(
      pending, kNoWake, std::memory_order_acq_rel, std::memory_order_relaxed));
  // G of the wake protocol: the caller's reads after this Wait see what a
  // waker wrote before a Wake() that found this wake pending. (Under
  // ThreadSanitizer that Wake() made a read-modify-write instead of F, which
  // this compare-and-swap reads from: no fence needed, and none is modelled.)
#if !POLLER_INTERNAL_THREAD_SANITIZER
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  return true;
}

namespace {

// Lets the next waiter in, however the wait returns.
template <typename Leave>
struct ScopeExit {
  Leave leave;
  ~ScopeExit() { leave(); }
};
template <typename Leave>
ScopeExit(Leave) -> ScopeExit<Leave>;

absl::Status ShutDownError() {
  return absl::CancelledError("Wait: the poller is shut down");
}

}  // namespace

absl::StatusOr<size_t> Poller::Wait(Events& events, absl::Duration timeout) {
  events.size_ = 0;
  if (is_shut_down()) return ShutDownError();
  if (events.capacity_ == 0) {
    if (events.allocation_failed_) {
      return absl::ResourceExhaustedError(
          "Wait: the Events buffer has no memory (its allocation failed)");
    }
    return absl::InvalidArgumentError(
        "Wait: the Events buffer has no capacity (it was moved from)");
  }
  if (timeout <= absl::ZeroDuration()) return PollOnce(events);
  return WaitBlocking(events, internal::NormalizeTimeout(timeout));
}

absl::StatusOr<size_t> Poller::PollOnce(Events& events) {
  // Another thread is waiting, or queued to wait: it reports what is ready.
  // (Taking the turn ahead of a queued waiter would let a loop of Wait(0)
  // calls starve it.)
  if (!TryEnterWait(kWaiterActive, /*behind_queued=*/true)) return 0;
  ScopeExit release{[this] { LeaveWait(kWaiterActive); }};
  absl::StatusOr<WaitResult> result =
      backend_->Wait(absl::Span<Event>(events.events_.get(), events.capacity_),
                     absl::ZeroDuration());
  if (!result.ok()) return internal::InOperation("Wait", result.status());
  TakeWake();  // This return is the one pending wakes collapse into.
  if (is_shut_down()) return ShutDownError();
  events.size_ = result->count;
  return result->count;
}

absl::StatusOr<size_t> Poller::WaitBlocking(Events& events,
                                            absl::Duration timeout) {
  const bool infinite = timeout == absl::InfiniteDuration();
  // The deadline is read from the clock only for a finite wait, which may
  // have to be resumed.
  std::chrono::steady_clock::time_point deadline;
  if (!infinite) {
    deadline =
        std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  }
  constexpr std::uint32_t kBits = kWaiterActive | kWaiterMayBlock;
  if (!TryEnterWait(kBits)) {
    if (!EnterWaitQueued(kBits, infinite, deadline)) {
      return 0;  // Another thread waited for all of our timeout.
    }
    if (!infinite) {
      timeout = std::max(
          absl::ZeroDuration(),
          absl::FromChrono(deadline - std::chrono::steady_clock::now()));
    }
  }
  ScopeExit release{[this] { LeaveWait(kBits); }};

  absl::Span<Event> buffer(events.events_.get(), events.capacity_);
  for (;;) {
    if (is_shut_down()) return ShutDownError();
    // W2 of the wake protocol: announced (kWaiterMayBlock), now look.
    const absl::Duration backend_timeout =
        wake_pending_.load() != kNoWake ? absl::ZeroDuration() : timeout;
    absl::StatusOr<WaitResult> result = backend_->Wait(buffer, backend_timeout);
    if (!result.ok()) return internal::InOperation("Wait", result.status());
    // Only a pending wake ends the wait: a backend may report its wake source
    // with none behind it (a signal for a wake a previous Wait already
    // consumed, or epoll after rebuilding its kernel set).
    const bool woken = TakeWake();
    if (is_shut_down()) return ShutDownError();
    if (result->count > 0 || woken || result->interrupted) {
      events.size_ = result->count;
      return result->count;
    }
    // Nothing to report yet (a backend may filter out kernel events, or
    // return for a spent signal): wait out the rest.
    if (!infinite) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return 0;
      timeout = absl::FromChrono(deadline - now);
    }
  }
}

namespace {

// Tells this thread's wakes from other threads': the address of a
// thread_local (never 0, 1 or 2: kNoWake, kShutdownWake, kSignalOwed).
// Trivially destructible, as a thread_local must be in a statically linked
// MinGW program.
std::uintptr_t ThisThreadsWakeTag() {
  static thread_local char tag;
  return reinterpret_cast<std::uintptr_t>(&tag);
}

}  // namespace

absl::Status Poller::WakeNotPending() {
  // Wake() found no wake pending. After Shutdown() it does nothing.
  if (is_shut_down()) return absl::OkStatus();
  const std::uintptr_t tag = ThisThreadsWakeTag();
  // K1 of the wake protocol: takes over "no wake" or a wake whose signal was
  // refused. A wake another thread set since Wake()'s load is relied on.
  std::uintptr_t expected = wake_pending_.load(std::memory_order_relaxed);
  do {
    if (expected != kNoWake && expected != kSignalOwed) {
      return absl::OkStatus();
    }
  } while (!wake_pending_.compare_exchange_weak(expected, tag));
  // K2: no Wait may block before it sees the flag.
  if ((wait_state_.load() & kWaiterMayBlock) == 0) return absl::OkStatus();
  // Wakes from other threads that found this one pending have returned
  // relying on it, so a refused signal is retried before giving up.
  absl::Status woken = WakeBackendWithRetries(kWakeAttempts);
  if (!woken.ok()) {
    // Keep the wake, owing its signal, so the next Wake signals again; but
    // only if it is still this thread's: once the waiter took it, the flag
    // may hold another thread's wake, which succeeded.
    expected = tag;
    wake_pending_.compare_exchange_strong(expected, kSignalOwed);
  }
  return internal::InOperation("Wake", std::move(woken));
}

absl::Status Poller::WakeBackendWithRetries(int attempts) {
  // Passing failures (EINTR, EAGAIN, ENOMEM, a full io_uring submission
  // queue) clear within moments; a lasting one is reported.
  absl::Status woken = backend_->Wake();
  for (int attempt = 1; !woken.ok() && attempt < attempts; ++attempt) {
    if (attempt > 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    woken = backend_->Wake();
  }
  return woken;
}

void Poller::Shutdown() {
  if (shut_down_.exchange(true, std::memory_order_acq_rel)) return;
  // Unconditionally: a pending wake may already have been consumed by a waiter
  // that is now about to block again. A failed signal leaves waiters to see the
  // flag at their next return.
  wake_pending_.store(kShutdownWake, std::memory_order_release);
  // A waiter blocked with no timeout has no other way out. One that still
  // misses a signal refused for a second sees the flag at its next return.
  (void)WakeBackendWithRetries(kShutdownAttempts);
}

}  // namespace poller
