// Copyright 2026 The poller Authors.
//
// The conformance suite on the IOCP backend. Only Windows builds it; this
// project runs it under Wine: tools/windows_test.sh.
//
// Nothing is declared unsupported. kEdge is not a mode of this backend
// (SupportsMode), so its tests skip, saying so; timeouts are whole
// milliseconds (GetQueuedCompletionStatusEx, and under Wine every timer: see
// backends/iocp/iocp_backend.h, "Wait"), so the sub-millisecond precision
// test skips too.

#include "poller/poller.h"
#include "tests/conformance/suite.h"

namespace {

poller::conformance::BackendUnderTest IocpUnderTest() {
  poller::conformance::BackendUnderTest backend;
  backend.name = "iocp";
  backend.factory = poller::conformance::MakeFactory(
      [] { return poller::Poller::Create("iocp"); });
  backend.sub_millisecond_timeouts = false;
  return backend;
}

}  // namespace

POLLER_CONFORMANCE_SUITE_WITH_OPTIONS(Builtin, IocpUnderTest());
