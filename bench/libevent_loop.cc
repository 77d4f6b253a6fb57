// Copyright 2026 The poller Authors.
//
// libevent 2.1 (Debian's libevent-dev) on its epoll backend. Level: EV_PERSIST;
// oneshot: an event without EV_PERSIST, event_add()ed again. The changelist is
// off (libevent's default), so each change is its own epoll_ctl, as in raw.
// Wakes: event_active() on a user event from another thread, which needs the
// base's locks (evthread_use_pthreads); without cross-thread wakes the base is
// made without locks, libevent's fastest mode.

#include <event2/event.h>
#include <event2/thread.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "bench/event_loop.h"

namespace poller_bench {
namespace {

class LibeventLoop final : public EventLoop {
 public:
  LibeventLoop(event_base* base, std::uint32_t capacity)
      : base_(base), slots_(capacity), events_(capacity, nullptr) {
    for (std::uint32_t i = 0; i < capacity; ++i) slots_[i] = {this, i};
    wake_event_ = event_new(base_, -1, 0, &LibeventLoop::OnWake, this);
  }
  ~LibeventLoop() override {
    for (event* registered : events_) {
      if (registered != nullptr) event_free(registered);
    }
    event_free(wake_event_);
    event_base_free(base_);
  }

  bool Add(int fd, std::uint32_t index, Trigger trigger) override {
    event* created =
        event_new(base_, fd,
                  static_cast<short>(
                      EV_READ | (trigger == Trigger::kLevel ? EV_PERSIST : 0)),
                  &LibeventLoop::OnEvent, &slots_[index]);
    if (created == nullptr) return false;
    events_[index] = created;
    return event_add(created, nullptr) == 0;
  }
  bool Rearm(int, std::uint32_t index) override {
    return event_add(events_[index], nullptr) == 0;
  }
  bool ModifyToWritable(int fd, std::uint32_t index) override {
    // libevent has no modify: delete, reassign, add.
    event* registered = events_[index];
    if (event_del(registered) != 0) return false;
    if (event_assign(registered, base_, fd, EV_WRITE, &LibeventLoop::OnEvent,
                     &slots_[index]) != 0) {
      return false;
    }
    return event_add(registered, nullptr) == 0;
  }
  bool Remove(int, std::uint32_t index) override {
    event_free(events_[index]);
    events_[index] = nullptr;
    return true;
  }

  int RunOnce(bool block) override {
    calls_ = 0;
    // EVLOOP_NO_EXIT_ON_EMPTY: a base whose only event is the (never added)
    // wake event would otherwise return at once instead of sleeping.
    if (event_base_loop(base_, block ? EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY
                                     : EVLOOP_ONCE | EVLOOP_NONBLOCK) < 0) {
      return -1;
    }
    return calls_;
  }

  bool Wake() override {
    event_active(wake_event_, EV_READ, 0);
    return true;
  }

 private:
  struct Slot {
    LibeventLoop* loop;
    std::uint32_t index;
  };

  static void OnEvent(evutil_socket_t, short, void* argument) {
    Slot* slot = static_cast<Slot*>(argument);
    ++slot->loop->calls_;
    slot->loop->Dispatch(slot->index);
  }
  static void OnWake(evutil_socket_t, short, void* argument) {
    LibeventLoop* loop = static_cast<LibeventLoop*>(argument);
    ++loop->calls_;
    loop->DispatchWake();
  }

  event_base* const base_;
  std::vector<Slot> slots_;
  std::vector<event*> events_;
  event* wake_event_ = nullptr;
  int calls_ = 0;
};

}  // namespace

std::unique_ptr<EventLoop> NewLibeventLoop(const LoopOptions& options) {
  static std::once_flag threads_once;
  std::call_once(threads_once, [] { evthread_use_pthreads(); });
  event_config* config = event_config_new();
  if (config == nullptr) return nullptr;
  event_config_require_features(config, 0);
  event_config_avoid_method(config, "select");
  event_config_avoid_method(config, "poll");
  if (!options.cross_thread_wake) {
    event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
  }
  event_base* base = event_base_new_with_config(config);
  event_config_free(config);
  if (base == nullptr) return nullptr;
  return std::make_unique<LibeventLoop>(base, options.capacity);
}

}  // namespace poller_bench
