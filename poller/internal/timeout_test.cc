// Copyright 2026 The poller Authors.

#include "poller/internal/timeout.h"

#include <climits>

#include "gtest/gtest.h"

namespace poller::internal {
namespace {

TEST(TimeoutToMillisecondsTest, RoundsUpNeverDown) {
  EXPECT_EQ(TimeoutToMilliseconds(absl::InfiniteDuration()), -1);
  EXPECT_EQ(TimeoutToMilliseconds(absl::ZeroDuration()), 0);
  EXPECT_EQ(TimeoutToMilliseconds(absl::Milliseconds(-5)), 0);
  EXPECT_EQ(TimeoutToMilliseconds(absl::Nanoseconds(1)), 1);
  EXPECT_EQ(TimeoutToMilliseconds(absl::Microseconds(100)), 1);
  EXPECT_EQ(TimeoutToMilliseconds(absl::Milliseconds(3)), 3);
  EXPECT_EQ(TimeoutToMilliseconds(absl::Microseconds(3100)), 4);
  EXPECT_EQ(TimeoutToMilliseconds(absl::Hours(24 * 365)), INT_MAX);
}

TEST(NormalizeTimeoutTest, TooLongToRepresentIsInfinite) {
  EXPECT_EQ(NormalizeTimeout(absl::Seconds(-1)), absl::ZeroDuration());
  EXPECT_EQ(NormalizeTimeout(-absl::InfiniteDuration()), absl::ZeroDuration());
  EXPECT_EQ(NormalizeTimeout(absl::Nanoseconds(1)), absl::Nanoseconds(1));
  EXPECT_EQ(NormalizeTimeout(absl::Hours(24 * 365 * 99)),
            absl::Hours(24 * 365 * 99));
  EXPECT_EQ(NormalizeTimeout(absl::Hours(24 * 365 * 300)),
            absl::InfiniteDuration());
  EXPECT_EQ(NormalizeTimeout(absl::InfiniteDuration()),
            absl::InfiniteDuration());
}

TEST(TimeoutToTimespecTest, ExactToTheNanosecond) {
  struct timespec ts;
  EXPECT_FALSE(TimeoutToTimespec(absl::InfiniteDuration(), &ts));
  ASSERT_TRUE(TimeoutToTimespec(absl::ZeroDuration(), &ts));
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 0);
  ASSERT_TRUE(TimeoutToTimespec(absl::Seconds(-1), &ts));
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 0);
  ASSERT_TRUE(TimeoutToTimespec(absl::Microseconds(100), &ts));
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 100000);
  ASSERT_TRUE(TimeoutToTimespec(absl::Seconds(2) + absl::Nanoseconds(7), &ts));
  EXPECT_EQ(ts.tv_sec, 2);
  EXPECT_EQ(ts.tv_nsec, 7);
  // Sub-nanosecond remainders round up.
  ASSERT_TRUE(TimeoutToTimespec(absl::Nanoseconds(1) / 4, &ts));
  EXPECT_EQ(ts.tv_nsec, 1);
}

}  // namespace
}  // namespace poller::internal
