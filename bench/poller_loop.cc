// Copyright 2026 The poller Authors.
//
// poller itself, on a named backend, through its public API only.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "bench/event_loop.h"
#include "poller/poller.h"

#if defined(POLLER_HAVE_EPOLL_BACKEND)
#include "backends/epoll/epoll_backend.h"
#endif
#if defined(POLLER_HAVE_IO_URING_BACKEND)
#include "backends/io_uring/io_uring_backend.h"
#endif

namespace poller_bench {
namespace {

class PollerLoop final : public EventLoop {
 public:
  explicit PollerLoop(std::unique_ptr<poller::Poller> poller)
      : poller_(std::move(poller)) {}

  bool Add(int fd, std::uint32_t index, Trigger trigger) override {
    return poller_
        ->Add(fd, index, poller::Interest::kReadable,
              trigger == Trigger::kOneshot ? poller::Mode::kOneshot
                                           : poller::Mode::kLevel)
        .ok();
  }
  bool Rearm(int fd, std::uint32_t index) override {
    return poller_
        ->Modify(fd, index, poller::Interest::kReadable, poller::Mode::kOneshot)
        .ok();
  }
  bool ModifyToWritable(int fd, std::uint32_t index) override {
    return poller_
        ->Modify(fd, index, poller::Interest::kWritable, poller::Mode::kOneshot)
        .ok();
  }
  bool Remove(int fd, std::uint32_t) override {
    return poller_->Delete(fd).ok();
  }

  int RunOnce(bool block) override {
    absl::StatusOr<size_t> count = poller_->Wait(
        events_, block ? absl::InfiniteDuration() : absl::ZeroDuration());
    if (!count.ok()) return -1;
    // With no timeout and no signals, an empty return is a wake.
    if (*count == 0 && block) {
      DispatchWake();
      return 1;
    }
    for (const poller::Event& event : events_) {
      Dispatch(static_cast<std::uint32_t>(event.token()));
    }
    return static_cast<int>(*count);
  }

  bool Wake() override { return poller_->Wake().ok(); }

 private:
  std::unique_ptr<poller::Poller> poller_;
  poller::Events events_{256};
};

}  // namespace

std::unique_ptr<EventLoop> NewPollerLoop(const std::string& backend,
                                         const LoopOptions&) {
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      poller::Poller::Create(backend);
  if (!poller.ok()) return nullptr;
  return std::make_unique<PollerLoop>(*std::move(poller));
}

#if defined(POLLER_HAVE_IO_URING_BACKEND)
std::unique_ptr<EventLoop> NewPollerIoUringDeletedBeforeCloseLoop(
    const LoopOptions&) {
  poller::IoUringBackend::Options options;
  options.deleted_before_close = true;
  absl::StatusOr<std::unique_ptr<poller::Backend>> backend =
      poller::IoUringBackend::Create(options);
  if (!backend.ok()) return nullptr;
  return std::make_unique<PollerLoop>(
      poller::Poller::FromBackend(*std::move(backend)));
}
#endif

#if defined(POLLER_HAVE_EPOLL_BACKEND)
std::unique_ptr<EventLoop> NewPollerEpollKernelOneshotLoop(const LoopOptions&) {
  poller::EpollBackend::Options options;
  options.oneshot = poller::EpollBackend::OneshotStrategy::kKernel;
  absl::StatusOr<std::unique_ptr<poller::Backend>> backend =
      poller::EpollBackend::Create(options);
  if (!backend.ok()) return nullptr;
  return std::make_unique<PollerLoop>(
      poller::Poller::FromBackend(*std::move(backend)));
}
#endif

}  // namespace poller_bench
