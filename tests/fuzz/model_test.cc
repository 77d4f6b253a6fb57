// Copyright 2026 The poller Authors.
//
// The model must be able to fail: each test runs a program that the real epoll
// backend passes, then the same program on epoll wrapped in a backend with one
// deliberate bug, and expects the model to report the difference.

#include "tests/fuzz/model.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "backends/epoll/epoll_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "poller/core/backend.h"
#include "poller/poller.h"
#include "tests/fuzz/program.h"

namespace poller::fuzz {
namespace {

using ::testing::HasSubstr;

constexpr std::uint8_t kR = 1, kW = 2;
constexpr std::uint8_t kLevel = 1 << 3, kEdge = 2 << 3;
constexpr std::uint8_t kZero = 0, kLong = 2;

enum class Bug {
  kNone,
  kDropsEvents,      // Wait reports nothing.
  kDuplicatesEvent,  // The first event is reported twice.
  kOneshotIsLevel,   // Oneshot registrations are never disarmed.
  kEdgeIsLost,       // Edge registrations are never reported.
  kDeleteIsLenient,  // Delete of an unregistered handle is OK.
  kWrongBits,        // Writable is reported as readable.
  // A poll (zero timeout) waits 5 s. A wake that came before the Wait is then
  // lost: Poller polls, instead of blocking, when it sees one pending (it
  // asks the backend to signal only a Wait that blocks, which a
  // single-threaded program never has: the conformance suite's wake rules
  // cover a Wake that does nothing).
  kLosesWakes,
  kRearmIsIgnored,  // Rearm reports success and re-arms nothing.
};

// Epoll with one bug.
class BuggyBackend final : public Backend {
 public:
  BuggyBackend(std::unique_ptr<Backend> inner, Bug bug)
      : inner_(std::move(inner)), bug_(bug) {}
  absl::string_view name() const override { return inner_->name(); }
  bool SupportsMode(Mode mode) const override {
    return inner_->SupportsMode(mode);
  }
  absl::Status Add(NativeHandle handle, Token token, Interest interest,
                   Mode mode) override {
    return inner_->Add(handle, token, interest, Translate(mode));
  }
  absl::Status Modify(NativeHandle handle, Token token, Interest interest,
                      Mode mode) override {
    return inner_->Modify(handle, token, interest, Translate(mode));
  }
  absl::Status Rearm(NativeHandle handle) override {
    if (bug_ == Bug::kRearmIsIgnored) return absl::OkStatus();
    return inner_->Rearm(handle);
  }
  absl::Status Delete(NativeHandle handle) override {
    absl::Status status = inner_->Delete(handle);
    if (bug_ == Bug::kDeleteIsLenient && absl::IsNotFound(status)) {
      return absl::OkStatus();
    }
    return status;
  }
  absl::StatusOr<WaitResult> Wait(absl::Span<Event> events,
                                  absl::Duration timeout) override {
    if (bug_ == Bug::kLosesWakes && timeout <= absl::ZeroDuration()) {
      timeout = absl::Milliseconds(5100);
    }
    absl::StatusOr<WaitResult> result = inner_->Wait(events, timeout);
    if (!result.ok()) return result;
    if (bug_ == Bug::kDropsEvents) result->count = 0;
    if (bug_ == Bug::kDuplicatesEvent && result->count > 0 &&
        result->count < events.size()) {
      events[result->count++] = events[0];
    }
    if (bug_ == Bug::kWrongBits) {
      for (size_t i = 0; i < result->count; ++i) {
        if (events[i].writable()) {
          events[i] = Event(events[i].token(), Readiness::kReadable);
        }
      }
    }
    return result;
  }
  absl::Status Wake() override { return inner_->Wake(); }

 private:
  Mode Translate(Mode mode) const {
    if (bug_ == Bug::kOneshotIsLevel && mode == Mode::kOneshot) {
      return Mode::kLevel;
    }
    // Edge-oneshot after a first event stays disarmed: never reported.
    if (bug_ == Bug::kEdgeIsLost && mode == Mode::kEdge) {
      return Mode::kEdgeOneshot;
    }
    return mode;
  }

  std::unique_ptr<Backend> inner_;
  Bug bug_;
};

absl::Status Run(Bug bug, const std::vector<std::uint8_t>& program) {
  return RunProgram(
      [bug]() -> absl::StatusOr<std::unique_ptr<Poller>> {
        absl::StatusOr<std::unique_ptr<Backend>> epoll = EpollBackend::Create();
        if (!epoll.ok()) return epoll.status();
        return Poller::FromBackend(
            std::make_unique<BuggyBackend>(*std::move(epoll), bug));
      },
      program);
}

void ExpectCaught(Bug bug, const std::vector<std::uint8_t>& program,
                  absl::string_view message) {
  const absl::Status correct = Run(Bug::kNone, program);
  EXPECT_TRUE(correct.ok()) << correct.message() << "\n"
                            << Disassemble(program);
  const absl::Status buggy = Run(bug, program);
  EXPECT_EQ(buggy.code(), absl::StatusCode::kInternal) << buggy;
  EXPECT_THAT(std::string(buggy.message()), HasSubstr(std::string(message)));
}

TEST(ModelTest, CatchesDroppedEvents) {
  ExpectCaught(Bug::kDropsEvents,
               {kPipe, 0, 0, 0, kAdd, 0, 0, kR | kLevel, kWrite, 1, 0, 0, kWait,
                kZero, 0, 0},
               "must be reported but was not");
}

TEST(ModelTest, CatchesDuplicateEvents) {
  ExpectCaught(
      Bug::kDuplicatesEvent,
      {kSocketPair, 0, 0, 0, kAdd, 0, 0, kW | kLevel, kWait, kZero, 0, 0},
      "reported twice");
}

TEST(ModelTest, CatchesOneshotThatFiresTwice) {
  ExpectCaught(Bug::kOneshotIsLevel,
               {kSocketPair, 0, 0, 0, kAdd, 0, 0, kW, kWait, kZero, 0, 0, kWait,
                kZero, 0, 0},
               "not ready or not armed");
}

TEST(ModelTest, CatchesLostEdge) {
  ExpectCaught(Bug::kEdgeIsLost, {kPipe,  0, 0, 0, kAdd,  0,     0, kR | kEdge,
                                  kWrite, 1, 0, 0, kWait, kZero, 0, 0,
                                  kWrite, 1, 0, 0, kWait, kZero, 0, 0},
               "edge due");
}

TEST(ModelTest, CatchesWrongErrorCode) {
  ExpectCaught(Bug::kDeleteIsLenient, {kPipe, 0, 0, 0, kDelete, 0, 0, 0},
               "expected NOT_FOUND");
}

TEST(ModelTest, CatchesWrongReadiness) {
  ExpectCaught(
      Bug::kWrongBits,
      {kSocketPair, 0, 0, 0, kAdd, 0, 0, kW | kLevel, kWait, kZero, 0, 0},
      "readable without readable interest");
}

TEST(ModelTest, CatchesRearmThatReArmsNothing) {
  ExpectCaught(Bug::kRearmIsIgnored,
               {kSocketPair, 0, 0,      0, kAdd, 0, 0,     kW,    kWait, kZero,
                0,           0, kRearm, 0, 0,    0, kWait, kZero, 0,     0},
               "must be reported but was not");
}

TEST(ModelTest, CatchesLostWake) {
  ExpectCaught(Bug::kLosesWakes, {kWake, 0, 0, 0, kWait, kLong, 0, 0},
               "a wake was pending");
}

}  // namespace
}  // namespace poller::fuzz
