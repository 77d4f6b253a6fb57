// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/fuzz/corpus_replay_suite.h
// -----------------------------------------------------------------------------
//
// The fuzz corpus replay (corpus_replay_suite.cc): every program of the
// committed seed corpus (tests/fuzz/corpus/) run on one backend instance and
// on the model of poller.h (model.h). Instantiate it with
// POLLER_INSTANTIATE_BACKEND_SUITE(poller::fuzz, CorpusReplayTest, Name,
// values), or every suite at once with POLLER_BACKEND_SUITES
// (tests/all_suites.h). Linux only, as the model is.

#ifndef POLLER_TESTS_FUZZ_CORPUS_REPLAY_SUITE_H_
#define POLLER_TESTS_FUZZ_CORPUS_REPLAY_SUITE_H_

#include "tests/backend_under_test.h"

namespace poller::fuzz {

class CorpusReplayTest : public conformance::BackendTest {};

}  // namespace poller::fuzz

#endif  // POLLER_TESTS_FUZZ_CORPUS_REPLAY_SUITE_H_
