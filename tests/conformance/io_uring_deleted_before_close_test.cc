// Copyright 2026 The poller Authors.
//
// The conformance suite on the io_uring backend with the caller's promise
// that every handle is Deleted before it is closed
// (IoUringBackend::Options::deleted_before_close). The rules that close a
// registered handle without Delete test what that promise gives up, and are
// declared unsupported.

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "backends/io_uring/io_uring_backend.h"
#include "poller/poller.h"
#include "tests/backend_under_test.h"
#include "tests/conformance/suite.h"

namespace poller::conformance {
namespace {

BackendUnderTest IoUringDeletedBeforeClose() {
  BackendUnderTest backend;
  backend.name = "io_uring_deleted_before_close";
  backend.factory = []() -> absl::StatusOr<std::unique_ptr<Poller>> {
    IoUringBackend::Options options;
    options.deleted_before_close = true;
    absl::StatusOr<std::unique_ptr<Backend>> made =
        IoUringBackend::Create(options);
    if (!made.ok()) return made.status();
    return Poller::FromBackend(*std::move(made));
  };
  backend.unsupported = {
      // Close a registered descriptor without Delete and reuse its number:
      // what the promise gives up.
      "ReusedNumberIsNotReportedUnderTheOldToken",
      "ReportedThenClosedAndReusedIsNotReportedUnderOldToken",
      // Fails the Modify's first system call. With the promise a Modify of
      // a registered handle makes none but the write that ends the blocked
      // Wait's kernel wait, and a failure of that write does not undo the
      // change (the Wait arms it when it next returns; see the header:
      // the kernel cannot refuse Add, Modify or Rearm).
      "ModifyRefusedDuringAWaitLeavesTheRegistration",
  };
  return backend;
}

}  // namespace
}  // namespace poller::conformance

POLLER_CONFORMANCE_SUITE(IoUringDeletedBeforeClose,
                         ::poller::conformance::IoUringDeletedBeforeClose());
