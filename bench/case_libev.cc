// Copyright 2026 The poller Authors.
//
// Case 2: libev's and libevent's classic benchmark (libev's bench.c). P pipes
// registered (level); each round A of them, spread evenly, get a byte; each
// event reads its byte and, while writes remain, writes one to the next pipe;
// the loop runs without blocking until every byte is read. Result: ns per
// round. Raw epoll costs O(active), not O(registered).

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "bench/cases.h"
#include "bench/harness.h"

ABSL_FLAG(std::string, libev_pipes, "100,1000,8000", "Case 2: pipes (P).");
ABSL_FLAG(std::string, libev_active, "1,100", "Case 2: active writers (A).");
ABSL_FLAG(int, libev_writes, 1000, "Case 2: writes per round (W).");
ABSL_FLAG(int, libev_rounds, 25, "Case 2: timed rounds per run.");

namespace poller_bench {
namespace {

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

// One round: `active` first writes, then the loop until every byte is read.
void LibevRound(EventLoop& loop, LibevState& state, int active, int writes,
                std::uint32_t space) {
  std::vector<Pipe>& pipes = *state.pipes;
  state.writes_left = writes;
  state.fired = 0;
  state.seen = 0;
  for (int i = 0; i < active; ++i, ++state.fired) {
    if (::write(pipes[static_cast<size_t>(i) * space].write_fd, "e", 1) != 1) {
      Die("libev write");
    }
  }
  do {
    if (loop.RunOnce(false) < 0) Die("libev wait");
  } while (state.seen != state.fired);
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
  // Warm-up: lets lazy libraries apply their registrations.
  LibevRound(*loop, state, active, writes, space);
  // At most `rounds`, and no more once a second has passed (a backend that
  // is O(registered), like poll, would otherwise take minutes at P=8,000).
  const Stopwatch stopwatch;
  int done = 0;
  while (done < rounds) {
    LibevRound(*loop, state, active, writes, space);
    ++done;
    if (Clock::now() - stopwatch.wall > std::chrono::seconds(1)) break;
  }
  const double result = stopwatch.PerOp(done);
  for (std::uint32_t i = 0; i < count; ++i) loop->Remove(pipes[i].read_fd, i);
  loop->RunOnce(false);
  return result;
}

}  // namespace

void RunLibev(Suite& suite) {
  const int writes = absl::GetFlag(FLAGS_libev_writes);
  const int rounds = Scaled(absl::GetFlag(FLAGS_libev_rounds), 8);
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
                   return Sample{LibevBench(implementation, pipes, active,
                                            writes, rounds)};
                 });
    }
    ClosePipes(pipes);
  }
}

}  // namespace poller_bench
