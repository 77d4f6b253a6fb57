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
#if defined(POLLER_HAVE_IO_URING_BACKEND)
#include "backends/io_uring/io_uring_backend.h"
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

BackendUnderTest IoUringDeletedBeforeClose() {
  BackendUnderTest backend;
  backend.name = "io_uring_deleted_before_close";
  backend.factory = []() -> absl::StatusOr<std::unique_ptr<Poller>> {
#if defined(POLLER_HAVE_IO_URING_BACKEND)
    IoUringBackend::Options options;
    options.deleted_before_close = true;
    absl::StatusOr<std::unique_ptr<Backend>> made =
        IoUringBackend::Create(options);
    if (!made.ok()) return made.status();
    return Poller::FromBackend(*std::move(made));
#else
    return absl::UnimplementedError("the io_uring backend is not compiled in");
#endif
  };
  backend.unsupported = {
      // Close a registered descriptor without Delete and reuse its number:
      // what the promise gives up.
      "ReusedNumberIsNotReportedUnderTheOldToken",
      "ReportedThenClosedAndReusedIsNotReportedUnderOldToken",
      // Fails the Modify's first system call. With the promise a Modify of
      // a registered handle makes none but the write that ends the blocked
      // Wait's kernel wait, and a failure of that write does not undo the
      // change (the Wait arms it when it next returns; see the header: the
      // kernel cannot refuse Add, Modify or Rearm).
      "ModifyRefusedDuringAWaitLeavesTheRegistration",
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
#if defined(POLLER_HAVE_IO_URING_BACKEND)
  backends.push_back(IoUringDeletedBeforeClose());
#endif
  return backends;
}

}  // namespace poller::conformance
