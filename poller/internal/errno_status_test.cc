// Copyright 2026 The poller Authors.

#include "poller/internal/errno_status.h"

#if defined(_WIN32)
#include <winsock2.h>
// After winsock2.h.
#include <windows.h>
#endif

#include <cerrno>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace poller::internal {
namespace {

using ::testing::HasSubstr;

TEST(ErrnoToStatusCodeTest, MapsEachDocumentedErrno) {
  EXPECT_EQ(ErrnoToStatusCode(EEXIST), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoToStatusCode(ENOENT), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoToStatusCode(EBADF), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoToStatusCode(EINVAL), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoToStatusCode(ELOOP), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoToStatusCode(ENOMEM), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatusCode(ENOSPC), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatusCode(EMFILE), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatusCode(ENFILE), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatusCode(EPERM), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatusCode(EAGAIN), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoToStatusCode(EINTR), absl::StatusCode::kAborted);
  EXPECT_EQ(ErrnoToStatusCode(ENOSYS), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ErrnoToStatusCode(0), absl::StatusCode::kOk);
  EXPECT_EQ(ErrnoToStatusCode(EXDEV), absl::StatusCode::kUnknown);
}

TEST(ErrnoToStatusTest, MessageNamesOperationHandleAndErrno) {
  absl::Status status = ErrnoToStatus(EEXIST, "epoll_ctl(EPOLL_CTL_ADD)", 7);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(),
              HasSubstr("epoll_ctl(EPOLL_CTL_ADD) fd 7: EEXIST ("));
}

TEST(ErrnoToStatusTest, NegativeHandleIsStillNamed) {
  absl::Status status = ErrnoToStatus(EBADF, "epoll_ctl(EPOLL_CTL_ADD)", -1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("fd -1: EBADF"));
}

TEST(ErrnoToStatusTest, WithoutHandle) {
  absl::Status status = ErrnoToStatus(EMFILE, "eventfd");
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("eventfd: EMFILE ("));
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("fd ")));
}

TEST(ErrnoToStatusTest, UnknownErrnoIsNumbered) {
  absl::Status status = ErrnoToStatus(EXDEV, "rename");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown);
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("errno ", EXDEV)));
}

TEST(ErrnoToStatusTest, ExplicitCodeAndExplanation) {
  absl::Status status = ErrnoToStatus(absl::StatusCode::kInvalidArgument, EPERM,
                                      "epoll_ctl(EPOLL_CTL_ADD)", 3,
                                      "regular files cannot be polled");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("fd 3: EPERM (Operation not permitted): regular files "
                        "cannot be polled"));
}

TEST(InOperationTest, PutsTheMethodFirstKeepingTheCode) {
  absl::Status named =
      InOperation("Add", ErrnoToStatus(EEXIST, "epoll_ctl(EPOLL_CTL_ADD)", 7));
  EXPECT_EQ(named.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(named.message(),
            "Add: epoll_ctl(EPOLL_CTL_ADD) fd 7: EEXIST (File exists)");
}

TEST(InOperationTest, NamesTheMethodOfABackendsOwnCheck) {
  const absl::Status own = ErrnoToStatus(absl::StatusCode::kNotFound, ENOENT,
                                         "", 5, "not registered");
  EXPECT_EQ(own.message(),
            "fd 5: ENOENT (No such file or directory): not "
            "registered");
  EXPECT_EQ(InOperation("Delete", own).message(),
            "Delete: fd 5: ENOENT (No such file or directory): not "
            "registered");
}

TEST(InOperationTest, KeepsPayloadsAndOk) {
  absl::Status failed = absl::InternalError("io_uring_enter: EIO");
  failed.SetPayload("poller/test", absl::Cord("kept"));
  const absl::Status named = InOperation("Wait", failed);
  EXPECT_EQ(named.message(), "Wait: io_uring_enter: EIO");
  ASSERT_TRUE(named.GetPayload("poller/test").has_value());
  EXPECT_EQ(*named.GetPayload("poller/test"), "kept");
  EXPECT_TRUE(InOperation("Wait", absl::OkStatus()).ok());
}

#if defined(_WIN32)
// The table in errno_status.cc spells codes as numbers; the names here come
// from the Windows headers, so a wrong number fails.
TEST(WindowsErrorTest, MapsToTheErrnoOfTheSameMeaning) {
  EXPECT_EQ(WindowsErrorToErrno(0), 0);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_INVALID_HANDLE), EBADF);
  EXPECT_EQ(WindowsErrorToErrno(WSAEBADF), EBADF);
  EXPECT_EQ(WindowsErrorToErrno(WSAENOTSOCK), ENOTSOCK);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_INVALID_PARAMETER), EINVAL);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_NOT_ENOUGH_MEMORY), ENOMEM);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_NO_SYSTEM_RESOURCES), ENOMEM);
  EXPECT_EQ(WindowsErrorToErrno(WSAENOBUFS), ENOMEM);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_TOO_MANY_OPEN_FILES), EMFILE);
  EXPECT_EQ(WindowsErrorToErrno(WSAEMFILE), EMFILE);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_ACCESS_DENIED), EACCES);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_NOT_FOUND), ENOENT);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_ALREADY_EXISTS), EEXIST);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_NOT_SUPPORTED), EOPNOTSUPP);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_PROC_NOT_FOUND), ENOSYS);
  EXPECT_EQ(WindowsErrorToErrno(WSAEWOULDBLOCK), EAGAIN);
  EXPECT_EQ(WindowsErrorToErrno(WSAEINTR), EINTR);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_OPERATION_ABORTED), ECANCELED);
  EXPECT_EQ(WindowsErrorToErrno(WAIT_TIMEOUT), ETIMEDOUT);
  EXPECT_EQ(WindowsErrorToErrno(ERROR_MR_MID_NOT_FOUND), EIO)
      << "a code poller never expects";
  EXPECT_EQ(ErrnoToStatusCode(WindowsErrorToErrno(WSAENOTSOCK)),
            absl::StatusCode::kInvalidArgument);
}

TEST(WindowsErrorTest, DescriptionNamesTheCode) {
  EXPECT_EQ(DescribeWindowsError(WSAENOTSOCK),
            "Windows error 10038 (WSAENOTSOCK)");
  EXPECT_EQ(DescribeWindowsError(ERROR_INVALID_HANDLE),
            "Windows error 6 (ERROR_INVALID_HANDLE)");
  EXPECT_EQ(DescribeWindowsError(ERROR_MR_MID_NOT_FOUND), "Windows error 317");
}
#endif  // defined(_WIN32)

}  // namespace
}  // namespace poller::internal
