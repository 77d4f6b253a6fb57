// Copyright 2026 The poller Authors.
//
// Conformance rules for the poller's own descriptors: close-on-exec (not
// inheritable on Windows), and all released when it is destroyed.
//
// Promises: poller/poller.h: Poller.

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <set>
#include <vector>

#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::MakePipe;
using ::poller::testing::OpenDescriptorCount;
using ::poller::testing::Pipe;

#if defined(__linux__)
TEST_P(ConformanceTest, EveryDescriptorIsCloseOnExec) {
  RULE("every descriptor the poller creates is close-on-exec");
  poller_.reset();
  std::set<int> before;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) before.insert(fd);
  }
  poller_ = NewPoller();
  ASSERT_NE(poller_, nullptr);
  int new_descriptors = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags == -1 || before.count(fd) > 0) continue;
    ++new_descriptors;
    EXPECT_TRUE(flags & FD_CLOEXEC) << "fd " << fd;
  }
  EXPECT_GE(new_descriptors, 1);
}
#endif

#if defined(_WIN32)
TEST_P(ConformanceTest, EveryHandleIsNotInheritable) {
  RULE("no handle the poller creates is inherited by a child process");
  poller_.reset();
  const std::vector<NativeHandle> before = poller::testing::OpenHandles();
  poller_ = NewPoller();
  ASSERT_NE(poller_, nullptr);
  int new_handles = 0;
  for (NativeHandle handle : poller::testing::OpenHandles()) {
    if (std::count(before.begin(), before.end(), handle) > 0) continue;
    ++new_handles;
    EXPECT_FALSE(poller::testing::IsInheritable(handle)) << "handle " << handle;
  }
  EXPECT_GE(new_handles, 1);
}
#endif

TEST_P(ConformanceTest, DestroyingReleasesEveryDescriptor) {
  RULE("the destructor releases every descriptor the poller owns");
  poller_.reset();
  const int before = OpenDescriptorCount();
  if (before < 0) GTEST_SKIP() << "cannot count descriptors here";
  for (int i = 0; i < 100; ++i) {
    std::unique_ptr<Poller> poller = NewPoller();
    ASSERT_NE(poller, nullptr);
    Pipe pipe = MakePipe();
    ASSERT_TRUE(poller->Add(pipe.read_end.get(), 1, Interest::kReadable).ok());
    ASSERT_TRUE(poller->Wake().ok());
    Events events(4);
    ASSERT_TRUE(poller->Wait(events, absl::ZeroDuration()).ok());
  }
  EXPECT_EQ(OpenDescriptorCount(), before);
}

}  // namespace
}  // namespace poller::conformance
