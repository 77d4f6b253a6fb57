#include "decorated_backend/counting_backend.h"

#include <utility>

namespace consumer {

CountingBackend::CountingBackend(std::unique_ptr<poller::Backend> wrapped,
                                 std::shared_ptr<Counts> counts)
    : wrapped_(std::move(wrapped)), counts_(std::move(counts)) {}

// The wrapped backend's name: the conformance suite and error messages then
// name the backend that did the work.
absl::string_view CountingBackend::name() const { return wrapped_->name(); }

bool CountingBackend::SupportsMode(poller::Mode mode) const {
  return wrapped_->SupportsMode(mode);
}

absl::Status CountingBackend::Add(poller::NativeHandle handle,
                                  poller::Token token,
                                  poller::Interest interest,
                                  poller::Mode mode) {
  ++counts_->adds;
  return wrapped_->Add(handle, token, interest, mode);
}

absl::Status CountingBackend::Modify(poller::NativeHandle handle,
                                     poller::Token token,
                                     poller::Interest interest,
                                     poller::Mode mode) {
  ++counts_->modifies;
  return wrapped_->Modify(handle, token, interest, mode);
}

absl::Status CountingBackend::Delete(poller::NativeHandle handle) {
  ++counts_->deletes;
  return wrapped_->Delete(handle);
}

absl::Status CountingBackend::Rearm(poller::NativeHandle handle) {
  ++counts_->rearms;
  return wrapped_->Rearm(handle);
}

absl::StatusOr<poller::WaitResult> CountingBackend::Wait(
    absl::Span<poller::Event> events, absl::Duration timeout) {
  ++counts_->waits;
  return wrapped_->Wait(events, timeout);
}

absl::Status CountingBackend::Wake() {
  ++counts_->notifies;
  return wrapped_->Wake();
}

}  // namespace consumer
