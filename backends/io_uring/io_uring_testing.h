// Copyright 2026 The poller Authors.
//
// What the io_uring backend's two test files share: a poller on the backend,
// or a skip where this kernel refuses io_uring.

#ifndef POLLER_BACKENDS_IO_URING_IO_URING_TESTING_H_
#define POLLER_BACKENDS_IO_URING_IO_URING_TESTING_H_

#include <memory>
#include <utility>

#include "backends/io_uring/io_uring_backend.h"
#include "gtest/gtest.h"
#include "poller/poller.h"

namespace poller::io_uring_testing {

// A poller on the io_uring backend, or null where this kernel refuses
// io_uring (SKIP_IF_UNAVAILABLE then skips the test).
inline std::unique_ptr<Poller> NewPollerOrSkip() {
  auto backend = IoUringBackend::Create();
  if (backend.status().code() == absl::StatusCode::kUnavailable) return nullptr;
  EXPECT_TRUE(backend.ok()) << backend.status();
  return backend.ok() ? Poller::FromBackend(*std::move(backend)) : nullptr;
}

}  // namespace poller::io_uring_testing

#define SKIP_IF_UNAVAILABLE(poller) \
  if ((poller) == nullptr) GTEST_SKIP() << "io_uring is unavailable here"

#endif  // POLLER_BACKENDS_IO_URING_IO_URING_TESTING_H_
