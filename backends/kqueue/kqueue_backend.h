// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/kqueue/kqueue_backend.h
// -----------------------------------------------------------------------------
//
// The backend for macOS, FreeBSD, OpenBSD, NetBSD and DragonFly: kqueue/kevent.
//
// Status: a stub. It compiles on those platforms and Create() returns
// Unimplemented, naming the backend, so a program can fall back to "poll"
// (Poller::Create("poll")).

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "poller/backend.h"

namespace poller {

class KqueueBackend {
 public:
  static constexpr absl::string_view kName = "kqueue";

  // Always Unimplemented for now.
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
};

}  // namespace poller

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
