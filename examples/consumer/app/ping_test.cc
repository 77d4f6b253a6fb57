// The backend chosen on the command line (--@poller//poller:backend) reaches
// the library, and the program works on it.

#include "app/ping.h"

#include <memory>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "poller/poller.h"

#define CONSUMER_STRINGIFY_INNER(x) #x
#define CONSUMER_STRINGIFY(x) CONSUMER_STRINGIFY_INNER(x)

namespace consumer {
namespace {

constexpr absl::string_view kExpectedBackend =
    CONSUMER_STRINGIFY(EXPECTED_BACKEND);

TEST(PingTest, DefaultBackendIsTheOneTheBuildChose) {
  EXPECT_EQ(poller::Poller::DefaultBackendName(), kExpectedBackend);
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      poller::Poller::Create();
  ASSERT_TRUE(poller.ok()) << poller.status();
  EXPECT_EQ((*poller)->backend_name(), kExpectedBackend);
}

TEST(PingTest, PingIsReportedReadable) {
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      poller::Poller::Create();
  ASSERT_TRUE(poller.ok()) << poller.status();
  absl::StatusOr<poller::Event> event = Ping(**poller, absl::Seconds(5));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_TRUE(event->readable());
}

}  // namespace
}  // namespace consumer
