// Copyright 2026 The poller Authors.
//
// The conformance suite on the epoll backend.

#include "poller/poller.h"
#include "tests/conformance/suite.h"

POLLER_CONFORMANCE_SUITE(Epoll, [] { return poller::Poller::Create("epoll"); });
