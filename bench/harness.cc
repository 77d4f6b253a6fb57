// Copyright 2026 The poller Authors.

#include "bench/harness.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

ABSL_FLAG(bool, quick, false,
          "Smaller counts and 3 repetitions: the whole suite in about a "
          "minute (noisier figures).");

namespace poller_bench {

double NanosecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

double ThreadCpuNanoseconds() {
  timespec now;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 +
         static_cast<double>(now.tv_nsec);
}

namespace {
thread_local double last_cpu_ns_per_op = NAN;
}  // namespace

double Stopwatch::PerOp(double ops) const {
  last_cpu_ns_per_op = (ThreadCpuNanoseconds() - cpu) / ops;
  return NanosecondsSince(wall) / ops;
}

double TakeCpuPerOp() {
  const double value = last_cpu_ns_per_op;
  last_cpu_ns_per_op = NAN;
  return value;
}

void Die(const std::string& why) {
  std::fprintf(stderr, "compare: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

namespace {

std::mutex watchdog_mutex;
std::string watchdog_label;
Clock::time_point watchdog_started;
bool watchdog_armed = false;

}  // namespace

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

bool Quick() { return absl::GetFlag(FLAGS_quick); }

int Scaled(int value, int quick_divisor) {
  return Quick() ? std::max(1, value / quick_divisor) : value;
}

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

void Pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

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

void MakeSocketPair(int fds[2]) {
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   fds) != 0) {
    Die(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
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

bool IsPoller(const Implementation& implementation) {
  return implementation.name.rfind("poller/", 0) == 0;
}

}  // namespace poller_bench
