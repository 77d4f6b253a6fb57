// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: poller/core/types.h
// -----------------------------------------------------------------------------
//
// The values that pass between a program, Poller and a backend: handles,
// tokens, interests, modes and events. poller/poller.h includes this file, so
// a program includes poller.h alone; a backend includes this and
// poller/core/backend.h, never poller.h (see poller/core/BUILD: the arrows
// between packages run one way).

#ifndef POLLER_CORE_TYPES_H_
#define POLLER_CORE_TYPES_H_

#include <cstdint>
#include <limits>

#include "absl/strings/string_view.h"

namespace poller {

// NativeHandle
//
// What the operating system's queue watches: a file descriptor on POSIX
// systems, a SOCKET on Windows. poller never takes ownership of a handle: the
// caller opens and closes it.
#if defined(_WIN32)
using NativeHandle = std::uintptr_t;  // SOCKET
#else
using NativeHandle = int;
#endif

// Token
//
// A 64-bit value chosen by the caller for each registration and returned with
// each of its events. Tokens need not be unique, but a program that reuses one
// for two handles cannot tell their events apart.
//
// Choose tokens that are never reused while an event may still carry them: a
// counter that keys a table of live connections, or an index paired with a
// count of its reuses. A descriptor number, a recycled index or a pointer to
// freed memory is not enough: when handling one event of a batch closes
// another connection, a later event of the same batch still carries that
// connection's token, and its number may already belong to a connection
// accepted in the same batch (see "Events of one batch" in poller/poller.h).
//
// Rules: tests/conformance/suite_modes.cc (TokensRoundTripAllSixtyFourBits).
using Token = std::uint64_t;

// kReservedToken
//
// The one token value poller keeps for its internal wake source. Passing it to
// Add or Modify is an InvalidArgument error.
//
// Rules: tests/conformance/suite_errors.cc, suite_wake.cc.
inline constexpr Token kReservedToken = std::numeric_limits<Token>::max();

// Interest
//
// The readiness a registration asks for, as a bit set. kNone keeps a
// registration while asking for nothing: no readable, writable or priority
// events are delivered for it, but backends whose kernel always reports hang-up
// and error conditions (epoll, poll) still deliver those.
//
// Rules: tests/conformance/suite_modes.cc, suite_errors.cc.
enum class Interest : std::uint8_t {
  kNone = 0,
  kReadable = 1 << 0,
  kWritable = 1 << 1,
  // Out-of-band or priority data (POLLPRI / EPOLLPRI): TCP urgent data, some
  // device files.
  kPriority = 1 << 2,
};

constexpr Interest operator|(Interest a, Interest b) {
  return static_cast<Interest>(static_cast<std::uint8_t>(a) |
                               static_cast<std::uint8_t>(b));
}
constexpr Interest operator&(Interest a, Interest b) {
  return static_cast<Interest>(static_cast<std::uint8_t>(a) &
                               static_cast<std::uint8_t>(b));
}
constexpr Interest& operator|=(Interest& a, Interest b) { return a = a | b; }
constexpr Interest& operator&=(Interest& a, Interest b) { return a = a & b; }

// True if `set` contains every bit of `bits` (and `bits` is not kNone).
constexpr bool HasInterest(Interest set, Interest bits) {
  return bits != Interest::kNone && (set & bits) == bits;
}

// Mode
//
// How often a registration reports readiness.
//
// Rules: tests/conformance/suite_modes.cc, suite_rearm.cc.
enum class Mode : std::uint8_t {
  // The default. After one event the registration is disarmed: it reports
  // nothing until Rearm() re-arms it as it is, or Modify() with another token,
  // interest or mode.
  // Safe with several threads handling events, and never reports a handle the
  // program is already handling.
  kOneshot,
  // Reports the handle on every Wait for as long as it is ready (like poll(2)).
  kLevel,
  // Reports the handle when it becomes ready (an edge: new data arrived,
  // buffer space freed); the program must then read or write until EAGAIN, or
  // it may not hear of the handle again. Not every backend can do this (poll
  // cannot): see SupportsMode().
  kEdge,
  // Edge-triggered and disarmed after one event until Rearm() or Modify()
  // re-arms it.
  kEdgeOneshot,
};

// A human-readable name: "oneshot", "level", "edge", "edge-oneshot".
absl::string_view ModeName(Mode mode);

// Whether `mode` disarms a registration after one event (kOneshot and
// kEdgeOneshot).
constexpr bool IsOneshot(Mode mode) {
  return mode == Mode::kOneshot || mode == Mode::kEdgeOneshot;
}

// Readiness
//
// What happened to a handle, as reported in an Event.
//
// Rules: tests/conformance/suite_readiness.cc, suite_closing.cc.
enum class Readiness : std::uint8_t {
  kNone = 0,
  kReadable = 1 << 0,
  kWritable = 1 << 1,
  kPriority = 1 << 2,
  // The peer closed its end, fully or only for writing (a TCP half-close,
  // EPOLLRDHUP): reads return end-of-file once buffered data is consumed.
  kHangUp = 1 << 3,
  // The handle has a pending error (for a socket, read it with
  // getsockopt(SO_ERROR)).
  kError = 1 << 4,
};

constexpr Readiness operator|(Readiness a, Readiness b) {
  return static_cast<Readiness>(static_cast<std::uint8_t>(a) |
                                static_cast<std::uint8_t>(b));
}
constexpr Readiness operator&(Readiness a, Readiness b) {
  return static_cast<Readiness>(static_cast<std::uint8_t>(a) &
                                static_cast<std::uint8_t>(b));
}
constexpr Readiness& operator|=(Readiness& a, Readiness b) { return a = a | b; }

// Whether `set` has any bit of `bits`.
constexpr bool Has(Readiness set, Readiness bits) {
  return (set & bits) != Readiness::kNone;
}

// `set` without the bits of `bits`.
constexpr Readiness Without(Readiness set, Readiness bits) {
  return static_cast<Readiness>(static_cast<std::uint8_t>(set) &
                                ~static_cast<std::uint8_t>(bits));
}

// Event
//
// One handle's readiness, as returned by Poller::Wait(). A plain 16-byte value.
//
// Readiness bits arrive together: a peer that writes and then closes is one
// event with readable and hang-up both set. Read until EAGAIN or end-of-file
// first, then act on hang-up or error, or the last data is lost.
//
// Rules: tests/conformance/suite_readiness.cc (HangUpWhenPeerCloses).
class Event {
 public:
  constexpr Event() = default;
  constexpr Event(Token token, Readiness readiness)
      : token_(token), readiness_(readiness) {}

  // The token given to Add() or the latest Modify() of the registration.
  constexpr Token token() const { return token_; }
  constexpr Readiness readiness() const { return readiness_; }

  constexpr bool readable() const { return Has(Readiness::kReadable); }
  constexpr bool writable() const { return Has(Readiness::kWritable); }
  constexpr bool priority() const { return Has(Readiness::kPriority); }
  constexpr bool hang_up() const { return Has(Readiness::kHangUp); }
  constexpr bool error() const { return Has(Readiness::kError); }

  friend constexpr bool operator==(const Event& a, const Event& b) {
    return a.token_ == b.token_ && a.readiness_ == b.readiness_;
  }
  friend constexpr bool operator!=(const Event& a, const Event& b) {
    return !(a == b);
  }

 private:
  constexpr bool Has(Readiness bit) const {
    return (readiness_ & bit) != Readiness::kNone;
  }

  Token token_ = 0;
  Readiness readiness_ = Readiness::kNone;
};

}  // namespace poller

#endif  // POLLER_CORE_TYPES_H_
