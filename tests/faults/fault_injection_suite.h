// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/faults/fault_injection_suite.h
// -----------------------------------------------------------------------------
//
// Every errno on every system call the backend makes through poller's seam, and
// out-of-descriptors in a child process (fault_injection_suite.cc), on one
// backend instance. Instantiate it with
// POLLER_INSTANTIATE_BACKEND_SUITE(poller::faults, FaultInjectionTest, Name,
// values), or every suite at once with POLLER_BACKEND_SUITES
// (tests/all_suites.h).

#ifndef POLLER_TESTS_FAULTS_FAULT_INJECTION_SUITE_H_
#define POLLER_TESTS_FAULTS_FAULT_INJECTION_SUITE_H_

#include "tests/backend_under_test.h"

namespace poller::faults {

class FaultInjectionTest : public conformance::BackendTest {
 protected:
  // Removes the fault hook, whatever the test did.
  void TearDown() override;
};

}  // namespace poller::faults

#endif  // POLLER_TESTS_FAULTS_FAULT_INJECTION_SUITE_H_
