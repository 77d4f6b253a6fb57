// Copyright 2026 The poller Authors.
//
// What every case of //bench:compare uses: clocks, a watchdog that turns a
// lost event into a clear failure, the handles the cases register, and the
// --quick scaling of counts.

#ifndef POLLER_BENCH_HARNESS_H_
#define POLLER_BENCH_HARNESS_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "bench/event_loop.h"

namespace poller_bench {

using Clock = std::chrono::steady_clock;

double NanosecondsSince(Clock::time_point start);

// CPU time of the calling thread, user and kernel: on a shared machine it
// counts this thread's own work, not the time others held the core.
double ThreadCpuNanoseconds();

// Times a section both ways. PerOp returns wall ns per op and records the
// CPU ns per op of the calling thread for the Suite (see TakeCpuPerOp).
struct Stopwatch {
  Clock::time_point wall = Clock::now();
  double cpu = ThreadCpuNanoseconds();
  double PerOp(double ops) const;
};

// The CPU ns per op the last Stopwatch::PerOp recorded on this thread, or NaN
// if none did since the last call (a case without a CPU figure).
double TakeCpuPerOp();

[[noreturn]] void Die(const std::string& why);

// A loop that loses an event would block for ever: the watchdog ends the
// process after 60 s in one measurement, naming it.
void StartWatchdog();
void WatchdogArm(const std::string& label);
void WatchdogDisarm();

// --quick scales counts down; flags given explicitly still win.
bool Quick();
int Scaled(int value, int quick_divisor);

// "100,1000" -> {100, 1000}; dies naming `flag` on anything else.
std::vector<int> ParseInts(const std::string& text, const char* flag);

void Pause();  // A spin-wait hint.

// Handles the cases use.
struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
};
std::vector<Pipe> MakePipes(int count);
void ClosePipes(std::vector<Pipe>& pipes);
// Handles that are never readable nor writable: listening Unix sockets
// (autobound to unique abstract names) with nobody connecting.
std::vector<int> MakeIdleHandles(int count);
void CloseAll(std::vector<int>& fds);
// Two ends of a non-blocking AF_UNIX stream socket pair.
void MakeSocketPair(int fds[2]);

std::unique_ptr<EventLoop> MakeLoop(const Implementation& implementation,
                                    const LoopOptions& options);
void Check(bool ok, const Implementation& implementation,
           absl::string_view what);
bool IsPoller(const Implementation& implementation);

}  // namespace poller_bench

#endif  // POLLER_BENCH_HARNESS_H_
