// Copyright 2026 The poller Authors.
//
// The corpus replay (corpus_replay_suite.h) on every built-in backend instance
// (tests/builtin_backends.h).

#include "gtest/gtest.h"
#include "tests/backend_under_test.h"
#include "tests/builtin_backends.h"
#include "tests/fuzz/corpus_replay_suite.h"

POLLER_INSTANTIATE_BACKEND_SUITE(
    poller::fuzz, CorpusReplayTest, AllBackends,
    ::testing::ValuesIn(::poller::conformance::BuiltinBackends()))
