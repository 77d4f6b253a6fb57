// Builds only if poller_deps() kept this workspace's own @com_google_absl and
// @com_google_googletest (the BUILD file depends on targets that only those
// declarations have). At run time: a status made inside poller is read here,
// through the one Abseil both sides link.

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "poller/poller.h"

namespace consumer {
namespace {

TEST(DepsLeftAloneTest, PollerAndThisWorkspaceShareAbseil) {
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      poller::Poller::Create("no-such-backend");
  EXPECT_EQ(poller.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace consumer
