// Copyright 2026 The poller Authors.
//
// Conformance rules for Wake: never lost, before or during a Wait or from many
// threads, and collapsed into one return. (The protocol that makes wakes
// cheap has its own rules: suite_wake_protocol.cc.)
//
// Promises: poller/poller.h: Wake.

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::BoundedThread;
using ::poller::testing::MakePipe;
using ::poller::testing::Pipe;
using ::poller::testing::WriteBytes;

TEST_P(ConformanceTest, WakeBeforeWaitIsNotLost) {
  RULE(
      "a Wake before the Wait makes that Wait return promptly, with no events");
  ASSERT_TRUE(poller_->Wake().ok());
  Events events(8);
  auto start = std::chrono::steady_clock::now();
  auto count = poller_->Wait(events, absl::InfiniteDuration());
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0u);
  EXPECT_LT(Since(start), kPrompt);
}

TEST_P(ConformanceTest, WakeDuringWait) {
  RULE("a Wake from another thread ends a blocked Wait");
  BoundedThread waiter(
      [&] {
        Events events(8);
        auto count = poller_->Wait(events, absl::InfiniteDuration());
        EXPECT_TRUE(count.ok());
        EXPECT_EQ(count.value_or(1), 0u);
      },
      "WakeDuringWait: a Wake from another thread ends a blocked Wait");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(poller_->Wake().ok());
  EXPECT_TRUE(waiter.Join(kPrompt)) << "the Wait did not return";
}

TEST_P(ConformanceTest, WakesCollapseIntoOneReturn) {
  RULE("many wakes before one Wait collapse into one return");
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(poller_->Wake().ok());
  Events events(8);
  auto count = poller_->Wait(events, kPrompt);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0u);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(poller_->Wait(events, absl::Milliseconds(100)).ok());
  EXPECT_GE(Since(start), absl::Milliseconds(100))
      << "a leftover wake ended the next wait";
}

TEST_P(ConformanceTest, WakeIsNeverLost) {
  RULE("a wake is never lost, whenever it races with the Wait");
  Events events(8);
  for (int round = 0; round < 300; ++round) {
    std::thread waker([&, round] {
      if (round % 3 == 1) std::this_thread::yield();
      if (round % 3 == 2) {
        std::this_thread::sleep_for(std::chrono::microseconds(round % 50));
      }
      EXPECT_TRUE(poller_->Wake().ok());
    });
    auto start = std::chrono::steady_clock::now();
    auto count = poller_->Wait(events, kPrompt);
    waker.join();
    ASSERT_TRUE(count.ok());
    ASSERT_LT(Since(start), kPrompt) << "round " << round << ": wake lost";
    // A wake that landed after the Wait returned (the waiter could return early
    // only for an event, and there are none) is consumed here so rounds stay
    // independent.
    ASSERT_TRUE(poller_->Wait(events, absl::ZeroDuration()).ok());
  }
}

TEST_P(ConformanceTest, WakeFromManyThreads) {
  RULE("concurrent wakes from many threads each end a wait; none is lost");
  constexpr int kThreads = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> waits{0};
  std::atomic<int> timed_out{0};
  BoundedThread waiter(
      [&] {
        Events events(8);
        // At least one Wait, however soon the wakers finish.
        do {
          auto start = std::chrono::steady_clock::now();
          auto count = poller_->Wait(events, kPrompt);
          EXPECT_TRUE(count.ok());
          if (Since(start) >= kPrompt) ++timed_out;
          ++waits;
        } while (!stop);
      },
      "WakeFromManyThreads: none of many concurrent wakes is lost");
  std::vector<std::thread> wakers;
  for (int t = 0; t < kThreads; ++t) {
    wakers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) EXPECT_TRUE(poller_->Wake().ok());
    });
  }
  for (auto& waker : wakers) waker.join();
  stop = true;
  ASSERT_TRUE(poller_->Wake().ok());
  EXPECT_TRUE(waiter.Join(kPrompt)) << "the final wake was lost";
  // Every Wait ended by a wake, none by its timeout: wakes kept coming until
  // the last one, which ended the last Wait.
  EXPECT_EQ(timed_out.load(), 0) << "a Wait ran to its timeout during wakes";
  EXPECT_GE(waits.load(), 1);
}

TEST_P(ConformanceTest, WakeReportsNoReservedToken) {
  RULE("the wake source is never reported as an event");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 28, Interest::kReadable).ok());
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(poller_->Wake().ok());
  Events events(8);
  bool saw_pipe = false;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(poller_->Wait(events, kQuiet).ok());
    for (const Event& event : events) {
      EXPECT_NE(event.token(), kReservedToken);
      saw_pipe = saw_pipe || event.token() == 28;
    }
  }
  // Positive control: events were delivered, and none was the wake source.
  EXPECT_TRUE(saw_pipe) << "the ready pipe was never reported";
}

}  // namespace
}  // namespace poller::conformance
