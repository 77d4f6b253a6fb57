// Copyright 2026 The poller Authors.
//
// The conformance suite on the kqueue backend. Only macOS and the BSDs build
// it; on a Mac with Bazel: ./bazelw test //tests/conformance:kqueue_test

#include <set>
#include <string>

#include "poller/poller.h"
#include "tests/conformance/suite.h"

namespace {

std::set<std::string> Unsupported() {
#if defined(__APPLE__)
  return {};
#else
  // The BSDs' EVFILT_READ has no EV_OOBAND: TCP urgent data is not reported
  // (see backends/kqueue/kqueue_backend.h).
  return {"PriorityData"};
#endif
}

}  // namespace

POLLER_CONFORMANCE_SUITE_WITH_OPTIONS(
    Kqueue, (::poller::conformance::BackendUnderTest{
                "Kqueue", ::poller::conformance::MakeFactory([] {
                  return poller::Poller::Create("kqueue");
                }),
                Unsupported(), /*sub_millisecond_timeouts=*/true}))
