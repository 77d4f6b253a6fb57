// Copyright 2026 The poller Authors.

#include "poller/internal/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

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
  if (handle != nullptr) absl::StrAppend(&message, " fd ", *handle);
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

absl::Status ErrnoToStatus(int error_number, absl::string_view operation,
                           int64_t handle) {
  return Format(ErrnoToStatusCode(error_number), error_number, operation,
                &handle, {});
}

absl::Status ErrnoToStatus(int error_number, absl::string_view operation) {
  return Format(ErrnoToStatusCode(error_number), error_number, operation,
                nullptr, {});
}

}  // namespace poller::internal
