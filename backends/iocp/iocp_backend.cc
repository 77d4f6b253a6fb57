// Copyright 2026 The poller Authors.
//
// The IOCP backend. Why every registration keeps a request with the driver,
// and how, is at the top of afd.h; iocp_backend.h says what it promises.

#include "backends/iocp/iocp_backend.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/iocp/afd.h"
#include "poller/internal/registration_errors.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

using namespace ::poller::iocp_internal;  // NOLINT(build/namespaces)

class IocpPoller final : public Backend {
 public:
  IocpPoller(const Ntdll& ntdll, WinsockUse winsock, ScopedHandle port)
      : ntdll_(ntdll),
        winsock_(std::move(winsock)),
        port_(std::move(port)),
        helpers_(ntdll, port_.get(), kAfdKey) {}
  ~IocpPoller() override;

  // The allocations Create checks; false if one failed.
  bool Allocated() {
    packets_.reset(new (std::nothrow) OVERLAPPED_ENTRY[kMaxPackets]);
    held_.reset(new (std::nothrow) Registration*[kMaxPackets]);
    reap_packets_.reset(new (std::nothrow) OVERLAPPED_ENTRY[kMaxPackets]);
    return packets_ != nullptr && held_ != nullptr && reap_packets_ != nullptr;
  }
  // Opens the first helper handle, so that Create fails when there is none.
  absl::Status OpenFirstHelper() {
    absl::StatusOr<HANDLE> helper = helpers_.Acquire();
    if (!helper.ok()) return helper.status();
    helpers_.Release(*helper);  // The last one stays open.
    return absl::OkStatus();
  }

  absl::string_view name() const override { return IocpBackend::kName; }
  bool SupportsMode(Mode mode) const override { return mode != Mode::kEdge; }
  // GetQueuedCompletionStatusEx takes whole milliseconds (iocp_backend.h).
  absl::Duration timeout_resolution() const override {
    return absl::Milliseconds(1);
  }
  absl::Status Add(NativeHandle handle, Token token, Interest interest,
                   Mode mode) override;
  absl::Status Modify(NativeHandle handle, Token token, Interest interest,
                      Mode mode) override;
  absl::Status Rearm(NativeHandle handle) override;
  absl::Status Delete(NativeHandle handle) override;
  absl::StatusOr<WaitResult> Wait(absl::Span<Event> events,
                                  absl::Duration timeout) override;
  absl::Status Wake() override;

 private:
  enum class RequestState : std::uint8_t {
    kIdle,       // No poll request: queued for one, or it failed.
    kPending,    // A request is with the driver.
    kCancelled,  // Cancelled; its packet has not arrived yet.
  };

  struct Registration {
    // Written by the driver while a request is pending: the registration is
    // never moved, and freed only when no request is.
    IO_STATUS_BLOCK io_status;
    AfdPollInfo poll_info;
    NativeHandle socket;
    HANDLE base_socket;
    HANDLE helper;
    Token token;
    Registration* next_queued = nullptr;
    Registration* next_watched = nullptr;
    // The events of the request in flight, LOCAL_CLOSE aside.
    ULONG requested_events = 0;
    // Events the socket was last seen to have: a level registration's watch
    // leaves them out.
    ULONG known_events = 0;
    Interest interest;
    Mode mode;
    RequestState state = RequestState::kIdle;
    // Oneshot modes: the next event may be reported. Always true for kLevel.
    bool armed = true;
    // Deleted while a request was pending: freed when its packet arrives.
    bool deleted = false;
    // Queued for its full request, which the next Wait (or pass) issues.
    bool queued = false;
    // On the list of level watches the next Wait refreshes.
    bool listed = false;
    // Its packet is in held_: the request is over.
    bool held = false;
  };
  static_assert(sizeof(Registration) <= 128, "the header promises 128 bytes");

  ULONG Wanted(const Registration& registration) const {
    return registration.armed ? WantedEvents(registration.interest) : 0;
  }
  // Whether the pending request leaves out events now wanted (a watch, or
  // the request of a narrower interest).
  bool Narrower(const Registration& registration) const {
    return (Wanted(registration) & ~registration.requested_events) != 0;
  }

  absl::Status ChangeLocked(Registration& registration, Token token,
                            Interest interest, Mode mode);
  // Issues `events` (its full request, or a watch) with LOCAL_CLOSE. On
  // failure the registration is idle. Requires mutex_.
  absl::Status Issue(Registration& registration, ULONG events);
  // The full request, or the LOCAL_CLOSE-only watch when nothing is wanted.
  absl::Status IssueFull(Registration& registration) {
    return Issue(registration, Wanted(registration));
  }
  absl::Status Cancel(Registration& registration);
  void Complete(Registration& registration, absl::Span<Event> events,
                WaitResult& result);
  void Queue(Registration& registration);
  // Takes a registration off the queue and the list of watches.
  void Unlink(Registration& registration);
  // Forgets a registration with no request pending. Requires mutex_.
  void Forget(Registration& registration);
  // A deleted registration of the socket `base` whose cancelled request may
  // still be with the driver (its packet has not been taken), or null.
  Registration* Predecessor(HANDLE base) const;
  // Issues the queued full requests that can be issued. Returns the first
  // failure (the registration stays queued); sets *issued if any went out.
  absl::Status IssueQueued(bool* issued);
  // Cancels the watches of level registrations that reported (see the design
  // comment), so that the next packets bring their full requests.
  void RefreshWatches();
  // Takes packets off the port, without waiting, until `wanted`'s arrives or
  // none is left, and keeps them in held_ for Wait. Returns whether `wanted`'s
  // was among them. Requires mutex_.
  absl::StatusOr<bool> Reap(Registration& wanted);
  // Turns the packets Reap kept into events. Requires mutex_.
  void CompleteHeld(absl::Span<Event> events, WaitResult& result);

  const Ntdll& ntdll_;
  WinsockUse winsock_;
  ScopedHandle port_;

  std::mutex mutex_;
  // Guarded by mutex_.
  AfdHelpers helpers_;
  std::unordered_map<NativeHandle, std::unique_ptr<Registration>>
      registrations_;
  // Deleted, with a cancelled request whose packet has not come yet.
  std::unordered_set<Registration*> deleted_;
  Registration* queue_head_ = nullptr;
  Registration* watched_head_ = nullptr;
  // Packets Reap took off the port, and whether one of them was a wake.
  std::unique_ptr<Registration*[]> held_;
  std::unique_ptr<OVERLAPPED_ENTRY[]> reap_packets_;
  ULONG held_count_ = 0;
  bool held_wake_ = false;

  // Only touched inside Wait, which Poller serializes, and the destructor.
  std::unique_ptr<OVERLAPPED_ENTRY[]> packets_;
};

absl::Status IocpPoller::Issue(Registration& registration, ULONG events) {
  AfdPollInfo& info = registration.poll_info;
  info.timeout.QuadPart = INT64_MAX;
  info.number_of_handles = 1;
  info.exclusive = FALSE;
  info.handles[0].handle = registration.base_socket;
  info.handles[0].events = events | kAfdPollLocalClose;
  info.handles[0].status = 0;
  registration.io_status.Status = kStatusPending;
  registration.io_status.Information = 0;
  CallError error;
  if (!WindowsCall("NtDeviceIoControlFile", &error, [&]() -> unsigned long {
        const NTSTATUS status = ntdll_.device_io_control_file(
            registration.helper, nullptr, nullptr, &registration,
            &registration.io_status, kIoctlAfdPoll, &info, sizeof(info), &info,
            sizeof(info));
        if (!IsNtError(status)) return 0;
        error.nt_status = status;
        return NtStatusToWindowsError(ntdll_, status);
      })) {
    registration.state = RequestState::kIdle;
    if (IsNotASocket(error.error_number)) {
      return HandleFailure(error, "NtDeviceIoControlFile(IOCTL_AFD_POLL)",
                           registration.socket, kSocketsOnly,
                           absl::StatusCode::kInvalidArgument);
    }
    return HandleFailure(error, "NtDeviceIoControlFile(IOCTL_AFD_POLL)",
                         registration.socket);
  }
  registration.state = RequestState::kPending;
  registration.requested_events = events;
  return absl::OkStatus();
}

absl::Status IocpPoller::Cancel(Registration& registration) {
  IO_STATUS_BLOCK cancel_status{};
  CallError error;
  if (!WindowsCall("NtCancelIoFileEx", &error, [&]() -> unsigned long {
        const NTSTATUS status = ntdll_.cancel_io_file_ex(
            registration.helper, &registration.io_status, &cancel_status);
        // Not found: the request completed and its packet is queued.
        if (!IsNtError(status) || status == kStatusNotFound) return 0;
        error.nt_status = status;
        return NtStatusToWindowsError(ntdll_, status);
      })) {
    return HandleFailure(error, "NtCancelIoFileEx", registration.socket);
  }
  registration.state = RequestState::kCancelled;
  return absl::OkStatus();
}

void IocpPoller::Queue(Registration& registration) {
  if (registration.queued) return;
  registration.queued = true;
  registration.next_queued = queue_head_;
  queue_head_ = &registration;
}

void IocpPoller::Unlink(Registration& registration) {
  if (registration.queued) {
    Registration** link = &queue_head_;
    while (*link != &registration) link = &(*link)->next_queued;
    *link = registration.next_queued;
  }
  if (registration.listed) {
    Registration** link = &watched_head_;
    while (*link != &registration) link = &(*link)->next_watched;
    *link = registration.next_watched;
  }
  registration.queued = false;
  registration.listed = false;
}

void IocpPoller::Forget(Registration& registration) {
  Unlink(registration);
  helpers_.Release(registration.helper);
  registrations_.erase(registration.socket);
}

IocpPoller::Registration* IocpPoller::Predecessor(HANDLE base) const {
  for (Registration* deleted : deleted_) {
    if (deleted->base_socket == base && !deleted->held) return deleted;
  }
  return nullptr;
}

absl::Status IocpPoller::IssueQueued(bool* issued) {
  absl::Status first_failure = absl::OkStatus();
  Registration** link = &queue_head_;
  while (*link != nullptr) {
    Registration& registration = **link;
    if (Predecessor(registration.base_socket) != nullptr) {
      link = &registration.next_queued;
      continue;
    }
    absl::Status status = IssueFull(registration);
    // Any failure but a socket that is gone leaves it queued: the caller
    // reports the error, and the next Wait tries again.
    if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) {
      if (first_failure.ok()) first_failure = status;
      link = &registration.next_queued;
      continue;
    }
    *link = registration.next_queued;
    registration.next_queued = nullptr;
    registration.queued = false;
    if (!status.ok()) {
      // Closed without Delete (the handle is no socket now): as for
      // AFD_POLL_LOCAL_CLOSE.
      Forget(registration);
    } else {
      *issued = true;
    }
  }
  return first_failure;
}

void IocpPoller::RefreshWatches() {
  Registration* registration = std::exchange(watched_head_, nullptr);
  while (registration != nullptr) {
    Registration* next = std::exchange(registration->next_watched, nullptr);
    registration->listed = false;
    if (!registration->deleted &&
        registration->state == RequestState::kPending &&
        Narrower(*registration) && !Cancel(*registration).ok()) {
      // Still watched: the next Wait tries again.
      registration->listed = true;
      registration->next_watched = watched_head_;
      watched_head_ = registration;
    }
    registration = next;
  }
}

absl::StatusOr<bool> IocpPoller::Reap(Registration& wanted) {
  bool took = false;
  while (!wanted.held && held_count_ < kMaxPackets) {
    const ULONG room = kMaxPackets - held_count_;
    ULONG removed = 0;
    CallError error;
    if (!WindowsCall("GetQueuedCompletionStatusEx", &error,
                     [&]() -> unsigned long {  // NOLINT(runtime/int)
                       if (::GetQueuedCompletionStatusEx(
                               port_.get(), reap_packets_.get(), room, &removed,
                               0, FALSE)) {
                         return 0;
                       }
                       removed = 0;
                       const DWORD failure = ::GetLastError();
                       return failure == WAIT_TIMEOUT ? 0 : failure;
                     })) {
      break;  // Nothing learned.
    }
    for (ULONG i = 0; i < removed; ++i) {
      const OVERLAPPED_ENTRY& packet = reap_packets_[i];
      took = true;
      if (packet.lpCompletionKey == kWakeKey) {
        held_wake_ = true;
      } else if (packet.lpCompletionKey == kAfdKey &&
                 packet.lpOverlapped != nullptr) {
        auto* owner = reinterpret_cast<Registration*>(packet.lpOverlapped);
        owner->held = true;
        held_[held_count_++] = owner;
      }
    }
    if (removed < room) break;  // The port is empty.
  }
  if (took) {
    // A Wait blocked on the port may have lost those packets to this thread:
    // this one makes it take them from held_.
    CallError error;
    if (!WindowsCall("PostQueuedCompletionStatus", &error,
                     [&]() -> unsigned long {  // NOLINT(runtime/int)
                       return ::PostQueuedCompletionStatus(port_.get(), 0,
                                                           kHeldKey, nullptr)
                                  ? 0
                                  : ::GetLastError();
                     })) {
      return Failure(error, "PostQueuedCompletionStatus");
    }
  }
  return wanted.held;
}

void IocpPoller::CompleteHeld(absl::Span<Event> events, WaitResult& result) {
  if (std::exchange(held_wake_, false)) result.woken = true;
  ULONG taken = 0;
  // No more than `events` holds, one event each at most; the rest wait.
  while (taken < held_count_ && result.count < events.size()) {
    Complete(*held_[taken++], events, result);
  }
  std::copy(held_.get() + taken, held_.get() + held_count_, held_.get());
  held_count_ -= taken;
}

absl::Status IocpPoller::Add(NativeHandle handle, Token token,
                             Interest interest, Mode mode) {
  if (handle == INVALID_SOCKET) {
    return internal::InvalidHandleError(-1);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found != registrations_.end()) {
    // Closed without Delete, and the value reused? The closed socket's packet
    // says so if it is queued already: then the registration goes now.
    Registration& old = *found->second;
    if (old.state != RequestState::kIdle) {
      absl::StatusOr<bool> reaped = Reap(old);
      if (!reaped.ok()) return reaped.status();
      if (*reaped && old.io_status.Status != kStatusCancelled &&
          !IsNtError(old.io_status.Status) &&
          old.poll_info.number_of_handles >= 1 &&
          (old.poll_info.handles[0].events & kAfdPollLocalClose)) {
        *std::find(held_.get(), held_.get() + held_count_, &old) =
            held_[held_count_ - 1];
        --held_count_;
        old.state = RequestState::kIdle;
        Forget(old);
      }
    }
    if (registrations_.count(handle) > 0) {
      return internal::AlreadyRegisteredError(static_cast<int>(handle));
    }
  }
  absl::StatusOr<HANDLE> base = BaseSocket(handle);
  if (!base.ok()) return base.status();
  // Deleted a moment ago, its cancelled request perhaps still with the
  // driver? One request per socket at a time (see the design comment): its
  // packet is taken first if it is there, else the new request waits for it.
  bool deferred = false;
  if (Registration* predecessor = Predecessor(*base)) {
    absl::StatusOr<bool> reaped = Reap(*predecessor);
    if (!reaped.ok()) return reaped.status();
    deferred = !*reaped;
  }
  absl::StatusOr<HANDLE> helper = helpers_.Acquire();
  if (!helper.ok()) return helper.status();
  std::unique_ptr<Registration> created(new (std::nothrow) Registration());
  if (created == nullptr) {
    helpers_.Release(*helper);
    return absl::ResourceExhaustedError(
        absl::StrCat("fd ", handle, ": out of memory for its registration"));
  }
  Registration& registration = *created;
  registration.socket = handle;
  registration.base_socket = *base;
  registration.helper = *helper;
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  registrations_.emplace(handle, std::move(created));
  if (deferred) {
    // Issued by the Wait that collects the predecessor's packet.
    Queue(registration);
    return absl::OkStatus();
  }
  absl::Status issued = IssueFull(registration);
  if (!issued.ok()) Forget(registration);
  return issued;
}

absl::Status IocpPoller::Modify(NativeHandle handle, Token token,
                                Interest interest, Mode mode) {
  if (handle == INVALID_SOCKET) {
    return internal::InvalidHandleError(-1);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    return internal::NotRegisteredError(static_cast<int>(handle));
  }
  return ChangeLocked(*found->second, token, interest, mode);
}

absl::Status IocpPoller::Rearm(NativeHandle handle) {
  if (handle == INVALID_SOCKET) {
    return internal::InvalidHandleError(-1);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    return internal::NotRegisteredError(static_cast<int>(handle));
  }
  Registration& registration = *found->second;
  if (!IsOneshot(registration.mode)) {
    return internal::NotOneshotError(handle, registration.mode);
  }
  return ChangeLocked(registration, registration.token, registration.interest,
                      registration.mode);
}

absl::Status IocpPoller::ChangeLocked(Registration& registration, Token token,
                                      Interest interest, Mode mode) {
  // Restored if the change fails, so that Modify can be retried.
  const Token old_token = registration.token;
  const Interest old_interest = registration.interest;
  const Mode old_mode = registration.mode;
  const bool old_armed = registration.armed;
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  registration.armed = true;
  absl::Status changed = absl::OkStatus();
  switch (registration.state) {
    case RequestState::kIdle:
      // A queued one is issued by the next Wait, with these settings.
      if (!registration.queued) changed = IssueFull(registration);
      break;
    case RequestState::kPending:
      // A watch, or a request for less than is now wanted: cancelled, and
      // the Wait that collects its packet issues the full request. One that
      // covers the new interest stays (its completion is filtered by it).
      if (Narrower(registration)) changed = Cancel(registration);
      break;
    case RequestState::kCancelled:
      // The next request is issued when the packet arrives.
      break;
  }
  if (!changed.ok()) {
    registration.token = old_token;
    registration.interest = old_interest;
    registration.mode = old_mode;
    registration.armed = old_armed;
  }
  return changed;
}

absl::Status IocpPoller::Delete(NativeHandle handle) {
  if (handle == INVALID_SOCKET) {
    return internal::InvalidHandleError(-1);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    return internal::NotRegisteredError(static_cast<int>(handle));
  }
  Registration& registration = *found->second;
  switch (registration.state) {
    case RequestState::kIdle:
      Forget(registration);
      return absl::OkStatus();
    case RequestState::kPending: {
      absl::Status cancelled = Cancel(registration);
      if (!cancelled.ok()) return cancelled;
      break;
    }
    case RequestState::kCancelled:
      break;
  }
  // Freed when its packet arrives; RefreshWatches skips it meanwhile.
  deleted_.insert(&registration);
  registration.deleted = true;
  found->second.release();
  registrations_.erase(found);
  return absl::OkStatus();
}

void IocpPoller::Complete(Registration& registration, absl::Span<Event> events,
                          WaitResult& result) {
  registration.state = RequestState::kIdle;
  registration.held = false;
  if (registration.deleted) {
    // Deleted during this Wait, it may have been watched since its start.
    Unlink(registration);
    deleted_.erase(&registration);
    helpers_.Release(registration.helper);
    delete &registration;
    return;
  }
  ULONG happened = 0;
  const NTSTATUS status = registration.io_status.Status;
  if (status == kStatusCancelled) {
    // Cancelled by Modify, Rearm or RefreshWatches: nothing happened.
  } else if (IsNtError(status)) {
    // The request itself failed: say so as an error on the socket.
    happened = kAfdPollConnectFail;
  } else if (registration.poll_info.number_of_handles >= 1) {
    happened = registration.poll_info.handles[0].events;
  }
  if (happened & kAfdPollLocalClose) {
    // Closed without Delete (see iocp_backend.h): the SOCKET value may be
    // reused by the next socket, so the registration must not outlive it.
    Forget(registration);
    return;
  }
  if (status == kStatusCancelled || Narrower(registration)) {
    // A watch (or a narrower request) that completed or was cancelled: its
    // events are not all the socket has. The full request goes out in this
    // Wait, and reports.
    Queue(registration);
    return;
  }
  if (registration.armed) {
    const Readiness readiness = ToReadiness(happened, registration.interest);
    // Wait takes no more packets than `events` holds, one event each at most.
    if (readiness != Readiness::kNone && result.count < events.size()) {
      events[result.count++] = Event(registration.token, readiness);
      if (IsOneshot(registration.mode)) registration.armed = false;
    }
  }
  const ULONG seen = happened & Wanted(registration);
  if (registration.mode != Mode::kLevel || seen == 0) {
    // A oneshot registration that fired gets its LOCAL_CLOSE-only watch; any
    // other its full request.
    Queue(registration);
    return;
  }
  // A level registration is watched for what it was not seen to have, and
  // refreshed by the next Wait (see the design comment).
  absl::Status watched = Issue(registration, Wanted(registration) & ~seen);
  if (watched.ok()) {
    // Already listed if its last watch completed within this Wait: once is
    // enough (RefreshWatches looks at what each entry is when it gets there).
    if (!registration.listed) {
      registration.listed = true;
      registration.next_watched = watched_head_;
      watched_head_ = &registration;
    }
  } else if (watched.code() == absl::StatusCode::kInvalidArgument) {
    Forget(registration);  // The socket is gone.
  } else {
    Queue(registration);  // Retried, as any queued request.
  }
}

absl::StatusOr<WaitResult> IocpPoller::Wait(absl::Span<Event> events,
                                            absl::Duration timeout) {
  WaitResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    RefreshWatches();
    CompleteHeld(events, result);
    bool issued = false;
    absl::Status status = IssueQueued(&issued);
    // Nothing is lost: the registration stays queued for the next Wait.
    if (!status.ok() && result.count == 0) return status;
  }
  const int milliseconds = internal::TimeoutToMilliseconds(timeout);
  DWORD wait = milliseconds < 0 ? INFINITE : milliseconds;
  if (result.count > 0 || result.woken) wait = 0;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    // Never more packets than `events` has room for, one event each at most,
    // so that no event is taken from the kernel and then dropped.
    const ULONG room = static_cast<ULONG>(
        std::min<size_t>(events.size() - result.count, kMaxPackets));
    if (room == 0) break;
    ULONG removed = 0;
    CallError error;
    if (!WindowsCall(
            "GetQueuedCompletionStatusEx", &error,
            [&]() -> unsigned long {  // NOLINT(runtime/int)
              if (::GetQueuedCompletionStatusEx(port_.get(), packets_.get(),
                                                room, &removed, wait, FALSE)) {
                return 0;
              }
              removed = 0;
              const DWORD failure = ::GetLastError();
              return failure == WAIT_TIMEOUT ? 0 : failure;
            },
            /*kernel_wait=*/true)) {
      if (error.error_number == EINTR) {
        result.interrupted = true;
        return result;
      }
      if (result.count > 0) return result;
      return Failure(error, "GetQueuedCompletionStatusEx");
    }
    bool issued = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (ULONG i = 0; i < removed; ++i) {
        const OVERLAPPED_ENTRY& packet = packets_[i];
        if (packet.lpCompletionKey == kWakeKey) {
          result.woken = true;
        } else if (packet.lpCompletionKey == kHeldKey) {
          CompleteHeld(events, result);
        } else if (packet.lpCompletionKey == kAfdKey &&
                   packet.lpOverlapped != nullptr) {
          Complete(*reinterpret_cast<Registration*>(packet.lpOverlapped),
                   events, result);
        }
      }
      // What cancelled packets were waiting for goes out now, and the port is
      // looked at once more, so that readiness already there is reported by
      // this Wait (Wait(0) after a widening Modify included).
      absl::Status status = IssueQueued(&issued);
      if (!status.ok() && result.count == 0 && !result.woken) return status;
    }
    if (!issued) break;
    wait = 0;
  }
  return result;
}

absl::Status IocpPoller::Wake() {
  CallError error;
  if (!WindowsCall("PostQueuedCompletionStatus", &error,
                   [&]() -> unsigned long {  // NOLINT(runtime/int)
                     return ::PostQueuedCompletionStatus(port_.get(), 0,
                                                         kWakeKey, nullptr)
                                ? 0
                                : ::GetLastError();
                   })) {
    return Failure(error, "PostQueuedCompletionStatus");
  }
  return absl::OkStatus();
}

IocpPoller::~IocpPoller() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Packets Reap kept: their requests are over.
  for (ULONG i = 0; i < held_count_; ++i) {
    held_[i]->state = RequestState::kIdle;
  }
  held_count_ = 0;
  size_t outstanding = 0;
  for (Registration* registration : deleted_) {
    if (registration->state != RequestState::kIdle) ++outstanding;
  }
  for (const auto& [handle, registration] : registrations_) {
    if (registration->state != RequestState::kIdle) ++outstanding;
  }
  if (outstanding > 0) {
    // Every request on every helper handle, whichever thread issued it.
    helpers_.CancelAll();
    const auto give_up = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(kDestroyDrainMilliseconds);
    while (outstanding > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      ULONG removed = 0;
      if (!::GetQueuedCompletionStatusEx(
              port_.get(), packets_.get(), kMaxPackets, &removed,
              static_cast<DWORD>(left.count()), FALSE)) {
        break;
      }
      for (ULONG i = 0; i < removed; ++i) {
        const OVERLAPPED_ENTRY& packet = packets_[i];
        if (packet.lpCompletionKey != kAfdKey ||
            packet.lpOverlapped == nullptr) {
          continue;
        }
        auto* registration =
            reinterpret_cast<Registration*>(packet.lpOverlapped);
        registration->state = RequestState::kIdle;
        --outstanding;
      }
    }
  }
  // A request whose packet never came may still be written by the driver:
  // leak its registration rather than free memory under it.
  for (auto& [handle, registration] : registrations_) {
    if (registration->state != RequestState::kIdle) registration.release();
  }
  for (Registration* registration : deleted_) {
    if (registration->state == RequestState::kIdle) delete registration;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> IocpBackend::Create() {
  const Ntdll& ntdll = LoadNtdll();
  if (!ntdll.complete()) {
    return absl::UnavailableError(
        "iocp: ntdll.dll lacks NtCreateFile, NtDeviceIoControlFile, "
        "NtCancelIoFileEx or RtlNtStatusToDosError");
  }
  CallError error;
  WinsockUse winsock;
  if (!WindowsCall("WSAStartup", &error, []() -> unsigned long {  // NOLINT
        WSADATA data;
        return static_cast<unsigned long>(  // NOLINT(runtime/int)
            ::WSAStartup(MAKEWORD(2, 2), &data));
      })) {
    if (error.windows_error == WSASYSNOTREADY ||
        error.windows_error == WSAVERNOTSUPPORTED) {
      return absl::UnavailableError(
          absl::StrCat("WSAStartup(2.2): ",
                       internal::DescribeWindowsError(error.windows_error)));
    }
    return Failure(error, "WSAStartup");
  }
  winsock.set_started();

  // The port's concurrency limit: no limit. While as many threads as the
  // limit that last took packets from the port are running, the port
  // releases no other waiting thread; a thread that returned from Wait and
  // handles its events keeps counting. Poller lets one thread at a time into
  // the kernel, so a limit throttles nothing and only keeps a second thread's
  // Wait from its events and its Wake: with 1 always, with 0 (the number of
  // processors, as wepoll and mio pass) once that many threads returned from
  // Wait and are busy (one, on a one-processor machine). Wine ignores the
  // parameter, so the rule that checks this (iocp_backend_test,
  // ASecondThreadIsWokenWhileTheFirstIsBusy) cannot fail under Wine: it
  // documents the requirement for Windows.
  constexpr DWORD kNoConcurrencyLimit = 0x7FFFFFFF;
  HANDLE created_port = nullptr;
  if (!WindowsCall("CreateIoCompletionPort", &error,
                   [&]() -> unsigned long {  // NOLINT(runtime/int)
                     created_port = ::CreateIoCompletionPort(
                         INVALID_HANDLE_VALUE, nullptr, 0, kNoConcurrencyLimit);
                     return created_port != nullptr ? 0 : ::GetLastError();
                   })) {
    return Failure(error, "CreateIoCompletionPort");
  }
  ScopedHandle port(created_port);

  std::unique_ptr<IocpPoller> backend(new (std::nothrow) IocpPoller(
      ntdll, std::move(winsock), std::move(port)));
  if (backend == nullptr || !backend->Allocated()) {
    return absl::ResourceExhaustedError("iocp: out of memory");
  }
  absl::Status opened = backend->OpenFirstHelper();
  if (!opened.ok()) return opened;
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace poller
