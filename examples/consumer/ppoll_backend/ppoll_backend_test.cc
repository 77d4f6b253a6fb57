// poller's conformance suite against the consumer's own backend. Edge modes are
// declared unsupported through PpollBackend::SupportsMode, so their tests skip
// and the suite checks that Add in those modes is Unimplemented.

#include "ppoll_backend/ppoll_backend.h"

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "poller/poller.h"
#include "tests/conformance/suite.h"

POLLER_CONFORMANCE_SUITE(
    Ppoll, []() -> absl::StatusOr<std::unique_ptr<poller::Poller>> {
      absl::StatusOr<std::unique_ptr<poller::Backend>> backend =
          consumer::PpollBackend::Create();
      if (!backend.ok()) return backend.status();
      return poller::Poller::FromBackend(*std::move(backend));
    });
