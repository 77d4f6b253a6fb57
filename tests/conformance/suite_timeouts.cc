// Copyright 2026 The poller Authors.
//
// Conformance rules for Wait's timeout: zero polls, a finite one is never
// early, an infinite one returns on an event.
//
// Promises: poller/poller.h: Wait.

#include <algorithm>
#include <chrono>

#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::BoundedThread;
using ::poller::testing::MakePipe;
using ::poller::testing::Pipe;
using ::poller::testing::WriteBytes;

TEST_P(ConformanceTest, ZeroTimeoutDoesNotBlock) {
  RULE("a zero timeout polls without blocking");
  Events events(8);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    auto count = poller_->Wait(events, absl::ZeroDuration());
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(*count, 0u);
  }
  EXPECT_LT(Since(start), absl::Seconds(1)) << "100 zero-timeout waits";
}

void ExpectNeverEarly(Poller& poller, absl::Duration timeout) {
  Events events(8);
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto count = poller.Wait(events, timeout);
    absl::Duration elapsed = Since(start);
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(*count, 0u);
    EXPECT_GE(elapsed, timeout) << "returned early";
    EXPECT_LT(elapsed, timeout + absl::Seconds(1)) << "returned far too late";
  }
}

TEST_P(ConformanceTest, TimeoutOf100MicrosecondsIsNeverEarly) {
  RULE("Wait never returns before its timeout unless something happened");
  ExpectNeverEarly(*poller_, absl::Microseconds(100));
}

TEST_P(ConformanceTest, TimeoutOf3Point1MillisecondsIsNeverEarly) {
  RULE("Wait never returns before its timeout (3.1 ms is not rounded to 3)");
  ExpectNeverEarly(*poller_, absl::Microseconds(3100));
}

TEST_P(ConformanceTest, TimeoutOf50MillisecondsIsNeverEarly) {
  RULE("Wait never returns before its timeout");
  ExpectNeverEarly(*poller_, absl::Milliseconds(50));
}

TEST_P(ConformanceTest, SubMillisecondTimeoutPrecision) {
  if (poller_->timeout_resolution() >= absl::Milliseconds(1)) {
    GTEST_SKIP() << GetParam().name << " declares millisecond timeouts only "
                 << "(timeout_resolution " << poller_->timeout_resolution()
                 << ")";
  }
  RULE("a 100 us timeout waits well under 1 ms more (best of 20 tries)");
  Events events(8);
  absl::Duration best = absl::InfiniteDuration();
  for (int i = 0; i < 20; ++i) {
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(poller_->Wait(events, absl::Microseconds(100)).ok());
    best = std::min(best, Since(start) - absl::Microseconds(100));
  }
  EXPECT_LT(best, absl::Milliseconds(1));
}

TEST_P(ConformanceTest, InfiniteWaitReturnsOnEvent) {
  RULE("an infinite wait returns when a handle becomes ready");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 27, Interest::kReadable).ok());
  absl::StatusOr<std::map<Token, Readiness>> seen;
  BoundedThread waiter(
      [&] {
        Events events(8);
        seen = WaitOnce(*poller_, events, absl::InfiniteDuration());
      },
      "InfiniteWaitReturnsOnEvent: an infinite wait returns when a handle "
      "becomes ready");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(waiter.Join(kPrompt)) << "the Wait did not return";
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(Has(ReadinessOf(*seen, 27), Readiness::kReadable));
}

}  // namespace
}  // namespace poller::conformance
