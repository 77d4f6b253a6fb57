// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: poller/poller.h
// -----------------------------------------------------------------------------
//
// poller gives every platform one event queue: register a handle (a socket, a
// pipe, an eventfd...) with a token of your choosing and an interest, wait for
// readiness, and wake a waiting thread from another one. Underneath is the
// operating system's own queue: epoll on Linux, kqueue on the BSDs and macOS,
// I/O completion ports on Windows, with poll(2) and io_uring as alternatives on
// Linux (see README.md for the table of backends).
//
// Example: examples/echo_until_closed.cc (quoted in README.md, run by a test
// on every backend) echoes a socket until its peer closes, in the default
// mode, oneshot, which reports a handle once and then stays silent until
// Rearm() re-arms it. In outline:
//
//   poller.Add(socket_fd, token, poller::Interest::kReadable);
//   poller::Events events(/*capacity=*/64);
//   for (;;) {
//     absl::StatusOr<size_t> count =
//         poller.Wait(events, absl::InfiniteDuration());
//     if (!count.ok()) return count.status();  // Cancelled after Shutdown().
//     for (const poller::Event& event : events) {
//       // Read until EAGAIN or end-of-file first, then act on hang-up.
//       ...
//       poller.Rearm(socket_fd);  // Same token, interest and mode.
//     }
//   }
//
// Events of one batch: Wait() hands back a batch of events, and handling one
// can end another handle's connection (a relay that drops a peer it cannot
// write to). Later events of the same batch may still name that handle's
// token, and by then its descriptor number may belong to a new connection
// accepted in the same batch. So look each token up in your own table of live
// connections and skip the ones that are gone, and never reuse a token for a
// new connection (a counter, not the descriptor number or a recycled index).
// examples/consumer/app/relay.cc does both.
//
// Threads: every method of Poller may be called from any thread at any time.
// Wait() calls are serialized: one thread waits in the kernel at a time, and a
// second caller waits for the first to return (within its own timeout). Add,
// Modify, Delete, Wake and Shutdown do not wait for a Wait in progress and take
// effect for it.
//
// Errors: every fallible method returns absl::Status with a specific code,
// documented per method, and a message that starts with the method that
// failed, then names the system call (if one failed), the handle and the
// errno name: "Add: epoll_ctl(EPOLL_CTL_ADD) fd 7: EPERM (Operation not
// permitted): this kind of file cannot be polled". Nothing aborts on bad
// input.

#ifndef POLLER_POLLER_H_
#define POLLER_POLLER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "poller/core/types.h"  // IWYU pragma: export

// Whether this build runs under ThreadSanitizer, which does not model
// std::atomic_thread_fence (poller.cc, "The wake protocol").
#if defined(__SANITIZE_THREAD__)
#define POLLER_INTERNAL_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POLLER_INTERNAL_THREAD_SANITIZER 1
#endif
#endif
#if !defined(POLLER_INTERNAL_THREAD_SANITIZER)
#define POLLER_INTERNAL_THREAD_SANITIZER 0
#endif

namespace poller {

// Events
//
// A caller-owned buffer of events with a fixed capacity, filled by
// Poller::Wait() and reused across waits. Wait() never allocates: the memory is
// taken once, here. When more handles are ready than the capacity holds, the
// rest are delivered by the next waits.
//
// Not thread-safe: use one Events per waiting thread.
//
// Rules: tests/conformance/suite_capacity.cc, suite_extremes.cc.
class Events {
 public:
  static constexpr size_t kDefaultCapacity = 256;
  // Larger capacities are clamped to this (16 MiB of events): no kernel hands
  // out more events per call than a few thousand, so more memory buys nothing.
  static constexpr size_t kMaxCapacity = size_t{1} << 20;

  // Takes room for `capacity` events: 0 is taken as 1 and anything above
  // kMaxCapacity as kMaxCapacity. Never throws: if the memory cannot be had,
  // capacity() is 0 and Wait() into this buffer returns ResourceExhausted.
  explicit Events(size_t capacity = kDefaultCapacity);

  // Moving leaves the source empty with capacity() 0: a Wait() into it
  // returns InvalidArgument instead of touching memory it no longer owns.
  Events(Events&& other) noexcept;
  Events& operator=(Events&& other) noexcept;

  size_t capacity() const { return capacity_; }
  // How many events the last Wait() delivered.
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Requires i < size().
  const Event& operator[](size_t i) const { return events_[i]; }
  const Event* begin() const { return events_.get(); }
  const Event* end() const { return events_.get() + size_; }

 private:
  friend class Poller;

  std::unique_ptr<Event[]> events_;
  size_t capacity_ = 0;
  size_t size_ = 0;
  // Whether the constructor's allocation failed (as opposed to a moved-from
  // buffer), for Wait()'s error message.
  bool allocation_failed_ = false;
};

class Backend;

// Poller
//
// An event queue. Create one with Create(); it owns the kernel queue and its
// wake source, and releases both (every descriptor it opened) when destroyed. A
// Poller must outlive any thread that uses it; destroy it only once no other
// thread is inside one of its methods.
//
// Rules: tests/conformance/suite_hygiene.cc (every descriptor released,
// none inherited by a child).
class Poller {
 public:
  // Create
  //
  // Creates a poller on the backend this build selected for the platform (see
  // DefaultBackendName()).
  //
  // Errors: ResourceExhausted when the process or system is out of descriptors
  // or memory; Unavailable when the kernel refuses the backend (e.g. io_uring
  // disabled by a seccomp policy, or Windows without the AFD driver).
  static absl::StatusOr<std::unique_ptr<Poller>> Create();

  // Create(backend)
  //
  // Creates a poller on the named backend ("epoll", "poll", "io_uring",
  // "kqueue", "iocp"), which must be compiled in (see CompiledBackends()).
  // Errors: as Create(), and NotFound for a name that is not compiled into this
  // build.
  static absl::StatusOr<std::unique_ptr<Poller>> Create(
      absl::string_view backend);

  // FromBackend
  //
  // Wraps a backend of your own (see poller/core/backend.h) in the same policy
  // layer the built-in ones use: token checks, wake coalescing, shutdown,
  // serialized waits. Returns null if `backend` is.
  static std::unique_ptr<Poller> FromBackend(std::unique_ptr<Backend> backend);

  // CompiledBackends
  //
  // The names of the backends compiled into this build, the default first.
  static std::vector<std::string> CompiledBackends();

  // DefaultBackendName
  //
  // The backend Create() uses: the platform's (epoll on Linux, kqueue on macOS
  // and the BSDs, IOCP on Windows, poll elsewhere) unless the build chose
  // another with --//poller:backend=NAME.
  static absl::string_view DefaultBackendName();

  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  ~Poller();

  // backend_name
  //
  // The backend's name, e.g. "epoll".
  absl::string_view backend_name() const;

  // SupportsMode
  //
  // Whether this backend can register handles in `mode`. Add() and Modify()
  // with a mode it cannot do fail with Unimplemented.
  //
  // Rules: tests/conformance/suite_modes.cc (UnsupportedModesAreUnimplemented).
  bool SupportsMode(Mode mode) const;

  // SupportsInterest
  //
  // Whether this backend reports events for `interest`. Add and Modify accept
  // every interest everywhere; kPriority is never reported by kqueue on
  // FreeBSD and NetBSD, where no filter reports TCP urgent data.
  bool SupportsInterest(Interest interest) const;

  // timeout_resolution
  //
  // The granularity of Wait's timeouts on this backend: a timeout is rounded
  // up to a multiple of it, never down. 1 ns where the kernel takes a
  // timespec (epoll_pwait2, ppoll, kevent, io_uring); 1 ms for epoll_wait
  // (kernels before 5.11), poll(2) off Linux and IOCP.
  absl::Duration timeout_resolution() const;

  // Add
  //
  // Registers `handle` to report `interest` in `mode`, with `token` in its
  // events. The handle must stay open until Delete(); see the backend's header
  // for what closing it first does.
  //
  // Errors:
  //   AlreadyExists       `handle` is already registered in this poller.
  //   InvalidArgument     `handle` is closed or invalid, or of a kind the
  //                       backend cannot poll (a regular file on epoll);
  //                       `token` is kReservedToken; or `interest` has bits
  //                       outside the enum.
  //   Unimplemented       the backend cannot do `mode` (see SupportsMode()).
  //   ResourceExhausted   a kernel limit (memory, max_user_watches,
  //                       descriptors).
  //   FailedPrecondition  Shutdown() was called.
  // Thread-safe; takes effect for a Wait in progress on another thread.
  //
  // Rules: tests/conformance/suite_modes.cc, suite_errors.cc,
  // suite_concurrency.cc, suite_scale.cc, suite_closing.cc,
  // suite_descriptors.cc, suite_extremes.cc, suite_half_close.cc,
  // suite_calling_thread.cc.
  absl::Status Add(NativeHandle handle, Token token, Interest interest,
                   Mode mode = Mode::kOneshot);

  // Modify
  //
  // Replaces the token, interest and mode of a registered handle, and re-arms
  // it if it is a oneshot registration that already fired. Readiness that is
  // already there is reported by the next Wait (re-arming a readable socket
  // reports it again). To re-arm without changing anything, call Rearm().
  //
  // The mode has no default, so changing it is always written out. Any default
  // would silently change some registration's mode (kOneshot, the old one,
  // turned an edge-oneshot or level registration into plain oneshot when a
  // re-arm left the mode out), and keeping the mode would need every backend,
  // yours included, to look it up. A call without a mode fails to compile
  // (the deleted overload below): re-arm with Rearm(handle), or name the mode.
  //
  // A Wait in progress on another thread may already hold an event the kernel
  // reported before this change. It is delivered only as the registration is
  // now: under the new token, with just the readiness the new interest asks
  // for (hang-up and error always pass); if nothing is left it is dropped, and
  // it never uses up the new arm of a oneshot registration.
  //
  // Errors: NotFound if `handle` is not registered in this poller; otherwise as
  // Add(). Thread-safe; takes effect for a Wait in progress on another thread.
  //
  // Rules: tests/conformance/suite_modes.cc, suite_races.cc, suite_errors.cc,
  // suite_concurrency.cc, suite_calling_thread.cc.
  absl::Status Modify(NativeHandle handle, Token token, Interest interest,
                      Mode mode);
  // Deleted: pass the mode, or re-arm with Rearm(handle) (see Modify).
  absl::Status Modify(NativeHandle handle, Token token,
                      Interest interest) = delete;

  // Rearm
  //
  // Re-arms a oneshot or edge-oneshot registration that fired, as it is: the
  // same token, interest and mode, so a program need not keep them. Readiness
  // that is already there is reported by the next Wait, as after Modify. A
  // registration that has not fired yet stays armed and nothing changes: an
  // event the kernel already holds for it is still reported, so the next Wait
  // may report readiness that came and went after the previous Wait began
  // (io_uring posts it when the data comes; epoll and poll look again). On the
  // epoll backend it makes no system call unless the registration was found
  // ready while disarmed (see epoll_backend.h).
  //
  // A Wait in progress on another thread takes the re-armed registration into
  // account, as it does a Modify.
  //
  // Errors: as Modify() (NotFound if `handle` is not registered in this
  // poller, InvalidArgument if it is invalid or closed); FailedPrecondition if
  // it is registered in level or edge mode (never disarmed, so nothing to
  // re-arm), or after Shutdown(); Unimplemented on a backend of your own that
  // does not implement Backend::Rearm. Thread-safe.
  //
  // Rules: tests/conformance/suite_rearm.cc, suite_races.cc,
  // suite_half_close.cc, suite_calling_thread.cc.
  absl::Status Rearm(NativeHandle handle);

  // Delete
  //
  // Removes a registration. Once Delete returns, no Wait that starts afterwards
  // reports the handle's token. (A Wait already returning on another thread may
  // still hold an event for it that was taken from the kernel before: handle
  // events from one thread, or tolerate it.) Events already handed back in an
  // Events buffer stay there: later events of the batch being handled may
  // name the deleted handle's token (see "Events of one batch" at the top of
  // this file). Allowed after Shutdown(), so cleanup code can run.
  //
  // Errors: NotFound if `handle` is not registered in this poller (including
  // after the handle was closed, on backends where closing removes it);
  // InvalidArgument if `handle` is invalid. Thread-safe.
  //
  // Rules: tests/conformance/suite_modes.cc, suite_races.cc, suite_errors.cc,
  // suite_concurrency.cc, suite_descriptors.cc, suite_calling_thread.cc.
  absl::Status Delete(NativeHandle handle);

  // Wait
  //
  // Waits until at least one registered handle is ready, Wake() or Shutdown()
  // is called, a signal interrupts the wait, or `timeout` passes; fills
  // `events` (up to its capacity) and returns how many it holds.
  //
  // The timeout:
  //   zero or negative     polls without blocking. While another thread
  //                        is waiting, or queued to wait, it returns 0 at
  //                        once: that thread reports what is ready (so a
  //                        loop of Wait(0) calls never starves a blocking
  //                        Wait on another thread).
  //   1 ns to 100 years    waits at least that long unless something happens,
  //                        never less: it is rounded up, never down, with
  //                        sub-millisecond precision where the kernel has it.
  //   longer, or absl::InfiniteDuration()
  //                        waits with no limit (a deadline centuries ahead
  //                        does not fit the clock, and no caller can tell).
  //
  // Returns 0 (and OK) on timeout, on Wake(), and when a signal interrupts the
  // wait (EINTR is not an error: check your signal flags and wait again). Never
  // allocates.
  //
  // Errors: Cancelled once Shutdown() has been called (and from then on, at
  // once); InvalidArgument if `events` has no capacity (moved from);
  // ResourceExhausted if its memory could not be allocated; Internal or the
  // errno's code if the kernel fails the wait (the message names the call and
  // errno). Thread-safe; concurrent calls are serialized (see the file
  // comment), each within its timeout.
  //
  // Rules: tests/conformance/suite_timeouts.cc, suite_capacity.cc,
  // suite_concurrency.cc, suite_races.cc, suite_extremes.cc.
  absl::StatusOr<size_t> Wait(Events& events, absl::Duration timeout);

  // Wake
  //
  // Makes the Wait in progress, or the next one if none is, return promptly,
  // even if no handle is ready (it then returns 0; handles that are ready are
  // still reported with it). A wake is never lost: one that arrives before the
  // Wait, during it, or from many threads at once still makes a Wait return.
  // Wakes that arrive before a Wait has returned collapse into that one return
  // and cost at most one kernel signal in total, not one each; while no Wait
  // is blocked or about to block (the waiting thread is busy handling events),
  // they cost none: the next Wait sees the wake before it blocks. After
  // Shutdown() it does nothing.
  //
  // Memory: what the calling thread wrote before Wake() is seen by the thread
  // whose Wait returns for this wake, in what that thread reads after the
  // Wait returns: Wake() and that return each act as a sequentially
  // consistent fence (std::atomic_thread_fence(seq_cst)). So a producer that
  // publishes work through an atomic (any memory order) or under a mutex, then
  // calls Wake(), never has the consumer's look after its Wait miss the work.
  // Plain (non-atomic) data published that way, a queue under a mutex or a
  // release store read with acquire, is then safe to read. Wake() is not
  // itself a release of plain writes made without any synchronization.
  //
  // Errors: only what the kernel's signal call still reports after being
  // retried for about 10 ms (e.g. ResourceExhausted), which leaves the poller
  // usable. The wake then stays pending without its signal: a Wait that is
  // blocked is not woken by it (it returns at its timeout or for an event, and
  // reports the wake then), the next Wait does not block, and the next Wake()
  // from any thread signals again. Wakes that found it pending and returned
  // OK are delivered the same way; other threads' wakes are never withdrawn.
  // Thread-safe. Not async-signal-safe: from a signal handler, set a flag and
  // let a thread that is not in the handler call Wake().
  //
  // Rules: tests/conformance/suite_wake.cc, suite_wake_protocol.cc,
  // suite_scale.cc; tests/stress/wake_ordering_test.cc.
  absl::Status Wake() {
    // Inline: a wake already pending (or Shutdown()) costs a fence and one
    // load, as libev's ev_async_send does. The fence orders the caller's
    // writes before the load: see poller.cc, "The wake protocol".
#if POLLER_INTERNAL_THREAD_SANITIZER
    // ThreadSanitizer does not model fences (GCC refuses them there): a
    // read-modify-write that changes nothing orders at least as strongly.
    const std::uintptr_t pending =
        wake_pending_.fetch_or(0, std::memory_order_acq_rel);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const std::uintptr_t pending =
        wake_pending_.load(std::memory_order_relaxed);
#endif
    if (pending != kNoWake && pending != kSignalOwed) return absl::OkStatus();
    return WakeNotPending();
  }

  // Shutdown
  //
  // Closes the queue for use: wakes every waiting thread; from then on Wait
  // returns Cancelled and Add and Modify return FailedPrecondition. Delete and
  // the destructor still work. Idempotent. Thread-safe.
  //
  // Rules: tests/conformance/suite_shutdown.cc.
  void Shutdown();

  // is_shut_down
  //
  // Whether Shutdown() has been called.
  bool is_shut_down() const;

 private:
  explicit Poller(std::unique_ptr<Backend> backend);

  // InvalidArgument for a handle no open file can have.
  absl::Status CheckHandle(absl::string_view operation,
                           NativeHandle handle) const;
  absl::Status CheckRegistration(absl::string_view operation,
                                 NativeHandle handle, Token token,
                                 Interest interest, Mode mode) const;

  // The one-waiter rule and the wake protocol share one word, wait_state_:
  // whether a Wait is inside the backend, whether it may block there (the
  // announcement a Wake() reads), and how many Waits queue for their turn.
  // poller.cc, "The wake protocol", has the proof that no wake is lost.
  static constexpr std::uint32_t kWaiterActive = 1;
  static constexpr std::uint32_t kWaiterMayBlock = 2;
  static constexpr std::uint32_t kOneQueuedWaiter = 4;

  // Wait(0): one non-blocking backend wait, without announcing.
  absl::StatusOr<size_t> PollOnce(Events& events);
  // Wait with a positive (normalized) timeout.
  absl::StatusOr<size_t> WaitBlocking(Events& events, absl::Duration timeout);
  // Takes the turn to wait with `bits` (kWaiterActive, and kWaiterMayBlock
  // for a wait that may block) if no other Wait has it, nor, when
  // `behind_queued`, queues for it. One atomic compare-and-swap when
  // uncontended.
  bool TryEnterWait(std::uint32_t bits, bool behind_queued = false);
  // Queues for the turn until `deadline` (or for ever if `infinite`).
  bool EnterWaitQueued(std::uint32_t bits, bool infinite,
                       std::chrono::steady_clock::time_point deadline);
  // Gives up the turn taken with `bits`.
  void LeaveWait(std::uint32_t bits);
  // Wake() when no wake is pending: the wake protocol's signalling half.
  absl::Status WakeNotPending();
  // Consumes a pending wake; true if there was one.
  bool TakeWake();
  // Backend::Wake(), tried up to `attempts` times while the kernel refuses
  // it.
  absl::Status WakeBackendWithRetries(int attempts);

  const std::unique_ptr<Backend> backend_;
  std::atomic<std::uint32_t> wait_state_{0};
  // Queued waiters sleep here. (Not std::timed_mutex, whose
  // pthread_mutex_clocklock ThreadSanitizer does not understand.)
  std::mutex waiter_mutex_;
  std::condition_variable waiter_done_;
  // Set by the first Wake() after a wait returned, to a tag of the thread that
  // set it (so a failed Wake changes only its own wake), or to kShutdownWake
  // for good; reset when a wait returns. Further wakes in between find it set
  // and return at once. kSignalOwed: a wake is pending whose kernel signal
  // was refused; the next Wake() signals again.
  static constexpr std::uintptr_t kNoWake = 0;
  static constexpr std::uintptr_t kShutdownWake = 1;
  static constexpr std::uintptr_t kSignalOwed = 2;
  std::atomic<std::uintptr_t> wake_pending_{kNoWake};
  std::atomic<bool> shut_down_{false};
};

}  // namespace poller

#endif  // POLLER_POLLER_H_
