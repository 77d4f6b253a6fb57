// Copyright 2026 The poller Authors.

#include "poller/core/backend.h"

#include "absl/strings/str_cat.h"

namespace poller {

absl::Status Backend::Rearm(NativeHandle handle) {
  return absl::UnimplementedError(absl::StrCat(
      "fd ", handle, ": the ", name(),
      " backend does not implement Backend::Rearm (poller/core/backend.h); "
      "re-arm with Modify and the registration's token, interest and mode"));
}

}  // namespace poller
