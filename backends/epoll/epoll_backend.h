// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/epoll/epoll_backend.h
// -----------------------------------------------------------------------------
//
// The Linux backend: one epoll instance and one eventfd.
//
// Public API: the public members of EpollBackend below. A program that wants
// the backend itself, to wrap it (a decorator that counts or logs calls) or to
// test it, depends on @poller//backends/epoll and calls EpollBackend::Create()
// (or Create(Options), to choose the oneshot strategy), then hands the result
// to Poller::FromBackend(); Poller::Create("epoll") does the same without the
// wrapper. What follows is what this backend promises beyond poller/poller.h.
//
// How it works (strategy, the oneshot without a system call per event,
// memory, threads, changes during a Wait) is described at the top of
// epoll_backend.cc.
//
// Semantics that differ from other backends
//   - kNone interest still reports hang-up and error: epoll always reports
//     EPOLLHUP/EPOLLERR.
//   - Closing a descriptor removes its kernel registration only when every
//     duplicate (dup, fork) of it is closed too: until then events keep coming
//     for the old token. Call Delete before close. After a close without
//     Delete, Modify may still report success (a re-arm does not enter the
//     kernel), Delete reports InvalidArgument (EBADF: the kernel cannot name
//     the registration any more), and Add of a new descriptor with the same
//     number works.
//   - Regular files and directories cannot be registered (EPERM ->
//     InvalidArgument).
//   - The same descriptor may be registered in several pollers; each reports
//     independently.
//
// Pitfalls (each pinned down by tests/faults/pitfalls_test.cc)
//   - Closing a registered descriptor without Delete: epoll keys a
//     registration by the open file, not the number. If no duplicate (dup,
//     dup2, fork, SCM_RIGHTS) of it is open, the close removes the
//     registration silently. If one is, the registration lives on and keeps
//     reporting the old token, Delete(number) fails with InvalidArgument
//     (EBADF) because the number names nothing, and a new descriptor that gets
//     the same number can be added beside it (the kernel then holds both; the
//     table names the new one, so Wait drops the old one's events and, when
//     one comes back, rebuilds the kernel set without it: see above). Always
//     Delete before close.
//   - fork() with a live poller: parent and child share one epoll instance and
//     one wake eventfd (the table is copied). A Wait in the child sees the
//     parent's events (and takes edge-triggered ones from it); Add, Modify and
//     Delete in the child change the shared kernel registrations (a Delete in
//     the child removes the parent's); a Wake in either wakes the other's
//     Wait. In the child, do not use an inherited poller: destroy it (closing
//     the child's copies touches nothing of the parent's) and Create a new
//     one. A child that execs loses them anyway (every descriptor is
//     close-on-exec).
//   - The same handle in two pollers: two independent registrations, each with
//     its own token, mode and oneshot arm; Delete from one leaves the other.

#ifndef POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_
#define POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "poller/core/backend.h"
#include "poller/internal/eventfd_waker.h"
#include "poller/internal/scoped_fd.h"

namespace poller {

class EpollBackend final : public Backend {
 public:
  static constexpr absl::string_view kName = "epoll";

  // How oneshot and edge-oneshot registrations are disarmed (see the file
  // comment).
  enum class OneshotStrategy {
    kLazy,    // In user space; the kernel is told only when needed.
    kKernel,  // EPOLLONESHOT: one EPOLL_CTL_MOD per re-arm.
  };
  struct Options {
    OneshotStrategy oneshot = OneshotStrategy::kLazy;
  };

  // Errors: ResourceExhausted when out of descriptors or memory (EMFILE,
  // ENFILE, ENOMEM).
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
  static absl::StatusOr<std::unique_ptr<Backend>> Create(Options options);

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
  // epoll_pwait2 takes a timespec; epoll_wait, its fallback on kernels
  // before 5.11, milliseconds.
  absl::Duration timeout_resolution() const override {
    return use_epoll_pwait2_.load(std::memory_order_relaxed)
               ? absl::Nanoseconds(1)
               : absl::Milliseconds(1);
  }

 private:
  static constexpr int kMaxKernelEvents = 1024;

  // What the backend knows of one descriptor number.
  struct Registration {
    Registration()
        : registered(false),
          armed(false),
          kernel_oneshot(false),
          kernel_quiet(false) {}

    Token token = 0;
    // The value of changes_ when Add or Modify last changed this
    // registration. A Wait that read changes_ before that may hold a kernel
    // event taken before the change: it re-checks it (see Wait).
    std::uint64_t changed_at = 0;
    // Bumped by every Add of this descriptor number, and carried in the kernel
    // event, so events of an earlier registration of the same number are
    // recognized and dropped.
    std::uint32_t serial = 0;
    Interest interest = Interest::kNone;
    Mode mode = Mode::kOneshot;
    bool registered : 1;
    // Oneshot modes: the next event may be delivered.
    bool armed : 1;
    // The kernel registration uses EPOLLONESHOT (strategy kKernel, or a lazy
    // registration that was found ready while disarmed).
    bool kernel_oneshot : 1;
    // The kernel registration currently reports nothing: a kernel oneshot that
    // fired, or one silenced by Wait. Re-arming it needs EPOLL_CTL_MOD.
    bool kernel_quiet : 1;
  };
  static_assert(sizeof(Registration) <= 24, "the header promises 24 bytes");

  EpollBackend(internal::ScopedFd epoll_fd, internal::EventFdWaker waker,
               Options options);

  absl::Status WakerIsNotRegistered(int operation) const;
  // Modify and Rearm, with mutex_ held.
  absl::Status ModifyLocked(NativeHandle handle, Token token, Interest interest,
                            Mode mode);
  // EPOLL_CTL_ADD/MOD for `registration` at `handle`, with errors mapped to
  // poller's codes; the errno of a failure goes to `error_number` if given.
  absl::Status Control(int operation, NativeHandle handle,
                       const Registration& registration,
                       int* error_number = nullptr);
  // The epoll_event that asks the kernel for `registration`.
  static epoll_event KernelEvent(NativeHandle handle,
                                 const Registration& registration);
  // Makes the kernel registration report nothing (see the file comment).
  // Returns false if the kernel no longer knows the handle by that number: a
  // descriptor closed without Delete, whose registration may live on.
  bool Silence(NativeHandle handle, Registration& registration);
  // Grows the table to hold `handle`, without throwing. False if out of
  // memory.
  bool ReserveLocked(NativeHandle handle);
  // Moves every live registration to a new epoll instance and closes the old
  // one, which takes with it registrations that no descriptor number reaches
  // any more (see "Registrations nothing can reach" in the file comment).
  absl::Status RebuildKernelSetLocked();
  // Records a kernel event that matched no current registration. Returns true
  // if the same kernel data word was also stale in the previous Wait: an
  // event Delete or Modify left in flight comes back at most once, so a
  // second sighting is a registration the kernel keeps for a closed number.
  bool IsRepeatedStaleEvent(std::uint64_t data);
  // epoll_pwait2 for timeouts that are not whole milliseconds (unless the
  // kernel refused it once), epoll_wait otherwise; `call` names the one made.
  int KernelWait(int max_events, absl::Duration timeout, const char** call);
  // What one kernel event of a Wait becomes: true, with `event` written, if it
  // is delivered; false if it is stale (its registration was deleted or
  // replaced), left nothing the registration now asks for, or fired a
  // disarmed oneshot registration (which it silences). Sets rebuild_needed_
  // when the kernel set must be rebuilt.
  bool TranslateLocked(const epoll_event& kernel_event,
                       std::uint64_t changes_before_wait, Event* event);

  internal::ScopedFd epoll_fd_;
  internal::EventFdWaker waker_;
  const Options options_;

  std::mutex mutex_;
  // Indexed by descriptor; guarded by mutex_. An array, not a vector, so that
  // growing it can fail without an exception.
  std::unique_ptr<Registration[]> registrations_;
  size_t table_size_ = 0;
  // Counts Add and Modify calls; written under mutex_, read by Wait before it
  // enters the kernel (see Registration::changed_at).
  std::atomic<std::uint64_t> changes_{0};
  // Kernel data words of stale events seen by the previous and the current
  // Wait (guarded by mutex_), for IsRepeatedStaleEvent.
  static constexpr size_t kStaleMemory = 16;
  std::array<std::uint64_t, kStaleMemory> previous_stale_{};
  std::array<std::uint64_t, kStaleMemory> current_stale_{};
  size_t previous_stale_count_ = 0;
  size_t current_stale_count_ = 0;
  // A rebuild failed (out of memory or descriptors); the next Wait retries.
  bool rebuild_needed_ = false;
  // Only touched inside Wait, which Poller serializes.
  std::unique_ptr<epoll_event[]> kernel_events_;
  // Written inside Wait, read by timeout_resolution() from any thread.
  std::atomic<bool> use_epoll_pwait2_{true};
};

}  // namespace poller

#endif  // POLLER_BACKENDS_EPOLL_EPOLL_BACKEND_H_
