// -----------------------------------------------------------------------------
// File: decorated_backend/counting_backend.h
// -----------------------------------------------------------------------------
//
// A decorator over any poller::Backend, poller's built-in ones included: it
// forwards every call and counts it. The pattern for logging, tracing or fault
// injection of your own around a backend you did not write. The built-in
// backends are public targets (@poller//backends/epoll, /poll, /io_uring,
// /kqueue) whose headers are their API: create one with its Create(), wrap
// it, and hand the wrapper to poller::Poller::FromBackend().
//
// Every method of poller::Backend is forwarded, Rearm included: a decorator
// that forgot it would get Backend's default (Unimplemented), and poller's
// conformance suite, run on the decorator (counting_epoll_test.cc), would fail
// its Rearm rules.

#ifndef CONSUMER_DECORATED_BACKEND_COUNTING_BACKEND_H_
#define CONSUMER_DECORATED_BACKEND_COUNTING_BACKEND_H_

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/core/backend.h"

namespace consumer {

class CountingBackend final : public poller::Backend {
 public:
  // How many calls reached the wrapped backend. Shared, so a test can read
  // them while the Poller owns the backend.
  struct Counts {
    std::atomic<int> adds{0};
    std::atomic<int> modifies{0};
    std::atomic<int> deletes{0};
    std::atomic<int> rearms{0};
    std::atomic<int> waits{0};
    std::atomic<int> notifies{0};
  };

  CountingBackend(std::unique_ptr<poller::Backend> wrapped,
                  std::shared_ptr<Counts> counts);

  absl::string_view name() const override;
  bool SupportsMode(poller::Mode mode) const override;
  absl::Status Add(poller::NativeHandle handle, poller::Token token,
                   poller::Interest interest, poller::Mode mode) override;
  absl::Status Modify(poller::NativeHandle handle, poller::Token token,
                      poller::Interest interest, poller::Mode mode) override;
  absl::Status Delete(poller::NativeHandle handle) override;
  absl::Status Rearm(poller::NativeHandle handle) override;
  absl::StatusOr<poller::WaitResult> Wait(absl::Span<poller::Event> events,
                                          absl::Duration timeout) override;
  absl::Status Wake() override;

 private:
  const std::unique_ptr<poller::Backend> wrapped_;
  const std::shared_ptr<Counts> counts_;
};

}  // namespace consumer

#endif  // CONSUMER_DECORATED_BACKEND_COUNTING_BACKEND_H_
