// Copyright 2026 The poller Authors.

#include "tests/fuzz/model.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "poller/poller.h"
#include "tests/fuzz/program.h"

namespace poller::fuzz {
namespace {

constexpr size_t kMaxSlots = 12;
constexpr size_t kEventCapacity = 64;
// Writes a receiver may hold unread. Each write of a Unix socket is its own
// buffer of about a kilobyte charged to the sender, so this keeps every socket
// far below the send buffer limit, where it stops being writable.
constexpr int kMaxBufferedWrites = 8;
// Long enough that a Wait the model says must return at once cannot be
// mistaken for one that does, even under sanitizers on a loaded machine.
constexpr absl::Duration kLongTimeout = absl::Seconds(5);

enum class Kind { kPipeRead, kPipeWrite, kSocket };

absl::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kPipeRead:
      return "pipe-read";
    case Kind::kPipeWrite:
      return "pipe-write";
    case Kind::kSocket:
      return "socket";
  }
  return "?";
}

// Descriptors open in this process, or -1 if /proc/self/fd is unreadable.
int OpenDescriptorCount() {
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(directory)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(directory);
  return count - 1;  // The directory's own descriptor.
}

bool IsOpen(int fd) { return fd >= 0 && ::fcntl(fd, F_GETFD) != -1; }

// One end of a pipe or socket pair, and what the model knows of it.
struct Slot {
  int fd = -1;
  Kind kind = Kind::kSocket;
  size_t peer = 0;
  bool open = true;
  bool peer_closed = false;
  // Data written by the peer and not read yet.
  size_t buffered_bytes = 0;
  int buffered_writes = 0;

  bool registered = false;
  Token token = 0;
  Interest interest = Interest::kNone;
  Mode mode = Mode::kOneshot;
  // Oneshot modes: not fired since Add or the last Modify or Rearm.
  bool armed = false;
  // Edge modes: an edge happened that the next Wait must report if the handle
  // is still ready.
  bool edge_due = false;
  // Readable (1) and writable (2) at some moment, and not at some moment,
  // since the last report or arming (see StartInterval).
  std::uint8_t seen_bits = 0;
  std::uint8_t lost_bits = 0;

  bool can_read() const { return kind != Kind::kPipeWrite; }
  bool can_write() const { return kind != Kind::kPipeRead; }

  // Readable for certain: data is buffered, or a socket's peer closed
  // (end-of-file reads as readable on sockets everywhere).
  bool readable() const {
    return can_read() &&
           (buffered_bytes > 0 || (kind == Kind::kSocket && peer_closed));
  }
  // Readable may be reported: also a pipe's end-of-file.
  bool maybe_readable() const {
    return readable() || (can_read() && peer_closed);
  }
  bool writable() const { return can_write(); }

  // Whether a registration with `wanted` interest must be reported when due.
  bool Ready(Interest wanted) const {
    return (HasInterest(wanted, Interest::kReadable) && maybe_readable()) ||
           (HasInterest(wanted, Interest::kWritable) && writable());
  }

  // Readable and writable (Readiness bits 1 and 2) for certain, and maybe.
  std::uint8_t DefiniteBits() const {
    return (readable() ? 1 : 0) | (writable() ? 2 : 0);
  }
  std::uint8_t PossibleBits() const {
    return (maybe_readable() ? 1 : 0) | (writable() ? 2 : 0);
  }

  // An event's readiness is a snapshot taken at some moment between the
  // registration's last report (or arming) and the Wait that reports it: the
  // header does not say when, and io_uring takes it when the kernel completes
  // the poll request, possibly before the Wait. So an event may carry a bit
  // that held at any moment of that interval (`seen_bits`), and must carry
  // the bits that held throughout it (those not in `lost_bits`).
  void StartInterval() {
    seen_bits = PossibleBits();
    lost_bits = static_cast<std::uint8_t>(~DefiniteBits() & 3);
  }
  void NoteChange() {
    seen_bits |= PossibleBits();
    lost_bits |= static_cast<std::uint8_t>(~DefiniteBits() & 3);
  }
  // Whether it may be reported at all: ready at some moment of the interval,
  // or hang-up or error alone.
  bool MaybeReady(Interest wanted) const {
    return (HasInterest(wanted, Interest::kReadable) && (seen_bits & 1)) ||
           (HasInterest(wanted, Interest::kWritable) && (seen_bits & 2)) ||
           peer_closed;
  }
};

class Interpreter {
 public:
  Interpreter(std::unique_ptr<Poller> poller, const FeatureObserver& observe)
      : poller_(std::move(poller)),
        events_(kEventCapacity),
        observe_(observe) {}

  ~Interpreter() {
    poller_.reset();
    for (Slot& slot : slots_) {
      if (slot.open) ::close(slot.fd);
    }
  }

  absl::Status Run(absl::Span<const std::uint8_t> program) {
    const size_t count = OperationCount(program);
    for (size_t i = 0; i < count; ++i) {
      step_ = i;
      const Operation operation = Decode(program, i);
      if (observe_) ObserveOperation(operation);
      absl::Status status = Execute(operation);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  // The handle an operation names: -1, a slot's open descriptor, or a closed
  // slot's number while it stays closed. Null `slot` for -1.
  struct Target {
    bool skip = false;
    int fd = -1;
    Slot* slot = nullptr;
    size_t index = 0;
  };

  // A feature: the operation and the state of the slot it names.
  void ObserveOperation(const Operation& operation) {
    std::uint32_t feature = operation.opcode;
    auto mix = [&feature](std::uint32_t value) {
      feature = feature * 0x9e3779b1u + value;
    };
    mix(shut_down_);
    mix(wake_pending_);
    if (!slots_.empty() && operation.a != kInvalidSlot) {
      const Slot& slot = slots_[operation.a % slots_.size()];
      mix(static_cast<std::uint32_t>(slot.kind));
      mix(slot.open);
      mix(slot.peer_closed);
      mix(slot.buffered_writes > 0);
      mix(slot.registered);
      if (slot.registered) {
        mix(static_cast<std::uint32_t>(slot.mode));
        mix(static_cast<std::uint32_t>(slot.interest));
        mix(slot.armed);
        mix(slot.edge_due);
      }
    }
    if (operation.opcode == kAdd || operation.opcode == kModify) {
      mix(operation.b == kReservedTokenByte);
      mix(operation.c);
    }
    observe_(feature);
  }

  // A feature: one registration's fate in one Wait.
  void ObserveWaitOutcome(const Slot& slot, bool reported, bool woken) {
    std::uint32_t feature = 0x5157u;
    for (std::uint32_t value :
         {static_cast<std::uint32_t>(slot.kind),
          static_cast<std::uint32_t>(slot.mode),
          static_cast<std::uint32_t>(slot.interest),
          static_cast<std::uint32_t>(slot.armed),
          static_cast<std::uint32_t>(slot.edge_due),
          static_cast<std::uint32_t>(slot.peer_closed),
          static_cast<std::uint32_t>(slot.buffered_bytes > 0),
          static_cast<std::uint32_t>(reported),
          static_cast<std::uint32_t>(woken)}) {
      feature = feature * 0x9e3779b1u + value;
    }
    observe_(feature);
  }

  Target Resolve(std::uint8_t slot_byte) {
    Target target;
    if (slot_byte == kInvalidSlot) return target;
    if (slots_.empty()) {
      target.skip = true;
      return target;
    }
    target.index = slot_byte % slots_.size();
    target.slot = &slots_[target.index];
    target.fd = target.slot->fd;
    // A closed slot's number may now belong to a newer descriptor.
    if (!target.slot->open && IsOpen(target.fd)) target.skip = true;
    return target;
  }

  std::string Describe(const Target& target) const {
    if (target.slot == nullptr) return "fd -1";
    return absl::StrCat("slot ", target.index, " (fd ", target.fd, ", ",
                        KindName(target.slot->kind),
                        target.slot->open ? "" : ", closed", ")");
  }

  void Log(absl::string_view line) {
    absl::StrAppend(&log_, step_, ": ", line, "\n");
  }

  absl::Status Mismatch(absl::string_view what) const {
    return absl::InternalError(absl::StrCat(
        "model and ", poller_->backend_name(), " differ at operation ", step_,
        ": ", what, "\noperations run:\n", log_));
  }

  absl::Status Execute(const Operation& operation) {
    switch (operation.opcode) {
      case kPipe:
      case kSocketPair:
        return Create(operation.opcode == kPipe);
      case kAdd:
      case kModify:
        return Register(operation.opcode == kAdd, operation);
      case kDelete:
        return Delete(operation);
      case kWrite:
        return Write(operation);
      case kRead:
        return Read(operation);
      case kClose:
        return Close(operation);
      case kWait:
        return Wait(operation);
      case kWake:
        return Wake();
      case kShutdown:
        Log("shutdown");
        poller_->Shutdown();
        shut_down_ = true;
        return absl::OkStatus();
      case kRearm:
        return Rearm(operation);
      case kOpcodeCount:
        break;
    }
    return absl::OkStatus();
  }

  absl::Status Create(bool pipe) {
    if (slots_.size() + 2 > kMaxSlots) return absl::OkStatus();
    int fds[2] = {-1, -1};
    const int made =
        pipe ? ::pipe2(fds, O_NONBLOCK | O_CLOEXEC)
             : ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            0, fds);
    if (made != 0) {
      return Mismatch(absl::StrCat("the harness cannot create a ",
                                   pipe ? "pipe" : "socket pair", ": ",
                                   std::strerror(errno)));
    }
    const size_t first = slots_.size();
    for (int i = 0; i < 2; ++i) {
      Slot slot;
      slot.fd = fds[i];
      slot.kind =
          !pipe ? Kind::kSocket : (i == 0 ? Kind::kPipeRead : Kind::kPipeWrite);
      slot.peer = first + 1 - i;
      slots_.push_back(slot);
    }
    Log(absl::StrCat(pipe ? "pipe" : "socketpair", " -> slots ", first, " (fd ",
                     fds[0], "), ", first + 1, " (fd ", fds[1], ")"));
    return absl::OkStatus();
  }

  absl::Status Register(bool add, const Operation& operation) {
    const Target target = Resolve(operation.a);
    if (target.skip) return absl::OkStatus();
    const Token token = DecodeToken(operation.b, target.index);
    const Interest interest = DecodeInterest(operation.c);
    const Mode mode = DecodeMode(operation.c);

    std::set<absl::StatusCode> expected;
    if (shut_down_) {
      expected.insert(absl::StatusCode::kFailedPrecondition);
    } else {
      if (token == kReservedToken ||
          (static_cast<std::uint8_t>(interest) & ~7) != 0 ||
          !IsKnownMode(mode)) {
        expected.insert(absl::StatusCode::kInvalidArgument);
      } else if (!poller_->SupportsMode(mode)) {
        expected.insert(absl::StatusCode::kUnimplemented);
      }
      if (target.slot == nullptr) {
        expected.insert(absl::StatusCode::kInvalidArgument);
      } else if (!target.slot->open) {
        expected.insert(absl::StatusCode::kInvalidArgument);
        if (!add) expected.insert(absl::StatusCode::kNotFound);
      } else if (add && target.slot->registered) {
        expected.insert(absl::StatusCode::kAlreadyExists);
      } else if (!add && !target.slot->registered) {
        expected.insert(absl::StatusCode::kNotFound);
      }
    }

    const absl::Status status =
        add ? poller_->Add(target.fd, token, interest, mode)
            : poller_->Modify(target.fd, token, interest, mode);
    Log(absl::StrCat(add ? "add " : "modify ", Describe(target), " token 0x",
                     absl::Hex(token), " interest ", InterestName(interest),
                     " mode ", ModeText(mode), " -> ",
                     absl::StatusCodeToString(status.code())));
    if (absl::Status checked = CheckStatus(status, expected); !checked.ok()) {
      return checked;
    }
    if (!status.ok()) return absl::OkStatus();
    Slot& slot = *target.slot;
    slot.registered = true;
    slot.token = token;
    slot.interest = interest;
    slot.mode = mode;
    slot.armed = true;
    // Readiness already there is reported by the next Wait (poller.h, Modify;
    // taken to hold for Add as well).
    slot.edge_due = slot.Ready(interest);
    slot.StartInterval();
    return absl::OkStatus();
  }

  // Rearm is Modify with the registration's own token, interest and mode
  // (poller.h), for oneshot modes only, and changes nothing for a
  // registration that has not fired.
  absl::Status Rearm(const Operation& operation) {
    const Target target = Resolve(operation.a);
    if (target.skip) return absl::OkStatus();
    std::set<absl::StatusCode> expected;
    if (shut_down_) {
      expected.insert(absl::StatusCode::kFailedPrecondition);
    } else if (target.slot == nullptr) {
      expected.insert(absl::StatusCode::kInvalidArgument);
    } else if (!target.slot->open) {
      expected.insert(absl::StatusCode::kInvalidArgument);
      expected.insert(absl::StatusCode::kNotFound);
    } else if (!target.slot->registered) {
      expected.insert(absl::StatusCode::kNotFound);
    } else if (!IsOneshot(target.slot->mode)) {
      expected.insert(absl::StatusCode::kFailedPrecondition);
    }
    const absl::Status status = poller_->Rearm(target.fd);
    Log(absl::StrCat("rearm ", Describe(target), " -> ",
                     absl::StatusCodeToString(status.code())));
    if (absl::Status checked = CheckStatus(status, expected); !checked.ok()) {
      return checked;
    }
    if (!status.ok()) return absl::OkStatus();
    Slot& slot = *target.slot;
    // Not fired yet: nothing changes (poller.h), so the interval since the
    // last report or arming goes on. An event the kernel already holds for it
    // (on io_uring, a completion posted when data came, though the data has
    // been read since) is still reported.
    if (slot.armed) return absl::OkStatus();
    slot.armed = true;
    slot.edge_due = slot.Ready(slot.interest);
    slot.StartInterval();
    return absl::OkStatus();
  }

  absl::Status Delete(const Operation& operation) {
    const Target target = Resolve(operation.a);
    if (target.skip) return absl::OkStatus();
    std::set<absl::StatusCode> expected;
    if (target.slot == nullptr) {
      expected.insert(absl::StatusCode::kInvalidArgument);
    } else if (!target.slot->open) {
      expected.insert(absl::StatusCode::kInvalidArgument);
      expected.insert(absl::StatusCode::kNotFound);
    } else if (!target.slot->registered) {
      expected.insert(absl::StatusCode::kNotFound);
    }
    const absl::Status status = poller_->Delete(target.fd);
    Log(absl::StrCat("delete ", Describe(target), " -> ",
                     absl::StatusCodeToString(status.code())));
    if (absl::Status checked = CheckStatus(status, expected); !checked.ok()) {
      return checked;
    }
    if (status.ok()) target.slot->registered = false;
    return absl::OkStatus();
  }

  absl::Status CheckStatus(const absl::Status& status,
                           const std::set<absl::StatusCode>& expected) const {
    const bool as_expected =
        expected.empty() ? status.ok() : expected.count(status.code()) != 0;
    if (as_expected) return absl::OkStatus();
    return Mismatch(absl::StrCat("expected ", CodesText(expected), ", got ",
                                 status.ToString()));
  }

  absl::Status Write(const Operation& operation) {
    const Target target = Resolve(operation.a);
    if (target.skip || target.slot == nullptr) return absl::OkStatus();
    Slot& slot = *target.slot;
    Slot& receiver = slots_[slot.peer];
    if (!slot.open || !slot.can_write() || !receiver.open ||
        receiver.buffered_writes >= kMaxBufferedWrites) {
      return absl::OkStatus();
    }
    const size_t bytes = 1 + operation.b % 8;
    const char data[8] = {'p', 'o', 'l', 'l', 'e', 'r', '!', '\n'};
    const ssize_t written = slot.kind == Kind::kSocket
                                ? ::send(slot.fd, data, bytes, MSG_NOSIGNAL)
                                : ::write(slot.fd, data, bytes);
    Log(absl::StrCat("write ", bytes, " bytes to ", Describe(target)));
    if (written != static_cast<ssize_t>(bytes)) {
      return Mismatch(absl::StrCat("the harness's write returned ", written,
                                   ": ", std::strerror(errno)));
    }
    receiver.buffered_bytes += bytes;
    ++receiver.buffered_writes;
    receiver.NoteChange();
    // New data is a new edge for readable interest.
    if (receiver.registered &&
        HasInterest(receiver.interest, Interest::kReadable)) {
      receiver.edge_due = true;
    }
    return absl::OkStatus();
  }

  absl::Status Read(const Operation& operation) {
    const Target target = Resolve(operation.a);
    if (target.skip || target.slot == nullptr) return absl::OkStatus();
    Slot& slot = *target.slot;
    if (!slot.open || !slot.can_read()) return absl::OkStatus();
    size_t total = 0;
    char buffer[256];
    for (;;) {
      const ssize_t got = ::read(slot.fd, buffer, sizeof(buffer));
      if (got > 0) {
        total += static_cast<size_t>(got);
        continue;
      }
      // EAGAIN: drained. End-of-file or ECONNRESET (the peer closed with our
      // data unread): nothing more will come.
      if (got == 0 || errno == EAGAIN || errno == ECONNRESET) break;
      if (errno == EINTR) continue;
      return Mismatch(
          absl::StrCat("the harness's read failed: ", std::strerror(errno)));
    }
    Log(absl::StrCat("read ", Describe(target), " -> ", total, " bytes"));
    if (total != slot.buffered_bytes) {
      return Mismatch(absl::StrCat("the harness read ", total,
                                   " bytes, the model expected ",
                                   slot.buffered_bytes));
    }
    slot.buffered_bytes = 0;
    slot.buffered_writes = 0;
    slot.NoteChange();
    return absl::OkStatus();
  }

  absl::Status Close(const Operation& operation) {
    const Target target = Resolve(operation.a);
    if (target.skip || target.slot == nullptr) return absl::OkStatus();
    Slot& slot = *target.slot;
    if (!slot.open) return absl::OkStatus();
    Log(absl::StrCat("close ", Describe(target),
                     slot.registered ? " (delete first)" : ""));
    if (slot.registered) {
      const absl::Status deleted = poller_->Delete(slot.fd);
      if (!deleted.ok()) {
        return Mismatch(
            absl::StrCat("Delete of a registered handle before "
                         "closing it failed: ",
                         deleted.ToString()));
      }
      slot.registered = false;
    }
    ::close(slot.fd);
    slot.open = false;
    slot.buffered_bytes = 0;
    slot.buffered_writes = 0;
    Slot& peer = slots_[slot.peer];
    if (peer.open) {
      peer.peer_closed = true;
      peer.NoteChange();
      // End-of-file is new readiness: an edge for readable interest.
      if (peer.registered && HasInterest(peer.interest, Interest::kReadable) &&
          peer.can_read()) {
        peer.edge_due = true;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Wake() {
    const absl::Status status = poller_->Wake();
    Log(absl::StrCat("wake -> ", absl::StatusCodeToString(status.code())));
    if (!status.ok()) {
      return Mismatch(absl::StrCat("Wake failed: ", status.ToString()));
    }
    if (!shut_down_) wake_pending_ = true;
    return absl::OkStatus();
  }

  // Whether the registration in `slot` must be reported by a Wait that is not
  // woken, and whether it may be.
  bool MustReport(const Slot& slot) const {
    if (!slot.Ready(slot.interest)) return false;
    switch (slot.mode) {
      case Mode::kLevel:
        return true;
      case Mode::kOneshot:
        return slot.armed;
      case Mode::kEdge:
        return slot.edge_due;
      case Mode::kEdgeOneshot:
        return slot.armed && slot.edge_due;
    }
    return false;
  }
  bool MayReport(const Slot& slot) const {
    if (!slot.MaybeReady(slot.interest)) return false;
    return slot.armed || slot.mode == Mode::kLevel || slot.mode == Mode::kEdge;
  }

  // Checks one event's readiness bits against what `slot` can report.
  std::string CheckReadiness(const Slot& slot, Readiness readiness) const {
    const bool want_read = HasInterest(slot.interest, Interest::kReadable);
    const bool want_write = HasInterest(slot.interest, Interest::kWritable);
    if (readiness == Readiness::kNone) return "an event with no readiness";
    if (Has(readiness, Readiness::kPriority)) return "priority, never due";
    if ((static_cast<std::uint8_t>(readiness) & ~31) != 0) {
      return "unknown readiness bits";
    }
    if (Has(readiness, Readiness::kReadable) &&
        !(want_read && (slot.seen_bits & 1))) {
      return "readable without readable interest and data or end-of-file";
    }
    // An edge event may name only the change that caused it (io_uring's
    // multishot poll reports the wake-up's mask: new data is readable alone).
    const bool complete =
        slot.mode == Mode::kLevel || slot.mode == Mode::kOneshot;
    if (complete && !Has(readiness, Readiness::kReadable) && want_read &&
        slot.readable() && !(slot.lost_bits & 1)) {
      return "not readable, though data or a socket's end-of-file is there";
    }
    if (Has(readiness, Readiness::kWritable) &&
        !(want_write && slot.writable())) {
      return "writable without writable interest or on a read end";
    }
    if (complete && !Has(readiness, Readiness::kWritable) && want_write &&
        slot.writable()) {
      return "not writable, though writable interest and space";
    }
    if ((Has(readiness, Readiness::kHangUp) ||
         Has(readiness, Readiness::kError)) &&
        !slot.peer_closed) {
      return "hang-up or error while the peer is open";
    }
    return "";
  }

  absl::Status Wait(const Operation& operation) {
    bool due = wake_pending_;
    for (const Slot& slot : slots_) {
      if (slot.open && slot.registered && MustReport(slot)) due = true;
    }
    absl::Duration timeout = absl::ZeroDuration();
    if (operation.a % 3 == 1) timeout = absl::Milliseconds(1);
    if (operation.a % 3 == 2 && due && !shut_down_) timeout = kLongTimeout;

    const absl::Time start = absl::Now();
    const absl::StatusOr<size_t> count = poller_->Wait(events_, timeout);
    const absl::Duration took = absl::Now() - start;
    std::string line =
        absl::StrCat("wait ", absl::FormatDuration(timeout), " -> ");
    if (!count.ok()) {
      absl::StrAppend(&line, count.status().ToString());
    } else {
      absl::StrAppend(&line, *count, " events");
      for (const Event& event : events_) {
        absl::StrAppend(&line, " [0x", absl::Hex(event.token()), " ",
                        ReadinessName(event.readiness()), "]");
      }
    }
    Log(line);

    if (shut_down_) {
      if (count.status().code() != absl::StatusCode::kCancelled) {
        return Mismatch(
            absl::StrCat("Wait after Shutdown must be Cancelled, "
                         "got ",
                         count.status().ToString()));
      }
      if (!events_.empty()) return Mismatch("Cancelled Wait holds events");
      return absl::OkStatus();
    }
    if (!count.ok()) {
      return Mismatch(absl::StrCat("Wait failed: ", count.status().ToString()));
    }
    if (*count != events_.size()) {
      return Mismatch(absl::StrCat("Wait returned ", *count, " but holds ",
                                   events_.size(), " events"));
    }
    if (timeout == kLongTimeout && took >= kLongTimeout) {
      return Mismatch(absl::StrCat(
          "Wait took the whole timeout though ",
          wake_pending_ ? "a wake was pending" : "an event was due"));
    }
    const bool woken = wake_pending_;
    wake_pending_ = false;

    std::vector<bool> reported(slots_.size(), false);
    for (const Event& event : events_) {
      const size_t index = event.token() & 0xff;
      if (index >= slots_.size() || !slots_[index].open ||
          !slots_[index].registered || slots_[index].token != event.token()) {
        return Mismatch(absl::StrCat("event for token 0x",
                                     absl::Hex(event.token()),
                                     ", which no registration has"));
      }
      const Slot& slot = slots_[index];
      if (reported[index]) {
        return Mismatch(absl::StrCat("slot ", index, " reported twice"));
      }
      reported[index] = true;
      if (!MayReport(slot)) {
        return Mismatch(absl::StrCat(
            "slot ", index, " (", ModeText(slot.mode), ", interest ",
            InterestName(slot.interest), slot.armed ? "" : ", disarmed",
            slot.peer_closed ? ", peer closed" : "", ", ", slot.buffered_bytes,
            " bytes buffered) reported but not ready or not armed"));
      }
      const std::string wrong = CheckReadiness(slot, event.readiness());
      if (!wrong.empty()) {
        return Mismatch(
            absl::StrCat("slot ", index, " (", KindName(slot.kind),
                         ", interest ", InterestName(slot.interest),
                         slot.peer_closed ? ", peer closed" : "", ", ",
                         slot.buffered_bytes, " bytes buffered) reported ",
                         ReadinessName(event.readiness()), ": ", wrong));
      }
    }
    for (size_t index = 0; index < slots_.size(); ++index) {
      Slot& slot = slots_[index];
      if (!slot.open || !slot.registered) continue;
      if (!reported[index] && !woken && MustReport(slot)) {
        return Mismatch(absl::StrCat(
            "slot ", index, " (", KindName(slot.kind), ", ",
            ModeText(slot.mode), ", interest ", InterestName(slot.interest),
            slot.peer_closed ? ", peer closed" : "", ", ", slot.buffered_bytes,
            " bytes buffered", slot.edge_due ? ", edge due" : "",
            ") must be reported but was not"));
      }
      if (observe_) ObserveWaitOutcome(slot, reported[index], woken);
      if (reported[index]) {
        if (slot.mode == Mode::kOneshot || slot.mode == Mode::kEdgeOneshot) {
          slot.armed = false;
        }
        slot.edge_due = false;
        slot.StartInterval();
      } else if (!woken) {
        // The edge was seen (or the handle was no longer ready): it is spent.
        slot.edge_due = false;
        slot.StartInterval();
      }
    }
    return absl::OkStatus();
  }

  std::unique_ptr<Poller> poller_;
  Events events_;
  const FeatureObserver observe_;
  std::vector<Slot> slots_;
  bool shut_down_ = false;
  bool wake_pending_ = false;
  size_t step_ = 0;
  std::string log_;
};

}  // namespace

absl::Status RunProgram(absl::string_view backend,
                        absl::Span<const std::uint8_t> program) {
  return RunProgram(backend, program, nullptr);
}

absl::Status RunProgram(absl::string_view backend,
                        absl::Span<const std::uint8_t> program,
                        const FeatureObserver& observe) {
  return RunProgram([backend] { return Poller::Create(backend); }, program,
                    observe);
}

absl::Status RunProgram(const conformance::PollerFactory& factory,
                        absl::Span<const std::uint8_t> program,
                        const FeatureObserver& observe) {
  const int descriptors_before = OpenDescriptorCount();
  absl::Status result;
  std::string backend;
  {
    absl::StatusOr<std::unique_ptr<Poller>> poller = factory();
    if (!poller.ok()) return poller.status();
    if (*poller == nullptr) return absl::InternalError("the factory gave null");
    backend = std::string((*poller)->backend_name());
    Interpreter interpreter(*std::move(poller), observe);
    result = interpreter.Run(program);
  }
  const int descriptors_after = OpenDescriptorCount();
  if (result.ok() && descriptors_before != descriptors_after) {
    return absl::InternalError(absl::StrCat(
        backend, ": ", descriptors_before, " descriptors open before the run, ",
        descriptors_after, " after: the poller leaked one"));
  }
  return result;
}

}  // namespace poller::fuzz
