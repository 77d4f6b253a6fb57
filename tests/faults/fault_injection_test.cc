// Copyright 2026 The poller Authors.
//
// The fault_injection suite (fault_injection_suite.h) on every built-in backend
// instance (tests/builtin_backends.h).

#include "gtest/gtest.h"
#include "tests/backend_under_test.h"
#include "tests/builtin_backends.h"
#include "tests/faults/fault_injection_suite.h"

POLLER_INSTANTIATE_BACKEND_SUITE(
    poller::faults, FaultInjectionTest, AllBackends,
    ::testing::ValuesIn(::poller::conformance::BuiltinBackends()))
