// Copyright 2026 The poller Authors.
//
// Descriptor hygiene on a backend instance (tests/backend_under_test.h):
// create/use/destroy cycles leave the process's descriptor count unchanged,
// and no descriptor a poller opens survives an exec.

#include "tests/faults/hygiene_suite.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "poller/poller.h"
#include "tests/conformance/test_handles.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define POLLER_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define POLLER_UNDER_SANITIZER 1
#endif

namespace poller::faults {
namespace {

using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::OpenDescriptorCount;
using ::poller::testing::Pipe;
using ::poller::testing::WriteBytes;

#if defined(POLLER_UNDER_SANITIZER) || defined(_WIN32)
// Sanitizers make each cycle several times slower, and so does Wine (each
// Create is four calls into its server); the leak check needs only that the
// count never grows, which a smaller number shows as well.
constexpr int kCycles = 20000;
#else
constexpr int kCycles = 100000;
#endif

TEST_P(HygieneTest, CreateUseDestroyCyclesLeaveDescriptorCountUnchanged) {
  Pipe pipe = MakePipe();
  WriteBytes(pipe.write_end.get());
#if defined(_WIN32)
  // One cycle first: under Wine the first cycle of a process (Add, Wake,
  // Wait) leaves two handles open that no later cycle adds to (measured: the
  // count is then flat for 20,000 cycles), a one-time cost of the process
  // rather than of a poller; a leak grows with the cycles.
  {
    absl::StatusOr<std::unique_ptr<Poller>> warm_up = backend().factory();
    ASSERT_TRUE(warm_up.ok()) << warm_up.status();
    ASSERT_TRUE(
        (*warm_up)
            ->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kLevel)
            .ok());
    ASSERT_TRUE((*warm_up)->Wake().ok());
    Events events(8);
    ASSERT_TRUE((*warm_up)->Wait(events, absl::ZeroDuration()).ok());
  }
#endif
  const int before = OpenDescriptorCount();
  ASSERT_GT(before, 0) << "cannot count descriptors here";
  Events events(8);
  int exhausted = 0;
  for (int cycle = 1; cycle <= kCycles; ++cycle) {
    absl::StatusOr<std::unique_ptr<Poller>> poller = backend().factory();
    // io_uring: the kernel frees a ring's memory after close returns, in the
    // background, so quick cycles can briefly run out (ENOMEM). Waiting a
    // little is the cure; descriptors are what this test counts.
    for (int retry = 0; retry < 200 && poller.status().code() ==
                                           absl::StatusCode::kResourceExhausted;
         ++retry) {
      ++exhausted;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      poller = backend().factory();
    }
    ASSERT_TRUE(poller.ok()) << "cycle " << cycle << ": " << poller.status();
    ASSERT_TRUE(
        (*poller)
            ->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kLevel)
            .ok());
    ASSERT_TRUE((*poller)->Wake().ok());
    absl::StatusOr<size_t> count =
        (*poller)->Wait(events, absl::ZeroDuration());
    ASSERT_TRUE(count.ok()) << count.status();
    if (cycle % 10000 == 0) {
      poller->reset();
      ASSERT_EQ(OpenDescriptorCount(), before)
          << "after " << cycle << " cycles";
    }
  }
  EXPECT_EQ(OpenDescriptorCount(), before);
  std::cout << kCycles << " cycles on " << backend().name
            << "; Create ran out of "
            << "memory and was retried after 10 ms " << exhausted << " times"
            << std::endl;
}

#if defined(_WIN32)
TEST_P(HygieneTest, NoDescriptorSurvivesExec) {
  GTEST_SKIP() << "Windows: no fork() or exec; the backend's handles are "
                  "created not inheritable";
}
#else
// Lists, through a pipe, the descriptors a child has after exec'ing /bin/sh.
std::set<int> DescriptorsAfterExec() {
  int output[2];
  EXPECT_TRUE(poller::testing::MakeBlockingPipe(output))
      << std::strerror(errno);
  const pid_t child = ::fork();
  EXPECT_GE(child, 0) << std::strerror(errno);
  if (child == 0) {
    // dup2 clears close-on-exec on the new number: the shell's stdout.
    if (::dup2(output[1], 1) < 0) ::_exit(126);
    // The shell's own descriptors, listed by another process (ls: two
    // commands keep the shell from exec'ing it), so ls's directory handle is
    // not among them.
    ::execl("/bin/sh", "sh", "-c", "ls /proc/$$/fd; exit $?",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(output[1]);
  std::string text = poller::testing::ReadUntilEndOfFile(output[0]);
  ::close(output[0]);
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
  std::set<int> descriptors;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    descriptors.insert(std::atoi(line.c_str()));
  }
  return descriptors;
}

TEST_P(HygieneTest, NoDescriptorSurvivesExec) {
  std::set<int> before;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) before.insert(fd);
  }
  absl::StatusOr<std::unique_ptr<Poller>> poller = backend().factory();
  ASSERT_TRUE(poller.ok()) << poller.status();
  // Use it, so a backend that opens descriptors lazily has opened them.
  Pipe pipe = MakePipe();
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE((*poller)->Add(pipe.read_end.get(), 1, Interest::kReadable).ok());
  ASSERT_TRUE((*poller)->Wake().ok());
  Events events(8);
  ASSERT_TRUE((*poller)->Wait(events, absl::Seconds(1)).ok());
  std::set<int> poller_descriptors;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 && before.count(fd) == 0 &&
        fd != pipe.read_end.get() && fd != pipe.write_end.get()) {
      poller_descriptors.insert(fd);
    }
  }
  if (poller_descriptors.empty()) {
    GTEST_SKIP() << backend().name
                 << " opens no descriptor of its own: none can survive exec";
  }

  // A control, so the check can fail: a descriptor without close-on-exec is
  // listed.
  const int inherited = ::dup(pipe.read_end.get());
  ASSERT_GE(inherited, 0);
  const std::set<int> after_exec = DescriptorsAfterExec();
  ::close(inherited);
  EXPECT_EQ(after_exec.count(1), 1u) << "the listing works (stdout)";
  EXPECT_EQ(after_exec.count(inherited), 1u)
      << "a descriptor without close-on-exec survives exec (control)";
  for (int fd : poller_descriptors) {
    EXPECT_EQ(after_exec.count(fd), 0u)
        << "descriptor " << fd << " of the poller survived exec";
  }
}
#endif

}  // namespace
}  // namespace poller::faults
