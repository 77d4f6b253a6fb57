// Copyright 2026 The poller Authors.
//
// The libFuzzer target: runs each input as a program (see model.h) on the
// built-in backend instance named by the environment variable
// POLLER_FUZZ_BACKEND (a compiled backend's name, or epoll_kernel_oneshot:
// tests/builtin_backends.h), or on every instance when it is unset, and aborts
// with the model's report on the first difference, so libFuzzer saves the
// input as a reproducer.
//
// Build and run (clang 14, see tools/run_fuzzers.sh, which does both):
//   ./bazelw build --config=fuzz //tests/fuzz:fuzz_target
//   POLLER_FUZZ_BACKEND=epoll bazel-bin/tests/fuzz/fuzz_target CORPUS_DIR
// Reproduce a crash: POLLER_FUZZ_BACKEND=epoll bazel-bin/tests/fuzz/fuzz_target
// crash-FILE. POLLER_FUZZ_LIST_BACKENDS=1 prints the instances, one a line,
// and exits.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "poller/poller.h"
#include "tests/builtin_backends.h"
#include "tests/fuzz/model.h"

namespace {

// libFuzzer treats this section as coverage: one counter per hashed state of
// the model (see poller::fuzz::FeatureObserver), so inputs that reach new
// combinations of mode, interest, readiness and wake are kept even when they
// run no new line of poller.
constexpr size_t kModelCounters = 1 << 14;
__attribute__((section("__libfuzzer_extra_counters")))
std::uint8_t model_counters[kModelCounters];

void ObserveModelState(std::uint32_t feature) {
  std::uint8_t& counter = model_counters[feature % kModelCounters];
  if (counter < 255) ++counter;
}

using ::poller::conformance::BackendUnderTest;

std::vector<BackendUnderTest>& Backends() {
  static std::vector<BackendUnderTest> backends;
  return backends;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const std::vector<BackendUnderTest> instances =
      poller::conformance::BuiltinBackends();
  if (std::getenv("POLLER_FUZZ_LIST_BACKENDS") != nullptr) {
    for (const BackendUnderTest& instance : instances) {
      std::printf("%s\n", instance.name.c_str());
    }
    std::exit(0);
  }
  const char* wanted = std::getenv("POLLER_FUZZ_BACKEND");
  for (const BackendUnderTest& instance : instances) {
    if (wanted == nullptr || *wanted == '\0' || instance.name == wanted) {
      Backends().push_back(instance);
    }
  }
  if (Backends().empty()) {
    std::fprintf(stderr, "poller fuzz: no backend instance named %s\n", wanted);
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const absl::Span<const std::uint8_t> program(data, size);
  for (const BackendUnderTest& backend : Backends()) {
    const absl::Status status =
        poller::fuzz::RunProgram(backend.factory, program, ObserveModelState);
    // A backend this kernel refuses, or that is not compiled in, is not a
    // finding.
    if (status.ok() || status.code() == absl::StatusCode::kUnavailable ||
        status.code() == absl::StatusCode::kUnimplemented) {
      continue;
    }
    std::fprintf(stderr, "poller fuzz: backend %s: %s\nprogram:\n%s",
                 backend.name.c_str(), std::string(status.message()).c_str(),
                 poller::fuzz::Disassemble(program).c_str());
    std::abort();
  }
  return 0;
}
