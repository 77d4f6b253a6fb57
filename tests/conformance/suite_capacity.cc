// Copyright 2026 The poller Authors.
//
// Conformance rules for the Events buffer: a full buffer never starves a
// handle and never holds one handle twice.
//
// Promises: poller/poller.h: Events, Wait.

#include <set>
#include <vector>

#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::Pipe;
using ::poller::testing::SocketPair;
using ::poller::testing::WriteBytes;

TEST_P(ConformanceTest, CapacityOneDrainsManyReadyHandles) {
  RULE(
      "a buffer smaller than the ready set loses nothing: later waits "
      "deliver the rest, each oneshot handle exactly once");
  constexpr int kHandles = 20;
  std::vector<Pipe> pipes;
  for (int i = 0; i < kHandles; ++i) {
    pipes.push_back(MakePipe());
    ASSERT_TRUE(
        poller_->Add(pipes.back().read_end.get(), 100 + i, Interest::kReadable)
            .ok());
    WriteBytes(pipes.back().write_end.get());
  }
  Events events(1);
  std::multiset<Token> seen;
  const absl::Time give_up = absl::Now() + kPrompt;
  while (seen.size() < kHandles && absl::Now() < give_up) {
    auto count = poller_->Wait(events, absl::Milliseconds(100));
    ASSERT_TRUE(count.ok());
    ASSERT_LE(*count, 1u);
    for (const Event& event : events) seen.insert(event.token());
  }
  ExpectQuiet(*poller_, 100);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kHandles));
  for (int i = 0; i < kHandles; ++i) {
    EXPECT_EQ(seen.count(100 + i), 1u) << "token " << 100 + i;
  }
}

TEST_P(ConformanceTest, LevelCapacityLimitStillReachesEveryHandle) {
  REQUIRE_MODE(Mode::kLevel);
  RULE(
      "level handles beyond the buffer's capacity are reported by later "
      "waits (no starvation)");
  constexpr int kHandles = 10;
  std::vector<Pipe> pipes;
  for (int i = 0; i < kHandles; ++i) {
    pipes.push_back(MakePipe());
    ASSERT_TRUE(poller_
                    ->Add(pipes.back().read_end.get(), 200 + i,
                          Interest::kReadable, Mode::kLevel)
                    .ok());
    WriteBytes(pipes.back().write_end.get());
  }
  Events events(3);
  std::set<Token> seen;
  for (int wait = 0; wait < 20 && seen.size() < kHandles; ++wait) {
    auto count = poller_->Wait(events, kPrompt);
    ASSERT_TRUE(count.ok());
    std::set<Token> in_this_wait;
    for (const Event& event : events) {
      EXPECT_TRUE(in_this_wait.insert(event.token()).second)
          << "token " << event.token() << " twice in one wait";
      seen.insert(event.token());
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kHandles));
}

TEST_P(ConformanceTest, NoDuplicatesWithinOneWait) {
  RULE("one wait reports each ready handle once");
  constexpr int kHandles = 20;
  std::vector<SocketPair> pairs;
  for (int i = 0; i < kHandles; ++i) {
    pairs.push_back(MakeSocketPair());
    WriteBytes(pairs.back().second.get());
    ASSERT_TRUE(poller_
                    ->Add(pairs.back().first.get(), 300 + i,
                          Interest::kReadable | Interest::kWritable)
                    .ok());
  }
  Events events(64);
  std::multiset<Token> seen;
  const absl::Time give_up = absl::Now() + kPrompt;
  while (std::set<Token>(seen.begin(), seen.end()).size() < kHandles &&
         absl::Now() < give_up) {
    ASSERT_TRUE(poller_->Wait(events, absl::Milliseconds(100)).ok());
    std::set<Token> in_this_wait;
    for (const Event& event : events) {
      EXPECT_TRUE(in_this_wait.insert(event.token()).second)
          << "token " << event.token() << " twice in one wait";
      seen.insert(event.token());
    }
  }
  for (int i = 0; i < kHandles; ++i) {
    EXPECT_EQ(seen.count(300 + i), 1u) << "oneshot token " << 300 + i;
  }
}

}  // namespace
}  // namespace poller::conformance
