// Copyright 2026 The poller Authors.
//
// Conformance rules at the edges of every argument: timeouts from 1 ns to
// centuries, descriptor numbers up to INT_MAX, impossible and moved-from
// event buffers. Nothing may wrap, throw, spin, or keep memory it does not
// need.
//
// Promises: poller/poller.h: Events, Add, Wait.

#if !defined(_WIN32)
#include <unistd.h>
#endif

#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::BoundedThread;
using ::poller::testing::Pipe;

// A Wait with `timeout` and nothing to report must still be waiting after
// 100 ms, and a Wake must then end it (the positive control).
void ExpectWaitsPastAWhileThenWakes(Poller& poller, absl::Duration timeout) {
  std::atomic<bool> returned{false};
  absl::StatusOr<size_t> result = 0;
  BoundedThread waiter(
      [&] {
        Events events(8);
        result = poller.Wait(events, timeout);
        returned = true;
      },
      "a long finite timeout: the waiter");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(returned) << "Wait(" << timeout << ") returned early";
  ASSERT_TRUE(poller.Wake().ok());
  ASSERT_TRUE(waiter.Join(kPrompt))
      << "Wake did not end Wait(" << timeout << ")";
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 0u);
}

TEST_P(ConformanceTest, LongFiniteTimeoutsNeverEndEarly) {
  RULE(
      "every finite timeout is honoured, never early; one too long to "
      "represent behaves as infinite");
  for (absl::Duration timeout :
       {absl::Hours(24 * 24.9), absl::Hours(24 * 365 * 300),
        absl::Hours(24 * 365 * 1000), absl::Seconds(INT64_MAX / 2),
        absl::InfiniteDuration()}) {
    SCOPED_TRACE(absl::FormatDuration(timeout));
    ExpectWaitsPastAWhileThenWakes(*poller_, timeout);
    if (HasFailure()) return;
  }
}

TEST_P(ConformanceTest, LongTimeoutOfAQueuedWaiterIsHonoured) {
  RULE(
      "a second Wait with a timeout too long to represent waits its turn and "
      "then waits, never returning at once");
  std::atomic<bool> first_returned{false};
  BoundedThread first(
      [&] {
        Events events(8);
        EXPECT_TRUE(poller_->Wait(events, absl::Milliseconds(300)).ok());
        first_returned = true;
      },
      "LongTimeoutOfAQueuedWaiter: the first waiter");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // The second waiter queues behind the first; it must not return before the
  // first has, nor when the first returns, but wait on.
  std::atomic<bool> second_returned{false};
  BoundedThread second(
      [&] {
        Events events(8);
        EXPECT_TRUE(poller_->Wait(events, absl::Hours(24 * 365 * 1000)).ok());
        second_returned = true;
      },
      "LongTimeoutOfAQueuedWaiter: the second waiter");
  ASSERT_TRUE(first.Join(kPrompt));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(second_returned) << "the queued waiter returned early";
  // Positive control: a Wake ends it.
  ASSERT_TRUE(poller_->Wake().ok());
  EXPECT_TRUE(second.Join(kPrompt));
}

TEST_P(ConformanceTest, ShortAndNegativeTimeouts) {
  RULE(
      "a negative or zero timeout polls without blocking; 1 ns and 999 us are "
      "waited out, never cut short");
  Events events(8);
  for (absl::Duration timeout :
       {absl::ZeroDuration(), absl::Nanoseconds(-1), absl::Seconds(-5),
        -absl::InfiniteDuration()}) {
    auto start = std::chrono::steady_clock::now();
    auto count = poller_->Wait(events, timeout);
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, 0u);
    EXPECT_LT(Since(start), kPrompt) << absl::FormatDuration(timeout);
  }
  for (absl::Duration timeout :
       {absl::Nanoseconds(1), absl::Microseconds(999)}) {
    auto start = std::chrono::steady_clock::now();
    auto count = poller_->Wait(events, timeout);
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_GE(Since(start), timeout) << absl::FormatDuration(timeout);
  }
}

// Resident memory of this process, from /proc (0 where there is none).
size_t ResidentBytes() {
#if defined(_WIN32)
  return 0;
#else
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long size = 0, resident = 0;  // NOLINT(runtime/int)
  const int read = std::fscanf(statm, "%lu %lu", &size, &resident);
  std::fclose(statm);
  return read == 2 ? resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE))
                   : 0;
#endif
}

TEST_P(ConformanceTest, AbsurdDescriptorNumbersAreInvalidArgument) {
  RULE(
      "a descriptor number that names nothing is InvalidArgument for Add, "
      "Modify and Delete, costs no memory, and throws nothing");
  const size_t resident_before = ResidentBytes();
  for (long long number : {-1LL, static_cast<long long>(INT_MIN), 10000000LL,
                           INT_MAX - 1LL, static_cast<long long>(INT_MAX)}) {
    const auto handle = static_cast<NativeHandle>(number);
    SCOPED_TRACE(handle);
    for (Mode mode : {Mode::kOneshot, Mode::kLevel}) {
      absl::Status added = poller_->Add(handle, 1, Interest::kReadable, mode);
      EXPECT_EQ(added.code(), absl::StatusCode::kInvalidArgument) << added;
    }
    absl::Status modified =
        poller_->Modify(handle, 1, Interest::kReadable, Mode::kOneshot);
    EXPECT_TRUE(modified.code() == absl::StatusCode::kInvalidArgument ||
                modified.code() == absl::StatusCode::kNotFound)
        << modified;
    absl::Status deleted = poller_->Delete(handle);
    EXPECT_TRUE(deleted.code() == absl::StatusCode::kInvalidArgument ||
                deleted.code() == absl::StatusCode::kNotFound)
        << deleted;
  }
  const size_t resident_after = ResidentBytes();
  if (resident_before != 0) {
    EXPECT_LT(resident_after, resident_before + (32u << 20))
        << "rejected descriptor numbers kept "
        << (resident_after - resident_before) / (1 << 20) << " MiB";
  }
  // Positive control: the poller still works.
  Pipe pipe = ::poller::testing::MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 2, Interest::kReadable).ok());
  ::poller::testing::WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 2), Readiness::kReadable));
}

TEST_P(ConformanceTest, ImpossibleEventsCapacityIsClampedWithoutThrowing) {
  RULE(
      "an Events capacity that cannot be allocated is clamped or reported, "
      "never thrown; capacity 0 is taken as 1");
  Events huge(std::numeric_limits<size_t>::max() / 2);
  EXPECT_LE(huge.capacity(), Events::kMaxCapacity);
  Events zero(0);
  EXPECT_EQ(zero.capacity(), 1u);
  Pipe pipe = ::poller::testing::MakePipe();
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 3, Interest::kReadable, Mode::kLevel)
          .ok());
  ::poller::testing::WriteBytes(pipe.write_end.get());
  for (Events* events : {&huge, &zero}) {
    auto count = poller_->Wait(*events, kPrompt);
    if (events->capacity() == 0) {
      EXPECT_EQ(count.status().code(), absl::StatusCode::kResourceExhausted);
      continue;
    }
    ASSERT_TRUE(count.ok()) << count.status();
    ASSERT_EQ(*count, 1u);
    EXPECT_EQ((*events)[0].token(), 3u);
  }
}

TEST_P(ConformanceTest, MovedFromEventsIsEmptyAndSafe) {
  RULE(
      "a moved-from Events is empty with capacity 0, and a Wait into it is "
      "InvalidArgument, not a crash");
  Pipe pipe = ::poller::testing::MakePipe();
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 4, Interest::kReadable, Mode::kLevel)
          .ok());
  ::poller::testing::WriteBytes(pipe.write_end.get());
  Events source(8);
  ASSERT_TRUE(poller_->Wait(source, kPrompt).ok());
  EXPECT_EQ(source.size(), 1u);
  Events moved(std::move(source));
  EXPECT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved.capacity(), 8u);
  // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from state is the rule.
  EXPECT_EQ(source.capacity(), 0u);
  EXPECT_TRUE(source.empty());
  EXPECT_EQ(source.begin(), source.end());
  auto count = poller_->Wait(source, kPrompt);
  EXPECT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument)
      << count.status();
  Events assigned(2);
  assigned = std::move(moved);
  EXPECT_EQ(moved.capacity(), 0u);  // NOLINT(bugprone-use-after-move)
  // Positive control: the buffer it moved into works.
  auto again = poller_->Wait(assigned, kPrompt);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 1u);
}

}  // namespace
}  // namespace poller::conformance
