// Copyright 2026 The poller Authors.
//
// //bench:uring_features: what each io_uring kernel feature would buy poller's
// io_uring backend, measured with raw system calls (no poller code) on the
// ping-pong of bench/case_pingpong.cc: one byte bounced between the two ends of
// a non-blocking AF_UNIX socket pair, each event read and written back. Result:
// ns per round trip (two events), wall and the measuring thread's CPU time,
// each beside raw epoll in the same repetition.
//
//   ./bazelw run -c opt //bench:uring_features -- [--round_trips=30000]
//       [--repetitions=7] [--json=FILE]
//
// Variants (one function each, below):
//   epoll                  level-triggered epoll, both ends registered once:
//                          the baseline (ratio 1).
//   uring_single           single-shot IORING_OP_POLL_ADD re-armed after each
//                          event with its own io_uring_submit, then
//                          io_uring_wait_cqe: poller's oneshot loop today.
//   uring_single_fstat     uring_single plus one fstat(2) before each re-arm:
//                          poller's check that the number still names the
//                          registered file.
//   uring_single_batched   uring_single with the re-arm submitted in the
//                          io_uring_enter that waits for the next event.
//   uring_multishot        one multishot poll per end, armed once.
//   uring_coop_taskrun     uring_single on an IORING_SETUP_COOP_TASKRUN |
//                          IORING_SETUP_TASKRUN_FLAG ring.
//   uring_defer_taskrun    uring_single_batched on an
//                          IORING_SETUP_SINGLE_ISSUER |
//                          IORING_SETUP_DEFER_TASKRUN ring.
//   uring_registered_ring  uring_single after io_uring_register_ring_fd.
//   uring_multishot_defer  uring_multishot on a SINGLE_ISSUER | DEFER_TASKRUN
//                          ring.
// A variant whose setup the kernel refuses (EINVAL: a flag it does not know)
// is reported as "unavailable: <errno name>".
//
// System calls per event (strace, Linux 6.18), besides the read and the write:
// epoll 1 (epoll_wait); uring_single 1 (the re-arm's io_uring_enter: the
// wait finds the completion already posted, because the poll's task work ran
// when the thread's own write returned); uring_single_fstat 2; batched 0.5
// (a completion posted during the handler's write is handled in the same
// pass, and the other end's re-arm then completes at once when submitted);
// multishot 0; coop_taskrun and registered_ring 1; defer_taskrun and
// multishot_defer 1 (deferred task work runs only in io_uring_enter). So this
// single-threaded loop, where the waiter is also the waker, is the best case
// for the default task work mode; a file woken from another CPU is not.
//
// Method: every variant runs once as a warm-up that is thrown away, then
// --repetitions times; each repetition runs every variant once, starting one
// variant later than the previous repetition, so drift in a shared machine's
// load touches every variant alike. Each measurement sets up its own ring and
// socket pair and bounces round_trips / 10 (at least 100) untimed round trips
// before the timed ones. A figure is the median of the repetitions with
// their min-max; a ratio is the median of the per-repetition ratios to epoll.
// Every event is checked (the byte read is the byte last written; 2 events
// per round trip, none without data), so a broken variant dies rather than
// reports a fast time.

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
#include "bench/report.h"

ABSL_FLAG(int, round_trips, 30000, "Timed round trips per measurement.");
ABSL_FLAG(int, repetitions, 7,
          "Timed repetitions (median and min-max kept), after one warm-up.");
ABSL_FLAG(std::string, json, "", "Also write every figure as JSON here.");

namespace {

// bench/harness.h has the same clocks, but its library links every peer event
// loop and poller itself; this harness is raw system calls only.
using Clock = std::chrono::steady_clock;
using poller_bench::LoadAverage;
using poller_bench::Machine;
using poller_bench::OutputPath;
using poller_bench::Spread;
using poller_bench::Summarize;

double ThreadCpuNanoseconds() {
  timespec now;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 +
         static_cast<double>(now.tv_nsec);
}

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "uring_features: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

std::string ErrnoName(int error) {
  const char* name = ::strerrorname_np(error);
  return name != nullptr ? name : absl::StrCat("errno ", error);
}

// Dies naming `what` and errno when a libc call returned -1.
void CheckSyscall(long result, const char* what) {
  if (result < 0) Die(absl::StrCat(what, ": ", ErrnoName(errno)));
}

// liburing returns -errno instead of setting errno.
void CheckUring(int result, const char* what) {
  if (result < 0) Die(absl::StrCat(what, ": ", ErrnoName(-result)));
}

// A lost event would block the loop for ever: SIGALRM ends the process after
// 60 s in one measurement, naming the variant.
const char* volatile measuring = "";

void OnAlarm(int) {
  static const char kPrefix[] = "uring_features: no event for 60 s in ";
  // Only async-signal-safe calls here.
  (void)!::write(STDERR_FILENO, kPrefix, sizeof(kPrefix) - 1);
  (void)!::write(STDERR_FILENO, measuring, std::strlen(measuring));
  (void)!::write(STDERR_FILENO, "\n", 1);
  std::_Exit(3);
}

struct Timing {
  double wall_ns = 0;  // Per round trip.
  double cpu_ns = 0;   // Per round trip, the measuring thread's.
};

// A measurement, or the errno with which the kernel refused its setup.
struct Outcome {
  int unavailable_errno = 0;
  Timing timing;
};

// The two ends of a non-blocking AF_UNIX stream socket pair and the checked
// exchange of one byte between them. A round trip is two events: end 1
// reads the byte end 0 wrote and writes the next one back, then end 0 does.
class PingPong {
 public:
  PingPong() {
    CheckSyscall(
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                     fds_),
        "socketpair");
  }
  PingPong(const PingPong&) = delete;
  PingPong& operator=(const PingPong&) = delete;
  ~PingPong() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  int fd(int end) const { return fds_[end]; }

  // Starts `round_trips` round trips: end 0 writes the first byte.
  void Start(std::int64_t round_trips) {
    events_ = 0;
    events_wanted_ = 2 * round_trips;
    Send(0);
  }

  bool Done() const { return events_ == events_wanted_; }

  // A poll reported `end` readable: the byte must be there and be the one
  // last written; the next goes back through the same end unless done.
  void OnReadable(int end) {
    if (Done()) Die("an event after the last round trip");
    char byte;
    const ssize_t got = ::read(fds_[end], &byte, 1);
    if (got < 0 && errno == EAGAIN) Die("an event with nothing to read");
    CheckSyscall(got, "read");
    if (got != 1) Die("read: end of file");
    if (byte != last_sent_) {
      Die(absl::StrFormat("read byte %d, last written %d", byte, last_sent_));
    }
    ++events_;
    if (!Done()) Send(end);
  }

  // After the last round trip: every event counted, nothing left unread.
  void CheckFinished() const {
    if (events_ != events_wanted_) {
      Die(absl::StrCat(events_, " events for ", events_wanted_ / 2,
                       " round trips"));
    }
    for (int end : {0, 1}) {
      char byte;
      if (::recv(fds_[end], &byte, 1, MSG_PEEK | MSG_DONTWAIT) != -1 ||
          errno != EAGAIN) {
        Die("a byte left unread after the last round trip");
      }
    }
  }

 private:
  void Send(int end) {
    ++last_sent_;  // A new value each time, so a stale byte is caught.
    const ssize_t sent = ::write(fds_[end], &last_sent_, 1);
    CheckSyscall(sent, "write");
    if (sent != 1) Die("write: short");
  }

  int fds_[2] = {-1, -1};
  char last_sent_ = 0;
  std::int64_t events_ = 0;
  std::int64_t events_wanted_ = 0;
};

std::int64_t WarmUpRoundTrips(std::int64_t round_trips) {
  return std::max<std::int64_t>(round_trips / 10, 100);
}

// Runs `bounce(round_trips)` untimed as a warm-up, then timed, and checks
// both runs.
template <typename Bounce>
Timing TimeBounces(PingPong& ping_pong, std::int64_t round_trips,
                   Bounce bounce) {
  ping_pong.Start(WarmUpRoundTrips(round_trips));
  bounce();
  ping_pong.CheckFinished();
  const Clock::time_point wall = Clock::now();
  const double cpu = ThreadCpuNanoseconds();
  ping_pong.Start(round_trips);
  bounce();
  Timing timing;
  timing.cpu_ns = (ThreadCpuNanoseconds() - cpu) / round_trips;
  timing.wall_ns =
      std::chrono::duration<double, std::nano>(Clock::now() - wall).count() /
      round_trips;
  ping_pong.CheckFinished();
  return timing;
}

// ---------------------------------------------------------------- epoll ----

Outcome Epoll(std::int64_t round_trips) {
  PingPong ping_pong;
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  CheckSyscall(epoll_fd, "epoll_create1");
  for (int end : {0, 1}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<std::uint32_t>(end);
    CheckSyscall(
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ping_pong.fd(end), &event),
        "epoll_ctl");
  }
  Outcome outcome;
  outcome.timing = TimeBounces(ping_pong, round_trips, [&] {
    while (!ping_pong.Done()) {
      epoll_event events[2];
      const int ready = ::epoll_wait(epoll_fd, events, 2, -1);
      CheckSyscall(ready, "epoll_wait");
      for (int i = 0; i < ready; ++i) {
        if (events[i].events != EPOLLIN) Die("epoll: not just EPOLLIN");
        ping_pong.OnReadable(static_cast<int>(events[i].data.u32));
      }
    }
  });
  ::close(epoll_fd);
  return outcome;
}

// ------------------------------------------------------------- io_uring ----

// A ring with the given setup flags, or the errno with which the kernel
// refused them. Small queues: two requests are ever in flight.
class Ring {
 public:
  explicit Ring(unsigned flags) {
    io_uring_params params{};
    params.flags = flags;
    const int result = ::io_uring_queue_init_params(8, &ring_, &params);
    if (result == -EINVAL) {
      refused_errno_ = EINVAL;
      return;
    }
    CheckUring(result, "io_uring_queue_init_params");
    initialized_ = true;
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    if (initialized_) ::io_uring_queue_exit(&ring_);
  }

  int refused_errno() const { return refused_errno_; }
  io_uring* get() { return &ring_; }

  // Queues (does not submit) a poll for POLLIN on `end` of `ping_pong`.
  void PreparePoll(const PingPong& ping_pong, int end, bool multishot) {
    io_uring_sqe* sqe = ::io_uring_get_sqe(&ring_);
    if (sqe == nullptr) Die("io_uring_get_sqe: submission queue full");
    if (multishot) {
      ::io_uring_prep_poll_multishot(sqe, ping_pong.fd(end), POLLIN);
    } else {
      ::io_uring_prep_poll_add(sqe, ping_pong.fd(end), POLLIN);
    }
    ::io_uring_sqe_set_data64(sqe, static_cast<std::uint64_t>(end));
  }

  // Submits everything queued, which must be exactly `expected` requests.
  void Submit(int expected) {
    const int submitted = ::io_uring_submit(&ring_);
    CheckUring(submitted, "io_uring_submit");
    if (submitted != expected) Die("io_uring_submit: a request not taken");
  }

  // Checks a poll completion and returns the end it names.
  static int EndOf(const io_uring_cqe* cqe, bool multishot) {
    CheckUring(cqe->res, "poll request");
    if (!(cqe->res & POLLIN)) Die("poll completion without POLLIN");
    if (multishot && !(cqe->flags & IORING_CQE_F_MORE)) {
      Die("multishot poll ended (no IORING_CQE_F_MORE)");
    }
    const std::uint64_t end = ::io_uring_cqe_get_data64(cqe);
    if (end > 1) Die("completion for an unknown request");
    return static_cast<int>(end);
  }

 private:
  io_uring ring_{};
  bool initialized_ = false;
  int refused_errno_ = 0;
};

// The identity poller keeps per registration: a number closed and reused by
// another file must not be reported under the old token.
struct FileIdentity {
  dev_t device;
  ino_t inode;
};

FileIdentity IdentityOf(int fd) {
  struct stat status;
  CheckSyscall(::fstat(fd, &status), "fstat");
  return {status.st_dev, status.st_ino};
}

struct SingleShotOptions {
  unsigned setup_flags = 0;
  bool check_identity = false;  // fstat before each re-arm.
  bool register_ring = false;   // io_uring_register_ring_fd first.
};

// Single-shot polls, each re-armed after its event with its own
// io_uring_submit; io_uring_wait_cqe waits for the next.
Outcome SingleShotOwnSubmit(std::int64_t round_trips,
                            const SingleShotOptions& options) {
  Ring ring(options.setup_flags);
  if (ring.refused_errno() != 0) return {ring.refused_errno(), {}};
  if (options.register_ring) {
    const int registered = ::io_uring_register_ring_fd(ring.get());
    if (registered == -EINVAL) return {EINVAL, {}};
    CheckUring(registered, "io_uring_register_ring_fd");
    if (registered != 1) Die("io_uring_register_ring_fd: not registered");
  }
  PingPong ping_pong;
  const FileIdentity identities[2] = {IdentityOf(ping_pong.fd(0)),
                                      IdentityOf(ping_pong.fd(1))};
  ring.PreparePoll(ping_pong, 0, false);
  ring.PreparePoll(ping_pong, 1, false);
  ring.Submit(2);
  Outcome outcome;
  outcome.timing = TimeBounces(ping_pong, round_trips, [&] {
    while (!ping_pong.Done()) {
      io_uring_cqe* cqe;
      CheckUring(::io_uring_wait_cqe(ring.get(), &cqe), "io_uring_wait_cqe");
      const int end = Ring::EndOf(cqe, false);
      ::io_uring_cqe_seen(ring.get(), cqe);
      ping_pong.OnReadable(end);
      if (options.check_identity) {
        const FileIdentity now = IdentityOf(ping_pong.fd(end));
        if (now.device != identities[end].device ||
            now.inode != identities[end].inode) {
          Die("fstat: the descriptor names another file");
        }
      }
      ring.PreparePoll(ping_pong, end, false);
      ring.Submit(1);
    }
  });
  return outcome;
}

// Single-shot polls whose re-arms wait in the submission queue and go in with
// the next wait: one io_uring_enter per event.
Outcome SingleShotBatched(std::int64_t round_trips, unsigned setup_flags) {
  Ring ring(setup_flags);
  if (ring.refused_errno() != 0) return {ring.refused_errno(), {}};
  PingPong ping_pong;
  ring.PreparePoll(ping_pong, 0, false);
  ring.PreparePoll(ping_pong, 1, false);
  Outcome outcome;
  outcome.timing = TimeBounces(ping_pong, round_trips, [&] {
    while (!ping_pong.Done()) {
      CheckUring(::io_uring_submit_and_wait(ring.get(), 1),
                 "io_uring_submit_and_wait");
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(ring.get(), head, cqe) {
        const int end = Ring::EndOf(cqe, false);
        ++seen;
        ping_pong.OnReadable(end);
        ring.PreparePoll(ping_pong, end, false);
      }
      if (seen == 0) Die("io_uring_submit_and_wait: woke with no completion");
      ::io_uring_cq_advance(ring.get(), seen);
    }
  });
  return outcome;
}

// One multishot poll per end, armed once: each event costs only the wait.
Outcome Multishot(std::int64_t round_trips, unsigned setup_flags) {
  Ring ring(setup_flags);
  if (ring.refused_errno() != 0) return {ring.refused_errno(), {}};
  PingPong ping_pong;
  ring.PreparePoll(ping_pong, 0, true);
  ring.PreparePoll(ping_pong, 1, true);
  ring.Submit(2);
  Outcome outcome;
  outcome.timing = TimeBounces(ping_pong, round_trips, [&] {
    while (!ping_pong.Done()) {
      io_uring_cqe* cqe;
      CheckUring(::io_uring_wait_cqe(ring.get(), &cqe), "io_uring_wait_cqe");
      const int end = Ring::EndOf(cqe, true);
      ::io_uring_cqe_seen(ring.get(), cqe);
      ping_pong.OnReadable(end);
    }
  });
  return outcome;
}

constexpr unsigned kCoopTaskrun =
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
constexpr unsigned kDeferTaskrun =
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;

Outcome UringSingle(std::int64_t round_trips) {
  return SingleShotOwnSubmit(round_trips, {});
}

Outcome UringSingleFstat(std::int64_t round_trips) {
  SingleShotOptions options;
  options.check_identity = true;
  return SingleShotOwnSubmit(round_trips, options);
}

Outcome UringSingleBatched(std::int64_t round_trips) {
  return SingleShotBatched(round_trips, 0);
}

Outcome UringMultishot(std::int64_t round_trips) {
  return Multishot(round_trips, 0);
}

Outcome UringCoopTaskrun(std::int64_t round_trips) {
  SingleShotOptions options;
  options.setup_flags = kCoopTaskrun;
  return SingleShotOwnSubmit(round_trips, options);
}

Outcome UringDeferTaskrun(std::int64_t round_trips) {
  return SingleShotBatched(round_trips, kDeferTaskrun);
}

Outcome UringRegisteredRing(std::int64_t round_trips) {
  SingleShotOptions options;
  options.register_ring = true;
  return SingleShotOwnSubmit(round_trips, options);
}

Outcome UringMultishotDefer(std::int64_t round_trips) {
  return Multishot(round_trips, kDeferTaskrun);
}

// ------------------------------------------------------------- reporting ----

struct Variant {
  Variant(const char* name, Outcome (*run)(std::int64_t))
      : name(name), run(run) {}

  const char* name;
  Outcome (*run)(std::int64_t round_trips);
  int unavailable_errno = 0;
  std::vector<double> wall_ns, cpu_ns, wall_ratios, cpu_ratios;
};

// "median [min-max]", ratios with two decimals, nanoseconds with none.
std::string SpreadText(const std::vector<double>& values, bool ratio) {
  const Spread spread = Summarize(values);
  const char* format = ratio ? "%.2f [%.2f-%.2f]" : "%.0f [%.0f-%.0f]";
  return absl::StrFormat(format, spread.median, spread.min, spread.max);
}

std::string JsonNumber(double value) {
  if (std::isnan(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

// "name": median, "prefix_min": min, "prefix_max": max, as bench/suite.cc
// writes them.
std::string JsonSpread(const std::string& median_key, const std::string& prefix,
                       const std::vector<double>& values) {
  const Spread spread = Summarize(values);
  return absl::StrCat(", \"", median_key, "\": ", JsonNumber(spread.median),
                      ", \"", prefix, "_min\": ", JsonNumber(spread.min),
                      ", \"", prefix, "_max\": ", JsonNumber(spread.max));
}

std::string JsonList(const std::vector<double>& values) {
  std::vector<std::string> numbers;
  for (double value : values) numbers.push_back(JsonNumber(value));
  return absl::StrCat("[", absl::StrJoin(numbers, ", "), "]");
}

std::string ToJson(const Variant& variant, std::int64_t round_trips) {
  std::string json =
      absl::StrCat("{\"case\": \"pingpong\", \"impl\": \"", variant.name,
                   "\", \"params\": {\"round_trips\": ", round_trips,
                   "}, \"baseline\": \"epoll\"");
  if (variant.unavailable_errno != 0) {
    absl::StrAppend(&json, ", \"unavailable\": \"",
                    ErrnoName(variant.unavailable_errno), "\"}");
    return json;
  }
  absl::StrAppend(&json, JsonSpread("ns_per_op", "ns", variant.wall_ns),
                  JsonSpread("ratio", "ratio", variant.wall_ratios),
                  JsonSpread("cpu_ns_per_op", "cpu", variant.cpu_ns),
                  JsonSpread("cpu_ratio", "cpu_ratio", variant.cpu_ratios),
                  ", \"samples\": ", JsonList(variant.wall_ns),
                  ", \"cpu_samples\": ", JsonList(variant.cpu_ns), "}");
  return json;
}

// Runs `variant` once; false if the kernel refused its setup (remembered, so
// it is not tried again).
bool Measure(Variant& variant, std::int64_t round_trips, Timing& timing) {
  if (variant.unavailable_errno != 0) return false;
  measuring = variant.name;
  ::alarm(60);
  const Outcome outcome = variant.run(round_trips);
  ::alarm(0);
  variant.unavailable_errno = outcome.unavailable_errno;
  timing = outcome.timing;
  return outcome.unavailable_errno == 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Ping-pong over a socket pair: raw epoll against io_uring's poll "
      "variants (multishot, batched submission, COOP/DEFER_TASKRUN, "
      "registered ring). Build with -c opt.");
  absl::ParseCommandLine(argc, argv);
  const std::int64_t round_trips = absl::GetFlag(FLAGS_round_trips);
  const int repetitions = absl::GetFlag(FLAGS_repetitions);
  if (round_trips < 1) Die("--round_trips must be >= 1");
  if (repetitions < 1) Die("--repetitions must be >= 1");
  // A socket pair's peer gone mid-write must be a failed write, not death.
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGALRM, OnAlarm);

  // The baseline first: the ratios divide by it.
  std::vector<Variant> variants = {
      {"epoll", Epoll},
      {"uring_single", UringSingle},
      {"uring_single_fstat", UringSingleFstat},
      {"uring_single_batched", UringSingleBatched},
      {"uring_multishot", UringMultishot},
      {"uring_coop_taskrun", UringCoopTaskrun},
      {"uring_defer_taskrun", UringDeferTaskrun},
      {"uring_registered_ring", UringRegisteredRing},
      {"uring_multishot_defer", UringMultishotDefer},
  };
  const std::string machine = Machine();
  const std::string load_before = LoadAverage();
  std::printf(
      "uring_features: %s; load %s; %lld round trips, %d repetitions "
      "(median [min-max])\n",
      machine.c_str(), load_before.c_str(), static_cast<long long>(round_trips),
      repetitions);
#if !defined(NDEBUG)
  std::printf("uring_features: WARNING: built without -c opt\n");
#endif
  std::fflush(stdout);

  const Clock::time_point start = Clock::now();
  Timing ignored;
  for (Variant& variant : variants) Measure(variant, round_trips, ignored);
  const size_t count = variants.size();
  for (int repetition = 0; repetition < repetitions; ++repetition) {
    std::vector<Timing> timings(count);
    std::vector<bool> measured(count, false);
    for (size_t step = 0; step < count; ++step) {
      const size_t i = (repetition + step) % count;
      measured[i] = Measure(variants[i], round_trips, timings[i]);
    }
    const Timing& baseline = timings[0];
    for (size_t i = 0; i < count; ++i) {
      if (!measured[i]) continue;
      variants[i].wall_ns.push_back(timings[i].wall_ns);
      variants[i].cpu_ns.push_back(timings[i].cpu_ns);
      variants[i].wall_ratios.push_back(timings[i].wall_ns / baseline.wall_ns);
      variants[i].cpu_ratios.push_back(timings[i].cpu_ns / baseline.cpu_ns);
    }
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  const std::string load_after = LoadAverage();

  std::printf("\n%-22s %-20s %-18s %-20s %s\n", "variant", "ns/round trip",
              "x epoll", "cpu ns/round trip", "cpu x epoll");
  for (const Variant& variant : variants) {
    if (variant.unavailable_errno != 0) {
      std::printf("%-22s unavailable: %s\n", variant.name,
                  ErrnoName(variant.unavailable_errno).c_str());
      continue;
    }
    std::printf("%-22s %-20s %-18s %-20s %s\n", variant.name,
                SpreadText(variant.wall_ns, false).c_str(),
                SpreadText(variant.wall_ratios, true).c_str(),
                SpreadText(variant.cpu_ns, false).c_str(),
                SpreadText(variant.cpu_ratios, true).c_str());
  }
  std::printf("\nuring_features: done in %.1f s; load %s\n", seconds,
              load_after.c_str());

  const std::string json_path = OutputPath(absl::GetFlag(FLAGS_json));
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << "{\"machine\": \"" << machine
        << "\", \"repetitions\": " << repetitions
        << ", \"round_trips\": " << round_trips
        << ", \"seconds\": " << absl::StrFormat("%.1f", seconds)
        << ", \"load_before\": " << load_before
        << ", \"load_after\": " << load_after << ",\n \"results\": [\n";
    for (size_t i = 0; i < count; ++i) {
      out << "  " << ToJson(variants[i], round_trips)
          << (i + 1 < count ? ",\n" : "\n");
    }
    out << "]}\n";
    out.close();
    if (!out) Die("cannot write " + json_path);
    std::printf("uring_features: wrote %s\n", json_path.c_str());
  }
  return 0;
}
