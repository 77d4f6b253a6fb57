// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/conformance/suite.h
// -----------------------------------------------------------------------------
//
// The conformance suite: the executable specification of poller/poller.h. Every
// backend, poller's own and yours, runs the same tests through the public
// Poller API. To run it against a backend, depend on
// `@poller//tests/conformance:suite` in a cc_test, fill in a BackendUnderTest
// (tests/backend_under_test.h) in a function and pass its call (no braces, so
// no macro parentheses are needed):
//
//   #include "tests/conformance/suite.h"
//
//   poller::conformance::BackendUnderTest Mine() {
//     poller::conformance::BackendUnderTest backend;
//     backend.name = "Mine";
//     backend.factory = poller::conformance::MakeFactory([] {
//       return poller::Poller::FromBackend(std::make_unique<MyBackend>());
//     });
//     return backend;
//   }
//   POLLER_CONFORMANCE_SUITE(Mine, Mine());
//
// The factory returns absl::StatusOr<std::unique_ptr<poller::Poller>> (or a
// plain std::unique_ptr<poller::Poller>). If it returns Unavailable (the kernel
// refuses the backend here), every test skips with that reason instead of
// failing.
//
// What a backend does not do, it declares:
//   - modes: through Backend::SupportsMode. Tests of an unsupported mode skip,
//     saying so, and the suite checks that Add/Modify in that mode fail with
//     Unimplemented.
//   - timeouts only to the millisecond: through
//     Backend::timeout_resolution().
//   - an interest it cannot report: through Backend::SupportsInterest.
//   - anything else: name the tests in BackendUnderTest::unsupported; they
//     skip with "declared unsupported by the backend", and a name that is not
//     a test of the suite fails every test. Use it sparingly and document why
//     in your backend's header.
//
// Some rules force races through poller's system-call seam
// (poller/internal/syscall.h); a backend whose system calls do not go through
// it skips those, saying so.
//
// To run the stress, fault, hygiene, pitfall and fuzz-replay suites on the
// same backend too, use POLLER_BACKEND_SUITES (tests/all_suites.h) instead.
//
// Each failure message starts with the rule of poller.h that was broken
// ("rule: ..."); a thread that does not finish in time ends the test binary
// naming its rule rather than hanging.

#ifndef POLLER_TESTS_CONFORMANCE_SUITE_H_
#define POLLER_TESTS_CONFORMANCE_SUITE_H_

#include <memory>

#include "gtest/gtest.h"
#include "poller/poller.h"
#include "tests/backend_under_test.h"

namespace poller::conformance {

class ConformanceTest : public ::testing::TestWithParam<BackendUnderTest> {
 protected:
  // Creates `poller_` (skipping the test if the backend is Unavailable here)
  // and skips tests the backend declared unsupported.
  void SetUp() override;

  // Another poller of the same backend (fails the test if it cannot be
  // created).
  std::unique_ptr<Poller> NewPoller();

  // Skips the test unless the backend supports `mode`; checks the Unimplemented
  // promise if not. Call it through REQUIRE_MODE (rules.h), which also returns
  // from the test.
  void RequireMode(Mode mode);

  std::unique_ptr<Poller> poller_;
};

}  // namespace poller::conformance

// Instantiates the whole suite for one backend: `instance_name` is an
// identifier (e.g. Epoll), `backend_under_test` a BackendUnderTest (see the
// file comment). Every suite at once: POLLER_BACKEND_SUITES
// (tests/all_suites.h).
#define POLLER_CONFORMANCE_SUITE(instance_name, backend_under_test)      \
  POLLER_INSTANTIATE_BACKEND_SUITE(poller::conformance, ConformanceTest, \
                                   instance_name,                        \
                                   ::testing::Values(backend_under_test))

#endif  // POLLER_TESTS_CONFORMANCE_SUITE_H_
