// Copyright 2026 The poller Authors.

#include "backends/io_uring/io_uring_backend.h"

#include <liburing.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "poller/internal/errno_status.h"
#include "poller/internal/syscall.h"
#include "poller/internal/timeout.h"

namespace poller {
namespace {

constexpr unsigned kSubmissionEntries = 256;
// Completions beyond this wait in the kernel's overflow list
// (IORING_FEAT_NODROP) until a Wait makes room.
constexpr unsigned kCompletionEntries = 4096;

// user_data: a registration's is (generation << 32) | fd with generation below
// 2^31, so bit 63 marks the backend's own requests (and liburing's
// LIBURING_UDATA_TIMEOUT, all ones).
constexpr std::uint64_t kInternalBit = std::uint64_t{1} << 63;
constexpr std::uint64_t kWakeUserData = kInternalBit | 1;
constexpr std::uint64_t kCancelUserData = kInternalBit | 2;
constexpr std::uint32_t kMaxGeneration = 0x7fffffff;

std::uint64_t UserData(int fd, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}

// Runs a liburing call (which returns -errno) through the fault-injection seam,
// giving the -1-and-errno convention internal::Syscall expects.
template <typename Call>
int UringCall(const char* name, Call&& call) {
  return internal::Syscall(name, [&] {
    const int result = call();
    if (result < 0) {
      errno = -result;
      return -1;
    }
    return result;
  });
}

// Priority interest without readable interest. The kernel does not complete
// an io_uring poll for POLLPRI alone when TCP urgent data arrives (measured on
// Linux 6.18: the wake-up is filtered out, while poll(2) and epoll see it), so
// such a registration also asks for POLLIN, filters it out of its events, and
// uses a multishot request whatever its mode: a single-shot one would complete
// on every plain byte and, re-armed, spin while the byte stays unread.
bool PriorityOnly(Interest interest) {
  return HasInterest(interest, Interest::kPriority) &&
         !HasInterest(interest, Interest::kReadable);
}

unsigned PollMask(Interest interest) {
  unsigned mask = 0;
  if (HasInterest(interest, Interest::kReadable)) mask |= POLLIN | POLLRDHUP;
  if (HasInterest(interest, Interest::kWritable)) mask |= POLLOUT;
  if (HasInterest(interest, Interest::kPriority)) mask |= POLLPRI;
  if (PriorityOnly(interest)) mask |= POLLIN;
  return mask;
}

Readiness FromPollMask(unsigned mask) {
  Readiness readiness = Readiness::kNone;
  if (mask & POLLIN) readiness |= Readiness::kReadable;
  if (mask & POLLOUT) readiness |= Readiness::kWritable;
  if (mask & POLLPRI) readiness |= Readiness::kPriority;
  if (mask & (POLLHUP | POLLRDHUP)) readiness |= Readiness::kHangUp;
  if (mask & POLLERR) readiness |= Readiness::kError;
  return readiness;
}

bool Has(Readiness set, Readiness bit) {
  return (set & bit) != Readiness::kNone;
}

Readiness Without(Readiness set, Readiness bit) {
  return static_cast<Readiness>(static_cast<std::uint8_t>(set) &
                                ~static_cast<std::uint8_t>(bit));
}

// io_uring may complete a poll with the wake-up's own mask instead of polling
// the file again, and a TCP socket's data wake-up names POLLPRI too: every
// plain byte would look urgent. A poll(2) of the one descriptor says whether
// urgent data is really there (only for completions that claim it).
bool StillPriority(int fd) {
  pollfd entry{fd, POLLPRI, 0};
  const int ready =
      internal::Syscall("poll", [&] { return ::poll(&entry, 1, 0); });
  // If the check itself fails, keep what the kernel said.
  return ready != 0 && (ready < 0 || (entry.revents & POLLPRI) != 0);
}

// The rings a thread has submitted to. A poll request's completion runs as
// task work of its submitter; once that thread is gone the kernel completes a
// woken request late (from a worker, a jiffy on) and only with -ECANCELED, so
// the thread's exit tells each ring still alive to re-submit its requests.
class SubmitterThread {
 public:
  ~SubmitterThread() {
    for (const std::weak_ptr<std::atomic<bool>>& ring : rings_) {
      if (auto exited = ring.lock()) exited->store(true);
    }
  }

  void Note(const std::shared_ptr<std::atomic<bool>>& exited) {
    for (const std::weak_ptr<std::atomic<bool>>& ring : rings_) {
      if (!ring.owner_before(exited) && !exited.owner_before(ring)) return;
    }
    // Once per thread and ring: the rings destroyed since are forgotten.
    rings_.erase(std::remove_if(rings_.begin(), rings_.end(),
                                [](const std::weak_ptr<std::atomic<bool>>& r) {
                                  return r.expired();
                                }),
                 rings_.end());
    rings_.push_back(exited);
  }

 private:
  std::vector<std::weak_ptr<std::atomic<bool>>> rings_;
};

thread_local SubmitterThread submitter_thread;

absl::Status Unavailable(int error, absl::string_view why) {
  return absl::UnavailableError(absl::StrCat(
      internal::ErrnoToStatus(error, "io_uring_queue_init").message(), ": ",
      why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> IoUringBackend::Create() {
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
      return io_uring_queue_init_params(kSubmissionEntries, ring.get(),
                                        &params);
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
  return std::unique_ptr<Backend>(new IoUringBackend(std::move(ring)));
}

IoUringBackend::IoUringBackend(std::unique_ptr<io_uring> ring)
    : ring_(std::move(ring)), ring_fd_(ring_->ring_fd) {}

IoUringBackend::~IoUringBackend() {
  // Closing the ring cancels every request still in flight.
  io_uring_queue_exit(ring_.get());
}

bool IoUringBackend::SupportsMode(Mode) const { return true; }

io_uring_sqe* IoUringBackend::GetEntryLocked() {
  io_uring_sqe* entry = io_uring_get_sqe(ring_.get());
  if (entry != nullptr) return entry;
  (void)SubmitLocked("io_uring_submit");
  return io_uring_get_sqe(ring_.get());
}

absl::Status IoUringBackend::ArmLocked(int fd, Registration& registration) {
  io_uring_sqe* entry = GetEntryLocked();
  if (entry == nullptr) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kResourceExhausted, EBUSY, "io_uring_get_sqe", fd,
        "the submission queue is full and the kernel takes no more");
  }
  registration.generation = next_generation_;
  next_generation_ =
      next_generation_ == kMaxGeneration ? 1 : next_generation_ + 1;
  const unsigned mask = PollMask(registration.interest);
  if (registration.mode == Mode::kEdge || PriorityOnly(registration.interest)) {
    io_uring_prep_poll_multishot(entry, fd, mask);
  } else {
    io_uring_prep_poll_add(entry, fd, mask);
  }
  io_uring_sqe_set_data64(entry, UserData(fd, registration.generation));
  registration.armed = true;
  return absl::OkStatus();
}

absl::Status IoUringBackend::DisarmLocked(int fd, Registration& registration) {
  if (!registration.armed) return absl::OkStatus();
  io_uring_sqe* entry = GetEntryLocked();
  if (entry == nullptr) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kResourceExhausted, EBUSY, "io_uring_get_sqe", fd,
        "the submission queue is full and the kernel takes no more");
  }
  // IORING_OP_ASYNC_CANCEL, not IORING_OP_POLL_REMOVE: the latter fails with
  // EALREADY while the request's completion is being run (a request that was
  // ready when armed, submitted in the same batch), and the request then
  // lives on, holding its file open.
  io_uring_prep_cancel64(entry, UserData(fd, registration.generation), 0);
  io_uring_sqe_set_data64(entry, kCancelUserData);
  // The removal's own result is of no interest: skip its completion where the
  // kernel can (5.17+), halving the completions Modify and Delete cost.
  if (ring_->features & IORING_FEAT_CQE_SKIP) {
    entry->flags |= IOSQE_CQE_SKIP_SUCCESS;
  }
  // Whatever completion of the old generation is still in flight is now stale.
  registration.armed = false;
  return absl::OkStatus();
}

absl::Status IoUringBackend::SubmitLocked(const char* operation) {
  submitter_thread.Note(submitter_exited_);
  if (UringCall("io_uring_submit",
                [&] { return io_uring_submit(ring_.get()); }) >= 0) {
    return absl::OkStatus();
  }
  // The kernel is short of room for completions (older kernels) or memory for
  // a moment: the requests stay queued and the next submission, at the latest
  // the next Wait's, hands them over.
  if (errno == EAGAIN || errno == EBUSY || errno == EINTR) {
    return absl::OkStatus();
  }
  return internal::ErrnoToStatus(errno, operation, ring_fd_);
}

void IoUringBackend::RearmAllLocked() {
  for (auto& [fd, registration] : registrations_) {
    if (!registration.armed) continue;
    // Best effort, as for a level re-arm: a request the kernel cannot take
    // now leaves the registration disarmed until Modify.
    (void)DisarmLocked(fd, registration);
    (void)ArmLocked(fd, registration);
  }
}

void IoUringBackend::DropLocked(int fd) {
  auto found = registrations_.find(fd);
  if (found == registrations_.end()) return;
  (void)DisarmLocked(fd, found->second);
  registrations_.erase(found);
}

absl::Status IoUringBackend::Add(NativeHandle handle, Token token,
                                 Interest interest, Mode mode) {
  if (handle == ring_fd_) {
    return internal::ErrnoToStatus(absl::StatusCode::kInvalidArgument, EINVAL,
                                   "Add", handle,
                                   "a poller cannot watch itself");
  }
  FileIdentity identity;
  absl::Status inspected = InspectPollableFile("Add", handle, &identity);
  if (!inspected.ok()) return inspected;

  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found != registrations_.end()) {
    if (found->second.identity == identity) {
      return internal::ErrnoToStatus(absl::StatusCode::kAlreadyExists, EEXIST,
                                     "Add", handle,
                                     "already registered in this poller");
    }
    // A file closed without Delete whose number was reused: replace it (its
    // request still holds the old file open).
    DropLocked(handle);
  }
  Registration registration{token,
                            interest,
                            mode,
                            /*armed=*/false,
                            /*generation=*/0,
                            identity};
  absl::Status armed = ArmLocked(handle, registration);
  if (!armed.ok()) return armed;
  registrations_.insert_or_assign(handle, registration);
  absl::Status submitted = SubmitLocked("io_uring_submit(POLL_ADD)");
  if (!submitted.ok()) DropLocked(handle);
  return submitted;
}

absl::Status IoUringBackend::Modify(NativeHandle handle, Token token,
                                    Interest interest, Mode mode) {
  if (handle == ring_fd_) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kNotFound, ENOENT, "Modify", handle,
        "not registered (it is the poller's own ring)");
  }
  FileIdentity identity;
  bool not_pollable = false;
  absl::Status inspected =
      InspectPollableFile("Modify", handle, &identity, &not_pollable);
  // A check that failed for a passing reason (EINTR, ENOMEM...) says nothing
  // about the registration: keep it, so the call can be retried. Only a
  // closed descriptor or one that now names an unpollable file ends it.
  if (!inspected.ok() && !not_pollable) return inspected;
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (!inspected.ok() || found == registrations_.end() ||
      found->second.identity != identity) {
    // A closed descriptor's registration, or one whose number now names
    // another file, is gone, as it would be with epoll.
    if (found != registrations_.end()) {
      DropLocked(handle);
      (void)SubmitLocked("io_uring_submit(ASYNC_CANCEL)");
    }
    if (!inspected.ok()) return inspected;
    return internal::ErrnoToStatus(absl::StatusCode::kNotFound, ENOENT,
                                   "Modify", handle,
                                   "not registered in this poller");
  }
  Registration& registration = found->second;
  absl::Status disarmed = DisarmLocked(handle, registration);
  if (!disarmed.ok()) return disarmed;
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  absl::Status armed = ArmLocked(handle, registration);
  if (!armed.ok()) return armed;
  return SubmitLocked("io_uring_submit(POLL_ADD)");
}

absl::Status IoUringBackend::Delete(NativeHandle handle) {
  if (handle == ring_fd_) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kNotFound, ENOENT, "Delete", handle,
        "not registered (it is the poller's own ring)");
  }
  FileIdentity identity;
  bool not_pollable = false;
  absl::Status inspected =
      InspectPollableFile("Delete", handle, &identity, &not_pollable);
  // A check that failed for a passing reason (EINTR, ENOMEM...) says nothing
  // about the registration: keep it, so the call can be retried. Only a
  // closed descriptor or one that now names an unpollable file ends it.
  if (!inspected.ok() && !not_pollable) return inspected;
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = registrations_.find(handle);
  if (found == registrations_.end()) {
    if (!inspected.ok()) return inspected;
    return internal::ErrnoToStatus(absl::StatusCode::kNotFound, ENOENT,
                                   "Delete", handle,
                                   "not registered in this poller");
  }
  const bool same_file = inspected.ok() && found->second.identity == identity;
  DropLocked(handle);
  absl::Status submitted = SubmitLocked("io_uring_submit(ASYNC_CANCEL)");
  if (!inspected.ok()) return inspected;
  if (!same_file) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kNotFound, ENOENT, "Delete", handle,
        "not registered in this poller (the registered file was closed)");
  }
  // The registration is gone either way; a failed submission only delays the
  // cancellation of its request.
  (void)submitted;
  return absl::OkStatus();
}

absl::StatusOr<WaitResult> IoUringBackend::Wait(absl::Span<Event> events,
                                                absl::Duration timeout) {
  WaitResult result;
  {
    // Level re-arms queued by the last Wait.
    std::lock_guard<std::mutex> lock(mutex_);
    if (submitter_exited_->exchange(false)) RearmAllLocked();
    if (io_uring_sq_ready(ring_.get()) > 0) {
      absl::Status submitted = SubmitLocked("io_uring_submit");
      if (!submitted.ok()) return submitted;
    }
  }

  // Blocks without the lock: other threads submit meanwhile, and their
  // completions end this wait.
  io_uring_cqe* completion = nullptr;
  int waited;
  const char* operation;
  if (timeout <= absl::ZeroDuration()) {
    operation = "io_uring_peek_cqe";
    waited = UringCall(
        operation, [&] { return io_uring_peek_cqe(ring_.get(), &completion); });
  } else if (timeout == absl::InfiniteDuration()) {
    operation = "io_uring_wait_cqe";
    waited = UringCall(
        operation, [&] { return io_uring_wait_cqe(ring_.get(), &completion); });
  } else {
    struct timespec timespec;
    internal::TimeoutToTimespec(timeout, &timespec);
    __kernel_timespec kernel_timespec{};
    kernel_timespec.tv_sec = timespec.tv_sec;
    kernel_timespec.tv_nsec = timespec.tv_nsec;
    operation = "io_uring_wait_cqe_timeout";
    waited = UringCall(operation, [&] {
      return io_uring_wait_cqe_timeout(ring_.get(), &completion,
                                       &kernel_timespec);
    });
  }
  if (waited < 0) {
    if (errno == ETIME || errno == EAGAIN) return result;  // Nothing came.
    if (errno == EINTR) {
      result.interrupted = true;
      return result;
    }
    return internal::ErrnoToStatus(errno, operation, ring_fd_);
  }

  std::lock_guard<std::mutex> lock(mutex_);
  ++wait_serial_;
  unsigned head;
  unsigned consumed = 0;
  io_uring_for_each_cqe(ring_.get(), head, completion) {
    if (result.count == events.size()) break;  // The rest wait in the queue.
    ++consumed;
    const std::uint64_t user_data = io_uring_cqe_get_data64(completion);
    if (user_data == kWakeUserData) {
      result.woken = true;
      continue;
    }
    if (user_data & kInternalBit) continue;
    const int fd = static_cast<int>(static_cast<std::uint32_t>(user_data));
    const auto generation = static_cast<std::uint32_t>(user_data >> 32);
    auto found = registrations_.find(fd);
    // Cancelled by Modify or Delete, or the file was replaced: stale.
    if (found == registrations_.end() || !found->second.armed ||
        found->second.generation != generation) {
      continue;
    }
    Registration& registration = found->second;
    const bool more = (completion->flags & IORING_CQE_F_MORE) != 0;
    if (!more) registration.armed = false;

    if (completion->res == -ECANCELED) {
      // Cancelled by the kernel, not by us: ask again, report nothing.
      if (!registration.armed) (void)ArmLocked(fd, registration);
      continue;
    }
    Readiness readiness = Readiness::kError;
    if (completion->res >= 0) {
      readiness = FromPollMask(static_cast<unsigned>(completion->res));
      if (Has(readiness, Readiness::kPriority) && !StillPriority(fd)) {
        readiness = Without(readiness, Readiness::kPriority);
      }
      if (PriorityOnly(registration.interest)) {
        readiness = Without(readiness, Readiness::kReadable);
      }
      if (readiness == Readiness::kNone) {
        // Only the filtered-out POLLIN: keep (or renew) the request.
        if (!registration.armed) (void)ArmLocked(fd, registration);
        continue;
      }
      switch (registration.mode) {
        case Mode::kOneshot:
        case Mode::kEdgeOneshot:
          // A multishot request (priority only) must stop here.
          (void)DisarmLocked(fd, registration);
          break;
        case Mode::kLevel:
          // Queued now, submitted by the next Wait: a level handle that is
          // still ready then completes at once, so it is reported once per
          // Wait.
          (void)DisarmLocked(fd, registration);
          (void)ArmLocked(fd, registration);
          break;
        case Mode::kEdge:
          if (!registration.armed) (void)ArmLocked(fd, registration);
          break;
      }
    }
    // A failed request (negative result) stays disarmed until Modify:
    // re-arming would fail the same way.
    // A multishot request may have completed more than once since the last
    // Wait: one event per handle per Wait, with the readiness merged.
    if (registration.reported_in_wait == wait_serial_) {
      Event& earlier = events[registration.event_index];
      earlier = Event(earlier.token(), earlier.readiness() | readiness);
      continue;
    }
    registration.reported_in_wait = wait_serial_;
    registration.event_index = result.count;
    events[result.count++] = Event(registration.token, readiness);
  }
  io_uring_cq_advance(ring_.get(), consumed);
  return result;
}

absl::Status IoUringBackend::Notify() {
  std::lock_guard<std::mutex> lock(mutex_);
  io_uring_sqe* entry = GetEntryLocked();
  if (entry == nullptr) {
    return internal::ErrnoToStatus(
        absl::StatusCode::kResourceExhausted, EBUSY, "io_uring_get_sqe",
        ring_fd_, "the submission queue is full and the kernel takes no more");
  }
  // Completes at once, which ends the blocked wait.
  io_uring_prep_nop(entry);
  io_uring_sqe_set_data64(entry, kWakeUserData);
  return SubmitLocked("io_uring_submit(NOP)");
}

}  // namespace poller
