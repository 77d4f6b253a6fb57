// Copyright 2026 The poller Authors.
//
// pollable_file.h: the checks a backend without kernel-side registrations
// (poll) or with registrations that outlive close (io_uring) makes at Add,
// Modify and Delete, so that its errors match epoll's: a closed descriptor is
// InvalidArgument (EBADF), a regular file, directory or O_PATH descriptor is
// InvalidArgument (it cannot be polled), and the file's identity (device,
// inode) tells a registered descriptor from a new file that reused its number
// after a close without Delete.

#ifndef POLLER_INTERNAL_POLLABLE_FILE_H_
#define POLLER_INTERNAL_POLLABLE_FILE_H_

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace poller::internal {

// Which open file a descriptor number referred to.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;

  friend bool operator==(const FileIdentity& a, const FileIdentity& b) {
    return a.device == b.device && a.inode == b.inode;
  }
  friend bool operator!=(const FileIdentity& a, const FileIdentity& b) {
    return !(a == b);
  }
};

// Checks that `fd` is open and of a pollable kind (fcntl(F_GETFL), fstat) and
// stores its identity. Errors: InvalidArgument for a closed or invalid
// descriptor or one that cannot be polled; messages start with `operation`.
// `not_pollable` (if given) is set when the failure is about the descriptor
// itself (closed: EBADF; or of a kind that cannot be polled), which ends any
// registration of its number; a passing failure (EINTR, ENOMEM...) leaves it
// false and says nothing about a registration. Thread-safe.
absl::Status InspectPollableFile(absl::string_view operation, int fd,
                                 FileIdentity* identity,
                                 bool* not_pollable = nullptr);

// The check of a number that is already registered (Modify, Rearm, Delete):
// InspectPollableFile without the fcntl(2), so one system call. The identity
// it stores is what the caller compares with the registration's, and that is
// what tells a closed or reused number; the fcntl only adds the O_PATH check,
// which Add made when the file was registered. A oneshot loop re-arms on
// every event, so this is half of what poller adds to that path on io_uring
// and poll. What it cannot tell: a number closed and reused by an O_PATH
// descriptor of the same FIFO (same device and inode); the kernel then
// reports that registration as an error event (POLLNVAL, or EBADF from
// io_uring). Errors and `not_pollable` as for InspectPollableFile.
absl::Status InspectRegisteredFile(absl::string_view operation, int fd,
                                   FileIdentity* identity,
                                   bool* not_pollable = nullptr);

// Whether `fd` refers to the file `identity` was taken from: one fstat(2).
// False when the number names another file (closed without Delete and
// reused). Errors: InvalidArgument (EBADF) when the descriptor is closed;
// otherwise what fstat reports (EINTR, ENOMEM: nothing then says the file
// changed). Thread-safe.
absl::StatusOr<bool> RefersTo(int fd, const FileIdentity& identity);

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_POLLABLE_FILE_H_
