// Copyright 2026 The poller Authors.
//
// The README's example on every compiled backend, against a peer that writes
// and closes at once: the last line must still be echoed (an earlier example
// that returned on hang-up before reading lost it).

#include "examples/echo_until_closed.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller_example {
namespace {

class EchoUntilClosedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EchoUntilClosedTest, EchoesTheLastLineOfAPeerThatWritesAndCloses) {
  auto poller = poller::Poller::Create(GetParam());
  if (poller::testing::IsUnavailableHere(poller.status())) {
    GTEST_SKIP() << poller.status();
  }
  ASSERT_TRUE(poller.ok()) << poller.status();
  poller::testing::SocketPair pair = poller::testing::MakeSocketPair();
  // The peer writes two lines and shuts its sending side before the server
  // even starts: one event with readable and hang-up both set.
  const std::string sent = "hello\nbye\n";
  ASSERT_EQ(::send(pair.second.get(), sent.data(), sent.size(), 0),
            static_cast<ssize_t>(sent.size()));
  ASSERT_EQ(::shutdown(pair.second.get(), SHUT_WR), 0);

  absl::Status served;
  poller::testing::BoundedThread server(
      [&] { served = EchoUntilClosed(**poller, pair.first.get()); },
      "the README example did not return after the peer closed");
  ASSERT_TRUE(server.Join(absl::Seconds(10)));
  EXPECT_TRUE(served.ok()) << served;
  ASSERT_EQ(::shutdown(pair.first.get(), SHUT_WR), 0);
  EXPECT_EQ(poller::testing::ReadUntilEndOfFile(pair.second.get()), sent);
}

INSTANTIATE_TEST_SUITE_P(
    EveryBackend, EchoUntilClosedTest,
    ::testing::ValuesIn(poller::Poller::CompiledBackends()),
    [](const ::testing::TestParamInfo<std::string>& info) {
      return info.param;
    });

}  // namespace
}  // namespace poller_example
