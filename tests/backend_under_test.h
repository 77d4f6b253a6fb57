// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/backend_under_test.h
// -----------------------------------------------------------------------------
//
// The fixture every test suite of poller runs on: a BackendUnderTest names a
// backend instance and says how to make a poller of it. The conformance,
// stress, fault and fuzz-replay suites are all parameterized by it, so one
// instance (a built-in backend, a backend with options such as epoll with
// kernel oneshot, or a backend of your own) runs every suite. To run them all
// on your backend, see tests/all_suites.h.

#ifndef POLLER_TESTS_BACKEND_UNDER_TEST_H_
#define POLLER_TESTS_BACKEND_UNDER_TEST_H_

#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "poller/poller.h"

namespace poller::conformance {

using PollerFactory = std::function<absl::StatusOr<std::unique_ptr<Poller>>()>;

// A backend instance to test.
struct BackendUnderTest {
  // Shown in test names (Epoll/ConformanceTest.LevelKeepsReporting/0); any
  // character other than a letter, a digit or '_' is shown as '_'.
  std::string name;
  // Makes a new poller of the backend. Unavailable (the kernel refuses the
  // backend here) skips every test, saying why, instead of failing it.
  PollerFactory factory;
  // Names of conformance tests (without suite or instance prefix, e.g.
  // "SubMillisecondTimeoutPrecision") this backend declares it cannot pass;
  // they are skipped with a message. The other suites ignore it.
  std::set<std::string> unsupported;

  friend void PrintTo(const BackendUnderTest& backend, std::ostream* out) {
    *out << backend.name;
  }
};

// Wraps factories returning a plain unique_ptr.
template <typename Factory>
PollerFactory MakeFactory(Factory factory) {
  return [factory]() -> absl::StatusOr<std::unique_ptr<Poller>> {
    return factory();
  };
}

// The instance's name as GoogleTest accepts it in a test name.
std::string BackendTestName(
    const ::testing::TestParamInfo<BackendUnderTest>& info);

// Base of the stress, fault and fuzz-replay fixtures.
class BackendTest : public ::testing::TestWithParam<BackendUnderTest> {
 protected:
  // Creates `poller_`: skips the test, saying why, when the backend is
  // unavailable here (the factory says Unavailable or Unimplemented), and
  // fails it on any other error. A fixture that overrides SetUp calls this
  // first and returns if IsSkipped() or HasFatalFailure().
  void SetUp() override;

  const BackendUnderTest& backend() const { return GetParam(); }

  std::unique_ptr<Poller> poller_;
};

}  // namespace poller::conformance

// Instantiates the parameterized suite `suite` of namespace `suite_namespace`
// (e.g. poller::stress, StressTest) on `values`, a GoogleTest generator of
// BackendUnderTest (::testing::Values(Mine()), ::testing::ValuesIn(list)).
// `instance_name` is an identifier, unique per suite in the binary.
// (GoogleTest pastes the suite name into identifiers, so the instantiation is
// written inside the suite's namespace.)
#define POLLER_INSTANTIATE_BACKEND_SUITE(suite_namespace, suite,    \
                                         instance_name, values)     \
  namespace suite_namespace {                                       \
  INSTANTIATE_TEST_SUITE_P(instance_name, suite, values,            \
                           ::poller::conformance::BackendTestName); \
  }

#endif  // POLLER_TESTS_BACKEND_UNDER_TEST_H_
