// Copyright 2026 The poller Authors.
//
// The wake protocol as users compile it: built -O2 (see BUILD; at -O0 GCC
// emits a fence for every atomic and hides reorderings), a producer that
// writes a work item, publishes it with a relaxed store and calls Wake(),
// against a consumer that waits and then looks. poller.h promises that what the
// caller stored before Wake() is seen by the thread whose Wait returns for it:
// a consumer that looks after its Wait and finds nothing new, although a Wake()
// for the item had returned before it began its next Wait, has lost a wake, and
// that Wait sleeps out its timeout.
//
// Promises: poller/poller.h: Wake.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "poller/poller.h"
#include "tests/backend_under_test.h"
#include "tests/builtin_backends.h"
#include "tests/conformance/schedule.h"

namespace poller::stress {
namespace {

using ::poller::conformance::BackendTest;
using ::poller::conformance::BuiltinBackends;
using ::poller::testing::BoundedThread;

class WakeOrderingTest : public BackendTest {};

// The consumer's Wait timeout, and how long an item may go unseen before its
// wake counts as lost: far beyond any scheduling delay of a loaded machine,
// far below the timeout.
constexpr absl::Duration kSleep = absl::Seconds(5);
constexpr absl::Duration kLostAfter = absl::Seconds(1);
constexpr auto kRunFor = std::chrono::seconds(2);
constexpr std::uint32_t kMaxPauseNanoseconds = 4000;
// The producer's work item spans kWorkLines cache lines, taken in turn from a
// buffer far larger than any cache. Without them the publishing store leaves
// the store buffer within nanoseconds and the reordering was never seen here;
// with them a Wake() without its fence lost a wake within 2 s in 10 of 12
// runs per backend (x86, 2 vCPUs).
constexpr int kWorkLines = 160;
constexpr std::size_t kLineWords = 64 / sizeof(std::uint64_t);
constexpr std::size_t kWorkBufferLines = (std::size_t{64} << 20) / 64;

TEST_P(WakeOrderingTest, StoreBeforeWakeIsSeenAfterTheWaitThatReturnsForIt) {
  SCOPED_TRACE(
      "rule: what the caller stored before Wake() is seen by the thread "
      "whose Wait returns for it (no wake lost under store-load reordering)");
  Poller& poller = *poller_;
  // The producer's item, stored relaxed as a program's plain store would be,
  // and the last item the consumer saw.
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<bool> stop{false};

  // Polls with Wait(0) while it finds new items and blocks as soon as a look
  // finds nothing: an event loop that is busy, then idle. A Wait(0) that takes
  // a wake, followed by a look that misses the item of that wake, is followed
  // at once by a blocking Wait: the lost wake then shows as a sleep.
  BoundedThread consumer(
      [&] {
        Events events(4);
        absl::Duration timeout = absl::ZeroDuration();
        while (!stop.load()) {
          absl::StatusOr<size_t> count = poller.Wait(events, timeout);
          if (!count.ok()) {
            ADD_FAILURE() << count.status();
            return;
          }
          const std::uint64_t now = published.load(std::memory_order_relaxed);
          if (now > consumed.load(std::memory_order_relaxed)) {
            consumed.store(now);
            timeout = absl::ZeroDuration();
          } else {
            timeout = kSleep;
          }
        }
      },
      "the consumer");

  // Each round: a first Wake() sets a wake pending and signals the
  // consumer; after a varying pause (0 to 4 us, a few turns of the consumer's
  // Wait(0) loop) the item is written and published and a second Wake()
  // made. That second Wake() often finds the first still pending, and now and
  // then at the very moment the consumer is taking it: the case under test.
  // If the consumer's look then misses the item, nothing wakes it again and
  // the item waits for the consumer's timeout.
  const auto end = std::chrono::steady_clock::now() + kRunFor;
  std::uint64_t item = 0;
  std::uint64_t lost_item = 0;
  std::uint32_t random = 12345;
  std::vector<std::uint64_t> work(kWorkBufferLines * kLineWords);
  std::size_t next_line = 0;
  while (std::chrono::steady_clock::now() < end && lost_item == 0) {
    ++item;
    ASSERT_TRUE(poller.Wake().ok());
    random = random * 1664525u + 1013904223u;
    const auto pause_until =
        std::chrono::steady_clock::now() +
        std::chrono::nanoseconds((random >> 8) % kMaxPauseNanoseconds);
    while (std::chrono::steady_clock::now() < pause_until) {
    }
    // The work item: stores to lines no cache holds, queued ahead of the
    // store that publishes it (x86 drains its store buffer in order), so the
    // publishing store is still buffered while Wake() runs.
    for (int line = 0; line < kWorkLines; ++line) {
      work[(next_line++ % kWorkBufferLines) * kLineWords] = item;
    }
    published.store(item, std::memory_order_relaxed);
    ASSERT_TRUE(poller.Wake().ok());
    const auto lost_at = std::chrono::steady_clock::now() +
                         absl::ToChronoNanoseconds(kLostAfter);
    while (consumed.load() < item) {
      if (std::chrono::steady_clock::now() > lost_at) {
        lost_item = item;
        break;
      }
      std::this_thread::yield();
    }
  }
  stop.store(true);
  (void)poller.Wake();
  ASSERT_TRUE(consumer.Join(absl::Seconds(10))) << "the consumer is stuck";
  EXPECT_EQ(lost_item, 0u)
      << "the wake for item " << lost_item
      << " was lost: Wake() returned OK, but the consumer's Wait returned "
         "without it and the item was not seen for "
      << kLostAfter << " (round " << item << ")";
  EXPECT_GT(item, 100u) << "control: the producer ran";
}

INSTANTIATE_TEST_SUITE_P(Builtin, WakeOrderingTest,
                         ::testing::ValuesIn(BuiltinBackends()),
                         ::poller::conformance::BackendTestName);

}  // namespace
}  // namespace poller::stress
