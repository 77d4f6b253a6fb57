// Copyright 2026 The poller Authors.
//
// open_file_set.h: which open file each registered descriptor number names,
// for the backends whose kernel does not forget a registration when its file
// is closed (poll: it polls numbers; io_uring: a request outlives the close).
//
// A number closed without Delete is soon reused (an accept, a pipe), and the
// new file must not be watched or reported under the old registration's
// token. (st_dev, st_ino) does not tell the files apart: every
// anonymous-inode file (eventfd, timerfd, signalfd, epoll, inotify, pidfd...)
// shares one inode. On Linux the set is a private epoll instance, used only
// for its bookkeeping: an epoll entry is keyed on the open file and the
// number, does not hold the file open, and leaves the set by itself when the
// file's last descriptor is closed. So "is the entry for this number still
// there" is exactly "does this number still name the file recorded", for every
// kind of file, at one system call. Nothing ever waits on the set (its entries
// ask for no events, so the kernel's wake-up callback for them returns at
// once).
//
// One limit, the same as epoll's own: when a recorded file stays open through
// another descriptor (dup, fork) after its number was closed and reused, its
// entry stays in the set, unreachable, until that file is closed. That costs a
// little kernel memory, never a wrong answer.
//
// Elsewhere (the poll backend off Linux) the set keeps (st_dev, st_ino) from
// fstat(2), which tells apart files that have inodes of their own, and says so
// where it is used.

#ifndef POLLER_INTERNAL_OPEN_FILE_SET_H_
#define POLLER_INTERNAL_OPEN_FILE_SET_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "poller/internal/scoped_fd.h"

#if !defined(__linux__)
#include <sys/types.h>

#include "absl/container/flat_hash_map.h"
#endif  // !defined(__linux__)

namespace poller::internal {

// OpenFileSet
//
// Not thread-safe: a backend calls it under the lock that guards its own
// table of registrations, so the two always agree.
class OpenFileSet {
 public:
  // Errors: ResourceExhausted when out of descriptors or memory.
  static absl::StatusOr<OpenFileSet> Create();

  OpenFileSet(OpenFileSet&&) = default;
  OpenFileSet& operator=(OpenFileSet&&) = default;

  // The set's own descriptor (-1 off Linux): Add of it is refused like the
  // backend's other own descriptors.
  int fd() const { return set_.get(); }

  // Insert
  //
  // Records the open file `fd` names now: true when it was not recorded,
  // false when this number already names the recorded file and the caller
  // says it is `registered` (for a number that is not, a record a failed
  // Erase left is replaced). Errors, naming the call that failed:
  // InvalidArgument for a closed descriptor, an O_PATH descriptor or a file
  // that cannot be polled (a regular file, a directory), with `*not_pollable`
  // set (if given), the same errors epoll_ctl gives; others
  // (ResourceExhausted...) leave it false.
  absl::StatusOr<bool> Insert(int fd, bool registered,
                              bool* not_pollable = nullptr);

  // Contains
  //
  // Whether `fd` names the file recorded for it: false when it was never
  // recorded, or when the recorded file was closed and the number now names
  // another one. Errors as Insert (InvalidArgument with `*not_pollable` set
  // for a number that is closed or names a file that cannot be polled; a
  // passing failure such as ENOMEM leaves it false and says nothing about the
  // file).
  absl::StatusOr<bool> Contains(int fd, bool* not_pollable = nullptr);

  // Erase
  //
  // Forgets the file `fd` names now, if it is the recorded one. Nothing to do
  // for a recorded file that was closed: it left the set by itself.
  void Erase(int fd);

 private:
  explicit OpenFileSet(ScopedFd set) : set_(std::move(set)) {}

  ScopedFd set_;
#if !defined(__linux__)
  struct Identity {
    dev_t device;
    ino_t inode;
  };
  absl::flat_hash_map<int, Identity> identities_;
#endif
};

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_OPEN_FILE_SET_H_
