// Copyright 2026 The poller Authors.
//
// What the kqueue logic's tests share (kqueue_logic_test.cc,
// kqueue_logic_refusal_test.cc): the platforms as each kernel's headers define
// them, and small builders of registrations, kernel answers and kernel events.

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_LOGIC_TESTING_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_LOGIC_TESTING_H_

#include <cstdint>

#include "backends/kqueue/kqueue_logic.h"
#include "poller/core/types.h"

namespace poller::kqueue_logic::testing {

// NOTE_OOB: 0x2 in XNU's sys/event.h, 0x4 in OpenBSD's (event.h 1.74).
inline constexpr std::uint32_t kMacNoteOob = 0x2;
inline constexpr std::uint32_t kOpenBsdNoteOob = 0x4;

inline constexpr Platform kMacOs = {PriorityVia::kReadFilterNote, kMacNoteOob,
                                    true, ~std::uint64_t{0}};
inline constexpr Platform kOpenBsd = {PriorityVia::kExceptFilter,
                                      kOpenBsdNoteOob, true, ~std::uint64_t{0}};
inline constexpr Platform kFreeBsd = {PriorityVia::kUnsupported, 0, true,
                                      ~std::uint64_t{0}};

inline Registration Make(Interest interest, Mode mode, std::uint64_t serial,
                         FileKind kind = FileKind::kSocket) {
  Registration registration;
  registration.token = 100 + serial;
  registration.interest = interest;
  registration.mode = mode;
  registration.file.kind = kind;
  registration.serial = serial;
  return registration;
}

// The kernel's answer to each change of `changes`: all accepted.
inline ApplyOutcome AcceptAll(const Registration& old, const Change* changes,
                              int count) {
  int errors[kMaxChanges] = {};
  return ApplyAnswers(old.filters, changes, errors, count);
}

inline KernelEvent EventOf(Filter filter, std::uint64_t udata) {
  KernelEvent event;
  event.filter = filter;
  event.udata = udata;
  return event;
}

}  // namespace poller::kqueue_logic::testing

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_LOGIC_TESTING_H_
