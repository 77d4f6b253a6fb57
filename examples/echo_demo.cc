// Copyright 2026 The poller Authors.
//
// echo_demo: a TCP echo server on one Poller, driven by many concurrent
// clients on a second Poller in another thread; every echoed byte is checked.
//
//   ./bazelw run //examples:echo_demo
//   ./bazelw run //examples:echo_demo -- --backend=poll --clients=200
//   ./bazelw run //examples:echo_demo -- --listen=127.0.0.1:7777   # then: nc
//   ./bazelw run //examples:echo_demo -- --connect=127.0.0.1:7777  # clients
//   only
//
// The files, in the order to read them:
//   echo_server.{h,cc}    the server: the part to copy into your own program.
//   echo_demo.cc          this file: flags, threads, Ctrl-C and the clean stop.
//   echo_load.{h,cc}      the clients that drive and check the server.
//   echo_report.{h,cc}    the summary, as text or JSON.
//   echo_platform.{h,cc}  the few socket and signal calls that differ between
//                         POSIX and Windows.
//
// Both loops use the default mode, oneshot: a handle reports once and is
// re-armed for whatever it needs next (read, write, or both). The main thread
// only waits: on Ctrl-C (SIGINT or SIGTERM), or once the clients are done, it
// calls Shutdown() on each poller, which ends its thread's Wait() loop with
// Cancelled. --connect runs the clients alone against a server elsewhere
// (//bench:compare drives other libraries' echo servers so).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "examples/echo_load.h"
#include "examples/echo_platform.h"
#include "examples/echo_report.h"
#include "examples/echo_server.h"
#include "poller/poller.h"

ABSL_FLAG(std::string, backend, "",
          "Backend for both pollers (default: the build's default). One of "
          "the compiled backends: see --helpfull or the error message.");
ABSL_FLAG(int, clients, 50, "Concurrent client connections.");
ABSL_FLAG(int, messages, 1000, "Messages each client sends and checks.");
ABSL_FLAG(int, message_size, 128, "Bytes per message.");
ABSL_FLAG(std::string, listen, "",
          "HOST:PORT: run only the echo server there until Ctrl-C (no "
          "built-in clients), e.g. 127.0.0.1:7777.");
ABSL_FLAG(std::string, connect, "",
          "HOST:PORT: run only the clients, against an echo server already "
          "listening there (no built-in server); same checks and report.");
ABSL_FLAG(bool, json, false, "Print the summary as JSON.");
ABSL_FLAG(int, timeout_seconds, 120,
          "Give up (and count the unfinished clients as errors) after this.");

namespace {

using poller_example::Clock;
using poller_example::EchoServer;
using poller_example::LoadGenerator;
using poller_example::LoadResult;
using poller_example::Socket;

// "HOST:PORT" (HOST may be "[::1]") into `host` and `port`; false without
// a colon.
bool SplitHostPort(const std::string& text, std::string& host,
                   std::string& port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1] is an IPv6 host.
  }
  port = text.substr(colon + 1);
  return true;
}

// --listen: the server alone on HOST:PORT until Ctrl-C.
int RunServerOnly(const std::string& backend, const std::string& listen) {
  std::string host;
  std::string port;
  if (!SplitHostPort(listen, host, port)) {
    std::fprintf(stderr, "--listen wants HOST:PORT, got \"%s\"\n",
                 listen.c_str());
    return 2;
  }
  sockaddr_storage bound{};
  socklen_t bound_length = 0;
  absl::StatusOr<Socket> listener =
      poller_example::Listen(host, port, &bound, &bound_length);
  if (!listener.ok()) {
    std::fprintf(stderr, "%s\n", listener.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      poller::Poller::Create(backend);
  if (!poller.ok()) {
    std::fprintf(stderr, "%s\n", poller.status().ToString().c_str());
    poller_example::CloseSocket(*listener);
    return 1;
  }
  std::printf("echo server on %s (backend %s); Ctrl-C stops it\n",
              poller_example::AddressText(bound).c_str(), backend.c_str());
  std::fflush(stdout);
  EchoServer server(**poller, *listener);
  absl::Status served;
  std::thread thread([&] { served = server.Run(); });
  while (!poller_example::StopSignalWithin(absl::Seconds(1))) {
  }
  (*poller)->Shutdown();
  thread.join();
  poller_example::CloseSocket(*listener);
  std::printf("stopped: %llu connections served, %llu errors\n",
              static_cast<unsigned long long>(server.accepted()),
              static_cast<unsigned long long>(server.errors()));
  if (!served.ok()) {
    std::fprintf(stderr, "server: %s\n", served.ToString().c_str());
    return 1;
  }
  return 0;
}

// Waits until the load is done or Ctrl-C comes (then returns true), printing
// progress to stderr every two seconds so a long run shows it is alive.
bool WatchLoad(const std::atomic<bool>& load_done,
               const std::atomic<uint64_t>& progress, uint64_t total) {
  Clock::time_point next_report = Clock::now() + std::chrono::seconds(2);
  while (!load_done.load(std::memory_order_acquire)) {
    if (poller_example::StopSignalWithin(absl::Milliseconds(50))) return true;
    if (Clock::now() >= next_report) {
      next_report += std::chrono::seconds(2);
      const uint64_t done = progress.load(std::memory_order_relaxed);
      std::fprintf(
          stderr, "echo_demo: %llu/%llu messages (%.0f%%)\n",
          static_cast<unsigned long long>(done),
          static_cast<unsigned long long>(total),
          100.0 * static_cast<double>(done) / static_cast<double>(total));
    }
  }
  return false;
}

// Adds to the clients' result what only the end of the run knows: an
// interruption, the server's errors, and messages never echoed.
void CountErrors(bool interrupted, const absl::Status& served,
                 uint64_t server_errors,
                 const std::vector<std::string>& server_samples, uint64_t total,
                 LoadResult& result) {
  if (interrupted) {
    result.error_samples.insert(result.error_samples.begin(),
                                "interrupted by a signal");
  }
  if (!served.ok()) {
    ++result.errors;
    result.error_samples.push_back(absl::StrCat("server: ", served.ToString()));
  }
  result.errors += server_errors;
  result.error_samples.insert(result.error_samples.end(),
                              server_samples.begin(), server_samples.end());
  // Every message the clients were asked for must have come back.
  if (!interrupted && result.messages != total && result.errors == 0) {
    ++result.errors;
    result.error_samples.push_back(
        absl::StrCat(total - result.messages, " messages never echoed"));
  }
}

// The clients on `client_poller` in a thread of their own until they are
// done or Ctrl-C comes (then `interrupted` is set), the calling thread
// watching; the poller is shut down and the thread joined on return.
LoadResult RunLoad(poller::Poller& client_poller,
                   const sockaddr_storage& address, socklen_t address_length,
                   int clients, int messages, int message_size,
                   bool& interrupted) {
  LoadGenerator load(client_poller, address, address_length, clients, messages,
                     static_cast<size_t>(message_size));
  std::atomic<uint64_t> progress{0};
  std::atomic<bool> load_done{false};
  LoadResult result;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_timeout_seconds));
  std::thread client_thread([&] {
    result = load.Run(deadline, progress);
    load_done.store(true, std::memory_order_release);
  });
  const uint64_t total =
      static_cast<uint64_t>(clients) * static_cast<uint64_t>(messages);
  interrupted = WatchLoad(load_done, progress, total);
  // The clean stop: Shutdown makes the thread's Wait return Cancelled.
  client_poller.Shutdown();
  client_thread.join();
  return result;
}

// The demo proper: the server on an ephemeral loopback port on one thread,
// the clients on another, the main thread watching; then the report.
int RunWithLoad(const std::string& backend, int clients, int messages,
                int message_size) {
  sockaddr_storage bound{};
  socklen_t bound_length = 0;
  absl::StatusOr<Socket> listener =
      poller_example::Listen("127.0.0.1", "0", &bound, &bound_length);
  if (!listener.ok()) {
    std::fprintf(stderr, "%s\n", listener.status().ToString().c_str());
    return 1;
  }
  // A poller per thread: each thread waits on its own.
  absl::StatusOr<std::unique_ptr<poller::Poller>> server_poller =
      poller::Poller::Create(backend);
  absl::StatusOr<std::unique_ptr<poller::Poller>> client_poller =
      poller::Poller::Create(backend);
  if (!server_poller.ok() || !client_poller.ok()) {
    std::fprintf(
        stderr, "%s\n",
        (server_poller.ok() ? client_poller.status() : server_poller.status())
            .ToString()
            .c_str());
    poller_example::CloseSocket(*listener);
    return 1;
  }

  EchoServer server(**server_poller, *listener);
  absl::Status served;
  std::thread server_thread([&] { served = server.Run(); });

  bool interrupted = false;
  LoadResult result = RunLoad(**client_poller, bound, bound_length, clients,
                              messages, message_size, interrupted);
  // The clean stop: Shutdown makes each thread's Wait return Cancelled.
  (*server_poller)->Shutdown();
  server_thread.join();
  poller_example::CloseSocket(*listener);

  const uint64_t total =
      static_cast<uint64_t>(clients) * static_cast<uint64_t>(messages);
  CountErrors(interrupted, served, server.errors(), server.error_samples(),
              total, result);
  poller_example::PrintReport(
      {backend, poller_example::AddressText(bound), message_size}, result,
      absl::GetFlag(FLAGS_json));
  if (result.errors != 0) return 1;
  return interrupted ? 130 : 0;
}

// --connect: the clients alone, against a server listening on HOST:PORT in
// another process; the same checks and report as with the built-in server.
int RunLoadOnly(const std::string& backend, const std::string& connect,
                int clients, int messages, int message_size) {
  std::string host;
  std::string port;
  if (!SplitHostPort(connect, host, port)) {
    std::fprintf(stderr, "--connect wants HOST:PORT, got \"%s\"\n",
                 connect.c_str());
    return 2;
  }
  sockaddr_storage address{};
  socklen_t address_length = 0;
  if (absl::Status resolved =
          poller_example::Resolve(host, port, &address, &address_length);
      !resolved.ok()) {
    std::fprintf(stderr, "%s\n", resolved.ToString().c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<poller::Poller>> client_poller =
      poller::Poller::Create(backend);
  if (!client_poller.ok()) {
    std::fprintf(stderr, "%s\n", client_poller.status().ToString().c_str());
    return 1;
  }
  bool interrupted = false;
  LoadResult result = RunLoad(**client_poller, address, address_length, clients,
                              messages, message_size, interrupted);
  const uint64_t total =
      static_cast<uint64_t>(clients) * static_cast<uint64_t>(messages);
  // The server is not this process's: no server status or errors to add.
  CountErrors(interrupted, absl::OkStatus(), 0, {}, total, result);
  poller_example::PrintReport({backend, poller_example::AddressText(address),
                               message_size, /*server_elsewhere=*/true},
                              result, absl::GetFlag(FLAGS_json));
  if (result.errors != 0) return 1;
  return interrupted ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "A TCP echo server on poller, driven by a built-in load of concurrent "
      "clients that check every byte (--listen: the server alone; "
      "--connect: the clients alone). Exits 0 only with 0 errors.");
  absl::ParseCommandLine(argc, argv);

  std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend.empty()) {
    backend = std::string(poller::Poller::DefaultBackendName());
  }
  const int clients = absl::GetFlag(FLAGS_clients);
  const int messages = absl::GetFlag(FLAGS_messages);
  const int message_size = absl::GetFlag(FLAGS_message_size);
  if (clients < 1 || messages < 1 || message_size < 1) {
    std::fprintf(stderr,
                 "--clients, --messages and --message_size must be >= 1\n");
    return 2;
  }
  if (absl::Status started = poller_example::StartSockets(); !started.ok()) {
    std::fprintf(stderr, "%s\n", std::string(started.message()).c_str());
    return 1;
  }
  poller_example::TakeStopSignals();

  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string connect = absl::GetFlag(FLAGS_connect);
  if (!listen.empty() && !connect.empty()) {
    std::fprintf(stderr,
                 "--listen (server only) and --connect (clients only) "
                 "exclude each other\n");
    return 2;
  }
  if (!listen.empty()) return RunServerOnly(backend, listen);
  if (!connect.empty()) {
    return RunLoadOnly(backend, connect, clients, messages, message_size);
  }
  return RunWithLoad(backend, clients, messages, message_size);
}
