// Copyright 2026 The poller Authors.

#include "poller/internal/pollable_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

namespace poller::internal {

absl::Status InspectPollableFile(absl::string_view operation, int fd,
                                 FileIdentity* identity, bool* not_pollable) {
  bool ignored;
  if (not_pollable == nullptr) not_pollable = &ignored;
  *not_pollable = false;
  const int flags = Syscall("fcntl", [&] { return ::fcntl(fd, F_GETFL); });
  if (flags < 0) {
    *not_pollable = errno == EBADF;
    return ErrnoToStatus(errno, absl::StrCat(operation, " fcntl"), fd);
  }
#if defined(O_PATH)
  // poll(2) reports POLLNVAL for these, epoll_ctl EBADF.
  if ((flags & O_PATH) == O_PATH) {
    *not_pollable = true;
    return ErrnoToStatus(absl::StatusCode::kInvalidArgument, EBADF,
                         absl::StrCat(operation, " fcntl"), fd,
                         "an O_PATH descriptor cannot be polled");
  }
#endif
  return InspectRegisteredFile(operation, fd, identity, not_pollable);
}

absl::Status InspectRegisteredFile(absl::string_view operation, int fd,
                                   FileIdentity* identity, bool* not_pollable) {
  bool ignored;
  if (not_pollable == nullptr) not_pollable = &ignored;
  *not_pollable = false;
  struct stat status;
  if (Syscall("fstat", [&] { return ::fstat(fd, &status); }) != 0) {
    *not_pollable = errno == EBADF;
    return ErrnoToStatus(errno, absl::StrCat(operation, " fstat"), fd);
  }
  // Always "ready" to poll(2) and io_uring, refused by epoll (EPERM).
  if (S_ISREG(status.st_mode) || S_ISDIR(status.st_mode)) {
    *not_pollable = true;
    return ErrnoToStatus(
        absl::StatusCode::kInvalidArgument, EPERM,
        absl::StrCat(operation, " fstat"), fd,
        "this kind of file cannot be polled (a regular file or directory)");
  }
  identity->device = status.st_dev;
  identity->inode = status.st_ino;
  return absl::OkStatus();
}

absl::StatusOr<bool> RefersTo(int fd, const FileIdentity& identity) {
  struct stat status;
  if (Syscall("fstat", [&] { return ::fstat(fd, &status); }) != 0) {
    return ErrnoToStatus(errno, "fstat", fd);
  }
  return status.st_dev == identity.device && status.st_ino == identity.inode;
}

}  // namespace poller::internal
