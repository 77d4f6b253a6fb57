// -----------------------------------------------------------------------------
// File: app/relay.h
// -----------------------------------------------------------------------------
//
// Relay: a line relay ("chat") on poller, the kind of program a user writes
// first. Every line a client sends is sent to every other client. It shows
// three things poller's README asks of a program:
//   - Oneshot registrations re-armed with Poller::Rearm() once a handle is
//     handled (no token or interest to keep, and no system call on epoll).
//   - Reading before acting on hang-up: a client that writes its last line and
//     closes is one event, readable and hang-up, and its line is still relayed.
//   - The batch rule: handling one client's event can drop another client (a
//     send to it failed), and a later event of the same batch may name the
//     dropped one. Tokens are never reused (a counter, not the descriptor
//     number, which an accept in the same batch may already have reused), and
//     each event's token is looked up among the live clients; events of
//     clients that are gone are skipped.
//
// Deliberately simple elsewhere: a client that cannot take a line at once (a
// stalled reader, a closed peer) is dropped, where a real relay would keep a
// bounded queue per client and ask for writable interest.
//
// Thread-compatible: call RunOnce()/Run() from one thread; other threads may
// call Poller::Shutdown() (Run() then returns OK).

#ifndef CONSUMER_APP_RELAY_H_
#define CONSUMER_APP_RELAY_H_

#include <cstdint>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "poller/poller.h"

namespace consumer {

class Relay {
 public:
  // `poller` must outlive the relay.
  explicit Relay(poller::Poller& poller);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  // Deletes and closes every client (not the listening socket).
  ~Relay();

  // Accepts connections on `listen_fd` (a listening socket, not owned; made
  // non-blocking here) as new clients.
  absl::Status Listen(int listen_fd);

  // Takes ownership of a connected stream socket (made non-blocking here) and
  // relays its lines. Closes it if it cannot be registered.
  absl::Status AddClient(int fd);

  // Waits up to `timeout` for one batch of events and handles it. Errors:
  // Cancelled after Shutdown(); what poller reports otherwise.
  absl::Status RunOnce(absl::Duration timeout);

  // Runs until the poller is shut down (then returns OK) or fails.
  absl::Status Run();

  size_t client_count() const { return clients_.size(); }
  // Events skipped because their client had been dropped earlier in the same
  // batch.
  std::int64_t stale_events_skipped() const { return stale_events_skipped_; }

 private:
  struct Client {
    int fd;
    // The start of a line whose end has not arrived yet.
    std::string partial_line;
  };

  absl::Status AcceptAll();
  // Reads what `client` sent and relays its complete lines; false once the
  // client closed or failed (after its last lines were relayed).
  bool ReadAndRelay(poller::Token token, Client& client);
  void SendToAllBut(poller::Token sender, const std::string& line);
  void Drop(poller::Token token);

  poller::Poller& poller_;
  int listen_fd_ = -1;
  // Live clients by token. Tokens are never reused.
  std::unordered_map<poller::Token, Client> clients_;
  poller::Token next_token_ = kFirstClientToken;
  std::int64_t stale_events_skipped_ = 0;

  static constexpr poller::Token kListenerToken = 0;
  static constexpr poller::Token kFirstClientToken = 1;
};

}  // namespace consumer

#endif  // CONSUMER_APP_RELAY_H_
