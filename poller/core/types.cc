// Copyright 2026 The poller Authors.

#include "poller/core/types.h"

namespace poller {

absl::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kOneshot:
      return "oneshot";
    case Mode::kLevel:
      return "level";
    case Mode::kEdge:
      return "edge";
    case Mode::kEdgeOneshot:
      return "edge-oneshot";
  }
  return "unknown-mode";
}

}  // namespace poller
