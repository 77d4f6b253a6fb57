// Copyright 2026 The poller Authors.
//
// What iocp_backend.h promises beyond the conformance suite (whose Windows
// rules cover which handles it takes and what closing a socket without Delete
// does): what a reset and a half-close report, that a failed request is
// retried rather than lost, that a Modify covered by the pending request costs
// no cancellation, and that destroying a poller with requests pending releases
// every handle; and, over the kinds of socket (TCP, UDP, TCP over IPv6), that
// a socket reported and then closed without Delete never reports its value's
// next socket under the old token, that Wait(0) sees readiness right after a
// widening change, that a layered provider's broken SIO_BASE_HANDLE falls
// back, that a busy thread never keeps a second one from its events, and how
// requests are spread over helper handles. Windows only (this project runs it
// under Wine: tools/windows_test.sh).

#include <winsock2.h>
// After winsock2.h.
#include <windows.h>
#include <ws2tcpip.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "poller/internal/syscall.h"
#include "poller/poller.h"
#include "tests/conformance/test_handles.h"

namespace poller {
namespace {

using ::poller::testing::DrainBytes;
using ::poller::testing::MakeDatagramSocket;
using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::MakeTcpConnection;
using ::poller::testing::OpenDescriptorCount;
using ::poller::testing::PendingSocketError;
using ::poller::testing::Pipe;
using ::poller::testing::ScopedFd;
using ::poller::testing::SendDatagramTo;
using ::poller::testing::SocketPair;
using ::poller::testing::WaitOnce;
using ::poller::testing::WriteBytes;
using ::testing::HasSubstr;

constexpr absl::Duration kPrompt = absl::Seconds(5);
constexpr std::chrono::seconds kPromptChrono(5);

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
  // A prefix: "WSAIoctl" matches "WSAIoctl(SIO_BASE_HANDLE)".
  if (plan == nullptr ||
      std::strncmp(name, plan->name.c_str(), plan->name.size()) != 0) {
    return 0;
  }
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

// The kinds of socket a rule runs over: a handle to poll, what keeps its
// peer open, and how to make it readable. IOCP-specific (the conformance
// suite's handles are socket pairs on Windows).
struct Kind {
  std::string name;
  ScopedFd polled;
  std::vector<ScopedFd> keep;
  std::function<void()> make_readable;
};

// A connected TCP pair over the loopback of `family`; empty (with `why_not`
// set) if this machine has no such loopback.
bool TcpPair(int family, ScopedFd* server, ScopedFd* client,
             std::string* why_not) {
  sockaddr_storage address{};
  int length = 0;
  if (family == AF_INET6) {
    auto* six = reinterpret_cast<sockaddr_in6*>(&address);
    six->sin6_family = AF_INET6;
    six->sin6_addr = in6addr_loopback;
    length = sizeof(*six);
  } else {
    auto* four = reinterpret_cast<sockaddr_in*>(&address);
    four->sin_family = AF_INET;
    four->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(*four);
  }
  ScopedFd listener(::socket(family, SOCK_STREAM, IPPROTO_TCP));
  if (!listener.valid() ||
      ::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length) !=
          0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address),
                    &length) != 0) {
    *why_not = "no loopback for this address family here: Winsock error " +
               std::to_string(::WSAGetLastError());
    return false;
  }
  ScopedFd connecting(::socket(family, SOCK_STREAM, IPPROTO_TCP));
  EXPECT_EQ(::connect(connecting.get(), reinterpret_cast<sockaddr*>(&address),
                      length),
            0)
      << ::WSAGetLastError();
  ScopedFd accepted(::accept(listener.get(), nullptr, nullptr));
  EXPECT_TRUE(accepted.valid()) << ::WSAGetLastError();
  u_long non_blocking = 1;
  ::ioctlsocket(accepted.get(), FIONBIO, &non_blocking);
  ::ioctlsocket(connecting.get(), FIONBIO, &non_blocking);
  *server = std::move(accepted);
  *client = std::move(connecting);
  return server->valid() && client->valid();
}

// Makes every kind; a kind this machine cannot make is named in `missing`.
std::vector<Kind> MakeKinds(std::vector<std::string>* missing) {
  std::vector<Kind> kinds;
  for (int family : {AF_INET, AF_INET6}) {
    Kind kind;
    kind.name = family == AF_INET ? "TCP" : "TCP over IPv6";
    ScopedFd client;
    std::string why_not;
    if (!TcpPair(family, &kind.polled, &client, &why_not)) {
      missing->push_back(kind.name + ": " + why_not);
      continue;
    }
    const NativeHandle peer = client.get();
    kind.make_readable = [peer] { WriteBytes(peer); };
    kind.keep.push_back(std::move(client));
    kinds.push_back(std::move(kind));
  }
  Kind udp;
  udp.name = "UDP";
  udp.polled = MakeDatagramSocket();
  const NativeHandle socket = udp.polled.get();
  udp.make_readable = [socket] { SendDatagramTo(socket); };
  kinds.push_back(std::move(udp));
  return kinds;
}

// Waits (up to kPrompt) until `socket` has bytes to read, so that a rule about
// readiness that is already there does not race the loopback.
void AwaitBytes(NativeHandle socket) {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  u_long available = 0;
  while (::ioctlsocket(socket, FIONREAD, &available) == 0 && available == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    ::Sleep(1);
  }
  ASSERT_GT(available, 0u) << "the loopback never delivered";
}

// A ready UDP socket whose value is `value`, or an empty one (with the reason
// in `why_not`): sockets are made until one gets it (Windows, and Wine, give
// a closed SOCKET's value out again soon); the misses stay open in `missed`.
ScopedFd ReadySocketWithValue(NativeHandle value, std::vector<ScopedFd>* missed,
                              std::string* why_not) {
  for (int attempt = 0; attempt < 128; ++attempt) {
    ScopedFd socket = MakeDatagramSocket();
    if (socket.get() == value) {
      SendDatagramTo(socket.get());
      AwaitBytes(socket.get());
      return socket;
    }
    missed->push_back(std::move(socket));
  }
  *why_not = "128 new sockets never got the closed value back";
  return ScopedFd();
}

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

TEST(IocpBackendTest, ResetIsHangUpWithAnErrorOnlyIfSoErrorHasOne) {
  // AFD_POLL_ABORT: Readiness::kError promises an error getsockopt(SO_ERROR)
  // returns, and after a reset Windows keeps none there (the next recv fails
  // with WSAECONNRESET), so a reset is hang-up and readable, as mio and wepoll
  // report it.
  for (Interest interest : {Interest::kReadable, Interest::kWritable}) {
    SCOPED_TRACE(interest == Interest::kReadable ? "readable" : "writable");
    std::unique_ptr<Poller> poller = NewPoller();
    ASSERT_NE(poller, nullptr);
    SocketPair pair = MakeSocketPair();
    ASSERT_TRUE(
        poller->Add(pair.first.get(), 1, interest, Mode::kOneshot).ok());
    if (interest == Interest::kWritable) {
      // Writable at once; the reset is seen by the re-armed request.
      ASSERT_EQ(WaitForToken(*poller, 1), Readiness::kWritable);
    }
    // SO_LINGER with a zero timeout: closesocket resets the connection.
    const linger abort_on_close{1, 0};
    ASSERT_EQ(::setsockopt(pair.second.get(), SOL_SOCKET, SO_LINGER,
                           reinterpret_cast<const char*>(&abort_on_close),
                           sizeof(abort_on_close)),
              0);
    pair.second.Reset();
    // Let the reset arrive before the request is re-armed.
    ::Sleep(50);
    if (interest == Interest::kWritable) {
      ASSERT_TRUE(poller->Rearm(pair.first.get()).ok());
    }
    const Readiness readiness = WaitForToken(*poller, 1);
    const int pending_error = PendingSocketError(pair.first.get());
    std::printf("after a reset: readiness bits 0x%x, SO_ERROR %d\n",
                static_cast<unsigned>(readiness), pending_error);
    EXPECT_TRUE(Has(readiness, Readiness::kHangUp));
    EXPECT_EQ(Has(readiness, Readiness::kError), pending_error != 0)
        << "kError is reported exactly when SO_ERROR holds an error";
    EXPECT_TRUE(Has(readiness, interest == Interest::kReadable
                                   ? Readiness::kReadable
                                   : Readiness::kWritable))
        << "the next call says why";
  }
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

TEST(IocpBackendTest,
     ReportedThenClosedThenReusedIsNotReportedUnderTheOldToken) {
  // Made ready, reported, closed without Delete, its value reused by a new
  // ready socket: nothing under the old token, and Add of the new socket
  // succeeds, at once or after Waits. Every kind, both modes that hold a
  // registration after a report.
  std::vector<std::string> missing;
  for (bool add_at_once : {true, false}) {
    for (Mode mode : {Mode::kLevel, Mode::kOneshot}) {
      std::vector<Kind> kinds = MakeKinds(&missing);
      for (Kind& kind : kinds) {
        SCOPED_TRACE(kind.name + ", " + std::string(ModeName(mode)) +
                     (add_at_once ? ", added at once" : ", Waits first"));
        std::unique_ptr<Poller> poller = NewPoller();
        ASSERT_NE(poller, nullptr);
        const NativeHandle value = kind.polled.get();
        kind.make_readable();
        ASSERT_TRUE(poller->Add(value, 1, Interest::kReadable, mode).ok());
        ASSERT_TRUE(Has(WaitForToken(*poller, 1), Readiness::kReadable));
        kind.polled.Reset();  // Closed without Delete.
        std::vector<ScopedFd> missed;
        std::string why_not;
        ScopedFd reused = ReadySocketWithValue(value, &missed, &why_not);
        if (!reused.valid()) {
          ADD_FAILURE() << why_not;
          continue;
        }
        Events events(16);
        if (!add_at_once) {
          for (int i = 0; i < 3; ++i) {
            auto seen = WaitOnce(*poller, events, absl::Milliseconds(50));
            ASSERT_TRUE(seen.ok()) << seen.status();
            EXPECT_EQ(seen->count(1), 0u) << "the new socket, old token";
          }
        }
        absl::Status added = poller->Add(value, 2, Interest::kReadable);
        ASSERT_TRUE(added.ok()) << added;
        // Positive control: the new socket, under its own token, is reported.
        bool new_seen = false;
        for (int i = 0; i < 3; ++i) {
          auto seen = WaitOnce(*poller, events, absl::Milliseconds(50));
          ASSERT_TRUE(seen.ok()) << seen.status();
          EXPECT_EQ(seen->count(1), 0u) << "the new socket, old token";
          new_seen = new_seen || seen->count(2) > 0;
        }
        EXPECT_TRUE(new_seen);
        EXPECT_TRUE(poller->Delete(value).ok());
      }
    }
  }
  // Every kind ran, or the test says which could not.
  for (const std::string& why : missing) ADD_FAILURE() << why;
}

TEST(IocpBackendTest, ModifyOfAReusedValueReportsNothingUnderEitherToken) {
  // A program that closed a reported level socket without Delete and then
  // calls Modify with its value (which a new socket now has): whatever Modify
  // says, neither token reports the new socket, which Add then takes.
  std::vector<std::string> missing;
  for (Kind& kind : MakeKinds(&missing)) {
    SCOPED_TRACE(kind.name);
    std::unique_ptr<Poller> poller = NewPoller();
    ASSERT_NE(poller, nullptr);
    const NativeHandle value = kind.polled.get();
    kind.make_readable();
    ASSERT_TRUE(poller->Add(value, 1, Interest::kReadable, Mode::kLevel).ok());
    ASSERT_TRUE(Has(WaitForToken(*poller, 1), Readiness::kReadable));
    kind.polled.Reset();
    std::vector<ScopedFd> missed;
    std::string why_not;
    ScopedFd reused = ReadySocketWithValue(value, &missed, &why_not);
    ASSERT_TRUE(reused.valid()) << why_not;
    const absl::Status modified =
        poller->Modify(value, 3, Interest::kReadable, Mode::kLevel);
    EXPECT_TRUE(modified.ok() || absl::IsNotFound(modified)) << modified;
    Events events(16);
    for (int i = 0; i < 3; ++i) {
      auto seen = WaitOnce(*poller, events, absl::Milliseconds(50));
      ASSERT_TRUE(seen.ok()) << seen.status();
      EXPECT_EQ(seen->count(1) + seen->count(3), 0u);
    }
    ASSERT_TRUE(poller->Add(value, 4, Interest::kReadable).ok());
    EXPECT_TRUE(Has(WaitForToken(*poller, 4), Readiness::kReadable))
        << "control: the new socket was ready all along";
  }
  for (const std::string& why : missing) ADD_FAILURE() << why;
}

TEST(IocpBackendTest, WaitZeroSeesReadinessRightAfterAWideningChange) {
  // "Reported by the next Wait" holds for Wait(0) too: the change cancels the
  // pending request, and the same Wait issues the new one and looks again.
  std::vector<std::string> missing;
  for (Kind& kind : MakeKinds(&missing)) {
    SCOPED_TRACE(kind.name);
    std::unique_ptr<Poller> poller = NewPoller();
    ASSERT_NE(poller, nullptr);
    const NativeHandle socket = kind.polled.get();
    // Pending, asking only for urgent data, which never comes.
    ASSERT_TRUE(poller->Add(socket, 1, Interest::kPriority, Mode::kLevel).ok());
    kind.make_readable();
    AwaitBytes(socket);
    Events events(16);
    auto before = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(before.ok()) << before.status();
    EXPECT_EQ(before->count(1), 0u) << "control: no urgent data";
    ASSERT_TRUE(poller
                    ->Modify(socket, 2,
                             Interest::kReadable | Interest::kPriority,
                             Mode::kLevel)
                    .ok());
    auto seen = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(seen.ok()) << seen.status();
    ASSERT_EQ(seen->count(2), 1u) << "Wait(0) right after the Modify";
    EXPECT_TRUE(Has(seen->at(2), Readiness::kReadable));
    // And after Rearm of a oneshot registration that fired.
    ASSERT_TRUE(
        poller->Modify(socket, 3, Interest::kReadable, Mode::kOneshot).ok());
    EXPECT_TRUE(Has(WaitForToken(*poller, 3), Readiness::kReadable));
    ASSERT_TRUE(poller->Rearm(socket).ok());
    seen = WaitOnce(*poller, events, absl::ZeroDuration());
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_EQ(seen->count(3), 1u) << "Wait(0) right after the Rearm";
  }
  for (const std::string& why : missing) ADD_FAILURE() << why;
}

TEST(IocpBackendTest, BaseHandleFailureFallsBackToTheProviderHandle) {
  // A layered provider that breaks SIO_BASE_HANDLE (WSAEFAULT, WSAEINVAL):
  // Add falls back to SIO_BSP_HANDLE_POLL/SELECT; only WSAENOTSOCK means the
  // handle is not a socket.
  for (int error : {EINVAL, EFAULT}) {
    SCOPED_TRACE(std::strerror(error));
    std::unique_ptr<Poller> poller = NewPoller();
    ASSERT_NE(poller, nullptr);
    ScopedFd socket = MakeDatagramSocket();
    {
      ScopedPlan fail_base("WSAIoctl", 1, error);
      absl::Status added =
          poller->Add(socket.get(), 1, Interest::kReadable, Mode::kLevel);
      ASSERT_TRUE(added.ok()) << added;
      EXPECT_GE(fail_base.calls(), 2) << "the fallback was asked";
    }
    SendDatagramTo(socket.get());
    EXPECT_TRUE(Has(WaitForToken(*poller, 1), Readiness::kReadable));
  }
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  ScopedFd socket = MakeDatagramSocket();
  ScopedPlan not_a_socket("WSAIoctl", 1, ENOTSOCK);
  const absl::Status added = poller->Add(socket.get(), 1, Interest::kReadable);
  EXPECT_EQ(added.code(), absl::StatusCode::kInvalidArgument) << added;
  EXPECT_THAT(added.message(), HasSubstr("not an open socket"));
  EXPECT_EQ(not_a_socket.calls(), 1) << "no fallback for WSAENOTSOCK";
}

TEST(IocpBackendTest, ASecondThreadIsWokenWhileTheFirstIsBusy) {
  // Thread A returns from Wait with an event and keeps running; thread B's
  // Wait must still get a ready socket and a Wake. A completion port whose
  // concurrency limit A's running thread fills releases no other waiter:
  // this is why the backend creates its port with no limit. Wine ignores the
  // limit, so under Wine this rule cannot fail; it states the requirement for
  // Windows.
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  SocketPair first = MakeSocketPair();
  SocketPair second = MakeSocketPair();
  WriteBytes(first.second.get());
  ASSERT_TRUE(poller->Add(first.first.get(), 1, Interest::kReadable).ok());
  std::atomic<bool> a_returned{false};
  std::atomic<bool> done{false};
  std::thread a([&] {
    Events events(4);
    auto seen = WaitOnce(*poller, events, kPrompt);
    EXPECT_TRUE(seen.ok() && seen->count(1) == 1) << "A's event";
    a_returned = true;
    // Busy, as a thread handling its events is, for at most 20 s.
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done && std::chrono::steady_clock::now() < give_up) {
    }
  });
  const auto give_up = std::chrono::steady_clock::now() + kPromptChrono;
  while (!a_returned && std::chrono::steady_clock::now() < give_up) ::Sleep(1);
  EXPECT_TRUE(a_returned.load());
  // B: a socket made ready after A returned.
  ASSERT_TRUE(poller->Add(second.first.get(), 2, Interest::kReadable).ok());
  WriteBytes(second.second.get());
  EXPECT_TRUE(Has(WaitForToken(*poller, 2), Readiness::kReadable));
  // B: a Wake.
  std::thread waker([&] {
    ::Sleep(50);
    EXPECT_TRUE(poller->Wake().ok());
  });
  Events events(4);
  const auto start = std::chrono::steady_clock::now();
  auto woken = poller->Wait(events, absl::Seconds(10));
  const auto took = std::chrono::steady_clock::now() - start;
  waker.join();
  ASSERT_TRUE(woken.ok()) << woken.status();
  EXPECT_LT(took, std::chrono::seconds(5)) << "B's Wait missed the Wake";
  done = true;
  a.join();
}

TEST(IocpBackendTest, HelperHandlesHoldAtMost32Registrations) {
  // A cancel walks the requests pending on its helper handle: registrations
  // are spread over helpers of 32, so it costs the same at any scale.
  std::vector<ScopedFd> sockets;
  for (int i = 0; i < 65; ++i) sockets.push_back(MakeDatagramSocket());
  std::unique_ptr<Poller> poller = NewPoller();
  ASSERT_NE(poller, nullptr);
  const int with_one_helper = OpenDescriptorCount();
  ASSERT_GT(with_one_helper, 0);
  for (int i = 0; i < 32; ++i) {
    ASSERT_TRUE(poller->Add(sockets[i].get(), i, Interest::kReadable).ok());
  }
  EXPECT_EQ(OpenDescriptorCount(), with_one_helper) << "32 on the first";
  ASSERT_TRUE(poller->Add(sockets[32].get(), 32, Interest::kReadable).ok());
  EXPECT_EQ(OpenDescriptorCount(), with_one_helper + 1) << "the 33rd: a second";
  for (int i = 33; i < 65; ++i) {
    ASSERT_TRUE(poller->Add(sockets[i].get(), i, Interest::kReadable).ok());
  }
  EXPECT_EQ(OpenDescriptorCount(), with_one_helper + 2) << "65: three";
  // Every registration still reports, through whichever helper.
  for (int i = 0; i < 65; ++i) SendDatagramTo(sockets[i].get());
  std::vector<bool> seen(65, false);
  Events ready(128);
  const auto give_up = std::chrono::steady_clock::now() + kPromptChrono;
  while (std::count(seen.begin(), seen.end(), true) < 65 &&
         std::chrono::steady_clock::now() < give_up) {
    auto batch = WaitOnce(*poller, ready, absl::Milliseconds(100));
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (const auto& [token, readiness] : *batch) {
      if (token < 65 && Has(readiness, Readiness::kReadable))
        seen[token] = true;
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 65);
  // Emptied helpers close (their registrations' packets collected by a Wait).
  for (int i = 0; i < 65; ++i)
    ASSERT_TRUE(poller->Delete(sockets[i].get()).ok());
  Events events(128);
  ASSERT_TRUE(WaitOnce(*poller, events, absl::Milliseconds(100)).ok());
  EXPECT_EQ(OpenDescriptorCount(), with_one_helper) << "one helper stays open";
}

// The names of the calls made through the seam, in order (plain arrays: no
// thread_local with a destructor in a static MinGW program).
constexpr int kRecorded = 32;
const char* recorded_names[kRecorded];
std::atomic<int> recorded{0};
int Record(const char* name) {
  const int i = recorded.fetch_add(1);
  if (i < kRecorded) recorded_names[i] = name;
  return 0;
}

TEST(IocpBackendTest, DeleteThenAddAtOnceNeverHasTwoRequestsOnTheSocket) {
  // Windows mixes up the completions of two poll requests on one socket: an
  // Add right after Delete must not issue while the deleted registration's
  // cancelled request is unaccounted for (its packet is taken first).
  std::vector<std::string> missing;
  for (Kind& kind : MakeKinds(&missing)) {
    SCOPED_TRACE(kind.name);
    std::unique_ptr<Poller> poller = NewPoller();
    ASSERT_NE(poller, nullptr);
    const NativeHandle socket = kind.polled.get();
    ASSERT_TRUE(poller->Add(socket, 1, Interest::kReadable, Mode::kLevel).ok());
    ASSERT_TRUE(poller->Delete(socket).ok());
    // The order of calls: the cancelled packet taken off the port before
    // the new request goes out (or the request left to the Wait that does).
    recorded = 0;
    internal::SetFaultHookForTesting(&Record);
    const absl::Status added =
        poller->Add(socket, 2, Interest::kReadable, Mode::kLevel);
    internal::SetFaultHookForTesting(nullptr);
    ASSERT_TRUE(added.ok()) << added;
    int taken = -1;
    int issued = -1;
    for (int i = 0; i < std::min(recorded.load(), kRecorded); ++i) {
      const std::string name = recorded_names[i];
      if (taken < 0 && name == "GetQueuedCompletionStatusEx") taken = i;
      if (issued < 0 && name == "NtDeviceIoControlFile") issued = i;
    }
    EXPECT_TRUE(issued < 0 || (taken >= 0 && taken < issued))
        << "the new request went out beside the cancelled one";
    kind.make_readable();
    EXPECT_TRUE(Has(WaitForToken(*poller, 2), Readiness::kReadable));
    Events events(16);
    auto seen = WaitOnce(*poller, events, absl::Milliseconds(50));
    ASSERT_TRUE(seen.ok());
    EXPECT_EQ(seen->count(1), 0u);
  }
  for (const std::string& why : missing) ADD_FAILURE() << why;
}

}  // namespace
}  // namespace poller
