// The relay on the backend this build chose, with clients on socket pairs
// (AddClient) and over TCP (Listen).

#include "app/relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "poller/poller.h"

namespace consumer {
namespace {

// A client's end of a socket pair whose other end the relay owns.
class Peer {
 public:
  explicit Peer(Relay& relay) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    fd_ = fds[0];
    EXPECT_TRUE(relay.AddClient(fds[1]).ok());
  }
  explicit Peer(int fd) : fd_(fd) {}
  ~Peer() { Close(); }

  void Send(const std::string& text) {
    ASSERT_EQ(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // What has arrived, without waiting.
  std::string Received() {
    std::string text;
    char buffer[256];
    ssize_t n;
    while ((n = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT)) > 0) {
      text.append(buffer, static_cast<size_t>(n));
    }
    return text;
  }

 private:
  int fd_ = -1;
};

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<poller::Poller>> created =
        poller::Poller::Create();
    ASSERT_TRUE(created.ok()) << created.status();
    poller_ = *std::move(created);
    relay_ = std::make_unique<Relay>(*poller_);
  }

  // Runs the relay until `peer` has received `expected` (or 5 s passed).
  std::string RunUntilReceived(Peer& peer, const std::string& expected) {
    std::string received;
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (received.size() < expected.size() && absl::Now() < give_up) {
      EXPECT_TRUE(relay_->RunOnce(absl::Milliseconds(50)).ok());
      received += peer.Received();
    }
    return received;
  }

  std::unique_ptr<poller::Poller> poller_;
  std::unique_ptr<Relay> relay_;
};

TEST_F(RelayTest, RelaysEachLineToEveryOtherClient) {
  Peer alice(*relay_), bob(*relay_), carol(*relay_);
  alice.Send("hello\n");
  EXPECT_EQ(RunUntilReceived(bob, "hello\n"), "hello\n");
  EXPECT_EQ(RunUntilReceived(carol, "hello\n"), "hello\n");
  EXPECT_EQ(alice.Received(), "") << "not back to the sender";
  // The clients were re-armed: a second line goes through too.
  bob.Send("hi, alice\n");
  EXPECT_EQ(RunUntilReceived(alice, "hi, alice\n"), "hi, alice\n");
}

TEST_F(RelayTest, ALastLineSentJustBeforeClosingIsRelayed) {
  Peer alice(*relay_), bob(*relay_);
  alice.Send("bye\n");
  alice.Close();  // One event: readable and hang-up.
  EXPECT_EQ(RunUntilReceived(bob, "bye\n"), "bye\n");
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (relay_->client_count() > 1 && absl::Now() < give_up) {
    ASSERT_TRUE(relay_->RunOnce(absl::Milliseconds(50)).ok());
  }
  EXPECT_EQ(relay_->client_count(), 1u) << "alice was dropped";
}

TEST_F(RelayTest, AnEventOfAClientDroppedEarlierInTheBatchIsSkipped) {
  // Both write a line and close before the relay waits: one batch with an
  // event for each. Whichever is handled first relays its line to the other,
  // whose end is closed, so the send fails and the other is dropped; the
  // other's event, later in the same batch, names a client that is gone.
  Peer alice(*relay_), bob(*relay_);
  alice.Send("from alice\n");
  bob.Send("from bob\n");
  alice.Close();
  bob.Close();
  ASSERT_TRUE(relay_->RunOnce(absl::Seconds(5)).ok());
  EXPECT_EQ(relay_->stale_events_skipped(), 1);
  EXPECT_EQ(relay_->client_count(), 0u);
}

TEST_F(RelayTest, AcceptsClientsOnAListeningSocket) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  ASSERT_EQ(
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length),
      0);
  ASSERT_TRUE(relay_->Listen(listener).ok());
  auto connect_client = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
        0);
    return fd;
  };
  Peer alice(connect_client());
  Peer bob(connect_client());
  // The listener was re-armed after each accept: both arrive.
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (relay_->client_count() < 2 && absl::Now() < give_up) {
    ASSERT_TRUE(relay_->RunOnce(absl::Milliseconds(50)).ok());
  }
  ASSERT_EQ(relay_->client_count(), 2u);
  alice.Send("over tcp\n");
  EXPECT_EQ(RunUntilReceived(bob, "over tcp\n"), "over tcp\n");
  relay_.reset();  // Deletes its registrations before the listener closes.
  ::close(listener);
}

TEST_F(RelayTest, RunReturnsOkAfterShutdown) {
  poller_->Shutdown();
  EXPECT_TRUE(relay_->Run().ok());
}

}  // namespace
}  // namespace consumer
