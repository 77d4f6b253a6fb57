// Copyright 2026 The poller Authors.
//
// Conformance rules for the errors of Add, Modify and Delete: each bad input
// gets its documented code.
//
// Promises: poller/poller.h: Add, Modify, Delete;
// poller/core/types.h: kReservedToken, Interest.

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/conformance/rules.h"
#include "tests/conformance/test_handles.h"

namespace poller::conformance {
namespace {

using ::poller::testing::MakePipe;
using ::poller::testing::Pipe;
using ::poller::testing::ScopedFd;
using ::testing::HasSubstr;

TEST_P(ConformanceTest, AddTwiceIsAlreadyExists) {
  RULE("adding a handle twice is AlreadyExists, naming the handle");
  Pipe pipe = MakePipe();
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 31, Interest::kReadable).ok());
  absl::Status again =
      poller_->Add(pipe.read_end.get(), 32, Interest::kReadable);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_THAT(again.message(),
              HasSubstr(absl::StrCat("fd ", pipe.read_end.get())));
}

TEST_P(ConformanceTest, ModifyUnregisteredIsNotFound) {
  RULE("modifying a handle that is not registered is NotFound");
  Pipe pipe = MakePipe();
  absl::Status status = poller_->Modify(pipe.read_end.get(), 33,
                                        Interest::kReadable, Mode::kOneshot);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("fd ", pipe.read_end.get())));
}

TEST_P(ConformanceTest, DeleteUnregisteredIsNotFound) {
  RULE("deleting a handle that is not registered is NotFound");
  Pipe pipe = MakePipe();
  absl::Status status = poller_->Delete(pipe.read_end.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 34, Interest::kReadable).ok());
  ASSERT_TRUE(poller_->Delete(pipe.read_end.get()).ok());
  EXPECT_EQ(poller_->Delete(pipe.read_end.get()).code(),
            absl::StatusCode::kNotFound)
      << "deleting twice";
}

TEST_P(ConformanceTest, ClosedHandleIsInvalidArgument) {
  RULE("a closed or invalid handle is InvalidArgument");
  int closed_fd;
  {
    Pipe pipe = MakePipe();
    closed_fd = pipe.read_end.get();
  }
  absl::Status status = poller_->Add(closed_fd, 35, Interest::kReadable);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("fd ", closed_fd)));
  EXPECT_EQ(poller_->Add(-1, 36, Interest::kReadable).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(poller_->Modify(-1, 36, Interest::kReadable, Mode::kOneshot).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(poller_->Delete(-1).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(ConformanceTest, RegularFileIsInvalidArgument) {
  RULE("a handle the backend cannot poll (a regular file) is InvalidArgument");
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  absl::Status status =
      poller_->Add(poller::testing::FileHandle(file), 37, Interest::kReadable);
  std::fclose(file);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("poll"));
}

#if defined(O_PATH)
TEST_P(ConformanceTest, PathOnlyDescriptorIsInvalidArgument) {
  RULE(
      "an O_PATH descriptor, which no kernel can poll, is InvalidArgument "
      "even when it names a pipe");
  Pipe pipe = MakePipe();
  const std::string path = absl::StrCat("/proc/self/fd/", pipe.read_end.get());
  ScopedFd path_only(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!path_only.valid()) GTEST_SKIP() << "no /proc here to reopen a pipe";
  absl::Status status = poller_->Add(path_only.get(), 38, Interest::kReadable);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("fd ", path_only.get())));
  // Positive control: the pipe itself can be added.
  EXPECT_TRUE(poller_->Add(pipe.read_end.get(), 39, Interest::kReadable).ok());
}
#endif

TEST_P(ConformanceTest, ErrorMessagesStartWithTheMethod) {
  RULE(
      "every error message starts with the Poller method that failed, and "
      "names it once, whether the policy layer, the backend's own check or a "
      "system call refused it");
  Pipe pipe = MakePipe();
  const NativeHandle handle = pipe.read_end.get();
  auto starts_with = [](const absl::Status& status, absl::string_view method) {
    EXPECT_FALSE(status.ok()) << method;
    const std::string prefix = absl::StrCat(method, ": ");
    EXPECT_TRUE(absl::StartsWith(status.message(), prefix))
        << "expected a message starting with \"" << prefix << "\": " << status;
    EXPECT_FALSE(absl::StrContains(status.message().substr(prefix.size()),
                                   absl::StrCat(method, " fd")))
        << "the method is named twice: " << status;
  };
  starts_with(poller_->Modify(handle, 40, Interest::kReadable, Mode::kOneshot),
              "Modify");
  starts_with(poller_->Delete(handle), "Delete");
  starts_with(poller_->Rearm(handle), "Rearm");
  starts_with(poller_->Add(handle, kReservedToken, Interest::kReadable), "Add");
  starts_with(poller_->Add(-1, 41, Interest::kReadable), "Add");
  starts_with(poller_->Modify(-1, 41, Interest::kReadable, Mode::kLevel),
              "Modify");
  starts_with(poller_->Delete(-1), "Delete");
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  starts_with(
      poller_->Add(poller::testing::FileHandle(file), 42, Interest::kReadable),
      "Add");
  std::fclose(file);
  ASSERT_TRUE(poller_->Add(handle, 43, Interest::kReadable).ok());
  starts_with(poller_->Add(handle, 44, Interest::kReadable), "Add");
  ASSERT_TRUE(poller_->Delete(handle).ok());
}

TEST_P(ConformanceTest, ReservedTokenIsInvalidArgument) {
  RULE("the reserved token is InvalidArgument for Add and Modify");
  Pipe pipe = MakePipe();
  EXPECT_EQ(
      poller_->Add(pipe.read_end.get(), kReservedToken, Interest::kReadable)
          .code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(poller_->Add(pipe.read_end.get(), 38, Interest::kReadable).ok());
  EXPECT_EQ(poller_
                ->Modify(pipe.read_end.get(), kReservedToken,
                         Interest::kReadable, Mode::kOneshot)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(ConformanceTest, UnknownInterestBitsAreInvalidArgument) {
  RULE("interest bits outside the enum are InvalidArgument");
  Pipe pipe = MakePipe();
  EXPECT_EQ(poller_
                ->Add(pipe.read_end.get(), 39, static_cast<Interest>(0x80),
                      Mode::kOneshot)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(poller_
                ->Add(pipe.read_end.get(), 39, Interest::kReadable,
                      static_cast<Mode>(42))
                .code(),
            absl::StatusCode::kInvalidArgument);
}

#if defined(_WIN32)
TEST_P(ConformanceTest, OnWindowsOnlySocketsCanBeAdded) {
  RULE(
      "Windows: a NativeHandle is a SOCKET (poller/core/types.h); a file or "
      "a C runtime descriptor is InvalidArgument, naming the Windows error");
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  const absl::Status added =
      poller_->Add(poller::testing::FileHandle(file), 1, Interest::kReadable);
  std::fclose(file);
  EXPECT_EQ(added.code(), absl::StatusCode::kInvalidArgument) << added;
  EXPECT_THAT(added.message(), HasSubstr("sockets only"));
  EXPECT_THAT(added.message(), HasSubstr("Windows error"));
  EXPECT_EQ(poller_->Add(0, 2, Interest::kReadable).code(),
            absl::StatusCode::kInvalidArgument)
      << "descriptor 0 of the C runtime";
  // Positive control: a socket is added.
  Pipe pipe = MakePipe();
  EXPECT_TRUE(poller_->Add(pipe.read_end.get(), 3, Interest::kReadable).ok());
}

SKIPPED_ON_WINDOWS(OutOfDescriptorsIsResourceExhausted,
                   "no fork() and no descriptor limit to lower");
#else
TEST_P(ConformanceTest, OutOfDescriptorsIsResourceExhausted) {
  RULE("creating a poller with no descriptors left is ResourceExhausted");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // In the child: allow no more descriptors than are open now.
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    int highest = 0;
    for (int fd = 0; fd < 4096; ++fd) {
      if (::fcntl(fd, F_GETFD) != -1) highest = fd;
    }
    limit.rlim_cur = static_cast<rlim_t>(highest + 1);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    auto created = GetParam().factory();
    ::_exit(created.status().code() == absl::StatusCode::kResourceExhausted
                ? 0
                : 10 + static_cast<int>(created.status().code()));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "child got status code " << WEXITSTATUS(status) - 10;
}
#endif

}  // namespace
}  // namespace poller::conformance
