// Copyright 2026 The poller Authors.

#include "backends/kqueue/kqueue_backend.h"

#include <sys/event.h>  // Proves the platform has kqueue, so the stub is built only where it can be.

namespace poller {

absl::StatusOr<std::unique_ptr<Backend>> KqueueBackend::Create() {
  return absl::UnimplementedError(
      "the kqueue backend is not implemented yet; use "
      "Poller::Create(\"poll\")");
}

}  // namespace poller
