// Copyright 2026 The poller Authors.
//
// //bench:compare: poller on every compiled backend against raw epoll (the
// physical limit) and its peers (libevent, libev, libuv, Boost.Asio), case by
// case, all in one process run so the ratios compare like with like.
//
//   ./bazelw run -c opt //bench:compare                      # the full suite
//   ./bazelw run -c opt //bench:compare -- --quick --json=bench.json
//
// Method: each measurement builds a fresh loop, does its setup untimed, then
// times the case. Every case runs one warm-up repetition that is thrown away,
// then --repetitions more; in each repetition every implementation runs once,
// in turn, so drift in the machine's load touches them all alike. A figure is
// the median of the repetitions; ratio_to_raw divides it by raw's median of
// the same case and parameters from this same run. Single-threaded cases also
// report the measuring thread's CPU time (cpu_ns_per_op, cpu_ratio_to_raw),
// which a busy shared machine disturbs far less than the wall clock.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/alloc_counter.h"
#include "bench/event_loop.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"

ABSL_FLAG(std::string, json, "", "Also write every figure as JSON here.");
ABSL_FLAG(bool, quick, false,
          "Smaller counts and 3 repetitions: the whole suite in well under a "
          "minute (noisier figures).");
ABSL_FLAG(int, repetitions, 5,
          "Timed repetitions per figure (median kept). 5 keeps the full suite "
          "under 3 minutes here; the README's run used 7.");
ABSL_FLAG(std::string, backend, "",
          "Only this poller backend (default: every compiled backend).");
ABSL_FLAG(std::string, impls, "",
          "Comma-separated implementations to run (default: all), e.g. "
          "raw,poller/epoll,libevent. raw is always run: ratios need it. "
          "raw-pwait2 (raw waiting with epoll_pwait2) runs only if named.");
ABSL_FLAG(std::string, cases, "",
          "Comma-separated cases to run (default: all): pingpong, "
          "pingpong_deferred, libev, wake, churn, idle, memory.");
ABSL_FLAG(int, pingpong_round_trips, 30000, "Case 1: round trips per run.");
ABSL_FLAG(std::string, libev_pipes, "100,1000,8000", "Case 2: pipes (P).");
ABSL_FLAG(std::string, libev_active, "1,100", "Case 2: active writers (A).");
ABSL_FLAG(int, libev_writes, 1000, "Case 2: writes per round (W).");
ABSL_FLAG(int, libev_rounds, 25, "Case 2: timed rounds per run.");
ABSL_FLAG(int, wake_round_trips, 5000, "Case 3: wake round trips per run.");
ABSL_FLAG(int, wake_burst, 1000, "Case 3: wakes per burst.");
ABSL_FLAG(int, churn_handles, 10000, "Case 4: handles.");
ABSL_FLAG(std::string, idle_registrations, "10,8000", "Case 5: registrations.");
ABSL_FLAG(int, idle_waits, 100000, "Case 5: Wait(0) calls per run.");
ABSL_FLAG(int, memory_registrations, 8000, "Case 6: registrations.");
ABSL_FLAG(int, memory_waits, 20000, "Case 6: waits counted.");

namespace poller_bench {

std::vector<Implementation> AllImplementations() {
  std::vector<Implementation> all;
  all.push_back({"raw", NewRawLoop, false});
  all.push_back({"raw-pwait2", NewRawPwait2Loop, false, true});
  for (const std::string& backend : poller::Poller::CompiledBackends()) {
    all.push_back({"poller/" + backend,
                   [backend](const LoopOptions& options) {
                     return NewPollerLoop(backend, options);
                   },
                   false});
  }
#if defined(POLLER_HAVE_EPOLL_BACKEND)
  // The epoll backend with kernel oneshot (EPOLLONESHOT, one EPOLL_CTL_MOD per
  // re-arm) instead of its default user-space oneshot, for comparison.
  all.push_back(
      {"poller/epoll-kernel-oneshot", NewPollerEpollKernelOneshotLoop, false});
#endif
  all.push_back({"libevent", NewLibeventLoop, true});
  all.push_back({"libev", NewLibevLoop, true});
  all.push_back({"libuv", NewLibuvLoop, true});
  all.push_back({"asio", NewAsioLoop, true});
  return all;
}

namespace {

using Clock = std::chrono::steady_clock;

double NanosecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

// CPU time of the calling thread, user and kernel: on a shared machine it
// counts this thread's own work, not the time others held the core.
double ThreadCpuNanoseconds() {
  timespec now;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 +
         static_cast<double>(now.tv_nsec);
}

// Set by the single-threaded cases next to their wall-clock figure: CPU ns per
// op of the measuring thread (NAN where a case has none).
double last_cpu_ns_per_op = NAN;

// Times a section both ways.
struct Stopwatch {
  Clock::time_point wall = Clock::now();
  double cpu = ThreadCpuNanoseconds();
  // Wall ns per op; records CPU ns per op in last_cpu_ns_per_op.
  double PerOp(double ops) const {
    last_cpu_ns_per_op = (ThreadCpuNanoseconds() - cpu) / ops;
    return NanosecondsSince(wall) / ops;
  }
};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "compare: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

// ---------------------------------------------------------------------------
// A watchdog: a loop that loses an event would block forever; this turns that
// into a clear failure naming the measurement.

std::mutex watchdog_mutex;
std::string watchdog_label;
Clock::time_point watchdog_started;
bool watchdog_armed = false;

void WatchdogArm(const std::string& label) {
  std::lock_guard<std::mutex> lock(watchdog_mutex);
  watchdog_label = label;
  watchdog_started = Clock::now();
  watchdog_armed = true;
}
void WatchdogDisarm() {
  std::lock_guard<std::mutex> lock(watchdog_mutex);
  watchdog_armed = false;
}
void StartWatchdog() {
  std::thread([] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      std::lock_guard<std::mutex> lock(watchdog_mutex);
      if (watchdog_armed &&
          Clock::now() - watchdog_started > std::chrono::seconds(60)) {
        Die(absl::StrCat("stuck for 60 s in ", watchdog_label,
                         " (an event was lost?)"));
      }
    }
  }).detach();
}

// ---------------------------------------------------------------------------
// Handles the cases use.

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
};

std::vector<Pipe> MakePipes(int count) {
  std::vector<Pipe> pipes(static_cast<size_t>(count));
  for (Pipe& pipe : pipes) {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
      Die(absl::StrCat("pipe2: ", std::strerror(errno),
                       " (raise the descriptor limit: ulimit -n)"));
    }
    pipe.read_fd = fds[0];
    pipe.write_fd = fds[1];
  }
  return pipes;
}

void ClosePipes(std::vector<Pipe>& pipes) {
  for (Pipe& pipe : pipes) {
    ::close(pipe.read_fd);
    ::close(pipe.write_fd);
  }
  pipes.clear();
}

// Handles that are never readable nor writable: listening Unix sockets
// (autobound to unique abstract names) with nobody connecting.
std::vector<int> MakeIdleHandles(int count) {
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd < 0 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&address),
               sizeof(sa_family_t)) != 0 ||
        ::listen(fd, 1) != 0) {
      Die(absl::StrCat("idle socket: ", std::strerror(errno),
                       " (raise the descriptor limit: ulimit -n)"));
    }
    fds.push_back(fd);
  }
  return fds;
}

void CloseAll(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

std::unique_ptr<EventLoop> MakeLoop(const Implementation& implementation,
                                    const LoopOptions& options) {
  std::unique_ptr<EventLoop> loop = implementation.create(options);
  if (loop == nullptr) Die("cannot create a loop for " + implementation.name);
  return loop;
}

void Check(bool ok, const Implementation& implementation,
           absl::string_view what) {
  if (!ok) Die(absl::StrCat(implementation.name, ": ", what, " failed"));
}

// ---------------------------------------------------------------------------
// Case 1: ping-pong. One byte bounced between the two ends of a socketpair,
// through the loop each way. Result: ns per round trip (two events).

struct PingPongState {
  EventLoop* loop;
  int fds[2];
  bool oneshot;
  std::int64_t remaining;
  std::int64_t events;
};

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

// Runs `round_trips` round trips on an existing registration pair.
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

double PingPong(const Implementation& implementation, Trigger trigger,
                std::int64_t round_trips) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {2, false});
  PingPongState state{loop.get(), {-1, -1}, trigger == Trigger::kOneshot, 0, 0};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   state.fds) != 0) {
    Die("socketpair");
  }
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

// Case 1b: oneshot with a deferred re-arm, the worst case of a oneshot done in
// user space: the handler only records the event (as a program handing the
// handle to a worker would), the loop waits once more (without blocking) while
// the handle is still readable and disarmed, and only then is the byte read
// and the handle re-armed. A correct oneshot reports nothing in that extra
// wait. Result: ns per round trip.

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

double PingPongDeferred(const Implementation& implementation,
                        std::int64_t round_trips) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {2, false});
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   fds) != 0) {
    Die("socketpair");
  }
  DeferredState state;
  loop->SetHandler(DeferredHandler, &state);
  Check(loop->Add(fds[0], 0, Trigger::kOneshot), implementation, "Add");
  Check(loop->Add(fds[1], 1, Trigger::kOneshot), implementation, "Add");
  auto run = [&](std::int64_t trips) {
    state.events = 0;
    std::int64_t remaining = 2 * trips - 1;
    const Stopwatch stopwatch;
    char byte = 'd';
    if (::write(fds[0], &byte, 1) != 1) Die("deferred write");
    while (state.events < 2 * trips) {
      if (loop->RunOnce(true) < 0) Die("deferred wait");
      if (state.pending < 0) continue;
      const int index = state.pending;
      // The handle is still readable and disarmed: nothing may come.
      if (loop->RunOnce(false) < 0) Die("deferred wait");
      state.pending = -1;
      if (::read(fds[index], &byte, 1) != 1) Die("deferred read");
      Check(loop->Rearm(fds[index], static_cast<std::uint32_t>(index)),
            implementation, "Rearm");
      if (remaining-- > 0 && ::write(fds[index], &byte, 1) != 1) {
        Die("deferred write");
      }
    }
    return stopwatch.PerOp(static_cast<double>(trips));
  };
  run(std::max<std::int64_t>(round_trips / 10, 100));
  const double result = run(round_trips);
  loop->Remove(fds[0], 0);
  loop->Remove(fds[1], 1);
  loop.reset();
  ::close(fds[0]);
  ::close(fds[1]);
  return result;
}

// ---------------------------------------------------------------------------
// Case 2: libev's and libevent's classic benchmark (libev's bench.c). P pipes
// registered (level); each round A of them, spread evenly, get a byte; each
// event reads its byte and, while writes remain, writes one to the next pipe;
// the loop runs without blocking until every byte is read. Result: ns per
// round. Raw epoll costs O(active), not O(registered).

struct LibevState {
  std::vector<Pipe>* pipes;
  std::int64_t writes_left;
  std::int64_t fired;
  std::int64_t seen;
};

void LibevHandler(void* context, std::uint32_t index) {
  auto* state = static_cast<LibevState*>(context);
  std::vector<Pipe>& pipes = *state->pipes;
  char byte;
  if (::read(pipes[index].read_fd, &byte, 1) != 1) return;  // Spurious.
  ++state->seen;
  if (state->writes_left > 0) {
    std::uint32_t next = index + 1;
    if (next >= pipes.size()) next = 0;
    if (::write(pipes[next].write_fd, "e", 1) != 1) Die("libev write");
    --state->writes_left;
    ++state->fired;
  }
}

double LibevBench(const Implementation& implementation,
                  std::vector<Pipe>& pipes, int active, int writes,
                  int rounds) {
  const auto count = static_cast<std::uint32_t>(pipes.size());
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {count, false});
  LibevState state{&pipes, 0, 0, 0};
  loop->SetHandler(LibevHandler, &state);
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->Add(pipes[i].read_fd, i, Trigger::kLevel), implementation,
          "Add");
  }
  const std::uint32_t space = count / static_cast<std::uint32_t>(active);
  auto round = [&] {
    state.writes_left = writes;
    state.fired = 0;
    state.seen = 0;
    for (int i = 0; i < active; ++i, ++state.fired) {
      if (::write(pipes[static_cast<size_t>(i) * space].write_fd, "e", 1) !=
          1) {
        Die("libev write");
      }
    }
    do {
      if (loop->RunOnce(false) < 0) Die("libev wait");
    } while (state.seen != state.fired);
  };
  round();  // Warm-up: lets lazy libraries apply their registrations.
  // At most --rounds, and no more once a second has passed (a backend that
  // is O(registered), like poll, would otherwise take minutes at P=8,000).
  const Stopwatch stopwatch;
  int done = 0;
  while (done < rounds) {
    round();
    ++done;
    if (Clock::now() - stopwatch.wall > std::chrono::seconds(1)) break;
  }
  const double result = stopwatch.PerOp(done);
  for (std::uint32_t i = 0; i < count; ++i) loop->Remove(pipes[i].read_fd, i);
  loop->RunOnce(false);
  return result;
}

// ---------------------------------------------------------------------------
// Case 3: wakes. (a) Round trip: another thread calls Wake() and spins until
// the waiter, blocked in its Wait, has returned; the median trip in ns. (b)
// Burst: while the waiter is busy in a handler, another thread sends
// --wake_burst wakes; ns per Wake() call, and the write(2) calls the process
// made meanwhile (from /proc/self/io; for poller also counted at poller's
// syscall seam).

struct WakeState {
  std::atomic<std::int64_t> returned{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> busy{false};
  std::atomic<bool> burst_done{true};
};

void WakeHandler(void* context) {
  auto* state = static_cast<WakeState*>(context);
  if (!state->burst_done.load(std::memory_order_acquire)) {
    state->busy.store(true, std::memory_order_release);
    while (!state->burst_done.load(std::memory_order_acquire)) {
    }
  }
  state->returned.fetch_add(1, std::memory_order_release);
}

inline void Pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

double WakeRoundTrip(const Implementation& implementation,
                     std::int64_t round_trips) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {1, true});
  WakeState state;
  loop->SetWakeHandler(WakeHandler, &state);
  std::thread waiter([&] {
    while (!state.stop.load(std::memory_order_acquire)) {
      if (loop->RunOnce(true) < 0) Die("wake wait");
    }
  });
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
  std::nth_element(trips.begin(), trips.begin() + trips.size() / 2,
                   trips.end());
  const double result = trips[trips.size() / 2];
  state.stop.store(true, std::memory_order_release);
  loop->Wake();
  waiter.join();
  return result;
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

std::atomic<std::int64_t> hooked_writes{0};
int CountWrites(const char* name) {
  if (std::strcmp(name, "write") == 0) {
    hooked_writes.fetch_add(1, std::memory_order_relaxed);
  }
  return 0;  // Make the call.
}

struct BurstResult {
  double ns_per_wake;
  std::int64_t writes;         // From /proc/self/io.
  std::int64_t hooked_writes;  // At poller's syscall seam (poller only).
};

BurstResult WakeBurst(const Implementation& implementation, int burst) {
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {1, true});
  WakeState state;
  loop->SetWakeHandler(WakeHandler, &state);
  std::thread waiter([&] {
    while (!state.stop.load(std::memory_order_acquire)) {
      if (loop->RunOnce(true) < 0) Die("wake wait");
    }
  });
  // Make the waiter busy: a wake whose handler spins until the burst is done.
  state.burst_done.store(false, std::memory_order_release);
  Check(loop->Wake(), implementation, "Wake");
  while (!state.busy.load(std::memory_order_acquire)) Pause();

  const bool poller = implementation.name.rfind("poller/", 0) == 0;
  hooked_writes.store(0);
  if (poller) poller::internal::SetFaultHookForTesting(CountWrites);
  const std::int64_t writes_before = WriteSyscalls();
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < burst; ++i) Check(loop->Wake(), implementation, "Wake");
  const double elapsed = NanosecondsSince(start);
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
  state.stop.store(true, std::memory_order_release);
  loop->Wake();
  waiter.join();
  return {elapsed / burst, writes_after - writes_before,
          poller ? hooked_writes.load() : -1};
}

// ---------------------------------------------------------------------------
// Case 4: churn. Add (readable), Modify (to writable) and Delete each of N
// handles, with one non-blocking loop iteration after each pass so libraries
// that defer changes (libev, libuv) make them. Handles are never ready, so no
// events are dispatched. Result: ns per handle for all three.

double Churn(const Implementation& implementation, std::vector<int>& fds) {
  const auto count = static_cast<std::uint32_t>(fds.size());
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {count, false});
  const Stopwatch stopwatch;
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->Add(fds[i], i, Trigger::kOneshot), implementation, "Add");
  }
  loop->RunOnce(false);
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->ModifyToWritable(fds[i], i), implementation, "Modify");
  }
  loop->RunOnce(false);
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->Remove(fds[i], i), implementation, "Remove");
  }
  loop->RunOnce(false);
  return stopwatch.PerOp(count);
}

// ---------------------------------------------------------------------------
// Case 5: idle cost. A non-blocking wait with K idle registrations. Result: ns
// per wait.

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

// ---------------------------------------------------------------------------
// Case 6: memory. Heap bytes and allocations per registration (N idle
// handles, once the loop has applied them), and heap allocations per wait in
// a level-triggered ping-pong. Deterministic, so measured once.

struct MemoryResult {
  double bytes_per_registration;
  double allocations_per_registration;
  double allocations_per_wait;
};

MemoryResult Memory(const Implementation& implementation, std::vector<int>& fds,
                    int waits) {
  MemoryResult result{};
  {
    const auto count = static_cast<std::uint32_t>(fds.size());
    std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {count, false});
    loop->RunOnce(false);
    const HeapCounters before = ReadHeapCounters();
    for (std::uint32_t i = 0; i < count; ++i) {
      Check(loop->Add(fds[i], i, Trigger::kLevel), implementation, "Add");
    }
    loop->RunOnce(false);
    const HeapCounters after = ReadHeapCounters();
    result.bytes_per_registration =
        static_cast<double>(after.live_bytes - before.live_bytes) / count;
    result.allocations_per_registration =
        static_cast<double>(after.allocations - before.allocations) / count;
    for (std::uint32_t i = 0; i < count; ++i) loop->Remove(fds[i], i);
    loop->RunOnce(false);
  }
  {
    std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {2, false});
    PingPongState state{loop.get(), {-1, -1}, false, 0, 0};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                     state.fds) != 0) {
      Die("socketpair");
    }
    loop->SetHandler(PingPongHandler, &state);
    Check(loop->Add(state.fds[0], 0, Trigger::kLevel), implementation, "Add");
    Check(loop->Add(state.fds[1], 1, Trigger::kLevel), implementation, "Add");
    PingPongRun(*loop, state, 1000);
    // Each round trip is two waits that each deliver one event.
    const HeapCounters before = ReadHeapCounters();
    PingPongRun(*loop, state, waits / 2);
    const HeapCounters after = ReadHeapCounters();
    result.allocations_per_wait =
        static_cast<double>(after.allocations - before.allocations) /
        static_cast<double>(waits / 2 * 2);
    loop->Remove(state.fds[0], 0);
    loop->Remove(state.fds[1], 1);
    loop.reset();
    ::close(state.fds[0]);
    ::close(state.fds[1]);
  }
  return result;
}

// ---------------------------------------------------------------------------
// Results.

struct Figure {
  std::string case_name;
  std::string implementation;
  std::vector<std::pair<std::string, std::string>> params;  // JSON values.
  double ns_per_op = NAN;
  double ratio_to_raw = NAN;
  std::vector<std::pair<std::string, double>> extra;  // Other measures.
  std::vector<double> samples;
};

std::string ParamsKey(const Figure& figure) {
  std::string key = figure.case_name;
  for (const auto& [name, value] : figure.params) {
    absl::StrAppend(&key, " ", name, "=", value);
  }
  return key;
}

std::string JsonNumber(double value) {
  if (std::isnan(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

std::string ToJson(const Figure& figure) {
  std::vector<std::string> params;
  for (const auto& [name, value] : figure.params) {
    params.push_back(absl::StrCat("\"", name, "\": ", value));
  }
  std::string json = absl::StrCat(
      "{\"case\": \"", figure.case_name, "\", \"impl\": \"",
      figure.implementation, "\", \"params\": {", absl::StrJoin(params, ", "),
      "}, \"ns_per_op\": ", JsonNumber(figure.ns_per_op),
      ", \"ratio_to_raw\": ", JsonNumber(figure.ratio_to_raw));
  for (const auto& [name, value] : figure.extra) {
    absl::StrAppend(&json, ", \"", name, "\": ", JsonNumber(value));
  }
  std::vector<std::string> samples;
  for (double sample : figure.samples) samples.push_back(JsonNumber(sample));
  absl::StrAppend(&json, ", \"samples\": [", absl::StrJoin(samples, ", "),
                  "]}");
  return json;
}

double Median(std::vector<double> values) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle]
                                : (values[middle - 1] + values[middle]) / 2;
}

class Suite {
 public:
  Suite(std::vector<Implementation> implementations, int repetitions)
      : implementations_(std::move(implementations)),
        repetitions_(repetitions) {}

  // Times `run` (ns per op) for every implementation: one warm-up round, then
  // `repetitions_` rounds, the implementations in turn within each.
  void Time(const std::string& case_name,
            std::vector<std::pair<std::string, std::string>> params,
            const std::function<double(const Implementation&)>& run) {
    Time(case_name, std::move(params), /*print=*/true, run);
  }
  void Time(const std::string& case_name,
            std::vector<std::pair<std::string, std::string>> params, bool print,
            const std::function<double(const Implementation&)>& run) {
    std::vector<std::vector<double>> samples(implementations_.size());
    std::vector<std::vector<double>> cpu_samples(implementations_.size());
    for (int repetition = -1; repetition < repetitions_; ++repetition) {
      // Each repetition starts with the next implementation, so none always
      // runs first (right after the previous case's setup).
      const size_t count = implementations_.size();
      for (size_t turn = 0; turn < count; ++turn) {
        const size_t i = (turn + static_cast<size_t>(repetition + 1)) % count;
        WatchdogArm(absl::StrCat(case_name, " on ", implementations_[i].name));
        last_cpu_ns_per_op = NAN;
        const double value = run(implementations_[i]);
        WatchdogDisarm();
        if (repetition >= 0) {
          samples[i].push_back(value);
          if (!std::isnan(last_cpu_ns_per_op)) {
            cpu_samples[i].push_back(last_cpu_ns_per_op);
          }
        }
      }
    }
    double raw = NAN;
    double raw_cpu = NAN;
    size_t first = figures_.size();
    for (size_t i = 0; i < implementations_.size(); ++i) {
      Figure figure;
      figure.case_name = case_name;
      figure.implementation = implementations_[i].name;
      figure.params = params;
      figure.ns_per_op = Median(samples[i]);
      figure.samples = samples[i];
      if (figure.implementation == "raw") raw = figure.ns_per_op;
      if (!cpu_samples[i].empty()) {
        figure.extra.emplace_back("cpu_ns_per_op", Median(cpu_samples[i]));
        if (figure.implementation == "raw") {
          raw_cpu = figure.extra.back().second;
        }
      }
      figures_.push_back(std::move(figure));
    }
    for (size_t i = first; i < figures_.size(); ++i) {
      figures_[i].ratio_to_raw = figures_[i].ns_per_op / raw;
      if (!figures_[i].extra.empty() && !std::isnan(raw_cpu)) {
        figures_[i].extra.emplace_back(
            "cpu_ratio_to_raw", figures_[i].extra.front().second / raw_cpu);
      }
    }
    if (print) Print(first);
  }

  // Adds a measure (the median of `values[impl]`, skipping negatives: not
  // measured) to each figure from index `first` on.
  void AttachExtra(size_t first, const std::string& name,
                   const std::map<std::string, std::vector<double>>& values) {
    for (size_t i = first; i < figures_.size(); ++i) {
      auto found = values.find(figures_[i].implementation);
      if (found == values.end()) continue;
      std::vector<double> measured;
      for (double value : found->second) {
        if (value >= 0) measured.push_back(value);
      }
      if (!measured.empty()) {
        figures_[i].extra.emplace_back(name, Median(measured));
      }
    }
  }

  void Add(Figure figure) { figures_.push_back(std::move(figure)); }
  void PrintFrom(size_t first) { Print(first); }
  size_t size() const { return figures_.size(); }
  const std::vector<Implementation>& implementations() const {
    return implementations_;
  }

  bool WriteJson(const std::string& path, const std::string& header) const {
    std::ofstream out(path);
    out << "{" << header << ",\n \"results\": [\n";
    for (size_t i = 0; i < figures_.size(); ++i) {
      out << "  " << ToJson(figures_[i])
          << (i + 1 < figures_.size() ? ",\n" : "\n");
    }
    out << "]}\n";
    return static_cast<bool>(out);
  }

 private:
  void Print(size_t first) const {
    if (first >= figures_.size()) return;
    std::printf("\n%s\n", ParamsKey(figures_[first]).c_str());
    for (size_t i = first; i < figures_.size(); ++i) {
      const Figure& figure = figures_[i];
      std::string line = absl::StrFormat("  %-28s", figure.implementation);
      if (!std::isnan(figure.ns_per_op)) {
        absl::StrAppendFormat(&line, " %12.1f ns", figure.ns_per_op);
      }
      if (!std::isnan(figure.ratio_to_raw)) {
        absl::StrAppendFormat(&line, "  x%.3f raw", figure.ratio_to_raw);
      }
      for (const auto& [name, value] : figure.extra) {
        absl::StrAppendFormat(&line, "  %s=%g", name, value);
      }
      std::printf("%s\n", line.c_str());
    }
    std::fflush(stdout);
  }

  std::vector<Implementation> implementations_;
  const int repetitions_;
  std::vector<Figure> figures_;
};

std::vector<int> ParseInts(const std::string& text, const char* flag) {
  std::vector<int> values;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int value;
    if (!absl::SimpleAtoi(part, &value) || value < 1) {
      Die(absl::StrCat("--", flag, ": not a positive integer: ", part));
    }
    values.push_back(value);
  }
  return values;
}

void RaiseDescriptorLimit() {
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::string Machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  char host[256] = "";
  ::gethostname(host, sizeof(host) - 1);
  std::ifstream release("/proc/sys/kernel/osrelease");
  std::string kernel;
  std::getline(release, kernel);
  return absl::StrCat(model, ", ", std::thread::hardware_concurrency(),
                      " CPUs, Linux ", kernel);
}

}  // namespace
}  // namespace poller_bench

int main(int argc, char** argv) {
  using namespace poller_bench;  // NOLINT: a benchmark's main.
  absl::SetProgramUsageMessage(
      "Benchmarks poller's backends against raw epoll and libevent, libev, "
      "libuv and Boost.Asio. Build with -c opt.");
  absl::ParseCommandLine(argc, argv);
  RaiseDescriptorLimit();
  StartWatchdog();

  const bool quick = absl::GetFlag(FLAGS_quick);
  int repetitions = absl::GetFlag(FLAGS_repetitions);
  // --quick scales the defaults down; flags given explicitly still win.
  auto scaled = [quick](int value, int divisor) {
    return quick ? std::max(1, value / divisor) : value;
  };
  if (quick) repetitions = std::min(repetitions, 3);
  if (repetitions < 1) Die("--repetitions must be >= 1");

  std::vector<std::string> wanted_cases =
      absl::StrSplit(absl::GetFlag(FLAGS_cases), ',', absl::SkipEmpty());
  auto run_case = [&](const std::string& name) {
    return wanted_cases.empty() ||
           std::find(wanted_cases.begin(), wanted_cases.end(), name) !=
               wanted_cases.end();
  };
  std::vector<std::string> wanted_impls =
      absl::StrSplit(absl::GetFlag(FLAGS_impls), ',', absl::SkipEmpty());
  const std::string only_backend = absl::GetFlag(FLAGS_backend);
  if (!only_backend.empty()) {
    std::vector<std::string> compiled = poller::Poller::CompiledBackends();
    if (std::find(compiled.begin(), compiled.end(), only_backend) ==
        compiled.end()) {
      Die(absl::StrCat("--backend=", only_backend,
                       ": not compiled into this build; compiled: ",
                       absl::StrJoin(compiled, ", ")));
    }
  }
  std::vector<Implementation> implementations;
  for (Implementation& implementation : AllImplementations()) {
    const bool is_poller = implementation.name.rfind("poller/", 0) == 0;
    if (is_poller && !only_backend.empty() &&
        implementation.name != "poller/" + only_backend) {
      continue;
    }
    const bool named = std::find(wanted_impls.begin(), wanted_impls.end(),
                                 implementation.name) != wanted_impls.end();
    if (implementation.on_request && !named) continue;
    if (implementation.name != "raw" && !wanted_impls.empty() && !named) {
      continue;
    }
    implementations.push_back(std::move(implementation));
  }

  const std::string machine = Machine();
  std::printf("compare: %s; %d repetitions (median kept)%s\n", machine.c_str(),
              repetitions, quick ? "; --quick" : "");
#if !defined(NDEBUG)
  std::printf(
      "compare: WARNING: built without -c opt; figures are not "
      "representative\n");
#endif
  std::vector<std::string> names;
  for (const Implementation& implementation : implementations) {
    names.push_back(implementation.name);
  }
  std::printf("compare: implementations: %s\n",
              absl::StrJoin(names, ", ").c_str());
  const Clock::time_point suite_start = Clock::now();
  Suite suite(implementations, repetitions);

  if (run_case("pingpong")) {
    const std::int64_t round_trips =
        scaled(absl::GetFlag(FLAGS_pingpong_round_trips), 10);
    for (Trigger trigger : {Trigger::kOneshot, Trigger::kLevel}) {
      const char* mode = trigger == Trigger::kOneshot ? "oneshot" : "level";
      suite.Time("pingpong",
                 {{"mode", absl::StrCat("\"", mode, "\"")},
                  {"round_trips", absl::StrCat(round_trips)}},
                 [&](const Implementation& implementation) {
                   return PingPong(implementation, trigger, round_trips);
                 });
    }
  }

  if (run_case("pingpong_deferred")) {
    const std::int64_t round_trips =
        scaled(absl::GetFlag(FLAGS_pingpong_round_trips), 10);
    suite.Time(
        "pingpong_deferred",
        {{"mode", "\"oneshot\""}, {"round_trips", absl::StrCat(round_trips)}},
        [&](const Implementation& implementation) {
          return PingPongDeferred(implementation, round_trips);
        });
  }

  if (run_case("libev")) {
    const int writes = absl::GetFlag(FLAGS_libev_writes);
    const int rounds = scaled(absl::GetFlag(FLAGS_libev_rounds), 8);
    for (int pipe_count :
         ParseInts(absl::GetFlag(FLAGS_libev_pipes), "libev_pipes")) {
      std::vector<Pipe> pipes = MakePipes(pipe_count);
      for (int active :
           ParseInts(absl::GetFlag(FLAGS_libev_active), "libev_active")) {
        if (active > pipe_count) continue;
        suite.Time("libev",
                   {{"pipes", absl::StrCat(pipe_count)},
                    {"active", absl::StrCat(active)},
                    {"writes", absl::StrCat(writes)}},
                   [&](const Implementation& implementation) {
                     return LibevBench(implementation, pipes, active, writes,
                                       rounds);
                   });
      }
      ClosePipes(pipes);
    }
  }

  if (run_case("wake")) {
    const std::int64_t round_trips =
        scaled(absl::GetFlag(FLAGS_wake_round_trips), 10);
    suite.Time("wake_round_trip", {{"round_trips", absl::StrCat(round_trips)}},
               [&](const Implementation& implementation) {
                 return WakeRoundTrip(implementation, round_trips);
               });
    const int burst = absl::GetFlag(FLAGS_wake_burst);
    std::map<std::string, std::vector<double>> writes, hooked;
    const size_t first = suite.size();
    suite.Time("wake_burst", {{"wakes", absl::StrCat(burst)}}, /*print=*/false,
               [&](const Implementation& implementation) {
                 BurstResult result = WakeBurst(implementation, burst);
                 writes[implementation.name].push_back(
                     static_cast<double>(result.writes));
                 hooked[implementation.name].push_back(
                     static_cast<double>(result.hooked_writes));
                 return result.ns_per_wake;
               });
    // The write counts go with the figures just made (median over the runs,
    // the warm-up included: a count does not warm up).
    suite.AttachExtra(first, "write_syscalls_per_burst", writes);
    suite.AttachExtra(first, "eventfd_writes_per_burst_at_seam", hooked);
    suite.PrintFrom(first);
  }

  if (run_case("churn")) {
    const int handles = absl::GetFlag(FLAGS_churn_handles);
    std::vector<int> fds = MakeIdleHandles(handles);
    suite.Time("churn", {{"handles", absl::StrCat(handles)}},
               [&](const Implementation& implementation) {
                 return Churn(implementation, fds);
               });
    CloseAll(fds);
  }

  if (run_case("idle")) {
    const int waits = scaled(absl::GetFlag(FLAGS_idle_waits), 10);
    for (int registrations : ParseInts(absl::GetFlag(FLAGS_idle_registrations),
                                       "idle_registrations")) {
      std::vector<int> fds = MakeIdleHandles(registrations);
      suite.Time("idle", {{"registrations", absl::StrCat(registrations)}},
                 [&](const Implementation& implementation) {
                   return Idle(implementation, fds, waits);
                 });
      CloseAll(fds);
    }
  }

  if (run_case("memory")) {
    const int registrations = absl::GetFlag(FLAGS_memory_registrations);
    const int waits = scaled(absl::GetFlag(FLAGS_memory_waits), 5);
    std::vector<int> fds = MakeIdleHandles(registrations);
    const size_t first = suite.size();
    for (const Implementation& implementation : suite.implementations()) {
      WatchdogArm("memory on " + implementation.name);
      // Once to warm up (first-use allocations of a library), once counted.
      Memory(implementation, fds, 1000);
      MemoryResult result = Memory(implementation, fds, waits);
      WatchdogDisarm();
      Figure figure;
      figure.case_name = "memory";
      figure.implementation = implementation.name;
      figure.params = {{"registrations", absl::StrCat(registrations)},
                       {"waits", absl::StrCat(waits)}};
      if (HeapCountingEnabled()) {
        figure.extra = {
            {"heap_bytes_per_registration", result.bytes_per_registration},
            {"heap_allocations_per_registration",
             result.allocations_per_registration},
            {"heap_allocations_per_wait", result.allocations_per_wait}};
      }
      suite.Add(std::move(figure));
    }
    suite.PrintFrom(first);
    CloseAll(fds);
  }

  const double seconds =
      std::chrono::duration<double>(Clock::now() - suite_start).count();
  std::printf("\ncompare: done in %.1f s\n", seconds);
  std::string json_path = absl::GetFlag(FLAGS_json);
  // `bazel run` starts the binary in its runfiles; a relative path means the
  // directory the command was typed in.
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
      cwd != nullptr && !json_path.empty() && json_path[0] != '/') {
    json_path = absl::StrCat(cwd, "/", json_path);
  }
  if (!json_path.empty()) {
    const std::string header = absl::StrCat(
        "\"machine\": \"", machine, "\", \"repetitions\": ", repetitions,
        ", \"quick\": ", quick ? "true" : "false",
        ", \"seconds\": ", absl::StrFormat("%.1f", seconds));
    if (!suite.WriteJson(json_path, header)) Die("cannot write " + json_path);
    std::printf("compare: wrote %s\n", json_path.c_str());
  }
  return 0;
}
