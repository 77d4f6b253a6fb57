// Copyright 2026 The poller Authors.
//
// How this backend works (its header says what it promises).
//
// Strategy
//   kqueue watches (descriptor, filter) pairs, so one registration is up to
//   three kernel filters: EVFILT_READ for readable interest, EVFILT_WRITE for
//   writable, and for priority interest whatever the platform has (see
//   "Priority" below). Modes:
//     kLevel       no flag            kEdge         EV_CLEAR
//     kOneshot     EV_DISPATCH        kEdgeOneshot  EV_DISPATCH | EV_CLEAR
//   (EV_ONESHOT where the headers lack EV_DISPATCH.) EV_DISPATCH disables a
//   filter once it is delivered and keeps it in the kernel, so Modify re-arms
//   it with a touch instead of allocating a new knote. Add, Modify and Delete
//   send all of a registration's changes in one kevent call with EV_RECEIPT,
//   which returns each change's own error (one call per change where the
//   headers lack EV_RECEIPT). A refused Add, Modify or Rearm is rolled back:
//   the changes the kernel took are undone (filters it added deleted, those
//   it deleted or touched added again as they were, with the old serial), and
//   the table keeps the registration as it was, so its events stay current
//   and carry its token; a change list refused outright sends nothing more.
//   Tests: kqueue_logic_test KqueueRefused.*; the conformance suite's
//   ModifyRefusedDuringAWaitLeavesTheRegistration.
//
//   Each filter's `udata` is not the token but the registration's serial:
//   one counter for the backend, taken by every Add and Modify and sent with
//   every change to every filter of the registration. The token, interest and
//   mode live in a table (descriptor -> registration) under a std::mutex. Wait
//   reports the table's token, and only for an event whose serial is the
//   registration's current one (item 5 below).
//
//   Wait: one kevent call with a timespec timeout (nanosecond precision,
//   rounded up) into a buffer of at most 1024 events, sorted by descriptor and
//   serial so the filters of one registration become one Event; then, with
//   one more kevent call and only when there are any, the changes that silence
//   a fired oneshot registration's other filters. The buffers are allocated at
//   Create: Wait does not allocate. Wake: EVFILT_USER with NOTE_TRIGGER, or a
//   pipe where the kernel lacks EVFILT_USER (kqueue_waker.h).
//
// Threads
//   Add, Modify and Delete hold the table's mutex across their kevent call, so
//   the table and the kernel agree. Wait holds it after the kernel returned,
//   while it turns kernel events into poller events and silences oneshot
//   siblings, not while it blocks. Every decision there is taken from the
//   table as it is then. Once Delete has returned, no Wait reports the handle,
//   even one that took the kernel event before.
//
// Memory
//   About 80 bytes per registration in the table (a flat_hash_map, which grows
//   in Add, never in Wait), plus the kernel's knote per filter.
//
// Each decision of the backend, and the kernel source it rests on, is listed
// at the top of kqueue_logic.h, which encodes them.

#include "backends/kqueue/kqueue_backend.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/kqueue/kqueue_poller.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/registration_errors.h"
#include "poller/internal/syscall.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

using kqueue_logic::Action;
using kqueue_logic::Change;
using kqueue_logic::FileIdentity;
using kqueue_logic::FileKind;
using kqueue_logic::Filter;
using kqueue_logic::FilterSet;
using kqueue_logic::KernelEvent;
using kqueue_logic::PriorityVia;

#if defined(EV_DISPATCH)
constexpr unsigned kOneshotFlag = EV_DISPATCH;
constexpr bool kFiredFilterStays = true;
#else
constexpr unsigned kOneshotFlag = EV_ONESHOT;
constexpr bool kFiredFilterStays = false;
#endif

// See "Priority" in kqueue_backend.h.
#if defined(__APPLE__) && defined(NOTE_OOB)
constexpr PriorityVia kPriorityVia = PriorityVia::kReadFilterNote;
constexpr std::uint32_t kNoteOob = NOTE_OOB;
#elif (defined(__OpenBSD__) || defined(__DragonFly__)) && \
    defined(EVFILT_EXCEPT) && defined(NOTE_OOB)
constexpr PriorityVia kPriorityVia = PriorityVia::kExceptFilter;
constexpr std::uint32_t kNoteOob = NOTE_OOB;
#else
constexpr PriorityVia kPriorityVia = PriorityVia::kUnsupported;
constexpr std::uint32_t kNoteOob = 0;
#endif

// `udata` is a pointer on current systems and an intptr_t on NetBSD before 10.
using Udata = decltype(std::declval<struct kevent&>().udata);
constexpr std::uint64_t kUdataMask =
    sizeof(Udata) >= sizeof(std::uint64_t)
        ? ~std::uint64_t{0}
        : (std::uint64_t{1} << (8 * sizeof(Udata))) - 1;

constexpr kqueue_logic::Platform kPlatform = {kPriorityVia, kNoteOob,
                                              kFiredFilterStays, kUdataMask};

// Templates, so that only the branch for this system's `udata` is compiled.
template <typename U = Udata>
std::uint64_t UdataBits(U udata) {
  if constexpr (std::is_pointer_v<U>) {
    return reinterpret_cast<std::uintptr_t>(udata);
  } else {
    return static_cast<std::uint64_t>(static_cast<std::uintptr_t>(udata));
  }
}

template <typename U = Udata>
U ToUdata(std::uint64_t serial) {
  const auto bits = static_cast<std::uintptr_t>(serial & kUdataMask);
  if constexpr (std::is_pointer_v<U>) {
    return reinterpret_cast<U>(bits);
  } else {
    return static_cast<U>(bits);
  }
}

int KernelFilter(Filter filter) {
  switch (filter) {
    case kqueue_logic::kWriteFilter:
      return EVFILT_WRITE;
    case kqueue_logic::kExceptFilter:
#if defined(EVFILT_EXCEPT)
      return EVFILT_EXCEPT;
#else
      return EVFILT_READ;  // Never asked for: kPriorityVia has no except here.
#endif
    default:
      return EVFILT_READ;
  }
}

Filter FilterOf(int kernel_filter) {
  if (kernel_filter == EVFILT_READ) return kqueue_logic::kReadFilter;
  if (kernel_filter == EVFILT_WRITE) return kqueue_logic::kWriteFilter;
#if defined(EVFILT_EXCEPT)
  if (kernel_filter == EVFILT_EXCEPT) return kqueue_logic::kExceptFilter;
#endif
  return kqueue_logic::kNoFilter;
}

// EV_SET's casts differ between systems (and NetBSD's do not accept nullptr
// in C++): fill the fields directly.
struct kevent MakeKevent(int fd, const Change& change) {
  unsigned flags = 0;
  const unsigned mode =
      (change.clear ? EV_CLEAR : 0u) | (change.dispatch ? kOneshotFlag : 0u);
  switch (change.action) {
    case Action::kAddEnabled:
      flags = EV_ADD | EV_ENABLE | mode;
      break;
    case Action::kAddDisabled:
      flags = EV_ADD | EV_DISABLE | mode;
      break;
    case Action::kDelete:
      flags = EV_DELETE;
      break;
    case Action::kDisable:
      flags = EV_DISABLE;
      break;
  }
  struct kevent kernel_change {};
  kernel_change.ident = static_cast<std::uintptr_t>(fd);
  kernel_change.filter =
      static_cast<decltype(kernel_change.filter)>(KernelFilter(change.filter));
  kernel_change.flags = static_cast<decltype(kernel_change.flags)>(flags);
  kernel_change.fflags =
      static_cast<decltype(kernel_change.fflags)>(change.fflags);
  kernel_change.udata = ToUdata(change.udata);
  return kernel_change;
}

KernelEvent Decode(const struct kevent& event) {
  KernelEvent decoded;
  decoded.filter = FilterOf(event.filter);
  decoded.eof = (event.flags & EV_EOF) != 0;
  decoded.error_flag = (event.flags & EV_ERROR) != 0;
  decoded.fflags = static_cast<std::uint32_t>(event.fflags);
  decoded.udata = UdataBits(event.udata);
  return decoded;
}

const char* ChangeName(const Change& change) {
  const bool deleting = change.action == Action::kDelete;
  switch (change.filter) {
    case kqueue_logic::kWriteFilter:
      return deleting ? "kevent(EVFILT_WRITE, EV_DELETE)"
                      : "kevent(EVFILT_WRITE, EV_ADD)";
    case kqueue_logic::kExceptFilter:
      return deleting ? "kevent(EVFILT_EXCEPT, EV_DELETE)"
                      : "kevent(EVFILT_EXCEPT, EV_ADD)";
    default:
      return deleting ? "kevent(EVFILT_READ, EV_DELETE)"
                      : "kevent(EVFILT_READ, EV_ADD)";
  }
}

bool IsOpen(int fd) {
  return internal::Syscall("fcntl", [&] { return ::fcntl(fd, F_GETFD); }) !=
             -1 ||
         errno != EBADF;
}

FileIdentity IdentityOf(const struct stat& info) {
  FileIdentity identity;
  identity.device = static_cast<std::uint64_t>(info.st_dev);
  identity.inode = static_cast<std::uint64_t>(info.st_ino);
  if (S_ISSOCK(info.st_mode)) {
    identity.kind = FileKind::kSocket;
  } else if (S_ISFIFO(info.st_mode)) {
    identity.kind = FileKind::kPipe;
  } else {
    identity.kind = FileKind::kOther;
  }
  return identity;
}

// Whether TCP urgent data waits unread on `fd`: priority as Linux reports it
// (EPOLLPRI while the urgent byte is unread). EINVAL: none, or already read;
// EWOULDBLOCK: announced but not arrived (tcp_usr_rcvoob).
bool UrgentByteUnread(int fd) {
  char byte;
  return internal::Syscall("recv", [&] {
           return ::recv(fd, &byte, 1, MSG_OOB | MSG_PEEK | MSG_DONTWAIT);
         }) == 1;
}

// Forks, counted in the child by a pthread_atfork handler: how a backend tells
// that it runs in a process other than the one that created its kqueue without
// a system call per operation.
std::atomic<std::uint64_t> forks_seen{0};
std::atomic<bool> forks_counted{false};

void CountFork() { forks_seen.fetch_add(1, std::memory_order_relaxed); }

void StartCountingForks() {
  static std::once_flag once;
  std::call_once(once, [] {
    forks_counted.store(::pthread_atfork(nullptr, nullptr, &CountFork) == 0);
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> KqueueBackend::Create() {
  StartCountingForks();
#if defined(KQUEUE_CLOEXEC)
  constexpr const char* kCreateName = "kqueuex";
  const int kqueue_fd =
      internal::Syscall(kCreateName, [] { return ::kqueuex(KQUEUE_CLOEXEC); });
#elif defined(__NetBSD__)
  constexpr const char* kCreateName = "kqueue1";
  const int kqueue_fd =
      internal::Syscall(kCreateName, [] { return ::kqueue1(O_CLOEXEC); });
#else
  constexpr const char* kCreateName = "kqueue";
  const int kqueue_fd =
      internal::Syscall(kCreateName, [] { return ::kqueue(); });
#endif
  if (kqueue_fd < 0) return internal::ErrnoToStatus(errno, kCreateName);
  // Owns the descriptor from here: every return below closes it on failure.
  std::unique_ptr<KqueuePoller> backend(new KqueuePoller(kqueue_fd));
#if !defined(KQUEUE_CLOEXEC) && !defined(__NetBSD__) && !defined(__APPLE__)
  if (internal::Syscall("fcntl", [&] {
        return ::fcntl(kqueue_fd, F_SETFD, FD_CLOEXEC);
      }) == -1) {
    return internal::ErrnoToStatus(errno, "fcntl(F_SETFD, FD_CLOEXEC)",
                                   kqueue_fd);
  }
#endif
  absl::StatusOr<internal::KqueueWaker> waker =
      internal::KqueueWaker::Create(kqueue_fd);
  if (!waker.ok()) return waker.status();
  backend->waker_.emplace(*std::move(waker));
  return std::unique_ptr<Backend>(std::move(backend));
}

KqueuePoller::KqueuePoller(int kqueue_fd)
    : kqueue_fd_(kqueue_fd),
      creator_pid_(::getpid()),
      forks_at_create_(forks_seen.load(std::memory_order_relaxed)),
      kernel_events_(new struct kevent[kMaxKernelEvents]),
      silence_changes_(new struct kevent[kMaxSilenceChanges]),
      silence_receipts_(new struct kevent[kMaxSilenceChanges]) {}

KqueuePoller::~KqueuePoller() {
  // In a forked child the number names no kqueue, or a file the child opened
  // since: closing it would close that file.
  if (InCreatorProcess()) ::close(kqueue_fd_);
}

bool KqueuePoller::InCreatorProcess() const {
  if (forks_counted.load(std::memory_order_relaxed)) {
    return forks_seen.load(std::memory_order_relaxed) == forks_at_create_;
  }
  return ::getpid() == creator_pid_;
}

absl::Status KqueuePoller::NotCreatorProcess(const char* operation) const {
  return absl::FailedPreconditionError(absl::StrCat(
      operation, " fd ", kqueue_fd_,
      ": this poller's kqueue belongs to process ", creator_pid_,
      ", not to process ", ::getpid(),
      " (a kqueue is not inherited by fork()): create a new Poller in this "
      "process"));
}

bool KqueuePoller::SupportsMode(Mode) const { return true; }

bool KqueuePoller::ApplyChanges(struct kevent* changes, int count,
                                struct kevent* receipts, int* errors) {
  const struct timespec no_wait = {0, 0};
#if defined(EV_RECEIPT)
  // Every change returns a receipt (EV_ERROR with its errno, or 0, in `data`)
  // in order, and the kernel collects no events into the receipt buffer.
  for (int i = 0; i < count; ++i) changes[i].flags |= EV_RECEIPT;
  const int got = internal::Syscall("kevent", [&] {
    return ::kevent(kqueue_fd_, changes, count, receipts, count, &no_wait);
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
      return ::kevent(kqueue_fd_, &changes[i], 1, nullptr, 0, &no_wait);
    });
    if (errors != nullptr) errors[i] = result < 0 ? errno : 0;
  }
#endif
  return true;
}

absl::Status KqueuePoller::Apply(const char* operation, int fd,
                                 const Registration& old,
                                 Registration& registration, bool* forget) {
  Change changes[kqueue_logic::kMaxChanges];
  const int count =
      kqueue_logic::PlanChanges(old, registration, kPlatform, changes);
  struct kevent kernel_changes[kqueue_logic::kMaxChanges];
  for (int i = 0; i < count; ++i) {
    kernel_changes[i] = MakeKevent(fd, changes[i]);
  }
  struct kevent receipts[kqueue_logic::kMaxChanges];
  int errors[kqueue_logic::kMaxChanges];
  absl::Status status;
  kqueue_logic::Undo undo;
  if (!ApplyChanges(kernel_changes, count, receipts, errors)) {
    status = internal::ErrnoToStatus(errno, operation, fd);
    undo = kqueue_logic::PlanUndo(old, registration, changes, nullptr, count,
                                  kPlatform);
  } else {
    const kqueue_logic::ApplyOutcome outcome =
        kqueue_logic::ApplyAnswers(old.filters, changes, errors, count);
    if (outcome.failed < 0) {
      registration.filters = outcome.filters;
      registration.write_peer_gone = outcome.write_peer_gone;
      *forget = false;
      return absl::OkStatus();
    }
    const int error = errors[outcome.failed];
    const char* name = ChangeName(changes[outcome.failed]);
    if (error == EINVAL && fd == kqueue_fd_) {
      status =
          internal::ErrnoToStatus(absl::StatusCode::kInvalidArgument, error,
                                  name, fd, "a poller cannot watch itself");
    } else {
      status = internal::ErrnoToStatus(error, name, fd);
    }
    undo = kqueue_logic::PlanUndo(old, registration, changes, errors, count,
                                  kPlatform);
  }
  // Refused, wholly or in part: put back what the accepted changes did, so
  // the kernel's filters carry `old`'s serial, flags and arm again.
  int undo_errors[kqueue_logic::kMaxChanges];
  if (undo.count > 0) {
    struct kevent undo_changes[kqueue_logic::kMaxChanges];
    for (int i = 0; i < undo.count; ++i) {
      undo_changes[i] = MakeKevent(fd, undo.changes[i]);
    }
    if (!ApplyChanges(undo_changes, undo.count, receipts, undo_errors)) {
      std::fill_n(undo_errors, undo.count, errno);
    }
  }
  const kqueue_logic::Restored restored =
      kqueue_logic::AfterUndo(undo, undo_errors);
  registration = restored.registration;
  *forget = restored.forget;
  return status;
}

void KqueuePoller::UpdateSynthetic(int fd, Registration& registration) {
  registration.synthetic_due =
      kqueue_logic::SyntheticDueAfterChange(registration);
  if (registration.synthetic_due) {
    synthetic_.insert(fd);
  } else {
    synthetic_.erase(fd);
  }
  synthetic_pending_.store(!synthetic_.empty(), std::memory_order_release);
  // A Wait blocked in the kernel would not see the report: end it.
  if (registration.synthetic_due) (void)waker_->Wake();
}

absl::Status KqueuePoller::Add(NativeHandle handle, Token token,
                               Interest interest, Mode mode) {
  if (!InCreatorProcess()) return NotCreatorProcess("kevent(EV_ADD)");
  if (waker_->OwnsDescriptor(handle)) {
    return internal::OwnWakeDescriptorError(internal::Operation::kAdd, handle);
  }
  if (handle == kqueue_fd_) {
    return internal::WatchesItselfError(handle);
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
  const FileIdentity file = IdentityOf(info);

  std::lock_guard<std::mutex> lock(mutex_);
  auto existing = registrations_.find(handle);
  if (existing != registrations_.end()) {
    // Asked of fstat, not of the kernel's filters: any change to an existing
    // filter re-evaluates it and can queue an event (item 7 of the header).
    if (kqueue_logic::SameFile(existing->second.file, file)) {
      return internal::AlreadyRegisteredError(handle);
    }
    // Closed without Delete, and the number reused: closing removed its
    // filters.
    registrations_.erase(existing);
    synthetic_.erase(handle);
  }
  Registration nothing;
  Registration registration;
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  registration.file = file;
  registration.serial = ++serial_;
  bool forget = false;
  // A failed Add leaves nothing behind: Apply deletes the filters that did go
  // in.
  absl::Status applied =
      Apply("kevent(EV_ADD)", handle, nothing, registration, &forget);
  if (!applied.ok()) return applied;
  Registration& added =
      registrations_.emplace(handle, registration).first->second;
  UpdateSynthetic(handle, added);
  return absl::OkStatus();
}

absl::Status KqueuePoller::Modify(NativeHandle handle, Token token,
                                  Interest interest, Mode mode) {
  return ChangeRegistration(internal::Operation::kModify, handle, token,
                            interest, mode);
}

absl::Status KqueuePoller::Rearm(NativeHandle handle) {
  return ChangeRegistration(internal::Operation::kRearm, handle, 0,
                            Interest::kNone, Mode::kOneshot);
}

absl::Status KqueuePoller::ChangeRegistration(internal::Operation operation,
                                              NativeHandle handle, Token token,
                                              Interest interest, Mode mode) {
  if (!InCreatorProcess()) return NotCreatorProcess("kevent(EV_ADD)");
  if (waker_->OwnsDescriptor(handle)) {
    return internal::OwnWakeDescriptorError(operation, handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    if (!IsOpen(handle)) {
      return internal::ErrnoToStatus(EBADF, "fcntl(F_GETFD)", handle);
    }
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
  // Written to the table only once the kernel took every change: a refused
  // change list leaves the registration as it was, in the table and (Apply
  // puts back what was accepted) in the kernel, so its events keep their
  // current serial and token.
  Registration changed = registration;
  changed.token = token;
  changed.interest = interest;
  changed.mode = mode;
  changed.serial = ++serial_;
  changed.armed = true;
  bool forget = false;
  absl::Status applied =
      Apply("kevent(EV_ADD)", handle, registration, changed, &forget);
  if (forget) {
    // The kernel holds nothing for it any more (its descriptor was closed).
    registrations_.erase(found);
    synthetic_.erase(handle);
    synthetic_pending_.store(!synthetic_.empty(), std::memory_order_release);
    return applied;
  }
  registration = changed;
  // A refused change keeps the report the backend owed it, no more.
  if (applied.ok()) UpdateSynthetic(handle, registration);
  return applied;
}

absl::Status KqueuePoller::Delete(NativeHandle handle) {
  if (!InCreatorProcess()) return NotCreatorProcess("kevent(EV_DELETE)");
  if (waker_->OwnsDescriptor(handle)) {
    return internal::OwnWakeDescriptorError(internal::Operation::kDelete,
                                            handle);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    if (!IsOpen(handle)) {
      return internal::ErrnoToStatus(EBADF, "fcntl(F_GETFD)", handle);
    }
    return internal::NotRegisteredError(handle);
  }
  const Registration& registration = found->second;
  Change changes[3];
  struct kevent kernel_changes[3];
  int count = 0;
  for (const Filter filter : kqueue_logic::kEveryFilter) {
    if ((registration.filters & filter) == 0) continue;
    changes[count].filter = filter;
    changes[count].action = Action::kDelete;
    kernel_changes[count] = MakeKevent(handle, changes[count]);
    ++count;
  }
  const bool kernel_holds_nothing = count == 0;
  if (kernel_holds_nothing) {
    // A pipe whose reader was gone at Add, or oneshot filters EV_ONESHOT
    // deleted as they fired.
    registrations_.erase(found);
    synthetic_.erase(handle);
    synthetic_pending_.store(!synthetic_.empty(), std::memory_order_release);
    return absl::OkStatus();
  }
  struct kevent receipts[3];
  int errors[3];
  if (!ApplyChanges(kernel_changes, count, receipts, errors)) {
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
  synthetic_.erase(handle);
  synthetic_pending_.store(!synthetic_.empty(), std::memory_order_release);
  if (deleted) return absl::OkStatus();
  return internal::ErrnoToStatus(
      absl::StatusCode::kNotFound, gone_error, "kevent(EV_DELETE)", handle,
      "the descriptor was closed before Delete, which removed its "
      "registration");
}

void KqueuePoller::QueueSilence(int fd, const Registration& registration,
                                FilterSet silence) {
  if (silence == kqueue_logic::kNoFilter) return;
  if (silence_count_ + 3 > kMaxSilenceChanges) FlushSilence();
  Change changes[3];
  const int count =
      kqueue_logic::SilenceChanges(registration, silence, kPlatform, changes);
  for (int i = 0; i < count; ++i) {
    silence_changes_[silence_count_++] = MakeKevent(fd, changes[i]);
  }
}

void KqueuePoller::FlushSilence() {
  // Failures (ENOENT: closed meanwhile) leave nothing to silence.
  if (silence_count_ > 0) {
    ApplyChanges(silence_changes_.get(), silence_count_,
                 silence_receipts_.get(), nullptr);
  }
  silence_count_ = 0;
}

void KqueuePoller::ReportKernelEventsLocked(int kept, absl::Span<Event> events,
                                            WaitResult& result) {
  for (int i = 0; i < kept;) {
    const std::uintptr_t ident = kernel_events_[i].ident;
    const std::uint64_t udata = UdataBits(kernel_events_[i].udata);
    const int first = i;
    while (i < kept && kernel_events_[i].ident == ident &&
           UdataBits(kernel_events_[i].udata) == udata) {
      ++i;
    }
    const int fd = static_cast<int>(ident);
    auto found = registrations_.find(fd);
    // Deleted while its events were in flight: once Delete has returned, no
    // Wait reports the handle.
    if (found == registrations_.end()) continue;
    Registration& registration = found->second;
    Readiness readiness = Readiness::kNone;
    FilterSet fired = kqueue_logic::kNoFilter;
    for (int j = first; j < i; ++j) {
      const KernelEvent event = Decode(kernel_events_[j]);
      if (!kqueue_logic::IsCurrent(event, registration, kPlatform)) break;
      readiness |= kqueue_logic::ReadinessOf(event, registration, kPlatform);
      fired |= event.filter;
    }
    if (fired == kqueue_logic::kNoFilter) continue;  // Not current: dropped.
    if ((readiness & Readiness::kPriority) != Readiness::kNone &&
        kqueue_logic::PriorityNeedsConfirmation(kPlatform) &&
        !UrgentByteUnread(fd)) {
      readiness = Without(readiness, Readiness::kPriority);
    }
    const bool merged_synthetic = registration.synthetic_due;
    if (merged_synthetic) {
      readiness |= kqueue_logic::SyntheticReadiness(registration);
    }
    if (readiness == Readiness::kNone) continue;
    const kqueue_logic::Delivery delivery =
        kqueue_logic::Deliver(registration, fired, kPlatform);
    QueueSilence(fd, registration, delivery.silence);
    if (!delivery.report) continue;
    if (merged_synthetic) {
      registration.synthetic_due =
          kqueue_logic::SyntheticDueAfterReport(registration);
    }
    registration.reported_in_wait = wait_sequence_;
    events[result.count++] = Event(registration.token, readiness);
  }
}

void KqueuePoller::ReportSyntheticLocked(absl::Span<Event> events,
                                         WaitResult& result) {
  for (auto it = synthetic_.begin(); it != synthetic_.end();) {
    if (result.count == events.size()) break;
    const int fd = *it;
    auto found = registrations_.find(fd);
    if (found == registrations_.end() || !found->second.synthetic_due) {
      synthetic_.erase(it++);
      continue;
    }
    Registration& registration = found->second;
    if (registration.reported_in_wait == wait_sequence_) {
      ++it;  // Merged with its kernel events above.
      continue;
    }
    const Readiness readiness = kqueue_logic::SyntheticReadiness(registration);
    const kqueue_logic::Delivery delivery =
        kqueue_logic::Deliver(registration, kqueue_logic::kNoFilter, kPlatform);
    QueueSilence(fd, registration, delivery.silence);
    registration.synthetic_due =
        delivery.report && kqueue_logic::SyntheticDueAfterReport(registration);
    if (delivery.report && readiness != Readiness::kNone) {
      registration.reported_in_wait = wait_sequence_;
      events[result.count++] = Event(registration.token, readiness);
    }
    if (registration.synthetic_due) {
      ++it;
    } else {
      synthetic_.erase(it++);
    }
  }
}

absl::StatusOr<WaitResult> KqueuePoller::Wait(absl::Span<Event> events,
                                              absl::Duration timeout) {
  if (!InCreatorProcess()) return NotCreatorProcess("kevent");
  WaitResult result;
  // A report the backend owes itself (see synthetic_) must not wait.
  if (synthetic_pending_.load(std::memory_order_acquire)) {
    timeout = absl::ZeroDuration();
  }
  struct timespec timespec;
  const bool finite = internal::TimeoutToTimespec(timeout, &timespec);
  const int max_events =
      static_cast<int>(std::min<size_t>(events.size(), kMaxKernelEvents));
  const int count = internal::KernelWait("kevent", [&] {
    return ::kevent(kqueue_fd_, nullptr, 0, kernel_events_.get(), max_events,
                    finite ? &timespec : nullptr);
  });
  if (count < 0) {
    if (errno == EINTR) {
      result.interrupted = true;
      return result;
    }
    return internal::ErrnoToStatus(errno, "kevent", kqueue_fd_);
  }

  int kept = 0;
  for (int i = 0; i < count; ++i) {
    if (waker_->IsWakeEvent(kernel_events_[i])) {
      result.woken = true;
      continue;
    }
    kernel_events_[kept++] = kernel_events_[i];
  }
  if (result.woken) waker_->Consume();
  if (kept == 0 && !synthetic_pending_.load(std::memory_order_acquire)) {
    return result;
  }

  // The filters of one registration are separate kernel events: bring those
  // taken from one version of it together (std::sort does not allocate).
  std::sort(kernel_events_.get(), kernel_events_.get() + kept,
            [](const struct kevent& a, const struct kevent& b) {
              if (a.ident != b.ident) return a.ident < b.ident;
              return UdataBits(a.udata) < UdataBits(b.udata);
            });

  // Every decision below is taken from the table as it is now, after the
  // kernel answered, under the lock Add, Modify and Delete hold across their
  // own kevent calls.
  std::lock_guard<std::mutex> lock(mutex_);
  ++wait_sequence_;
  ReportKernelEventsLocked(kept, events, result);
  // What the kernel cannot report (see synthetic_), within the room left.
  ReportSyntheticLocked(events, result);
  synthetic_pending_.store(!synthetic_.empty(), std::memory_order_release);
  FlushSilence();
  return result;
}

absl::Status KqueuePoller::Wake() {
  if (!InCreatorProcess()) {
    return NotCreatorProcess("kevent(EVFILT_USER, NOTE_TRIGGER)");
  }
  return waker_->Wake();
}

}  // namespace poller
