// Copyright 2026 The poller Authors.
//
// The io_uring backend: readiness through io_uring poll requests.
//
// One issuer
//   A poll request's completion runs as task work of the thread that
//   submitted it. The kernel runs that work when the thread next enters or
//   leaves the kernel, and wakes it for the purpose only from an
//   interruptible sleep, where the wake-up makes the thread's own system call
//   fail with EINTR if the kernel does not restart it (a read with
//   SO_RCVTIMEO). So a request submitted by an arbitrary caller of Add is
//   reported late when that thread sleeps uninterruptibly (the parent of
//   vfork()), and interrupts that thread's unrelated calls. Hence: only the
//   thread inside Wait submits poll requests. Add, Modify and Rearm check the
//   handle, change the table under mutex_ and queue the registration in
//   pending_; if the Wait in progress may block in the kernel, the caller
//   ends its kernel wait by writing to an eventfd (signal_) that the waiter
//   keeps a multishot poll request on (each write is a wake-up of it; the
//   counter is never read). The waiter then submits what is pending with its
//   next kernel wait, in the same io_uring_enter
//   (io_uring_submit_and_wait_timeout), so a re-arm costs no system call of
//   its own. Every completion is then task work of the thread that is in
//   io_uring_enter or about to be.
//
//   While a Wait is inside the backend it holds the submission queue
//   (waiting_): the entries it queued are submitted by its own kernel wait,
//   and no other thread submits meanwhile (its io_uring_enter would take the
//   waiter's entries, and their completions would run on it). With no Wait
//   in progress, Delete submits its cancellation itself: a cancellation
//   creates no task work for its submitter, and the file (a socket's FIN) is
//   released without waiting for the next Wait.
//
//   When the thread that waits is not the one that submitted the requests in
//   flight (issuer_; a program may wait from several threads in turn), that
//   Wait cancels and re-arms every request first: O(registrations), once per
//   change of waiting thread. When that thread exits, the kernel cancels its
//   requests (-ECANCELED), and the next Wait re-arms each one it sees
//   cancelled; nothing else is done at a thread's exit.
//
// Requests
//   Each registration has at most one poll request in flight; its user_data
//   is the descriptor (low 32 bits) and a serial (high 32 bits) that changes
//   every time the backend arms a request. A completion is reported only if
//   its serial is the one in the table and the registration is armed: a
//   change (Modify, Rearm) disarms the registration until its new request is
//   armed, so a completion of the old request is dropped, never reported
//   under the new token nor counted against the new arm; the new request
//   reports what is ready under the new interest. Requests are cancelled
//   with IORING_OP_ASYNC_CANCEL, not IORING_OP_POLL_REMOVE, which fails
//   (EALREADY) while the request's completion is being run and leaves it
//   holding its file open.
//
//   kEdge is a multishot poll; kLevel a single-shot poll re-armed by each
//   Wait after an event (so reported once per Wait while ready); kOneshot and
//   kEdgeOneshot a single-shot poll armed again only by Modify or Rearm.
//   Priority interest without readable interest is polled with a multishot
//   request that also asks for POLLIN (filtered out): Linux does not complete
//   an io_uring poll for POLLPRI alone when TCP urgent data arrives, and a
//   single-shot request would complete on every plain byte and spin. A
//   completion claiming POLLPRI is confirmed with poll(2), since io_uring may
//   report the wake-up's mask.
//
// Exactly what epoll reports
//   The kernel adds POLLRDHUP, POLLHUP and POLLERR to every io_uring poll
//   request. A completion is filtered through the registration's interest as
//   epoll filters: read-hang-up is hang-up only with readable interest. A
//   socket whose peer shut down its sending side is always POLLRDHUP-ready,
//   so a single-shot request for writable alone would complete at once on
//   every arm; a completion left with nothing the registration asked for
//   re-arms it with a multishot request, which completes only on the file's
//   next wake-up (until_wakeup), and the mode is then kept as for
//   priority-only interest.
//
// Identity
//   A request in the kernel holds its open file, so a completion always
//   belongs to the file the request was armed on. An arm is submitted after
//   the call that asked for it, so before submitting one the waiter checks
//   that the number still names the registered file (OpenFileSet: one
//   epoll_ctl on a private set, exact for every kind of file): a file closed
//   without Delete whose number was reused is not watched under the old token,
//   and its registration ends silently. The set confirms such an answer with
//   a second call before giving it, so an injected or passing failure of one
//   call never ends a registration: a check that fails leaves the arm due,
//   and the Wait peeks and returns the error (after EINTR, retried a few
//   times, it returns as interrupted).
//
// Lost completions
//   With IORING_FEAT_NODROP the kernel keeps completions beyond the queue's
//   4096 in an overflow list, which liburing flushes when it waits. If it
//   cannot allocate one it drops it and the next io_uring_enter fails once
//   with EBADR: the Wait then re-arms every armed registration, so a dropped
//   oneshot or level event is reported again rather than lost (an edge
//   registration that is ready is reported once more).
//
// Refusals
//   Add, Modify and Rearm submit nothing, so the kernel cannot refuse them;
//   a request the kernel refuses later reaches the caller: a submission
//   refused (EAGAIN, EBUSY) stays pending and the Wait that tried returns the
//   error if it has no event; a request that fails reports kError for its
//   token. Wake and signals write an eventfd, which the kernel does not
//   refuse for want of memory.

#include "backends/io_uring/io_uring_backend.h"

#include <liburing.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/io_uring/io_uring_internal.h"
#include "backends/io_uring/io_uring_poller.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/registration_errors.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

using io_uring_internal::UringCall;

constexpr unsigned kSubmissionEntries = 256;
// Completions beyond this wait in the kernel's overflow list
// (IORING_FEAT_NODROP) until a Wait makes room.
constexpr unsigned kCompletionEntries = 4096;

// A number for the calling thread, never reused within the process (a thread
// id may be reused once its thread has exited). Relaxed: only uniqueness is
// needed, which the atomic increment gives on its own.
std::uint64_t ThisThread() {
  static std::atomic<std::uint64_t> next{1};
  thread_local const std::uint64_t number =
      next.fetch_add(1, std::memory_order_relaxed);
  return number;
}

// Runs `call` (which returns -errno) on a short-lived thread of its own. The
// kernel counts the thread that creates a ring among those that used it, and
// when the ring is destroyed it queues work for each such thread that is
// still alive, which interrupts a blocking call of that thread (EINTR): the
// thread that creates a poller must not be one. -EAGAIN if no thread can be
// started.
template <typename Call>
int OnItsOwnThread(Call&& call) {
  struct Job {
    Call* call;
    int result;
  } job{&call, -EAGAIN};
  pthread_t thread;
  const int started = pthread_create(
      &thread, nullptr,
      [](void* argument) -> void* {
        Job* job = static_cast<Job*>(argument);
        job->result = (*job->call)();
        return nullptr;
      },
      &job);
  if (started != 0) return -started;
  pthread_join(thread, nullptr);
  return job.result;
}

// Modify, Rearm or Delete of one of the poller's own descriptors, which no
// caller registered.
absl::Status OwnDescriptorError(int fd) {
  return internal::ErrnoToStatus(
      absl::StatusCode::kNotFound, ENOENT, "", fd,
      "not registered (it is one of the poller's own descriptors)");
}

absl::Status Unavailable(int error, absl::string_view why) {
  return absl::UnavailableError(absl::StrCat(
      internal::ErrnoToStatus(error, "io_uring_queue_init").message(), ": ",
      why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> IoUringBackend::Create() {
  return Create(Options());
}

absl::StatusOr<std::unique_ptr<Backend>> IoUringBackend::Create(
    Options options) {
  auto ring = std::make_unique<io_uring>();
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
  params.cq_entries = kCompletionEntries;
  // The kernel frees a closed ring's memory in the background, and charges it
  // to the user's locked-memory limit until then: right after other rings were
  // destroyed, ENOMEM is usually that backlog. Give it a moment (up to about
  // 60 ms in all) before calling the failure real.
  int result = -1;
  for (int attempt = 0; attempt < 6; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2 << attempt));
    }
    result = UringCall("io_uring_queue_init", [&] {
      return OnItsOwnThread([&] {
        // A cooperative ring (5.19+) does not interrupt a submitting thread
        // that runs in user space to post its completions (an inter-processor
        // interrupt each, costly in a VM); EINVAL on older kernels.
        io_uring_params cooperative = params;
        cooperative.flags |=
            IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
        const int made = io_uring_queue_init_params(kSubmissionEntries,
                                                    ring.get(), &cooperative);
        if (made != -EINVAL) {
          params = cooperative;
          return made;
        }
        return io_uring_queue_init_params(kSubmissionEntries, ring.get(),
                                          &params);
      });
    });
    if (result >= 0 || errno != ENOMEM) break;
  }
  if (result < 0) {
    const int error = errno;
    if (error == ENOSYS || error == EPERM || error == EACCES) {
      return Unavailable(error,
                         "io_uring is refused here (kernel without io_uring, "
                         "the kernel.io_uring_disabled sysctl, or a seccomp "
                         "filter)");
    }
    return internal::ErrnoToStatus(error, "io_uring_queue_init");
  }
  constexpr unsigned kRequired = IORING_FEAT_EXT_ARG | IORING_FEAT_RSRC_TAGS;
  if ((params.features & kRequired) != kRequired) {
    io_uring_queue_exit(ring.get());
    return Unavailable(ENOSYS,
                       "the kernel is older than 5.13 (no multishot poll or "
                       "IORING_FEAT_EXT_ARG)");
  }
  absl::StatusOr<internal::EventFdWaker> signal =
      internal::EventFdWaker::Create();
  if (!signal.ok()) {
    io_uring_queue_exit(ring.get());
    return signal.status();
  }
  absl::StatusOr<internal::OpenFileSet> files = internal::OpenFileSet::Create();
  if (!files.ok()) {
    io_uring_queue_exit(ring.get());
    return files.status();
  }
  return std::unique_ptr<Backend>(new IoUringPoller(
      std::move(ring), *std::move(signal), *std::move(files), options));
}

IoUringPoller::IoUringPoller(std::unique_ptr<io_uring> ring,
                             internal::EventFdWaker signal,
                             internal::OpenFileSet files, Options options)
    : options_(options),
      ring_(std::move(ring)),
      ring_fd_(ring_->ring_fd),
      signal_(std::move(signal)),
      files_(std::move(files)),
      batch_(new BatchEntry[ring_->sq.ring_entries]),
      batch_capacity_(ring_->sq.ring_entries),
      pid_(::getpid()) {}

IoUringPoller::~IoUringPoller() {
  // Closing the ring cancels every request still in flight, but later: the
  // kernel's teardown runs on a worker after the close, and the cancelled
  // requests complete as task work of the thread that submitted them. Until
  // then each holds its file open (a socket closed meanwhile sends no FIN),
  // and that work, queued on the issuing thread, delayed the reports of the
  // thread's other rings by up to 50 ms (a new poller's first edge report,
  // made as task work, missed the Wait that returned another event; found
  // by the fuzzer). So the issuing thread cancels every request itself
  // first, which completes them before it returns. Another thread does not:
  // it would become a thread the kernel interrupts when the ring goes (see
  // "One issuer"); nor does a forked child, whose ring is its parent's.
  if (issuer_ != 0 && issuer_ == ThisThread() && ::getpid() == pid_) {
    CancelEverythingLocked();
  }
  io_uring_queue_exit(ring_.get());
}

bool IoUringPoller::SupportsMode(Mode) const { return true; }

bool IoUringPoller::PromisedLocked(int handle) const {
  if (!options_.deleted_before_close) return false;
  auto found = registrations_.find(handle);
  return found != registrations_.end() && !found->second.ended;
}

bool IoUringPoller::NeedsSignalLocked() {
  if (!may_block_ || signalled_) return false;
  signalled_ = true;
  return true;
}

absl::Status IoUringPoller::Signal() { return signal_.Wake(); }

absl::Status IoUringPoller::Wake() { return Signal(); }

absl::Status IoUringPoller::Add(NativeHandle handle, Token token,
                                Interest interest, Mode mode) {
  if (handle == ring_fd_) {
    return internal::WatchesItselfError(handle);
  }
  if (handle == signal_.fd() || handle == files_.fd()) {
    return internal::OwnWakeDescriptorError(internal::Operation::kAdd, handle);
  }
  bool signal;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = registrations_.find(handle);
    // An ended registration (its file closed without Delete) is not one: its
    // number may be added again, and this registration replaces it.
    const bool registered =
        found != registrations_.end() && !found->second.ended;
    absl::StatusOr<bool> inserted = files_.Insert(handle, registered);
    if (!inserted.ok()) return inserted.status();
    if (!*inserted) return internal::AlreadyRegisteredError(handle);
    // A file closed without Delete whose number was reused: replace it (its
    // request still holds the old file open).
    if (found != registrations_.end()) DropLocked(handle);
    Registration& registration = registrations_[handle];
    registration.token = token;
    registration.interest = interest;
    registration.mode = mode;
    registration.generation = ++changes_;
    ReserveLocked();
    // Armed by the waiting thread (see "One issuer").
    RearmLocked(handle, registration);
    signal = NeedsSignalLocked();
  }
  // The change is made; a failed signal only leaves it to the Wait's next
  // return, and the next change signals again.
  if (signal && !Signal().ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    signalled_ = false;
  }
  return absl::OkStatus();
}

absl::Status IoUringPoller::Modify(NativeHandle handle, Token token,
                                   Interest interest, Mode mode) {
  return ChangeRegistration(internal::Operation::kModify, handle, token,
                            interest, mode);
}

absl::Status IoUringPoller::Rearm(NativeHandle handle) {
  return ChangeRegistration(internal::Operation::kRearm, handle, 0,
                            Interest::kNone, Mode::kOneshot);
}

absl::Status IoUringPoller::ChangeRegistration(internal::Operation operation,
                                               NativeHandle handle, Token token,
                                               Interest interest, Mode mode) {
  if (handle == ring_fd_ || handle == signal_.fd()) {
    return OwnDescriptorError(handle);
  }
  bool signal;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool not_pollable = false;
    absl::StatusOr<bool> same_file =
        PromisedLocked(handle) ? true : files_.Contains(handle, &not_pollable);
    // A check that failed for a passing reason (EINTR, ENOMEM...) says
    // nothing about the registration: keep it, so the call can be retried.
    // Only a closed descriptor or one that now names an unpollable file ends
    // it.
    if (!same_file.ok() && !not_pollable) return same_file.status();
    auto found = registrations_.find(handle);
    if (!same_file.ok() || !*same_file || found == registrations_.end() ||
        found->second.ended) {
      // A closed descriptor's registration, or one whose number now names
      // another file, is gone, as it would be with epoll; its request is
      // cancelled by the next Wait.
      if (found != registrations_.end()) DropLocked(handle);
      if (!same_file.ok()) return same_file.status();
      if (*same_file) files_.Erase(handle);  // A record Delete left behind.
      return internal::NotRegisteredError(handle);
    }
    Registration& registration = found->second;
    if (operation == internal::Operation::kRearm) {
      if (!IsOneshot(registration.mode)) {
        return internal::NotOneshotError(handle, registration.mode);
      }
      // Not fired yet: it stays armed as it is.
      if (registration.armed && registration.live && !registration.rearm) {
        return absl::OkStatus();
      }
      token = registration.token;
      interest = registration.interest;
      mode = registration.mode;
    }
    registration.token = token;
    registration.interest = interest;
    registration.mode = mode;
    // Completions of the old request are dropped until the new one is armed.
    // (A request a Wait is submitting right now is armed with the old
    // settings: its commit sees the generation changed and leaves this for
    // the next submission.)
    registration.generation = ++changes_;
    registration.armed = false;
    registration.until_wakeup = false;
    RearmLocked(handle, registration);
    signal = NeedsSignalLocked();
  }
  if (signal && !Signal().ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    signalled_ = false;
  }
  return absl::OkStatus();
}

absl::Status IoUringPoller::Delete(NativeHandle handle) {
  if (handle == ring_fd_ || handle == signal_.fd()) {
    return OwnDescriptorError(handle);
  }
  absl::Status status;
  bool signal = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool not_pollable = false;
    absl::StatusOr<bool> same_file =
        PromisedLocked(handle) ? true : files_.Contains(handle, &not_pollable);
    // A check that failed for a passing reason (EINTR, ENOMEM...) says
    // nothing about the registration: keep it, so the call can be retried.
    // Only a closed descriptor or one that now names an unpollable file ends
    // it.
    if (!same_file.ok() && !not_pollable) return same_file.status();
    auto found = registrations_.find(handle);
    if (found == registrations_.end()) {
      if (!same_file.ok()) return same_file.status();
      if (*same_file) files_.Erase(handle);  // A record Delete left behind.
      return internal::NotRegisteredError(handle);
    }
    if (!same_file.ok()) {
      status = same_file.status();
    } else if (!*same_file || found->second.ended) {
      status = internal::NotRegisteredError(handle, /*closed=*/true);
    } else if (!options_.deleted_before_close) {
      // (With the promise the record is left: it leaves the set with the
      // file's last close, and an Add of the same file replaces it.)
      files_.Erase(handle);
    }
    // Gone at once: no Wait that starts from now on reports its token. Its
    // request is cancelled now if this is the issuing thread and no Wait
    // holds the submission queue (a refusal leaves it to the next Wait), or
    // else by the next submission of the waiting thread.
    DropLocked(handle);
    if (!orphans_.empty()) {
      // Only the issuing thread submits: any other thread's io_uring_enter
      // would make it one the kernel signals when the ring is destroyed.
      if (waiting_ || issuer_ != ThisThread()) {
        signal = NeedsSignalLocked();
      } else {
        QueueOrphansLocked();
        int ignored;
        SubmitBatchLocked(&ignored);
      }
    }
  }
  if (signal && !Signal().ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    signalled_ = false;
  }
  return status;
}

absl::StatusOr<WaitResult> IoUringPoller::Wait(absl::Span<Event> events,
                                               absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  waiting_ = true;
  const std::uint64_t thread = ThisThread();
  if (issuer_ != thread) {
    // The requests in flight run their completions on another thread.
    if (issuer_ != 0) ResubmitAllLocked();
    issuer_ = thread;
  }
  const absl::Status flushed = FlushLocked();
  // If the flush failed a registration may not be armed: this Wait only
  // collects what is there and then reports the failure.
  const bool peek = timeout <= absl::ZeroDuration() || !flushed.ok();
  may_block_ = !peek;
  signalled_ = false;
  const unsigned queued = batch_size_;
  const unsigned head_before =
      __atomic_load_n(ring_->sq.khead, __ATOMIC_ACQUIRE);
  // Without the lock: other threads change registrations meanwhile (queued
  // for the next submission, and signalled), and their signals end this
  // wait. This thread alone submits until waiting_ is cleared.
  lock.unlock();

  static constexpr char kPeek[] = "io_uring_peek_cqe";
  io_uring_cqe* completion = nullptr;
  int waited = 0;
  const char* operation;
  if (peek && queued > 0) {
    operation = "io_uring_submit";
    waited = UringCall(operation, [&] { return io_uring_submit(ring_.get()); });
    if (waited >= 0) {
      operation = kPeek;
      waited = UringCall(operation, [&] {
        return io_uring_peek_cqe(ring_.get(), &completion);
      });
    }
  } else if (peek) {
    operation = kPeek;
    waited = UringCall(
        operation, [&] { return io_uring_peek_cqe(ring_.get(), &completion); });
  } else {
    __kernel_timespec kernel_timespec{};
    __kernel_timespec* limit = nullptr;
    if (timeout != absl::InfiniteDuration()) {
      struct timespec timespec;
      internal::TimeoutToTimespec(timeout, &timespec);
      kernel_timespec.tv_sec = timespec.tv_sec;
      kernel_timespec.tv_nsec = timespec.tv_nsec;
      limit = &kernel_timespec;
    }
    operation = "io_uring_submit_and_wait_timeout";
    waited = io_uring_internal::UringKernelWait(operation, [&] {
      return io_uring_submit_and_wait_timeout(ring_.get(), &completion, 1,
                                              limit, nullptr);
    });
  }
  const int wait_error = waited < 0 ? errno : 0;

  // Whatever the kernel said, what is in the completion queue is delivered
  // (after EBUSY it is what the kernel wants consumed).
  WaitResult result;
  lock.lock();
  unsigned taken =
      __atomic_load_n(ring_->sq.khead, __ATOMIC_ACQUIRE) - head_before;
  if (taken > queued) taken = queued;
  CommitBatchLocked(taken);
  waiting_ = false;
  may_block_ = false;
  ReapLocked(events, result);
  // Completions were dropped: whatever was armed is armed again.
  if (wait_error == EBADR) ResubmitAllLocked();
  lock.unlock();

  if (result.count > 0 || result.woken) return result;
  // The identity check before an arm was interrupted again and again: the
  // arm stays due, and the Wait returns as one a signal interrupted.
  if (flushed.code() == absl::StatusCode::kAborted) {
    result.interrupted = true;
    return result;
  }
  if (!flushed.ok()) return flushed;
  switch (wait_error) {
    case 0:
    case ETIME:  // The timeout passed.
    case EBADR:  // Re-armed above; the next Wait submits.
      return result;
    case EAGAIN:
      // Nothing there (the peek's answer); from a submission or a blocking
      // wait an error: what was due stays due, and Poller's loop would spin
      // on it.
      if (operation == kPeek) return result;
      break;
    case EINTR:
      result.interrupted = true;
      return result;
  }
  return internal::ErrnoToStatus(wait_error, operation, ring_fd_);
}

}  // namespace poller
