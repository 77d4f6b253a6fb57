// Copyright 2026 The poller Authors.
//
// Case 1: ping-pong. One byte bounced between the two ends of a socket pair,
// through the loop each way, oneshot (re-armed on every event) and level.
// Result: ns per round trip (two events).
//
// Case 1b: oneshot with a deferred re-arm, the worst case of a oneshot done
// in user space: the handler only records the event (as a program handing the
// handle to a worker would), the loop waits once more (without blocking)
// while the handle is still readable and disarmed, and only then is the byte
// read and the handle re-armed. A correct oneshot reports nothing in that
// extra wait. Result: ns per round trip.

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/cases.h"
#include "bench/harness.h"
#include "bench/pingpong.h"

ABSL_FLAG(int, pingpong_round_trips, 30000, "Case 1: round trips per run.");
ABSL_FLAG(std::string, pingpong_modes, "oneshot,level",
          "Case 1: the modes to run, of oneshot and level.");

namespace poller_bench {

void PingPongHandler(void* context, std::uint32_t index) {
  auto* state = static_cast<PingPongState*>(context);
  char byte;
  if (::read(state->fds[index], &byte, 1) != 1) return;  // Spurious.
  if (state->oneshot) state->loop->Rearm(state->fds[index], index);
  ++state->events;
  if (state->remaining-- > 0) {
    if (::write(state->fds[index], &byte, 1) != 1) Die("ping-pong write");
  }
}

double PingPongRun(EventLoop& loop, PingPongState& state,
                   std::int64_t round_trips) {
  state.events = 0;
  state.remaining = 2 * round_trips - 1;
  const Stopwatch stopwatch;
  char byte = 'p';
  if (::write(state.fds[0], &byte, 1) != 1) Die("ping-pong write");
  while (state.events < 2 * round_trips) {
    if (loop.RunOnce(true) < 0) Die("ping-pong wait");
  }
  return stopwatch.PerOp(static_cast<double>(round_trips));
}

namespace {

double PingPong(const Implementation& implementation, Trigger trigger,
                std::int64_t round_trips) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {2, false});
  PingPongState state{loop.get(), {-1, -1}, trigger == Trigger::kOneshot, 0, 0};
  MakeSocketPair(state.fds);
  loop->SetHandler(PingPongHandler, &state);
  Check(loop->Add(state.fds[0], 0, trigger), implementation, "Add");
  Check(loop->Add(state.fds[1], 1, trigger), implementation, "Add");
  PingPongRun(*loop, state, std::max<std::int64_t>(round_trips / 10, 100));
  const double result = PingPongRun(*loop, state, round_trips);
  loop->Remove(state.fds[0], 0);
  loop->Remove(state.fds[1], 1);
  loop.reset();
  ::close(state.fds[0]);
  ::close(state.fds[1]);
  return result;
}

struct DeferredState {
  std::int64_t events = 0;
  int pending = -1;
};

void DeferredHandler(void* context, std::uint32_t index) {
  auto* state = static_cast<DeferredState*>(context);
  if (state->pending >= 0) Die("oneshot: a disarmed handle was reported");
  state->pending = static_cast<int>(index);
  ++state->events;
}

// `trips` round trips with the re-arm deferred; ns per round trip.
double DeferredRun(const Implementation& implementation, EventLoop& loop,
                   DeferredState& state, const int fds[2], std::int64_t trips) {
  state.events = 0;
  std::int64_t remaining = 2 * trips - 1;
  const Stopwatch stopwatch;
  char byte = 'd';
  if (::write(fds[0], &byte, 1) != 1) Die("deferred write");
  while (state.events < 2 * trips) {
    if (loop.RunOnce(true) < 0) Die("deferred wait");
    if (state.pending < 0) continue;
    const int index = state.pending;
    // The handle is still readable and disarmed: nothing may come.
    if (loop.RunOnce(false) < 0) Die("deferred wait");
    state.pending = -1;
    if (::read(fds[index], &byte, 1) != 1) Die("deferred read");
    Check(loop.Rearm(fds[index], static_cast<std::uint32_t>(index)),
          implementation, "Rearm");
    if (remaining-- > 0 && ::write(fds[index], &byte, 1) != 1) {
      Die("deferred write");
    }
  }
  return stopwatch.PerOp(static_cast<double>(trips));
}

double PingPongDeferred(const Implementation& implementation,
                        std::int64_t round_trips) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {2, false});
  int fds[2];
  MakeSocketPair(fds);
  DeferredState state;
  loop->SetHandler(DeferredHandler, &state);
  Check(loop->Add(fds[0], 0, Trigger::kOneshot), implementation, "Add");
  Check(loop->Add(fds[1], 1, Trigger::kOneshot), implementation, "Add");
  DeferredRun(implementation, *loop, state, fds,
              std::max<std::int64_t>(round_trips / 10, 100));
  const double result =
      DeferredRun(implementation, *loop, state, fds, round_trips);
  loop->Remove(fds[0], 0);
  loop->Remove(fds[1], 1);
  loop.reset();
  ::close(fds[0]);
  ::close(fds[1]);
  return result;
}

}  // namespace

void RunPingPong(Suite& suite) {
  const std::int64_t round_trips =
      Scaled(absl::GetFlag(FLAGS_pingpong_round_trips), 10);
  const std::string modes = absl::GetFlag(FLAGS_pingpong_modes);
  for (Trigger trigger : {Trigger::kOneshot, Trigger::kLevel}) {
    const char* mode = trigger == Trigger::kOneshot ? "oneshot" : "level";
    if (!absl::StrContains(modes, mode)) continue;
    suite.Time("pingpong",
               {{"mode", absl::StrCat("\"", mode, "\"")},
                {"round_trips", absl::StrCat(round_trips)}},
               [&](const Implementation& implementation) {
                 return Sample{PingPong(implementation, trigger, round_trips)};
               });
  }
}

void RunPingPongDeferred(Suite& suite) {
  const std::int64_t round_trips =
      Scaled(absl::GetFlag(FLAGS_pingpong_round_trips), 10);
  suite.Time(
      "pingpong_deferred",
      {{"mode", "\"oneshot\""}, {"round_trips", absl::StrCat(round_trips)}},
      [&](const Implementation& implementation) {
        return Sample{PingPongDeferred(implementation, round_trips)};
      });
}

}  // namespace poller_bench
