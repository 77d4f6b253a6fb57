// Copyright 2026 The poller Authors.
//
// Tests of the policy layer (class Poller) alone, over a fake backend that
// records what reaches it. What every backend must do is tested by the
// conformance suite; this tests what Poller promises to do before a backend is
// called: checks, wake coalescing, shutdown, the timeout loop.

#include "poller/poller.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "poller/core/backend.h"

namespace poller {
namespace {

// A backend whose kernel is a counter: Wake() sets a flag that the next Wait
// reports.
class FakeBackend final : public Backend {
 public:
  struct Counters {
    std::atomic<int> adds{0};
    std::atomic<int> modifies{0};
    std::atomic<int> notifies{0};
    std::atomic<int> waits{0};
    // Waits that return at once with nothing (as a backend that filtered kernel
    // events would).
    std::atomic<int> empty_returns_left{0};
    // Waits that return at once reporting the wake source, with no Wake.
    std::atomic<int> spurious_wakes_left{0};
    std::atomic<bool> last_timeout_was_zero{false};
  };

  explicit FakeBackend(Counters* counters) : counters_(counters) {}

  absl::string_view name() const override { return "fake"; }
  bool SupportsMode(Mode mode) const override { return mode != Mode::kEdge; }
  absl::Status Add(NativeHandle, Token, Interest, Mode) override {
    ++counters_->adds;
    return absl::OkStatus();
  }
  absl::Status Modify(NativeHandle, Token, Interest, Mode) override {
    ++counters_->modifies;
    return absl::OkStatus();
  }
  absl::Status Delete(NativeHandle) override { return absl::OkStatus(); }
  absl::StatusOr<WaitResult> Wait(absl::Span<Event>,
                                  absl::Duration timeout) override {
    ++counters_->waits;
    counters_->last_timeout_was_zero = timeout == absl::ZeroDuration();
    WaitResult result;
    if (counters_->spurious_wakes_left > 0) {
      --counters_->spurious_wakes_left;
      result.woken = true;
      return result;
    }
    if (counters_->empty_returns_left > 0) {
      --counters_->empty_returns_left;
      return result;
    }
    const auto deadline = timeout == absl::InfiniteDuration()
                              ? std::chrono::steady_clock::time_point::max()
                              : std::chrono::steady_clock::now() +
                                    absl::ToChronoNanoseconds(timeout);
    while (!notified_.exchange(false)) {
      if (std::chrono::steady_clock::now() >= deadline) return result;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    result.woken = true;
    return result;
  }
  absl::Status Wake() override {
    ++counters_->notifies;
    notified_ = true;
    return absl::OkStatus();
  }

 private:
  Counters* counters_;
  std::atomic<bool> notified_{false};
};

class PollerPolicyTest : public ::testing::Test {
 protected:
  PollerPolicyTest()
      : poller_(
            Poller::FromBackend(std::make_unique<FakeBackend>(&counters_))) {}

  FakeBackend::Counters counters_;
  std::unique_ptr<Poller> poller_;
};

TEST(PollerFromBackendTest, NullBackendGivesNullPoller) {
  EXPECT_EQ(Poller::FromBackend(nullptr), nullptr);
}

TEST_F(PollerPolicyTest, WakesWhileNoWaitBlocksCostNoBackendWake) {
  // No Wait is blocked or about to block: the next Wait sees the flag.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(poller_->Wake().ok());
  EXPECT_EQ(counters_.notifies.load(), 0);
  Events events(4);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(poller_->Wait(events, absl::Seconds(5)).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4))
      << "the Wait did not see the pending wake";
  // It did not block: the backend was asked only to poll.
  EXPECT_EQ(counters_.last_timeout_was_zero.load(), true);
}

TEST_F(PollerPolicyTest, BurstWhileAWaitBlocksCostsOneOrTwoNotifies) {
  std::thread waiter([&] {
    Events events(4);
    ASSERT_TRUE(poller_->Wait(events, absl::InfiniteDuration()).ok());
  });
  // Inside the backend: announced, and past its look at the flag.
  while (counters_.waits.load() == 0) std::this_thread::yield();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(poller_->Wake().ok());
  waiter.join();
  // One ends the blocked wait; a wake that lands after the waiter took the
  // first but before it left may signal once more.
  EXPECT_GE(counters_.notifies.load(), 1);
  EXPECT_LE(counters_.notifies.load(), 2);
}

TEST_F(PollerPolicyTest, ConcurrentWakesWhileAWaitBlocksCostOneOrTwoNotifies) {
  std::thread waiter([&] {
    Events events(4);
    ASSERT_TRUE(poller_->Wait(events, absl::InfiniteDuration()).ok());
  });
  while (counters_.waits.load() == 0) std::this_thread::yield();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) ASSERT_TRUE(poller_->Wake().ok());
    });
  }
  for (auto& thread : threads) thread.join();
  waiter.join();
  EXPECT_GE(counters_.notifies.load(), 1);
  EXPECT_LE(counters_.notifies.load(), 2);
}

TEST_F(PollerPolicyTest, ASpentSignalDoesNotEndALaterWait) {
  // A backend wait that returns woken with no wake pending (the signal of a
  // wake an earlier Wait consumed) is waited out.
  counters_.spurious_wakes_left = 3;
  Events events(4);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(poller_->Wait(events, absl::Milliseconds(30)).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(30));
  EXPECT_GE(counters_.waits.load(), 4);
}

TEST_F(PollerPolicyTest, ChecksHappenBeforeTheBackend) {
  EXPECT_EQ(poller_->Add(3, kReservedToken, Interest::kReadable).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(poller_->Add(3, 1, Interest::kReadable, Mode::kEdge).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(poller_->SupportsMode(Mode::kEdge));
  EXPECT_FALSE(poller_->SupportsMode(static_cast<Mode>(9)));
  EXPECT_EQ(
      poller_->Modify(3, 1, static_cast<Interest>(0x40), Mode::kLevel).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(counters_.adds.load(), 0);
  EXPECT_EQ(counters_.modifies.load(), 0);
  EXPECT_TRUE(poller_->Add(3, 1, Interest::kReadable).ok());
  EXPECT_EQ(counters_.adds.load(), 1);
}

TEST_F(PollerPolicyTest, RearmOfABackendWithoutItIsUnimplementedNamingIt) {
  // FakeBackend predates Rearm: it compiles, and says what is missing.
  absl::Status rearmed = poller_->Rearm(3);
  EXPECT_EQ(rearmed.code(), absl::StatusCode::kUnimplemented) << rearmed;
  EXPECT_NE(rearmed.message().find("fd 3"), absl::string_view::npos) << rearmed;
  EXPECT_NE(rearmed.message().find("the fake backend"), absl::string_view::npos)
      << rearmed;
  EXPECT_NE(rearmed.message().find("Modify"), absl::string_view::npos)
      << "names the way out: " << rearmed;
}

TEST_F(PollerPolicyTest, RearmAfterShutdownIsFailedPrecondition) {
  poller_->Shutdown();
  EXPECT_EQ(poller_->Rearm(3).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(PollerPolicyTest, EmptyBackendReturnsDoNotEndTheWaitEarly) {
  counters_.empty_returns_left = 5;
  Events events(4);
  const auto start = std::chrono::steady_clock::now();
  auto count = poller_->Wait(events, absl::Milliseconds(30));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(30));
  EXPECT_GE(counters_.waits.load(), 6);
}

TEST_F(PollerPolicyTest, ZeroTimeoutCallsTheBackendOnce) {
  counters_.empty_returns_left = 5;
  Events events(4);
  ASSERT_TRUE(poller_->Wait(events, absl::ZeroDuration()).ok());
  EXPECT_EQ(counters_.waits.load(), 1);
}

TEST_F(PollerPolicyTest, WaitsAreSerialized) {
  // While one thread waits, a zero-timeout Wait does not enter the backend.
  std::thread waiter([&] {
    Events events(4);
    ASSERT_TRUE(poller_->Wait(events, absl::InfiniteDuration()).ok());
  });
  while (counters_.waits.load() == 0) std::this_thread::yield();
  Events events(4);
  ASSERT_TRUE(poller_->Wait(events, absl::ZeroDuration()).ok());
  EXPECT_EQ(counters_.waits.load(), 1);
  ASSERT_TRUE(poller_->Wake().ok());
  waiter.join();
}

TEST_F(PollerPolicyTest, ShutdownWithNoWaiterStillCancelsLaterWaits) {
  poller_->Shutdown();
  Events events(4);
  EXPECT_EQ(poller_->Wait(events, absl::InfiniteDuration()).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(counters_.waits.load(), 0);
}

TEST(ModeNameTest, NamesEveryMode) {
  EXPECT_EQ(ModeName(Mode::kOneshot), "oneshot");
  EXPECT_EQ(ModeName(Mode::kLevel), "level");
  EXPECT_EQ(ModeName(Mode::kEdge), "edge");
  EXPECT_EQ(ModeName(Mode::kEdgeOneshot), "edge-oneshot");
}

TEST(EventsTest, CapacityZeroIsOne) {
  Events events(0);
  EXPECT_EQ(events.capacity(), 1u);
  EXPECT_TRUE(events.empty());
}

TEST(RegistryTest, DefaultBackendIsCompiledAndFirst) {
  std::vector<std::string> compiled = Poller::CompiledBackends();
  ASSERT_FALSE(compiled.empty());
  EXPECT_EQ(compiled.front(), Poller::DefaultBackendName());
  auto unknown = Poller::Create("no-such-backend");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find(compiled.front()),
            absl::string_view::npos)
      << "the message lists what is compiled";
}

}  // namespace
}  // namespace poller
