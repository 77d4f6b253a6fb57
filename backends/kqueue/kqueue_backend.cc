// Copyright 2026 The poller Authors.

#include "backends/kqueue/kqueue_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <type_traits>
#include <utility>

#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

#if defined(EV_DISPATCH)
constexpr unsigned kOneshotFlag = EV_DISPATCH;
// A dispatched filter stays in the kernel, disabled, after it fires.
constexpr bool kFiredFilterStays = true;
#else
constexpr unsigned kOneshotFlag = EV_ONESHOT;
constexpr bool kFiredFilterStays = false;
#endif

// `udata` is a pointer on current systems and an intptr_t on NetBSD before 10.
using Udata = decltype(std::declval<struct kevent&>().udata);
constexpr bool kUdataHoldsToken = sizeof(Udata) >= sizeof(Token);

// Templates, so that only the branch for this system's `udata` is compiled.
template <typename U = Udata>
Token UdataToToken(U udata) {
  if constexpr (std::is_pointer_v<U>) {
    return reinterpret_cast<std::uintptr_t>(udata);
  } else {
    return static_cast<Token>(static_cast<std::uintptr_t>(udata));
  }
}

template <typename U = Udata>
U TokenToUdata(Token token) {
  if constexpr (std::is_pointer_v<U>) {
    return reinterpret_cast<U>(static_cast<std::uintptr_t>(token));
  } else {
    return static_cast<U>(static_cast<std::uintptr_t>(token));
  }
}

// EV_SET's casts differ between systems (and NetBSD's do not accept nullptr
// in C++): fill the fields directly.
struct kevent MakeChange(int fd, int filter, unsigned flags, Token token) {
  struct kevent change {};
  change.ident = static_cast<std::uintptr_t>(fd);
  change.filter = static_cast<decltype(change.filter)>(filter);
  change.flags = static_cast<decltype(change.flags)>(flags);
  change.udata = TokenToUdata(token);
  return change;
}

unsigned ModeFlags(Mode mode) {
  switch (mode) {
    case Mode::kOneshot:
      return kOneshotFlag;
    case Mode::kLevel:
      return 0;
    case Mode::kEdge:
      return EV_CLEAR;
    case Mode::kEdgeOneshot:
      return kOneshotFlag | EV_CLEAR;
  }
  return 0;
}

bool IsOneshot(Mode mode) {
  return mode == Mode::kOneshot || mode == Mode::kEdgeOneshot;
}

// The flags a filter is created with, apart from EV_ADD and EV_ENABLE or
// EV_DISABLE: the mode's, and on macOS EV_OOBAND for priority interest, which
// makes EVFILT_READ fire for out-of-band data as well as for ordinary data.
template <typename Registration>
unsigned FilterFlags(int filter, const Registration& registration) {
  unsigned flags = ModeFlags(registration.mode);
#if defined(__APPLE__) && defined(EV_OOBAND)
  if (filter == EVFILT_READ &&
      HasInterest(registration.interest, Interest::kPriority)) {
    flags |= EV_OOBAND;
  }
#else
  (void)filter;
#endif
  return flags;
}

std::uint8_t FilterBit(int filter) {
  if (filter == EVFILT_READ) return 1 << 0;
  if (filter == EVFILT_WRITE) return 1 << 1;
  return 0;
}

const char* ChangeName(const struct kevent& change) {
  const bool read = change.filter == EVFILT_READ;
  if (change.flags & EV_DELETE) {
    return read ? "kevent(EVFILT_READ, EV_DELETE)"
                : "kevent(EVFILT_WRITE, EV_DELETE)";
  }
  return read ? "kevent(EVFILT_READ, EV_ADD)" : "kevent(EVFILT_WRITE, EV_ADD)";
}

Readiness ReadinessOf(const struct kevent& event) {
  if (event.flags & EV_ERROR) return Readiness::kError;
  Readiness readiness = Readiness::kNone;
  if (event.filter == EVFILT_READ) {
    readiness |= Readiness::kReadable;
#if defined(EV_OOBAND)
    if (event.flags & EV_OOBAND) readiness |= Readiness::kPriority;
#endif
  }
  if (event.filter == EVFILT_WRITE) readiness |= Readiness::kWritable;
  if (event.flags & EV_EOF) {
    readiness |= Readiness::kHangUp;
    // For sockets, fflags holds the pending socket error, if any.
    if (event.fflags != 0) readiness |= Readiness::kError;
  }
  return readiness;
}

bool IsOpen(int fd) {
  return internal::Syscall("fcntl", [&] { return ::fcntl(fd, F_GETFD); }) !=
             -1 ||
         errno != EBADF;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> KqueueBackend::Create() {
#if defined(KQUEUE_CLOEXEC)
  constexpr const char* kCreateName = "kqueuex";
  internal::ScopedFd kqueue_fd(
      internal::Syscall(kCreateName, [] { return ::kqueuex(KQUEUE_CLOEXEC); }));
#elif defined(__NetBSD__)
  constexpr const char* kCreateName = "kqueue1";
  internal::ScopedFd kqueue_fd(
      internal::Syscall(kCreateName, [] { return ::kqueue1(O_CLOEXEC); }));
#else
  constexpr const char* kCreateName = "kqueue";
  internal::ScopedFd kqueue_fd(
      internal::Syscall(kCreateName, [] { return ::kqueue(); }));
#endif
  if (!kqueue_fd.valid()) return internal::ErrnoToStatus(errno, kCreateName);
#if !defined(KQUEUE_CLOEXEC) && !defined(__NetBSD__)
  if (internal::Syscall("fcntl", [&] {
        return ::fcntl(kqueue_fd.get(), F_SETFD, FD_CLOEXEC);
      }) == -1) {
    return internal::ErrnoToStatus(errno, "fcntl(F_SETFD, FD_CLOEXEC)",
                                   kqueue_fd.get());
  }
#endif
  absl::StatusOr<internal::KqueueWaker> waker =
      internal::KqueueWaker::Create(kqueue_fd.get());
  if (!waker.ok()) return waker.status();
  return std::unique_ptr<Backend>(
      new KqueueBackend(std::move(kqueue_fd), *std::move(waker)));
}

KqueueBackend::KqueueBackend(internal::ScopedFd kqueue_fd,
                             internal::KqueueWaker waker)
    : kqueue_fd_(std::move(kqueue_fd)),
      waker_(std::move(waker)),
      kernel_events_(new struct kevent[kMaxKernelEvents]),
      sibling_changes_(new struct kevent[kMaxKernelEvents]) {}

bool KqueueBackend::SupportsMode(Mode) const { return true; }

bool KqueueBackend::ApplyChanges(struct kevent* changes, int count,
                                 struct kevent* receipts, int* errors) {
  const struct timespec no_wait = {0, 0};
#if defined(EV_RECEIPT)
  // Every change returns a receipt (EV_ERROR with its errno, or 0, in `data`)
  // in order, and the kernel collects no events into the receipt buffer.
  for (int i = 0; i < count; ++i) changes[i].flags |= EV_RECEIPT;
  const int got = internal::Syscall("kevent", [&] {
    return ::kevent(kqueue_fd_.get(), changes, count, receipts, count,
                    &no_wait);
  });
  if (got < 0) return false;
  if (errors != nullptr) {
    for (int i = 0; i < count; ++i) {
      errors[i] = i < got && (receipts[i].flags & EV_ERROR)
                      ? static_cast<int>(receipts[i].data)
                      : 0;
    }
  }
#else
  // Without receipts kevent stops at the first failed change: apply them one
  // at a time to learn each one's error.
  (void)receipts;
  for (int i = 0; i < count; ++i) {
    const int result = internal::Syscall("kevent", [&] {
      return ::kevent(kqueue_fd_.get(), &changes[i], 1, nullptr, 0, &no_wait);
    });
    if (errors != nullptr) errors[i] = result < 0 ? errno : 0;
  }
#endif
  return true;
}

bool KqueueBackend::StillRegistered(int fd, const Registration& registration) {
  // A change with no action flags only refreshes the filter (with the same
  // token) and fails with ENOENT or EBADF once the kernel dropped it, which it
  // does when the descriptor is closed.
  struct kevent changes[2];
  int count = 0;
  if (registration.filters & kReadFilter) {
    changes[count++] = MakeChange(fd, EVFILT_READ, 0, registration.token);
  }
  if (registration.filters & kWriteFilter) {
    changes[count++] = MakeChange(fd, EVFILT_WRITE, 0, registration.token);
  }
  struct kevent receipts[2];
  int errors[2];
  if (count == 0 || !ApplyChanges(changes, count, receipts, errors)) {
    return true;  // Nothing to ask, or no answer: keep the entry.
  }
  for (int i = 0; i < count; ++i) {
    if (errors[i] != ENOENT && errors[i] != EBADF) return true;
  }
  return false;
}

absl::Status KqueueBackend::Apply(const char* operation, int fd,
                                  const Registration& old,
                                  Registration& registration) {
  std::uint8_t wanted = kNoFilter;
  if (HasInterest(registration.interest, Interest::kReadable) ||
      HasInterest(registration.interest, Interest::kPriority) ||
      registration.interest == Interest::kNone) {
    wanted |= kReadFilter;
  }
  if (HasInterest(registration.interest, Interest::kWritable)) {
    wanted |= kWriteFilter;
  }
  // kNone keeps the read filter, disabled, so the kernel still knows the
  // descriptor (see StillRegistered).
  const unsigned enable = registration.interest == Interest::kNone
                              ? static_cast<unsigned>(EV_DISABLE)
                              : static_cast<unsigned>(EV_ENABLE);

  struct kevent changes[kMaxChanges];
  int count = 0;
  for (const int filter : {EVFILT_READ, EVFILT_WRITE}) {
    const std::uint8_t bit = FilterBit(filter);
    const unsigned flags = FilterFlags(filter, registration);
    // An existing filter keeps its EV_CLEAR/EV_DISPATCH flags through EV_ADD
    // on some kernels: new flags need a new filter.
    if ((old.filters & bit) &&
        (!(wanted & bit) || FilterFlags(filter, old) != flags)) {
      changes[count++] = MakeChange(fd, filter, EV_DELETE, registration.token);
    }
    if (wanted & bit) {
      changes[count++] =
          MakeChange(fd, filter, EV_ADD | enable | flags, registration.token);
    }
  }
  struct kevent receipts[kMaxChanges];
  int errors[kMaxChanges];
  if (!ApplyChanges(changes, count, receipts, errors)) {
    return internal::ErrnoToStatus(errno, operation, fd);
  }
  std::uint8_t filters = old.filters;
  int failed = -1;
  for (int i = 0; i < count; ++i) {
    const std::uint8_t bit = FilterBit(changes[i].filter);
    const bool deleting = (changes[i].flags & EV_DELETE) != 0;
    if (errors[i] == 0 || (deleting && errors[i] == ENOENT)) {
      filters = deleting ? (filters & ~bit) : (filters | bit);
    } else if (failed < 0) {
      failed = i;
    }
  }
  registration.filters = filters;
  if (failed < 0) return absl::OkStatus();
  const int error = errors[failed];
  if (error == EINVAL && fd == kqueue_fd_.get()) {
    return internal::ErrnoToStatus(absl::StatusCode::kInvalidArgument, error,
                                   ChangeName(changes[failed]), fd,
                                   "a poller cannot watch itself");
  }
  return internal::ErrnoToStatus(error, ChangeName(changes[failed]), fd);
}

absl::Status KqueueBackend::ReservedHandle(const char* operation,
                                           NativeHandle handle,
                                           bool adding) const {
  // The wake pipe is the poller's own: a caller who guessed its number must
  // not change it.
  if (adding) {
    return internal::ErrnoToStatus(absl::StatusCode::kAlreadyExists, EEXIST,
                                   operation, handle,
                                   "it is the poller's own wake descriptor");
  }
  return internal::ErrnoToStatus(
      absl::StatusCode::kNotFound, ENOENT, operation, handle,
      "not registered (it is the poller's own wake descriptor)");
}

absl::Status KqueueBackend::Add(NativeHandle handle, Token token,
                                Interest interest, Mode mode) {
  if (waker_.OwnsDescriptor(handle)) {
    return ReservedHandle("kevent(EV_ADD)", handle, /*adding=*/true);
  }
  if (handle == kqueue_fd_.get()) {
    return internal::ErrnoToStatus(absl::StatusCode::kInvalidArgument, EINVAL,
                                   "kevent(EV_ADD)", handle,
                                   "a poller cannot watch itself");
  }
  struct stat info;
  if (internal::Syscall("fstat", [&] { return ::fstat(handle, &info); }) != 0) {
    return internal::ErrnoToStatus(errno, "fstat", handle);
  }
  if (S_ISREG(info.st_mode) || S_ISDIR(info.st_mode)) {
    // kqueue would report it readable forever; epoll refuses it, and so do we.
    return internal::ErrnoToStatus(
        absl::StatusCode::kInvalidArgument, EPERM, "kevent(EV_ADD)", handle,
        "this kind of file cannot be polled (a regular file or directory)");
  }

  std::lock_guard<std::mutex> lock(mutex_);
  auto existing = registrations_.find(handle);
  if (existing != registrations_.end()) {
    if (StillRegistered(handle, existing->second)) {
      return internal::ErrnoToStatus(absl::StatusCode::kAlreadyExists, EEXIST,
                                     "kevent(EV_ADD)", handle,
                                     "already registered in this poller");
    }
    // Closed without Delete, and the number reused: the kernel forgot it.
    registrations_.erase(existing);
  }
  const Registration nothing{token, interest, mode, kNoFilter, 0};
  Registration registration{token, interest, mode, kNoFilter,
                            change_count_.fetch_add(1) + 1};
  absl::Status applied = Apply("kevent(EV_ADD)", handle, nothing, registration);
  if (!applied.ok()) {
    // Undo the filter that did go in, so a failed Add leaves nothing behind.
    struct kevent changes[2];
    int count = 0;
    for (const int filter : {EVFILT_READ, EVFILT_WRITE}) {
      if (registration.filters & FilterBit(filter)) {
        changes[count++] = MakeChange(handle, filter, EV_DELETE, token);
      }
    }
    struct kevent receipts[2];
    if (count > 0) ApplyChanges(changes, count, receipts, nullptr);
    return applied;
  }
  registrations_.emplace(handle, registration);
  return absl::OkStatus();
}

absl::Status KqueueBackend::Modify(NativeHandle handle, Token token,
                                   Interest interest, Mode mode) {
  if (waker_.OwnsDescriptor(handle)) {
    return ReservedHandle("kevent(EV_ADD)", handle, /*adding=*/false);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    if (!IsOpen(handle)) {
      return internal::ErrnoToStatus(EBADF, "kevent(EV_ADD)", handle);
    }
    return internal::ErrnoToStatus(absl::StatusCode::kNotFound, ENOENT,
                                   "kevent(EV_ADD)", handle,
                                   "not registered in this poller");
  }
  Registration& registration = found->second;
  const Registration old = registration;
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  registration.generation = change_count_.fetch_add(1) + 1;
  absl::Status applied = Apply("kevent(EV_ADD)", handle, old, registration);
  // The kernel holds nothing for it any more (its descriptor was closed).
  if (!applied.ok() && registration.filters == kNoFilter) {
    registrations_.erase(found);
  }
  return applied;
}

absl::Status KqueueBackend::Delete(NativeHandle handle) {
  if (waker_.OwnsDescriptor(handle)) {
    return ReservedHandle("kevent(EV_DELETE)", handle, /*adding=*/false);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    if (!IsOpen(handle)) {
      return internal::ErrnoToStatus(EBADF, "kevent(EV_DELETE)", handle);
    }
    return internal::ErrnoToStatus(absl::StatusCode::kNotFound, ENOENT,
                                   "kevent(EV_DELETE)", handle,
                                   "not registered in this poller");
  }
  const Registration& registration = found->second;
  struct kevent changes[2];
  int count = 0;
  for (const int filter : {EVFILT_READ, EVFILT_WRITE}) {
    if (registration.filters & FilterBit(filter)) {
      changes[count++] =
          MakeChange(handle, filter, EV_DELETE, registration.token);
    }
  }
  if (count == 0) {  // Only after a failed Modify; nothing in the kernel.
    registrations_.erase(found);
    return absl::OkStatus();
  }
  struct kevent receipts[2];
  int errors[2];
  if (!ApplyChanges(changes, count, receipts, errors)) {
    return internal::ErrnoToStatus(errno, "kevent(EV_DELETE)", handle);
  }
  bool deleted = false;
  int gone_error = 0;
  for (int i = 0; i < count; ++i) {
    // A fired EV_ONESHOT filter (no EV_DISPATCH) is already gone: not an
    // error.
    if (errors[i] == 0 || (errors[i] == ENOENT && !kFiredFilterStays &&
                           IsOneshot(registration.mode))) {
      deleted = true;
    } else if (errors[i] == ENOENT || errors[i] == EBADF) {
      gone_error = errors[i];
    } else {
      return internal::ErrnoToStatus(errors[i], ChangeName(changes[i]), handle);
    }
  }
  registrations_.erase(found);
  if (deleted) return absl::OkStatus();
  return internal::ErrnoToStatus(
      absl::StatusCode::kNotFound, gone_error, "kevent(EV_DELETE)", handle,
      "the descriptor was closed before Delete, which removed its "
      "registration");
}

absl::StatusOr<WaitResult> KqueueBackend::Wait(absl::Span<Event> events,
                                               absl::Duration timeout) {
  WaitResult result;
  struct timespec timespec;
  const bool finite = internal::TimeoutToTimespec(timeout, &timespec);
  const int max_events =
      static_cast<int>(std::min<size_t>(events.size(), kMaxKernelEvents));
  // A registration changed after this point may have been re-armed after its
  // event was taken: see the sibling filters below.
  const std::uint64_t generation_before =
      change_count_.load(std::memory_order_acquire);
  const int count = internal::Syscall("kevent", [&] {
    return ::kevent(kqueue_fd_.get(), nullptr, 0, kernel_events_.get(),
                    max_events, finite ? &timespec : nullptr);
  });
  if (count < 0) {
    if (errno == EINTR) {
      result.interrupted = true;
      return result;
    }
    return internal::ErrnoToStatus(errno, "kevent", kqueue_fd_.get());
  }

  int kept = 0;
  for (int i = 0; i < count; ++i) {
    if (waker_.IsWakeEvent(kernel_events_[i])) {
      result.woken = true;
      continue;
    }
    kernel_events_[kept++] = kernel_events_[i];
  }
  if (result.woken) waker_.Consume();
  if (kept == 0) return result;

  // The read and write filters of one registration are two kernel events:
  // bring them together (std::sort does not allocate).
  std::sort(kernel_events_.get(), kernel_events_.get() + kept,
            [](const struct kevent& a, const struct kevent& b) {
              if (a.ident != b.ident) return a.ident < b.ident;
              return UdataToToken(a.udata) < UdataToToken(b.udata);
            });

  std::lock_guard<std::mutex> lock(mutex_);
  int sibling_count = 0;
  for (int i = 0; i < kept;) {
    const std::uintptr_t ident = kernel_events_[i].ident;
    const Token udata_token = UdataToToken(kernel_events_[i].udata);
    Readiness readiness = Readiness::kNone;
    std::uint8_t fired = kNoFilter;
    for (; i < kept && kernel_events_[i].ident == ident &&
           UdataToToken(kernel_events_[i].udata) == udata_token;
         ++i) {
      readiness |= ReadinessOf(kernel_events_[i]);
      fired |= FilterBit(kernel_events_[i].filter);
    }
    const int fd = static_cast<int>(ident);
    auto found = registrations_.find(fd);
    // Deleted while its events were in flight: once Delete has returned, no
    // Wait reports the handle.
    if (found == registrations_.end()) continue;
    const Registration& registration = found->second;
    // Oneshot is one Event per registration: silence the filter that did not
    // fire, unless a Modify since the wait began may have re-armed it.
    const std::uint8_t silent = registration.filters & ~fired;
    if (IsOneshot(registration.mode) && silent != kNoFilter &&
        registration.generation <= generation_before) {
      const int filter = (silent & kWriteFilter) ? EVFILT_WRITE : EVFILT_READ;
      sibling_changes_[sibling_count++] =
          MakeChange(fd, filter, EV_DISABLE, registration.token);
    }
    events[result.count++] =
        Event(kUdataHoldsToken ? udata_token : registration.token, readiness);
  }
  if (sibling_count > 0) {
    // Failures (ENOENT: closed meanwhile) leave nothing to silence. The kernel
    // events were consumed above, so their buffer takes the receipts.
    ApplyChanges(sibling_changes_.get(), sibling_count, kernel_events_.get(),
                 nullptr);
  }
  return result;
}

absl::Status KqueueBackend::Notify() { return waker_.Signal(); }

}  // namespace poller
