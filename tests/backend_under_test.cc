// Copyright 2026 The poller Authors.

#include "tests/backend_under_test.h"

#include <cctype>
#include <string>
#include <utility>

#include "tests/conformance/test_handles.h"

namespace poller::conformance {

std::string BackendTestName(
    const ::testing::TestParamInfo<BackendUnderTest>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

void BackendTest::SetUp() {
  absl::StatusOr<std::unique_ptr<Poller>> created = backend().factory();
  if (poller::testing::IsUnavailableHere(created.status())) {
    GTEST_SKIP() << backend().name
                 << " is unavailable here: " << created.status();
  }
  ASSERT_TRUE(created.ok())
      << backend().name << ": Create failed: " << created.status();
  ASSERT_NE(*created, nullptr) << backend().name << ": the factory gave null";
  poller_ = *std::move(created);
}

}  // namespace poller::conformance
