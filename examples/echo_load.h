// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: examples/echo_load.h
// -----------------------------------------------------------------------------
//
// The echo demo's load: clients on a Poller of their own that each send a
// message, wait for its whole echo, check every byte, and send the next; and
// the latency histogram they record into.

#ifndef POLLER_EXAMPLES_ECHO_LOAD_H_
#define POLLER_EXAMPLES_ECHO_LOAD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "examples/echo_platform.h"
#include "poller/poller.h"

namespace poller_example {

using Clock = std::chrono::steady_clock;

// Latencies in a log-linear histogram: 64 buckets per power of two of
// nanoseconds, so a percentile is off by under 1.6% and memory stays fixed
// whatever the run's length.
class LatencyHistogram {
 public:
  void Record(int64_t nanoseconds);
  // The latency below which `fraction` of the samples fall (0 with none).
  double Percentile(double fraction) const;
  int64_t max() const { return max_; }

 private:
  static constexpr int kSubBuckets = 64;
  static size_t Bucket(int64_t value);
  static double UpperBound(size_t bucket);

  std::vector<uint64_t> counts_ = std::vector<uint64_t>(64 * kSubBuckets, 0);
  uint64_t total_ = 0;
  int64_t max_ = 0;
};

struct LoadResult {
  uint64_t connections = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;  // Echoed and checked.
  uint64_t errors = 0;
  std::vector<std::string> error_samples;  // The first few errors' text.
  LatencyHistogram latency;
  double seconds = 0;
};

class LoadGenerator {
 public:
  // `clients` connections to `address`, each sending `messages` messages of
  // `message_size` bytes.
  LoadGenerator(poller::Poller& poller, sockaddr_storage address,
                socklen_t address_length, int clients, int messages,
                size_t message_size);
  ~LoadGenerator();

  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Runs until every client is done, the deadline passes or the poller is
  // shut down. Progress (messages done) is published through `progress`.
  LoadResult Run(Clock::time_point deadline, std::atomic<uint64_t>& progress);

 private:
  struct Client {
    int index = 0;
    Socket fd = kNoSocket;
    bool connected = false;
    int message = 0;      // The message in flight.
    size_t written = 0;   // Of the message in flight.
    size_t received = 0;  // Of its echo.
    Clock::time_point sent_at;
    std::string outgoing;
  };

  void Fail(Client* client, std::string why);
  void CloseClient(Client& client);
  void StartClient(size_t index);
  void Arm(Client& client, poller::Interest interest);
  void BeginMessage(Client& client);
  void Step(Client& client, const poller::Event& event);
  void Send(Client& client);
  void Receive(Client& client);
  bool CheckEcho(Client& client, const char* data, size_t size);
  void FinishMessage(Client& client);

  poller::Poller& poller_;
  const sockaddr_storage address_;
  const socklen_t address_length_;
  std::vector<Client> clients_;
  const int messages_;
  const size_t message_size_;
  int active_ = 0;
  LoadResult result_;
};

}  // namespace poller_example

#endif  // POLLER_EXAMPLES_ECHO_LOAD_H_
