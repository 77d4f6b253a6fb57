// Copyright 2026 The poller Authors.

#include "tests/fuzz/program.h"

#include "absl/strings/str_cat.h"

namespace poller::fuzz {

Operation Decode(absl::Span<const std::uint8_t> program, size_t index) {
  std::uint8_t bytes[kOperationSize] = {0, 0, 0, 0};
  for (size_t i = 0; i < kOperationSize; ++i) {
    const size_t at = index * kOperationSize + i;
    if (at < program.size()) bytes[i] = program[at];
  }
  return Operation{static_cast<Opcode>(bytes[0] % kOpcodeCount), bytes[1],
                   bytes[2], bytes[3]};
}

size_t OperationCount(absl::Span<const std::uint8_t> program) {
  return (program.size() + kOperationSize - 1) / kOperationSize;
}

Interest DecodeInterest(std::uint8_t c) {
  std::uint8_t bits = c & 7;
  if ((c & 0xc0) == 0xc0) bits |= 8;
  return static_cast<Interest>(bits);
}

Mode DecodeMode(std::uint8_t c) {
  std::uint8_t mode = (c >> 3) & 3;
  if ((c & 0xc0) == 0x80) mode += 4;
  return static_cast<Mode>(mode);
}

bool IsKnownMode(Mode mode) { return static_cast<std::uint8_t>(mode) < 4; }

Token DecodeToken(std::uint8_t b, size_t slot) {
  if (b == kReservedTokenByte) return kReservedToken;
  static constexpr Token kPatterns[] = {
      0, 0x8000000000000000ull, 0xfedcba9876540000ull, 0xffffffffffff0000ull};
  // The low byte names the slot, so an event's token says whose it is; the
  // pattern's low 16 bits are zero, so no combination is kReservedToken.
  return kPatterns[b % 4] | (Token{b / 4u} << 8) | (slot & 0xff);
}

std::string InterestName(Interest interest) {
  const auto bits = static_cast<std::uint8_t>(interest);
  if (bits == 0) return "none";
  std::string name;
  auto add = [&](std::uint8_t bit, absl::string_view text) {
    if ((bits & bit) == 0) return;
    if (!name.empty()) name += "|";
    absl::StrAppend(&name, text);
  };
  add(1, "R");
  add(2, "W");
  add(4, "PRI");
  add(8, "UNKNOWN8");
  return name;
}

std::string ReadinessName(Readiness readiness) {
  const auto bits = static_cast<std::uint8_t>(readiness);
  if (bits == 0) return "none";
  std::string name;
  auto add = [&](std::uint8_t bit, absl::string_view text) {
    if ((bits & bit) == 0) return;
    if (!name.empty()) name += "|";
    absl::StrAppend(&name, text);
  };
  add(1, "R");
  add(2, "W");
  add(4, "PRI");
  add(8, "HUP");
  add(16, "ERR");
  if ((bits & ~31) != 0) absl::StrAppend(&name, "|0x", absl::Hex(bits & ~31));
  return name;
}

std::string ModeText(Mode mode) {
  if (IsKnownMode(mode)) return std::string(ModeName(mode));
  return absl::StrCat("unknown-mode-", static_cast<int>(mode));
}

std::string CodesText(const std::set<absl::StatusCode>& codes) {
  if (codes.empty()) return "OK";
  std::string text;
  for (absl::StatusCode code : codes) {
    if (!text.empty()) text += " or ";
    text += absl::StatusCodeToString(code);
  }
  return text;
}

std::string Disassemble(absl::Span<const std::uint8_t> program) {
  static constexpr absl::string_view kNames[] = {
      "pipe", "socketpair", "add",  "modify", "delete",   "write",
      "read", "close",      "wait", "wake",   "shutdown", "rearm"};
  std::string text;
  for (size_t i = 0; i < OperationCount(program); ++i) {
    const Operation operation = Decode(program, i);
    absl::StrAppend(&text, i, ": ", kNames[operation.opcode]);
    auto slot = [](std::uint8_t a) {
      return a == kInvalidSlot ? std::string("fd -1")
                               : absl::StrCat("slot#", a);
    };
    switch (operation.opcode) {
      case kAdd:
      case kModify:
        absl::StrAppend(&text, " ", slot(operation.a), " token ",
                        operation.b == kReservedTokenByte
                            ? std::string("reserved")
                            : absl::StrCat("pattern ", operation.b % 4,
                                           " variant ", operation.b / 4),
                        " interest ", InterestName(DecodeInterest(operation.c)),
                        " mode ", ModeText(DecodeMode(operation.c)));
        break;
      case kDelete:
      case kRead:
      case kClose:
      case kRearm:
        absl::StrAppend(&text, " ", slot(operation.a));
        break;
      case kWrite:
        absl::StrAppend(&text, " ", slot(operation.a), " ", 1 + operation.b % 8,
                        " bytes");
        break;
      case kWait:
        absl::StrAppend(&text, " ",
                        operation.a % 3 == 0   ? "zero"
                        : operation.a % 3 == 1 ? "1ms"
                                               : "long-if-due");
        break;
      default:
        break;
    }
    text += "\n";
  }
  return text;
}

}  // namespace poller::fuzz
