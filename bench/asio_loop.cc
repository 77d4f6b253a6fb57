// Copyright 2026 The poller Authors.
//
// Boost.Asio 1.74 (Debian's libboost-dev, header-only) on its epoll reactor:
// one posix::stream_descriptor per handle and async_wait(wait_read). Asio has
// no persistent registration: for both level and oneshot the next async_wait
// is issued after each event (for level, by the adapter once the handler
// has run), and each costs an epoll_ctl(EPOLL_CTL_MOD) to re-trigger Asio's
// edge-triggered registration. Wakes: post() from another thread.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench/event_loop.h"

namespace poller_bench {
namespace {

namespace asio = boost::asio;

class AsioLoop final : public EventLoop {
 public:
  explicit AsioLoop(std::uint32_t capacity)
      : context_(1),
        work_(asio::make_work_guard(context_)),
        descriptors_(capacity),
        level_(capacity, false) {}

  ~AsioLoop() override {
    for (std::uint32_t i = 0; i < descriptors_.size(); ++i) {
      if (descriptors_[i] != nullptr) Remove(-1, i);
    }
    work_.reset();
    context_.restart();
    context_.poll();
  }

  bool Add(int fd, std::uint32_t index, Trigger trigger) override {
    boost::system::error_code error;
    auto descriptor =
        std::make_unique<asio::posix::stream_descriptor>(context_);
    descriptor->assign(fd, error);
    if (error) return false;
    descriptors_[index] = std::move(descriptor);
    level_[index] = trigger == Trigger::kLevel;
    Wait(index, asio::posix::descriptor_base::wait_read);
    return true;
  }
  bool Rearm(int, std::uint32_t index) override {
    Wait(index, asio::posix::descriptor_base::wait_read);
    return true;
  }
  bool ModifyToWritable(int, std::uint32_t index) override {
    boost::system::error_code error;
    descriptors_[index]->cancel(error);
    level_[index] = false;
    Wait(index, asio::posix::descriptor_base::wait_write);
    return !error;
  }
  bool Remove(int, std::uint32_t index) override {
    // release() deregisters without closing the descriptor, which the
    // benchmark owns.
    descriptors_[index]->release();
    descriptors_[index].reset();
    return true;
  }

  int RunOnce(bool block) override {
    calls_ = 0;
    if (context_.stopped()) context_.restart();
    if (block) context_.run_one();
    context_.poll();
    return calls_;
  }

  bool Wake() override {
    asio::post(context_, [this] {
      ++calls_;
      DispatchWake();
    });
    return true;
  }

 private:
  void Wait(std::uint32_t index, asio::posix::descriptor_base::wait_type type) {
    descriptors_[index]->async_wait(
        type, [this, index](const boost::system::error_code& error) {
          if (error) return;  // Cancelled by ModifyToWritable or Remove.
          ++calls_;
          Dispatch(index);
          // Re-issued after the handler has consumed the readiness: issued
          // before, its epoll_ctl would re-trigger at once and report the
          // handle again with nothing to read.
          if (level_[index] && descriptors_[index] != nullptr) {
            Wait(index, asio::posix::descriptor_base::wait_read);
          }
        });
  }

  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::unique_ptr<asio::posix::stream_descriptor>> descriptors_;
  std::vector<bool> level_;
  int calls_ = 0;
};

}  // namespace

std::unique_ptr<EventLoop> NewAsioLoop(const LoopOptions& options) {
  return std::make_unique<AsioLoop>(options.capacity);
}

}  // namespace poller_bench
