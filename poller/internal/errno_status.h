// Copyright 2026 The poller Authors.
//
// errno_status.h: the one place where an operating-system error number becomes
// an absl::Status.
//
// Every backend reports a failed system call through ErrnoToStatus(), so the
// same errno always maps to the same status code everywhere, and every message
// a program sees has one shape: the Poller method that failed, once, then what
// failed inside it (a system call, named only if it was made), the handle, the
// errno name and its description:
//
//   "Add: epoll_ctl(EPOLL_CTL_ADD) fd 7: EEXIST (File exists)"
//   "Add: fd 7: EEXIST (File exists): already registered in this poller"
//   "Wait: epoll_pwait2 fd 3: ENOMEM (Cannot allocate memory)"
//
// A backend's message starts with the system call it made or, for a check of
// its own, with the handle ("fd 7: ..."; registration_errors.h); Poller puts
// the method in front (InOperation), so a message never has to be traced back
// to the call that made it.

#ifndef POLLER_INTERNAL_ERRNO_STATUS_H_
#define POLLER_INTERNAL_ERRNO_STATUS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace poller::internal {

// The status code for an errno value:
//
//   EEXIST                          -> kAlreadyExists
//   ENOENT                          -> kNotFound
//   EBADF, EINVAL, ENOTSOCK, ELOOP  -> kInvalidArgument
//   ENOMEM, ENOSPC, EMFILE, ENFILE  -> kResourceExhausted
//   EPERM, EACCES                   -> kPermissionDenied
//   EAGAIN/EWOULDBLOCK, EBUSY       -> kUnavailable
//   EINTR                           -> kAborted
//   ENOSYS, EOPNOTSUPP              -> kUnimplemented
//   ETIMEDOUT                       -> kDeadlineExceeded
//   0 -> kOk; anything else         -> kUnknown
absl::StatusCode ErrnoToStatusCode(int error_number);

// The symbolic name of an errno value ("EEXIST"), or an empty view for one
// poller never expects (messages then say "errno N").
absl::string_view ErrnoName(int error_number);

// An error status for `error_number` raised by `operation` on `handle`, e.g.
// ErrnoToStatus(EEXIST, "epoll_ctl(EPOLL_CTL_ADD)", 7) is
// AlreadyExistsError("epoll_ctl(EPOLL_CTL_ADD) fd 7: EEXIST (File exists)").
// An empty `operation` (no call was made) starts the message at "fd 7".
// `error_number` must not be 0.
absl::Status ErrnoToStatus(int error_number, absl::string_view operation,
                           int64_t handle);

// The same, for an operation that is not applied to a handle (epoll_create1,
// eventfd, ...).
absl::Status ErrnoToStatus(int error_number, absl::string_view operation);

// The same with a chosen status code, for the few calls where an errno means
// something more specific than its general meaning (EPERM from epoll_ctl means
// "this file cannot be polled", an InvalidArgument). `explanation` is appended
// to the message.
absl::Status ErrnoToStatus(absl::StatusCode code, int error_number,
                           absl::string_view operation, int64_t handle,
                           absl::string_view explanation);

// `status` with "<operation>: " put in front of its message. Poller applies it
// to what a backend returns, and to its own checks, with the name of the
// public method ("Add", "Wait", "Create(epoll)"): the one place a message
// names the method. The code and payloads are kept; OK stays OK.
absl::Status InOperation(absl::string_view operation, absl::Status status);

#if defined(_WIN32)
// Windows
//
// A Windows backend reports a failed call through the same errno road, so the
// codes above, the fault-injection seam (poller/internal/syscall.h) and the
// tests that check messages for errno names apply unchanged. The original code
// goes into the message too, through the `explanation` of ErrnoToStatus.

// The errno value that stands for a Win32 or Winsock error code (from
// GetLastError(), WSAGetLastError(), or RtlNtStatusToDosError() of an
// NTSTATUS):
//
//   ERROR_INVALID_HANDLE, WSAEBADF              -> EBADF
//   WSAENOTSOCK                                 -> ENOTSOCK
//   ERROR_INVALID_PARAMETER, WSAEINVAL, ...     -> EINVAL
//   ERROR_NOT_ENOUGH_MEMORY, WSAENOBUFS, ...    -> ENOMEM
//   ERROR_TOO_MANY_OPEN_FILES, WSAEMFILE        -> EMFILE
//   ERROR_ACCESS_DENIED, WSAEACCES              -> EACCES
//   ERROR_NOT_FOUND, ERROR_FILE_NOT_FOUND, ...  -> ENOENT
//   ERROR_ALREADY_EXISTS                        -> EEXIST
//   ERROR_NOT_SUPPORTED, WSAEOPNOTSUPP          -> EOPNOTSUPP
//   ERROR_CALL_NOT_IMPLEMENTED, ERROR_PROC_NOT_FOUND -> ENOSYS
//   ERROR_BUSY                                  -> EBUSY
//   WSAEWOULDBLOCK                              -> EAGAIN
//   WSAEINTR                                    -> EINTR
//   ERROR_OPERATION_ABORTED                     -> ECANCELED
//   WAIT_TIMEOUT, ERROR_TIMEOUT                 -> ETIMEDOUT
//   0 -> 0; anything else                       -> EIO (kUnknown)
int WindowsErrorToErrno(unsigned long windows_error);

// "Windows error 10038 (WSAENOTSOCK)", for the `explanation` of a message; the
// symbolic name is left out for a code poller never expects.
std::string DescribeWindowsError(unsigned long windows_error);
#endif  // defined(_WIN32)

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_ERRNO_STATUS_H_
