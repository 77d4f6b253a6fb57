// Copyright 2026 The poller Authors.
//
// The baseline: the same work written directly with epoll and eventfd system
// calls, nothing in between. Wakes are coalesced with one atomic flag, as any
// careful hand-written loop would, so a burst costs one eventfd write: the
// physical limit the others are measured against.

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "bench/event_loop.h"

namespace poller_bench {
namespace {

constexpr std::uint64_t kWakeData = ~std::uint64_t{0};

class RawLoop final : public EventLoop {
 public:
  RawLoop(int epoll_fd, int wake_fd, bool pwait2)
      : epoll_fd_(epoll_fd), wake_fd_(wake_fd), pwait2_(pwait2) {}
  ~RawLoop() override {
    ::close(wake_fd_);
    ::close(epoll_fd_);
  }

  bool Add(int fd, std::uint32_t index, Trigger trigger) override {
    return Control(
        EPOLL_CTL_ADD, fd, index,
        EPOLLIN |
            (trigger == Trigger::kOneshot ? std::uint32_t{EPOLLONESHOT} : 0u));
  }
  bool Rearm(int fd, std::uint32_t index) override {
    return Control(EPOLL_CTL_MOD, fd, index, EPOLLIN | EPOLLONESHOT);
  }
  bool ModifyToWritable(int fd, std::uint32_t index) override {
    return Control(EPOLL_CTL_MOD, fd, index, EPOLLOUT | EPOLLONESHOT);
  }
  bool Remove(int fd, std::uint32_t) override {
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr) == 0;
  }

  int RunOnce(bool block) override {
    int count;
    if (pwait2_) {
#if defined(SYS_epoll_pwait2)
      timespec zero{};
      count = static_cast<int>(::syscall(SYS_epoll_pwait2, epoll_fd_, events_,
                                         kMaxEvents, block ? nullptr : &zero,
                                         nullptr, 0));
#else
      return -1;
#endif
    } else {
      count = ::epoll_wait(epoll_fd_, events_, kMaxEvents, block ? -1 : 0);
    }
    if (count < 0) return -1;
    for (int i = 0; i < count; ++i) {
      if (events_[i].data.u64 == kWakeData) {
        wake_pending_.store(false, std::memory_order_release);
        DispatchWake();
        continue;
      }
      Dispatch(static_cast<std::uint32_t>(events_[i].data.u64));
    }
    return count;
  }

  bool Wake() override {
    // Without this fence the flag may be read before the caller's own stores
    // are visible, and a wake the waiter is taking at that moment is lost
    // (poller.cc, "The wake protocol"; libev's ev_async_send has it too): the
    // least a correct loop pays, so the baseline pays it. (GCC refuses fences
    // under ThreadSanitizer, where the benchmark only has to run.)
#if !defined(__SANITIZE_THREAD__)
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
    if (wake_pending_.load(std::memory_order_acquire) ||
        wake_pending_.exchange(true, std::memory_order_acq_rel)) {
      return true;
    }
    const std::uint64_t one = 1;
    return ::write(wake_fd_, &one, sizeof(one)) == sizeof(one);
  }

  bool RegisterWake() {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLET;
    event.data.u64 = kWakeData;
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) == 0;
  }

 private:
  static constexpr int kMaxEvents = 256;

  bool Control(int operation, int fd, std::uint32_t index,
               std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = index;
    return ::epoll_ctl(epoll_fd_, operation, fd, &event) == 0;
  }

  const int epoll_fd_;
  const int wake_fd_;
  const bool pwait2_;
  std::atomic<bool> wake_pending_{false};
  epoll_event events_[kMaxEvents];
};

}  // namespace

std::unique_ptr<EventLoop> NewRawLoop(const LoopOptions& options) {
  return NewRawLoopWith(options, /*pwait2=*/false);
}

std::unique_ptr<EventLoop> NewRawPwait2Loop(const LoopOptions& options) {
  return NewRawLoopWith(options, /*pwait2=*/true);
}

std::unique_ptr<EventLoop> NewRawLoopWith(const LoopOptions&, bool pwait2) {
  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return nullptr;
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    ::close(epoll_fd);
    return nullptr;
  }
  auto loop = std::make_unique<RawLoop>(epoll_fd, wake_fd, pwait2);
  if (!loop->RegisterWake()) return nullptr;
  return loop;
}

}  // namespace poller_bench
