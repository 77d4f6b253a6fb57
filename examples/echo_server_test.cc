// Copyright 2026 The poller Authors.
//
// The echo demo's server (the part a user copies) on every compiled backend:
// it echoes what a client sends and closes after the client does, and a
// Shutdown() that comes before Run() has started ends Run() with OK, as any
// later Shutdown() does (the demo's main thread may stop a server whose thread
// has not reached its first Add yet).

#include "examples/echo_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/conformance/schedule.h"
#include "tests/conformance/test_handles.h"

namespace poller_example {
namespace {

class EchoServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto created = poller::Poller::Create(GetParam());
    if (poller::testing::IsUnavailableHere(created.status())) {
      GTEST_SKIP() << created.status();
    }
    ASSERT_TRUE(created.ok()) << created.status();
    poller_ = *std::move(created);
    absl::StatusOr<Socket> listener =
        Listen("127.0.0.1", "0", &bound_, &bound_length_);
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = *listener;
  }
  void TearDown() override {
    if (listener_ != kNoSocket) CloseSocket(listener_);
  }

  std::unique_ptr<poller::Poller> poller_;
  Socket listener_ = kNoSocket;
  sockaddr_storage bound_{};
  socklen_t bound_length_ = 0;
};

TEST_P(EchoServerTest, EchoesWhatAClientSendsAndClosesAfterIt) {
  EchoServer server(*poller_, listener_);
  absl::Status served;
  poller::testing::BoundedThread thread([&] { served = server.Run(); },
                                        "the echo server did not stop");
  const int client = ::socket(bound_.ss_family, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  // A broken server fails the read below in seconds instead of hanging it.
  timeval limit{10, 0};
  ASSERT_EQ(
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)), 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<const sockaddr*>(&bound_),
                      bound_length_),
            0);
  const std::string sent(100000, 'x');
  ASSERT_EQ(::send(client, sent.data(), sent.size(), 0),
            static_cast<ssize_t>(sent.size()));
  ASSERT_EQ(::shutdown(client, SHUT_WR), 0);
  // End of file: the server closed its end after echoing everything.
  EXPECT_EQ(poller::testing::ReadUntilEndOfFile(client), sent);
  ::close(client);
  poller_->Shutdown();
  ASSERT_TRUE(thread.Join(absl::Seconds(10)));
  EXPECT_TRUE(served.ok()) << served;
  EXPECT_EQ(server.accepted(), 1u);
  EXPECT_EQ(server.errors(), 0u);
}

TEST_P(EchoServerTest, RunReturnsOkWhenShutdownCameBeforeIt) {
  poller_->Shutdown();
  EchoServer server(*poller_, listener_);
  absl::Status served;
  poller::testing::BoundedThread thread(
      [&] { served = server.Run(); },
      "the echo server ran on after Shutdown()");
  ASSERT_TRUE(thread.Join(absl::Seconds(10)));
  EXPECT_TRUE(served.ok()) << served;
}

INSTANTIATE_TEST_SUITE_P(
    EveryBackend, EchoServerTest,
    ::testing::ValuesIn(poller::Poller::CompiledBackends()),
    [](const ::testing::TestParamInfo<std::string>& info) {
      return info.param;
    });

}  // namespace
}  // namespace poller_example
