// Copyright 2026 The poller Authors.
//
// The cases of //bench:compare, one file each (case_<name>.cc). Each adds its
// figures to the suite, with its counts from its own flags (scaled down by
// --quick), and names itself in kCases for --cases=.

#ifndef POLLER_BENCH_CASES_H_
#define POLLER_BENCH_CASES_H_

#include "bench/suite.h"

namespace poller_bench {

// 1. One byte bounced through the loop, oneshot and level.
void RunPingPong(Suite& suite);
// 1b. Oneshot with the re-arm deferred past one more wait.
void RunPingPongDeferred(Suite& suite);
// 2. libev's and libevent's classic benchmark.
void RunLibev(Suite& suite);
// 3. Wake round trip, and a burst of wakes while the waiter is busy.
void RunWake(Suite& suite);
// 4. Add + Modify + Delete of idle handles.
void RunChurn(Suite& suite);
// 5. Wait(0) with idle registrations.
void RunIdle(Suite& suite);
// 6. Heap per registration and per wait.
void RunMemory(Suite& suite);
// 7. The echo demo, a real workload, per backend; and echo servers on
// libevent, libuv and poller/epoll under the same clients (rows echo_server).
void RunEcho(Suite& suite);

struct Case {
  const char* name;
  void (*run)(Suite& suite);
};

// In the order they run.
inline constexpr Case kCases[] = {
    {"pingpong", RunPingPong}, {"pingpong_deferred", RunPingPongDeferred},
    {"libev", RunLibev},       {"wake", RunWake},
    {"churn", RunChurn},       {"idle", RunIdle},
    {"memory", RunMemory},     {"echo", RunEcho},
};

}  // namespace poller_bench

#endif  // POLLER_BENCH_CASES_H_
