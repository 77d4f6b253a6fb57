// Copyright 2026 The poller Authors.
//
// Stress: on a backend instance (tests/backend_under_test.h), threads add,
// modify, delete, close and reopen handles, write to and drain pipes and socket
// pairs, and call Wake, while three threads wait at once. A ledger checks every
// event against the rules of poller.h:
//   - no Wait that starts after Delete (or a Modify that replaced the token)
//     returned reports the old token;
//   - oneshot and edge-oneshot: at most one event per arm (every Add and Modify
//     uses a fresh token; Rearm keeps the token and counts one arm more), and
//     an armed handle that is readable is reported;
//   - edge: an edge (a write that nothing consumed) is reported at least once;
//   - level: a readable handle is reported by every Wait, an empty one by none;
//   - every Wake() makes a waiter return, and Shutdown() releases them all.
// The run is cut into rounds: threads churn for a while, then stop, and the
// main thread settles the ledger (every readiness still owed must arrive, level
// handles are checked exactly) before the next round.
//
// Default: a few seconds per backend. Longer: --stress_seconds=N, e.g.
//   ./bazelw test //tests/stress:stress_test --test_arg=--stress_seconds=120
//       --test_timeout=3600
// (stress_test.cc's main reads the flag; SetStressSeconds).

#include "tests/stress/stress_suite.h"

#if !defined(_WIN32)
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "poller/poller.h"
#include "tests/backend_under_test.h"
#include "tests/conformance/test_handles.h"

namespace poller::stress {
namespace {

using ::poller::testing::DrainBytes;
using ::poller::testing::MakePipe;
using ::poller::testing::MakeSocketPair;
using ::poller::testing::ScopedFd;
using Clock = std::chrono::steady_clock;

// Wall-clock length of one backend's run; SetStressSeconds overrides it.
double stress_seconds = 3.0;

constexpr int kSlots = 48;
constexpr int kStickySlots = 6;  // Never drained: always readable.
constexpr int kWaiters = 3;
constexpr int kMutators = 3;
constexpr size_t kMaxBuffered = 2048;
constexpr auto kRoundLength = std::chrono::milliseconds(250);
// Generous: a loaded 2-core machine under ThreadSanitizer.
constexpr auto kPrompt = std::chrono::seconds(10);
constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
// Spreads tokens over all 64 bits; the low byte stays the slot index.
constexpr Token kTokenMask = 0x5a3c000000000000;

int SlotOf(Token token) {
  return static_cast<int>((token ^ kTokenMask) & 0xff);
}
uint64_t GenerationOf(Token token) { return (token ^ kTokenMask) >> 8; }

// What the ledger knows of one token (one registration arm).
struct TokenRecord {
  Mode mode = Mode::kOneshot;
  // Add or Modify, and each Rearm since (counted before the call, whose
  // event may come before it returns).
  int arms = 1;
  // Ticks taken after Delete (or the Modify that replaced it) returned.
  uint64_t retired_at = kNever;
  int events = 0;
  // Tick taken before the latest write (or the Add/Modify that found data)
  // since the handle was last drained; 0 if none. An edge is owed while this
  // is later than last_event_wait_end.
  uint64_t latest_write = 0;
  // Tick taken after the latest Wait that reported the token returned.
  uint64_t last_event_wait_end = 0;
};

// The ledger. Ticks come from one sequence, so "A's tick < B's tick" means A
// happened before B: a waiter takes a tick before it calls Wait, a mutator
// after Delete returns, and an event for a token is a violation only if its
// Wait's tick is later than the token's retirement tick (poller.h: a Wait
// already in progress may still return an event for a deleted handle).
class Ledger {
 public:
  uint64_t Tick() { return sequence_.fetch_add(1, std::memory_order_seq_cst); }

  // Before Add/Modify with `token`: its events may arrive before the call
  // returns.
  void Issue(Token token, Mode mode) {
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_[token].mode = mode;
  }
  // After Add/Modify returned. `found_data` is the tick taken before the call
  // if the handle held unread data then, else 0: that readiness is owed.
  void Armed(Token token, uint64_t found_data) {
    std::lock_guard<std::mutex> lock(mutex_);
    TokenRecord& record = tokens_[token];
    if (found_data != 0) record.latest_write = found_data;
  }
  // Before Rearm of `token`.
  void IssueRearm(Token token) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++tokens_[token].arms;
  }
  void Retired(Token token) {
    const uint64_t now = Tick();
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_[token].retired_at = now;
  }
  void Wrote(Token token, uint64_t before_write) {
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_[token].latest_write = before_write;
  }
  void Drained(Token token) {
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_[token].latest_write = 0;
  }

  void Record(const Event& event, uint64_t wait_start, uint64_t wait_end,
              const char* who) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = tokens_.find(event.token());
    if (it == tokens_.end()) {
      ViolationLocked(absl::StrCat(who, ": event for token 0x",
                                   absl::Hex(event.token()),
                                   GenerationOf(event.token()) < pruned_below_
                                       ? " that was deleted rounds ago"
                                       : " that was never registered"));
      return;
    }
    TokenRecord& record = it->second;
    if (record.retired_at != kNever && wait_start > record.retired_at) {
      ViolationLocked(absl::StrCat(
          who, ": token 0x", absl::Hex(event.token()), " (",
          ModeName(record.mode),
          ") reported by a Wait that started after its Delete/Modify returned "
          "(wait tick ",
          wait_start, ", retired at tick ", record.retired_at, ")"));
    }
    const Readiness unexpected =
        event.readiness() &
        (Readiness::kWritable | Readiness::kPriority | Readiness::kError);
    if (!event.readable() || unexpected != Readiness::kNone) {
      ViolationLocked(absl::StrCat(
          who, ": token 0x", absl::Hex(event.token()), " has readiness 0x",
          absl::Hex(static_cast<int>(event.readiness())),
          "; only readable data was ever there"));
    }
    ++record.events;
    if (IsOneshot(record.mode) && record.events > record.arms) {
      ViolationLocked(absl::StrCat(who, ": ", ModeName(record.mode),
                                   " token 0x", absl::Hex(event.token()),
                                   " reported ", record.events, " times for ",
                                   record.arms, " arm(s)"));
    }
    record.last_event_wait_end = std::max(record.last_event_wait_end, wait_end);
  }

  // Requires that no thread is using the poller. Forgets retired tokens; an
  // event for one later is still a violation ("deleted rounds ago").
  void Prune(uint64_t next_generation) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      it = it->second.retired_at != kNever ? tokens_.erase(it) : std::next(it);
    }
    pruned_below_ = next_generation;
  }

  TokenRecord Get(Token token) {
    std::lock_guard<std::mutex> lock(mutex_);
    return tokens_[token];
  }

  void Violation(std::string what) {
    std::lock_guard<std::mutex> lock(mutex_);
    ViolationLocked(std::move(what));
  }

  std::vector<std::string> violations() {
    std::lock_guard<std::mutex> lock(mutex_);
    return violations_;
  }
  size_t violation_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return violation_count_;
  }

 private:
  void ViolationLocked(std::string what) {
    ++violation_count_;
    if (violations_.size() < 40) violations_.push_back(std::move(what));
  }

  std::atomic<uint64_t> sequence_{1};
  std::mutex mutex_;
  std::unordered_map<Token, TokenRecord> tokens_;
  uint64_t pruned_below_ = 0;
  std::vector<std::string> violations_;
  size_t violation_count_ = 0;
};

// One handle the threads fight over: the read end of a pipe or a socket pair.
struct Slot {
  std::mutex mutex;
  ScopedFd read_end;
  ScopedFd write_end;
  bool registered = false;
  Token token = 0;
  Mode mode = Mode::kOneshot;
  size_t buffered = 0;  // Bytes written and not drained.
  bool sticky = false;
};

struct Counters {
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> waits{0};
  std::atomic<uint64_t> wakes{0};
  std::atomic<uint64_t> adds{0};
  std::atomic<uint64_t> modifies{0};
  std::atomic<uint64_t> rearms{0};
  std::atomic<uint64_t> deletes{0};
  std::atomic<uint64_t> reopens{0};
  std::atomic<uint64_t> writes{0};
};

// One run of the stress test on one poller.
class StressRun {
 public:
  StressRun(std::unique_ptr<Poller> poller, std::string backend)
      : poller_(std::move(poller)), backend_(std::move(backend)) {
    for (Mode mode :
         {Mode::kOneshot, Mode::kLevel, Mode::kEdge, Mode::kEdgeOneshot}) {
      if (poller_->SupportsMode(mode)) modes_.push_back(mode);
    }
    for (int i = 0; i < kSlots; ++i) {
      slots_.push_back(std::make_unique<Slot>());
      slots_.back()->sticky = i < kStickySlots;
    }
  }

  void Run();

 private:
  Token NewToken(int slot) {
    return ((next_generation_.fetch_add(1) << 8) | static_cast<Token>(slot)) ^
           kTokenMask;
  }

  Mode RandomMode(std::mt19937& random, const Slot& slot) {
    // A handle that is always readable in level mode would make every Wait
    // return at once and hide lost wakes; sticky slots stay out of it.
    for (;;) {
      Mode mode = modes_[random() % modes_.size()];
      if (!(slot.sticky && mode == Mode::kLevel)) return mode;
      if (modes_.size() == 1) return mode;
    }
  }

  // Add and Modify fail once Shutdown() was called: expected at the end.
  bool ShutDownError(const absl::Status& status) const {
    return poller_->is_shut_down() &&
           status.code() == absl::StatusCode::kFailedPrecondition;
  }

  // The slot operations. Each requires slot.mutex held.
  void Open(Slot& slot, int index) {
    if (index % 2 == 0) {
      testing::Pipe pipe = MakePipe();
      slot.read_end = std::move(pipe.read_end);
      slot.write_end = std::move(pipe.write_end);
    } else {
      testing::SocketPair pair = MakeSocketPair();
      slot.read_end = std::move(pair.first);
      slot.write_end = std::move(pair.second);
    }
    slot.buffered = 0;
    if (slot.sticky) Write(slot);
  }

  void Register(Slot& slot, int index, Mode mode) {
    const Token token = NewToken(index);
    ledger_.Issue(token, mode);
    const uint64_t before = ledger_.Tick();
    absl::Status added =
        poller_->Add(slot.read_end.get(), token, Interest::kReadable, mode);
    if (!added.ok()) {
      if (!ShutDownError(added)) {
        ledger_.Violation(
            absl::StrCat("Add slot ", index, ": ", added.ToString()));
      }
      ledger_.Retired(token);
      return;
    }
    ++counters_.adds;
    slot.registered = true;
    slot.token = token;
    slot.mode = mode;
    ledger_.Armed(token, slot.buffered > 0 ? before : 0);
  }

  // Modify with a fresh token: re-arms, and retires the old token.
  void ModifyToFreshToken(Slot& slot, int index, Mode mode) {
    const Token token = NewToken(index);
    ledger_.Issue(token, mode);
    const uint64_t before = ledger_.Tick();
    absl::Status modified =
        poller_->Modify(slot.read_end.get(), token, Interest::kReadable, mode);
    if (!modified.ok()) {
      if (!ShutDownError(modified)) {
        ledger_.Violation(
            absl::StrCat("Modify slot ", index, ": ", modified.ToString()));
      }
      ledger_.Retired(token);
      return;
    }
    ++counters_.modifies;
    ledger_.Retired(slot.token);
    slot.token = token;
    slot.mode = mode;
    ledger_.Armed(token, slot.buffered > 0 ? before : 0);
  }

  // Rearm of a oneshot slot: the same token, one arm more.
  void RearmSameToken(Slot& slot, int index) {
    ledger_.IssueRearm(slot.token);
    const uint64_t before = ledger_.Tick();
    absl::Status rearmed = poller_->Rearm(slot.read_end.get());
    if (rearmed.code() == absl::StatusCode::kUnimplemented) {
      // A backend of the user's own without Rearm: Modify does the same.
      ModifyToFreshToken(slot, index, slot.mode);
      return;
    }
    if (!rearmed.ok()) {
      if (!ShutDownError(rearmed)) {
        ledger_.Violation(
            absl::StrCat("Rearm slot ", index, ": ", rearmed.ToString()));
      }
      return;
    }
    ++counters_.rearms;
    ledger_.Armed(slot.token, slot.buffered > 0 ? before : 0);
  }

  // Re-arms a registered slot: Rearm (oneshot only) or Modify.
  void ReArm(Slot& slot, int index, std::mt19937& random) {
    if (IsOneshot(slot.mode) && random() % 2 == 0) {
      RearmSameToken(slot, index);
    } else {
      ModifyToFreshToken(slot, index, RandomMode(random, slot));
    }
  }

  void Unregister(Slot& slot, int index) {
    absl::Status deleted = poller_->Delete(slot.read_end.get());
    if (!deleted.ok()) {
      ledger_.Violation(
          absl::StrCat("Delete slot ", index, ": ", deleted.ToString()));
    }
    ++counters_.deletes;
    ledger_.Retired(slot.token);
    slot.registered = false;
  }

  void Write(Slot& slot) {
    if (slot.buffered >= kMaxBuffered) return;
    const uint64_t before = ledger_.Tick();
    const char byte = 'x';
#if defined(_WIN32)
    // Windows: the slots are loopback TCP connections (test_handles.h).
    if (::send(slot.write_end.get(), &byte, 1, 0) != 1) {
      ledger_.Violation(absl::StrCat("send: error ", ::WSAGetLastError()));
      return;
    }
#else
    if (::write(slot.write_end.get(), &byte, 1) != 1) {
      ledger_.Violation(absl::StrCat("write: ", std::strerror(errno)));
      return;
    }
#endif
    ++counters_.writes;
    ++slot.buffered;
    if (slot.registered) ledger_.Wrote(slot.token, before);
  }

  void Drain(Slot& slot) {
    if (slot.sticky) return;
    DrainBytes(slot.read_end.get());
    slot.buffered = 0;
    if (slot.registered) ledger_.Drained(slot.token);
  }

  // Delete, close, open new descriptors (very likely with the numbers just
  // closed, or another slot's) and Add them again.
  void Reopen(Slot& slot, int index, std::mt19937& random) {
    if (slot.registered) Unregister(slot, index);
    slot.read_end.Reset();
    slot.write_end.Reset();
    Open(slot, index);
    ++counters_.reopens;
    Register(slot, index, RandomMode(random, slot));
  }

  void MutatorLoop(int id) {
    std::mt19937 random(seed_ + 100 + id);
    while (!round_over_.load(std::memory_order_acquire)) {
      const int index = static_cast<int>(random() % kSlots);
      Slot& slot = *slots_[index];
      std::lock_guard<std::mutex> lock(slot.mutex);
      const int action = static_cast<int>(random() % 100);
      if (action < 40) {
        Write(slot);
      } else if (action < 52) {
        Drain(slot);
      } else if (action < 70) {
        if (slot.registered) {
          ReArm(slot, index, random);
        } else {
          Register(slot, index, RandomMode(random, slot));
        }
      } else if (action < 85) {
        if (slot.registered) {
          Unregister(slot, index);
        } else {
          Register(slot, index, RandomMode(random, slot));
        }
      } else {
        Reopen(slot, index, random);
      }
    }
  }

  // Handles one event as a server would: drain, and re-arm oneshot handles.
  void Handle(const Event& event, std::mt19937& random) {
    const int index = SlotOf(event.token());
    if (index >= kSlots) return;  // The ledger has already complained.
    Slot& slot = *slots_[index];
    std::lock_guard<std::mutex> lock(slot.mutex);
    if (!slot.registered || slot.token != event.token()) return;  // Stale.
    switch (slot.mode) {
      case Mode::kLevel:
        if (random() % 4 != 0) Drain(slot);
        break;
      case Mode::kEdge:
        if (random() % 2 == 0) Drain(slot);
        break;
      case Mode::kOneshot:
      case Mode::kEdgeOneshot:
        if (random() % 2 == 0) Drain(slot);
        if (random() % 4 != 0) ReArm(slot, index, random);
        break;
    }
  }

  void WaiterLoop(int id) {
    std::mt19937 random(seed_ + 200 + id);
    Events events(256);
    const std::string who = absl::StrCat("waiter ", id);
    for (;;) {
      const uint64_t start = ledger_.Tick();
      absl::StatusOr<size_t> count =
          poller_->Wait(events, absl::InfiniteDuration());
      const uint64_t end = ledger_.Tick();
      wait_returns_.fetch_add(1, std::memory_order_acq_rel);
      ++counters_.waits;
      if (!count.ok()) {
        if (count.status().code() != absl::StatusCode::kCancelled ||
            !poller_->is_shut_down()) {
          ledger_.Violation(
              absl::StrCat(who, ": Wait: ", count.status().ToString()));
        }
        break;
      }
      for (const Event& event : events) {
        ++counters_.events;
        ledger_.Record(event, start, end, who.c_str());
      }
      for (const Event& event : events) Handle(event, random);
      if (round_over_.load(std::memory_order_acquire)) break;
    }
    {
      std::lock_guard<std::mutex> lock(exit_mutex_);
      --active_waiters_;
    }
    exit_condition_.notify_all();
  }

  // Every Wake must make a Wait return: the waiters block with no timeout.
  void WakerLoop() {
    std::mt19937 random(seed_ + 300);
    while (!round_over_.load(std::memory_order_acquire)) {
      const uint64_t before = wait_returns_.load(std::memory_order_acquire);
      absl::Status woken = poller_->Wake();
      ++counters_.wakes;
      if (!woken.ok()) {
        ledger_.Violation(absl::StrCat("Wake: ", woken.ToString()));
        continue;
      }
      const auto give_up = Clock::now() + kPrompt;
      while (wait_returns_.load(std::memory_order_acquire) == before) {
        // At the end of a round the waiters leave after their next return,
        // which may be before this wake's: nobody is left to return.
        if (round_over_.load(std::memory_order_acquire)) return;
        if (Clock::now() > give_up) {
          ledger_.Violation("a Wake() made no Wait return within 10 s");
          return;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(random() % 500));
    }
  }

  // Wakes until every waiter thread has left its loop; false if they did not.
  bool StopWaiters() {
    const auto give_up = Clock::now() + kPrompt;
    std::unique_lock<std::mutex> lock(exit_mutex_);
    while (active_waiters_ > 0) {
      lock.unlock();
      absl::Status woken = poller_->Wake();
      if (!woken.ok()) ledger_.Violation("Wake: " + woken.ToString());
      lock.lock();
      exit_condition_.wait_for(lock, std::chrono::milliseconds(2));
      if (Clock::now() > give_up) return active_waiters_ == 0;
    }
    return true;
  }

  // With every thread stopped: every readiness still owed must now be
  // reported, and level handles must be reported by every Wait exactly while
  // readable.
  void Settle(int round) {
    struct Owed {
      int slot;
      Token token;
      Mode mode;
    };
    std::vector<Owed> owed;
    std::map<Token, bool> level_readable;  // Level tokens: readable?
    std::map<Token, int> live;             // Live token -> slot.
    for (int index = 0; index < kSlots; ++index) {
      Slot& slot = *slots_[index];
      std::lock_guard<std::mutex> lock(slot.mutex);
      if (!slot.registered) continue;
      live[slot.token] = index;
      const TokenRecord record = ledger_.Get(slot.token);
      const bool edge_owed = record.latest_write != 0 &&
                             record.latest_write > record.last_event_wait_end;
      bool is_owed = false;
      switch (slot.mode) {
        case Mode::kLevel:
          level_readable[slot.token] = slot.buffered > 0;
          break;
        case Mode::kOneshot:
          is_owed = record.events == 0 && slot.buffered > 0;
          break;
        case Mode::kEdgeOneshot:
          is_owed = record.events == 0 && edge_owed;
          break;
        case Mode::kEdge:
          is_owed = edge_owed;
          break;
      }
      if (is_owed) owed.push_back({index, slot.token, slot.mode});
    }

    Events events(256);
    const auto give_up = Clock::now() + kPrompt;
    // Wait -1 only takes the wake StopWaiters may have left pending, which
    // may end a Wait before it gathers everything on some backends.
    for (int wait = -1; wait < 2 || !owed.empty(); ++wait) {
      if (Clock::now() > give_up) break;
      const uint64_t start = ledger_.Tick();
      absl::StatusOr<size_t> count =
          poller_->Wait(events, absl::Milliseconds(wait < 2 ? 0 : 20));
      const uint64_t end = ledger_.Tick();
      if (!count.ok()) {
        ledger_.Violation("settle: Wait: " + count.status().ToString());
        return;
      }
      std::map<Token, int> seen;
      for (const Event& event : events) {
        ledger_.Record(event, start, end, "settle");
        ++seen[event.token()];
        if (live.count(event.token()) == 0) {
          ledger_.Violation(absl::StrCat("round ", round, ": token 0x",
                                         absl::Hex(event.token()),
                                         " reported while not registered"));
        }
      }
      for (const auto& [token, times] : seen) {
        if (times > 1) {
          ledger_.Violation(absl::StrCat("round ", round, ": token 0x",
                                         absl::Hex(token), " appears ", times,
                                         " times in one Wait"));
        }
      }
      for (const auto& [token, readable] : level_readable) {
        if (wait < 0) break;
        if (readable && seen.count(token) == 0) {
          ledger_.Violation(absl::StrCat(
              "round ", round, ": level token 0x", absl::Hex(token), " (slot ",
              live[token], ") is readable but Wait ", wait,
              " of the settling did not report it"));
        } else if (!readable && seen.count(token) > 0) {
          ledger_.Violation(absl::StrCat(
              "round ", round, ": level token 0x", absl::Hex(token), " (slot ",
              live[token], ") holds no data but was reported"));
        }
      }
      owed.erase(std::remove_if(
                     owed.begin(), owed.end(),
                     [&](const Owed& o) { return seen.count(o.token) > 0; }),
                 owed.end());
    }
    for (const Owed& o : owed) {
      ledger_.Violation(
          absl::StrCat("round ", round, ": ", ModeName(o.mode), " token 0x",
                       absl::Hex(o.token), " (slot ", o.slot,
                       ") owed a readiness that was never reported (10 s)"));
    }
    ledger_.Prune(next_generation_.load());
  }

  std::unique_ptr<Poller> poller_;
  const std::string backend_;
  std::vector<Mode> modes_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Ledger ledger_;
  Counters counters_;
  std::atomic<uint64_t> next_generation_{1};
  std::atomic<bool> round_over_{false};
  std::atomic<uint64_t> wait_returns_{0};
  std::mutex exit_mutex_;
  std::condition_variable exit_condition_;
  int active_waiters_ = 0;
  uint32_t seed_ = 0;
};

void StressRun::Run() {
  ASSERT_FALSE(modes_.empty()) << "rule: every backend supports oneshot";
  seed_ = static_cast<uint32_t>(
      std::chrono::system_clock::now().time_since_epoch().count());
  std::cout << "backend " << backend_ << ", seed " << seed_ << ", "
            << stress_seconds << " s, modes";
  for (Mode mode : modes_) std::cout << " " << ModeName(mode);
  std::cout << std::endl;
  std::mt19937 random(seed_);
  for (int index = 0; index < kSlots; ++index) {
    Slot& slot = *slots_[index];
    std::lock_guard<std::mutex> lock(slot.mutex);
    Open(slot, index);
    Register(slot, index, RandomMode(random, slot));
  }

  const auto end_of_run =
      Clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(stress_seconds * 1000));
  int round = 0;
  bool last_round = false;
  while (!last_round && ledger_.violation_count() == 0) {
    ++round;
    last_round = Clock::now() + kRoundLength >= end_of_run;
    round_over_ = false;
    active_waiters_ = kWaiters;
    std::vector<std::thread> waiters;
    for (int i = 0; i < kWaiters; ++i) {
      waiters.emplace_back([this, i] { WaiterLoop(i); });
    }
    std::vector<std::thread> others;
    for (int i = 0; i < kMutators; ++i) {
      others.emplace_back([this, i] { MutatorLoop(i); });
    }
    others.emplace_back([this] { WakerLoop(); });
    std::this_thread::sleep_for(kRoundLength);

    round_over_ = true;
    for (std::thread& thread : others) thread.join();
    if (last_round) {
      // The end: Shutdown must release every waiter, blocked or not.
      poller_->Shutdown();
      std::unique_lock<std::mutex> lock(exit_mutex_);
      if (!exit_condition_.wait_for(lock, kPrompt,
                                    [this] { return active_waiters_ == 0; })) {
        ledger_.Violation("Shutdown() left waiters blocked for 10 s");
      }
    } else {
      if (!StopWaiters()) {
        ledger_.Violation(
            "waiters did not return after 10 s of Wake() calls (a lost wake)");
        poller_->Shutdown();  // Releases them so the test can end.
      }
    }
    for (std::thread& thread : waiters) thread.join();
    if (!last_round && !poller_->is_shut_down()) Settle(round);
  }

  for (int index = 0; index < kSlots; ++index) {
    Slot& slot = *slots_[index];
    if (slot.registered) Unregister(slot, index);  // Allowed after Shutdown.
  }
  std::cout << backend_ << ": " << round << " rounds, " << counters_.waits
            << " waits, " << counters_.events << " events, " << counters_.wakes
            << " wakes, " << counters_.adds << " adds, " << counters_.modifies
            << " modifies, " << counters_.rearms << " rearms, "
            << counters_.deletes << " deletes, " << counters_.reopens
            << " reopens, " << counters_.writes << " writes" << std::endl;
  EXPECT_GT(counters_.events.load(), 0u);
  EXPECT_EQ(ledger_.violation_count(), 0u)
      << "seed " << seed_ << "; first violations:\n"
      << absl::StrJoin(ledger_.violations(), "\n");
}

}  // namespace

void SetStressSeconds(double seconds) { stress_seconds = seconds; }

TEST_P(StressTest, LedgerHoldsUnderConcurrentChurn) {
  StressRun run(std::move(poller_), backend().name);
  run.Run();
}

}  // namespace poller::stress
