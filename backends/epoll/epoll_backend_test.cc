// Copyright 2026 The poller Authors.
//
// What the epoll backend promises beyond the conformance suite: the number of
// system calls its oneshot strategies cost (counted through the system-call
// seam).

#include "backends/epoll/epoll_backend.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "gtest/gtest.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller {
namespace {

std::atomic<int> epoll_ctl_calls{0};

int CountEpollCtl(const char* name) {
  if (std::strcmp(name, "epoll_ctl") == 0) ++epoll_ctl_calls;
  return 0;
}

class EpollOneshotCostTest
    : public ::testing::TestWithParam<EpollBackend::OneshotStrategy> {
 protected:
  void SetUp() override {
    EpollBackend::Options options;
    options.oneshot = GetParam();
    auto backend = EpollBackend::Create(options);
    ASSERT_TRUE(backend.ok()) << backend.status();
    poller_ = Poller::FromBackend(*std::move(backend));
    epoll_ctl_calls = 0;
    internal::SetFaultHookForTesting(&CountEpollCtl);
  }
  void TearDown() override { internal::SetFaultHookForTesting(nullptr); }

  bool lazy() const {
    return GetParam() == EpollBackend::OneshotStrategy::kLazy;
  }

  std::unique_ptr<Poller> poller_;
};

// Request/response: the handler drains the handle, then re-arms it.
TEST_P(EpollOneshotCostTest, RearmAfterDrainingCostsNoSyscallWhenLazy) {
  constexpr int kRounds = 100;
  testing::Pipe pipe = testing::MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 1, Interest::kReadable).ok());
  Events events(4);
  for (int round = 0; round < kRounds; ++round) {
    testing::WriteBytes(pipe.write_end.get());
    auto count = poller_->Wait(events, absl::Seconds(5));
    ASSERT_TRUE(count.ok());
    ASSERT_EQ(*count, 1u) << "round " << round;
    testing::DrainBytes(pipe.read_end.get());
    ASSERT_TRUE(poller_
                    ->Modify(pipe.read_end.get(), 1, Interest::kReadable,
                             Mode::kOneshot)
                    .ok());
  }
  // One EPOLL_CTL_ADD; kernel oneshot adds one EPOLL_CTL_MOD per round.
  EXPECT_EQ(epoll_ctl_calls.load(), lazy() ? 1 : 1 + kRounds);
}

// Rearm is the same re-arm without the token and interest: no system call
// on the lazy path either, for both oneshot modes.
TEST_P(EpollOneshotCostTest, RearmCostsNoSyscallWhenLazy) {
  constexpr int kRounds = 100;
  for (Mode mode : {Mode::kOneshot, Mode::kEdgeOneshot}) {
    SCOPED_TRACE(ModeName(mode));
    epoll_ctl_calls = 0;
    testing::Pipe pipe = testing::MakePipe();
    ASSERT_TRUE(
        poller_->Add(pipe.read_end.get(), 7, Interest::kReadable, mode).ok());
    Events events(4);
    for (int round = 0; round < kRounds; ++round) {
      testing::WriteBytes(pipe.write_end.get());
      auto count = poller_->Wait(events, absl::Seconds(5));
      ASSERT_TRUE(count.ok());
      ASSERT_EQ(*count, 1u) << "round " << round;
      ASSERT_EQ(events[0].token(), 7u);
      testing::DrainBytes(pipe.read_end.get());
      ASSERT_TRUE(poller_->Rearm(pipe.read_end.get()).ok());
    }
    // One EPOLL_CTL_ADD; kernel oneshot adds one EPOLL_CTL_MOD per round.
    EXPECT_EQ(epoll_ctl_calls.load(), lazy() ? 1 : 1 + kRounds);
    ASSERT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
  }
}

// The lazy design's worst case: the handle is still ready when the next Wait
// runs, before the re-arm. It must not wake that Wait, and it must not cost
// more than kernel oneshot, plus a constant, per round.
TEST_P(EpollOneshotCostTest, DeferredRearmIsQuietAndBounded) {
  constexpr int kRounds = 50;
  testing::Pipe pipe = testing::MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 1, Interest::kReadable).ok());
  Events events(4);
  for (int round = 0; round < kRounds; ++round) {
    testing::WriteBytes(pipe.write_end.get());
    auto count = poller_->Wait(events, absl::Seconds(5));
    ASSERT_TRUE(count.ok());
    ASSERT_EQ(*count, 1u) << "round " << round;
    // Wait again while the handle is ready and disarmed: nothing to report.
    count = poller_->Wait(events, absl::Milliseconds(1));
    ASSERT_TRUE(count.ok());
    ASSERT_EQ(*count, 0u) << "a disarmed handle was reported";
    testing::DrainBytes(pipe.read_end.get());
    ASSERT_TRUE(poller_
                    ->Modify(pipe.read_end.get(), 1, Interest::kReadable,
                             Mode::kOneshot)
                    .ok());
  }
  // Lazy: after the first round the registration switches to kernel oneshot
  // (one MOD per round), so it costs kernel oneshot's count plus one silencing
  // MOD.
  EXPECT_LE(epoll_ctl_calls.load(), 1 + kRounds + 1);
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, EpollOneshotCostTest,
    ::testing::Values(EpollBackend::OneshotStrategy::kLazy,
                      EpollBackend::OneshotStrategy::kKernel),
    [](const ::testing::TestParamInfo<EpollBackend::OneshotStrategy>& info) {
      return info.param == EpollBackend::OneshotStrategy::kLazy ? "Lazy"
                                                                : "Kernel";
    });

// One transient failure of the call that silences a lazy
// oneshot registration found ready while disarmed used to forget the
// registration: Wait busy-looped and Modify returned Internal.
TEST(EpollSilenceFailureTest, RegistrationSurvivesOneFailedSilencingCall) {
  auto backend = EpollBackend::Create();
  ASSERT_TRUE(backend.ok()) << backend.status();
  std::unique_ptr<Poller> poller = Poller::FromBackend(*std::move(backend));
  testing::Pipe pipe = testing::MakePipe();
  ASSERT_TRUE(poller->Add(pipe.read_end.get(), 1, Interest::kReadable).ok());
  testing::WriteBytes(pipe.write_end.get());
  Events events(8);
  auto first = testing::WaitOnce(*poller, events, absl::Seconds(5));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->count(1), 1u);  // Now disarmed, and still readable.
  {
    testing::SyscallGate gate;
    gate.FailNext("epoll_ctl", ENOMEM);
    auto quiet = testing::WaitOnce(*poller, events, absl::Milliseconds(100));
    ASSERT_TRUE(quiet.ok()) << quiet.status();
    EXPECT_EQ(quiet->count(1), 0u) << "a disarmed registration was reported";
    EXPECT_EQ(gate.failures(), 1) << "the silencing call was not made";
  }
  internal::SetFaultHookForTesting(&CountEpollCtl);
  epoll_ctl_calls = 0;
  auto calm = testing::WaitOnce(*poller, events, absl::Milliseconds(100));
  internal::SetFaultHookForTesting(nullptr);
  ASSERT_TRUE(calm.ok());
  EXPECT_LE(epoll_ctl_calls.load(), 1) << "Wait keeps calling epoll_ctl";
  // The registration is intact: re-arming works and reports the data.
  ASSERT_TRUE(
      poller
          ->Modify(pipe.read_end.get(), 2, Interest::kReadable, Mode::kOneshot)
          .ok());
  auto rearmed = testing::WaitOnce(*poller, events, absl::Seconds(5));
  ASSERT_TRUE(rearmed.ok());
  EXPECT_EQ(rearmed->count(2), 1u);
  EXPECT_EQ(poller->Add(pipe.read_end.get(), 3, Interest::kReadable).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(poller->Delete(pipe.read_end.get()).ok());
}

}  // namespace
}  // namespace poller
