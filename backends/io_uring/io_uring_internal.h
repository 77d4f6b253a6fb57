// Copyright 2026 The poller Authors.
//
// What io_uring_backend.cc and io_uring_submission.cc share: the user_data
// layout, the poll masks, and the fault-injection wrapper for liburing calls.
// Internal to the backend.

#ifndef POLLER_BACKENDS_IO_URING_IO_URING_INTERNAL_H_
#define POLLER_BACKENDS_IO_URING_IO_URING_INTERNAL_H_

#include <poll.h>

#include <cerrno>
#include <cstdint>

#include "poller/core/types.h"
#include "poller/internal/syscall.h"

namespace poller::io_uring_internal {

// user_data: a registration's is (serial << 32) | fd with serial below
// 2^31, so bit 63 marks the backend's own requests (and liburing's
// LIBURING_UDATA_TIMEOUT, all ones). Bit 62 marks the signal's poll
// requests, whose serial is in the low 32 bits.
inline constexpr std::uint64_t kInternalBit = std::uint64_t{1} << 63;
inline constexpr std::uint64_t kSignalBit = std::uint64_t{1} << 62;
inline constexpr std::uint64_t kCancelUserData = kInternalBit | 2;
inline constexpr std::uint32_t kMaxSerial = 0x7fffffff;

inline std::uint64_t UserData(int fd, std::uint32_t serial) {
  return (std::uint64_t{serial} << 32) | static_cast<std::uint32_t>(fd);
}

inline std::uint64_t SignalUserData(std::uint32_t serial) {
  return kInternalBit | kSignalBit | serial;
}

// Runs a liburing call (which returns -errno) through the fault-injection
// seam, giving the -1-and-errno convention internal::Syscall expects.
template <typename Call>
int UringCall(const char* name, Call&& call) {
  return internal::Syscall(name, [&] {
    const int result = call();
    if (result < 0) {
      errno = -result;
      return -1;
    }
    return result;
  });
}

// The same for the call in which a Wait blocks in the kernel, so that tests
// can hold or count it (internal::KernelWait).
template <typename Call>
int UringKernelWait(const char* name, Call&& call) {
  return internal::KernelWait(name, [&] {
    const int result = call();
    if (result < 0) {
      errno = -result;
      return -1;
    }
    return result;
  });
}

// Priority interest without readable interest: see io_uring_backend.cc.
inline bool PriorityOnly(Interest interest) {
  return HasInterest(interest, Interest::kPriority) &&
         !HasInterest(interest, Interest::kReadable);
}

inline unsigned PollMask(Interest interest) {
  unsigned mask = 0;
  if (HasInterest(interest, Interest::kReadable)) mask |= POLLIN | POLLRDHUP;
  if (HasInterest(interest, Interest::kWritable)) mask |= POLLOUT;
  if (HasInterest(interest, Interest::kPriority)) mask |= POLLPRI;
  if (PriorityOnly(interest)) mask |= POLLIN;
  return mask;
}

// The readiness a completion's mask reports for `interest`, as epoll would:
// the kernel adds POLLRDHUP (and POLLHUP, POLLERR) to every io_uring poll
// request, but read-hang-up is hang-up only with readable interest, as
// EPOLLRDHUP is reported only when asked for. (Priority is confirmed by the
// caller.)
inline Readiness ReadinessFor(unsigned mask, Interest interest) {
  Readiness readiness = Readiness::kNone;
  const bool readable = HasInterest(interest, Interest::kReadable);
  if (readable && (mask & POLLIN)) readiness |= Readiness::kReadable;
  if (HasInterest(interest, Interest::kWritable) && (mask & POLLOUT)) {
    readiness |= Readiness::kWritable;
  }
  if (HasInterest(interest, Interest::kPriority) && (mask & POLLPRI)) {
    readiness |= Readiness::kPriority;
  }
  if ((mask & POLLHUP) || (readable && (mask & POLLRDHUP))) {
    readiness |= Readiness::kHangUp;
  }
  if (mask & POLLERR) readiness |= Readiness::kError;
  return readiness;
}

}  // namespace poller::io_uring_internal

#endif  // POLLER_BACKENDS_IO_URING_IO_URING_INTERNAL_H_
