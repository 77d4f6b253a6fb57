// Copyright 2026 The poller Authors.
//
// Every error path of every system call a backend makes, on a backend instance
// (tests/backend_under_test.h), through the seam of poller/internal/syscall.h.
// A backend whose system calls do not go through the seam (a user's own) makes
// no call the recording hook sees: the test skips, saying so.
//
// The table is discovered, not written by hand, so a new backend (or a new
// call in an old one) is covered without editing this file: a recording hook
// runs a scenario (Create, Add, Wait, Wake, Modify, Delete) and notes which
// operation made which call; then every call found is failed with ENOSYS,
// EPERM and EAGAIN for good, to reach fallbacks that only run then (epoll_wait
// after epoll_pwait2 is refused, the eventfd read after a full counter). Each
// (operation, call) pair is then failed with each errno of the list, once (the
// next attempt succeeds) and for good (every attempt fails), and the test
// checks that
//   - the operation succeeds (it retried or fell back, and its effect is
//     there), or fails with the errno's code (errno_status.h) and a message
//     naming the call and the errno; EINTR on a wait is not an error (Wait
//     returns OK);
//   - after the fault is gone the same operation can be retried and the poller
//     still adds, reports, wakes and deletes;
//   - no descriptor leaks, including when Create fails half-way.
// Out-of-descriptors is also made real: Create in a child process whose
// RLIMIT_NOFILE leaves no free descriptor, then one, two... free.

#include "tests/faults/fault_injection_suite.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"
#include "tests/backend_under_test.h"
#include "tests/conformance/test_handles.h"

namespace poller::faults {
namespace {

using ::poller::internal::ErrnoName;
using ::poller::internal::ErrnoToStatusCode;
using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::OpenDescriptorCount;
using ::poller::testing::Pipe;
using ::poller::testing::WriteBytes;

constexpr int kErrnos[] = {EINTR, EAGAIN, ENOMEM, ENOSPC, EMFILE,
                           EBADF, EPERM,  EEXIST, ENOENT, EINVAL};
// Errors that make a backend take another path when a call fails for good.
constexpr int kDiscoveryErrnos[] = {ENOSYS, EPERM, EAGAIN};
constexpr absl::Duration kPrompt = absl::Seconds(5);

constexpr int kEintrStorm = 100;

// The hook is a plain function pointer, so its configuration is global.
struct HookState {
  std::mutex mutex;
  std::string operation;
  bool recording = false;
  std::vector<std::pair<std::string, std::string>> calls;
  std::string prerequisite;
  int prerequisite_error = 0;
  std::string target;
  int target_error = 0;
  bool always = false;
  int injected = 0;
};

HookState& State() {
  static HookState* state = new HookState;
  return *state;
}

int Hook(const char* name) {
  HookState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.recording) state.calls.emplace_back(state.operation, name);
  if (!state.prerequisite.empty() && state.prerequisite == name) {
    return state.prerequisite_error;
  }
  // EINTR "for good" is a storm of signals that ends: a retry loop must get
  // through eventually, as it would in life.
  const int limit =
      !state.always ? 1 : (state.target_error == EINTR ? kEintrStorm : -1);
  if (state.target == name && (limit < 0 || state.injected < limit)) {
    ++state.injected;
    return state.target_error;
  }
  return 0;
}

// Installs the hook for its lifetime with the given plan.
class ScopedFaults {
 public:
  ScopedFaults(std::string operation, bool recording, std::string prerequisite,
               int prerequisite_error, std::string target, int target_error,
               bool always) {
    HookState& state = State();
    {
      std::lock_guard<std::mutex> lock(state.mutex);
      state.operation = std::move(operation);
      state.recording = recording;
      state.prerequisite = std::move(prerequisite);
      state.prerequisite_error = prerequisite_error;
      state.target = std::move(target);
      state.target_error = target_error;
      state.always = always;
      state.injected = 0;
    }
    internal::SetFaultHookForTesting(&Hook);
  }
  ~ScopedFaults() { internal::SetFaultHookForTesting(nullptr); }
  int injected() {
    std::lock_guard<std::mutex> lock(State().mutex);
    return State().injected;
  }
};

// The scenario's operations, in order. Before Wake the only registration has
// fired (oneshot), so nothing but a wake can end a Wait.
enum class Operation { kCreate, kAdd, kWait, kWake, kModify, kDelete };
constexpr Operation kOperations[] = {Operation::kCreate, Operation::kAdd,
                                     Operation::kWait,   Operation::kWake,
                                     Operation::kModify, Operation::kDelete};

const char* Name(Operation operation) {
  switch (operation) {
    case Operation::kCreate:
      return "Create";
    case Operation::kAdd:
      return "Add";
    case Operation::kWait:
      return "Wait";
    case Operation::kWake:
      return "Wake";
    case Operation::kModify:
      return "Modify";
    case Operation::kDelete:
      return "Delete";
  }
  return "?";
}

constexpr Token kFirstToken = 1;
constexpr Token kSecondToken = 2;

// One run of the scenario: a pipe holding one byte, and a poller.
struct Scenario {
  const conformance::PollerFactory& factory;
  Pipe pipe = MakePipe();
  std::unique_ptr<Poller> poller;
  Events events{16};
  // What the last Wait returned.
  absl::StatusOr<size_t> waited = 0;

  explicit Scenario(const conformance::PollerFactory& poller_factory)
      : factory(poller_factory) {
    WriteBytes(pipe.write_end.get());
  }

  absl::Status Do(Operation operation) {
    switch (operation) {
      case Operation::kCreate: {
        absl::StatusOr<std::unique_ptr<Poller>> created = factory();
        if (!created.ok()) return created.status();
        poller = *std::move(created);
        return absl::OkStatus();
      }
      case Operation::kAdd:
        return poller->Add(pipe.read_end.get(), kFirstToken,
                           Interest::kReadable, Mode::kOneshot);
      case Operation::kWait:
        waited = poller->Wait(events, absl::Seconds(1));
        return waited.status();
      case Operation::kWake:
        return poller->Wake();
      case Operation::kModify:
        return poller->Modify(pipe.read_end.get(), kSecondToken,
                              Interest::kReadable, Mode::kOneshot);
      case Operation::kDelete:
        return poller->Delete(pipe.read_end.get());
    }
    return absl::InternalError("unknown operation");
  }
};

// Waits until `token` is reported (or kPrompt passes).
bool WaitForToken(Poller& poller, Token token) {
  Events events(16);
  const absl::Time give_up = absl::Now() + kPrompt;
  while (absl::Now() < give_up) {
    absl::StatusOr<size_t> count = poller.Wait(events, absl::Milliseconds(100));
    if (!count.ok()) {
      ADD_FAILURE() << "Wait: " << count.status();
      return false;
    }
    for (const Event& event : events) {
      if (event.token() == token) return true;
    }
  }
  return false;
}

struct Case {
  Operation operation;
  std::string call;
  // Failed for good while the case runs, to reach `call` at all ("" if none).
  std::string prerequisite;
  int prerequisite_error = 0;
};

// Records which calls each operation makes; with a prerequisite, only during
// the operation that made it.
std::vector<std::pair<std::string, std::string>> Record(
    const conformance::PollerFactory& factory, const std::string& prerequisite,
    int prerequisite_error) {
  Scenario run(factory);
  for (Operation operation : kOperations) {
    ScopedFaults faults(Name(operation), /*recording=*/true, prerequisite,
                        prerequisite_error, "", 0, false);
    absl::Status status = run.Do(operation);
    if (operation == Operation::kCreate && !status.ok()) break;
  }
  std::lock_guard<std::mutex> lock(State().mutex);
  return State().calls;
}

std::vector<Case> DiscoverCases(const conformance::PollerFactory& factory) {
  {
    std::lock_guard<std::mutex> lock(State().mutex);
    State().calls.clear();
  }
  std::vector<Case> cases;
  std::set<std::pair<std::string, std::string>> known;
  for (const auto& [operation, call] : Record(factory, "", 0)) {
    if (known.insert({operation, call}).second) {
      for (Operation o : kOperations) {
        if (operation == Name(o)) cases.push_back({o, call, "", 0});
      }
    }
  }
  const std::vector<Case> plain = cases;
  for (const Case& base : plain) {
    for (int error : kDiscoveryErrnos) {
      {
        std::lock_guard<std::mutex> lock(State().mutex);
        State().calls.clear();
      }
      for (const auto& [operation, call] : Record(factory, base.call, error)) {
        if (operation != Name(base.operation) || call == base.call) continue;
        if (known.insert({operation, call}).second) {
          cases.push_back({base.operation, call, base.call, error});
        }
      }
    }
  }
  return cases;
}

// The rules for a failed operation's status: the errno's code (or one of the
// few more specific codes poller.h promises) and a message naming the call
// and the errno.
void ExpectStatusNamesTheFault(const Case& test_case, int error,
                               const absl::Status& status) {
  const absl::StatusCode expected = ErrnoToStatusCode(error);
  const bool registration_eperm =
      error == EPERM &&
      (test_case.operation == Operation::kAdd ||
       test_case.operation == Operation::kModify ||
       test_case.operation == Operation::kDelete) &&
      status.code() == absl::StatusCode::kInvalidArgument;
  // poller.h: Create says Unavailable when the kernel refuses the backend.
  const bool create_refused = test_case.operation == Operation::kCreate &&
                              (error == EPERM || error == ENOSYS) &&
                              status.code() == absl::StatusCode::kUnavailable;
  const bool wait_internal = test_case.operation == Operation::kWait &&
                             status.code() == absl::StatusCode::kInternal;
  // With a prerequisite failing for good, that failure may be what surfaces
  // (the eventfd read succeeds, the write fails again).
  const int other_error = test_case.prerequisite_error;
  const std::string& other_call = test_case.prerequisite;
  const bool prerequisite_surfaced =
      other_error != 0 && status.code() == ErrnoToStatusCode(other_error) &&
      status.message().find(std::string(ErrnoName(other_error))) !=
          absl::string_view::npos &&
      status.message().find(other_call) != absl::string_view::npos;
  EXPECT_TRUE(status.code() == expected || registration_eperm ||
              create_refused || wait_internal || prerequisite_surfaced)
      << "rule: the code is the errno's (" << absl::StatusCodeToString(expected)
      << "): " << status;
  if (!prerequisite_surfaced) {
    EXPECT_NE(status.message().find(std::string(ErrnoName(error))),
              absl::string_view::npos)
        << "rule: the message names the errno: " << status;
    EXPECT_NE(status.message().find(test_case.call), absl::string_view::npos)
        << "rule: the message names the call: " << status;
  }
  EXPECT_FALSE(test_case.operation == Operation::kWait && error == EINTR)
      << "rule: EINTR in a wait is not an error (Wait returns OK)";
}

// What must hold after the operation under test, by operation: the rule for
// its effect (done if it returned OK, retryable if it failed). False if the
// case cannot go on.
using AfterCheck = bool (*)(Scenario& run, int error,
                            const absl::Status& status);

bool AfterCreate(Scenario& run, int, const absl::Status& status) {
  if (status.ok()) return true;
  absl::Status again = run.Do(Operation::kCreate);
  if (!again.ok()) ADD_FAILURE() << "Create after the fault: " << again;
  return again.ok();
}

bool AfterAdd(Scenario& run, int, const absl::Status& status) {
  if (!status.ok()) {
    EXPECT_TRUE(run.Do(Operation::kAdd).ok())
        << "rule: a failed Add leaves nothing behind; it can be retried";
  } else {
    EXPECT_EQ(run.Do(Operation::kAdd).code(), absl::StatusCode::kAlreadyExists)
        << "rule: an Add that returned OK registered the handle";
  }
  EXPECT_TRUE(WaitForToken(*run.poller, kFirstToken))
      << "rule: the registration reports its readiness";
  return true;
}

bool AfterWait(Scenario& run, int, const absl::Status& status) {
  const bool reported =
      status.ok() && *run.waited > 0 && run.events[0].token() == kFirstToken;
  EXPECT_TRUE(reported || WaitForToken(*run.poller, kFirstToken))
      << "rule: a failed or interrupted Wait loses no event";
  return true;
}

bool AfterWake(Scenario& run, int, const absl::Status& status) {
  if (!status.ok()) {
    EXPECT_TRUE(run.Do(Operation::kWake).ok())
        << "rule: Wake works again after the fault";
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<size_t> count = run.poller->Wait(run.events, kPrompt);
  EXPECT_TRUE(count.ok()) << count.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4))
      << "rule: a Wake that returned OK, or the Wake after a failed one, "
         "makes a Wait return";
  return true;
}

bool AfterModify(Scenario& run, int error, const absl::Status& status) {
  if (!status.ok()) {
    absl::Status again = run.Do(Operation::kModify);
    // EBADF says the descriptor is closed: a backend may forget it.
    if (error == EBADF && again.code() == absl::StatusCode::kNotFound) {
      again = run.poller->Add(run.pipe.read_end.get(), kSecondToken,
                              Interest::kReadable);
    }
    EXPECT_TRUE(again.ok()) << "rule: a failed Modify can be retried (or, "
                               "after EBADF, the handle added again): "
                            << again;
  }
  EXPECT_TRUE(WaitForToken(*run.poller, kSecondToken))
      << "rule: the re-armed registration reports its readiness";
  return true;
}

bool AfterDelete(Scenario& run, int error, const absl::Status& status) {
  if (!status.ok()) {
    const absl::Status again = run.Do(Operation::kDelete);
    EXPECT_TRUE(again.ok() ||
                (error == EBADF && again.code() == absl::StatusCode::kNotFound))
        << "rule: a failed Delete can be retried: " << again;
  } else {
    EXPECT_EQ(run.Do(Operation::kDelete).code(), absl::StatusCode::kNotFound)
        << "rule: a Delete that returned OK removed the registration";
  }
  Events events(16);
  absl::StatusOr<size_t> count =
      run.poller->Wait(events, absl::Milliseconds(50));
  EXPECT_TRUE(count.ok()) << count.status();
  for (const Event& event : events) {
    EXPECT_NE(event.token(), kSecondToken) << "reported after Delete";
  }
  return true;
}

AfterCheck AfterCheckFor(Operation operation) {
  switch (operation) {
    case Operation::kCreate:
      return &AfterCreate;
    case Operation::kAdd:
      return &AfterAdd;
    case Operation::kWait:
      return &AfterWait;
    case Operation::kWake:
      return &AfterWake;
    case Operation::kModify:
      return &AfterModify;
    case Operation::kDelete:
      return &AfterDelete;
  }
  return nullptr;
}

// The poller is still usable after any fault: it adds, reports, wakes and
// deletes.
void ExpectStillUsable(Scenario& run) {
  Pipe other = MakePipe();
  WriteBytes(other.write_end.get());
  EXPECT_TRUE(
      run.poller->Add(other.read_end.get(), 77, Interest::kReadable).ok());
  EXPECT_TRUE(WaitForToken(*run.poller, 77)) << "rule: still reports";
  EXPECT_TRUE(run.poller->Delete(other.read_end.get()).ok());
  DrainBytes(run.pipe.read_end.get());
  EXPECT_TRUE(run.poller->Wake().ok());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<size_t> count = run.poller->Wait(run.events, kPrompt);
  EXPECT_TRUE(count.ok()) << count.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4))
      << "rule: still wakes";
}

// Runs one case on a new poller from `factory`; returns a line for the
// summary table.
std::string RunCase(const conformance::PollerFactory& factory,
                    const Case& test_case, int error, bool always) {
  const std::string what = absl::StrCat(
      Name(test_case.operation), " ", test_case.call, " ", ErrnoName(error),
      always ? " (every attempt)" : " (once)",
      test_case.prerequisite.empty()
          ? ""
          : absl::StrCat(" after ", test_case.prerequisite, " failed with ",
                         ErrnoName(test_case.prerequisite_error)));
  SCOPED_TRACE(what);
  const int descriptors_before = OpenDescriptorCount();
  std::string outcome;
  {
    Scenario run(factory);
    const int descriptors_with_pipe = OpenDescriptorCount();
    // The operations before the one under test, without faults.
    for (Operation operation : kOperations) {
      if (operation == test_case.operation) break;
      absl::Status status = run.Do(operation);
      if (!status.ok()) {
        ADD_FAILURE() << "setup " << Name(operation) << ": " << status;
        return what + ": setup failed";
      }
    }
    absl::Status status;
    int injected = 0;
    {
      ScopedFaults faults(Name(test_case.operation), false,
                          test_case.prerequisite, test_case.prerequisite_error,
                          test_case.call, error, always);
      status = run.Do(test_case.operation);
      injected = faults.injected();
    }
    EXPECT_GT(injected, 0) << "the call was not made again";
    outcome = status.ok() ? "OK" : absl::StatusCodeToString(status.code());
    if (!status.ok()) ExpectStatusNamesTheFault(test_case, error, status);
    if (test_case.operation == Operation::kCreate && !status.ok()) {
      EXPECT_EQ(OpenDescriptorCount(), descriptors_with_pipe)
          << "rule: a failed Create leaks no descriptor";
    }
    if (!AfterCheckFor(test_case.operation)(run, error, status)) {
      return what + ": no poller";
    }
    ExpectStillUsable(run);
  }
  EXPECT_EQ(OpenDescriptorCount(), descriptors_before)
      << "rule: no descriptor leaks";
  return absl::StrCat(what, " -> ", outcome);
}

}  // namespace

void FaultInjectionTest::TearDown() {
  internal::SetFaultHookForTesting(nullptr);
}

namespace {

TEST_P(FaultInjectionTest, EveryErrnoOnEveryCall) {
  const std::vector<Case> cases = DiscoverCases(backend().factory);
  if (cases.empty()) {
    GTEST_SKIP() << "the backend made no system call through poller's seam "
                    "(poller/internal/syscall.h): no fault can be injected";
  }
  std::set<std::string> calls;
  for (const Case& test_case : cases) calls.insert(test_case.call);
  std::cout << backend().name
            << " makes these calls: " << absl::StrJoin(calls, ", ")
            << std::endl;
  // A broken error path usually breaks every case through it, each after
  // seconds of waiting: stop after a few, so the report comes before the
  // timeout.
  constexpr int kFailingCasesShown = 8;
  int failing_cases = 0;
  const ::testing::TestResult& result =
      *::testing::UnitTest::GetInstance()->current_test_info()->result();
  for (const Case& test_case : cases) {
    for (int error : kErrnos) {
      for (bool always : {false, true}) {
        const int parts_before = result.total_part_count();
        std::cout << RunCase(backend().factory, test_case, error, always)
                  << std::endl;
        if (HasFatalFailure()) return;
        if (result.total_part_count() != parts_before &&
            ++failing_cases == kFailingCasesShown) {
          ADD_FAILURE() << "stopped after " << kFailingCasesShown
                        << " failing cases";
          return;
        }
      }
    }
  }
}

// The real condition: in a child process, RLIMIT_NOFILE leaves 0, 1, 2...
// descriptors free. Create fails with ResourceExhausted naming EMFILE, leaking
// nothing, until enough are free, and then works.
#if defined(_WIN32)
TEST_P(FaultInjectionTest, CreateOutOfDescriptorsInChild) {
  GTEST_SKIP() << "Windows: no fork() and no per-process handle limit to lower";
}
#else
TEST_P(FaultInjectionTest, CreateOutOfDescriptorsInChild) {
  {
    const int before = OpenDescriptorCount();
    absl::StatusOr<std::unique_ptr<Poller>> probe = backend().factory();
    ASSERT_TRUE(probe.ok()) << probe.status();
    if (OpenDescriptorCount() == before) {
      GTEST_SKIP() << backend().name << " opens no descriptor of its own in "
                   << "Create: it cannot run out of them";
    }
  }
  int report[2];
  ASSERT_TRUE(poller::testing::MakeBlockingPipe(report))
      << std::strerror(errno);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0) << std::strerror(errno);
  if (child == 0) {
    ::close(report[0]);
    std::string failures;
    int lowest_free = 0;
    while (::fcntl(lowest_free, F_GETFD) != -1) ++lowest_free;
    int failed_creates = 0;
    bool created = false;
    for (int spare = 0; spare < 16 && !created; ++spare) {
      // Descriptors above the limit do not count: the limit is on new numbers.
      const int count_before = OpenDescriptorCount();
      rlimit limit{};
      ::getrlimit(RLIMIT_NOFILE, &limit);
      limit.rlim_cur = static_cast<rlim_t>(lowest_free + spare);
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        failures += "setrlimit failed\n";
        break;
      }
      absl::StatusOr<std::unique_ptr<Poller>> poller = backend().factory();
      // OpenDescriptorCount needs a descriptor of its own: raise the limit.
      limit.rlim_cur = static_cast<rlim_t>(lowest_free + 64);
      ::setrlimit(RLIMIT_NOFILE, &limit);
      if (poller.ok()) {
        created = true;
        break;
      }
      ++failed_creates;
      if (poller.status().code() != absl::StatusCode::kResourceExhausted ||
          poller.status().message().find("EMFILE") == absl::string_view::npos) {
        failures += absl::StrCat("with ", spare,
                                 " free descriptors Create failed with ",
                                 poller.status().ToString(), "\n");
      }
      if (OpenDescriptorCount() != count_before) {
        failures += absl::StrCat("with ", spare,
                                 " free descriptors a failed Create leaked\n");
      }
    }
    if (failed_creates == 0) failures += "Create never ran out\n";
    if (!created) failures += "Create never succeeded\n";
    if (!failures.empty()) {
      (void)!::write(report[1], failures.data(), failures.size());
    }
    ::_exit(failures.empty() ? 0 : 1);
  }
  ::close(report[1]);
  std::string output = poller::testing::ReadUntilEndOfFile(report[0]);
  ::close(report[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
}
#endif

// The real condition behind EPERM on epoll: a kind of file that cannot be
// polled. Every operation says InvalidArgument (poller.h), Delete included.
TEST_P(FaultInjectionTest, RegularFileIsInvalidArgumentForEveryOperation) {
#if defined(_WIN32)
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  const NativeHandle file = poller::testing::FileHandle(stream);
#else
  const int file = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(file, 0) << std::strerror(errno);
#endif
  const absl::Status added = poller_->Add(file, 1, Interest::kReadable);
  const absl::Status modified =
      poller_->Modify(file, 1, Interest::kReadable, Mode::kOneshot);
  const absl::Status deleted = poller_->Delete(file);
#if defined(_WIN32)
  std::fclose(stream);
#else
  ::close(file);
#endif
  if (added.ok()) {
    // poll(2)-style backends may accept regular files (always ready).
    EXPECT_TRUE(modified.ok()) << modified;
    EXPECT_TRUE(deleted.ok()) << deleted;
    return;
  }
  EXPECT_EQ(added.code(), absl::StatusCode::kInvalidArgument) << added;
  EXPECT_TRUE(modified.code() == absl::StatusCode::kInvalidArgument ||
              modified.code() == absl::StatusCode::kNotFound)
      << modified;
  EXPECT_TRUE(deleted.code() == absl::StatusCode::kInvalidArgument ||
              deleted.code() == absl::StatusCode::kNotFound)
      << deleted;
}

}  // namespace
}  // namespace poller::faults
