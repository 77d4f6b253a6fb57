// What a broken backend looks like to the conformance suite. ForgetfulDelete
// wraps the working PpollBackend and breaks one promise: Delete reports
// success and removes nothing. The suite must fail, and its messages must name
// the rule ("rule: after Delete returns, no Wait reports the handle's token").
// Tagged manual: run it on purpose, expect it to fail.

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/core/backend.h"
#include "poller/poller.h"
#include "ppoll_backend/ppoll_backend.h"
#include "tests/conformance/suite.h"

namespace consumer {
namespace {

class ForgetfulDelete final : public poller::Backend {
 public:
  explicit ForgetfulDelete(std::unique_ptr<poller::Backend> real)
      : real_(std::move(real)) {}

  absl::string_view name() const override { return "forgetful-delete"; }
  bool SupportsMode(poller::Mode mode) const override {
    return real_->SupportsMode(mode);
  }
  absl::Status Add(poller::NativeHandle handle, poller::Token token,
                   poller::Interest interest, poller::Mode mode) override {
    return real_->Add(handle, token, interest, mode);
  }
  absl::Status Modify(poller::NativeHandle handle, poller::Token token,
                      poller::Interest interest, poller::Mode mode) override {
    return real_->Modify(handle, token, interest, mode);
  }
  // The bug.
  absl::Status Delete(poller::NativeHandle) override {
    return absl::OkStatus();
  }
  absl::Status Rearm(poller::NativeHandle handle) override {
    return real_->Rearm(handle);
  }
  absl::StatusOr<poller::WaitResult> Wait(absl::Span<poller::Event> events,
                                          absl::Duration timeout) override {
    return real_->Wait(events, timeout);
  }
  absl::Status Wake() override { return real_->Wake(); }

 private:
  std::unique_ptr<poller::Backend> real_;
};

}  // namespace
}  // namespace consumer

namespace consumer {
namespace {

poller::conformance::BackendUnderTest ForgetfulDeleteUnderTest() {
  poller::conformance::BackendUnderTest backend;
  backend.name = "ForgetfulDelete";
  backend.factory = []() -> absl::StatusOr<std::unique_ptr<poller::Poller>> {
    absl::StatusOr<std::unique_ptr<poller::Backend>> created =
        PpollBackend::Create();
    if (!created.ok()) return created.status();
    return poller::Poller::FromBackend(
        std::make_unique<ForgetfulDelete>(*std::move(created)));
  };
  return backend;
}

}  // namespace
}  // namespace consumer

POLLER_CONFORMANCE_SUITE(ForgetfulDelete, consumer::ForgetfulDeleteUnderTest());
