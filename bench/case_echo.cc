// Copyright 2026 The poller Authors.
//
// Case 7: the echo demo (examples/echo_demo.cc), the workload users
// recognise: a TCP echo server on poller driven by concurrent clients on their
// own poller, every byte checked. Run as a separate process per backend and
// load (`echo_demo --backend=NAME --clients=C --messages=M --json`), the
// backends taking turns within each repetition. Result: ns per message
// (1e9 / messages per second, so lower is better like every other case), the
// process's CPU time per message, messages per second and the latency
// percentiles; ratios are to poller/epoll (there is no raw echo server).
// The peers are not run: the demo's load generator drives only its own
// server.

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "bench/cases.h"
#include "bench/harness.h"
#include "poller/poller.h"

ABSL_FLAG(std::string, echo_demo, "",
          "Case 7: path of the echo_demo binary (default: from this "
          "binary's runfiles, as `bazel run` provides them).");
ABSL_FLAG(std::string, echo_loads, "100x2000,2000x200",
          "Case 7: CLIENTSxMESSAGES per load (--quick: a tenth of the "
          "messages).");
ABSL_FLAG(int, echo_repetitions, 3,
          "Case 7: repetitions (each run is a process of a few seconds).");

extern char** environ;

namespace poller_bench {
namespace {

std::string FindEchoDemo() {
  std::string path = absl::GetFlag(FLAGS_echo_demo);
  if (!path.empty()) return path;
  std::vector<std::string> candidates;
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* runfiles = std::getenv(variable)) {
      candidates.push_back(
          absl::StrCat(runfiles, "/poller/examples/echo_demo"));
    }
  }
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length > 0) {
    self[length] = '\0';
    candidates.push_back(
        absl::StrCat(self, ".runfiles/poller/examples/echo_demo"));
  }
  candidates.push_back("examples/echo_demo");  // `bazel run`'s directory.
  for (const std::string& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// The number after "key": in the demo's JSON (NaN if absent).
double JsonField(const std::string& json, const std::string& key) {
  const std::string quoted = absl::StrCat("\"", key, "\": ");
  const size_t at = json.find(quoted);
  if (at == std::string::npos) return NAN;
  const size_t start = at + quoted.size();
  const size_t end = json.find_first_of(",}", start);
  double value;
  if (!absl::SimpleAtod(json.substr(start, end - start), &value)) return NAN;
  return value;
}

double CpuSeconds(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

// Runs the demo once; its JSON summary and CPU seconds.
std::pair<std::string, double> RunDemo(const std::vector<std::string>& args) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) Die("echo: pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<char*> argv;
  for (const std::string& arg : args)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t child;
  if (posix_spawn(&child, argv[0], &actions, nullptr, argv.data(), environ) !=
      0) {
    Die("echo: cannot run " + args[0]);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string json;
  char buffer[4096];
  for (ssize_t got; (got = ::read(out[0], buffer, sizeof(buffer))) != 0;) {
    if (got > 0) json.append(buffer, static_cast<size_t>(got));
    if (got < 0 && errno != EINTR) break;
  }
  ::close(out[0]);
  int status = 0;
  rusage usage{};
  if (::wait4(child, &status, 0, &usage) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    Die(absl::StrCat("echo: ", absl::StrJoin(args, " "), " failed: ", json));
  }
  return {json, CpuSeconds(usage)};
}

Sample Echo(const std::string& demo, const Implementation& implementation,
            int clients, int messages) {
  const std::string backend = implementation.name.substr(strlen("poller/"));
  auto [json, cpu_seconds] = RunDemo({demo, "--backend=" + backend,
                                      absl::StrCat("--clients=", clients),
                                      absl::StrCat("--messages=", messages),
                                      "--timeout_seconds=50", "--json"});
  const double per_second = JsonField(json, "messages_per_second");
  const double total = static_cast<double>(clients) * messages;
  if (!(per_second > 0) || JsonField(json, "errors") != 0) {
    Die("echo: unexpected summary: " + json);
  }
  Sample sample;
  sample.ns_per_op = 1e9 / per_second;
  sample.cpu_ns_per_op = cpu_seconds * 1e9 / total;
  sample.extra = {{"messages_per_second", per_second},
                  {"latency_p50_us", JsonField(json, "p50")},
                  {"latency_p99_us", JsonField(json, "p99")}};
  return sample;
}

}  // namespace

void RunEcho(Suite& suite) {
  const std::string demo = FindEchoDemo();
  if (demo.empty()) {
    std::printf(
        "\necho: skipped, no echo_demo binary (run through `bazel run`, or "
        "pass --echo_demo=PATH)\n");
    return;
  }
  std::vector<std::string> compiled = poller::Poller::CompiledBackends();
  Suite::TimeOptions options;
  options.baseline = "poller/epoll";
  options.warm_up = false;
  options.repetitions = Quick() ? 1 : absl::GetFlag(FLAGS_echo_repetitions);
  options.only = [&](const Implementation& implementation) {
    for (const std::string& backend : compiled) {
      if (implementation.name == "poller/" + backend) return true;
    }
    return false;
  };
  for (absl::string_view load : absl::StrSplit(absl::GetFlag(FLAGS_echo_loads),
                                               ',', absl::SkipEmpty())) {
    std::vector<int> numbers = ParseInts(
        std::string(absl::StrReplaceAll(load, {{"x", ","}})), "echo_loads");
    if (numbers.size() != 2) Die("--echo_loads: CLIENTSxMESSAGES");
    const int clients = numbers[0];
    const int messages = Scaled(numbers[1], 10);
    suite.Time(
        "echo",
        {{"clients", absl::StrCat(clients)},
         {"messages", absl::StrCat(messages)}},
        [&](const Implementation& implementation) {
          return Echo(demo, implementation, clients, messages);
        },
        options);
  }
}

}  // namespace poller_bench
