// Copyright 2026 The poller Authors.
//
// registration_errors.h: the errors every backend gives for the same mistakes,
// worded once, so a program sees the same code and message whichever backend
// it runs on. Like every message a backend returns, they start with the
// handle ("fd 7: ..."): Poller names the operation in front of it, once, and
// no system call is named, as none was made.

#ifndef POLLER_INTERNAL_REGISTRATION_ERRORS_H_
#define POLLER_INTERNAL_REGISTRATION_ERRORS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "poller/core/types.h"

namespace poller::internal {

// The operations of Poller that register handles, as messages name them.
enum class Operation { kAdd, kModify, kDelete, kRearm };

// "Add", "Modify", "Delete", "Rearm".
absl::string_view OperationName(Operation operation);

// `fd` is the poller's own wake descriptor, which a caller who guessed its
// number must not change: AlreadyExists for Add (it is registered, by the
// poller), NotFound for Modify, Delete and Rearm (not by the caller).
absl::Status OwnWakeDescriptorError(Operation operation, int fd);

// `fd` is the poller's own kernel queue: InvalidArgument, as a queue cannot
// report on itself. `error_number` is what the kernel said, if it was asked
// (0 if not).
absl::Status WatchesItselfError(int fd, int error_number = 0);

// A handle no open file can have (negative; on Windows INVALID_SOCKET):
// InvalidArgument. Poller refuses it before a backend is asked; a backend
// whose table is indexed by the handle checks it too.
absl::Status InvalidHandleError(std::int64_t fd);

// Rearm of a registration in `mode`, level or edge, which is never disarmed
// and so has nothing to re-arm: FailedPrecondition, naming the mode. (Rearm
// does not quietly succeed: a program that re-arms a level registration
// believes it is oneshot, and would be surprised by its events.)
absl::Status NotOneshotError(int fd, Mode mode);

// AlreadyExists for an Add of a handle that is registered, and NotFound for
// a Modify, Rearm or Delete of one that is not (`closed`: its registration
// ended when its file was closed without Delete). The backend's own table
// says so.
absl::Status AlreadyRegisteredError(int fd);
absl::Status NotRegisteredError(int fd, bool closed = false);

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_REGISTRATION_ERRORS_H_
