// Copyright 2026 The poller Authors.
//
// Case 5: idle cost. A non-blocking wait with K idle registrations. Result:
// ns per wait.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "bench/cases.h"
#include "bench/harness.h"

ABSL_FLAG(std::string, idle_registrations, "10,8000", "Case 5: registrations.");
ABSL_FLAG(int, idle_waits, 100000, "Case 5: Wait(0) calls per run.");

namespace poller_bench {
namespace {

double Idle(const Implementation& implementation, std::vector<int>& fds,
            int waits) {
  const auto count = static_cast<std::uint32_t>(fds.size());
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {count, false});
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->Add(fds[i], i, Trigger::kLevel), implementation, "Add");
  }
  for (int i = 0; i < 100; ++i) loop->RunOnce(false);
  // At most `waits`, and no more once half a second has passed (poll is
  // O(registered)).
  const Stopwatch stopwatch;
  int done = 0;
  while (done < waits) {
    if (loop->RunOnce(false) != 0) Die(implementation.name + ": idle event");
    if ((++done & 63) == 0 &&
        Clock::now() - stopwatch.wall > std::chrono::milliseconds(500)) {
      break;
    }
  }
  const double result = stopwatch.PerOp(done);
  for (std::uint32_t i = 0; i < count; ++i) loop->Remove(fds[i], i);
  loop->RunOnce(false);
  return result;
}

}  // namespace

void RunIdle(Suite& suite) {
  const int waits = Scaled(absl::GetFlag(FLAGS_idle_waits), 10);
  for (int registrations : ParseInts(absl::GetFlag(FLAGS_idle_registrations),
                                     "idle_registrations")) {
    std::vector<int> fds = MakeIdleHandles(registrations);
    suite.Time("idle", {{"registrations", absl::StrCat(registrations)}},
               [&](const Implementation& implementation) {
                 return Sample{Idle(implementation, fds, waits)};
               });
    CloseAll(fds);
  }
}

}  // namespace poller_bench
