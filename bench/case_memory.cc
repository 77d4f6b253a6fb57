// Copyright 2026 The poller Authors.
//
// Case 6: memory. Heap bytes and allocations per registration (N idle
// handles, once the loop has applied them), and heap allocations per wait in
// a level-triggered ping-pong. Exact counts, so measured once (after a
// warm-up run that takes a library's first-use allocations).

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "bench/alloc_counter.h"
#include "bench/cases.h"
#include "bench/harness.h"
#include "bench/pingpong.h"

ABSL_FLAG(int, memory_registrations, 8000, "Case 6: registrations.");
ABSL_FLAG(int, memory_waits, 20000, "Case 6: waits counted.");

namespace poller_bench {
namespace {

struct PerRegistration {
  double bytes;
  double allocations;
};

PerRegistration HeapPerRegistration(const Implementation& implementation,
                                    std::vector<int>& fds) {
  const auto count = static_cast<std::uint32_t>(fds.size());
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {count, false});
  loop->RunOnce(false);
  const HeapCounters before = ReadHeapCounters();
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->Add(fds[i], i, Trigger::kLevel), implementation, "Add");
  }
  loop->RunOnce(false);
  const HeapCounters after = ReadHeapCounters();
  for (std::uint32_t i = 0; i < count; ++i) loop->Remove(fds[i], i);
  loop->RunOnce(false);
  return {static_cast<double>(after.live_bytes - before.live_bytes) / count,
          static_cast<double>(after.allocations - before.allocations) / count};
}

double HeapAllocationsPerWait(const Implementation& implementation, int waits) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {2, false});
  PingPongState state{loop.get(), {-1, -1}, false, 0, 0};
  MakeSocketPair(state.fds);
  loop->SetHandler(PingPongHandler, &state);
  Check(loop->Add(state.fds[0], 0, Trigger::kLevel), implementation, "Add");
  Check(loop->Add(state.fds[1], 1, Trigger::kLevel), implementation, "Add");
  PingPongRun(*loop, state, 1000);
  // Each round trip is two waits that each deliver one event.
  const HeapCounters before = ReadHeapCounters();
  PingPongRun(*loop, state, waits / 2);
  const HeapCounters after = ReadHeapCounters();
  loop->Remove(state.fds[0], 0);
  loop->Remove(state.fds[1], 1);
  loop.reset();
  ::close(state.fds[0]);
  ::close(state.fds[1]);
  return static_cast<double>(after.allocations - before.allocations) /
         static_cast<double>(waits / 2 * 2);
}

}  // namespace

void RunMemory(Suite& suite) {
  const int registrations = absl::GetFlag(FLAGS_memory_registrations);
  const int waits = Scaled(absl::GetFlag(FLAGS_memory_waits), 5);
  std::vector<int> fds = MakeIdleHandles(registrations);
  const size_t first = suite.size();
  for (const Implementation& implementation : suite.implementations()) {
    WatchdogArm("memory on " + implementation.name);
    HeapPerRegistration(implementation, fds);  // Warm-up.
    HeapAllocationsPerWait(implementation, 1000);
    const PerRegistration registration =
        HeapPerRegistration(implementation, fds);
    const double per_wait = HeapAllocationsPerWait(implementation, waits);
    WatchdogDisarm();
    Figure figure;
    figure.case_name = "memory";
    figure.implementation = implementation.name;
    figure.params = {{"registrations", absl::StrCat(registrations)},
                     {"waits", absl::StrCat(waits)}};
    if (HeapCountingEnabled()) {
      figure.extra = {
          {"heap_bytes_per_registration", {registration.bytes}},
          {"heap_allocations_per_registration", {registration.allocations}},
          {"heap_allocations_per_wait", {per_wait}}};
    }
    suite.Add(std::move(figure));
  }
  suite.PrintFrom(first);
  CloseAll(fds);
}

}  // namespace poller_bench
