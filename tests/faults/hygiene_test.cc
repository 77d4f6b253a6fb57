// Copyright 2026 The poller Authors.
//
// The hygiene suite (hygiene_suite.h) on every built-in backend instance
// (tests/builtin_backends.h).

#include "gtest/gtest.h"
#include "tests/backend_under_test.h"
#include "tests/builtin_backends.h"
#include "tests/faults/hygiene_suite.h"

POLLER_INSTANTIATE_BACKEND_SUITE(
    poller::faults, HygieneTest, AllBackends,
    ::testing::ValuesIn(::poller::conformance::BuiltinBackends()))
