// Copyright 2026 The poller Authors.
//
// Conformance rules for Shutdown: it wakes every waiter, and afterwards Wait
// is Cancelled, Add and Modify are FailedPrecondition, Delete still works.
//
// Promises: poller/poller.h: Shutdown.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::BoundedThread;
using ::poller::testing::MakePipe;
using ::poller::testing::Pipe;

TEST_P(ConformanceTest, ShutdownWakesBlockedWaiters) {
  RULE("Shutdown wakes every waiter, and their Waits return Cancelled");
  std::vector<std::unique_ptr<BoundedThread>> waiters;
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::make_unique<BoundedThread>(
        [&] {
          Events events(8);
          auto count = poller_->Wait(events, absl::InfiniteDuration());
          if (count.status().code() == absl::StatusCode::kCancelled) {
            ++cancelled;
          }
        },
        "ShutdownWakesBlockedWaiters: Shutdown wakes every waiter"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  poller_->Shutdown();
  for (auto& waiter : waiters) {
    EXPECT_TRUE(waiter->Join(kPrompt)) << "a waiter was not woken";
  }
  EXPECT_EQ(cancelled.load(), 3);
}

TEST_P(ConformanceTest, AfterShutdown) {
  RULE(
      "after Shutdown: Wait is Cancelled at once, Add/Modify are "
      "FailedPrecondition, Delete and Wake still work");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 29, Interest::kReadable).ok());
  poller_->Shutdown();
  poller_->Shutdown();  // Idempotent.
  EXPECT_TRUE(poller_->is_shut_down());
  Events events(8);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(poller_->Wait(events, absl::InfiniteDuration()).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_LT(Since(start), kPrompt);
  Pipe other = MakePipe();
  EXPECT_EQ(poller_->Add(other.read_end.get(), 30, Interest::kReadable).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      poller_
          ->Modify(pipe.read_end.get(), 29, Interest::kReadable, Mode::kOneshot)
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(poller_->Wake().ok());
  EXPECT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
}

}  // namespace
}  // namespace poller::conformance
