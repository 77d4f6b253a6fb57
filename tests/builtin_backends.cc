// Copyright 2026 The poller Authors.

#include "tests/builtin_backends.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "poller/poller.h"

#if defined(POLLER_HAVE_EPOLL_BACKEND)
#include "backends/epoll/epoll_backend.h"
#endif

namespace poller::conformance {

BackendUnderTest BuiltinBackend(const std::string& name) {
  BackendUnderTest backend;
  backend.name = name;
  backend.factory = MakeFactory([name] { return Poller::Create(name); });
  return backend;
}

BackendUnderTest EpollKernelOneshot() {
  BackendUnderTest backend;
  backend.name = "epoll_kernel_oneshot";
  backend.factory = []() -> absl::StatusOr<std::unique_ptr<Poller>> {
#if defined(POLLER_HAVE_EPOLL_BACKEND)
    EpollBackend::Options options;
    options.oneshot = EpollBackend::OneshotStrategy::kKernel;
    absl::StatusOr<std::unique_ptr<Backend>> epoll =
        EpollBackend::Create(options);
    if (!epoll.ok()) return epoll.status();
    return Poller::FromBackend(*std::move(epoll));
#else
    return absl::UnimplementedError("the epoll backend is not compiled in");
#endif
  };
  return backend;
}

std::vector<BackendUnderTest> BuiltinBackends() {
  std::vector<BackendUnderTest> backends;
  for (const std::string& name : Poller::CompiledBackends()) {
    backends.push_back(BuiltinBackend(name));
  }
#if defined(POLLER_HAVE_EPOLL_BACKEND)
  backends.push_back(EpollKernelOneshot());
#endif
  return backends;
}

}  // namespace poller::conformance
