// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/iocp/iocp_backend.h
// -----------------------------------------------------------------------------
//
// The Windows backend: I/O completion ports (with AFD polling for socket
// readiness, as Rust's `polling` and libuv do).
//
// Status: a stub. It compiles on Windows and Create() returns Unimplemented,
// naming the backend.

#ifndef POLLER_BACKENDS_IOCP_IOCP_BACKEND_H_
#define POLLER_BACKENDS_IOCP_IOCP_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "poller/core/backend.h"

namespace poller {

class IocpBackend {
 public:
  static constexpr absl::string_view kName = "iocp";

  // Always Unimplemented for now.
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
};

}  // namespace poller

#endif  // POLLER_BACKENDS_IOCP_IOCP_BACKEND_H_
