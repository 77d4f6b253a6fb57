// Copyright 2026 The poller Authors.
//
// program.h: the byte code of a fuzz program (see model.h for what a program
// does): how operations are encoded and decoded, and their names in
// messages.

#ifndef POLLER_TESTS_FUZZ_PROGRAM_H_
#define POLLER_TESTS_FUZZ_PROGRAM_H_

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "poller/poller.h"
#include "tests/fuzz/model.h"

namespace poller::fuzz {

constexpr std::uint8_t kInvalidSlot = 0xff;
constexpr std::uint8_t kReservedTokenByte = 0xff;

enum Opcode : std::uint8_t {
  kPipe,
  kSocketPair,
  kAdd,
  kModify,
  kDelete,
  kWrite,
  kRead,
  kClose,
  kWait,
  kWake,
  kShutdown,
  kRearm,
  kOpcodeCount,
};

// One operation: its opcode and three argument bytes.
struct Operation {
  Opcode opcode;
  std::uint8_t a;
  std::uint8_t b;
  std::uint8_t c;
};

// The `index`th operation of `program` (missing bytes read as 0).
Operation Decode(absl::Span<const std::uint8_t> program, size_t index);
size_t OperationCount(absl::Span<const std::uint8_t> program);

// Argument bytes: an interest (bit 3 an unknown bit), a mode (4..7 unknown
// modes), a token (kReservedTokenByte: kReservedToken; else a pattern whose
// low byte names the slot).
Interest DecodeInterest(std::uint8_t c);
Mode DecodeMode(std::uint8_t c);
bool IsKnownMode(Mode mode);
Token DecodeToken(std::uint8_t b, size_t slot);

// Names for messages: "R|W", "R|HUP", a mode's name, "OK" or a set of codes.
std::string InterestName(Interest interest);
std::string ReadinessName(Readiness readiness);
std::string ModeText(Mode mode);
std::string CodesText(const std::set<absl::StatusCode>& codes);

}  // namespace poller::fuzz

#endif  // POLLER_TESTS_FUZZ_PROGRAM_H_
