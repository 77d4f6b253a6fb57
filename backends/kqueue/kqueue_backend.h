// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/kqueue/kqueue_backend.h
// -----------------------------------------------------------------------------
//
// The backend for macOS, FreeBSD, OpenBSD, NetBSD and DragonFly: one kqueue,
// its wake source (kqueue_waker.h), and a small table of registrations.
//
// Verification status
//   NOT run on a kqueue kernel: the project has no macOS or BSD machine. What
//   is checked, and how:
//   - Its decisions (filters per registration, changes per Add and Modify,
//     what each kernel event means, what a oneshot silences, which token an
//     event carries) live in kqueue_logic.h, which compiles everywhere;
//     kqueue_logic_test runs them on Linux under ./bazelw test //... with
//     kernel answers scripted from the XNU and FreeBSD sources cited below.
//   - This backend, kqueue_backend_test.cc and the conformance suite compile
//     against the macOS 13 SDK headers (x86_64, arm64) with the project's
//     cross toolchains: build //backends/kqueue/... for
//     --platforms=//platforms:macos_arm64 (and macos_x86_64) with the flags
//     tools/cross_compile_check.sh passes, or run that script with
//     --without-bazel. The BSD-only branches (#if on EVFILT_EXCEPT,
//     KQUEUE_CLOEXEC, __NetBSD__, no EV_DISPATCH) are checked by reading
//     only.
//   - Behaviour only a kernel shows is pinned by kqueue_backend_test.cc and
//     the conformance suite, which run only on macOS and the BSDs:
//       ./bazelw test //backends/kqueue/... //tests/conformance:kqueue_test
//     Please run them on a Mac or a BSD and report failures.
//   Sources read (2026): XNU (apple-oss-distributions/xnu) bsd/kern/
//   kern_event.c, uipc_socket.c, sys_pipe.c; FreeBSD sys/kern/kern_event.c,
//   sys_pipe.c, uipc_socket.c, kern_descrip.c; OpenBSD sys/sys/event.h 1.74
//   and uipc_socket.c; NetBSD and DragonFly kern_descrip.c; mio
//   src/sys/unix/selector/kqueue.rs; libuv src/unix/kqueue.c.
//
// Public API: the public members of KqueueBackend below. A program that wants
// the backend itself, to wrap it (a decorator that counts or logs calls) or to
// test it, depends on @poller//backends/kqueue and calls
// KqueueBackend::Create(), then hands the result to Poller::FromBackend();
// Poller::Create("kqueue") does the same without the wrapper. What follows is
// what this backend promises beyond poller/poller.h.
//
// How it works (filters per registration, threads, memory, and each
// decision with the kernel source it rests on) is described at the top of
// kqueue_backend.cc.
//
// Semantics that differ from epoll
//   - Readable and writable are separate filters: within one Wait they are
//     merged into one Event per registration; across two Waits they are two
//     Events (level and edge modes).
//   - kNone interest reports nothing at all, not even hang-up (epoll reports
//     hang-up and error regardless). It keeps a disabled EVFILT_READ filter.
//   - Closing a descriptor removes its filters at once, even if duplicates of
//     it are open (XNU knote_fdclose; epoll keeps them until the last
//     duplicate closes). The table still holds the number until Delete, which
//     then returns NotFound; an Add of another file that got the number
//     succeeds (its identity differs). A descriptor closed and replaced by a
//     duplicate of the same file is taken for the old registration: Add says
//     AlreadyExists, Delete says NotFound and forgets it. A Modify of a reused
//     number registers the new descriptor: call Delete before close.
//   - Regular files and directories are refused with InvalidArgument, as epoll
//     refuses them (kqueue would report them always readable). Checked with
//     fstat.
//   - Where the headers lack EV_DISPATCH (none of the systems above, in their
//     current releases), oneshot uses EV_ONESHOT, which deletes a filter once
//     it fires; Modify adds it again.
//
// fork() and exec()
//   fork(): see item 6. In the child, destroy the inherited Poller (it closes
//   nothing of the parent's) and Create a new one.
//   exec(): the kqueue is close-on-exec. macOS creates it so (kqueue_internal,
//   FP_CLOEXEC); FreeBSD 14+ with kqueuex(KQUEUE_CLOEXEC) and NetBSD with
//   kqueue1(O_CLOEXEC), atomically. Elsewhere (OpenBSD, DragonFly, older
//   FreeBSD) kqueue() is followed by fcntl(FD_CLOEXEC): another thread's
//   execve() between the two would carry the kqueue into the new program. A
//   fork()+exec() cannot, since the child never gets it.

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_

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
#include "backends/kqueue/kqueue_logic.h"
#include "backends/kqueue/kqueue_waker.h"
#include "poller/core/backend.h"
#include "poller/internal/registration_errors.h"

namespace poller {

class KqueueBackend final : public Backend {
 public:
  static constexpr absl::string_view kName = "kqueue";

  // Errors: ResourceExhausted when out of descriptors or memory (EMFILE,
  // ENFILE, ENOMEM).
  static absl::StatusOr<std::unique_ptr<Backend>> Create();

  ~KqueueBackend() override;

  absl::string_view name() const override { return kName; }
  bool SupportsMode(Mode mode) const override;
  // Add, Modify, Delete, Wait and Wake return FailedPrecondition in a process
  // other than the one that created the backend (fork(): see the file
  // comment).
  absl::Status Add(NativeHandle handle, Token token, Interest interest,
                   Mode mode) override;
  absl::Status Modify(NativeHandle handle, Token token, Interest interest,
                      Mode mode) override;
  absl::Status Delete(NativeHandle handle) override;
  absl::Status Rearm(NativeHandle handle) override;
  absl::StatusOr<WaitResult> Wait(absl::Span<Event> events,
                                  absl::Duration timeout) override;
  absl::Status Wake() override;
  // No FreeBSD or NetBSD socket filter reports out-of-band data (see above).
  bool SupportsInterest(Interest interest) const override {
#if defined(__FreeBSD__) || defined(__NetBSD__)
    return (interest & Interest::kPriority) == Interest::kNone;
#else
    (void)interest;
    return true;
#endif
  }

 private:
  using Registration = kqueue_logic::Registration;

  static constexpr int kMaxKernelEvents = 1024;
  // Room for the silencing changes of many registrations (up to three each):
  // more are sent in several calls.
  static constexpr int kMaxSilenceChanges = 2 * kMaxKernelEvents;

  explicit KqueueBackend(int kqueue_fd);

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
  // the file comment), and whether there are any (read by Wait before it
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

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
