// Copyright 2026 The poller Authors.

#include "backends/iocp/iocp_backend.h"

// winsock2.h must come before windows.h, which would otherwise pull in the old
// winsock.h; the blank line keeps clang-format from sorting them.
#include <winsock2.h>

// Proves the platform has IOCP, so the stub is built only where it can be.
#include <windows.h>

namespace poller {

absl::StatusOr<std::unique_ptr<Backend>> IocpBackend::Create() {
  return absl::UnimplementedError("the iocp backend is not implemented yet");
}

}  // namespace poller
