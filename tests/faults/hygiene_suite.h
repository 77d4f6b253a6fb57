// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/faults/hygiene_suite.h
// -----------------------------------------------------------------------------
//
// Descriptor hygiene: create/use/destroy cycles leak nothing; nothing survives
// exec (hygiene_suite.cc), on one backend instance. Instantiate it with
// POLLER_INSTANTIATE_BACKEND_SUITE(poller::faults, HygieneTest, Name, values),
// or every suite at once with POLLER_BACKEND_SUITES (tests/all_suites.h).

#ifndef POLLER_TESTS_FAULTS_HYGIENE_SUITE_H_
#define POLLER_TESTS_FAULTS_HYGIENE_SUITE_H_

#include "tests/backend_under_test.h"

namespace poller::faults {

class HygieneTest : public conformance::BackendTest {};

}  // namespace poller::faults

#endif  // POLLER_TESTS_FAULTS_HYGIENE_SUITE_H_
