// Copyright 2026 The poller Authors.
//
// The conformance suite on the poll backend.
//
// Nothing is declared unsupported. kEdge is refused by SupportsMode (poll(2)
// reports states, not changes: see backends/poll/poll_backend.h, "Modes"), so
// its tests skip and the suite checks that Add in it is Unimplemented.

#include "poller/poller.h"
#include "tests/conformance/suite.h"

namespace {

poller::conformance::BackendUnderTest Poll() {
  poller::conformance::BackendUnderTest backend;
  backend.name = "poll";
  backend.factory = poller::conformance::MakeFactory(
      [] { return poller::Poller::Create("poll"); });
#if !defined(__linux__)
  backend.sub_millisecond_timeouts = false;  // poll(2): milliseconds.
#endif
  return backend;
}

}  // namespace

POLLER_CONFORMANCE_SUITE_WITH_OPTIONS(Builtin, Poll());
