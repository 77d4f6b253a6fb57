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

#if defined(__linux__)
// Whether epoll_ctl's EBADF or EPERM for `fd` is the truth: the number is
// closed or opened with O_PATH (EBADF), or names a regular file or directory
// (EPERM). Asked of other calls (fcntl, fstat), so that one failed call
// through the system-call seam, or a passing kernel failure, is not taken for
// a closed or unpollable file, which ends a registration. Errors: those of the
// asking call (its EBADF, InvalidArgument, says the number is closed).
// `*closed` is set when the asking call says EBADF: the number is closed.
absl::StatusOr<bool> ConfirmNotPollable(int fd, int error, bool* closed) {
  *closed = false;
  if (error == EBADF) {
    const int flags = Syscall("fcntl", [&] { return ::fcntl(fd, F_GETFL); });
    if (flags < 0) {
      *closed = errno == EBADF;
      return ErrnoToStatus(errno, "fcntl", fd);
    }
#if defined(O_PATH)
    return (flags & O_PATH) == O_PATH;
#else
    return false;
#endif
  }
  struct stat status;
  if (Syscall("fstat", [&] { return ::fstat(fd, &status); }) != 0) {
    *closed = errno == EBADF;
    return ErrnoToStatus(errno, "fstat", fd);
  }
  return S_ISREG(status.st_mode) || S_ISDIR(status.st_mode);
}
#endif  // defined(__linux__)

// The error for a number that is closed or names a file nobody can poll, in
// the words epoll_ctl's errno has for it. `call` names the call that failed.
absl::Status NotPollable(absl::string_view call, int fd, int error) {
  if (error == EPERM) {
    return ErrnoToStatus(
        absl::StatusCode::kInvalidArgument, EPERM, call, fd,
        "this kind of file cannot be polled (a regular file or directory)");
  }
#if defined(O_PATH)
  // epoll_ctl says EBADF for a descriptor opened with O_PATH too: say which.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_PATH) == O_PATH) {
    return ErrnoToStatus(absl::StatusCode::kInvalidArgument, EBADF, call, fd,
                         "an O_PATH descriptor cannot be polled");
  }
#endif
  return ErrnoToStatus(EBADF, call, fd);
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

absl::StatusOr<bool> OpenFileSet::Insert(int fd, bool registered,
                                         bool* not_pollable) {
  SetIf(not_pollable, false);
  // No events: the entry is bookkeeping only (see the file comment).
  epoll_event entry{};
  const auto add = [&] {
    return Syscall("epoll_ctl", [&] {
      return ::epoll_ctl(set_.get(), EPOLL_CTL_ADD, fd, &entry);
    });
  };
  if (add() == 0) return true;
  int error = errno;
  const absl::string_view call = "epoll_ctl(EPOLL_CTL_ADD)";
  if (error == EEXIST) {
    if (registered) return false;
    // A record with no registration (a Delete whose erase failed): afresh.
    Erase(fd);
    if (add() == 0) return true;
    error = errno;
  }
  if (error == EBADF || error == EPERM) {
    bool closed = false;
    absl::StatusOr<bool> confirmed = ConfirmNotPollable(fd, error, &closed);
    if (!confirmed.ok()) {
      SetIf(not_pollable, closed);
      return confirmed.status();
    }
    SetIf(not_pollable, *confirmed);
    return NotPollable(call, fd, error);
  }
  if (fd == set_.get()) {
    return ErrnoToStatus(absl::StatusCode::kInvalidArgument, error, call, fd,
                         "this is the poller's own descriptor");
  }
  return ErrnoToStatus(error, call, fd);
}

absl::StatusOr<bool> OpenFileSet::Contains(int fd, bool* not_pollable) {
  SetIf(not_pollable, false);
  epoll_event entry{};
  if (Syscall("epoll_ctl", [&] {
        return ::epoll_ctl(set_.get(), EPOLL_CTL_MOD, fd, &entry);
      }) == 0) {
    return true;
  }
  const int error = errno;
  const absl::string_view call = "epoll_ctl(EPOLL_CTL_MOD)";
  if (error == ENOENT) {
    // No entry for the file this number names now: never recorded, or the
    // recorded file was closed (its entry left with it) and the number
    // reused. An entry added now says which, and is taken out again.
    if (Syscall("epoll_ctl", [&] {
          return ::epoll_ctl(set_.get(), EPOLL_CTL_ADD, fd, &entry);
        }) == 0) {
      Erase(fd);
      return false;
    }
    if (errno == EEXIST) return true;  // The first answer was not the truth.
    return ErrnoToStatus(ENOENT, call, fd);
  }
  if (error == EBADF || error == EPERM) {
    bool closed = false;
    absl::StatusOr<bool> confirmed = ConfirmNotPollable(fd, error, &closed);
    if (!confirmed.ok()) {
      SetIf(not_pollable, closed);
      return confirmed.status();
    }
    SetIf(not_pollable, *confirmed);
    if (*confirmed) return NotPollable(call, fd, error);
  }
  if (fd == set_.get()) return false;  // EINVAL: never recorded.
  return ErrnoToStatus(error, call, fd);
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
absl::Status Inspect(int fd, struct stat* status) {
  if (Syscall("fstat", [&] { return ::fstat(fd, status); }) != 0) {
    const int error = errno;
    if (error == EBADF) return NotPollable("fstat", fd, EBADF);
    return ErrnoToStatus(error, "fstat", fd);
  }
  // Always "ready" to poll(2); refused by epoll and kqueue alike.
  if (S_ISREG(status->st_mode) || S_ISDIR(status->st_mode)) {
    return NotPollable("fstat", fd, EPERM);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> OpenFileSet::Insert(int fd, bool registered,
                                         bool* not_pollable) {
  SetIf(not_pollable, false);
  struct stat status;
  absl::Status inspected = Inspect(fd, &status);
  if (!inspected.ok()) {
    SetIf(not_pollable, inspected.code() == absl::StatusCode::kInvalidArgument);
    return inspected;
  }
  auto [entry, inserted] =
      identities_.try_emplace(fd, Identity{status.st_dev, status.st_ino});
  if (!inserted) {
    if (registered && entry->second.device == status.st_dev &&
        entry->second.inode == status.st_ino) {
      return false;
    }
    entry->second = Identity{status.st_dev, status.st_ino};
  }
  return true;
}

absl::StatusOr<bool> OpenFileSet::Contains(int fd, bool* not_pollable) {
  SetIf(not_pollable, false);
  struct stat status;
  absl::Status inspected = Inspect(fd, &status);
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
