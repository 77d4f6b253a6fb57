// Copyright 2026 The poller Authors.
//
// What only a kqueue kernel shows about the kqueue backend (item numbers
// are kqueue_backend.h's). Runs only on macOS and the BSDs:
//
//   ./bazelw test //backends/kqueue:kqueue_backend_test
//
// Every wait has a time limit, and every "nothing happens" check has a
// positive control beside it.

#include "backends/kqueue/kqueue_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"
#include "tests/conformance/test_handles.h"

namespace poller {
namespace {

using testing::DrainBytes;
using testing::MakePipe;
using testing::MakeTcpConnection;
using testing::WaitOnce;
using testing::WriteBytes;

constexpr absl::Duration kPrompt = absl::Seconds(5);
constexpr absl::Duration kQuiet = absl::Milliseconds(100);

std::unique_ptr<Poller> NewPoller() {
  absl::StatusOr<std::unique_ptr<Poller>> created = Poller::Create("kqueue");
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *std::move(created) : nullptr;
}

// Waits up to kPrompt for `token`; its readiness, or kNone.
Readiness WaitForToken(Poller& poller, Token token) {
  Events events(16);
  const absl::Time give_up = absl::Now() + kPrompt;
  while (absl::Now() < give_up) {
    auto seen = WaitOnce(poller, events, absl::Milliseconds(100));
    if (!seen.ok()) {
      ADD_FAILURE() << seen.status();
      return Readiness::kNone;
    }
    auto found = seen->find(token);
    if (found != seen->end()) return found->second;
  }
  return Readiness::kNone;
}

void ExpectQuiet(Poller& poller, Token token) {
  Events events(16);
  auto seen = WaitOnce(poller, events, kQuiet);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->count(token), 0u) << "token " << token << " was reported";
}

// A system-call hook that tells the test when the thread it watches is about
// to enter kevent, so the test can act while that thread's Wait is blocked.
std::atomic<std::thread::id> watched_thread;
std::mutex entered_mutex;
std::condition_variable entered_changed;
bool entered = false;

int NoteWatchedKevent(const char* name) {
  if (std::strcmp(name, "kevent") == 0 &&
      std::this_thread::get_id() == watched_thread.load()) {
    std::lock_guard<std::mutex> lock(entered_mutex);
    entered = true;
    entered_changed.notify_all();
  }
  return 0;
}

struct HookGuard {
  ~HookGuard() { internal::SetFaultHookForTesting(nullptr); }
};

// Item 1.
TEST(KqueueBackend, OneshotReadWriteAddedDuringBlockedWaitReportsOnce) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  auto connection = MakeTcpConnection();
  const int server = connection.server.get();

  entered = false;
  HookGuard guard;
  internal::SetFaultHookForTesting(&NoteWatchedKevent);
  std::promise<std::map<Token, Readiness>> first_promise;
  auto first = first_promise.get_future();
  std::thread waiter([&] {
    watched_thread.store(std::this_thread::get_id());
    Events events(16);
    auto seen = WaitOnce(*poller, events, kPrompt);
    first_promise.set_value(seen.ok() ? *seen : std::map<Token, Readiness>{});
  });
  {
    std::unique_lock<std::mutex> lock(entered_mutex);
    ASSERT_TRUE(entered_changed.wait_for(lock, std::chrono::seconds(5),
                                         [] { return entered; }));
  }
  internal::SetFaultHookForTesting(nullptr);
  // The socket is writable at once: the blocked Wait returns with it.
  ASSERT_TRUE(
      poller->Add(server, 7, Interest::kReadable | Interest::kWritable).ok());
  const bool returned =
      first.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!returned) poller->Shutdown();
  waiter.join();
  ASSERT_TRUE(returned) << "rule: an Add during a Wait takes effect for it";
  const auto seen = first.get();
  ASSERT_EQ(seen.count(7), 1u);
  EXPECT_TRUE(Has(seen.at(7), Readiness::kWritable));

  // Now readable too: oneshot reported once, so nothing until Modify.
  WriteBytes(connection.client.get());
  ExpectQuiet(*poller, 7);
  // Positive control: the re-arm reports it.
  ASSERT_TRUE(poller
                  ->Modify(server, 7, Interest::kReadable | Interest::kWritable,
                           Mode::kOneshot)
                  .ok());
  EXPECT_NE(WaitForToken(*poller, 7), Readiness::kNone);
}

bool PrioritySupported() {
#if defined(__APPLE__) || defined(__OpenBSD__) || defined(__DragonFly__)
  return true;
#else
  return false;  // FreeBSD, NetBSD: see item 2 of kqueue_backend.h.
#endif
}

// Item 2.
TEST(KqueueBackend, UrgentByteIsPriority) {
  if (!PrioritySupported()) GTEST_SKIP() << "no out-of-band kevent here";
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  auto connection = MakeTcpConnection();
  ASSERT_TRUE(
      poller->Add(connection.server.get(), 3, Interest::kPriority, Mode::kLevel)
          .ok());
  ExpectQuiet(*poller, 3);
  const char urgent = '!';
  ASSERT_EQ(::send(connection.client.get(), &urgent, 1, MSG_OOB), 1);
  EXPECT_TRUE(Has(WaitForToken(*poller, 3), Readiness::kPriority));
}

// Item 2: the sticky NOTE_OOB of XNU's read filter.
TEST(KqueueBackend, PlainDataAfterTheUrgentByteWasReadIsNotPriority) {
  if (!PrioritySupported()) GTEST_SKIP() << "no out-of-band kevent here";
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  auto connection = MakeTcpConnection();
  const int server = connection.server.get();
  ASSERT_TRUE(poller
                  ->Add(server, 4, Interest::kReadable | Interest::kPriority,
                        Mode::kLevel)
                  .ok());
  const char urgent = '!';
  ASSERT_EQ(::send(connection.client.get(), &urgent, 1, MSG_OOB), 1);
  ASSERT_TRUE(Has(WaitForToken(*poller, 4), Readiness::kPriority));
  char byte = 0;
  ASSERT_EQ(::recv(server, &byte, 1, MSG_OOB), 1);
  DrainBytes(server);
  WriteBytes(connection.client.get());
  const Readiness readiness = WaitForToken(*poller, 4);
  EXPECT_TRUE(Has(readiness, Readiness::kReadable));
  EXPECT_FALSE(Has(readiness, Readiness::kPriority))
      << "the urgent byte was read: ordinary data is not priority";
}

// Item 3 (FreeBSD: EPIPE from pipe_kqfilter; macOS: EV_EOF at once).
TEST(KqueueBackend, PipeWriteEndWithReaderGoneIsWritableAndError) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  auto pipe = MakePipe();
  pipe.read_end.Reset();
  const int writer = pipe.write_end.get();
  ASSERT_TRUE(poller->Add(writer, 5, Interest::kWritable, Mode::kLevel).ok());
  for (int i = 0; i < 2; ++i) {
    const Readiness readiness = WaitForToken(*poller, 5);
    EXPECT_TRUE(Has(readiness, Readiness::kWritable)) << "wait " << i;
    EXPECT_TRUE(Has(readiness, Readiness::kError)) << "wait " << i;
  }
  // A mode-changing Modify keeps the registration.
  ASSERT_TRUE(
      poller->Modify(writer, 6, Interest::kWritable, Mode::kOneshot).ok());
  EXPECT_TRUE(Has(WaitForToken(*poller, 6), Readiness::kError));
  ExpectQuiet(*poller, 6);  // Oneshot: once.
  ASSERT_TRUE(poller->Delete(writer).ok());
}

// Item 4.
TEST(KqueueBackend, LocalShutdownWriteIsNotHangUp) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  auto connection = MakeTcpConnection();
  const int server = connection.server.get();
  ASSERT_EQ(::shutdown(server, SHUT_WR), 0);
  ASSERT_TRUE(poller->Add(server, 8, Interest::kWritable, Mode::kLevel).ok());
  const Readiness readiness = WaitForToken(*poller, 8);
  EXPECT_TRUE(Has(readiness, Readiness::kWritable));
  EXPECT_FALSE(Has(readiness, Readiness::kHangUp))
      << "hang-up means the peer closed; this end shut its own sending";
  // Positive control: the peer closing is a hang-up.
  ASSERT_TRUE(
      poller->Modify(server, 8, Interest::kReadable, Mode::kOneshot).ok());
  connection.client.Reset();
  EXPECT_TRUE(Has(WaitForToken(*poller, 8), Readiness::kHangUp));
}

// Item 7.
TEST(KqueueBackend, RejectedAddInjectsNoEdgeEvent) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  auto pipe = MakePipe();
  const int reader = pipe.read_end.get();
  ASSERT_TRUE(poller->Add(reader, 9, Interest::kReadable, Mode::kEdge).ok());
  WriteBytes(pipe.write_end.get());
  ASSERT_NE(WaitForToken(*poller, 9), Readiness::kNone);
  // The data is still there; the edge was reported.
  EXPECT_EQ(poller->Add(reader, 9, Interest::kReadable, Mode::kEdge).code(),
            absl::StatusCode::kAlreadyExists);
  ExpectQuiet(*poller, 9);
  // Positive control: new data is a new edge.
  WriteBytes(pipe.write_end.get());
  EXPECT_NE(WaitForToken(*poller, 9), Readiness::kNone);
}

std::set<int> OpenDescriptors() {
  std::set<int> open;
  for (int fd = 0; fd < 1024; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) open.insert(fd);
  }
  return open;
}

// Waits up to `limit` for `child`; its wait status, or -1 (then killed).
int WaitForChild(pid_t child, std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < give_up) {
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  return -1;
}

// Item 6.
TEST(KqueueBackend, ForkedChildTouchesNothingOfTheQueue) {
  const std::set<int> before = OpenDescriptors();
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  int kqueue_fd = -1;
  for (const int fd : OpenDescriptors()) {
    if (before.count(fd) == 0 && kqueue_fd < 0) kqueue_fd = fd;
  }
  ASSERT_GE(kqueue_fd, 0);
  auto pipe = MakePipe();

  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // No gtest here: the exit code says which check failed.
    if (::fcntl(kqueue_fd, F_GETFD) != -1) _exit(10);  // Inherited?
    const int file = ::open("/dev/null", O_RDONLY);
    if (file < 0 || ::dup2(file, kqueue_fd) != kqueue_fd) _exit(11);
    if (poller->Add(pipe.read_end.get(), 1, Interest::kReadable).code() !=
        absl::StatusCode::kFailedPrecondition) {
      _exit(12);
    }
    Events events(4);
    if (poller->Wait(events, absl::ZeroDuration()).status().code() !=
        absl::StatusCode::kFailedPrecondition) {
      _exit(13);
    }
    poller.reset();
    // The child's own file at that number is still open.
    if (::fcntl(kqueue_fd, F_GETFD) == -1) _exit(14);
    _exit(0);
  }
  const int status = WaitForChild(child, std::chrono::seconds(10));
  ASSERT_NE(status, -1) << "the child did not finish";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: inherited the kqueue; 11: dup2; 12: Add; 13: Wait; "
         "14: the destructor closed the child's file";
  // Positive control: the parent's poller still works.
  ASSERT_TRUE(poller->Add(pipe.read_end.get(), 2, Interest::kReadable).ok());
  WriteBytes(pipe.write_end.get());
  EXPECT_NE(WaitForToken(*poller, 2), Readiness::kNone);
}

}  // namespace
}  // namespace poller
