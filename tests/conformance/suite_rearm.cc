// Copyright 2026 The poller Authors.
//
// Conformance rules for Poller::Rearm: a oneshot registration re-armed as it
// is, with the token, interest and mode it has.
//
// Promises: poller/poller.h: Rearm.

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::BoundedThread;
using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::Pipe;
using ::poller::testing::SocketPair;
using ::poller::testing::WriteBytes;
using ::testing::HasSubstr;

TEST_P(ConformanceTest, RearmReportsAgainUnderTheSameToken) {
  RULE(
      "Rearm re-arms a oneshot registration that fired: readiness still there "
      "is reported again, under its token, once");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 60, Interest::kReadable, Mode::kOneshot)
          .ok());
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(Has(WaitForToken(*poller_, 60), Readiness::kReadable));
  ExpectQuiet(*poller_, 60);
  absl::Status rearmed = poller_->Rearm(pipe.read_end.get());
  ASSERT_TRUE(rearmed.ok()) << rearmed;
  EXPECT_TRUE(Has(WaitForToken(*poller_, 60), Readiness::kReadable))
      << "the handle is still ready";
  ExpectQuiet(*poller_, 60);
  // Again, so the second re-arm is not special.
  ASSERT_TRUE(poller_->Rearm(pipe.read_end.get()).ok());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 60), Readiness::kReadable));
}

TEST_P(ConformanceTest, RearmKeepsTheInterest) {
  RULE("Rearm keeps the registration's interest");
  SocketPair pair = MakeSocketPair();
  // Readable too, so an interest widened by the re-arm would show.
  WriteBytes(pair.second.get());
  ASSERT_TRUE(
      poller_->Add(pair.first.get(), 61, Interest::kWritable, Mode::kOneshot)
          .ok());
  Readiness readiness = WaitForToken(*poller_, 61);
  ASSERT_TRUE(Has(readiness, Readiness::kWritable));
  ASSERT_FALSE(Has(readiness, Readiness::kReadable));
  ASSERT_TRUE(poller_->Rearm(pair.first.get()).ok());
  readiness = WaitForToken(*poller_, 61);
  EXPECT_TRUE(Has(readiness, Readiness::kWritable));
  EXPECT_FALSE(Has(readiness, Readiness::kReadable))
      << "readable was not asked for, though data is there";
}

TEST_P(ConformanceTest, RearmKeepsTheTokenAndInterestOfTheLastModify) {
  RULE("Rearm re-arms the registration as the last Modify left it");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(
      poller_->Add(pair.first.get(), 62, Interest::kWritable, Mode::kOneshot)
          .ok());
  ASSERT_TRUE(
      poller_->Modify(pair.first.get(), 63, Interest::kReadable, Mode::kOneshot)
          .ok());
  WriteBytes(pair.second.get());
  Events events(8);
  ASSERT_TRUE(Has(WaitForToken(*poller_, 63), Readiness::kReadable));
  ASSERT_TRUE(poller_->Rearm(pair.first.get()).ok());
  auto seen = WaitOnce(*poller_, events, kPrompt);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->count(62), 0u) << "the token Add gave is gone";
  const Readiness readiness = ReadinessOf(*seen, 63);
  EXPECT_TRUE(Has(readiness, Readiness::kReadable));
  EXPECT_FALSE(Has(readiness, Readiness::kWritable))
      << "the interest Add gave is gone";
}

TEST_P(ConformanceTest, RearmOfAnArmedRegistrationChangesNothing) {
  RULE(
      "Rearm of a oneshot registration that has not fired leaves it armed: "
      "one event, not two");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 64, Interest::kReadable, Mode::kOneshot)
          .ok());
  ASSERT_TRUE(poller_->Rearm(pipe.read_end.get()).ok());
  ASSERT_TRUE(poller_->Rearm(pipe.read_end.get()).ok());
  ExpectQuiet(*poller_, 64);
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 64), Readiness::kReadable));
  ExpectQuiet(*poller_, 64);
}

TEST_P(ConformanceTest, RearmKeepsEdgeOneshot) {
  REQUIRE_MODE(Mode::kEdgeOneshot);
  RULE("Rearm keeps an edge-oneshot registration edge-oneshot");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_
                  ->Add(pipe.read_end.get(), 65, Interest::kReadable,
                        Mode::kEdgeOneshot)
                  .ok());
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(Has(WaitForToken(*poller_, 65), Readiness::kReadable));
  DrainBytes(pipe.read_end.get());
  ASSERT_TRUE(poller_->Rearm(pipe.read_end.get()).ok());
  ExpectQuiet(*poller_, 65);
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 65), Readiness::kReadable))
      << "new data after the re-arm";
  WriteBytes(pipe.write_end.get());
  ExpectQuiet(*poller_, 65);
}

TEST_P(ConformanceTest, RearmOfLevelOrEdgeIsFailedPrecondition) {
  RULE(
      "Rearm of a level or edge registration, which is never disarmed, is "
      "FailedPrecondition naming the mode, and leaves the registration as it "
      "was");
  bool checked_a_mode = false;
  Token token = 66;
  for (Mode mode : {Mode::kLevel, Mode::kEdge}) {
    if (!poller_->SupportsMode(mode)) continue;
    checked_a_mode = true;
    ++token;
    SCOPED_TRACE(ModeName(mode));
    Pipe pipe = MakePipe();
    ASSERT_TRUE(
        poller_->Add(pipe.read_end.get(), token, Interest::kReadable, mode)
            .ok());
    absl::Status rearmed = poller_->Rearm(pipe.read_end.get());
    EXPECT_EQ(rearmed.code(), absl::StatusCode::kFailedPrecondition) << rearmed;
    EXPECT_THAT(rearmed.message(), HasSubstr(ModeName(mode)));
    EXPECT_THAT(rearmed.message(),
                HasSubstr(absl::StrCat("fd ", pipe.read_end.get())));
    // The registration still works, in its own mode.
    WriteBytes(pipe.write_end.get());
    EXPECT_TRUE(Has(WaitForToken(*poller_, token), Readiness::kReadable));
    ASSERT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
  }
  if (!checked_a_mode) {
    GTEST_SKIP() << "the backend supports neither level nor edge";
  }
}

TEST_P(ConformanceTest, RearmErrors) {
  RULE(
      "Rearm of a handle not registered (never, or deleted) is NotFound "
      "naming it, as Modify; of an invalid one (-1) InvalidArgument");
  Pipe pipe = MakePipe();
  absl::Status status = poller_->Rearm(pipe.read_end.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("fd ", pipe.read_end.get())));
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 70, Interest::kReadable, Mode::kOneshot)
          .ok());
  EXPECT_TRUE(poller_->Rearm(pipe.read_end.get()).ok()) << "positive control";
  ASSERT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
  status = poller_->Rearm(pipe.read_end.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound)
      << "after Delete: " << status;
  status = poller_->Rearm(-1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

TEST_P(ConformanceTest, RearmAfterShutdownIsFailedPrecondition) {
  RULE("after Shutdown, Rearm is FailedPrecondition");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 71, Interest::kReadable, Mode::kOneshot)
          .ok());
  EXPECT_TRUE(poller_->Rearm(pipe.read_end.get()).ok()) << "positive control";
  poller_->Shutdown();
  EXPECT_EQ(poller_->Rearm(pipe.read_end.get()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(ConformanceTest, RearmDuringBlockedWaitEndsIt) {
  RULE("a Rearm of a ready oneshot handle during a Wait ends that Wait");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 72, Interest::kReadable, Mode::kOneshot)
          .ok());
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(Has(WaitForToken(*poller_, 72), Readiness::kReadable));
  std::atomic<bool> got_it{false};
  BoundedThread waiter(
      [&] {
        Events events(8);
        auto seen = WaitOnce(*poller_, events, kPrompt);
        if (seen.ok() && seen->count(72) > 0) got_it = true;
      },
      "a Wait that a Rearm of a ready handle should have ended");
  // Give the waiter time to block (if it has not, the rule is checked all
  // the same, only without the race).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(poller_->Rearm(pipe.read_end.get()).ok());
  ASSERT_TRUE(waiter.Join(kJoinLimit));
  EXPECT_TRUE(got_it);
}

}  // namespace
}  // namespace poller::conformance
