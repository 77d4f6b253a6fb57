// Copyright 2026 The poller Authors.
//
// The ping-pong loop, shared by case 1 (timed) and case 6 (heap per wait).

#ifndef POLLER_BENCH_PINGPONG_H_
#define POLLER_BENCH_PINGPONG_H_

#include <cstdint>

#include "bench/event_loop.h"

namespace poller_bench {

struct PingPongState {
  EventLoop* loop;
  int fds[2];
  bool oneshot;
  std::int64_t remaining;
  std::int64_t events;
};

// Reads the byte, re-arms a oneshot registration, and sends the byte back
// while round trips remain.
void PingPongHandler(void* context, std::uint32_t index);

// Runs `round_trips` round trips on a registered pair; wall ns per round trip
// (and records the CPU time, see Stopwatch).
double PingPongRun(EventLoop& loop, PingPongState& state,
                   std::int64_t round_trips);

}  // namespace poller_bench

#endif  // POLLER_BENCH_PINGPONG_H_
