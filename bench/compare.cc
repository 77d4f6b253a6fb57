// Copyright 2026 The poller Authors.
//
// //bench:compare: poller on every compiled backend against raw epoll (the
// physical limit) and its peers (libevent, libev, libuv, Boost.Asio), case by
// case (bench/cases.h, one file each), all in one process run so the ratios
// compare like with like.
//
//   ./bazelw run -c opt //bench:compare                      # the full suite
//   ./bazelw run -c opt //bench:compare -- --quick --json=bench.json
//
// Method (bench/suite.h): each measurement builds a fresh loop, does its setup
// untimed, then times the case. Every case runs one warm-up repetition that
// is thrown away, then --repetitions more; in each repetition every
// implementation runs once, in turn, so drift in the machine's load touches
// them all alike. A figure is the median of the repetitions with their
// min-max; its ratio is the median of the per-repetition ratios to raw.
// Single-threaded cases also report the measuring thread's CPU time, which a
// busy shared machine disturbs far less than the wall clock.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/cases.h"
#include "bench/harness.h"
#include "bench/report.h"
#include "poller/poller.h"

ABSL_FLAG(std::string, json, "", "Also write every figure as JSON here.");
ABSL_FLAG(int, repetitions, 5,
          "Timed repetitions per figure (median and min-max kept); --quick "
          "takes at most 3.");
ABSL_FLAG(std::string, backend, "",
          "Only this poller backend (default: every compiled backend).");
ABSL_FLAG(std::string, impls, "",
          "Comma-separated implementations to run (default: all), e.g. "
          "raw,poller/epoll,libevent. raw is always run: ratios need it. "
          "raw-pwait2 (raw waiting with epoll_pwait2) runs only if named.");
ABSL_FLAG(std::string, cases, "",
          "Comma-separated cases to run (default: all): pingpong, "
          "pingpong_deferred, libev, wake, churn, idle, memory, echo (with "
          "its echo_server rows).");

namespace poller_bench {
namespace {

bool Wanted(const std::vector<std::string>& wanted, const std::string& name) {
  return wanted.empty() ||
         std::find(wanted.begin(), wanted.end(), name) != wanted.end();
}

// The implementations --impls and --backend select.
std::vector<Implementation> SelectImplementations() {
  const std::vector<std::string> wanted =
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
  std::vector<Implementation> chosen;
  for (Implementation& implementation : AllImplementations()) {
    if (IsPoller(implementation) && !only_backend.empty() &&
        implementation.name != "poller/" + only_backend) {
      continue;
    }
    const bool named = std::find(wanted.begin(), wanted.end(),
                                 implementation.name) != wanted.end();
    if (implementation.on_request && !named) continue;
    if (implementation.name != "raw" && !wanted.empty() && !named) continue;
    chosen.push_back(std::move(implementation));
  }
  return chosen;
}

void RaiseDescriptorLimit() {
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
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
  int repetitions = absl::GetFlag(FLAGS_repetitions);
  if (Quick()) repetitions = std::min(repetitions, 3);
  if (repetitions < 1) Die("--repetitions must be >= 1");

  const std::string machine = Machine();
  const std::string load_before = LoadAverage();
  std::printf("compare: %s; load %s; %d repetitions (median [min-max])%s\n",
              machine.c_str(), load_before.c_str(), repetitions,
              Quick() ? "; --quick" : "");
#if !defined(NDEBUG)
  std::printf("compare: WARNING: built without -c opt; figures mean nothing\n");
#endif
  Suite suite(SelectImplementations(), repetitions);
  std::vector<std::string> names;
  for (const Implementation& implementation : suite.implementations()) {
    names.push_back(implementation.name);
  }
  std::printf("compare: implementations: %s\n",
              absl::StrJoin(names, ", ").c_str());

  const std::vector<std::string> wanted_cases =
      absl::StrSplit(absl::GetFlag(FLAGS_cases), ',', absl::SkipEmpty());
  const Clock::time_point start = Clock::now();
  for (const Case& one : kCases) {
    if (Wanted(wanted_cases, one.name)) one.run(suite);
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  const std::string load_after = LoadAverage();
  std::printf("\ncompare: done in %.1f s; load %s\n", seconds,
              load_after.c_str());

  const std::string json_path = OutputPath(absl::GetFlag(FLAGS_json));
  if (!json_path.empty()) {
    const std::string header = absl::StrCat(
        "\"machine\": \"", machine, "\", \"repetitions\": ", repetitions,
        ", \"quick\": ", Quick() ? "true" : "false",
        ", \"seconds\": ", absl::StrFormat("%.1f", seconds),
        ", \"load_before\": ", load_before, ", \"load_after\": ", load_after);
    if (!suite.WriteJson(json_path, header)) Die("cannot write " + json_path);
    std::printf("compare: wrote %s\n", json_path.c_str());
  }
  return 0;
}
