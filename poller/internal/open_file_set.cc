// Copyright 2026 The poller Authors.

#include "poller/internal/open_file_set.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"

#if defined(__linux__)
#include <sys/epoll.h>
#endif

namespace poller::internal {
namespace {

// The error for a number that is closed or names a file nobody can poll, in
// the words epoll_ctl's errno has for it. `call` names the call that failed.
absl::Status NotPollable(absl::string_view operation, absl::string_view call,
                         int fd, int error) {
  const std::string what = absl::StrCat(operation, " ", call);
  if (error == EPERM) {
    return ErrnoToStatus(
        absl::StatusCode::kInvalidArgument, EPERM, what, fd,
        "this kind of file cannot be polled (a regular file or directory)");
  }
#if defined(O_PATH)
  // epoll_ctl says EBADF for a descriptor opened with O_PATH too: say which.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_PATH) == O_PATH) {
    return ErrnoToStatus(absl::StatusCode::kInvalidArgument, EBADF, what, fd,
                         "an O_PATH descriptor cannot be polled");
  }
#endif
  return ErrnoToStatus(EBADF, what, fd);
}

void SetIf(bool* flag, bool value) {
  if (flag != nullptr) *flag = value;
}

}  // namespace

#if defined(__linux__)

absl::StatusOr<OpenFileSet> OpenFileSet::Create() {
  const int set =
      Syscall("epoll_create1", [] { return ::epoll_create1(EPOLL_CLOEXEC); });
  if (set < 0) return ErrnoToStatus(errno, "epoll_create1");
  return OpenFileSet(ScopedFd(set));
}

absl::Status OpenFileSet::Insert(absl::string_view operation, int fd,
                                 bool* not_pollable) {
  SetIf(not_pollable, false);
  // No events: the entry is bookkeeping only (see the file comment).
  epoll_event entry{};
  if (Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(set_.get(), EPOLL_CTL_ADD, fd, &entry);
      }) == 0) {
    return absl::OkStatus();
  }
  const int error = errno;
  const absl::string_view call = "epoll_ctl(EPOLL_CTL_ADD)";
  if (error == EEXIST) {
    return ErrnoToStatus(absl::StatusCode::kAlreadyExists, EEXIST, operation,
                         fd, "already registered in this poller");
  }
  if (error == EBADF || error == EPERM) {
    SetIf(not_pollable, true);
    return NotPollable(operation, call, fd, error);
  }
  if (fd == set_.get()) {
    return ErrnoToStatus(absl::StatusCode::kInvalidArgument, error,
                         absl::StrCat(operation, " ", call), fd,
                         "this is the poller's own descriptor");
  }
  return ErrnoToStatus(error, absl::StrCat(operation, " ", call), fd);
}

absl::StatusOr<bool> OpenFileSet::Contains(absl::string_view operation, int fd,
                                           bool* not_pollable) {
  SetIf(not_pollable, false);
  epoll_event entry{};
  if (Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(set_.get(), EPOLL_CTL_MOD, fd, &entry);
      }) == 0) {
    return true;
  }
  const int error = errno;
  // No entry for the file this number names now: never recorded, or the
  // recorded file was closed (its entry left with it) and the number reused.
  if (error == ENOENT) return false;
  const absl::string_view call = "epoll_ctl(EPOLL_CTL_MOD)";
  if (error == EBADF || error == EPERM) {
    SetIf(not_pollable, true);
    return NotPollable(operation, call, fd, error);
  }
  if (fd == set_.get()) return false;  // EINVAL: never recorded.
  return ErrnoToStatus(error, absl::StrCat(operation, " ", call), fd);
}

void OpenFileSet::Erase(int fd) {
  // ENOENT (not recorded) and EBADF (closed: the entry left with the file)
  // leave nothing to undo.
  (void)Syscall("epoll_ctl", [&] {
    return ::epoll_ctl(set_.get(), EPOLL_CTL_DEL, fd, nullptr);
  });
}

#else  // !defined(__linux__)

absl::StatusOr<OpenFileSet> OpenFileSet::Create() {
  return OpenFileSet(ScopedFd());
}

namespace {

// fstat(2) of a number that must name a pollable file.
absl::Status Inspect(absl::string_view operation, int fd, struct stat* status) {
  if (Syscall("fstat", [&] { return ::fstat(fd, status); }) != 0) {
    const int error = errno;
    if (error == EBADF) return NotPollable(operation, "fstat", fd, EBADF);
    return ErrnoToStatus(error, absl::StrCat(operation, " fstat"), fd);
  }
  // Always "ready" to poll(2); refused by epoll and kqueue alike.
  if (S_ISREG(status->st_mode) || S_ISDIR(status->st_mode)) {
    return NotPollable(operation, "fstat", fd, EPERM);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status OpenFileSet::Insert(absl::string_view operation, int fd,
                                 bool* not_pollable) {
  SetIf(not_pollable, false);
  struct stat status;
  absl::Status inspected = Inspect(operation, fd, &status);
  if (!inspected.ok()) {
    SetIf(not_pollable, inspected.code() == absl::StatusCode::kInvalidArgument);
    return inspected;
  }
  auto [entry, inserted] =
      identities_.try_emplace(fd, Identity{status.st_dev, status.st_ino});
  if (!inserted) {
    if (entry->second.device == status.st_dev &&
        entry->second.inode == status.st_ino) {
      return ErrnoToStatus(absl::StatusCode::kAlreadyExists, EEXIST, operation,
                           fd, "already registered in this poller");
    }
    entry->second = Identity{status.st_dev, status.st_ino};
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> OpenFileSet::Contains(absl::string_view operation, int fd,
                                           bool* not_pollable) {
  SetIf(not_pollable, false);
  struct stat status;
  absl::Status inspected = Inspect(operation, fd, &status);
  if (!inspected.ok()) {
    SetIf(not_pollable, inspected.code() == absl::StatusCode::kInvalidArgument);
    return inspected;
  }
  auto found = identities_.find(fd);
  return found != identities_.end() && found->second.device == status.st_dev &&
         found->second.inode == status.st_ino;
}

void OpenFileSet::Erase(int fd) { identities_.erase(fd); }

#endif  // defined(__linux__)

}  // namespace poller::internal
