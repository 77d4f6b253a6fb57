// Copyright 2026 The poller Authors.
//
// The IOCP backend's view of the Ancillary Function Driver (AFD), the driver
// beneath Winsock: its undocumented poll request (IOCTL_AFD_POLL, with the
// values wepoll's src/afd.h and mio's src/sys/windows/afd.rs use), the ntdll
// entry points that issue and cancel it, the helper handles requests go
// through, and how a failed Windows call becomes an absl::Status. Internal to
// backends/iocp; Windows only.
//
// Design: why every registration keeps a request with the driver.
//   The driver says a socket was closed (AFD_POLL_LOCAL_CLOSE) only by
//   completing a request that is pending on it. A registration with no request
//   pending cannot learn of a close, and its next request, issued with the
//   cached base handle, would poll whatever new socket got the value (under
//   the old token, and Add of the new socket would say AlreadyExists). So
//   between two Waits every registration has a request pending: its full one
//   (the events its interest needs), or a watch that asks for LOCAL_CLOSE and
//   for none of the events the socket is known to have. A level registration
//   that reported is watched, not polled at once (a full request would
//   complete at once with the readiness just reported, and see no close);
//   the next Wait cancels the watch and, when the cancelled packet arrives,
//   issues the full request, so a socket that is still ready is reported
//   again and one that was drained is not. A oneshot registration that fired,
//   and one with kNone interest, keep a LOCAL_CLOSE-only watch until Rearm or
//   Modify cancels it. wepoll and mio leave such registrations with no
//   request until their next wait, the gap this closes. What stays open: a
//   completion queued before the close is reported once, under the old token
//   (the readiness was the old socket's), and the request issued after it
//   cannot tell the old socket from a new one with its value.
//
//   One request per socket at a time: Windows mixes up the completions of two
//   poll requests on one socket, even through two helper handles (trio's and
//   wepoll's trackers: a readable socket completed the request that asked for
//   writable, and the other one never completed). So a changed request is
//   issued only after the cancelled one's packet has arrived, never beside
//   it, and an Add of a socket whose deleted registration still awaits its
//   cancelled packet issues its request once that packet is in. Two
//   registrations of one socket through two handles (WSADuplicateSocket), or
//   in two pollers, still make two requests: iocp_backend.h says so.
//
//   Wait issues every request it can before it returns: what a cancelled
//   packet was waiting for (a Modify or Rearm that widened interest), and
//   what a refreshed watch needs, followed by another look at the port (at
//   most kMaxPasses), so that readiness already there is reported by this
//   Wait, Wait(0) included.
//
//   Helper handles: a cancel walks the requests pending on its helper handle,
//   so with one helper for every socket its cost grows with the number of
//   sockets (trio measured 10x at 10,000). Registrations are spread over
//   helpers of kPollsPerHelper (32, as wepoll and mio do; afd.h).
//
//   AFD_POLL_ABORT (the peer reset the connection) is hang-up, with readable
//   and writable if asked for, and not error: after a reset Windows leaves
//   SO_ERROR at 0 (the reset is reported by the next recv or send, as
//   WSAECONNRESET), and Readiness::kError promises an error SO_ERROR returns.
//   mio and wepoll map it the same way. CONNECT_FAIL (SO_ERROR holds the
//   reason) is error and hang-up.
//
//   The completion port allows any number of concurrent threads: see Create.

#ifndef POLLER_BACKENDS_IOCP_AFD_H_
#define POLLER_BACKENDS_IOCP_AFD_H_

// winsock2.h must come before windows.h, which would otherwise pull in the old
// winsock.h (the comments keep clang-format from sorting them together).
#include <winsock2.h>
// Needs winsock2.h first.
#include <windows.h>
// Needs windows.h first.
#include <winternl.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "poller/core/types.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

namespace poller::iocp_internal {

// The completion keys: packets of poll requests (every helper handle's), the
// wake packet that Wake posts, and the packet that tells a blocked Wait that
// Add took packets off the port for it (see Reap).
constexpr ULONG_PTR kAfdKey = 1;
constexpr ULONG_PTR kWakeKey = 2;
constexpr ULONG_PTR kHeldKey = 3;

constexpr ULONG kMaxPackets = 256;
// Looks at the port per Wait: the first, and one after each round of requests
// issued for cancelled packets (a widening Modify, a refreshed watch).
constexpr int kMaxPasses = 3;
constexpr DWORD kDestroyDrainMilliseconds = 5000;

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

// and no completion packet will come. Every other status means the I/O
// manager completes the request through the port.
inline bool IsNtError(NTSTATUS status) {
  return (static_cast<ULONG>(status) >> 30) == 3;
}

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

// Looked up once: MinGW's import library lacks some, and a missing one makes
// Create say Unavailable instead of failing to load.
const Ntdll& LoadNtdll();

// What a failed call left behind: the errno it stands for (as the
// fault-injection seam sets it) and the Windows error, 0 when the seam failed
// the call without making it.
struct CallError {
  int error_number = 0;
  unsigned long windows_error = 0;  // NOLINT(runtime/int): a DWORD.
  NTSTATUS nt_status = 0;
};

// Runs one Windows call through the fault-injection seam (as the backend's
// kernel wait if `kernel_wait`: see internal::KernelWait). `call` returns 0 on
// success or the Windows error code. Returns false, with `error` filled in, if
// the call failed (for real or by injection).
template <typename Call>
bool WindowsCall(const char* name, CallError* error, Call&& call,
                 bool kernel_wait = false) {
  *error = CallError();
  const auto seam = [&](auto&& made) -> int {
    return kernel_wait ? internal::KernelWait(name, made)
                       : internal::Syscall(name, made);
  };
  const int result = seam([&]() -> int {
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
                                     NTSTATUS status);

// The NTSTATUS and Windows error of `error`, after `advice`.
std::string Explain(const CallError& error, absl::string_view advice);

// The status for a failed call on `handle`, with the errno's code unless
// `code` says otherwise.
absl::Status HandleFailure(const CallError& error, absl::string_view operation,
                           NativeHandle handle, absl::string_view advice = {},
                           absl::StatusCode code = absl::StatusCode::kOk);

// The same for a call on no handle.
absl::Status Failure(const CallError& error, absl::string_view operation,
                     absl::string_view advice = {});

// Errors of the poll request that mean the handle is not an open socket: the
// caller's mistake, InvalidArgument (poller.h), with advice.
bool IsNotASocket(int error_number);

inline constexpr absl::string_view kSocketsOnly =
    "not an open socket; the iocp backend polls sockets only";

// The AFD events a registration with `interest` asks for; 0 if it can report
// nothing.
ULONG WantedEvents(Interest interest);

// What `events` mean for a registration with `interest` (the table in
// iocp_backend.h); nothing that was not asked for.
Readiness ToReadiness(ULONG events, Interest interest);

// The handle the AFD driver knows `handle` by (see BaseSocket in afd.cc);
// InvalidArgument if it is not a socket.
absl::StatusOr<HANDLE> BaseSocket(NativeHandle handle);

// Closes a kernel handle once.
class ScopedHandle {
 public:
  ScopedHandle() = default;
  explicit ScopedHandle(HANDLE handle) : handle_(handle) {}
  ScopedHandle(ScopedHandle&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)) {}
  ScopedHandle& operator=(ScopedHandle&& other) noexcept {
    if (this != &other) {
      if (handle_ != nullptr) ::CloseHandle(handle_);
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
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

// Opens a handle to the AFD driver, which polls sockets for readiness;
// Unavailable where there is no such driver.
absl::Status OpenAfd(const Ntdll& ntdll, HANDLE* afd);

// The helper handles poll requests are issued through, each associated with
// the port under `key`, with at most kPollsPerHelper registrations each (see
// "Helper handles" in iocp_backend.h). Not thread-safe: the backend's mutex
// guards it.
class AfdHelpers {
 public:
  static constexpr int kPollsPerHelper = 32;

  AfdHelpers(const Ntdll& ntdll, HANDLE port, ULONG_PTR key)
      : ntdll_(ntdll), port_(port), key_(key) {}

  // A helper with room for one more registration, counted as taken; opens a
  // new one when every helper is full.
  absl::StatusOr<HANDLE> Acquire();
  // Gives back what Acquire took. A helper left with no registration is
  // closed unless it is the last one open (kept for the next Add).
  void Release(HANDLE helper);
  // Cancels every request on every helper (the destructor's first step).
  void CancelAll();
  size_t open() const { return helpers_.size(); }

 private:
  struct Helper {
    ScopedHandle handle;
    int users = 0;
  };

  const Ntdll& ntdll_;
  HANDLE port_;
  ULONG_PTR key_;
  std::vector<Helper> helpers_;
};

}  // namespace poller::iocp_internal

#endif  // POLLER_BACKENDS_IOCP_AFD_H_
