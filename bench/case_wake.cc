// Copyright 2026 The poller Authors.
//
// Case 3: wakes. (a) Round trip: another thread calls Wake() and spins until
// the waiter, blocked in its Wait, has returned; the median trip in ns. (b)
// Burst: while the waiter is busy in a handler, another thread sends
// --wake_burst wakes; ns per Wake() call (wall and the waking thread's CPU
// time), the write(2) calls the process made meanwhile (from /proc/self/io),
// and for poller every system call it made at its seam (any backend's
// signal: write(2) of an eventfd or pipe, io_uring_enter).

#include <atomic>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "bench/cases.h"
#include "bench/harness.h"
#include "poller/internal/syscall.h"

ABSL_FLAG(int, wake_round_trips, 5000, "Case 3: wake round trips per run.");
ABSL_FLAG(int, wake_burst, 1000, "Case 3: wakes per burst.");

namespace poller_bench {
namespace {

struct WakeState {
  std::atomic<std::int64_t> returned{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> busy{false};
  std::atomic<bool> burst_done{true};
};

void OnWake(void* context) {
  auto* state = static_cast<WakeState*>(context);
  if (!state->burst_done.load(std::memory_order_acquire)) {
    state->busy.store(true, std::memory_order_release);
    while (!state->burst_done.load(std::memory_order_acquire)) {
    }
  }
  state->returned.fetch_add(1, std::memory_order_release);
}

// A thread that runs the loop, blocking, until `state.stop`.
std::thread StartWaiter(EventLoop& loop, WakeState& state) {
  return std::thread([&loop, &state] {
    while (!state.stop.load(std::memory_order_acquire)) {
      if (loop.RunOnce(true) < 0) Die("wake wait");
    }
  });
}

void StopWaiter(EventLoop& loop, WakeState& state, std::thread& waiter) {
  state.stop.store(true, std::memory_order_release);
  loop.Wake();
  waiter.join();
}

double WakeRoundTrip(const Implementation& implementation,
                     std::int64_t round_trips) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {1, true});
  WakeState state;
  loop->SetWakeHandler(OnWake, &state);
  std::thread waiter = StartWaiter(*loop, state);
  // Each trip starts once the waiter has had time to block in the kernel
  // again, so it measures a wake from sleep (not a wake that finds the waiter
  // still on its way back): only Wake() to the return is timed.
  auto trip = [&](std::int64_t i) {
    const Clock::time_point settle =
        Clock::now() + std::chrono::microseconds(50);
    while (Clock::now() < settle) Pause();
    const Clock::time_point start = Clock::now();
    Check(loop->Wake(), implementation, "Wake");
    while (state.returned.load(std::memory_order_acquire) <= i) Pause();
    return NanosecondsSince(start);
  };
  std::int64_t sent = 0;
  for (int i = 0; i < 200; ++i) trip(sent++);  // Warm-up.
  // The median trip: a latency, robust to the odd trip where a busy machine
  // scheduled something else on the waiter's core.
  std::vector<double> trips;
  trips.reserve(static_cast<size_t>(round_trips));
  for (std::int64_t i = 0; i < round_trips; ++i) trips.push_back(trip(sent++));
  StopWaiter(*loop, state, waiter);
  return Summarize(trips).median;
}

std::int64_t WriteSyscalls() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::int64_t value;
  while (io >> key >> value) {
    if (key == "syscw:") return value;
  }
  return -1;
}

std::atomic<std::int64_t> seam_calls{0};
int CountCall(const char*) {
  seam_calls.fetch_add(1, std::memory_order_relaxed);
  return 0;  // Make the call.
}

Sample WakeBurst(const Implementation& implementation, int burst) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {1, true});
  WakeState state;
  loop->SetWakeHandler(OnWake, &state);
  std::thread waiter = StartWaiter(*loop, state);
  // Make the waiter busy: a wake whose handler spins until the burst is done.
  state.burst_done.store(false, std::memory_order_release);
  Check(loop->Wake(), implementation, "Wake");
  while (!state.busy.load(std::memory_order_acquire)) Pause();

  const bool poller = IsPoller(implementation);
  seam_calls.store(0);
  if (poller) poller::internal::SetFaultHookForTesting(CountCall);
  const std::int64_t writes_before = WriteSyscalls();
  const Stopwatch stopwatch;
  for (int i = 0; i < burst; ++i) Check(loop->Wake(), implementation, "Wake");
  Sample sample;
  sample.ns_per_op = stopwatch.PerOp(burst);
  sample.cpu_ns_per_op = TakeCpuPerOp();
  const std::int64_t writes_after = WriteSyscalls();
  poller::internal::SetFaultHookForTesting(nullptr);
  state.burst_done.store(true, std::memory_order_release);

  // The burst must still be delivered: at least one more return.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  while (state.returned.load(std::memory_order_acquire) < 2) {
    if (Clock::now() > deadline) {
      Die(implementation.name + ": a burst of wakes was lost");
    }
    std::this_thread::yield();
  }
  StopWaiter(*loop, state, waiter);
  sample.extra = {{"write_syscalls_per_burst",
                   static_cast<double>(writes_after - writes_before)},
                  {"poller_syscalls_per_burst",
                   poller ? static_cast<double>(seam_calls.load()) : NAN}};
  return sample;
}

}  // namespace

void RunWake(Suite& suite) {
  const std::int64_t round_trips =
      Scaled(absl::GetFlag(FLAGS_wake_round_trips), 10);
  suite.Time("wake_round_trip", {{"round_trips", absl::StrCat(round_trips)}},
             [&](const Implementation& implementation) {
               return Sample{WakeRoundTrip(implementation, round_trips)};
             });
  const int burst = absl::GetFlag(FLAGS_wake_burst);
  suite.Time("wake_burst", {{"wakes", absl::StrCat(burst)}},
             [&](const Implementation& implementation) {
               return WakeBurst(implementation, burst);
             });
}

}  // namespace poller_bench
