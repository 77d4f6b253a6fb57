// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/stress/stress_suite.h
// -----------------------------------------------------------------------------
//
// The stress suite (stress_suite.cc): concurrent churn on one backend
// instance, checked by a ledger. Instantiate it with
// POLLER_INSTANTIATE_BACKEND_SUITE(poller::stress, StressTest, Name, values),
// or every suite at once with POLLER_BACKEND_SUITES (tests/all_suites.h).

#ifndef POLLER_TESTS_STRESS_STRESS_SUITE_H_
#define POLLER_TESTS_STRESS_STRESS_SUITE_H_

#include "tests/backend_under_test.h"

namespace poller::stress {

// The wall-clock length of one backend's run: 3 s unless set (stress_test's
// --stress_seconds=N).
void SetStressSeconds(double seconds);

class StressTest : public conformance::BackendTest {};

}  // namespace poller::stress

#endif  // POLLER_TESTS_STRESS_STRESS_SUITE_H_
