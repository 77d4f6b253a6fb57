#include "ppoll_backend/ppoll_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"

namespace consumer {
namespace {

using ::poller::Interest;
using ::poller::Mode;
using ::poller::Readiness;

constexpr size_t kInitialPollSetSize = 64;

// errno -> the status codes poller::Poller documents, with a message naming
// the call, the descriptor and the errno by name, as poller.h promises
// ("pipe2: EMFILE (Too many open files)"). strerrorname_np is glibc's (2.32
// and later); this backend is Linux-only, as ppoll is.
absl::Status ErrnoError(int error_number, absl::string_view operation, int fd) {
  const char* name = ::strerrorname_np(error_number);
  const std::string error = absl::StrCat(
      name != nullptr ? name : absl::StrCat("errno ", error_number), " (",
      std::strerror(error_number), ")");
  const std::string message =
      fd >= 0 ? absl::StrCat(operation, " fd ", fd, ": ", error)
              : absl::StrCat(operation, ": ", error);
  switch (error_number) {
    case EBADF:
    case EINVAL:
      return absl::InvalidArgumentError(message);
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

// Poller puts the method that failed in front of every message ("Add: fd -1:
// ..."): a backend's own message starts with the descriptor.
absl::Status InvalidHandle(int fd) {
  return absl::InvalidArgumentError(
      absl::StrCat("fd ", fd, ": not a valid descriptor"));
}

short PollEventsFor(Interest interest) {
  short events = 0;
  if (poller::HasInterest(interest, Interest::kReadable)) {
    // POLLRDHUP reports a TCP half-close as hang-up.
    events |= POLLIN | POLLRDHUP;
  }
  if (poller::HasInterest(interest, Interest::kWritable)) events |= POLLOUT;
  if (poller::HasInterest(interest, Interest::kPriority)) events |= POLLPRI;
  return events;
}

// `revents` as poller readiness, limited to the registration's current
// interest: a Modify during the Wait may have narrowed it.
Readiness ReadinessFor(short revents, Interest interest) {
  Readiness readiness = Readiness::kNone;
  if ((revents & POLLIN) &&
      poller::HasInterest(interest, Interest::kReadable)) {
    readiness |= Readiness::kReadable;
  }
  if ((revents & POLLOUT) &&
      poller::HasInterest(interest, Interest::kWritable)) {
    readiness |= Readiness::kWritable;
  }
  if ((revents & POLLPRI) &&
      poller::HasInterest(interest, Interest::kPriority)) {
    readiness |= Readiness::kPriority;
  }
  if (revents & (POLLHUP | POLLRDHUP)) readiness |= Readiness::kHangUp;
  if (revents & (POLLERR | POLLNVAL)) readiness |= Readiness::kError;
  return readiness;
}

}  // namespace

absl::StatusOr<std::unique_ptr<poller::Backend>> PpollBackend::Create() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return ErrnoError(errno, "pipe2", -1);
  }
  return std::unique_ptr<poller::Backend>(new PpollBackend(fds[0], fds[1]));
}

PpollBackend::PpollBackend(int wake_read_fd, int wake_write_fd)
    : wake_read_fd_(wake_read_fd),
      wake_write_fd_(wake_write_fd),
      poll_set_(MakePollSet(kInitialPollSetSize)) {}

PpollBackend::~PpollBackend() {
  ::close(wake_read_fd_);
  ::close(wake_write_fd_);
}

PpollBackend::PollSet PpollBackend::MakePollSet(size_t capacity) {
  PollSet set;
  set.fds = std::make_unique<pollfd[]>(capacity);
  set.generations = std::make_unique<std::uint64_t[]>(capacity);
  set.capacity = capacity;
  return set;
}

bool PpollBackend::SupportsMode(Mode mode) const {
  return mode == Mode::kOneshot || mode == Mode::kLevel;
}

void PpollBackend::ReserveLocked(size_t entries) {
  if (poll_set_.capacity >= entries) return;
  if (!waiting_) {
    poll_set_ = MakePollSet(2 * entries);
  } else if (spare_poll_set_.capacity < entries) {
    spare_poll_set_ = MakePollSet(2 * entries);
  }
}

absl::Status PpollBackend::WritePipe() {
  const char byte = 0;
  if (::write(wake_write_fd_, &byte, 1) == 1) return absl::OkStatus();
  // A full pipe already holds a signal for the next Wait.
  if (errno == EAGAIN) return absl::OkStatus();
  return ErrnoError(errno, "write(wake pipe)", wake_write_fd_);
}

void PpollBackend::DrainPipe() {
  char buffer[64];
  while (::read(wake_read_fd_, buffer, sizeof(buffer)) > 0) {
  }
}

void PpollBackend::SignalWaiterLocked() {
  if (!waiting_ || change_signalled_) return;
  change_signalled_ = true;
  // Best effort: if the write fails, the change takes effect at the next Wait.
  (void)WritePipe();
}

absl::Status PpollBackend::Add(poller::NativeHandle handle, poller::Token token,
                               Interest interest, Mode mode) {
  if (handle < 0) return InvalidHandle(handle);
  // An O_PATH descriptor names a file without opening it: ppoll would report
  // POLLNVAL for it on every call.
  const int flags = ::fcntl(handle, F_GETFL);
  if (flags < 0) return ErrnoError(errno, "fcntl", handle);
  if ((flags & O_PATH) == O_PATH) {
    return absl::InvalidArgumentError(
        absl::StrCat("fd ", handle, ": an O_PATH descriptor cannot be polled"));
  }
  struct stat status;
  if (::fstat(handle, &status) != 0) return ErrnoError(errno, "fstat", handle);
  if (S_ISREG(status.st_mode) || S_ISDIR(status.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fd ", handle,
                     ": ppoll cannot poll a regular file or directory (it "
                     "would always be ready)"));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (registrations_.count(handle) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("fd ", handle, ": already registered in this poller"));
  }
  // The self-pipe takes one entry.
  ReserveLocked(registrations_.size() + 2);
  registrations_.emplace(handle,
                         Registration{token, interest, mode,
                                      /*armed=*/true, next_generation_++});
  SignalWaiterLocked();
  return absl::OkStatus();
}

absl::Status PpollBackend::Modify(poller::NativeHandle handle,
                                  poller::Token token, Interest interest,
                                  Mode mode) {
  if (handle < 0) return InvalidHandle(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = registrations_.find(handle);
  if (it == registrations_.end()) {
    return absl::NotFoundError(
        absl::StrCat("fd ", handle, ": not registered in this poller"));
  }
  Registration& registration = it->second;
  registration.token = token;
  registration.interest = interest;
  registration.mode = mode;
  registration.armed = true;
  SignalWaiterLocked();
  return absl::OkStatus();
}

absl::Status PpollBackend::Rearm(poller::NativeHandle handle) {
  if (handle < 0) return InvalidHandle(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = registrations_.find(handle);
  if (it == registrations_.end()) {
    return absl::NotFoundError(
        absl::StrCat("fd ", handle, ": not registered in this poller"));
  }
  Registration& registration = it->second;
  if (!poller::IsOneshot(registration.mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "fd ", handle, ": registered in ", poller::ModeName(registration.mode),
        " mode, which is never disarmed"));
  }
  // Already armed: nothing changes, and a blocked Wait need not rebuild.
  if (registration.armed) return absl::OkStatus();
  registration.armed = true;
  SignalWaiterLocked();
  return absl::OkStatus();
}

absl::Status PpollBackend::Delete(poller::NativeHandle handle) {
  if (handle < 0) return InvalidHandle(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  if (registrations_.erase(handle) == 0) {
    return absl::NotFoundError(
        absl::StrCat("fd ", handle, ": not registered in this poller"));
  }
  // The Wait in progress filters the handle out of its results; ending it
  // also takes the descriptor out of the kernel's set before it is closed.
  SignalWaiterLocked();
  return absl::OkStatus();
}

absl::Status PpollBackend::Wake() {
  wake_requested_.store(true, std::memory_order_release);
  return WritePipe();
}

absl::StatusOr<poller::WaitResult> PpollBackend::Wait(
    absl::Span<poller::Event> events, absl::Duration timeout) {
  size_t watched = 1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (spare_poll_set_.capacity > poll_set_.capacity) {
      // The old set is kept as the spare: Wait never frees or allocates.
      std::swap(poll_set_, spare_poll_set_);
    }
    poll_set_.fds[0] = pollfd{wake_read_fd_, POLLIN, 0};
    for (const auto& [fd, registration] : registrations_) {
      if (!registration.armed) continue;
      poll_set_.fds[watched] =
          pollfd{fd, PollEventsFor(registration.interest), 0};
      poll_set_.generations[watched] = registration.generation;
      ++watched;
    }
    waiting_ = true;
    change_signalled_ = false;
  }

  timespec limit{};
  timespec* limit_pointer = nullptr;
  if (timeout != absl::InfiniteDuration()) {
    // Rounded up to whole nanoseconds, so the wait is never shorter.
    limit = absl::ToTimespec(absl::Ceil(timeout, absl::Nanoseconds(1)));
    limit_pointer = &limit;
  }
  const int ready = ::ppoll(poll_set_.fds.get(), watched, limit_pointer,
                            /*sigmask=*/nullptr);
  const int saved_errno = errno;

  std::lock_guard<std::mutex> lock(mutex_);
  waiting_ = false;
  poller::WaitResult result;
  if (ready < 0) {
    if (saved_errno == EINTR) {
      result.interrupted = true;
      return result;
    }
    return ErrnoError(saved_errno, "ppoll", -1);
  }
  if (ready == 0) return result;
  if (poll_set_.fds[0].revents != 0) {
    DrainPipe();
    result.woken = wake_requested_.exchange(false, std::memory_order_acq_rel);
  }
  const size_t entries = watched - 1;
  if (entries == 0) return result;
  size_t next_start = scan_start_ % entries;
  for (size_t step = 0; step < entries && result.count < events.size();
       ++step) {
    const size_t position = (scan_start_ + step) % entries;
    const pollfd& polled = poll_set_.fds[1 + position];
    if (polled.revents == 0) continue;
    auto it = registrations_.find(polled.fd);
    // Deleted, deleted and added again, or already reported during this Wait.
    if (it == registrations_.end() ||
        it->second.generation != poll_set_.generations[1 + position] ||
        !it->second.armed) {
      continue;
    }
    Registration& registration = it->second;
    const Readiness readiness =
        ReadinessFor(polled.revents, registration.interest);
    if (readiness == Readiness::kNone) continue;
    events[result.count++] = poller::Event(registration.token, readiness);
    if (registration.mode == Mode::kOneshot) registration.armed = false;
    next_start = (position + 1) % entries;
  }
  scan_start_ = next_start;
  return result;
}

}  // namespace consumer
