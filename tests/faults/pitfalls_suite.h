// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/faults/pitfalls_suite.h
// -----------------------------------------------------------------------------
//
// Pitfalls: close without Delete, fork() with a live poller, one handle in two
// pollers (pitfalls_suite.cc), on one backend instance. Instantiate it with
// POLLER_INSTANTIATE_BACKEND_SUITE(poller::faults, PitfallTest, Name, values),
// or every suite at once with POLLER_BACKEND_SUITES (tests/all_suites.h).

#ifndef POLLER_TESTS_FAULTS_PITFALLS_SUITE_H_
#define POLLER_TESTS_FAULTS_PITFALLS_SUITE_H_

#include <map>

#include "absl/time/time.h"
#include "poller/poller.h"
#include "tests/backend_under_test.h"

namespace poller::faults {

class PitfallTest : public conformance::BackendTest {
 protected:
  // Whether the poller runs on the epoll backend (alone or wrapped by a
  // decorator that keeps its name), whose behaviour the tests pin down; the
  // other backends print what they do and must only stay usable.
  bool IsEpoll() const;

  // Tokens reported by waits over `timeout` (at least one wait).
  std::map<Token, Readiness> Collect(
      absl::Duration timeout = absl::Milliseconds(100));

  // The poller still adds, reports and deletes a fresh pipe.
  void ExpectUsable();
};

}  // namespace poller::faults

#endif  // POLLER_TESTS_FAULTS_PITFALLS_SUITE_H_
