// Copyright 2026 The poller Authors.

#include "poller/internal/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace poller::internal {
namespace {

struct ErrnoEntry {
  int number;
  absl::string_view name;
};

// Only the names poller's system calls can produce, plus their close relatives.
// A name this table lacks still gives a usable message ("errno 123
// (description)").
constexpr ErrnoEntry kErrnoNames[] = {
    {EPERM, "EPERM"},
    {ENOENT, "ENOENT"},
    {ESRCH, "ESRCH"},
    {EINTR, "EINTR"},
    {EIO, "EIO"},
    {ENXIO, "ENXIO"},
    {E2BIG, "E2BIG"},
    {EBADF, "EBADF"},
    {ECHILD, "ECHILD"},
    {EAGAIN, "EAGAIN"},
    {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},
    {EFAULT, "EFAULT"},
    {EBUSY, "EBUSY"},
    {EEXIST, "EEXIST"},
    {ENODEV, "ENODEV"},
    {ENOTDIR, "ENOTDIR"},
    {EISDIR, "EISDIR"},
    {EINVAL, "EINVAL"},
    {ENFILE, "ENFILE"},
    {EMFILE, "EMFILE"},
    {ENOSPC, "ENOSPC"},
    {EPIPE, "EPIPE"},
    {ERANGE, "ERANGE"},
    {ENOSYS, "ENOSYS"},
    {ELOOP, "ELOOP"},
    {ENOTSOCK, "ENOTSOCK"},
    {EOPNOTSUPP, "EOPNOTSUPP"},
    {ECONNRESET, "ECONNRESET"},
    {ETIMEDOUT, "ETIMEDOUT"},
    {EOVERFLOW, "EOVERFLOW"},
    {ECANCELED, "ECANCELED"},
};

std::string Describe(int error_number) {
  // strerror is not thread-safe in every libc; strerror_r comes in two
  // incompatible flavours. std::strerror with a copy taken at once is what
  // POSIX allows and glibc makes thread-safe.
  return std::string(std::strerror(error_number));
}

absl::Status Format(absl::StatusCode code, int error_number,
                    absl::string_view operation, const int64_t* handle,
                    absl::string_view explanation) {
  std::string message(operation);
  if (handle != nullptr) {
    absl::StrAppend(&message, message.empty() ? "" : " ", "fd ", *handle);
  }
  absl::string_view name = ErrnoName(error_number);
  if (name.empty()) {
    absl::StrAppend(&message, ": errno ", error_number);
  } else {
    absl::StrAppend(&message, ": ", name);
  }
  absl::StrAppend(&message, " (", Describe(error_number), ")");
  if (!explanation.empty()) absl::StrAppend(&message, ": ", explanation);
  return absl::Status(code, message);
}

}  // namespace

absl::StatusCode ErrnoToStatusCode(int error_number) {
  switch (error_number) {
    case 0:
      return absl::StatusCode::kOk;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EBADF:
    case EINVAL:
    case ENOTSOCK:
    case ELOOP:
      return absl::StatusCode::kInvalidArgument;
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
      return absl::StatusCode::kResourceExhausted;
    case EPERM:
    case EACCES:
      return absl::StatusCode::kPermissionDenied;
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EBUSY:
      return absl::StatusCode::kUnavailable;
    case EINTR:
      return absl::StatusCode::kAborted;
    case ENOSYS:
    case EOPNOTSUPP:
#if ENOTSUP != EOPNOTSUPP
    case ENOTSUP:
#endif
      return absl::StatusCode::kUnimplemented;
    case ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kUnknown;
  }
}

absl::string_view ErrnoName(int error_number) {
  for (const ErrnoEntry& entry : kErrnoNames) {
    if (entry.number == error_number) return entry.name;
  }
  return {};
}

absl::Status ErrnoToStatus(absl::StatusCode code, int error_number,
                           absl::string_view operation, int64_t handle,
                           absl::string_view explanation) {
  return Format(code, error_number, operation, &handle, explanation);
}

absl::Status InOperation(absl::string_view operation, absl::Status status) {
  if (status.ok()) return status;
  absl::Status named(status.code(),
                     absl::StrCat(operation, ": ", status.message()));
  status.ForEachPayload(
      [&named](absl::string_view type_url, const absl::Cord& payload) {
        named.SetPayload(type_url, payload);
      });
  return named;
}

absl::Status ErrnoToStatus(int error_number, absl::string_view operation,
                           int64_t handle) {
  return Format(ErrnoToStatusCode(error_number), error_number, operation,
                &handle, {});
}

absl::Status ErrnoToStatus(int error_number, absl::string_view operation) {
  return Format(ErrnoToStatusCode(error_number), error_number, operation,
                nullptr, {});
}

#if defined(_WIN32)
namespace {

struct WindowsErrorEntry {
  unsigned long number;
  absl::string_view name;
  int error_number;
};

// Numbers rather than the <windows.h> names, so this file does not drag the
// Windows headers into every target; each is the value winerror.h gives.
constexpr WindowsErrorEntry kWindowsErrors[] = {
    {1, "ERROR_INVALID_FUNCTION", EINVAL},
    {2, "ERROR_FILE_NOT_FOUND", ENOENT},
    {3, "ERROR_PATH_NOT_FOUND", ENOENT},
    {4, "ERROR_TOO_MANY_OPEN_FILES", EMFILE},
    {5, "ERROR_ACCESS_DENIED", EACCES},
    {6, "ERROR_INVALID_HANDLE", EBADF},
    {8, "ERROR_NOT_ENOUGH_MEMORY", ENOMEM},
    {14, "ERROR_OUTOFMEMORY", ENOMEM},
    {50, "ERROR_NOT_SUPPORTED", EOPNOTSUPP},
    {87, "ERROR_INVALID_PARAMETER", EINVAL},
    {120, "ERROR_CALL_NOT_IMPLEMENTED", ENOSYS},
    {127, "ERROR_PROC_NOT_FOUND", ENOSYS},
    {170, "ERROR_BUSY", EBUSY},
    {183, "ERROR_ALREADY_EXISTS", EEXIST},
    {258, "WAIT_TIMEOUT", ETIMEDOUT},
    {995, "ERROR_OPERATION_ABORTED", ECANCELED},
    {1168, "ERROR_NOT_FOUND", ENOENT},
    {1450, "ERROR_NO_SYSTEM_RESOURCES", ENOMEM},
    {1451, "ERROR_NONPAGED_SYSTEM_RESOURCES", ENOMEM},
    {1452, "ERROR_PAGED_SYSTEM_RESOURCES", ENOMEM},
    {1455, "ERROR_COMMITMENT_LIMIT", ENOMEM},
    {1460, "ERROR_TIMEOUT", ETIMEDOUT},
    {10004, "WSAEINTR", EINTR},
    {10009, "WSAEBADF", EBADF},
    {10013, "WSAEACCES", EACCES},
    {10014, "WSAEFAULT", EINVAL},
    {10022, "WSAEINVAL", EINVAL},
    {10024, "WSAEMFILE", EMFILE},
    {10035, "WSAEWOULDBLOCK", EAGAIN},
    {10038, "WSAENOTSOCK", ENOTSOCK},
    {10045, "WSAEOPNOTSUPP", EOPNOTSUPP},
    {10055, "WSAENOBUFS", ENOMEM},
};

const WindowsErrorEntry* FindWindowsError(unsigned long windows_error) {
  for (const WindowsErrorEntry& entry : kWindowsErrors) {
    if (entry.number == windows_error) return &entry;
  }
  return nullptr;
}

}  // namespace

int WindowsErrorToErrno(unsigned long windows_error) {
  if (windows_error == 0) return 0;
  const WindowsErrorEntry* entry = FindWindowsError(windows_error);
  return entry == nullptr ? EIO : entry->error_number;
}

std::string DescribeWindowsError(unsigned long windows_error) {
  const WindowsErrorEntry* entry = FindWindowsError(windows_error);
  if (entry == nullptr) return absl::StrCat("Windows error ", windows_error);
  return absl::StrCat("Windows error ", windows_error, " (", entry->name, ")");
}
#endif  // defined(_WIN32)

}  // namespace poller::internal
