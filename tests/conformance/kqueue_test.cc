// Copyright 2026 The poller Authors.
//
// The conformance suite on the kqueue backend. Only macOS and the BSDs build
// it; on a Mac with Bazel: ./bazelw test //tests/conformance:kqueue_test

#include "poller/poller.h"
#include "tests/conformance/suite.h"

namespace {

poller::conformance::BackendUnderTest Kqueue() {
  poller::conformance::BackendUnderTest backend;
  backend.name = "kqueue";
  backend.factory = poller::conformance::MakeFactory(
      [] { return poller::Poller::Create("kqueue"); });
#if defined(__FreeBSD__) || defined(__NetBSD__)
  // No kqueue filter there reports TCP urgent data: priority interest is
  // accepted but never reported (backends/kqueue/kqueue_backend.h).
  backend.unsupported = {"PriorityData"};
#endif
  return backend;
}

}  // namespace

POLLER_CONFORMANCE_SUITE_WITH_OPTIONS(Builtin, Kqueue());
