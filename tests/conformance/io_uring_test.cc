// Copyright 2026 The poller Authors.
//
// The conformance suite on the io_uring backend. Where the kernel refuses
// io_uring (seccomp, the io_uring_disabled sysctl, a kernel before 5.13),
// Create returns Unavailable and every test skips, saying why.

#include "poller/poller.h"
#include "tests/conformance/suite.h"

POLLER_CONFORMANCE_SUITE(IoUring,
                         [] { return poller::Poller::Create("io_uring"); });
