// Copyright 2026 The poller Authors.
//
// Case 4: churn. Add (readable), Modify (to writable) and Delete each of N
// handles, with one non-blocking loop iteration after each pass so libraries
// that defer changes (libev, libuv) make them. Handles are never ready, so no
// events are dispatched. Result: ns per handle for all three.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "bench/cases.h"
#include "bench/harness.h"

ABSL_FLAG(int, churn_handles, 10000, "Case 4: handles.");

namespace poller_bench {
namespace {

double Churn(const Implementation& implementation, std::vector<int>& fds) {
  const auto count = static_cast<std::uint32_t>(fds.size());
  std::unique_ptr<EventLoop> loop = MakeLoop(implementation, {count, false});
  const Stopwatch stopwatch;
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->Add(fds[i], i, Trigger::kOneshot), implementation, "Add");
  }
  loop->RunOnce(false);
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->ModifyToWritable(fds[i], i), implementation, "Modify");
  }
  loop->RunOnce(false);
  for (std::uint32_t i = 0; i < count; ++i) {
    Check(loop->Remove(fds[i], i), implementation, "Remove");
  }
  loop->RunOnce(false);
  return stopwatch.PerOp(count);
}

}  // namespace

void RunChurn(Suite& suite) {
  const int handles = absl::GetFlag(FLAGS_churn_handles);
  std::vector<int> fds = MakeIdleHandles(handles);
  suite.Time("churn", {{"handles", absl::StrCat(handles)}},
             [&](const Implementation& implementation) {
               return Sample{Churn(implementation, fds)};
             });
  CloseAll(fds);
}

}  // namespace poller_bench
