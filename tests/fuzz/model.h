// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/fuzz/model.h
// -----------------------------------------------------------------------------
//
// A reference model of poller/poller.h and an interpreter that runs a program
// of operations against a real Poller and the model side by side, failing on
// the first difference. The libFuzzer target (fuzz_target.cc) and the corpus
// replay test (corpus_replay_test.cc) are both thin wrappers around
// RunProgram().
//
// Program format
//   A program is a byte string read as 4-byte operations [opcode, a, b, c]
//   (a trailing partial operation is padded with zeros). Every byte string is a
//   valid program: operations whose arguments make no sense (a slot that does
//   not exist, a write to a full buffer) are skipped, so the fuzzer never
//   wastes an input. Opcodes (opcode % 12):
//     0  pipe          create a pipe: two new slots, read end then write end
//     1  socketpair    create an AF_UNIX stream socket pair: two new slots
//     2  add           Add(slot a, token b, c = interest and mode, see below)
//     3  modify        Modify(slot a, token b, c)
//     4  delete        Delete(slot a)
//     5  write         write 1 + b % 8 bytes to slot a (lands at its peer)
//     6  read          read slot a until EAGAIN or end-of-file
//     7  close         close slot a (Delete first if registered, as the
//                      contract requires)
//     8  wait          Wait with capacity 64 and timeout a % 3: 0 = zero,
//                      1 = 1 ms, 2 = 5 s when the model says the wait must
//                      return at once (an event is due or a wake is pending),
//                      else zero
//     9  wake          Wake()
//     10 shutdown      Shutdown()
//     11 rearm         Rearm(slot a)
//   Slots: up to 12 (6 pairs); a slot byte of 0xff names handle -1, any other
//   value is taken modulo the number of slots. A closed slot keeps its
//   descriptor number, and is used only while that number stays closed.
//   Token byte: 0xff is kReservedToken; otherwise the token is a 64-bit
//   pattern (b % 4 picks 0, 1 << 63, 0xfedcba98765400.., 0xffffffffffff00..)
//   with (b / 4) in bits 8-15 and the slot in bits 0-7, so every registration's
//   token is unique and tokens use all 64 bits.
//   Interest and mode byte c: interest = c & 7 (readable 1, writable 2,
//   priority 4), mode = (c >> 3) & 3 (oneshot, level, edge, edge-oneshot);
//   (c & 0xc0) == 0xc0 adds the unknown interest bit 8, (c & 0xc0) == 0x80
//   makes the mode an unknown value (4 + mode): both are InvalidArgument.
//
// What the model predicts (from poller.h; where the header leaves a choice,
// the model accepts every outcome it allows and follows the one observed):
//   - Errors: the exact set of codes whose condition holds (AlreadyExists,
//     NotFound, InvalidArgument, Unimplemented per SupportsMode,
//     FailedPrecondition after Shutdown); an operation is OK only when none
//     holds. Modify and Delete of a closed descriptor may be NotFound or
//     InvalidArgument (the header allows both).
//   - Readiness of each handle: readable while data is buffered (and, for a
//     socket, once the peer closed: end-of-file); a pipe's end-of-file may or
//     may not be readable (epoll and poll(2) report only hang-up); writable
//     always (the program keeps buffers far from full); hang-up and error are
//     allowed, never required, once the peer closed; priority never.
//   - Events of one Wait with enough capacity: every registration that must
//     be reported is, with its exact token; none is reported twice, and no
//     token of a deleted registration appears. An event's readable/writable
//     bits are a snapshot from some moment between the registration's last
//     report (or arming) and this Wait (io_uring takes it when the kernel
//     completes the poll request): each bit it carries held at some moment of
//     that interval, and (level and oneshot) every bit that held throughout
//     it is carried. An edge event may carry only the change that caused it
//     (io_uring's multishot poll reports new data as readable alone, though
//     the socket is also writable): "Readiness: what happened to a handle".
//       level         ready -> reported.
//       oneshot       armed and ready -> reported, then disarmed until Modify
//                     or Rearm (Modify with the registration's own token,
//                     interest and mode; FailedPrecondition for level and
//                     edge registrations; nothing changes, the interval
//                     included, for a registration that has not fired).
//       edge          must be reported after an edge: Add or Modify while
//                     ready, new data (readable interest), or the peer closing
//                     (readable interest). May also be reported whenever
//                     ready: the header only says a program that does not
//                     drain "may not hear of the handle again" (the poll
//                     backend reports edge like level).
//       edge-oneshot  as edge, and disarmed after one event until Modify.
//     A registration whose only readiness is hang-up or error (e.g. interest
//     kNone after the peer closed) may be reported or not (epoll and poll
//     always report those; other kernels do not).
//   - Wake: the next Wait is woken. A woken Wait "returns promptly with no
//     events": the model accepts it reporting any allowed subset, and keeps
//     what it did not report due for the next Wait.
//   - Shutdown: Wait is Cancelled, Add and Modify are FailedPrecondition,
//     Delete and Wake work as before.

#ifndef POLLER_TESTS_FUZZ_MODEL_H_
#define POLLER_TESTS_FUZZ_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "poller/poller.h"
#include "tests/backend_under_test.h"

namespace poller::fuzz {

// Bytes per operation in a program.
inline constexpr size_t kOperationSize = 4;

// Runs `program` on a new Poller of the named backend and on the model.
//
// Returns OK when they agree at every step and every descriptor the run opened
// is closed again. Returns the error of Poller::Create (e.g. Unavailable when
// the kernel refuses the backend here) when the poller cannot be created, and
// Internal with a listing of the operations run so far and the difference
// found otherwise. Never aborts. Not thread-safe with other code that opens or
// closes descriptors in this process (the run checks descriptor numbers).
absl::Status RunProgram(absl::string_view backend,
                        absl::Span<const std::uint8_t> program);

// The same on a poller from `factory` (a BackendUnderTest's, e.g.
// Poller::FromBackend of a backend of your own). `observe`, if set, is called
// with a hash of the model's state around each operation and of each
// registration's fate in each Wait: the fuzz target feeds these to libFuzzer
// as extra coverage, so it also explores the model's states, not only
// poller's code paths.
using FeatureObserver = std::function<void(std::uint32_t feature)>;
absl::Status RunProgram(const conformance::PollerFactory& factory,
                        absl::Span<const std::uint8_t> program,
                        const FeatureObserver& observe = nullptr);
absl::Status RunProgram(absl::string_view backend,
                        absl::Span<const std::uint8_t> program,
                        const FeatureObserver& observe);

// One line per operation: the program as RunProgram reads it, for reproducers
// and for reviewing the corpus.
std::string Disassemble(absl::Span<const std::uint8_t> program);

}  // namespace poller::fuzz

#endif  // POLLER_TESTS_FUZZ_MODEL_H_
