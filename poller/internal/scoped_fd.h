// Copyright 2026 The poller Authors.
//
// scoped_fd.h: owns a POSIX file descriptor and closes it once, so no error
// path leaks one.

#ifndef POLLER_INTERNAL_SCOPED_FD_H_
#define POLLER_INTERNAL_SCOPED_FD_H_

#include <utility>

namespace poller::internal {

class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes the descriptor held (if any) and takes `fd`.
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace poller::internal

#endif  // POLLER_INTERNAL_SCOPED_FD_H_
