// Copyright 2026 The poller Authors.

#include "examples/echo_load.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace poller_example {
namespace {

// The byte at `offset` of message `message` of client `client`: distinct per
// client and message so a misrouted or reordered echo is caught.
char PatternByte(int client, int message, size_t offset) {
  return static_cast<char>((client * 131 + message * 31 + offset * 7) & 0xff);
}

// Enough to show what went wrong without flooding the report.
constexpr size_t kMaxErrorSamples = 5;

}  // namespace

void LatencyHistogram::Record(int64_t nanoseconds) {
  counts_[Bucket(std::max<int64_t>(nanoseconds, 1))]++;
  ++total_;
  max_ = std::max(max_, nanoseconds);
}

double LatencyHistogram::Percentile(double fraction) const {
  if (total_ == 0) return 0;
  const uint64_t rank =
      static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(total_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= std::max<uint64_t>(rank, 1)) {
      return std::min<double>(UpperBound(i), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

// Values below 64 have a bucket each; above, the top 7 bits of the value
// (its leading 1 and 6 more) choose the bucket.
size_t LatencyHistogram::Bucket(int64_t value) {
  const int exponent = 63 - __builtin_clzll(static_cast<uint64_t>(value));
  if (exponent < 6) return static_cast<size_t>(value);
  const int64_t sub = (value >> (exponent - 6)) - kSubBuckets;
  return static_cast<size_t>((exponent - 5) * kSubBuckets + sub);
}

double LatencyHistogram::UpperBound(size_t bucket) {
  if (bucket < kSubBuckets) return static_cast<double>(bucket);
  const int exponent = static_cast<int>(bucket / kSubBuckets) + 5;
  const double sub = static_cast<double>(bucket % kSubBuckets) + kSubBuckets;
  return std::ldexp(sub + 1, exponent - 6);
}

LoadGenerator::LoadGenerator(poller::Poller& poller, sockaddr_storage address,
                             socklen_t address_length, int clients,
                             int messages, size_t message_size)
    : poller_(poller),
      address_(address),
      address_length_(address_length),
      clients_(static_cast<size_t>(clients)),
      messages_(messages),
      message_size_(message_size) {}

LoadGenerator::~LoadGenerator() {
  for (Client& client : clients_) CloseClient(client);
}

LoadResult LoadGenerator::Run(Clock::time_point deadline,
                              std::atomic<uint64_t>& progress) {
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < clients_.size(); ++i) StartClient(i);
  poller::Events events(256);
  while (active_ > 0) {
    if (Clock::now() >= deadline) {
      Fail(nullptr,
           absl::StrCat(active_, " clients unfinished at the deadline"));
      break;
    }
    // A bounded wait, so the deadline is checked even when nothing moves.
    absl::StatusOr<size_t> count =
        poller_.Wait(events, absl::Milliseconds(100));
    if (!count.ok()) {
      if (!absl::IsCancelled(count.status())) {
        Fail(nullptr, count.status().ToString());
      }
      break;
    }
    for (const poller::Event& event : events) {
      Client& client = clients_[event.token()];
      if (client.fd != kNoSocket) Step(client, event);
    }
    progress.store(result_.messages, std::memory_order_relaxed);
  }
  // Clients cut short by Shutdown (Ctrl-C) are not errors: main reports the
  // interruption.
  result_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return std::move(result_);
}

// `client` null: an error of the whole load, not of one client.
void LoadGenerator::Fail(Client* client, std::string why) {
  ++result_.errors;
  if (result_.error_samples.size() < kMaxErrorSamples) {
    result_.error_samples.push_back(
        client == nullptr ? std::move(why)
                          : absl::StrCat("client ", client->index, ": ", why));
  }
  if (client != nullptr) CloseClient(*client);
}

void LoadGenerator::CloseClient(Client& client) {
  if (client.fd == kNoSocket) return;
  (void)poller_.Delete(client.fd);
  CloseSocket(client.fd);
  client.fd = kNoSocket;
  --active_;
}

void LoadGenerator::StartClient(size_t index) {
  Client& client = clients_[index];
  client.index = static_cast<int>(index);
  client.outgoing.resize(message_size_);
  client.fd = OpenSocket(address_.ss_family);
  if (client.fd == kNoSocket) {
    Fail(nullptr, SocketError("socket").ToString());
    return;
  }
  ++active_;
  SetNoDelay(client.fd);
  int connected = ::connect(
      client.fd, reinterpret_cast<const sockaddr*>(&address_), address_length_);
  if (connected != 0 && LastError() != kInProgress) {
    Fail(&client, SocketError("connect").ToString());
    return;
  }
  ++result_.connections;
  client.connected = connected == 0;
  if (client.connected) {
    BeginMessage(client);
    Send(client);
    return;
  }
  // A non-blocking connect reports its outcome as writability.
  Arm(client, poller::Interest::kWritable);
}

void LoadGenerator::Arm(Client& client, poller::Interest interest) {
  if (client.fd == kNoSocket) return;
  // The first Arm of a client registers it; later ones re-arm (oneshot).
  absl::Status armed =
      poller_.Modify(client.fd, static_cast<poller::Token>(client.index),
                     interest, poller::Mode::kOneshot);
  if (armed.code() == absl::StatusCode::kNotFound) {
    armed = poller_.Add(client.fd, static_cast<poller::Token>(client.index),
                        interest);
  }
  if (!armed.ok() && !poller_.is_shut_down()) {
    Fail(&client, armed.ToString());
  }
}

void LoadGenerator::BeginMessage(Client& client) {
  for (size_t i = 0; i < message_size_; ++i) {
    client.outgoing[i] = PatternByte(client.index, client.message, i);
  }
  client.written = 0;
  client.received = 0;
  client.sent_at = Clock::now();
}

void LoadGenerator::Step(Client& client, const poller::Event& event) {
  if (!client.connected) {
    const int error = PendingError(client.fd);
    if (error != 0) {
      Fail(&client, absl::StrCat("connect: ", ErrorText(error)));
      return;
    }
    client.connected = true;
    BeginMessage(client);
    Send(client);
    return;
  }
  if (client.written < message_size_ && event.writable()) {
    Send(client);
    return;
  }
  Receive(client);
}

// Writes what the socket takes of the message in flight, then waits for the
// rest of it to be writable or for the echo.
void LoadGenerator::Send(Client& client) {
  while (client.written < message_size_) {
    ssize_t put = SendSome(client.fd, client.outgoing.data() + client.written,
                           message_size_ - client.written);
    if (put > 0) {
      client.written += static_cast<size_t>(put);
      continue;
    }
    const int error = put < 0 ? LastError() : 0;
    if (error == kInterrupted) continue;
    if (error == kWouldBlock) break;
    Fail(&client, SocketError("send").ToString());
    return;
  }
  // Reading the echo while still sending keeps both sides' buffers moving
  // for messages larger than a socket buffer.
  poller::Interest interest = poller::Interest::kReadable;
  if (client.written < message_size_) interest |= poller::Interest::kWritable;
  Arm(client, interest);
}

// Reads what has come back of the echo (never more than was written), checks
// it, and moves on to the next message once the whole echo is in.
void LoadGenerator::Receive(Client& client) {
  char buffer[16384];
  for (;;) {
    const size_t want =
        std::min(sizeof(buffer), client.written - client.received);
    if (want == 0) break;
    ssize_t got = ReadSome(client.fd, buffer, want);
    if (got > 0) {
      if (!CheckEcho(client, buffer, static_cast<size_t>(got))) return;
      continue;
    }
    if (got == 0) {
      Fail(&client, "the server closed the connection early");
      return;
    }
    const int error = LastError();
    if (error == kInterrupted) continue;
    if (error == kWouldBlock) break;
    Fail(&client, SocketError("read").ToString());
    return;
  }
  if (client.received == message_size_) {
    FinishMessage(client);
    return;
  }
  poller::Interest interest = poller::Interest::kReadable;
  if (client.written < message_size_) interest |= poller::Interest::kWritable;
  Arm(client, interest);
}

// Counts `size` more bytes of the echo in `data` as received if each is the
// one sent; otherwise fails the client and returns false.
bool LoadGenerator::CheckEcho(Client& client, const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    const size_t offset = client.received + i;
    if (data[i] != PatternByte(client.index, client.message, offset)) {
      Fail(&client, absl::StrCat("message ", client.message, " byte ", offset,
                                 " came back wrong"));
      return false;
    }
  }
  client.received += size;
  result_.bytes += size;
  return true;
}

void LoadGenerator::FinishMessage(Client& client) {
  result_.latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             Clock::now() - client.sent_at)
                             .count());
  ++result_.messages;
  if (++client.message == messages_) {
    CloseClient(client);
    return;
  }
  BeginMessage(client);
  Send(client);
}

}  // namespace poller_example
