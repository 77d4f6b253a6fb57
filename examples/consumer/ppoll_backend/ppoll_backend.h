// -----------------------------------------------------------------------------
// File: ppoll_backend/ppoll_backend.h
// -----------------------------------------------------------------------------
//
// A poller backend written outside poller, the way a user would write their
// own: it implements poller::Backend (@poller//poller/core), is wrapped with
// poller::Poller::FromBackend(), and proves itself with poller's conformance
// suite (ppoll_backend_test.cc). It is small on purpose; poller's own poll
// backend is the one to use in production.
//
// Strategy
//   The registrations live in a table in user space (fd -> token, interest,
//   mode, armed). Each Wait copies the armed ones into a pollfd array, with a
//   self-pipe first, and calls ppoll(2), which takes a timespec, so timeouts
//   are precise to well under a millisecond. Modes: kLevel is what poll(2)
//   does; kOneshot disarms a registration when it is reported, and Rearm (or
//   Modify) re-arms it. Edge modes are not supported (SupportsMode says so, and
//   Poller answers Unimplemented): poll(2) has no notion of an edge.
//   Changes from other threads during a Wait (Add, Modify, Delete) write a
//   byte to the self-pipe, so the Wait returns with nothing to report and
//   Poller calls it again with the rest of the timeout on the new table.
//   Wake() sets a flag and writes the same pipe; the flag tells a wake from
//   a change. Levels beyond the caller's buffer are not starved: each Wait
//   starts scanning where the previous one stopped.
//
// Semantics that differ from other backends
//   - Cost is O(registered handles) per Wait, like poll(2) itself.
//   - Regular files and directories are refused (InvalidArgument): poll(2)
//     reports them always ready.
//   - kNone interest still reports hang-up and error (poll(2) always does).
//   - A handle closed while registered is reported with kError (POLLNVAL)
//     until Delete: in level mode on every Wait. Delete it before closing.
//     Registrations belong to descriptor numbers, not files: a number closed
//     without Delete stays registered, so Add of a new file that reuses it
//     fails with AlreadyExists until Delete. (poller's own backends replace
//     such a registration; ppoll_backend_test declares the conformance
//     rules about it unsupported.)
//   - Wait allocates nothing: the pollfd array is sized by Add. When an Add
//     during a Wait outgrows it, Add prepares a larger spare that the next
//     Wait swaps in.
//
// Thread safety: as poller::Backend requires. One mutex guards the table;
// Wait holds it only to copy the table and to read the results.

#ifndef CONSUMER_PPOLL_BACKEND_PPOLL_BACKEND_H_
#define CONSUMER_PPOLL_BACKEND_PPOLL_BACKEND_H_

#include <poll.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "poller/core/backend.h"
#include "poller/core/types.h"

namespace consumer {

class PpollBackend final : public poller::Backend {
 public:
  static constexpr absl::string_view kName = "ppoll";

  // Errors: ResourceExhausted when the process or system is out of
  // descriptors (EMFILE, ENFILE).
  static absl::StatusOr<std::unique_ptr<poller::Backend>> Create();

  PpollBackend(const PpollBackend&) = delete;
  PpollBackend& operator=(const PpollBackend&) = delete;
  ~PpollBackend() override;

  absl::string_view name() const override { return kName; }
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
  struct Registration {
    poller::Token token;
    poller::Interest interest;
    poller::Mode mode;
    // False once a oneshot registration has been reported, until Modify or
    // Rearm.
    bool armed;
    // Tells a registration from a later one on the same descriptor number.
    std::uint64_t generation;
  };

  // What one ppoll call watches: the self-pipe, then the armed registrations.
  struct PollSet {
    std::unique_ptr<pollfd[]> fds;
    std::unique_ptr<std::uint64_t[]> generations;
    size_t capacity = 0;
  };

  PpollBackend(int wake_read_fd, int wake_write_fd);

  static PollSet MakePollSet(size_t capacity);
  // Makes room for `entries` pollfds in the next Wait's set. Requires mutex_.
  void ReserveLocked(size_t entries);
  // Ends the Wait in progress, if any, so it rereads the table. Requires
  // mutex_.
  void SignalWaiterLocked();
  absl::Status WritePipe();
  void DrainPipe();

  const int wake_read_fd_;
  const int wake_write_fd_;
  // Set by Wake before it writes the pipe; cleared by the Wait that drains
  // it. A pipe byte without the flag is a change to the table.
  std::atomic<bool> wake_requested_{false};

  std::mutex mutex_;
  std::unordered_map<int, Registration> registrations_;  // Guarded by mutex_.
  std::uint64_t next_generation_ = 1;                    // Guarded by mutex_.
  // A Wait is between copying the table and reading its results; poll_set_ is
  // in use. Guarded by mutex_.
  bool waiting_ = false;
  // The pipe was written for a change since the Wait copied the table.
  bool change_signalled_ = false;  // Guarded by mutex_.
  // Swapped by Wait while holding mutex_; read outside it only by Wait.
  PollSet poll_set_;
  PollSet spare_poll_set_;  // Guarded by mutex_.
  // Where the next Wait starts scanning results. Only touched inside Wait,
  // which Poller serializes.
  size_t scan_start_ = 0;
};

}  // namespace consumer

#endif  // CONSUMER_PPOLL_BACKEND_PPOLL_BACKEND_H_
