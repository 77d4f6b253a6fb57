// Copyright 2026 The poller Authors.
//
// libev 4.33 (Debian's libev-dev) on EVBACKEND_EPOLL. Level: an ev_io left
// started; oneshot: the callback stops the watcher and Rearm starts it again
// (libev has no oneshot mode). libev applies watcher changes to the kernel at
// its next iteration (fd_reify), not at the call. Wakes: an ev_async.

#include <ev.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/event_loop.h"

namespace poller_bench {
namespace {

class LibevLoop final : public EventLoop {
 public:
  LibevLoop(struct ev_loop* loop, std::uint32_t capacity)
      : loop_(loop), watchers_(capacity), oneshot_(capacity, false) {
    ev_async_init(&wake_, &LibevLoop::OnWake);
    wake_.data = this;
    ev_async_start(loop_, &wake_);
  }
  ~LibevLoop() override {
    for (std::unique_ptr<Watcher>& watcher : watchers_) {
      if (watcher != nullptr) ev_io_stop(loop_, &watcher->io);
    }
    ev_async_stop(loop_, &wake_);
    ev_loop_destroy(loop_);
  }

  bool Add(int fd, std::uint32_t index, Trigger trigger) override {
    watchers_[index] = std::make_unique<Watcher>();
    Watcher& watcher = *watchers_[index];
    watcher.loop = this;
    watcher.index = index;
    oneshot_[index] = trigger == Trigger::kOneshot;
    ev_io_init(&watcher.io, &LibevLoop::OnEvent, fd, EV_READ);
    ev_io_start(loop_, &watcher.io);
    return true;
  }
  bool Rearm(int, std::uint32_t index) override {
    ev_io_start(loop_, &watchers_[index]->io);
    return true;
  }
  bool ModifyToWritable(int fd, std::uint32_t index) override {
    Watcher& watcher = *watchers_[index];
    ev_io_stop(loop_, &watcher.io);
    ev_io_set(&watcher.io, fd, EV_WRITE);
    oneshot_[index] = true;
    ev_io_start(loop_, &watcher.io);
    return true;
  }
  bool Remove(int, std::uint32_t index) override {
    ev_io_stop(loop_, &watchers_[index]->io);
    watchers_[index].reset();
    return true;
  }

  int RunOnce(bool block) override {
    calls_ = 0;
    ev_run(loop_, block ? EVRUN_ONCE : EVRUN_NOWAIT);
    return calls_;
  }

  bool Wake() override {
    ev_async_send(loop_, &wake_);
    return true;
  }

 private:
  struct Watcher {
    ev_io io;
    LibevLoop* loop;
    std::uint32_t index;
  };

  static void OnEvent(struct ev_loop* loop, ev_io* io, int) {
    Watcher* watcher = reinterpret_cast<Watcher*>(io);
    LibevLoop* self = watcher->loop;
    if (self->oneshot_[watcher->index]) ev_io_stop(loop, io);
    ++self->calls_;
    self->Dispatch(watcher->index);
  }
  static void OnWake(struct ev_loop*, ev_async* async, int) {
    LibevLoop* self = static_cast<LibevLoop*>(async->data);
    ++self->calls_;
    self->DispatchWake();
  }

  struct ev_loop* const loop_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
  std::vector<bool> oneshot_;
  ev_async wake_;
  int calls_ = 0;
};

}  // namespace

std::unique_ptr<EventLoop> NewLibevLoop(const LoopOptions& options) {
  struct ev_loop* loop = ev_loop_new(EVBACKEND_EPOLL);
  if (loop == nullptr) return nullptr;
  return std::make_unique<LibevLoop>(loop, options.capacity);
}

}  // namespace poller_bench
