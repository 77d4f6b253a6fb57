// Copyright 2026 The poller Authors.
//
// The IOCP backend: see iocp_backend.h for the strategy. The AFD definitions
// below are the driver's undocumented interface, with the values wepoll
// (src/afd.h) and mio (src/sys/windows/afd.rs) use.

#include "backends/iocp/iocp_backend.h"

// winsock2.h must come before windows.h, which would otherwise pull in the old
// winsock.h (the comments keep clang-format from sorting them together).
#include <winsock2.h>
// Both need winsock2.h first.
#include <mswsock.h>
#include <windows.h>
// Needs windows.h first.
#include <winternl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/registration_errors.h"
#include "poller/internal/syscall.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

constexpr ULONG kIoctlAfdPoll = 0x00012024;

constexpr ULONG kAfdPollReceive = 0x0001;
constexpr ULONG kAfdPollReceiveExpedited = 0x0002;
constexpr ULONG kAfdPollSend = 0x0004;
constexpr ULONG kAfdPollDisconnect = 0x0008;
constexpr ULONG kAfdPollAbort = 0x0010;
constexpr ULONG kAfdPollLocalClose = 0x0020;
constexpr ULONG kAfdPollAccept = 0x0080;
constexpr ULONG kAfdPollConnectFail = 0x0100;

struct AfdPollHandleInfo {
  HANDLE handle;
  ULONG events;
  NTSTATUS status;
};

struct AfdPollInfo {
  LARGE_INTEGER timeout;
  ULONG number_of_handles;
  ULONG exclusive;
  AfdPollHandleInfo handles[1];
};

constexpr NTSTATUS kStatusPending = static_cast<NTSTATUS>(0x00000103UL);
constexpr NTSTATUS kStatusCancelled = static_cast<NTSTATUS>(0xC0000120UL);
constexpr NTSTATUS kStatusNotFound = static_cast<NTSTATUS>(0xC0000225UL);
constexpr NTSTATUS kStatusObjectNameNotFound =
    static_cast<NTSTATUS>(0xC0000034UL);
constexpr NTSTATUS kStatusObjectPathNotFound =
    static_cast<NTSTATUS>(0xC000003AUL);

// NTSTATUS severity 3 (the top two bits) is an error: the request was refused
// and no completion packet will come. Every other status means the I/O
// manager completes the request through the port.
bool IsNtError(NTSTATUS status) {
  return (static_cast<ULONG>(status) >> 30) == 3;
}

// The completion keys: packets of poll requests (the helper handle's), and the
// wake packet that Wake posts.
constexpr ULONG_PTR kAfdKey = 1;
constexpr ULONG_PTR kWakeKey = 2;

constexpr ULONG kMaxPackets = 256;
constexpr DWORD kDestroyDrainMilliseconds = 5000;

// ntdll's entry points, looked up once: MinGW's import library lacks some, and
// a missing one makes Create say Unavailable instead of failing to load.
struct Ntdll {
  using NtCreateFileFunction = NTSTATUS(NTAPI*)(PHANDLE, ACCESS_MASK,
                                                POBJECT_ATTRIBUTES,
                                                PIO_STATUS_BLOCK,
                                                PLARGE_INTEGER, ULONG, ULONG,
                                                ULONG, ULONG, PVOID, ULONG);
  using NtDeviceIoControlFileFunction = NTSTATUS(NTAPI*)(HANDLE, HANDLE, PVOID,
                                                         PVOID,
                                                         PIO_STATUS_BLOCK,
                                                         ULONG, PVOID, ULONG,
                                                         PVOID, ULONG);
  using NtCancelIoFileExFunction = NTSTATUS(NTAPI*)(HANDLE, PIO_STATUS_BLOCK,
                                                    PIO_STATUS_BLOCK);
  using RtlNtStatusToDosErrorFunction = ULONG(NTAPI*)(NTSTATUS);

  NtCreateFileFunction create_file = nullptr;
  NtDeviceIoControlFileFunction device_io_control_file = nullptr;
  NtCancelIoFileExFunction cancel_io_file_ex = nullptr;
  RtlNtStatusToDosErrorFunction status_to_dos_error = nullptr;

  bool complete() const {
    return create_file != nullptr && device_io_control_file != nullptr &&
           cancel_io_file_ex != nullptr && status_to_dos_error != nullptr;
  }
};

template <typename Function>
void Resolve(HMODULE module, const char* name, Function* function) {
  // Through void (*)(void), which GCC accepts as a cast to any function type.
  *function = reinterpret_cast<Function>(
      reinterpret_cast<void (*)(void)>(::GetProcAddress(module, name)));
}

const Ntdll& LoadNtdll() {
  static const Ntdll ntdll = [] {
    Ntdll loaded;
    HMODULE module = ::GetModuleHandleW(L"ntdll.dll");
    if (module == nullptr) return loaded;
    Resolve(module, "NtCreateFile", &loaded.create_file);
    Resolve(module, "NtDeviceIoControlFile", &loaded.device_io_control_file);
    Resolve(module, "NtCancelIoFileEx", &loaded.cancel_io_file_ex);
    Resolve(module, "RtlNtStatusToDosError", &loaded.status_to_dos_error);
    return loaded;
  }();
  return ntdll;
}

// What a failed call left behind: the errno it stands for (as the
// fault-injection seam sets it) and the Windows error, 0 when the seam failed
// the call without making it.
struct CallError {
  int error_number = 0;
  unsigned long windows_error = 0;  // NOLINT(runtime/int): a DWORD.
  NTSTATUS nt_status = 0;
};

// Runs one Windows call through the fault-injection seam. `call` returns 0 on
// success or the Windows error code. Returns false, with `error` filled in, if
// the call failed (for real or by injection).
template <typename Call>
bool WindowsCall(const char* name, CallError* error, Call&& call) {
  *error = CallError();
  const int result = internal::Syscall(name, [&]() -> int {
    const unsigned long windows_error = call();  // NOLINT(runtime/int)
    if (windows_error == 0) return 0;
    error->windows_error = windows_error;
    errno = internal::WindowsErrorToErrno(windows_error);
    return -1;
  });
  if (result == 0) return true;
  error->error_number = errno;
  return false;
}

// The Windows error for a failed NTSTATUS, never 0.
unsigned long NtStatusToWindowsError(const Ntdll& ntdll,  // NOLINT
                                     NTSTATUS status) {
  const ULONG windows_error = ntdll.status_to_dos_error(status);
  return windows_error != 0 ? windows_error : ERROR_MR_MID_NOT_FOUND;
}

std::string Explain(const CallError& error, absl::string_view advice) {
  std::string text(advice);
  if (error.nt_status != 0) {
    absl::StrAppend(&text, text.empty() ? "" : "; ", "NTSTATUS 0x",
                    absl::Hex(static_cast<ULONG>(error.nt_status)));
  }
  if (error.windows_error != 0) {
    absl::StrAppend(&text, text.empty() ? "" : ", ",
                    internal::DescribeWindowsError(error.windows_error));
  }
  return text;
}

// The status for a failed call on `handle`, with the errno's code unless
// `code` says otherwise.
absl::Status HandleFailure(const CallError& error, absl::string_view operation,
                           NativeHandle handle, absl::string_view advice = {},
                           absl::StatusCode code = absl::StatusCode::kOk) {
  if (code == absl::StatusCode::kOk) {
    code = internal::ErrnoToStatusCode(error.error_number);
  }
  return internal::ErrnoToStatus(code, error.error_number, operation,
                                 static_cast<std::int64_t>(handle),
                                 Explain(error, advice));
}

// The same for a call on no handle.
absl::Status Failure(const CallError& error, absl::string_view operation,
                     absl::string_view advice = {}) {
  const absl::Status status =
      internal::ErrnoToStatus(error.error_number, operation);
  const std::string explanation = Explain(error, advice);
  if (explanation.empty()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(status.message(), ": ", explanation));
}

// Errors that mean the handle is not an open socket: the caller's mistake,
// InvalidArgument (poller.h), with advice.
bool IsNotASocket(int error_number) {
  return error_number == EBADF || error_number == ENOTSOCK ||
         error_number == EINVAL;
}

constexpr absl::string_view kSocketsOnly =
    "not an open socket; the iocp backend polls sockets only";

// The AFD events a registration asks for; 0 if it can report nothing.
ULONG WantedEvents(Interest interest) {
  ULONG events = 0;
  if (HasInterest(interest, Interest::kReadable)) {
    events |= kAfdPollReceive | kAfdPollAccept | kAfdPollDisconnect |
              kAfdPollAbort | kAfdPollConnectFail;
  }
  if (HasInterest(interest, Interest::kWritable)) {
    events |= kAfdPollSend | kAfdPollAbort | kAfdPollConnectFail;
  }
  if (HasInterest(interest, Interest::kPriority)) {
    events |= kAfdPollReceiveExpedited;
  }
  return events;
}

// What `events` mean for a registration with `interest` (see the table in
// iocp_backend.h); nothing that was not asked for.
Readiness ToReadiness(ULONG events, Interest interest) {
  const bool readable = HasInterest(interest, Interest::kReadable);
  const bool writable = HasInterest(interest, Interest::kWritable);
  Readiness readiness = Readiness::kNone;
  if (readable &&
      (events & (kAfdPollReceive | kAfdPollAccept | kAfdPollDisconnect))) {
    readiness |= Readiness::kReadable;
  }
  if (readable && (events & kAfdPollDisconnect)) {
    readiness |= Readiness::kHangUp;
  }
  if (writable && (events & kAfdPollSend)) readiness |= Readiness::kWritable;
  if (HasInterest(interest, Interest::kPriority) &&
      (events & kAfdPollReceiveExpedited)) {
    readiness |= Readiness::kPriority;
  }
  if ((readable || writable) &&
      (events & (kAfdPollAbort | kAfdPollConnectFail))) {
    // A reset or a failed connect: reads and writes now fail, as on Linux,
    // where epoll reports EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP for both.
    readiness |= Readiness::kHangUp | Readiness::kError;
    if (readable) readiness |= Readiness::kReadable;
    if (writable) readiness |= Readiness::kWritable;
  }
  return readiness;
}

// Closes a kernel handle once.
class ScopedHandle {
 public:
  ScopedHandle() = default;
  explicit ScopedHandle(HANDLE handle) : handle_(handle) {}
  ScopedHandle(ScopedHandle&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)) {}
  ScopedHandle& operator=(ScopedHandle&&) = delete;
  ~ScopedHandle() {
    if (handle_ != nullptr) ::CloseHandle(handle_);
  }
  HANDLE get() const { return handle_; }

 private:
  HANDLE handle_ = nullptr;
};

// One WSAStartup, undone once.
class WinsockUse {
 public:
  WinsockUse() = default;
  WinsockUse(WinsockUse&& other) noexcept
      : started_(std::exchange(other.started_, false)) {}
  WinsockUse& operator=(WinsockUse&&) = delete;
  ~WinsockUse() {
    if (started_) ::WSACleanup();
  }
  void set_started() { started_ = true; }

 private:
  bool started_ = false;
};

class IocpPoller final : public Backend {
 public:
  IocpPoller(const Ntdll& ntdll, WinsockUse winsock, ScopedHandle port,
             ScopedHandle afd)
      : ntdll_(ntdll),
        winsock_(std::move(winsock)),
        port_(std::move(port)),
        afd_(std::move(afd)),
        packets_(new OVERLAPPED_ENTRY[kMaxPackets]) {}
  ~IocpPoller() override;

  absl::string_view name() const override { return IocpBackend::kName; }
  bool SupportsMode(Mode mode) const override { return mode != Mode::kEdge; }
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
    kIdle,       // No poll request: nothing to ask for, or queued for one.
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
    Token token;
    // The events of the request in flight.
    ULONG requested_events = 0;
    Interest interest;
    Mode mode;
    RequestState state = RequestState::kIdle;
    // Oneshot modes: the next event may be reported. Always true for kLevel.
    bool armed = true;
    // Deleted while a request was pending: freed when its packet arrives.
    bool deleted = false;
    // Queued for its next request, which the next Wait issues.
    bool queued = false;
    Registration* next_queued = nullptr;
  };
  static_assert(sizeof(Registration) <= 96, "the header promises 96 bytes");

  ULONG Wanted(const Registration& registration) const {
    return registration.armed ? WantedEvents(registration.interest) : 0;
  }

  // Modify's work on a registration found under mutex_: the new settings,
  // re-armed, with the request issued or cancelled as they need; on failure
  // the registration is as it was, so the call can be retried.
  absl::Status ChangeLocked(Registration& registration, Token token,
                            Interest interest, Mode mode);
  // Issues the poll request `registration` needs, if any. Requires mutex_.
  absl::Status Issue(Registration& registration);
  // Cancels the pending request. Requires mutex_.
  absl::Status Cancel(Registration& registration);
  // Turns the packet of `registration`'s request into an event (or none),
  // and queues it for its next request. Requires mutex_.
  void Complete(Registration& registration, absl::Span<Event> events,
                WaitResult& result);
  // Forgets a registration with no request pending. Requires mutex_.
  void Drop(Registration& registration);
  // Issues the requests of the queued registrations. Requires mutex_.
  absl::Status IssueQueued();
  absl::StatusOr<HANDLE> BaseSocket(NativeHandle handle) const;

  const Ntdll& ntdll_;
  WinsockUse winsock_;
  ScopedHandle port_;
  ScopedHandle afd_;

  std::mutex mutex_;
  // Guarded by mutex_.
  std::unordered_map<NativeHandle, std::unique_ptr<Registration>>
      registrations_;
  // Deleted, with a cancelled request whose packet has not come yet.
  std::unordered_set<Registration*> deleted_;
  Registration* queue_head_ = nullptr;

  // Only touched inside Wait, which Poller serializes, and the destructor.
  std::unique_ptr<OVERLAPPED_ENTRY[]> packets_;
};

absl::StatusOr<HANDLE> IocpPoller::BaseSocket(NativeHandle handle) const {
  const auto ioctl = [](SOCKET socket, DWORD code, SOCKET* out,
                        CallError* error) {
    return WindowsCall("WSAIoctl", error, [&]() -> unsigned long {  // NOLINT
      DWORD bytes = 0;
      if (::WSAIoctl(socket, code, nullptr, 0, out, sizeof(*out), &bytes,
                     nullptr, nullptr) == 0) {
        return 0;
      }
      return static_cast<unsigned long>(::WSAGetLastError());  // NOLINT
    });
  };
  SOCKET base = INVALID_SOCKET;
  CallError error;
  if (ioctl(handle, SIO_BASE_HANDLE, &base, &error)) {
    return reinterpret_cast<HANDLE>(base);
  }
  if (IsNotASocket(error.error_number)) {
    return HandleFailure(error, "WSAIoctl(SIO_BASE_HANDLE)", handle,
                         kSocketsOnly, absl::StatusCode::kInvalidArgument);
  }
  // A layered service provider that does not forward SIO_BASE_HANDLE may still
  // name the socket beneath it for polling (mio and polling do the same).
  SOCKET provider = INVALID_SOCKET;
  CallError ignored;
  if (ioctl(handle, SIO_BSP_HANDLE_POLL, &provider, &ignored) &&
      provider != handle && ioctl(provider, SIO_BASE_HANDLE, &base, &ignored)) {
    return reinterpret_cast<HANDLE>(base);
  }
  return HandleFailure(error, "WSAIoctl(SIO_BASE_HANDLE)", handle);
}

absl::Status IocpPoller::Issue(Registration& registration) {
  const ULONG wanted = Wanted(registration);
  if (wanted == 0) {
    registration.state = RequestState::kIdle;
    return absl::OkStatus();
  }
  AfdPollInfo& info = registration.poll_info;
  info.timeout.QuadPart = INT64_MAX;
  info.number_of_handles = 1;
  info.exclusive = FALSE;
  info.handles[0].handle = registration.base_socket;
  info.handles[0].events = wanted | kAfdPollLocalClose;
  info.handles[0].status = 0;
  registration.io_status.Status = kStatusPending;
  registration.io_status.Information = 0;
  CallError error;
  if (!WindowsCall("NtDeviceIoControlFile", &error, [&]() -> unsigned long {
        const NTSTATUS status = ntdll_.device_io_control_file(
            afd_.get(), nullptr, nullptr, &registration,
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
  registration.requested_events = wanted;
  return absl::OkStatus();
}

absl::Status IocpPoller::Cancel(Registration& registration) {
  IO_STATUS_BLOCK cancel_status{};
  CallError error;
  if (!WindowsCall("NtCancelIoFileEx", &error, [&]() -> unsigned long {
        const NTSTATUS status = ntdll_.cancel_io_file_ex(
            afd_.get(), &registration.io_status, &cancel_status);
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

void IocpPoller::Drop(Registration& registration) {
  registrations_.erase(registration.socket);
}

absl::Status IocpPoller::IssueQueued() {
  while (queue_head_ != nullptr) {
    Registration& registration = *queue_head_;
    absl::Status issued = Issue(registration);
    // Any other failure leaves it queued: this Wait reports the error, and the
    // next one tries again.
    if (!issued.ok() && issued.code() != absl::StatusCode::kInvalidArgument) {
      return issued;
    }
    queue_head_ = registration.next_queued;
    registration.next_queued = nullptr;
    registration.queued = false;
    // The socket was closed without Delete: as for AFD_POLL_LOCAL_CLOSE.
    if (!issued.ok()) Drop(registration);
  }
  return absl::OkStatus();
}

absl::Status IocpPoller::Add(NativeHandle handle, Token token,
                             Interest interest, Mode mode) {
  if (handle == INVALID_SOCKET) {
    return absl::InvalidArgumentError("Add fd -1: INVALID_SOCKET");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (registrations_.count(handle) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("Add fd ", handle, ": already registered"));
  }
  absl::StatusOr<HANDLE> base = BaseSocket(handle);
  if (!base.ok()) return base.status();
  std::unique_ptr<Registration> created(new (std::nothrow) Registration());
  if (created == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("Add fd ", handle, ": out of memory"));
  }
  Registration& registration = *created;
  registration.socket = handle;
  registration.base_socket = *base;
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  registrations_.emplace(handle, std::move(created));
  absl::Status issued = Issue(registration);
  if (!issued.ok()) Drop(registration);
  return issued;
}

absl::Status IocpPoller::Modify(NativeHandle handle, Token token,
                                Interest interest, Mode mode) {
  if (handle == INVALID_SOCKET) {
    return absl::InvalidArgumentError("Modify fd -1: INVALID_SOCKET");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    return absl::NotFoundError(
        absl::StrCat("Modify fd ", handle, ": not registered"));
  }
  return ChangeLocked(*found->second, token, interest, mode);
}

absl::Status IocpPoller::Rearm(NativeHandle handle) {
  if (handle == INVALID_SOCKET) {
    return absl::InvalidArgumentError("Rearm fd -1: INVALID_SOCKET");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    return absl::NotFoundError(
        absl::StrCat("Rearm fd ", handle, ": not registered"));
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
      if (!registration.queued) changed = Issue(registration);
      break;
    case RequestState::kPending:
      if ((Wanted(registration) & ~registration.requested_events) != 0) {
        changed = Cancel(registration);
      }
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
    return absl::InvalidArgumentError("Delete fd -1: INVALID_SOCKET");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    return absl::NotFoundError(
        absl::StrCat("Delete fd ", handle, ": not registered"));
  }
  Registration& registration = *found->second;
  switch (registration.state) {
    case RequestState::kIdle:
      if (registration.queued) {
        Registration** link = &queue_head_;
        while (*link != &registration) link = &(*link)->next_queued;
        *link = registration.next_queued;
      }
      registrations_.erase(found);
      return absl::OkStatus();
    case RequestState::kPending: {
      absl::Status cancelled = Cancel(registration);
      if (!cancelled.ok()) return cancelled;
      break;
    }
    case RequestState::kCancelled:
      break;
  }
  deleted_.insert(&registration);
  registration.deleted = true;
  found->second.release();
  registrations_.erase(found);
  return absl::OkStatus();
}

void IocpPoller::Complete(Registration& registration, absl::Span<Event> events,
                          WaitResult& result) {
  registration.state = RequestState::kIdle;
  if (registration.deleted) {
    deleted_.erase(&registration);
    delete &registration;
    return;
  }
  ULONG happened = 0;
  const NTSTATUS status = registration.io_status.Status;
  if (status == kStatusCancelled) {
    // Cancelled by Modify: issue the request it needs now.
  } else if (IsNtError(status)) {
    // The request itself failed: say so as an error on the socket.
    happened = kAfdPollConnectFail;
  } else if (registration.poll_info.number_of_handles >= 1) {
    happened = registration.poll_info.handles[0].events;
  }
  if (happened & kAfdPollLocalClose) {
    // Closed without Delete (see iocp_backend.h): the SOCKET value may be
    // reused by the next socket, so the registration must not outlive it.
    Drop(registration);
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
  // The next request is issued by the next Wait, not now: it then sees what
  // the program did with this event (a level registration whose socket was
  // drained meanwhile is not reported again).
  if (Wanted(registration) != 0) {
    registration.queued = true;
    registration.next_queued = queue_head_;
    queue_head_ = &registration;
  }
}

absl::StatusOr<WaitResult> IocpPoller::Wait(absl::Span<Event> events,
                                            absl::Duration timeout) {
  WaitResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    absl::Status issued = IssueQueued();
    if (!issued.ok()) return issued;
  }
  const ULONG capacity =
      static_cast<ULONG>(std::min<size_t>(events.size(), kMaxPackets));
  const int milliseconds = internal::TimeoutToMilliseconds(timeout);
  const DWORD wait = milliseconds < 0 ? INFINITE : milliseconds;
  ULONG removed = 0;
  CallError error;
  if (!WindowsCall("GetQueuedCompletionStatusEx", &error,
                   [&]() -> unsigned long {  // NOLINT(runtime/int)
                     if (::GetQueuedCompletionStatusEx(port_.get(),
                                                       packets_.get(), capacity,
                                                       &removed, wait, FALSE)) {
                       return 0;
                     }
                     removed = 0;
                     const DWORD failure = ::GetLastError();
                     return failure == WAIT_TIMEOUT ? 0 : failure;
                   })) {
    if (error.error_number == EINTR) {
      result.interrupted = true;
      return result;
    }
    return Failure(error, "GetQueuedCompletionStatusEx");
  }

  std::lock_guard<std::mutex> lock(mutex_);
  for (ULONG i = 0; i < removed; ++i) {
    const OVERLAPPED_ENTRY& packet = packets_[i];
    if (packet.lpCompletionKey == kWakeKey) {
      result.woken = true;
    } else if (packet.lpCompletionKey == kAfdKey &&
               packet.lpOverlapped != nullptr) {
      Complete(*reinterpret_cast<Registration*>(packet.lpOverlapped), events,
               result);
    }
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
  size_t outstanding = deleted_.size();
  for (const auto& [handle, registration] : registrations_) {
    if (registration->state != RequestState::kIdle) ++outstanding;
  }
  if (outstanding > 0) {
    // Every request on the helper handle, whichever thread issued it.
    IO_STATUS_BLOCK cancel_status{};
    (void)ntdll_.cancel_io_file_ex(afd_.get(), nullptr, &cancel_status);
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

// Opens a handle to the AFD driver, which polls sockets for readiness;
// Unavailable where there is no such driver.
absl::Status OpenAfd(const Ntdll& ntdll, HANDLE* afd) {
  CallError error;
  // \Device\Afd\poller: any name below \Device\Afd opens the driver; the
  // last part only labels the handle.
  wchar_t device_name[] = L"\\Device\\Afd\\poller";
  UNICODE_STRING name;
  name.Length = sizeof(device_name) - sizeof(wchar_t);
  name.MaximumLength = sizeof(device_name);
  name.Buffer = device_name;
  OBJECT_ATTRIBUTES attributes{};
  attributes.Length = sizeof(attributes);
  attributes.ObjectName = &name;
  IO_STATUS_BLOCK open_status{};
  if (!WindowsCall("NtCreateFile", &error, [&]() -> unsigned long {  // NOLINT
        const NTSTATUS status = ntdll.create_file(
            afd, SYNCHRONIZE, &attributes, &open_status, nullptr, 0,
            FILE_SHARE_READ | FILE_SHARE_WRITE, /*FILE_OPEN=*/1, 0, nullptr, 0);
        if (!IsNtError(status)) return 0;
        error.nt_status = status;
        return NtStatusToWindowsError(ntdll, status);
      })) {
    if (error.nt_status == kStatusObjectNameNotFound ||
        error.nt_status == kStatusObjectPathNotFound) {
      return absl::UnavailableError(
          absl::StrCat("NtCreateFile(\\Device\\Afd): no AFD driver here: ",
                       Explain(error, {})));
    }
    return Failure(error, "NtCreateFile(\\Device\\Afd)");
  }
  return absl::OkStatus();
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

  HANDLE created_port = nullptr;
  if (!WindowsCall("CreateIoCompletionPort", &error,
                   [&]() -> unsigned long {  // NOLINT(runtime/int)
                     created_port = ::CreateIoCompletionPort(
                         INVALID_HANDLE_VALUE, nullptr, 0, 1);
                     return created_port != nullptr ? 0 : ::GetLastError();
                   })) {
    return Failure(error, "CreateIoCompletionPort");
  }
  ScopedHandle port(created_port);

  HANDLE created_afd = nullptr;
  absl::Status opened = OpenAfd(ntdll, &created_afd);
  if (!opened.ok()) return opened;
  ScopedHandle afd(created_afd);

  if (!WindowsCall("CreateIoCompletionPort", &error,
                   [&]() -> unsigned long {  // NOLINT(runtime/int)
                     return ::CreateIoCompletionPort(afd.get(), port.get(),
                                                     kAfdKey, 0) != nullptr
                                ? 0
                                : ::GetLastError();
                   })) {
    return Failure(error, "CreateIoCompletionPort(\\Device\\Afd)");
  }
  // Completions only need the port: skip signalling the handle's event too,
  // as wepoll does.
  if (!WindowsCall("SetFileCompletionNotificationModes", &error,
                   [&]() -> unsigned long {  // NOLINT(runtime/int)
                     return ::SetFileCompletionNotificationModes(
                                afd.get(), FILE_SKIP_SET_EVENT_ON_HANDLE)
                                ? 0
                                : ::GetLastError();
                   })) {
    return Failure(error, "SetFileCompletionNotificationModes");
  }
  std::unique_ptr<Backend> backend(new (std::nothrow) IocpPoller(
      ntdll, std::move(winsock), std::move(port), std::move(afd)));
  if (backend == nullptr) {
    return absl::ResourceExhaustedError("iocp: out of memory");
  }
  return backend;
}

}  // namespace poller
