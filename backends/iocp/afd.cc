// Copyright 2026 The poller Authors.
//
// See afd.h.

#include "backends/iocp/afd.h"

// Needs winsock2.h and windows.h (afd.h) first.
#include <mswsock.h>

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace poller::iocp_internal {
namespace {

template <typename Function>
void Resolve(HMODULE module, const char* name, Function* function) {
  // Through void (*)(void), which GCC accepts as a cast to any function type.
  *function = reinterpret_cast<Function>(
      reinterpret_cast<void (*)(void)>(::GetProcAddress(module, name)));
}

// Layers of service providers BaseSocket looks through at most: a chain of
// providers is a handful deep, and a provider that kept naming new sockets
// must not make Add loop.
constexpr int kMaxProviderLayers = 8;

// One socket ioctl that names another socket, through the seam under `name`.
bool SocketIoctl(const char* name, SOCKET socket, DWORD code, SOCKET* out,
                 CallError* error) {
  return WindowsCall(name, error, [&]() -> unsigned long {  // NOLINT
    DWORD bytes = 0;
    if (::WSAIoctl(socket, code, nullptr, 0, out, sizeof(*out), &bytes, nullptr,
                   nullptr) == 0) {
      return 0;
    }
    return static_cast<unsigned long>(::WSAGetLastError());  // NOLINT
  });
}

}  // namespace

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

absl::Status HandleFailure(const CallError& error, absl::string_view operation,
                           NativeHandle handle, absl::string_view advice,
                           absl::StatusCode code) {
  if (code == absl::StatusCode::kOk) {
    code = internal::ErrnoToStatusCode(error.error_number);
  }
  return internal::ErrnoToStatus(code, error.error_number, operation,
                                 static_cast<std::int64_t>(handle),
                                 Explain(error, advice));
}

absl::Status Failure(const CallError& error, absl::string_view operation,
                     absl::string_view advice) {
  const absl::Status status =
      internal::ErrnoToStatus(error.error_number, operation);
  const std::string explanation = Explain(error, advice);
  if (explanation.empty()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(status.message(), ": ", explanation));
}

bool IsNotASocket(int error_number) {
  // The poll request's STATUS_INVALID_HANDLE (EBADF) and
  // STATUS_OBJECT_TYPE_MISMATCH (EINVAL) are how the driver refuses a handle
  // that is not an open socket (Wine's SIO_BASE_HANDLE lets such handles
  // through: see iocp_backend.h).
  return error_number == EBADF || error_number == ENOTSOCK ||
         error_number == EINVAL;
}

// SIO_BASE_HANDLE names the socket of the base provider, beneath any layered
// service provider, which is what the driver polls. A layered provider may
// break it (mio's tracker: one made it fail with WSAEFAULT; wepoll: Komodia
// providers intercept it): then SIO_BSP_HANDLE_POLL, and failing that
// SIO_BSP_HANDLE_SELECT, name the socket of the next provider down, whose base
// is asked for in turn. Only WSAENOTSOCK means the handle is not a socket;
// every other failure is worth the fallback. A provider that names the socket
// itself is the base (no layer below answers). When no ioctl answers at all
// (Wine has neither SIO_BSP_HANDLE ioctl), the socket itself is polled: it is
// its own base when no layered provider is installed, and if it is not a
// handle of the driver the poll request says so (InvalidArgument).
absl::StatusOr<HANDLE> BaseSocket(NativeHandle handle) {
  SOCKET socket = handle;
  CallError base_error;
  for (int layer = 0; layer < kMaxProviderLayers; ++layer) {
    SOCKET base = INVALID_SOCKET;
    if (SocketIoctl("WSAIoctl(SIO_BASE_HANDLE)", socket, SIO_BASE_HANDLE, &base,
                    &base_error)) {
      return reinterpret_cast<HANDLE>(base);
    }
    if (base_error.error_number == ENOTSOCK) {
      return HandleFailure(base_error, "WSAIoctl(SIO_BASE_HANDLE)", handle,
                           kSocketsOnly, absl::StatusCode::kInvalidArgument);
    }
    SOCKET provider = INVALID_SOCKET;
    CallError ignored;
    if (!SocketIoctl("WSAIoctl(SIO_BSP_HANDLE_POLL)", socket,
                     SIO_BSP_HANDLE_POLL, &provider, &ignored) ||
        provider == INVALID_SOCKET) {
      provider = INVALID_SOCKET;
      if (!SocketIoctl("WSAIoctl(SIO_BSP_HANDLE_SELECT)", socket,
                       SIO_BSP_HANDLE_SELECT, &provider, &ignored)) {
        provider = INVALID_SOCKET;
      }
    }
    if (provider == INVALID_SOCKET || provider == socket) break;
    socket = provider;
  }
  return reinterpret_cast<HANDLE>(socket);
}

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
    // Reads and writes now fail, as on Linux, where epoll reports EPOLLIN |
    // EPOLLOUT | EPOLLHUP for both; only a failed connect leaves an error in
    // SO_ERROR (see the design comment in iocp_backend.cc).
    readiness |= Readiness::kHangUp;
    if (events & kAfdPollConnectFail) readiness |= Readiness::kError;
    if (readable) readiness |= Readiness::kReadable;
    if (writable) readiness |= Readiness::kWritable;
  }
  return readiness;
}

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

absl::StatusOr<HANDLE> AfdHelpers::Acquire() {
  // The newest helper first: the older ones are full, or were when it opened.
  for (auto helper = helpers_.rbegin(); helper != helpers_.rend(); ++helper) {
    if (helper->users < kPollsPerHelper) {
      ++helper->users;
      return helper->handle.get();
    }
  }
  HANDLE opened_handle = nullptr;
  absl::Status opened = OpenAfd(ntdll_, &opened_handle);
  if (!opened.ok()) return opened;
  ScopedHandle handle(opened_handle);
  CallError error;
  if (!WindowsCall("CreateIoCompletionPort", &error,
                   [&]() -> unsigned long {  // NOLINT(runtime/int)
                     return ::CreateIoCompletionPort(handle.get(), port_, key_,
                                                     0) != nullptr
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
                                handle.get(), FILE_SKIP_SET_EVENT_ON_HANDLE)
                                ? 0
                                : ::GetLastError();
                   })) {
    return Failure(error, "SetFileCompletionNotificationModes");
  }
  Helper helper;
  helper.handle = std::move(handle);
  helper.users = 1;
  try {
    helpers_.push_back(std::move(helper));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("iocp: out of memory for a helper");
  }
  return helpers_.back().handle.get();
}

void AfdHelpers::Release(HANDLE handle) {
  for (auto helper = helpers_.begin(); helper != helpers_.end(); ++helper) {
    if (helper->handle.get() != handle) continue;
    --helper->users;
    // No request is pending on a helper nobody uses, so closing it cancels
    // nothing.
    if (helper->users == 0 && helpers_.size() > 1) helpers_.erase(helper);
    return;
  }
}

void AfdHelpers::CancelAll() {
  for (Helper& helper : helpers_) {
    IO_STATUS_BLOCK cancel_status{};
    (void)ntdll_.cancel_io_file_ex(helper.handle.get(), nullptr,
                                   &cancel_status);
  }
}

}  // namespace poller::iocp_internal
