// Copyright 2026 The poller Authors.
//
// The conformance suite on one built-in backend, Poller::Create(NAME), where
// NAME is POLLER_TEST_BACKEND: tests/conformance/BUILD compiles this file once
// per row of backends/backends.bzl (conformance_tests()) that needs no options.

#include "poller/poller.h"
#include "tests/conformance/suite.h"

#define POLLER_TEST_STRINGIFY_INNER(x) #x
#define POLLER_TEST_STRINGIFY(x) POLLER_TEST_STRINGIFY_INNER(x)

namespace {

constexpr char kBackend[] = POLLER_TEST_STRINGIFY(POLLER_TEST_BACKEND);

poller::conformance::BackendUnderTest BuiltinBackend() {
  poller::conformance::BackendUnderTest backend;
  backend.name = kBackend;
  backend.factory = poller::conformance::MakeFactory(
      [] { return poller::Poller::Create(kBackend); });
  return backend;
}

}  // namespace

POLLER_CONFORMANCE_SUITE(Builtin, BuiltinBackend());
