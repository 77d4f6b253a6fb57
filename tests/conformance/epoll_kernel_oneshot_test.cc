// Copyright 2026 The poller Authors.
//
// The conformance suite on the epoll backend with kernel oneshot (EPOLLONESHOT)
// instead of the default lazy user-space disarming: both strategies must keep
// every rule. The instance is poller's own (tests/builtin_backends.h), which
// the stress, fault and fuzz-replay tests run too.

#include "tests/builtin_backends.h"
#include "tests/conformance/suite.h"

POLLER_CONFORMANCE_SUITE(EpollKernelOneshot,
                         ::poller::conformance::EpollKernelOneshot());
