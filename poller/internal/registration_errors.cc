// Copyright 2026 The poller Authors.

#include "poller/internal/registration_errors.h"

#include <cerrno>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"

namespace poller::internal {

absl::string_view OperationName(Operation operation) {
  switch (operation) {
    case Operation::kAdd:
      return "Add";
    case Operation::kModify:
      return "Modify";
    case Operation::kDelete:
      return "Delete";
    case Operation::kRearm:
      return "Rearm";
  }
  return "?";
}

absl::Status OwnWakeDescriptorError(Operation operation, int fd) {
  if (operation == Operation::kAdd) {
    return absl::AlreadyExistsError(
        absl::StrCat("fd ", fd, ": it is the poller's own wake descriptor"));
  }
  return absl::NotFoundError(absl::StrCat(
      "fd ", fd, ": not registered (it is the poller's own wake descriptor)"));
}

absl::Status WatchesItselfError(int fd, int error_number) {
  if (error_number != 0) {
    return ErrnoToStatus(absl::StatusCode::kInvalidArgument, error_number, "",
                         fd, "a poller cannot watch itself");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("fd ", fd, ": a poller cannot watch itself"));
}

absl::Status InvalidHandleError(std::int64_t fd) {
  return absl::InvalidArgumentError(
      absl::StrCat("fd ", fd, ": no file can have this handle"));
}

absl::Status NotOneshotError(int fd, Mode mode) {
  return absl::FailedPreconditionError(absl::StrCat(
      "fd ", fd, ": registered in ", ModeName(mode),
      " mode, which is never disarmed; Rearm re-arms oneshot and edge-oneshot "
      "registrations (change the mode with Modify)"));
}

absl::Status AlreadyRegisteredError(int fd) {
  return ErrnoToStatus(absl::StatusCode::kAlreadyExists, EEXIST, "", fd,
                       "already registered in this poller");
}

absl::Status NotRegisteredError(int fd, bool closed) {
  return ErrnoToStatus(
      absl::StatusCode::kNotFound, ENOENT, "", fd,
      closed ? "not registered in this poller (the registered file was closed)"
             : "not registered in this poller");
}

}  // namespace poller::internal
