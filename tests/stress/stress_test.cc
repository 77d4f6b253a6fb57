// Copyright 2026 The poller Authors.
//
// The stress suite (stress_suite.h) on every built-in backend instance
// (tests/builtin_backends.h). Its own main reads --stress_seconds=N.

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "gtest/gtest.h"
#include "tests/backend_under_test.h"
#include "tests/builtin_backends.h"
#include "tests/stress/stress_suite.h"

POLLER_INSTANTIATE_BACKEND_SUITE(
    poller::stress, StressTest, AllBackends,
    ::testing::ValuesIn(::poller::conformance::BuiltinBackends()))

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  constexpr char kFlag[] = "--stress_seconds=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], kFlag, sizeof(kFlag) - 1) == 0) {
      char* end = nullptr;
      const double seconds = std::strtod(argv[i] + sizeof(kFlag) - 1, &end);
      if (end == argv[i] + sizeof(kFlag) - 1 || *end != '\0' || seconds <= 0) {
        std::cerr << "bad " << argv[i] << ": want seconds > 0" << std::endl;
        return 2;
      }
      poller::stress::SetStressSeconds(seconds);
    } else {
      std::cerr << "unknown argument " << argv[i]
                << " (known: --stress_seconds=N)" << std::endl;
      return 2;
    }
  }
  return RUN_ALL_TESTS();
}
