// Copyright 2026 The poller Authors.
//
// The conformance suite's fixture: creating the poller under test, skipping
// what the backend declares it cannot do, and checking that the declarations
// name real tests. The rules themselves are in the suite_*.cc files, one per
// section of poller/poller.h (tests/README.md lists them); each checks a rule
// through the public API with real descriptors and names it in its failure
// message.

#include "tests/conformance/suite.h"

#include <string>
#include <utility>

#include "tests/conformance/test_handles.h"

namespace poller::conformance {

using ::poller::testing::MakePipe;
using ::poller::testing::Pipe;

namespace {

bool IsConformanceTestName(const std::string& name) {
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
    const std::string suite_name = suite.name();
    if (suite_name.size() < 16 || suite_name.compare(suite_name.size() - 16, 16,
                                                     "/ConformanceTest") != 0) {
      continue;
    }
    for (int j = 0; j < suite.total_test_count(); ++j) {
      const std::string test_name = suite.GetTestInfo(j)->name();
      if (test_name.substr(0, test_name.find('/')) == name) return true;
    }
  }
  return false;
}

}  // namespace

void ConformanceTest::SetUp() {
  const BackendUnderTest& backend = GetParam();
  // A parameterized test's name carries the instance:
  // "EdgeReportsOncePerChange/Poll".
  std::string test_name =
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  test_name = test_name.substr(0, test_name.find('/'));
  // A stale name in `unsupported` would silently skip nothing, or worse, a
  // renamed test's successor: every name must be a test of this suite.
  for (const std::string& declared : backend.unsupported) {
    ASSERT_TRUE(IsConformanceTestName(declared))
        << "BackendUnderTest::unsupported of " << backend.name
        << " names no conformance test: " << declared;
  }
  if (backend.unsupported.count(test_name) > 0) {
    GTEST_SKIP() << test_name << " is declared unsupported by the "
                 << backend.name << " backend";
  }
  absl::StatusOr<std::unique_ptr<Poller>> created = backend.factory();
  if (created.status().code() == absl::StatusCode::kUnavailable) {
    GTEST_SKIP() << backend.name
                 << " is unavailable here: " << created.status();
  }
  ASSERT_TRUE(created.ok()) << "rule: Create succeeds: " << created.status();
  ASSERT_NE(*created, nullptr);
  poller_ = *std::move(created);
}

std::unique_ptr<Poller> ConformanceTest::NewPoller() {
  absl::StatusOr<std::unique_ptr<Poller>> created = GetParam().factory();
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *std::move(created) : nullptr;
}

void ConformanceTest::RequireMode(Mode mode) {
  if (poller_->SupportsMode(mode)) return;
  Pipe pipe = MakePipe();
  EXPECT_EQ(
      poller_->Add(pipe.read_end.get(), 1, Interest::kReadable, mode).code(),
      absl::StatusCode::kUnimplemented)
      << "rule: Add in a mode the backend does not support is Unimplemented";
  GTEST_SKIP() << "the " << poller_->backend_name()
               << " backend does not support mode " << ModeName(mode)
               << " (declared by SupportsMode)";
}

}  // namespace poller::conformance
