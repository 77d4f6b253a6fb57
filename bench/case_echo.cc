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
//
// Then the servers alone (rows "echo_server"): bench/echo_peer_server on
// libevent, on libuv and on poller/epoll (the demo's own EchoServer) is
// started per run and driven by the same clients, `echo_demo --connect=...
// --backend=epoll` in a process of its own, the servers taking turns within
// each repetition. Same figures, ratios to the poller/epoll server of the
// same repetition; the CPU time there is the server process's (the clients'
// is the extra load_cpu_ns_per_message).

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
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
ABSL_FLAG(std::string, echo_peer_server, "",
          "Case 7: path of the echo_peer_server binary (default: from this "
          "binary's runfiles).");
ABSL_FLAG(int, echo_repetitions, 3,
          "Case 7: repetitions (each run is a process of a few seconds).");

extern char** environ;

namespace poller_bench {
namespace {

// The clients the echo_server rows drive every server with.
constexpr char kServerLoadBackend[] = "epoll";

// `flag_value` if given, else the program `relative_path` (e.g.
// "examples/echo_demo") in this binary's runfiles; "" if none is found.
std::string FindProgram(const std::string& flag_value,
                        const std::string& relative_path) {
  if (!flag_value.empty()) return flag_value;
  std::vector<std::string> candidates;
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* runfiles = std::getenv(variable)) {
      candidates.push_back(absl::StrCat(runfiles, "/poller/", relative_path));
    }
  }
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length > 0) {
    self[length] = '\0';
    candidates.push_back(
        absl::StrCat(self, ".runfiles/poller/", relative_path));
  }
  candidates.push_back(relative_path);  // `bazel run`'s directory.
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

// A child process; its stdout (and, if asked, its stdin) on a pipe of ours.
struct Child {
  pid_t pid = -1;
  int stdout_read = -1;
  int stdin_write = -1;  // -1: the child shares our stdin.
};

// Starts `args` (args[0] the program's path); dies if it cannot.
Child Spawn(const std::vector<std::string>& args, bool pipe_stdin) {
  // Close-on-exec, so that no other child holds our ends (a server must see
  // EOF on its stdin when we close it); dup2 clears it on the child's copy.
  int out[2];
  int in[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 ||
      (pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0)) {
    Die("echo: pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  if (pipe_stdin)
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  std::vector<char*> argv;
  for (const std::string& arg : args)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  Child child;
  if (posix_spawn(&child.pid, argv[0], &actions, nullptr, argv.data(),
                  environ) != 0) {
    Die("echo: cannot run " + args[0]);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  child.stdout_read = out[0];
  if (pipe_stdin) {
    ::close(in[0]);
    child.stdin_write = in[1];
  }
  return child;
}

// Reads `fd` until EOF, or only up to the first newline if `one_line`.
std::string ReadOutput(int fd, bool one_line) {
  std::string text;
  char buffer[4096];
  // One byte at a time for a line, so nothing after it is consumed.
  const size_t chunk = one_line ? 1 : sizeof(buffer);
  for (ssize_t got; (got = ::read(fd, buffer, chunk)) != 0;) {
    if (got > 0) text.append(buffer, static_cast<size_t>(got));
    if (got < 0 && errno != EINTR) break;
    if (one_line && !text.empty() && text.back() == '\n') break;
  }
  return text;
}

// Waits for `child` to end; its CPU seconds. Dies, naming `label` (the row)
// and saying `output`, unless it exited with 0.
double Reap(const Child& child, const std::vector<std::string>& args,
            const std::string& output, const std::string& label) {
  int status = 0;
  rusage usage{};
  if (::wait4(child.pid, &status, 0, &usage) != child.pid ||
      !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Die(absl::StrCat(label, ": ", absl::StrJoin(args, " "), " failed (",
                     WIFEXITED(status)
                         ? absl::StrCat("exit ", WEXITSTATUS(status))
                         : absl::StrCat("signal ", WTERMSIG(status)),
                     "): ", output));
  }
  return CpuSeconds(usage);
}

// Runs the demo once for the row `label`; its JSON summary and CPU seconds.
std::pair<std::string, double> RunDemo(const std::vector<std::string>& args,
                                       const std::string& label) {
  const Child child = Spawn(args, /*pipe_stdin=*/false);
  std::string json = ReadOutput(child.stdout_read, /*one_line=*/false);
  ::close(child.stdout_read);
  const double cpu_seconds = Reap(child, args, json, label);
  return {json, cpu_seconds};
}

// The sample of one demo run of `clients` x `messages` from its JSON, with
// `cpu_seconds` as its CPU time; dies, naming `label`, on an error or a
// missing figure.
Sample SampleOf(const std::string& json, double cpu_seconds, int clients,
                int messages, const std::string& label) {
  const double per_second = JsonField(json, "messages_per_second");
  const double total = static_cast<double>(clients) * messages;
  if (!(per_second > 0) || JsonField(json, "errors") != 0 ||
      JsonField(json, "messages") != total) {
    Die(absl::StrCat(label, ": unexpected summary: ", json));
  }
  Sample sample;
  sample.ns_per_op = 1e9 / per_second;
  sample.cpu_ns_per_op = cpu_seconds * 1e9 / total;
  sample.extra = {{"messages_per_second", per_second},
                  {"latency_p50_us", JsonField(json, "p50")},
                  {"latency_p99_us", JsonField(json, "p99")}};
  return sample;
}

Sample Echo(const std::string& demo, const Implementation& implementation,
            int clients, int messages) {
  const std::string backend = implementation.name.substr(strlen("poller/"));
  auto [json, cpu_seconds] = RunDemo(
      {demo, "--backend=" + backend, absl::StrCat("--clients=", clients),
       absl::StrCat("--messages=", messages), "--timeout_seconds=50", "--json"},
      "echo");
  return SampleOf(json, cpu_seconds, clients, messages, "echo");
}

// The echo_peer_server arguments for a server row's implementation.
std::vector<std::string> ServerArgs(const std::string& server,
                                    const Implementation& implementation) {
  if (implementation.name == "libevent" || implementation.name == "libuv") {
    return {server, "--library=" + implementation.name};
  }
  return {server, "--library=poller",
          "--backend=" + implementation.name.substr(strlen("poller/"))};
}

// One echo_server row's run: `implementation`'s server in its own process,
// driven by the demo's clients (--connect) until they are done; then the
// server is stopped (its stdin closed) and must exit 0 (no error). The CPU
// time is the server's; the clients' is the extra load_cpu_ns_per_message.
Sample EchoAgainstServer(const std::string& demo, const std::string& server,
                         const Implementation& implementation, int clients,
                         int messages) {
  const std::string label =
      absl::StrCat("echo_server on ", implementation.name);
  const std::vector<std::string> server_args =
      ServerArgs(server, implementation);
  const Child child = Spawn(server_args, /*pipe_stdin=*/true);
  const std::string port_line =
      ReadOutput(child.stdout_read, /*one_line=*/true);
  int port = 0;
  if (port_line.empty() || port_line.back() != '\n' ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(port_line), &port) ||
      port <= 0 || port > 65535) {
    ::close(child.stdin_write);
    const std::string why =
        absl::StrCat("no port line on its stdout, got \"", port_line, "\"");
    Reap(child, server_args, why, label);
    Die(absl::StrCat(label, ": ", absl::StrJoin(server_args, " "), ": ", why));
  }
  // If the load fails, Die ends this process, which closes the server's
  // stdin: it stops on its own.
  auto [json, load_cpu_seconds] = RunDemo(
      {demo, absl::StrCat("--connect=127.0.0.1:", port),
       absl::StrCat("--backend=", kServerLoadBackend),
       absl::StrCat("--clients=", clients),
       absl::StrCat("--messages=", messages), "--timeout_seconds=50", "--json"},
      label);
  ::close(child.stdin_write);
  const std::string rest = ReadOutput(child.stdout_read, /*one_line=*/false);
  ::close(child.stdout_read);
  const double server_cpu_seconds = Reap(
      child, server_args,
      absl::StrCat("after serving ", json,
                   rest.empty() ? "" : absl::StrCat(" (stdout: ", rest, ")")),
      label);
  Sample sample = SampleOf(json, server_cpu_seconds, clients, messages, label);
  sample.extra.push_back(
      {"load_cpu_ns_per_message",
       load_cpu_seconds * 1e9 / (static_cast<double>(clients) * messages)});
  return sample;
}

}  // namespace

void RunEcho(Suite& suite) {
  const std::string demo =
      FindProgram(absl::GetFlag(FLAGS_echo_demo), "examples/echo_demo");
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
  const std::string server = FindProgram(absl::GetFlag(FLAGS_echo_peer_server),
                                         "bench/echo_peer_server");
  const bool epoll_compiled = std::find(compiled.begin(), compiled.end(),
                                        kServerLoadBackend) != compiled.end();
  if (server.empty() || !epoll_compiled) {
    std::printf("\necho_server: skipped, %s\n",
                server.empty()
                    ? "no echo_peer_server binary (run through `bazel "
                      "run`, or pass --echo_peer_server=PATH)"
                    : "the epoll backend (the clients and the baseline) is "
                      "not compiled");
  }
  Suite::TimeOptions server_options = options;
  server_options.only = [](const Implementation& implementation) {
    return implementation.name == "poller/epoll" ||
           implementation.name == "libevent" || implementation.name == "libuv";
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
    if (server.empty() || !epoll_compiled) continue;
    suite.Time(
        "echo_server",
        {{"clients", absl::StrCat(clients)},
         {"messages", absl::StrCat(messages)},
         {"clients_on", absl::StrCat("\"poller/", kServerLoadBackend, "\"")}},
        [&](const Implementation& implementation) {
          return EchoAgainstServer(demo, server, implementation, clients,
                                   messages);
        },
        server_options);
  }
}

}  // namespace poller_bench
