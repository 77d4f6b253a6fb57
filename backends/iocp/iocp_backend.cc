// Copyright 2026 The poller Authors.

#include "backends/iocp/iocp_backend.h"

#include <windows.h>  // Proves the platform has IOCP, so the stub is built only where it can be.
#include <winsock2.h>  // Before windows.h, which would otherwise pull in the old winsock.h.

namespace poller {

absl::StatusOr<std::unique_ptr<Backend>> IocpBackend::Create() {
  return absl::UnimplementedError("the iocp backend is not implemented yet");
}

}  // namespace poller
