// Copyright 2026 The poller Authors.
//
// How this backend works (its header says what it promises).
//
// Strategy
//   Add/Modify/Delete are EPOLL_CTL_ADD/MOD/DEL. The kernel's epoll_event.data
//   carries the descriptor and a serial number, not the token: the token,
//   interest, mode and an "armed" flag live in a table indexed by descriptor,
//   which lets oneshot cost no system call per event (below) and lets Wait
//   drop events of a registration that was deleted while they were in flight.
//
//   Modes: kLevel is level-triggered, kEdge is EPOLLET. Readable interest adds
//   EPOLLRDHUP, so a TCP half-close is reported as hang-up.
//
//   Wake: an eventfd registered EPOLLIN | EPOLLET. Each signal is a new edge,
//   so the eventfd is never read on the wait path; Poller coalesces wakes so a
//   burst costs one write(2).
//
//   Wait: epoll_wait, or epoll_pwait2 (Linux 5.11+) when the timeout is not a
//   whole number of milliseconds (it costs more per call), falling back for
//   good to epoll_wait with milliseconds rounded up when the kernel or a
//   seccomp filter refuses it. At most 1024 events are taken per call.
//
// Oneshot without a system call per event (OneshotStrategy::kLazy, the default)
//   Kernel oneshot (EPOLLONESHOT) costs an EPOLL_CTL_MOD for every re-arm:
//   three system calls per request/response round trip where a level-triggered
//   loop needs two. So oneshot and edge-oneshot registrations are
//   level-triggered in the kernel and disarmed in user space: a delivery clears
//   the armed flag, and a Rearm, or a Modify with the same interest and mode,
//   only sets it again (and changes the token) without entering the kernel.
//   (Edge-oneshot behaves the same as oneshot: epoll re-checks readiness when
//   either is re-armed, so their kernel forms differ only within one arm, where
//   a oneshot delivers once anyway.) The worst case is a handle that becomes or
//   stays ready while disarmed, e.g. a program that hands the handle to a
//   worker and waits again before the worker re-arms it: the level registration
//   would wake every Wait. The first time that happens, Wait silences the
//   kernel registration (EPOLL_CTL_MOD to EPOLLONESHOT with no interest), and
//   that registration then uses kernel oneshot for good: each re-arm is one
//   EPOLL_CTL_MOD, as with kOneshot strategy kKernel. So the worst case costs
//   what kernel oneshot costs, plus one MOD and one spurious wake-up once per
//   registration; bench/ measures both (README, "Oneshot without a system call
//   per event"). OneshotStrategy::kKernel uses EPOLLONESHOT throughout (kept
//   for comparison and for programs that always re-arm from another thread).
//
// Memory
//   24 bytes per descriptor number up to the highest one registered (the table
//   is an array indexed by descriptor, as libev's is; it grows in Add, only
//   after the kernel accepted the descriptor, never in Wait), plus what the
//   kernel keeps per registration (an epitem, about 128 bytes of kernel
//   memory). Growing fails with ResourceExhausted, never an exception.
//
// Threads
//   The table is guarded by a mutex. Wait holds it while it turns kernel events
//   into poller events, not while it blocks, so Add/Modify/Delete from other
//   threads never wait for a blocked Wait. Once Delete has returned, no Wait
//   reports the handle, even one that took the kernel event before Delete ran.
//
// Changes during a Wait
//   Every Add and Modify is counted, and each registration remembers the count
//   of its last change (made after the kernel call returned). A Wait reads the
//   count before it enters the kernel; an event whose registration changed
//   since may describe the registration as it was (Modify from readable to
//   writable while the kernel reported readable). Such an event is checked
//   again: one zero-timeout poll(2) of the handle for its current interest,
//   and only what that reports (with hang-up and error) is delivered, under
//   the current token; if nothing is left, the event is dropped and a oneshot
//   registration stays armed. Dropping loses nothing: EPOLL_CTL_MOD re-checks
//   readiness, and a lazy re-arm is level-triggered in the kernel. The check
//   costs a system call only in that race.
//
// Registrations nothing can reach
//   A descriptor closed without Delete while a duplicate of its file is open
//   leaves a kernel registration that no descriptor number names any more: it
//   cannot be modified or deleted. If it is level-triggered it fires on every
//   epoll_wait. Wait recognizes one by an event whose registration is gone
//   coming back in a second Wait (an event Delete or Modify left in flight
//   comes back at most once), or by a disarmed oneshot registration that can
//   no longer be silenced, and then moves every live registration to a new
//   epoll instance (one EPOLL_CTL_MOD on the old and one EPOLL_CTL_ADD on the
//   new instance each) and closes the old one with what nothing reaches. Cost:
//   O(registrations) system calls once per such event, never a busy loop. A
//   failed silencing call for a passing reason (ENOMEM) changes nothing: the
//   registration stays level-triggered and the next event tries again.

#include "backends/epoll/epoll_backend.h"

#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/eventfd_waker.h"
#include "poller/internal/poll_readiness.h"
#include "poller/internal/registration_errors.h"
#include "poller/internal/scoped_fd.h"
#include "poller/internal/syscall.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

std::uint32_t InterestEvents(Interest interest) {
  std::uint32_t events = 0;
  if (HasInterest(interest, Interest::kReadable)) {
    events |= EPOLLIN | EPOLLRDHUP;
  }
  if (HasInterest(interest, Interest::kWritable)) events |= EPOLLOUT;
  if (HasInterest(interest, Interest::kPriority)) events |= EPOLLPRI;
  return events;
}

inline Readiness FromEpollEvents(std::uint32_t events) {
  Readiness readiness = Readiness::kNone;
  if (events & EPOLLIN) readiness |= Readiness::kReadable;
  if (events & EPOLLOUT) readiness |= Readiness::kWritable;
  if (events & EPOLLPRI) readiness |= Readiness::kPriority;
  if (events & (EPOLLHUP | EPOLLRDHUP)) readiness |= Readiness::kHangUp;
  if (events & EPOLLERR) readiness |= Readiness::kError;
  return readiness;
}

// The kernel's data word: the serial above the descriptor. The wake source
// uses kReservedToken, whose descriptor half (0xffffffff) no real descriptor
// has.
std::uint64_t KernelData(NativeHandle handle, std::uint32_t serial) {
  return (std::uint64_t{serial} << 32) | static_cast<std::uint32_t>(handle);
}

const char* OperationName(int operation) {
  switch (operation) {
    case EPOLL_CTL_ADD:
      return "epoll_ctl(EPOLL_CTL_ADD)";
    case EPOLL_CTL_MOD:
      return "epoll_ctl(EPOLL_CTL_MOD)";
    default:
      return "epoll_ctl(EPOLL_CTL_DEL)";
  }
}

// The backend itself; EpollBackend::Create makes one.
class EpollPoller final : public Backend {
 public:
  using Options = EpollBackend::Options;
  using OneshotStrategy = EpollBackend::OneshotStrategy;

  EpollPoller(internal::ScopedFd epoll_fd, internal::EventFdWaker waker,
              Options options);

  absl::string_view name() const override { return EpollBackend::kName; }
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
  static_assert(sizeof(Registration) <= 24,
                "the memory figure above promises 24 bytes");

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

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> EpollBackend::Create() {
  return Create(Options());
}

absl::StatusOr<std::unique_ptr<Backend>> EpollBackend::Create(Options options) {
  internal::ScopedFd epoll_fd(internal::Syscall(
      "epoll_create1", [] { return ::epoll_create1(EPOLL_CLOEXEC); }));
  if (!epoll_fd.valid()) {
    return internal::ErrnoToStatus(errno, "epoll_create1");
  }

  absl::StatusOr<internal::EventFdWaker> waker =
      internal::EventFdWaker::Create();
  if (!waker.ok()) return waker.status();

  epoll_event wake_event{};
  wake_event.events = EPOLLIN | EPOLLET;
  wake_event.data.u64 = kReservedToken;
  const int wake_fd = waker->fd();
  if (internal::Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd, &wake_event);
      }) != 0) {
    return internal::ErrnoToStatus(errno, "epoll_ctl(EPOLL_CTL_ADD) eventfd",
                                   wake_fd);
  }
  return std::unique_ptr<Backend>(
      new EpollPoller(std::move(epoll_fd), *std::move(waker), options));
}

EpollPoller::EpollPoller(internal::ScopedFd epoll_fd,
                         internal::EventFdWaker waker, Options options)
    : epoll_fd_(std::move(epoll_fd)),
      waker_(std::move(waker)),
      options_(options),
      kernel_events_(new epoll_event[kMaxKernelEvents]) {}

bool EpollPoller::SupportsMode(Mode) const { return true; }

namespace {

internal::Operation RegistrationOperation(int epoll_operation) {
  switch (epoll_operation) {
    case EPOLL_CTL_ADD:
      return internal::Operation::kAdd;
    case EPOLL_CTL_MOD:
      return internal::Operation::kModify;
    default:
      return internal::Operation::kDelete;
  }
}

}  // namespace

absl::Status EpollPoller::WakerIsNotRegistered(int operation) const {
  return internal::OwnWakeDescriptorError(RegistrationOperation(operation),
                                          waker_.fd());
}

epoll_event EpollPoller::KernelEvent(NativeHandle handle,
                                     const Registration& registration) {
  epoll_event event{};
  if (registration.kernel_quiet) {
    event.events = EPOLLONESHOT;
  } else {
    event.events = InterestEvents(registration.interest);
    if (registration.mode == Mode::kEdge ||
        (registration.mode == Mode::kEdgeOneshot &&
         registration.kernel_oneshot)) {
      event.events |= EPOLLET;
    }
    if (registration.kernel_oneshot) event.events |= EPOLLONESHOT;
  }
  event.data.u64 = KernelData(handle, registration.serial);
  return event;
}

absl::Status EpollPoller::Control(int operation, NativeHandle handle,
                                  const Registration& registration,
                                  int* error_number) {
  epoll_event event = KernelEvent(handle, registration);
  if (internal::Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(epoll_fd_.get(), operation, handle, &event);
      }) == 0) {
    return absl::OkStatus();
  }
  const int error = errno;
  if (error_number != nullptr) *error_number = error;
  if (error == EPERM) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kInvalidArgument, error, OperationName(operation),
        handle,
        "this kind of file cannot be polled (a regular file or directory?)");
  }
  if (error == EINVAL && handle == epoll_fd_.get()) {
    return internal::WatchesItselfError(handle, error);
  }
  return internal::ErrnoToStatus(error, OperationName(operation), handle);
}

bool EpollPoller::ReserveLocked(NativeHandle handle) {
  const size_t needed = static_cast<size_t>(handle) + 1;
  if (needed <= table_size_) return true;
  const size_t size = std::max(needed, table_size_ * 2);
  std::unique_ptr<Registration[]> grown(new (std::nothrow) Registration[size]);
  if (grown == nullptr) return false;
  std::copy(registrations_.get(), registrations_.get() + table_size_,
            grown.get());
  registrations_ = std::move(grown);
  table_size_ = size;
  return true;
}

absl::Status EpollPoller::Add(NativeHandle handle, Token token,
                              Interest interest, Mode mode) {
  if (handle == waker_.fd()) return WakerIsNotRegistered(EPOLL_CTL_ADD);
  if (handle < 0) {
    return internal::InvalidHandleError(handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const bool in_table = static_cast<size_t>(handle) < table_size_;
  Registration added;
  added.token = token;
  added.serial = (in_table ? registrations_[handle].serial : 0) + 1;
  added.interest = interest;
  added.mode = mode;
  added.registered = true;
  added.armed = true;
  added.kernel_oneshot =
      IsOneshot(mode) && options_.oneshot == OneshotStrategy::kKernel;
  // The kernel checks the descriptor first, so the table grows only for
  // descriptors that really are registered (a number far beyond any open
  // descriptor costs nothing). The kernel also decides AlreadyExists: a table
  // entry can be stale when a descriptor was closed without Delete and its
  // number reused.
  absl::Status status = Control(EPOLL_CTL_ADD, handle, added);
  if (!status.ok()) return status;
  if (!ReserveLocked(handle)) {
    (void)internal::Syscall("epoll_ctl", [&] {
      return ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, handle, nullptr);
    });
    return internal::ErrnoToStatus(ENOMEM, OperationName(EPOLL_CTL_ADD),
                                   handle);
  }
  added.changed_at = changes_.load(std::memory_order_relaxed) + 1;
  registrations_[handle] = added;
  changes_.store(added.changed_at, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status EpollPoller::Modify(NativeHandle handle, Token token,
                                 Interest interest, Mode mode) {
  if (handle == waker_.fd()) return WakerIsNotRegistered(EPOLL_CTL_MOD);
  if (handle < 0) {
    return internal::InvalidHandleError(handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return ModifyLocked(handle, token, interest, mode);
}

absl::Status EpollPoller::Rearm(NativeHandle handle) {
  if (handle == waker_.fd()) {
    return internal::OwnWakeDescriptorError(internal::Operation::kRearm,
                                            handle);
  }
  if (handle < 0) {
    return internal::InvalidHandleError(handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (static_cast<size_t>(handle) < table_size_ &&
      registrations_[handle].registered) {
    const Registration& registration = registrations_[handle];
    if (!IsOneshot(registration.mode)) {
      return internal::NotOneshotError(handle, registration.mode);
    }
    // On the lazy path this only sets the armed flag.
    return ModifyLocked(handle, registration.token, registration.interest,
                        registration.mode);
  }
  // Not registered: ModifyLocked asks the kernel which error it is.
  return ModifyLocked(handle, 0, Interest::kNone, Mode::kOneshot);
}

absl::Status EpollPoller::ModifyLocked(NativeHandle handle, Token token,
                                       Interest interest, Mode mode) {
  if (static_cast<size_t>(handle) >= table_size_ ||
      !registrations_[handle].registered) {
    // Not ours: let the kernel say whether the descriptor is invalid or just
    // not registered.
    Registration none;
    absl::Status status = Control(EPOLL_CTL_MOD, handle, none);
    if (status.ok()) {
      // The kernel still had a registration poller forgot after EBADF (the
      // removal that goes with forgetting it failed too): remove it now, so
      // the two agree and Add of the number works.
      (void)internal::Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, handle, nullptr);
      });
      return internal::NotRegisteredError(handle);
    }
    return status;
  }
  Registration& registration = registrations_[handle];
  if (IsOneshot(mode) && registration.mode == mode &&
      registration.interest == interest && !registration.kernel_oneshot) {
    // The lazy re-arm: the kernel registration is level-triggered and still
    // asks for this interest, so nothing needs to change there.
    registration.token = token;
    registration.armed = true;
    registration.changed_at = changes_.load(std::memory_order_relaxed) + 1;
    changes_.store(registration.changed_at, std::memory_order_release);
    return absl::OkStatus();
  }
  Registration changed = registration;
  changed.token = token;
  changed.interest = interest;
  changed.mode = mode;
  changed.armed = true;
  changed.kernel_quiet = false;
  changed.kernel_oneshot =
      IsOneshot(mode) && (registration.kernel_oneshot ||
                          options_.oneshot == OneshotStrategy::kKernel);
  int error = 0;
  absl::Status status = Control(EPOLL_CTL_MOD, handle, changed, &error);
  if (status.ok()) {
    // Counted after the kernel call: a Wait that reads this count entered
    // the kernel after the change, so its events need no second look.
    changed.changed_at = changes_.load(std::memory_order_relaxed) + 1;
    registration = changed;
    changes_.store(changed.changed_at, std::memory_order_release);
  } else if (error == EBADF) {
    // The number is not open: nothing can reach this registration through
    // it, so it is forgotten (Modify says NotFound from now on, and Add of
    // the number starts afresh). The kernel's own registration, if a
    // duplicate keeps it alive, is removed with it, so the two agree; where
    // the kernel already dropped it this fails too, changing nothing.
    registration.registered = false;
    (void)internal::Syscall("epoll_ctl", [&] {
      return ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, handle, nullptr);
    });
  }
  // Any other failure changed nothing in the kernel, and the registration
  // is kept, so Modify can be retried: ENOENT or EPERM (the number now names
  // another file, after a close without Delete) keep failing until Delete,
  // which forgets it; ENOMEM and the like pass.
  return status;
}

absl::Status EpollPoller::Delete(NativeHandle handle) {
  if (handle == waker_.fd()) return WakerIsNotRegistered(EPOLL_CTL_DEL);
  std::lock_guard<std::mutex> lock(mutex_);
  const bool known = handle >= 0 && static_cast<size_t>(handle) < table_size_ &&
                     registrations_[handle].registered;
  if (internal::Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, handle, nullptr);
      }) == 0) {
    if (known) registrations_[handle].registered = false;
    return absl::OkStatus();
  }
  const int error = errno;
  // Gone from the kernel (closed, or never there): forget it here too. After
  // a passing failure (ENOMEM...) the registration stays, so a retry works.
  if (known && (error == EBADF || error == ENOENT || error == EPERM)) {
    registrations_[handle].registered = false;
  }
  // The kernel checks the kind of file before the operation, so deleting a
  // regular file fails as adding one does, not with NotFound.
  if (error == EPERM) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kInvalidArgument, error, OperationName(EPOLL_CTL_DEL),
        handle,
        "this kind of file cannot be polled (a regular file or directory?)");
  }
  return internal::ErrnoToStatus(error, OperationName(EPOLL_CTL_DEL), handle);
}

bool EpollPoller::Silence(NativeHandle handle, Registration& registration) {
  Registration silenced = registration;
  silenced.kernel_oneshot = true;
  silenced.kernel_quiet = true;
  absl::Status status = Control(EPOLL_CTL_MOD, handle, silenced);
  if (status.ok()) {
    registration = silenced;
    return true;
  }
  // After a passing failure (ENOMEM) nothing changed: the registration stays
  // level-triggered, its next event tries again. Otherwise the number no
  // longer names the registered file (closed without Delete), and the kernel
  // registration may live on where no number reaches it.
  return status.code() != absl::StatusCode::kNotFound &&
         status.code() != absl::StatusCode::kInvalidArgument;
}

bool EpollPoller::IsRepeatedStaleEvent(std::uint64_t data) {
  for (size_t i = 0; i < previous_stale_count_; ++i) {
    if (previous_stale_[i] == data) return true;
  }
  if (current_stale_count_ < kStaleMemory) {
    current_stale_[current_stale_count_++] = data;
  }
  return false;
}

absl::Status EpollPoller::RebuildKernelSetLocked() {
  internal::ScopedFd fresh(internal::Syscall(
      "epoll_create1", [] { return ::epoll_create1(EPOLL_CLOEXEC); }));
  if (!fresh.valid()) return internal::ErrnoToStatus(errno, "epoll_create1");
  // Edge-triggered like the original: if the eventfd was ever signalled, this
  // reports one wake that Poller drops, since no Wake() is pending for it.
  epoll_event wake_event{};
  wake_event.events = EPOLLIN | EPOLLET;
  wake_event.data.u64 = kReservedToken;
  if (internal::Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(fresh.get(), EPOLL_CTL_ADD, waker_.fd(),
                           &wake_event);
      }) != 0) {
    return internal::ErrnoToStatus(errno, "epoll_ctl(EPOLL_CTL_ADD) eventfd",
                                   waker_.fd());
  }
  for (size_t index = 0; index < table_size_; ++index) {
    Registration& registration = registrations_[index];
    if (!registration.registered) continue;
    const auto handle = static_cast<NativeHandle>(index);
    epoll_event event = KernelEvent(handle, registration);
    // The old set answers whether the number still names the registered file:
    // MOD finds only the (file, number) pair that Add registered.
    if (internal::Syscall("epoll_ctl", [&] {
          return ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, handle, &event);
        }) != 0) {
      const int error = errno;
      if (error == EBADF || error == ENOENT || error == EPERM) {
        registration.registered = false;  // Closed without Delete.
        continue;
      }
      return internal::ErrnoToStatus(error, OperationName(EPOLL_CTL_MOD),
                                     handle);
    }
    if (internal::Syscall("epoll_ctl", [&] {
          return ::epoll_ctl(fresh.get(), EPOLL_CTL_ADD, handle, &event);
        }) != 0) {
      return internal::ErrnoToStatus(errno, OperationName(EPOLL_CTL_ADD),
                                     handle);
    }
  }
  std::swap(epoll_fd_, fresh);  // The old set is closed with `fresh`.
  return absl::OkStatus();
}

int EpollPoller::KernelWait(int max_events, absl::Duration timeout,
                            const char** call) {
  const int milliseconds = internal::TimeoutToMilliseconds(timeout);
#if defined(SYS_epoll_pwait2)
  // epoll_pwait2 costs more than epoll_wait (about 130 ns per call measured
  // here), so it is used only when milliseconds cannot express the timeout.
  if (use_epoll_pwait2_.load(std::memory_order_relaxed) && milliseconds > 0 &&
      timeout % absl::Milliseconds(1) != absl::ZeroDuration()) {
    *call = "epoll_pwait2";
    struct timespec timespec;
    const bool finite = internal::TimeoutToTimespec(timeout, &timespec);
    int count = internal::KernelWait("epoll_pwait2", [&] {
      return static_cast<int>(
          ::syscall(SYS_epoll_pwait2, epoll_fd_.get(), kernel_events_.get(),
                    max_events, finite ? &timespec : nullptr, nullptr, 0));
    });
    // ENOSYS: kernel older than 5.11; EPERM: a seccomp filter that predates the
    // call.
    if (count >= 0 || (errno != ENOSYS && errno != EPERM)) return count;
    use_epoll_pwait2_.store(false, std::memory_order_relaxed);
  }
#endif
  *call = "epoll_wait";
  return internal::KernelWait("epoll_wait", [&] {
    return ::epoll_wait(epoll_fd_.get(), kernel_events_.get(), max_events,
                        milliseconds);
  });
}

bool EpollPoller::TranslateLocked(const epoll_event& kernel_event,
                                  std::uint64_t changes_before_wait,
                                  Event* event) {
  const auto handle = static_cast<NativeHandle>(
      static_cast<std::uint32_t>(kernel_event.data.u64));
  const auto serial = static_cast<std::uint32_t>(kernel_event.data.u64 >> 32);
  // Deleted, or deleted and added again, since the kernel queued this
  // event; or a registration the kernel keeps for a closed number.
  if (static_cast<size_t>(handle) >= table_size_ ||
      !registrations_[handle].registered ||
      registrations_[handle].serial != serial) {
    if (IsRepeatedStaleEvent(kernel_event.data.u64)) rebuild_needed_ = true;
    return false;
  }
  Registration& registration = registrations_[handle];
  Readiness readiness = FromEpollEvents(kernel_event.events);
  if (registration.changed_at > changes_before_wait) {
    // Modified while this Wait was in the kernel: the event may describe
    // the registration as it was. Ask what the handle is ready for now,
    // among what it asks for now; an error leaves the kernel's answer,
    // masked the same way.
    const Readiness asked =
        FromEpollEvents(InterestEvents(registration.interest)) |
        Readiness::kHangUp | Readiness::kError;
    absl::StatusOr<Readiness> now =
        internal::CurrentReadiness(handle, registration.interest);
    readiness = (now.ok() ? *now : readiness) & asked;
    if (readiness == Readiness::kNone) {
      // Nothing to report now, but the event may be the one the Modify's
      // own kernel re-arm produced: a kernel oneshot registration is then
      // spent, and readiness that comes back later would never be reported.
      // Arm it again (it reports at once if it is ready by now); if the
      // kernel refuses, the rebuilt set arms it.
      if (registration.kernel_oneshot && !registration.kernel_quiet &&
          registration.armed &&
          !Control(EPOLL_CTL_MOD, handle, registration).ok()) {
        rebuild_needed_ = true;
      }
      return false;
    }
  }
  if (IsOneshot(registration.mode)) {
    if (!registration.armed) {
      if (!registration.kernel_quiet && !Silence(handle, registration)) {
        rebuild_needed_ = true;
      }
      return false;
    }
    registration.armed = false;
    // A kernel oneshot disabled itself by firing.
    if (registration.kernel_oneshot) registration.kernel_quiet = true;
  }
  *event = Event(registration.token, readiness);
  return true;
}

absl::StatusOr<WaitResult> EpollPoller::Wait(absl::Span<Event> events,
                                             absl::Duration timeout) {
  WaitResult result;
  const int max_events =
      static_cast<int>(std::min<size_t>(events.size(), kMaxKernelEvents));
  // Registrations changed after this point may have been changed after the
  // kernel took their events (see Registration::changed_at).
  const std::uint64_t changes_before_wait =
      changes_.load(std::memory_order_acquire);
  const char* call = "epoll_wait";
  // Polls and waits without a limit, the most frequent calls, take the
  // shortest path: no conversion, no function call.
  int count;
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    const int milliseconds = timeout == absl::InfiniteDuration() ? -1 : 0;
    count = internal::Syscall("epoll_wait", [&] {
      return ::epoll_wait(epoll_fd_.get(), kernel_events_.get(), max_events,
                          milliseconds);
    });
  } else {
    count = KernelWait(max_events, timeout, &call);
  }
  if (count < 0) {
    if (errno == EINTR) {
      result.interrupted = true;
      return result;
    }
    return internal::ErrnoToStatus(errno, call, epoll_fd_.get());
  }
  if (count == 0 && !rebuild_needed_) return result;

  std::lock_guard<std::mutex> lock(mutex_);
  current_stale_count_ = 0;
  for (int i = 0; i < count; ++i) {
    const epoll_event& kernel_event = kernel_events_[i];
    if (kernel_event.data.u64 == kReservedToken) {
      result.woken = true;
      continue;
    }
    if (TranslateLocked(kernel_event, changes_before_wait,
                        &events[result.count])) {
      ++result.count;
    }
  }
  // The current Wait's stale events become the previous ones (copied only
  // when there are any: this runs on every Wait that took events).
  std::copy(current_stale_.begin(),
            current_stale_.begin() + current_stale_count_,
            previous_stale_.begin());
  previous_stale_count_ = current_stale_count_;
  if (rebuild_needed_) {
    absl::Status rebuilt = RebuildKernelSetLocked();
    if (rebuilt.ok()) {
      rebuild_needed_ = false;
    } else if (result.count == 0 && !result.woken) {
      return rebuilt;  // Otherwise the next Wait tries again.
    }
  }
  return result;
}

absl::Status EpollPoller::Wake() { return waker_.Wake(); }

}  // namespace poller
