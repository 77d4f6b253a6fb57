// Copyright 2026 The poller Authors.
//
// The conformance suite on the poll backend.
//
// Declared unsupported (see backends/poll/poll_backend.h, "Modes"):
//   EdgeReportsOncePerChange  poll(2) reports states, not changes, so kEdge is
//                             delivered like kLevel: a still-ready handle is
//                             reported again rather than risk losing data that
//                             arrived after the program drained it.

#include "poller/poller.h"
#include "tests/conformance/suite.h"

POLLER_CONFORMANCE_SUITE_WITH_OPTIONS(
    Poll, (::poller::conformance::BackendUnderTest {
      "Poll", ::poller::conformance::MakeFactory([] {
        return poller::Poller::Create("poll");
      }),
          {"EdgeReportsOncePerChange"},
#if defined(__linux__)
          /*sub_millisecond_timeouts=*/true,  // ppoll
#else
              /*sub_millisecond_timeouts=*/false,  // poll: milliseconds
#endif
    }));
