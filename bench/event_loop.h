// Copyright 2026 The poller Authors.
//
// The one interface //bench:compare drives every implementation through: raw
// epoll, each compiled poller backend, libevent, libev, libuv and Boost.Asio.
// Each adapter does the same work in the mode of its library closest to the
// case: a level registration is a persistent event (EV_PERSIST, an ev_io left
// started, a uv_poll left started, an async_wait re-issued by the handler); a
// oneshot one is re-added after each event (EPOLLONESHOT + EPOLL_CTL_MOD, a
// poller Modify, event_add, ev_io_start, uv_poll_start, async_wait).
//
// Not thread-safe except Wake(), which any thread may call.

#ifndef POLLER_BENCH_EVENT_LOOP_H_
#define POLLER_BENCH_EVENT_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace poller_bench {

// Called for each ready registration with the index given to Add.
using Handler = void (*)(void* context, std::uint32_t index);
// Called in the loop's thread once per wake delivered.
using WakeHandler = void (*)(void* context);

enum class Trigger { kLevel, kOneshot };

struct LoopOptions {
  // Indexes passed to Add are below this; adapters size their tables once, so
  // that table growth is not counted as the library's memory.
  std::uint32_t capacity = 16;
  // The loop will be woken from another thread (libevent needs its locks
  // then; the others are always thread-safe for wakes).
  bool cross_thread_wake = false;
};

class EventLoop {
 public:
  virtual ~EventLoop() = default;

  void SetHandler(Handler handler, void* context) {
    handler_ = handler;
    context_ = context;
  }
  void SetWakeHandler(WakeHandler handler, void* context) {
    wake_handler_ = handler;
    wake_context_ = context;
  }

  // Registers `fd` for readability. Returns false on failure.
  virtual bool Add(int fd, std::uint32_t index, Trigger trigger) = 0;
  // Asks again for readability after a oneshot event.
  virtual bool Rearm(int fd, std::uint32_t index) = 0;
  // Changes the registration to ask for writability (oneshot).
  virtual bool ModifyToWritable(int fd, std::uint32_t index) = 0;
  virtual bool Remove(int fd, std::uint32_t index) = 0;
  // One iteration of the loop: waits (without limit if `block`, else not at
  // all) for readiness or a wake and runs the handlers. Returns the number of
  // handler calls plus wakes, or -1 on error.
  virtual int RunOnce(bool block) = 0;
  // Makes a blocking RunOnce on another thread return. Thread-safe.
  virtual bool Wake() = 0;

 protected:
  void Dispatch(std::uint32_t index) { handler_(context_, index); }
  void DispatchWake() {
    if (wake_handler_ != nullptr) wake_handler_(wake_context_);
  }

 private:
  Handler handler_ = [](void*, std::uint32_t) {};
  void* context_ = nullptr;
  WakeHandler wake_handler_ = nullptr;
  void* wake_context_ = nullptr;
};

using LoopFactory =
    std::function<std::unique_ptr<EventLoop>(const LoopOptions& options)>;

struct Implementation {
  std::string name;  // "raw", "poller/epoll", "libevent", ...
  LoopFactory create;
  // Whether the library does the same system calls as the raw loop for a
  // level/oneshot registration (see the README's notes).
  bool is_peer = false;
  // Run only when named in --impls.
  bool on_request = false;
};

// "raw" first, then "poller/<backend>" for every compiled backend, then the
// peers. Each factory returns null if the loop cannot be made here.
std::vector<Implementation> AllImplementations();

std::unique_ptr<EventLoop> NewRawLoop(const LoopOptions& options);
// The raw loop waiting with epoll_pwait2 (what poller's epoll backend calls)
// instead of epoll_wait: a diagnostic, run only when named in --impls.
std::unique_ptr<EventLoop> NewRawPwait2Loop(const LoopOptions& options);
std::unique_ptr<EventLoop> NewRawLoopWith(const LoopOptions& options,
                                          bool pwait2);
std::unique_ptr<EventLoop> NewPollerLoop(const std::string& backend,
                                         const LoopOptions& options);
// poller's epoll backend with OneshotStrategy::kKernel (Linux only).
std::unique_ptr<EventLoop> NewPollerEpollKernelOneshotLoop(
    const LoopOptions& options);
// poller's io_uring backend with Options::deleted_before_close (where io_uring
// is compiled in).
std::unique_ptr<EventLoop> NewPollerIoUringDeletedBeforeCloseLoop(
    const LoopOptions& options);
std::unique_ptr<EventLoop> NewLibeventLoop(const LoopOptions& options);
std::unique_ptr<EventLoop> NewLibevLoop(const LoopOptions& options);
std::unique_ptr<EventLoop> NewLibuvLoop(const LoopOptions& options);
std::unique_ptr<EventLoop> NewAsioLoop(const LoopOptions& options);

}  // namespace poller_bench

#endif  // POLLER_BENCH_EVENT_LOOP_H_
