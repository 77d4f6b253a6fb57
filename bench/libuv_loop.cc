// Copyright 2026 The poller Authors.
//
// libuv 1.44 (Debian's libuv1-dev), uv_poll_t handles on its epoll loop.
// Level: a uv_poll left started; oneshot: the callback stops it and Rearm
// starts it again (libuv has no oneshot mode). libuv applies most watcher
// changes to the kernel at its next iteration. Wakes: a uv_async_t.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/event_loop.h"

namespace poller_bench {
namespace {

class LibuvLoop final : public EventLoop {
 public:
  explicit LibuvLoop(std::uint32_t capacity)
      : handles_(capacity, nullptr), oneshot_(capacity, false) {}

  bool Init() {
    if (uv_loop_init(&loop_) != 0) return false;
    initialized_ = true;
    if (uv_async_init(&loop_, &wake_, &LibuvLoop::OnWake) != 0) return false;
    wake_.data = this;
    return true;
  }

  ~LibuvLoop() override {
    if (!initialized_) return;
    for (std::uint32_t i = 0; i < handles_.size(); ++i) {
      if (handles_[i] != nullptr) Remove(-1, i);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  bool Add(int fd, std::uint32_t index, Trigger trigger) override {
    Handle* handle = new Handle;
    handle->loop = this;
    handle->index = index;
    if (uv_poll_init(&loop_, &handle->poll, fd) != 0) {
      delete handle;
      return false;
    }
    handles_[index] = handle;
    oneshot_[index] = trigger == Trigger::kOneshot;
    return uv_poll_start(&handle->poll, UV_READABLE, &LibuvLoop::OnEvent) == 0;
  }
  bool Rearm(int, std::uint32_t index) override {
    return uv_poll_start(&handles_[index]->poll, UV_READABLE,
                         &LibuvLoop::OnEvent) == 0;
  }
  bool ModifyToWritable(int, std::uint32_t index) override {
    oneshot_[index] = true;
    return uv_poll_start(&handles_[index]->poll, UV_WRITABLE,
                         &LibuvLoop::OnEvent) == 0;
  }
  bool Remove(int, std::uint32_t index) override {
    Handle* handle = handles_[index];
    handles_[index] = nullptr;
    uv_poll_stop(&handle->poll);
    // The handle's memory is freed once the loop has run its close callback.
    uv_close(
        reinterpret_cast<uv_handle_t*>(&handle->poll),
        [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
    return true;
  }

  int RunOnce(bool block) override {
    calls_ = 0;
    uv_run(&loop_, block ? UV_RUN_ONCE : UV_RUN_NOWAIT);
    return calls_;
  }

  bool Wake() override { return uv_async_send(&wake_) == 0; }

 private:
  struct Handle {
    uv_poll_t poll;  // First: the callbacks cast back from it.
    LibuvLoop* loop;
    std::uint32_t index;
  };

  static void OnEvent(uv_poll_t* poll, int status, int) {
    Handle* handle = reinterpret_cast<Handle*>(poll);
    LibuvLoop* self = handle->loop;
    if (status < 0) return;
    if (self->oneshot_[handle->index]) uv_poll_stop(poll);
    ++self->calls_;
    self->Dispatch(handle->index);
  }
  static void OnWake(uv_async_t* async) {
    LibuvLoop* self = static_cast<LibuvLoop*>(async->data);
    ++self->calls_;
    self->DispatchWake();
  }

  uv_loop_t loop_;
  uv_async_t wake_;
  bool initialized_ = false;
  std::vector<Handle*> handles_;
  std::vector<bool> oneshot_;
  int calls_ = 0;
};

}  // namespace

std::unique_ptr<EventLoop> NewLibuvLoop(const LoopOptions& options) {
  auto loop = std::make_unique<LibuvLoop>(options.capacity);
  if (!loop->Init()) return nullptr;
  return loop;
}

}  // namespace poller_bench
