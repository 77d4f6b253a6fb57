// Copyright 2026 The poller Authors.
//
// The pitfalls suite (pitfalls_suite.h) on every built-in backend instance
// (tests/builtin_backends.h).

#include "gtest/gtest.h"
#include "tests/backend_under_test.h"
#include "tests/builtin_backends.h"
#include "tests/faults/pitfalls_suite.h"

POLLER_INSTANTIATE_BACKEND_SUITE(
    poller::faults, PitfallTest, AllBackends,
    ::testing::ValuesIn(::poller::conformance::BuiltinBackends()))
