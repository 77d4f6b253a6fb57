// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/conformance/rules.h
// -----------------------------------------------------------------------------
//
// What every file of the conformance suite shares: the RULE macro that names
// the rule of poller.h a test checks, the time bounds, and small helpers over
// the public API. Internal to the suite.

#ifndef POLLER_TESTS_CONFORMANCE_RULES_H_
#define POLLER_TESTS_CONFORMANCE_RULES_H_

#include <chrono>
#include <map>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "poller/poller.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/suite.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {

// Names the rule a test checks in every failure message below it.
#define RULE(text) SCOPED_TRACE("rule: " text)

// Skips the rest of the test unless the backend supports `mode`. GTEST_SKIP in
// a helper returns only from the helper, so the test must return too.
#define REQUIRE_MODE(mode)                   \
  do {                                       \
    RequireMode(mode);                       \
    if (IsSkipped() || HasFailure()) return; \
  } while (false)

// A test of a POSIX facility that Windows lacks is compiled there as a skip
// that says why, so the totals still show it: SKIPPED_ON_WINDOWS(Name, "why")
// in the #if defined(_WIN32) branch, the test itself in the #else branch.
#define SKIPPED_ON_WINDOWS(test_name, reason) \
  TEST_P(ConformanceTest, test_name) { GTEST_SKIP() << "Windows: " reason; }

// Skips the rest of the test unless `gate` holds a thread within kPrompt: a
// backend that makes no system call through poller's seam (a user's own)
// cannot be held, so the schedule cannot be forced. SKIP_UNLESS_HELD_ELSE
// also runs `release_others` first (e.g. a Wake for a waiter that would
// otherwise sleep out its timeout).
#define SKIP_UNLESS_HELD_ELSE(gate, release_others)                        \
  do {                                                                     \
    if (!(gate).WaitUntilHeld(kPrompt)) {                                  \
      (gate).Release();                                                    \
      release_others;                                                      \
      GTEST_SKIP() << "the backend made no system call through "           \
                      "poller's seam here; the schedule cannot be forced"; \
    }                                                                      \
  } while (false)
#define SKIP_UNLESS_HELD(gate) SKIP_UNLESS_HELD_ELSE(gate, (void)0)

// Generous bounds: the suite runs on loaded 2-core machines and under
// sanitizers.
inline constexpr absl::Duration kPrompt = absl::Seconds(5);
inline constexpr absl::Duration kQuiet = absl::Milliseconds(50);

// How long a test waits for a thread that should finish promptly before it
// fails naming the rule.
inline constexpr absl::Duration kJoinLimit = absl::Seconds(10);

using ::poller::testing::WaitOnce;

inline Readiness ReadinessOf(const std::map<Token, Readiness>& seen,
                             Token token) {
  auto it = seen.find(token);
  return it == seen.end() ? Readiness::kNone : it->second;
}

// Waits up to kPrompt for `token` and returns its readiness (kNone if it never
// came).
inline Readiness WaitForToken(Poller& poller, Token token) {
  Events events(64);
  const absl::Time give_up = absl::Now() + kPrompt;
  while (absl::Now() < give_up) {
    auto seen = WaitOnce(poller, events, absl::Milliseconds(100));
    if (!seen.ok()) {
      ADD_FAILURE() << seen.status();
      return Readiness::kNone;
    }
    Readiness readiness = ReadinessOf(*seen, token);
    if (readiness != Readiness::kNone) return readiness;
  }
  return Readiness::kNone;
}

// Expects that a short wait reports nothing for `token`.
inline void ExpectQuiet(Poller& poller, Token token,
                        absl::Duration timeout = kQuiet) {
  Events events(64);
  auto seen = WaitOnce(poller, events, timeout);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->count(token), 0u) << "token " << token << " was reported";
}

inline absl::Duration Since(std::chrono::steady_clock::time_point start) {
  return absl::FromChrono(std::chrono::steady_clock::now() - start);
}

}  // namespace poller::conformance

#endif  // POLLER_TESTS_CONFORMANCE_RULES_H_
