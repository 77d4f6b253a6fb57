// Copyright 2026 The poller Authors.
//
// kqueue_poller.h: the kqueue backend's class, private to its library
// (kqueue_backend.h is what a caller sees). Its design is at the top of
// kqueue_backend.cc; its decisions, testable without a kqueue, are in
// kqueue_logic.h.

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_POLLER_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_POLLER_H_

#include <sys/types.h>
// sys/event.h needs sys/types.h first on the BSDs.
#include <sys/event.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "backends/kqueue/kqueue_backend.h"
#include "backends/kqueue/kqueue_logic.h"
#include "backends/kqueue/kqueue_waker.h"
#include "poller/core/backend.h"
#include "poller/internal/registration_errors.h"

namespace poller {

// The backend itself; KqueueBackend::Create makes one.
class KqueuePoller final : public Backend {
 public:
  explicit KqueuePoller(int kqueue_fd);
  ~KqueuePoller() override;

  absl::string_view name() const override { return KqueueBackend::kName; }
  bool SupportsMode(Mode mode) const override;
  // Add, Modify, Delete, Wait and Wake return FailedPrecondition in a process
  // other than the one that created the backend (fork(): see kqueue_backend.h).
  absl::Status Add(NativeHandle handle, Token token, Interest interest,
                   Mode mode) override;
  absl::Status Modify(NativeHandle handle, Token token, Interest interest,
                      Mode mode) override;
  absl::Status Delete(NativeHandle handle) override;
  absl::Status Rearm(NativeHandle handle) override;
  absl::StatusOr<WaitResult> Wait(absl::Span<Event> events,
                                  absl::Duration timeout) override;
  absl::Status Wake() override;
  // No FreeBSD or NetBSD socket filter reports out-of-band data (see
  // kqueue_backend.h).
  bool SupportsInterest(Interest interest) const override {
#if defined(__FreeBSD__) || defined(__NetBSD__)
    return (interest & Interest::kPriority) == Interest::kNone;
#else
    (void)interest;
    return true;
#endif
  }

 private:
  // Create finishes what the constructor starts (the waker).
  friend class KqueueBackend;

  using Registration = kqueue_logic::Registration;

  static constexpr int kMaxKernelEvents = 1024;
  // Room for the silencing changes of many registrations (up to three each):
  // more are sent in several calls.
  static constexpr int kMaxSilenceChanges = 2 * kMaxKernelEvents;

  // Modify, or Rearm (`operation` kRearm: the registration's own token,
  // interest and mode are used, and the arguments ignored).
  absl::Status ChangeRegistration(internal::Operation operation,
                                  NativeHandle handle, Token token,
                                  Interest interest, Mode mode);

  bool InCreatorProcess() const;
  absl::Status NotCreatorProcess(const char* operation) const;

  // Applies `count` changes (each with EV_RECEIPT where available) and writes
  // each one's errno, or 0, to `errors`. Returns false (errno set) if kevent
  // itself failed. `receipts` must hold `count` events.
  bool ApplyChanges(struct kevent* changes, int count, struct kevent* receipts,
                    int* errors);
  // Sends the changes that turn the kernel's filters for `old` into those of
  // `registration`, and records in it which filters the kernel then holds.
  // If the kernel refuses any of them, it puts back what the others changed
  // (kqueue_logic::PlanUndo), sets `registration` to `old` with the filters
  // the kernel then holds, sets *forget if that is none although `old` had
  // some (the descriptor was closed), and returns the refusal. Requires
  // mutex_.
  absl::Status Apply(const char* operation, int fd, const Registration& old,
                     Registration& registration, bool* forget);
  // Records whether the backend owes `registration` a report of its own (see
  // synthetic_), and wakes a Wait in progress if so. Requires mutex_.
  void UpdateSynthetic(int fd, Registration& registration);
  // Queues, and FlushSilence sends, the changes that disable `silence`.
  // Requires mutex_; only inside Wait.
  void QueueSilence(int fd, const Registration& registration,
                    kqueue_logic::FilterSet silence);
  void FlushSilence();
  // Wait's two passes under the lock: the first `kept` kernel events, grouped
  // by registration and version (sorted), become at most one Event each if
  // current; then the registrations owed a report the kernel cannot make
  // (synthetic_) get one, within the room left in `events`.
  void ReportKernelEventsLocked(int kept, absl::Span<Event> events,
                                WaitResult& result);
  void ReportSyntheticLocked(absl::Span<Event> events, WaitResult& result);

  // Owned; closed by the destructor only in the creating process.
  const int kqueue_fd_;
  const pid_t creator_pid_;
  const std::uint64_t forks_at_create_;
  // Set once by Create.
  std::optional<internal::KqueueWaker> waker_;

  // Guards the table and the kernel filters it describes, so the two agree.
  // Wait takes it only after the kernel returned.
  std::mutex mutex_;
  absl::flat_hash_map<int, Registration> registrations_;
  // The last serial given to an Add or Modify.
  std::uint64_t serial_ = 0;
  // Registrations with a report due that the kernel cannot make (item 3 of
  // kqueue_backend.h), and whether there are any (read by Wait before it
  // blocks, without the lock).
  absl::flat_hash_set<int> synthetic_;
  std::atomic<bool> synthetic_pending_{false};

  // Only touched inside Wait, which Poller serializes.
  std::uint64_t wait_sequence_ = 0;
  std::unique_ptr<struct kevent[]> kernel_events_;
  std::unique_ptr<struct kevent[]> silence_changes_;
  std::unique_ptr<struct kevent[]> silence_receipts_;
  int silence_count_ = 0;
};

}  // namespace poller

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_POLLER_H_
