// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/all_suites.h
// -----------------------------------------------------------------------------
//
// Every test suite of poller on one backend instance, in one line: the
// conformance suite (the rules of poller.h, tests/conformance/suite.h), the
// stress test with its ledger, fault injection through the system-call seam,
// descriptor hygiene, the pitfalls, and (on Linux) the fuzz corpus replayed
// against the model of poller.h. Depend on `@poller//tests:all_suites` in a
// cc_test (with gtest_main) and write:
//
//   #include "tests/all_suites.h"
//
//   poller::conformance::BackendUnderTest Mine() {
//     poller::conformance::BackendUnderTest backend;
//     backend.name = "Mine";
//     backend.factory = poller::conformance::MakeFactory([] {
//       return poller::Poller::FromBackend(std::make_unique<MyBackend>());
//     });
//     return backend;
//   }
//   POLLER_BACKEND_SUITES(Mine, Mine());
//
// What the backend declares (BackendUnderTest, tests/backend_under_test.h, and
// Backend::SupportsMode) is honoured as tests/conformance/suite.h describes.
// A backend whose system calls do not go through poller's seam
// (poller/internal/syscall.h) cannot have faults injected or schedules
// forced: those tests skip, saying so. The test takes about 30 s per backend
// (the stress test 3 s, hygiene's 100,000 pollers ~5-15 s): give it
// size = "medium".

#ifndef POLLER_TESTS_ALL_SUITES_H_
#define POLLER_TESTS_ALL_SUITES_H_

#include "tests/backend_under_test.h"
#include "tests/conformance/suite.h"
#include "tests/faults/fault_injection_suite.h"
#include "tests/faults/hygiene_suite.h"
#include "tests/faults/pitfalls_suite.h"
#include "tests/stress/stress_suite.h"

#if defined(__linux__)
#include "tests/fuzz/corpus_replay_suite.h"
#define POLLER_INTERNAL_CORPUS_REPLAY_SUITE(instance_name, backend_under_test) \
  POLLER_INSTANTIATE_BACKEND_SUITE(poller::fuzz, CorpusReplayTest,             \
                                   instance_name,                              \
                                   ::testing::Values(backend_under_test))
#else
// The model of poller.h knows Linux's pipes and sockets only.
#define POLLER_INTERNAL_CORPUS_REPLAY_SUITE(instance_name, backend_under_test)
#endif

// Instantiates every suite for one backend. `instance_name` is an identifier
// (e.g. Mine); `backend_under_test` an expression giving a BackendUnderTest
// (a call, evaluated once per suite).
#define POLLER_BACKEND_SUITES(instance_name, backend_under_test)               \
  POLLER_CONFORMANCE_SUITE(instance_name, backend_under_test)                  \
  POLLER_INSTANTIATE_BACKEND_SUITE(poller::stress, StressTest, instance_name,  \
                                   ::testing::Values(backend_under_test))      \
  POLLER_INSTANTIATE_BACKEND_SUITE(poller::faults, FaultInjectionTest,         \
                                   instance_name,                              \
                                   ::testing::Values(backend_under_test))      \
  POLLER_INSTANTIATE_BACKEND_SUITE(poller::faults, HygieneTest, instance_name, \
                                   ::testing::Values(backend_under_test))      \
  POLLER_INSTANTIATE_BACKEND_SUITE(poller::faults, PitfallTest, instance_name, \
                                   ::testing::Values(backend_under_test))      \
  POLLER_INTERNAL_CORPUS_REPLAY_SUITE(instance_name, backend_under_test)

#endif  // POLLER_TESTS_ALL_SUITES_H_
