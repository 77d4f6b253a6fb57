// poller's conformance suite against the consumer's own backend. Edge modes are
// declared unsupported through PpollBackend::SupportsMode, so their tests skip
// and the suite checks that Add in those modes is Unimplemented. Two rules are
// declared unsupported by name (see ppoll_backend.h, "Semantics that differ").

#include "ppoll_backend/ppoll_backend.h"

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "poller/poller.h"
#include "tests/conformance/suite.h"

namespace {

poller::conformance::BackendUnderTest Ppoll() {
  poller::conformance::BackendUnderTest backend;
  backend.name = "Ppoll";
  backend.factory = []() -> absl::StatusOr<std::unique_ptr<poller::Poller>> {
    absl::StatusOr<std::unique_ptr<poller::Backend>> ppoll =
        consumer::PpollBackend::Create();
    if (!ppoll.ok()) return ppoll.status();
    return poller::Poller::FromBackend(*std::move(ppoll));
  };
  // Registrations belong to descriptor numbers, and a number closed without
  // Delete stays registered until Delete: its reuse is refused
  // (AlreadyExists), not replaced.
  backend.unsupported = {"ReusedNumberIsNotReportedUnderTheOldToken",
                         "ClosedWhileDuplicatedNeverBusyLoops"};
  return backend;
}

}  // namespace

POLLER_CONFORMANCE_SUITE_WITH_OPTIONS(Ppoll, Ppoll());
