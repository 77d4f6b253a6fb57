// Copyright 2026 The poller Authors.
//
// Conformance rules for scale and independence: ten thousand registrations,
// one handle in two pollers, and a wake that reaches only its own poller.
//
// Promises: poller/poller.h: Add, Wake.

#if !defined(_WIN32)
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::Pipe;
using ::poller::testing::ScopedFd;
using ::poller::testing::SocketPair;
using ::poller::testing::WriteBytes;

TEST_P(ConformanceTest, TenThousandRegisteredHandles) {
  RULE("10,000 registrations work; only the ready ones are reported");
  constexpr int kHandles = 10000;
  if (poller::testing::RaiseDescriptorLimit(kHandles * 2 + 256) <
      kHandles + 256) {
    GTEST_SKIP() << "RLIMIT_NOFILE too low for 10,000 descriptors here";
  }
  std::vector<ScopedFd> handles;
  std::vector<ScopedFd> write_ends;
  for (int i = 0; i < kHandles; ++i) {
#if defined(__linux__)
    handles.emplace_back(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
#elif defined(_WIN32)
    // 20,000 sockets of 10,000 pairs would pass Wine's descriptor limit.
    handles.push_back(poller::testing::MakeDatagramSocket());
#else
    SocketPair pair = MakeSocketPair();
    handles.push_back(std::move(pair.first));
    write_ends.push_back(std::move(pair.second));
#endif
    ASSERT_TRUE(handles.back().valid());
    ASSERT_TRUE(poller_
                    ->Add(handles.back().get(), static_cast<Token>(i),
                          Interest::kReadable)
                    .ok())
        << "handle " << i;
  }
  std::set<Token> expected;
  for (int i = 0; i < kHandles; i += 100) {
    expected.insert(static_cast<Token>(i));
#if defined(__linux__)
    const uint64_t one = 1;
    ASSERT_EQ(::write(handles[i].get(), &one, sizeof(one)), 8);
#elif defined(_WIN32)
    poller::testing::SendDatagramTo(handles[i].get());
#else
    WriteBytes(write_ends[i].get());
#endif
  }
  std::set<Token> seen;
  Events events(256);
  const absl::Time give_up = absl::Now() + kPrompt;
  while (seen.size() < expected.size() && absl::Now() < give_up) {
    ASSERT_TRUE(poller_->Wait(events, absl::Milliseconds(100)).ok());
    for (const Event& event : events) seen.insert(event.token());
  }
  EXPECT_EQ(seen, expected);
  for (const ScopedFd& handle : handles) {
    ASSERT_TRUE(poller_->Delete(handle.get()).ok());
  }
}

TEST_P(ConformanceTest, SameHandleInTwoPollers) {
  RULE("one handle registered in two pollers is reported by both");
  std::unique_ptr<Poller> other = NewPoller();
  ASSERT_NE(other, nullptr);
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 40, Interest::kReadable).ok());
  ASSERT_TRUE(other->Add(pipe.read_end.get(), 41, Interest::kReadable).ok());
  WriteBytes(pipe.write_end.get());
  EXPECT_TRUE(Has(WaitForToken(*poller_, 40), Readiness::kReadable));
  EXPECT_TRUE(Has(WaitForToken(*other, 41), Readiness::kReadable));
  ASSERT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
  ASSERT_TRUE(
      other
          ->Modify(pipe.read_end.get(), 41, Interest::kReadable, Mode::kOneshot)
          .ok());
  EXPECT_TRUE(Has(WaitForToken(*other, 41), Readiness::kReadable))
      << "deleting from one poller leaves the other's registration";
}

TEST_P(ConformanceTest, WakingOnePollerLeavesAnotherAsleep) {
  RULE("a wake belongs to its poller");
  std::unique_ptr<Poller> other = NewPoller();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(poller_->Wake().ok());
  Events events(8);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(other->Wait(events, absl::Milliseconds(100)).ok());
  EXPECT_GE(Since(start), absl::Milliseconds(100));
}

}  // namespace
}  // namespace poller::conformance
