// Every suite of poller (conformance, stress, faults, hygiene, pitfalls, fuzz
// corpus replay) against the consumer's own backend, in one line. Edge modes
// are declared unsupported through PpollBackend::SupportsMode, so their tests
// skip and the suite checks that Add in those modes is Unimplemented. Three
// rules are declared unsupported by name (see ppoll_backend.h, "Semantics that
// differ"). Its system calls do not go through poller's seam, so the tests
// that inject faults or force schedules skip, saying so.

#include "ppoll_backend/ppoll_backend.h"

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "poller/poller.h"
#include "tests/all_suites.h"

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
  backend.unsupported = {
      "ReusedNumberIsNotReportedUnderTheOldToken",
      "ReportedThenClosedAndReusedIsNotReportedUnderOldToken",
      "ClosedWhileDuplicatedNeverBusyLoops"};
  return backend;
}

}  // namespace

POLLER_BACKEND_SUITES(Ppoll, Ppoll());
