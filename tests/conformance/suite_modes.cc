// Copyright 2026 The poller Authors.
//
// Conformance rules for the modes and for changing a registration: level
// keeps reporting, edge reports once per change, oneshot reports once until
// re-armed; interest, Modify, Delete and tokens.
//
// Promises: poller/poller.h: SupportsMode, Add, Modify, Delete;
// poller/core/types.h: Token, Interest, Mode.

#include <memory>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::Pipe;
using ::poller::testing::ReadableHandle;
using ::poller::testing::ReadableKind;
using ::poller::testing::ReadableKinds;
using ::poller::testing::SocketPair;
using ::poller::testing::WriteBytes;

TEST_P(ConformanceTest, HasNameAndSupportsOneshot) {
  RULE("every backend has a name and supports the default mode, oneshot");
  EXPECT_FALSE(poller_->backend_name().empty());
  EXPECT_TRUE(poller_->SupportsMode(Mode::kOneshot));
}

TEST_P(ConformanceTest, UnsupportedModesAreUnimplemented) {
  RULE("Add in a mode the backend does not support fails with Unimplemented");
  for (Mode mode :
       {Mode::kOneshot, Mode::kLevel, Mode::kEdge, Mode::kEdgeOneshot}) {
    Pipe pipe = MakePipe();
    absl::Status added =
        poller_->Add(pipe.read_end.get(), 1, Interest::kReadable, mode);
    if (poller_->SupportsMode(mode)) {
      EXPECT_TRUE(added.ok()) << ModeName(mode) << ": " << added;
      EXPECT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
    } else {
      EXPECT_EQ(added.code(), absl::StatusCode::kUnimplemented) << added;
    }
  }
}

TEST_P(ConformanceTest, LevelKeepsReporting) {
  REQUIRE_MODE(Mode::kLevel);
  RULE("level: a ready handle is reported by every Wait while it stays ready");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 7, Interest::kReadable, Mode::kLevel)
          .ok());
  ExpectQuiet(*poller_, 7);
  WriteBytes(pipe.write_end.get());
  Events events(8);
  for (int i = 0; i < 3; ++i) {
    auto seen = WaitOnce(*poller_, events, kPrompt);
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_TRUE(Has(ReadinessOf(*seen, 7), Readiness::kReadable))
        << "wait " << i;
  }
  DrainBytes(pipe.read_end.get());
  ExpectQuiet(*poller_, 7);
}

TEST_P(ConformanceTest, EdgeReportsOncePerChange) {
  REQUIRE_MODE(Mode::kEdge);
  RULE(
      "edge: a handle is reported once when it becomes ready, again on new "
      "readiness");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 8, Interest::kReadable, Mode::kEdge)
          .ok());
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 8), Readiness::kReadable));
  ExpectQuiet(*poller_, 8);  // Still readable, but no new edge.
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 8), Readiness::kReadable))
      << "new data is a new edge";
  DrainBytes(pipe.read_end.get());
  ExpectQuiet(*poller_, 8);
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 8), Readiness::kReadable))
      << "ready again after draining is a new edge";
}

TEST_P(ConformanceTest, OneshotReportsOnceUntilModify) {
  RULE("oneshot: after one event nothing is reported until Modify re-arms");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 9, Interest::kReadable).ok());
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 9), Readiness::kReadable));
  ExpectQuiet(*poller_, 9);
  WriteBytes(pipe.write_end.get());  // More data: still disarmed.
  ExpectQuiet(*poller_, 9);
  ASSERT_TRUE(
      poller_
          ->Modify(pipe.read_end.get(), 9, Interest::kReadable, Mode::kOneshot)
          .ok());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 9), Readiness::kReadable))
      << "Modify re-arms a handle that is still ready";
  ExpectQuiet(*poller_, 9);
}

TEST_P(ConformanceTest, EdgeOneshotReportsOnceUntilModify) {
  REQUIRE_MODE(Mode::kEdgeOneshot);
  RULE("edge-oneshot: one event, then nothing until Modify re-arms");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_
                  ->Add(pipe.read_end.get(), 10, Interest::kReadable,
                        Mode::kEdgeOneshot)
                  .ok());
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 10), Readiness::kReadable));
  WriteBytes(pipe.write_end.get());
  ExpectQuiet(*poller_, 10);
  DrainBytes(pipe.read_end.get());
  ASSERT_TRUE(poller_
                  ->Modify(pipe.read_end.get(), 10, Interest::kReadable,
                           Mode::kEdgeOneshot)
                  .ok());
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 10), Readiness::kReadable));
  ExpectQuiet(*poller_, 10);
}

TEST_P(ConformanceTest, EveryModeHoldsForEveryKindOfHandle) {
  RULE(
      "each mode's reporting (level again, edge once per change, oneshot once "
      "until Rearm) and Delete's silence hold for every kind of handle, not "
      "only for pipes");
  for (const ReadableKind& kind : ReadableKinds()) {
    for (Mode mode :
         {Mode::kLevel, Mode::kEdge, Mode::kOneshot, Mode::kEdgeOneshot}) {
      if (!poller_->SupportsMode(mode)) continue;
      SCOPED_TRACE(absl::StrCat(kind.name, ", ", ModeName(mode)));
      std::unique_ptr<ReadableHandle> file = kind.make();
      const NativeHandle handle = file->handle();
      ASSERT_TRUE(poller_->Add(handle, 21, Interest::kReadable, mode).ok());
      file->MakeReadable();
      ASSERT_TRUE(Has(WaitForToken(*poller_, 21), Readiness::kReadable))
          << "a ready handle is reported";
      switch (mode) {
        case Mode::kLevel:
          EXPECT_TRUE(Has(WaitForToken(*poller_, 21), Readiness::kReadable))
              << "level: still ready, so reported again";
          break;
        case Mode::kEdge:
          ExpectQuiet(*poller_, 21);
          file->MakeReadable();
          EXPECT_TRUE(Has(WaitForToken(*poller_, 21), Readiness::kReadable))
              << "edge: new readiness is a new edge";
          break;
        case Mode::kOneshot:
          ExpectQuiet(*poller_, 21);
          ASSERT_TRUE(poller_->Rearm(handle).ok());
          EXPECT_TRUE(Has(WaitForToken(*poller_, 21), Readiness::kReadable))
              << "oneshot: re-armed while still ready, so reported again";
          break;
        case Mode::kEdgeOneshot:
          ExpectQuiet(*poller_, 21);
          ASSERT_TRUE(poller_->Rearm(handle).ok());
          file->MakeReadable();
          EXPECT_TRUE(Has(WaitForToken(*poller_, 21), Readiness::kReadable))
              << "edge-oneshot: re-armed, new readiness is reported";
          break;
      }
      ASSERT_TRUE(poller_->Delete(handle).ok());
      file->MakeReadable();
      // The reports above are this check's positive control.
      ExpectQuiet(*poller_, 21);
    }
  }
}

TEST_P(ConformanceTest, WritableInterest) {
  RULE("writable interest reports a handle with buffer space");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(poller_->Add(pair.first.get(), 11, Interest::kWritable).ok());
  Readiness readiness = WaitForToken(*poller_, 11);
  EXPECT_TRUE(Has(readiness, Readiness::kWritable));
  EXPECT_FALSE(Has(readiness, Readiness::kReadable))
      << "readable was not asked for and no data is there";
}

TEST_P(ConformanceTest, ReadableAndWritableTogether) {
  RULE("one registration may ask for both; both are reported for its token");
  REQUIRE_MODE(Mode::kLevel);
  SocketPair pair = MakeSocketPair();
  WriteBytes(pair.second.get());
  ASSERT_TRUE(poller_
                  ->Add(pair.first.get(), 12,
                        Interest::kReadable | Interest::kWritable, Mode::kLevel)
                  .ok());
  Events events(8);
  Readiness readiness = Readiness::kNone;
  // Backends with one kernel filter per direction merge them within a wait;
  // allow two waits.
  for (int i = 0; i < 2; ++i) {
    auto seen = WaitOnce(*poller_, events, kPrompt);
    ASSERT_TRUE(seen.ok());
    readiness |= ReadinessOf(*seen, 12);
  }
  EXPECT_TRUE(Has(readiness, Readiness::kReadable));
  EXPECT_TRUE(Has(readiness, Readiness::kWritable));
}

TEST_P(ConformanceTest, InterestNoneReportsNoReadiness) {
  RULE("Interest::kNone keeps the registration but reports no readiness");
  Pipe pipe = MakePipe();
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 13, Interest::kNone, Mode::kOneshot)
          .ok());
  ExpectQuiet(*poller_, 13);
  EXPECT_EQ(poller_->Add(pipe.read_end.get(), 13, Interest::kReadable).code(),
            absl::StatusCode::kAlreadyExists)
      << "the registration is kept";
  ASSERT_TRUE(
      poller_
          ->Modify(pipe.read_end.get(), 13, Interest::kReadable, Mode::kOneshot)
          .ok());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 13), Readiness::kReadable));
}

TEST_P(ConformanceTest, ModifyChangesInterest) {
  RULE("Modify replaces the interest");
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(poller_->Add(pair.first.get(), 14, Interest::kReadable).ok());
  ExpectQuiet(*poller_, 14);
  ASSERT_TRUE(
      poller_->Modify(pair.first.get(), 14, Interest::kWritable, Mode::kOneshot)
          .ok());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 14), Readiness::kWritable));
}

TEST_P(ConformanceTest, ModifyChangesToken) {
  RULE("Modify replaces the token: events carry the new one only");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 15, Interest::kReadable).ok());
  ASSERT_TRUE(
      poller_
          ->Modify(pipe.read_end.get(), 16, Interest::kReadable, Mode::kOneshot)
          .ok());
  WriteBytes(pipe.write_end.get());
  Events events(8);
  auto seen = WaitOnce(*poller_, events, kPrompt);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->count(15), 0u);
  EXPECT_TRUE(Has(ReadinessOf(*seen, 16), Readiness::kReadable));
}

TEST_P(ConformanceTest, ModifyChangesMode) {
  REQUIRE_MODE(Mode::kLevel);
  RULE("Modify replaces the mode");
  Pipe pipe = MakePipe();
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(
      poller_->Add(pipe.read_end.get(), 17, Interest::kReadable, Mode::kLevel)
          .ok());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 17), Readiness::kReadable));
  EXPECT_TRUE(Has(WaitForToken(*poller_, 17), Readiness::kReadable));
  ASSERT_TRUE(
      poller_
          ->Modify(pipe.read_end.get(), 17, Interest::kReadable, Mode::kOneshot)
          .ok());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 17), Readiness::kReadable));
  ExpectQuiet(*poller_, 17);
}

TEST_P(ConformanceTest, DeleteStopsDelivery) {
  RULE("after Delete returns, no Wait reports the handle's token");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_
                  ->Add(pipe.read_end.get(), 18, Interest::kReadable,
                        poller_->SupportsMode(Mode::kLevel) ? Mode::kLevel
                                                            : Mode::kOneshot)
                  .ok());
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
  ExpectQuiet(*poller_, 18);
  WriteBytes(pipe.write_end.get());
  ExpectQuiet(*poller_, 18);
  EXPECT_EQ(
      poller_
          ->Modify(pipe.read_end.get(), 18, Interest::kReadable, Mode::kOneshot)
          .code(),
      absl::StatusCode::kNotFound);
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 19, Interest::kReadable).ok())
      << "a deleted handle can be added again";
  EXPECT_TRUE(Has(WaitForToken(*poller_, 19), Readiness::kReadable));
}

TEST_P(ConformanceTest, TokensRoundTripAllSixtyFourBits) {
  RULE("a token comes back exactly as given, all 64 bits");
  const Token tokens[] = {0, 1, 0x8000000000000000ull, 0xfedcba9876543210ull,
                          kReservedToken - 1};
  std::vector<Pipe> pipes;
  for (Token token : tokens) {
    pipes.push_back(MakePipe());
    ASSERT_TRUE(
        poller_->Add(pipes.back().read_end.get(), token, Interest::kReadable)
            .ok());
    WriteBytes(pipes.back().write_end.get());
  }
  std::set<Token> seen_tokens;
  Events events(16);
  const absl::Time give_up = absl::Now() + kPrompt;
  while (seen_tokens.size() < std::size(tokens) && absl::Now() < give_up) {
    auto seen = WaitOnce(*poller_, events, absl::Milliseconds(100));
    ASSERT_TRUE(seen.ok());
    for (const auto& [token, readiness] : *seen) seen_tokens.insert(token);
  }
  EXPECT_EQ(seen_tokens, std::set<Token>(std::begin(tokens), std::end(tokens)));
}

}  // namespace
}  // namespace poller::conformance
