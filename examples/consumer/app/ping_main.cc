// Prints which backend poller uses in this build and pings through it.
//   bazel run //app:ping_main
//   bazel run --@poller//poller:backend=poll //app:ping_main

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "app/ping.h"
#include "poller/poller.h"

int main() {
  std::string compiled;
  for (const std::string& name : poller::Poller::CompiledBackends()) {
    compiled += compiled.empty() ? name : ", " + name;
  }
  std::printf("default backend: %s (compiled: %s)\n",
              std::string(poller::Poller::DefaultBackendName()).c_str(),
              compiled.c_str());
  absl::StatusOr<std::unique_ptr<poller::Poller>> poller =
      poller::Poller::Create();
  if (!poller.ok()) {
    std::fprintf(stderr, "Create: %s\n", poller.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<poller::Event> event =
      consumer::Ping(**poller, absl::Seconds(5));
  if (!event.ok()) {
    std::fprintf(stderr, "Ping: %s\n", event.status().ToString().c_str());
    return 1;
  }
  std::printf("ping through %s: token 0x%llx, readable=%d\n",
              std::string((*poller)->backend_name()).c_str(),
              static_cast<unsigned long long>(event->token()),  // NOLINT
              event->readable() ? 1 : 0);
  return 0;
}
