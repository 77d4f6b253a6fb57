// Copyright 2026 The poller Authors.
//
// What iocp_backend.h promises beyond the conformance suite (whose Windows
// rules cover which handles it takes and what closing a socket without Delete
// does): what a reset and a half-close report, that a failed request is
// retried rather than lost, that a Modify covered by the pending request costs
// no cancellation, and that destroying a poller with requests pending releases
// every handle. Windows only (this project runs it under Wine:
// tools/windows_test.sh).

#include <winsock2.h>
// After winsock2.h.
#include <windows.h>
#include <ws2tcpip.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"
#include "tests/conformance/test_handles.h"

namespace poller {
namespace {

using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::MakeTcpConnection;
using ::poller::testing::OpenDescriptorCount;
using ::poller::testing::Pipe;
using ::poller::testing::ScopedFd;
using ::poller::testing::SocketPair;
using ::poller::testing::WaitOnce;
using ::poller::testing::WriteBytes;
using ::testing::HasSubstr;

constexpr absl::Duration kPrompt = absl::Seconds(5);

std::unique_ptr<Poller> NewPoller() {
  absl::StatusOr<std::unique_ptr<Poller>> created = Poller::Create("iocp");
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

bool Has(Readiness set, Readiness bit) {
  return (set & bit) != Readiness::kNone;
}

// Counts the calls of one name through the fault seam, and fails the next
// `failures` of them with `error`.
struct CallPlan {
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  int error = 0;
  std::string name;
};
CallPlan* plan = nullptr;

int PlannedFault(const char* name) {
  if (plan == nullptr || plan->name != name) return 0;
  ++plan->calls;
  if (plan->failures.load() > 0) {
    --plan->failures;
    return plan->error;
  }
  return 0;
}

class ScopedPlan {
 public:
  ScopedPlan(std::string name, int failures = 0, int error = 0) {
    plan_.name = std::move(name);
    plan_.failures = failures;
    plan_.error = error;
    plan = &plan_;
    internal::SetFaultHookForTesting(&PlannedFault);
  }
  ~ScopedPlan() {
    internal::SetFaultHookForTesting(nullptr);
    plan = nullptr;
  }
  int calls() const { return plan_.calls.load(); }

 private:
  CallPlan plan_;
};

TEST(IocpBackendTest, IsTheDefaultAndHasNoEdgeMode) {
  EXPECT_EQ(Poller::DefaultBackendName(), "iocp");
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  EXPECT_TRUE(poller->SupportsMode(Mode::kOneshot));
  EXPECT_TRUE(poller->SupportsMode(Mode::kLevel));
  EXPECT_TRUE(poller->SupportsMode(Mode::kEdgeOneshot));
  EXPECT_FALSE(poller->SupportsMode(Mode::kEdge));
  Pipe pipe = MakePipe();
  EXPECT_EQ(
      poller->Add(pipe.read_end.get(), 1, Interest::kReadable, Mode::kEdge)
          .code(),
      absl::StatusCode::kUnimplemented);
}

TEST(IocpBackendTest, ResetIsHangUpAndError) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(poller->Add(pair.first.get(), 1, Interest::kReadable).ok());
  // SO_LINGER with a zero timeout: closesocket resets the connection.
  const linger abort_on_close{1, 0};
  ASSERT_EQ(::setsockopt(pair.second.get(), SOL_SOCKET, SO_LINGER,
                         reinterpret_cast<const char*>(&abort_on_close),
                         sizeof(abort_on_close)),
            0);
  pair.second.Reset();
  const Readiness readiness = WaitForToken(*poller, 1);
  EXPECT_TRUE(Has(readiness, Readiness::kHangUp));
  EXPECT_TRUE(Has(readiness, Readiness::kError));
  EXPECT_TRUE(Has(readiness, Readiness::kReadable)) << "a read says why";
}

TEST(IocpBackendTest, HalfCloseIsHangUpOnlyForReadableInterest) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  auto connection = MakeTcpConnection();
  ASSERT_TRUE(
      poller->Add(connection.server.get(), 1, Interest::kWritable).ok());
  EXPECT_EQ(WaitForToken(*poller, 1), Readiness::kWritable);
  ASSERT_EQ(::shutdown(connection.client.get(), SD_SEND), 0);
  ASSERT_TRUE(poller
                  ->Modify(connection.server.get(), 1, Interest::kWritable,
                           Mode::kOneshot)
                  .ok());
  EXPECT_EQ(WaitForToken(*poller, 1), Readiness::kWritable)
      << "the peer's half-close is not asked for by writable interest";
  ASSERT_TRUE(poller
                  ->Modify(connection.server.get(), 1, Interest::kReadable,
                           Mode::kOneshot)
                  .ok());
  EXPECT_EQ(WaitForToken(*poller, 1),
            Readiness::kReadable | Readiness::kHangUp);
}

TEST(IocpBackendTest, AFailedRequestIsReportedByWaitAndRetried) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  Pipe pipe = MakePipe();
  WriteBytes(pipe.write_end.get());
  ASSERT_TRUE(
      poller->Add(pipe.read_end.get(), 5, Interest::kReadable, Mode::kLevel)
          .ok());
  ASSERT_TRUE(Has(WaitForToken(*poller, 5), Readiness::kReadable));
  Events events(8);
  {
    // The level registration's next request is issued by this Wait.
    ScopedPlan fail_once("NtDeviceIoControlFile", 1, ENOMEM);
    absl::StatusOr<size_t> waited = poller->Wait(events, kPrompt);
    EXPECT_EQ(waited.status().code(), absl::StatusCode::kResourceExhausted)
        << waited.status();
    EXPECT_THAT(waited.status().message(), HasSubstr("NtDeviceIoControlFile"));
    EXPECT_THAT(waited.status().message(), HasSubstr("ENOMEM"));
    EXPECT_EQ(fail_once.calls(), 1);
  }
  EXPECT_TRUE(Has(WaitForToken(*poller, 5), Readiness::kReadable))
      << "the next Wait retried the request: nothing is lost";
}

TEST(IocpBackendTest, ModifyCoveredByThePendingRequestCancelsNothing) {
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  SocketPair pair = MakeSocketPair();
  ASSERT_TRUE(poller
                  ->Add(pair.first.get(), 1,
                        Interest::kReadable | Interest::kPriority, Mode::kLevel)
                  .ok());
  {
    ScopedPlan count("NtCancelIoFileEx");
    ASSERT_TRUE(
        poller->Modify(pair.first.get(), 2, Interest::kReadable, Mode::kLevel)
            .ok());
    EXPECT_EQ(count.calls(), 0) << "a narrower interest keeps the request";
    ASSERT_TRUE(
        poller->Modify(pair.first.get(), 3, Interest::kWritable, Mode::kOneshot)
            .ok());
    EXPECT_EQ(count.calls(), 1) << "a wider one cancels it";
  }
  EXPECT_EQ(WaitForToken(*poller, 3), Readiness::kWritable)
      << "the new request is issued once the cancelled one's packet arrives";
}

// The positive control of the conformance rule EveryHandleIsNotInheritable:
// an inheritable handle is listed and seen as inheritable.
TEST(IocpBackendTest, InheritableHandlesAreSeen) {
  HANDLE event = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  ASSERT_NE(event, nullptr);
  const NativeHandle handle = reinterpret_cast<NativeHandle>(event);
  const std::vector<NativeHandle> open = poller::testing::OpenHandles();
  EXPECT_NE(std::find(open.begin(), open.end(), handle), open.end());
  EXPECT_FALSE(poller::testing::IsInheritable(handle));
  ASSERT_TRUE(
      ::SetHandleInformation(event, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
  EXPECT_TRUE(poller::testing::IsInheritable(handle));
  ::CloseHandle(event);
}

TEST(IocpBackendTest, DestroyingWithRequestsPendingReleasesEveryHandle) {
  std::vector<Pipe> pipes;
  for (int i = 0; i < 64; ++i) pipes.push_back(MakePipe());
  const int before = OpenDescriptorCount();
  ASSERT_GT(before, 0);
  for (int round = 0; round < 20; ++round) {
    std::unique_ptr<Poller> poller = NewPoller();
    ASSERT_NE(poller, nullptr);
    for (size_t i = 0; i < pipes.size(); ++i) {
      ASSERT_TRUE(poller
                      ->Add(pipes[i].read_end.get(), i, Interest::kReadable,
                            Mode::kLevel)
                      .ok());
    }
    // Half deleted (their cancelled requests' packets not yet collected),
    // half still pending.
    for (size_t i = 0; i < pipes.size(); i += 2) {
      ASSERT_TRUE(poller->Delete(pipes[i].read_end.get()).ok());
    }
  }
  EXPECT_EQ(OpenDescriptorCount(), before);
  // The sockets themselves are untouched and still work with a new poller.
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  WriteBytes(pipes[3].write_end.get());
  ASSERT_TRUE(
      poller->Add(pipes[3].read_end.get(), 3, Interest::kReadable).ok());
  EXPECT_TRUE(Has(WaitForToken(*poller, 3), Readiness::kReadable));
  DrainBytes(pipes[3].read_end.get());
}

}  // namespace
}  // namespace poller
