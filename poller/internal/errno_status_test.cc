// Copyright 2026 The poller Authors.

#include "poller/internal/errno_status.h"

#include <cerrno>

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

}  // namespace
}  // namespace poller::internal
