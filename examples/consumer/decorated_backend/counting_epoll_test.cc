// poller's built-in epoll backend, created directly from its public target
// (@poller//backends/epoll) and wrapped in this workspace's CountingBackend:
// every suite of poller on the decorator, and what the counts show of the
// policy layer above it.

#include <unistd.h>

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "backends/epoll/epoll_backend.h"
#include "decorated_backend/counting_backend.h"
#include "gtest/gtest.h"
#include "poller/poller.h"
#include "tests/all_suites.h"

namespace consumer {
namespace {

absl::StatusOr<std::unique_ptr<poller::Poller>> CountingEpoll(
    std::shared_ptr<CountingBackend::Counts> counts) {
  absl::StatusOr<std::unique_ptr<poller::Backend>> epoll =
      poller::EpollBackend::Create();
  if (!epoll.ok()) return epoll.status();
  return poller::Poller::FromBackend(
      std::make_unique<CountingBackend>(*std::move(epoll), std::move(counts)));
}

TEST(CountingEpollTest, BurstOfWakesWithNoWaiterReachesTheBackendAtMostOnce) {
  auto counts = std::make_shared<CountingBackend::Counts>();
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      CountingEpoll(counts);
  ASSERT_TRUE(poller.ok()) << poller.status();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*poller)->Wake().ok());
  // Poller coalesces wakes, and signals the backend only for a Wait that may
  // block: with none in progress the wake waits for the next one.
  EXPECT_LE(counts->notifies.load(), 1) << "Poller coalesces wakes";
  poller::Events events(8);
  const absl::Time start = absl::Now();
  auto count = (*poller)->Wait(events, absl::Seconds(5));
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 0u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4)) << "the wake was lost";
}

TEST(CountingEpollTest, RearmReachesTheBackendAsRearm) {
  auto counts = std::make_shared<CountingBackend::Counts>();
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      CountingEpoll(counts);
  ASSERT_TRUE(poller.ok()) << poller.status();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_TRUE((*poller)->Add(fds[0], 1, poller::Interest::kReadable).ok());
  EXPECT_TRUE((*poller)->Rearm(fds[0]).ok());
  EXPECT_EQ(counts->rearms.load(), 1);
  EXPECT_EQ(counts->modifies.load(), 0);
  // Checks Poller makes itself never reach the backend.
  (*poller)->Shutdown();
  EXPECT_FALSE((*poller)->Rearm(fds[0]).ok());
  EXPECT_EQ(counts->rearms.load(), 1);
  EXPECT_TRUE((*poller)->Delete(fds[0]).ok());
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace consumer

namespace {

poller::conformance::BackendUnderTest CountingEpollUnderTest() {
  poller::conformance::BackendUnderTest backend;
  backend.name = "CountingEpoll";
  backend.factory = [] {
    return consumer::CountingEpoll(
        std::make_shared<consumer::CountingBackend::Counts>());
  };
  return backend;
}

}  // namespace

POLLER_BACKEND_SUITES(CountingEpoll, CountingEpollUnderTest());
